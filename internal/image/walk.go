package image

import (
	"archive/tar"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
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
func (im *Image) Walk(ctx context.Context, fn func(*File) error) error {
	m := newMerger(0)
	n := len(im.DiffIDs)
	for i := n - 1; i >= 0; i-- {
		err := im.readLayer(ctx, i, func(e layerEntry, f *File) error {
			if !m.admit(e) {
				return nil
			}
			return fn(f)
		})
		if errors.Is(err, fs.SkipAll) {
			return nil
		}
		if err != nil {
			return err
		}
		m.endLayer()
	}
	return nil
}

// Visible is an entry of the merged filesystem and what Visit's fn
// returned for it.
type Visible struct {
	Path       string
	LayerIndex int
	Value      any
	// Hidden is set, with VisitOptions.Hidden, for an entry an upper
	// layer deletes or replaces: not in the merged filesystem, but still
	// in the image for anyone who pulls it.
	Hidden bool
}

// VisitOptions tune Visit.
type VisitOptions struct {
	// Parallel bounds the layers read at once; default GOMAXPROCS.
	Parallel int
	// OnLayer is called as each layer is done, from any goroutine but
	// never concurrently.
	OnLayer func(done, count int)
	// Cached, if set, may return what an earlier Visit with the same fn
	// recorded for a layer (Store); the layer is then not read at all.
	// Both are called concurrently for different layers.
	Cached func(diffID v1.Hash) ([]Record, bool)
	// Store, if set, is given what was recorded for a layer once it is
	// read: every entry merging needs, with fn's value.
	Store func(diffID v1.Hash, recs []Record)
	// Hidden asks for keep to be called for hidden entries too.
	Hidden bool
	// LayerDone, if set, is called when fn has seen every entry of a layer
	// that was read (not cached), before Store: fn may finish work it
	// started in the background. An error ends the Visit.
	LayerDone func(diffID v1.Hash) error
}

// Record is what Visit keeps of one entry of a layer.
type Record struct {
	// Path is the entry's path; for a whiteout, the path it deletes; for
	// an opaque marker, the directory it empties.
	Path  string
	Kind  EntryKind
	Value any
}

// EntryKind classifies a layer entry for merging.
type EntryKind uint8

// The kinds of entries merging tells apart.
const (
	EntryDir EntryKind = iota
	EntryOther
	EntryWhiteout
	EntryOpaque
)

// Visit is Walk for work that can run before the merge is known: it
// reads the layers concurrently and calls fn for every entry of every
// layer, hidden or not (fn runs concurrently for different layers, in
// order within one). When all layers are read it applies whiteouts,
// opaque directories and upper entries and calls keep, top layer first,
// with fn's non-nil values for the entries a merged filesystem shows.
// Memory grows with the number of paths, as in Walk.
func (im *Image) Visit(ctx context.Context, o VisitOptions, fn func(*File) (any, error), keep func(Visible) error) error {
	n := len(im.DiffIDs)
	if o.Parallel <= 0 {
		o.Parallel = runtime.GOMAXPROCS(0)
	}
	layers := make([][]Record, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Parallel)
	var mu sync.Mutex
	done := 0
	// Largest layers first, so no big layer starts last and runs alone.
	order := make([]int, n)
	for i := range order {
		order[i] = n - 1 - i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(im.sizeHints[b], im.sizeHints[a]) })
	for _, i := range order {
		g.Go(func() error {
			var err error
			cached := false
			if o.Cached != nil {
				layers[i], cached = o.Cached(im.DiffIDs[i])
			}
			if !cached {
				err = im.readLayer(gctx, i, func(e layerEntry, f *File) error {
					r := Record{Path: e.path, Kind: e.kind}
					if f != nil {
						v, err := fn(f)
						if err != nil {
							return err
						}
						r.Value = v
					}
					layers[i] = append(layers[i], r)
					return nil
				})
				if err == nil && o.LayerDone != nil {
					err = o.LayerDone(im.DiffIDs[i])
				}
				if err == nil && o.Store != nil {
					o.Store(im.DiffIDs[i], layers[i])
				}
			}
			if err == nil && o.OnLayer != nil {
				mu.Lock()
				done++
				o.OnLayer(done, n)
				mu.Unlock()
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	total := 0
	for _, l := range layers {
		total += len(l)
	}
	m := newMerger(total)
	for i := n - 1; i >= 0; i-- {
		for _, r := range layers[i] {
			shown := m.admit(layerEntry{path: r.Path, kind: r.Kind})
			if r.Value == nil || (!shown && !o.Hidden) || r.Kind == EntryWhiteout || r.Kind == EntryOpaque {
				continue
			}
			if err := keep(Visible{Path: r.Path, LayerIndex: i, Value: r.Value, Hidden: !shown}); err != nil {
				return err
			}
		}
		layers[i] = nil
		m.endLayer()
	}
	return nil
}

// layerEntry is what merging needs to know of one tar entry. For a
// whiteout, path is the path it deletes; for an opaque marker, the
// directory it empties.
type layerEntry struct {
	path string
	kind EntryKind
}

// merger applies layers' entries top layer first.
type merger struct {
	up, cur shadow
}

// newMerger makes a merger for about n paths (0 if unknown).
func newMerger(n int) *merger {
	return &merger{
		up:  shadow{hidden: make(map[string]struct{}, n), cut: make(map[string]struct{}, n)},
		cur: shadow{hidden: map[string]struct{}{}, cut: map[string]struct{}{}},
	}
}

// admit records e and reports whether it shows in the merged filesystem.
// Whiteouts and opaque markers act on lower layers only, so they are
// recorded for the layer and applied by endLayer.
func (m *merger) admit(e layerEntry) bool {
	switch e.kind {
	case EntryOpaque:
		m.cur.cut[e.path] = struct{}{}
		return false
	case EntryWhiteout:
		m.cur.hidden[e.path] = struct{}{}
		m.cur.cut[e.path] = struct{}{}
		return false
	}
	if e.path == "/" || m.up.hides(e.path) {
		return false
	}
	m.cur.hidden[e.path] = struct{}{}
	if e.kind != EntryDir {
		m.cur.cut[e.path] = struct{}{}
	}
	return true
}

func (m *merger) endLayer() {
	for p := range m.cur.hidden {
		m.up.hidden[p] = struct{}{}
	}
	for p := range m.cur.cut {
		m.up.cut[p] = struct{}{}
	}
	clear(m.cur.hidden)
	clear(m.cur.cut)
}

// readLayer reads layer i once, checking every entry, and calls fn for
// each; f is nil for whiteout markers, and a regular file's content can
// be read during the call.
func (im *Image) readLayer(ctx context.Context, i int, fn func(e layerEntry, f *File) error) error {
	err := im.readLayerEntries(ctx, i, fn)
	if err != nil && !errors.Is(err, fs.SkipAll) {
		if im.dir != "" {
			return fmt.Errorf("read %s: %w", im.dir, err)
		}
		return fmt.Errorf("layer %d (%s): %w", i, im.DiffIDs[i], err)
	}
	return err
}

func (im *Image) readLayerEntries(ctx context.Context, i int, fn func(e layerEntry, f *File) error) error {
	if im.dir != "" {
		return im.readDirEntries(ctx, fn)
	}
	rc, err := im.OpenLayer(i)
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
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
			// Read the padding too, so the diff ID is checked.
			_, err := io.Copy(io.Discard, rc)
			return err
		}
		if err != nil {
			return fmt.Errorf("read entry %d: %w", ord, tarError(err))
		}
		p, err := checkHeader(h)
		if err != nil {
			return err
		}
		dir, base := path.Split(p)
		dir = path.Clean(dir)
		var e layerEntry
		var f *File
		switch {
		case base == opaqueMarker:
			e = layerEntry{path: dir, kind: EntryOpaque}
		case strings.HasPrefix(base, whiteoutPrefix):
			e = layerEntry{path: path.Join(dir, base[len(whiteoutPrefix):]), kind: EntryWhiteout}
		default:
			e = layerEntry{path: p, kind: EntryOther}
			if h.Typeflag == tar.TypeDir {
				e.kind = EntryDir
			}
			f = &File{Path: p, Header: h, LayerIndex: i, Layer: im.DiffIDs[i], Ordinal: ord}
			if h.Typeflag == tar.TypeReg {
				if h.Size > im.limits.MaxFileBytes {
					return fmt.Errorf("%w: %s is %d bytes (limit %d)", ErrTooLarge, p, h.Size, im.limits.MaxFileBytes)
				}
				f.r = tr
			}
		}
		if err := fn(e, f); err != nil {
			return err
		}
	}
}
