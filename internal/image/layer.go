package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// ErrDigestMismatch is wrapped when a layer's content does not hash to
// the diff ID its image config promises.
var ErrDigestMismatch = errors.New("layer content does not match its diff ID")

// Magic numbers of the layer compressions the OCI spec allows.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// OpenLayer returns the uncompressed tar stream of layer i. The stream
// is bounded by the image's limits (it fails once more bytes come out
// than the size or decompression-ratio limit allows) and, read to its
// end, fails unless it hashes to the layer's diff ID.
func (im *Image) OpenLayer(i int) (io.ReadCloser, error) {
	raw, err := im.rawLayer(i)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(raw, 1<<16)
	magic, _ := br.Peek(4)
	var r io.Reader = br
	closers := []func() error{raw.Close}
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			raw.Close()
			return nil, fmt.Errorf("layer %d: gzip: %w", i, err)
		}
		r, closers = zr, append(closers, zr.Close)
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			raw.Close()
			return nil, fmt.Errorf("layer %d: zstd: %w", i, err)
		}
		r = zr
		closers = append(closers, func() error { zr.Close(); return nil })
	}
	ra := newReadAhead(r)
	r = ra
	// Stop the read-ahead before closing what it reads from.
	closers = append(closers, ra.Close)
	limit := im.limits.MaxLayerBytes
	if hint := im.sizeHints[i]; hint > 0 && im.limits.MaxRatio > 0 {
		if byRatio := max(ratioFloor, hint*im.limits.MaxRatio); byRatio < limit {
			limit = byRatio
		}
	}
	r = &limitedReader{r: r, n: limit, what: fmt.Sprintf("layer %d uncompressed", i)}
	r = &digestReader{r: r, h: sha256.New(), want: im.DiffIDs[i], layer: i}
	return &multiCloser{Reader: r, closers: closers}, nil
}

// zstdMaxWindow bounds the memory a zstd frame may demand.
const zstdMaxWindow = 128 << 20

// rawLayer returns layer i as stored: compressed or not.
func (im *Image) rawLayer(i int) (io.ReadCloser, error) {
	if im.archive != nil {
		return im.archive.open(im.archive.layers[i])
	}
	l := im.layers[i]
	if im.Ref.Kind == KindDir {
		return l.Uncompressed()
	}
	return l.Compressed()
}

// digestReader hashes what passes and checks the digest at EOF.
type digestReader struct {
	r     io.Reader
	h     hash.Hash
	want  v1.Hash
	layer int
}

func (d *digestReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.h.Write(p[:n])
	if err == io.EOF && d.want.Algorithm == "sha256" {
		if got := fmt.Sprintf("%x", d.h.Sum(nil)); got != d.want.Hex {
			return n, fmt.Errorf("%w: layer %d hashes to sha256:%s, config says %s", ErrDigestMismatch, d.layer, got, d.want)
		}
	}
	return n, err
}

type multiCloser struct {
	io.Reader
	closers []func() error
}

func (m *multiCloser) Close() error {
	var errs []error
	for i := len(m.closers) - 1; i >= 0; i-- {
		errs = append(errs, m.closers[i]())
	}
	return errors.Join(errs...)
}

// archiveIndex locates the files of a tar archive on disk, so a layer
// inside a docker archive is read in place, without rescanning.
type archiveIndex struct {
	path    string
	entries map[string]archiveEntry
	layers  []string // manifest order
}

type archiveEntry struct {
	hdr    *tar.Header
	offset int64
}

// resolve follows in-archive symlinks (older docker save output links
// identical layers) to a regular file.
func (a *archiveIndex) resolve(name string) (archiveEntry, error) {
	for range 8 {
		e, ok := a.entries[path.Clean(name)]
		if !ok {
			return archiveEntry{}, fmt.Errorf("%s: not in the archive", name)
		}
		switch e.hdr.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			return e, nil
		case tar.TypeSymlink:
			name = path.Join(path.Dir(path.Clean(name)), e.hdr.Linkname)
		case tar.TypeLink:
			name = e.hdr.Linkname
		default:
			return archiveEntry{}, fmt.Errorf("%s: not a regular file", name)
		}
	}
	return archiveEntry{}, fmt.Errorf("%s: too many links", name)
}

func (a *archiveIndex) open(name string) (io.ReadCloser, error) {
	e, err := a.resolve(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(a.path)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, e.offset, e.hdr.Size), f}, nil
}

// countingReader tracks the offset of an unbuffered file. It seeks, so
// archive/tar skips file contents instead of reading them.
type countingReader struct {
	r io.ReadSeeker
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) Seek(offset int64, whence int) (int64, error) {
	n, err := c.r.Seek(offset, whence)
	if err == nil {
		c.n = n
	}
	return n, err
}

// readAhead moves decompression to its own goroutine, a bounded number of
// chunks ahead of the reader, so that inflating a layer and parsing,
// hashing and checking it use two cores. Memory stays at depth*chunkSize.
type readAhead struct {
	chunks chan []byte
	free   chan []byte
	done   chan struct{}
	errc   chan error
	cur    []byte
	off    int
	err    error
}

const (
	readAheadChunk = 256 << 10
	readAheadDepth = 8
)

func newReadAhead(r io.Reader) *readAhead {
	ra := &readAhead{
		chunks: make(chan []byte, readAheadDepth),
		free:   make(chan []byte, readAheadDepth+1),
		done:   make(chan struct{}),
		errc:   make(chan error, 1),
	}
	for range readAheadDepth + 1 {
		ra.free <- make([]byte, readAheadChunk)
	}
	go ra.fill(r)
	return ra
}

func (ra *readAhead) fill(r io.Reader) {
	defer close(ra.chunks)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.done:
			return
		}
		n, err := io.ReadFull(r, buf[:cap(buf)])
		if n > 0 {
			select {
			case ra.chunks <- buf[:n]:
			case <-ra.done:
				return
			}
		}
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			ra.errc <- err
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for ra.off == len(ra.cur) {
		if ra.cur != nil {
			ra.free <- ra.cur[:cap(ra.cur)]
			ra.cur, ra.off = nil, 0
		}
		if ra.err != nil {
			return 0, ra.err
		}
		c, ok := <-ra.chunks
		if !ok {
			ra.err = <-ra.errc
			continue
		}
		ra.cur, ra.off = c, 0
	}
	n := copy(p, ra.cur[ra.off:])
	ra.off += n
	return n, nil
}

// Close stops the goroutine; the underlying reader is closed by the caller.
func (ra *readAhead) Close() error {
	select {
	case <-ra.done:
	default:
		close(ra.done)
	}
	for range ra.chunks { // let fill exit if it is blocked sending
	}
	return nil
}
