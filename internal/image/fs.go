package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// FS is the merged filesystem of an image as an fs.FS. Names are
// unrooted, as io/fs wants ("etc/passwd"). It holds metadata only;
// opening a regular file re-reads the layer that wrote it up to that
// entry, so bulk content reads belong in Walk.
type FS struct {
	im    *Image
	nodes map[string]*node
}

type node struct {
	file     *File // nil for implied directories
	children []string
}

// Index walks the image once and returns its merged filesystem.
func (im *Image) Index(ctx context.Context) (*FS, error) {
	fsys := &FS{im: im, nodes: map[string]*node{"/": {}}}
	err := im.Walk(ctx, func(f *File) error {
		g := *f
		g.r = nil
		fsys.add(&g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, n := range fsys.nodes {
		slices.Sort(n.children)
	}
	return fsys, nil
}

func (fsys *FS) add(f *File) {
	if n, ok := fsys.nodes[f.Path]; ok {
		n.file = f
		return
	}
	fsys.nodes[f.Path] = &node{file: f}
	for p := f.Path; p != "/"; {
		parent := path.Dir(p)
		pn, ok := fsys.nodes[parent]
		if !ok {
			pn = &node{}
			fsys.nodes[parent] = pn
		}
		pn.children = append(pn.children, path.Base(p))
		if ok {
			return
		}
		p = parent
	}
}

// File returns the merged entry at an absolute path, with the layer
// that last wrote it, or nil if the path does not exist or is an
// implied directory.
func (fsys *FS) File(p string) *File {
	if n, ok := fsys.nodes[path.Clean("/"+p)]; ok {
		return n.file
	}
	return nil
}

func (fsys *FS) lookup(op, name string) (*node, string, error) {
	if !fs.ValidPath(name) {
		return nil, "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	p := path.Clean("/" + name)
	n, ok := fsys.nodes[p]
	if !ok {
		return nil, "", &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return n, p, nil
}

// Open implements fs.FS. Symlinks are not followed: a symlink opens as
// itself (its Stat says so) and reads as empty.
func (fsys *FS) Open(name string) (fs.File, error) {
	n, p, err := fsys.lookup("open", name)
	if err != nil {
		return nil, err
	}
	of := &openFile{fsys: fsys, n: n, name: name, p: p}
	if n.file != nil && n.file.Header.Typeflag == tar.TypeReg {
		of.lazy = true
	}
	return of, nil
}

// ReadDir implements fs.ReadDirFS.
func (fsys *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	n, p, err := fsys.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if n.file != nil && n.file.Header.Typeflag != tar.TypeDir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return fsys.entries(p, n), nil
}

func (fsys *FS) entries(p string, n *node) []fs.DirEntry {
	out := make([]fs.DirEntry, 0, len(n.children))
	for _, c := range n.children {
		cp := path.Join(p, c)
		out = append(out, fs.FileInfoToDirEntry(fsys.info(cp, fsys.nodes[cp])))
	}
	return out
}

// Stat implements fs.StatFS.
func (fsys *FS) Stat(name string) (fs.FileInfo, error) {
	n, p, err := fsys.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return fsys.info(p, n), nil
}

func (fsys *FS) info(p string, n *node) fs.FileInfo {
	if n.file == nil {
		return impliedDir(path.Base(p))
	}
	return namedInfo{FileInfo: n.file.Header.FileInfo(), name: path.Base(p)}
}

// readContent re-reads the layer that wrote f up to its entry.
func (fsys *FS) readContent(f *File) (io.ReadCloser, error) {
	if fsys.im.dir != "" {
		return fsys.im.openDirFile(f)
	}
	rc, err := fsys.im.OpenLayer(f.LayerIndex)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(rc)
	for ord := 0; ord <= f.Ordinal; ord++ {
		if _, err := tr.Next(); err != nil {
			rc.Close()
			return nil, fmt.Errorf("re-read %s from layer %d: %w", f.Path, f.LayerIndex, tarError(err))
		}
	}
	return struct {
		io.Reader
		io.Closer
	}{tr, rc}, nil
}

type openFile struct {
	fsys   *FS
	n      *node
	name   string
	p      string
	lazy   bool
	rc     io.ReadCloser
	dirPos int
}

func (f *openFile) Stat() (fs.FileInfo, error) { return f.fsys.info(f.p, f.n), nil }

func (f *openFile) Read(b []byte) (int, error) {
	if f.n.file == nil || f.n.file.Header.Typeflag == tar.TypeDir {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: errors.New("is a directory")}
	}
	if !f.lazy {
		return 0, io.EOF
	}
	if f.rc == nil {
		rc, err := f.fsys.readContent(f.n.file)
		if err != nil {
			return 0, &fs.PathError{Op: "read", Path: f.name, Err: err}
		}
		f.rc = rc
	}
	return f.rc.Read(b)
}

func (f *openFile) Close() error {
	if f.rc != nil {
		return f.rc.Close()
	}
	return nil
}

// ReadDir implements fs.ReadDirFile.
func (f *openFile) ReadDir(count int) ([]fs.DirEntry, error) {
	if f.n.file != nil && f.n.file.Header.Typeflag != tar.TypeDir {
		return nil, &fs.PathError{Op: "readdir", Path: f.name, Err: errors.New("not a directory")}
	}
	all := f.fsys.entries(f.p, f.n)[f.dirPos:]
	if count > 0 && len(all) > count {
		all = all[:count]
	}
	f.dirPos += len(all)
	if count > 0 && len(all) == 0 {
		return nil, io.EOF
	}
	return all, nil
}

type namedInfo struct {
	fs.FileInfo
	name string
}

func (n namedInfo) Name() string { return n.name }

type impliedDir string

func (d impliedDir) Name() string       { return strings.TrimPrefix(string(d), "/") }
func (d impliedDir) Size() int64        { return 0 }
func (d impliedDir) Mode() fs.FileMode  { return fs.ModeDir | 0o755 }
func (d impliedDir) ModTime() time.Time { return time.Time{} }
func (d impliedDir) IsDir() bool        { return true }
func (d impliedDir) Sys() any           { return nil }
