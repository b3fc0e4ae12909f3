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
	"sync"

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
	limit := im.limits.MaxLayerBytes
	if hint := im.sizeHints[i]; hint > 0 && im.limits.MaxRatio > 0 {
		if byRatio := max(ratioFloor, hint*im.limits.MaxRatio); byRatio < limit {
			limit = byRatio
		}
	}
	r = &limitedReader{r: r, n: limit, what: fmt.Sprintf("layer %d uncompressed", i)}
	r = &digestReader{r: r, h: sha256.New(), want: im.DiffIDs[i], layer: i}
	// Reading, inflating and hashing run on the read-ahead goroutine;
	// the caller's goroutine parses and judges. Stop it before closing
	// what it reads from.
	ra := newReadAhead(r)
	closers = append(closers, ra.Close)
	return &layerStream{readAhead: ra, closers: closers}, nil
}

// zstdMaxWindow bounds the memory a zstd frame may demand.
const zstdMaxWindow = 128 << 20

// rawLayer returns layer i as stored: compressed or not.
func (im *Image) rawLayer(i int) (io.ReadCloser, error) {
	if im.archive != nil {
		return im.archive.open(im.archive.layers[i])
	}
	return im.layers[i].Compressed()
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

// layerStream is what OpenLayer returns: the read-ahead, which can skip
// forward (archive/tar then skips file contents without copying them),
// and everything to close behind it.
type layerStream struct {
	*readAhead
	closers []func() error
}

func (m *layerStream) Close() error {
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
		case tar.TypeReg:
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

// readAhead moves reading to its own goroutine, a bounded number of
// chunks ahead of the reader, so that inflating and hashing a layer and
// parsing and checking it use two cores. Memory stays at depth*chunkSize.
type readAhead struct {
	chunks chan []byte
	free   chan []byte
	done   chan struct{}
	errc   chan error
	cur    []byte
	off    int
	err    error
	pos    int64 // bytes consumed by Read and Seek
}

const (
	readAheadChunk = 128 << 10
	readAheadDepth = 4
)

// chunkPool recycles read-ahead buffers across layers and images.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, readAheadChunk); return &b }}

func newReadAhead(r io.Reader) *readAhead {
	ra := &readAhead{
		chunks: make(chan []byte, readAheadDepth),
		free:   make(chan []byte, readAheadDepth+1),
		done:   make(chan struct{}),
		errc:   make(chan error, 1),
	}
	for range readAheadDepth + 1 {
		ra.free <- *chunkPool.Get().(*[]byte)
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
	if err := ra.next(); err != nil {
		return 0, err
	}
	n := copy(p, ra.cur[ra.off:])
	ra.off += n
	ra.pos += int64(n)
	return n, nil
}

// next makes ra.cur hold unread bytes, or returns the stream's error.
func (ra *readAhead) next() error {
	for ra.off == len(ra.cur) {
		if ra.cur != nil {
			ra.free <- ra.cur[:cap(ra.cur)]
			ra.cur, ra.off = nil, 0
		}
		if ra.err != nil {
			return ra.err
		}
		c, ok := <-ra.chunks
		if !ok {
			ra.err = <-ra.errc
			continue
		}
		ra.cur, ra.off = c, 0
	}
	return nil
}

// Seek skips forward only: whence must be io.SeekCurrent and offset not
// negative. Skipped bytes are still read and hashed upstream, just not
// copied again. Seeking past the end stops at the end, as archive/tar's
// check of the last byte then reports.
func (ra *readAhead) Seek(offset int64, whence int) (int64, error) {
	if whence != io.SeekCurrent || offset < 0 {
		return ra.pos, errors.New("layer stream: only forward relative seeks")
	}
	for offset > 0 {
		if err := ra.next(); err != nil {
			if err == io.EOF {
				return ra.pos, nil
			}
			return ra.pos, err
		}
		n := min(offset, int64(len(ra.cur)-ra.off))
		ra.off += int(n)
		ra.pos += n
		offset -= n
	}
	return ra.pos, nil
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
	// fill has exited: every buffer is in free or held as cur.
	if ra.cur != nil {
		ra.free <- ra.cur[:cap(ra.cur)]
		ra.cur = nil
	}
	for len(ra.free) > 0 {
		b := <-ra.free
		chunkPool.Put(&b)
	}
	return nil
}
