package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Whiteout markers, as the OCI image spec and AUFS define them.
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// File is one entry of the merged filesystem, as Walk hands it over.
type File struct {
	// Path is clean and absolute: "/etc/passwd".
	Path string
	// Header is the tar header of the entry that last wrote Path.
	Header *tar.Header
	// LayerIndex is the 0-based position of the layer that wrote Path.
	LayerIndex int
	// Layer is that layer's diff ID.
	Layer v1.Hash
	// Ordinal is the entry's position within its layer's tar stream.
	Ordinal int
	r       io.Reader
}

// Mode returns the file's type and permission bits, setuid included.
func (f *File) Mode() fs.FileMode { return f.Header.FileInfo().Mode() }

// Content reads a regular file's bytes. It is valid only during the Walk
// callback, and only once; other file types read as empty.
func (f *File) Content() io.Reader {
	if f.r == nil {
		return strings.NewReader("")
	}
	return f.r
}

// WalkOptions tune Walk.
type WalkOptions struct {
	// OnLayer is called before each layer is read, top layer first.
	OnLayer func(index, count int)
}

// shadow tracks what upper layers hide from lower ones.
type shadow struct {
	// hidden: exact paths an upper layer wrote or whited out.
	hidden map[string]struct{}
	// cut: paths whose strict descendants lower layers may not show
	// (whiteouts, opaque directories, upper non-directories).
	cut map[string]struct{}
}

func (s *shadow) hides(p string) bool {
	if _, ok := s.hidden[p]; ok {
		return true
	}
	if len(s.cut) == 0 {
		return false
	}
	for a := path.Dir(p); ; a = path.Dir(a) {
		if _, ok := s.cut[a]; ok {
			return true
		}
		if a == "/" {
			return false
		}
	}
}

// Walk streams the merged filesystem of the image to fn, top layer first,
// each path once as the top-most layer that wrote it left it: entries
// that a whiteout, an opaque directory or an upper entry hides are never
// shown, nor are the whiteout markers. Each layer is decompressed once and
// never held in memory; memory grows with the number of paths only. If fn
// returns fs.SkipAll the walk stops without error.
func (im *Image) Walk(ctx context.Context, o WalkOptions, fn func(*File) error) error {
	up := shadow{hidden: map[string]struct{}{}, cut: map[string]struct{}{}}
	n := len(im.layers)
	for i := n - 1; i >= 0; i-- {
		if o.OnLayer != nil {
			o.OnLayer(i, n)
		}
		err := im.walkLayer(ctx, i, &up, fn)
		if errors.Is(err, fs.SkipAll) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, im.DiffIDs[i], err)
		}
	}
	return nil
}

// OpenLayer returns the uncompressed tar stream of layer i, bounded by
// the image's limits: it fails once more bytes come out than the limit
// or the decompression ratio allows.
func (im *Image) OpenLayer(i int) (io.ReadCloser, error) {
	rc, err := im.layers[i].Uncompressed()
	if err != nil {
		return nil, err
	}
	limit := im.limits.MaxLayerBytes
	if hint := im.sizeHints[i]; hint > 0 && im.limits.MaxRatio > 0 {
		if r := max(ratioFloor, hint*im.limits.MaxRatio); r < limit {
			limit = r
		}
	}
	return struct {
		io.Reader
		io.Closer
	}{&limitedReader{r: rc, n: limit, what: fmt.Sprintf("layer %d uncompressed", i)}, rc}, nil
}

func (im *Image) walkLayer(ctx context.Context, i int, up *shadow, fn func(*File) error) error {
	rc, err := im.OpenLayer(i)
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	cur := shadow{hidden: map[string]struct{}{}, cut: map[string]struct{}{}}
	for ord := 0; ; ord++ {
		if ord&255 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if ord >= im.limits.MaxEntries {
			return fmt.Errorf("%w: more than %d entries", ErrTooLarge, im.limits.MaxEntries)
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read entry %d: %w", ord, tarError(err))
		}
		p, err := CleanName(h.Name)
		if err != nil {
			return err
		}
		if h.Typeflag == tar.TypeLink {
			if _, err := CleanName(h.Linkname); err != nil {
				return fmt.Errorf("hardlink %q: %w", h.Name, err)
			}
		}
		dir, base := path.Split(p)
		dir = path.Clean(dir)
		switch {
		case base == opaqueMarker:
			cur.cut[dir] = struct{}{}
			continue
		case strings.HasPrefix(base, whiteoutPrefix):
			gone := path.Join(dir, base[len(whiteoutPrefix):])
			cur.hidden[gone] = struct{}{}
			cur.cut[gone] = struct{}{}
			continue
		}
		if p == "/" || up.hides(p) {
			continue
		}
		cur.hidden[p] = struct{}{}
		if h.Typeflag != tar.TypeDir {
			cur.cut[p] = struct{}{}
		}
		f := &File{Path: p, Header: h, LayerIndex: i, Layer: im.DiffIDs[i], Ordinal: ord}
		if h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeRegA {
			f.r = tr
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	for p := range cur.hidden {
		up.hidden[p] = struct{}{}
	}
	for p := range cur.cut {
		up.cut[p] = struct{}{}
	}
	return nil
}
