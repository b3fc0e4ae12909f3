package image

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"golang.org/x/sys/unix"
)

// openDir presents a root filesystem on disk as an image of one layer
// with no configuration. Its layer is read straight from the tree, file
// contents only when a reader asks, so linting a large tree costs a walk
// and a few reads, not a tar of every byte.
func (im *Image) openDir(root string) error {
	fi, err := os.Stat(root)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", root)
	}
	im.dir = root
	im.Image, err = mutate.ConfigFile(empty.Image, &v1.ConfigFile{OS: "linux", Architecture: runtime.GOARCH, RootFS: v1.RootFS{Type: "layers"}})
	return err
}

// readDirEntries walks the tree at im.dir in lexical order, as a layer
// reader would read a tar of it. Symlinks are recorded, not followed;
// other filesystems mounted inside (/proc, /sys, /dev on a host) are
// shown as directories but not entered, like tar --one-file-system;
// sockets, which tar cannot hold, are left out; file capabilities become
// PAX xattrs as in a real layer.
func (im *Image) readDirEntries(ctx context.Context, fn func(e layerEntry, f *File) error) error {
	root, err := os.OpenRoot(im.dir)
	if err != nil {
		return err
	}
	defer root.Close()
	var rootDev uint64
	if fi, err := os.Lstat(im.dir); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			rootDev = st.Dev
		}
	}
	ord := 0
	return filepath.WalkDir(im.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ord&255 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rel, err := filepath.Rel(im.dir, p)
		if err != nil || rel == "." {
			return err
		}
		if ord >= im.limits.MaxEntries {
			return fmt.Errorf("%w: more than %d entries", ErrTooLarge, im.limits.MaxEntries)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSocket != 0 {
			return nil
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		h.Name, h.Uname, h.Gname = filepath.ToSlash(rel), "", ""
		abs := "/" + h.Name
		skip := false
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && fi.IsDir() && st.Dev != rootDev {
			skip = true
		}
		if fi.Mode().IsRegular() {
			buf := make([]byte, 64)
			if n, err := unix.Lgetxattr(p, "security.capability", buf); err == nil && n > 0 {
				h.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": string(buf[:n])}
			}
		}
		e := layerEntry{path: abs, kind: EntryOther}
		if fi.IsDir() {
			e.kind = EntryDir
		}
		f := &File{Path: abs, Header: h, Ordinal: ord}
		var lf *lazyFile
		if fi.Mode().IsRegular() {
			if h.Size > im.limits.MaxFileBytes {
				return fmt.Errorf("%w: %s is %d bytes (limit %d)", ErrTooLarge, abs, h.Size, im.limits.MaxFileBytes)
			}
			lf = &lazyFile{root: root, rel: h.Name, size: h.Size}
			f.r = lf
		}
		ord++
		err = fn(e, f)
		if lf != nil {
			lf.close()
		}
		if err == nil && skip {
			return fs.SkipDir
		}
		return err
	})
}

// lazyFile opens a file of a dir: source on first read, through os.Root
// so that a symlink swapped in since the walk cannot lead out of the tree.
type lazyFile struct {
	root *os.Root
	rel  string
	size int64
	f    *os.File
	r    io.Reader
}

func (l *lazyFile) Read(p []byte) (int, error) {
	if l.r == nil {
		f, err := l.root.Open(l.rel)
		if err != nil {
			return 0, err
		}
		l.f, l.r = f, io.LimitReader(f, l.size)
	}
	return l.r.Read(p)
}

func (l *lazyFile) close() {
	if l.f != nil {
		l.f.Close()
	}
}

// openDirFile opens a file of a dir: source for FS.
func (im *Image) openDirFile(f *File) (io.ReadCloser, error) {
	root, err := os.OpenRoot(im.dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.Open(f.Header.Name)
}
