package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// ErrUnsafeArchive is wrapped by every rejection of hostile tar content.
var ErrUnsafeArchive = errors.New("unsafe archive")

// ErrTooLarge is wrapped when a stream exceeds a Limits bound.
var ErrTooLarge = errors.New("archive exceeds limit")

// Limits bound the work done on untrusted archives and layers.
type Limits struct {
	// MaxLayerBytes bounds the uncompressed size of one layer or archive.
	MaxLayerBytes int64
	// MaxRatio bounds uncompressed/compressed size once more than
	// ratioFloor bytes came out; 0 disables the check.
	MaxRatio int64
	// MaxEntries bounds the number of tar entries in one layer or archive.
	MaxEntries int
	// MaxFileBytes bounds the size of one extracted file.
	MaxFileBytes int64
}

// DefaultLimits are generous for real images and stop bombs.
var DefaultLimits = Limits{
	MaxLayerBytes: 16 << 30,
	MaxRatio:      250,
	MaxEntries:    2_000_000,
	MaxFileBytes:  8 << 30,
}

const ratioFloor = 128 << 20

func (l Limits) orDefault() Limits {
	d := DefaultLimits
	if l.MaxLayerBytes > 0 {
		d.MaxLayerBytes = l.MaxLayerBytes
	}
	if l.MaxRatio > 0 {
		d.MaxRatio = l.MaxRatio
	}
	if l.MaxEntries > 0 {
		d.MaxEntries = l.MaxEntries
	}
	if l.MaxFileBytes > 0 {
		d.MaxFileBytes = l.MaxFileBytes
	}
	return d
}

// CleanName validates a tar entry name and returns it as a clean absolute
// path ("/etc/passwd"). A leading "./" or "/" is accepted, as image layers
// use both; a ".." component, a NUL byte or an empty name is rejected.
func CleanName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty entry name", ErrUnsafeArchive)
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("%w: entry name %q holds a NUL byte", ErrUnsafeArchive, name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: entry %q climbs out of the root (a .. component)", ErrUnsafeArchive, name)
		}
	}
	return path.Clean("/" + name), nil
}

// checkHeader validates what every tar reader in hull must refuse,
// whatever it does next, and returns the entry's clean absolute path:
// names and hardlink targets that climb out with "..", and sparse
// entries, which no image tool writes and which expand a few bytes of
// archive into gigabytes of file.
func checkHeader(h *tar.Header) (string, error) {
	p, err := CleanName(h.Name)
	if err != nil {
		return "", err
	}
	if h.Typeflag == tar.TypeLink {
		if _, err := CleanName(h.Linkname); err != nil {
			return "", fmt.Errorf("hardlink %q: %w", h.Name, err)
		}
	}
	if h.Typeflag == tar.TypeGNUSparse {
		return "", fmt.Errorf("%w: %q is a sparse file", ErrUnsafeArchive, h.Name)
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return "", fmt.Errorf("%w: %q is a sparse file", ErrUnsafeArchive, h.Name)
		}
	}
	return p, nil
}

// resolvesInside reports whether a link at linkPath pointing at target stays
// inside the root when resolved lexically.
func resolvesInside(linkPath, target string) bool {
	if path.IsAbs(target) {
		return false
	}
	depth := strings.Count(path.Dir(linkPath), "/")
	if path.Dir(linkPath) == "/" {
		depth = 0
	}
	for _, part := range strings.Split(target, "/") {
		switch part {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return false
			}
		default:
			depth++
		}
	}
	return true
}

// ExtractOptions tune Extract.
type ExtractOptions struct {
	Limits Limits
	// AbsoluteSymlinksUnsafe keeps symlinks whose target is absolute or
	// climbs out of the root. Extraction itself stays confined (os.Root),
	// but a later reader that follows such a link outside hull would escape.
	AbsoluteSymlinksUnsafe bool
	// UniqueNames refuses an entry whose path an earlier entry already
	// has (directories excepted), as an image archive must: a layer may
	// replace a file, but two index.json or two copies of one blob make
	// the archive mean what its reader picks.
	UniqueNames bool
}

// Extract unpacks a tar stream into dst, which must exist. It never writes
// outside dst: absolute names, names with "..", links leaving the root, writes through
// symlinks, device nodes, FIFOs and oversize content are rejected with an
// error wrapping ErrUnsafeArchive or ErrTooLarge. Files get at most mode
// 0755 (no setuid, setgid, sticky or world-write bits), directories 0755.
func Extract(ctx context.Context, r io.Reader, dst string, o ExtractOptions) error {
	lim := o.Limits.orDefault()
	root, err := os.OpenRoot(dst)
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	defer root.Close()
	tr := tar.NewReader(&limitedReader{r: r, n: lim.MaxLayerBytes, what: "archive"})
	var total int64
	seen := map[string]*tar.Header{}
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if n >= lim.MaxEntries {
			return fmt.Errorf("%w: more than %d entries", ErrTooLarge, lim.MaxEntries)
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar entry %d: %w", n, tarError(err))
		}
		if o.UniqueNames {
			if err := checkUnique(seen, h); err != nil {
				return err
			}
		}
		if err := extractEntry(root, tr, h, lim, o, &total); err != nil {
			return err
		}
	}
}

// checkUnique records h in seen and refuses a path seen before, unless
// both entries are directories.
func checkUnique(seen map[string]*tar.Header, h *tar.Header) error {
	abs, err := CleanName(h.Name)
	if err != nil {
		return err
	}
	if prev, dup := seen[abs]; dup {
		if err := refuseDuplicate(prev, h); err != nil {
			return err
		}
	}
	seen[abs] = h
	return nil
}

// tarError names truncation plainly.
func tarError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("archive is truncated: %w", err)
	}
	return err
}

func extractEntry(root *os.Root, tr *tar.Reader, h *tar.Header, lim Limits, o ExtractOptions, total *int64) error {
	if strings.HasPrefix(h.Name, "/") {
		return fmt.Errorf("%w: entry %q has an absolute path", ErrUnsafeArchive, h.Name)
	}
	abs, err := checkHeader(h)
	if err != nil {
		return err
	}
	if abs == "/" {
		return nil
	}
	rel := abs[1:]
	if dir := path.Dir(rel); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("%w: create parent of %q: %v", ErrUnsafeArchive, h.Name, err)
		}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if err := root.Mkdir(rel, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: mkdir %q: %v", ErrUnsafeArchive, h.Name, err)
		}
		if fi, err := root.Lstat(rel); err != nil || !fi.IsDir() {
			return fmt.Errorf("%w: %q exists and is not a directory", ErrUnsafeArchive, h.Name)
		}
	case tar.TypeReg:
		if h.Size < 0 || h.Size > lim.MaxFileBytes {
			return fmt.Errorf("%w: file %q is %d bytes (limit %d)", ErrTooLarge, h.Name, h.Size, lim.MaxFileBytes)
		}
		*total += h.Size
		if *total > lim.MaxLayerBytes {
			return fmt.Errorf("%w: content exceeds %d bytes", ErrTooLarge, lim.MaxLayerBytes)
		}
		// Remove first so an existing symlink at rel is replaced, not followed.
		if err := root.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: replace %q: %v", ErrUnsafeArchive, h.Name, err)
		}
		f, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fs.FileMode(h.Mode)&0o755|0o600)
		if err != nil {
			return fmt.Errorf("%w: create %q: %v", ErrUnsafeArchive, h.Name, err)
		}
		_, cerr := io.Copy(f, tr)
		if err := f.Close(); cerr == nil {
			cerr = err
		}
		if cerr != nil {
			return fmt.Errorf("write %q: %w", h.Name, tarError(cerr))
		}
	case tar.TypeSymlink:
		if !o.AbsoluteSymlinksUnsafe && !resolvesInside(abs, h.Linkname) {
			return fmt.Errorf("%w: symlink %q -> %q points outside the root", ErrUnsafeArchive, h.Name, h.Linkname)
		}
		if err := root.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: replace %q: %v", ErrUnsafeArchive, h.Name, err)
		}
		if err := root.Symlink(h.Linkname, rel); err != nil {
			return fmt.Errorf("%w: symlink %q: %v", ErrUnsafeArchive, h.Name, err)
		}
	case tar.TypeLink:
		target, _ := CleanName(h.Linkname) // checked by checkHeader
		fi, err := root.Lstat(target[1:])
		if err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("%w: hardlink %q -> %q: target is not a regular file already in the archive", ErrUnsafeArchive, h.Name, h.Linkname)
		}
		if err := root.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: replace %q: %v", ErrUnsafeArchive, h.Name, err)
		}
		if err := root.Link(target[1:], rel); err != nil {
			return fmt.Errorf("%w: hardlink %q: %v", ErrUnsafeArchive, h.Name, err)
		}
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return fmt.Errorf("%w: %q is a device node or FIFO (type %q)", ErrUnsafeArchive, h.Name, string(h.Typeflag))
	case tar.TypeXGlobalHeader:
	default:
		return fmt.Errorf("%w: %q has unsupported entry type %q", ErrUnsafeArchive, h.Name, string(h.Typeflag))
	}
	return nil
}

// limitedReader fails, rather than truncating, once more than n bytes
// have been read: silent truncation would turn a bomb into a pass.
type limitedReader struct {
	r    io.Reader
	n    int64
	what string
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, fmt.Errorf("%w: %s is larger than the limit (decompression bomb?)", ErrTooLarge, l.what)
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, fmt.Errorf("%w: %s is larger than the limit (decompression bomb?)", ErrTooLarge, l.what)
	}
	return n, err
}
