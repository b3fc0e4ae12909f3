package inventory

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
)

// Go binaries carry their build info (Go version, main module, every
// dependency module) in a blob that starts with goMagic, 16-byte aligned,
// in the data segment. debug/buildinfo finds it through the section
// table at the end of the file; a layer is a stream, so hull reads the
// ELF program headers at the start, then scans the data segment as it
// streams by, which a layer reader has to read through anyway.
var goMagic = []byte("\xff Go buildinf:")

// Bounds on what a binary can make hull hold.
const (
	elfHeadBytes   = 4096
	maxGoModInfo   = 4 << 20
	goScanChunk    = 256 << 10
	goHeaderBytes  = 32
	minGoBinary    = 1 << 10
	elfPTLoad      = 1
	elfPFExec      = 1
	elfPFWrite     = 2
	goFlagInline   = 2
	goFlagBigEnd   = 1
	maxGoVersion   = 1 << 10
	maxProgHeaders = 512
)

// maxBufferedBinary is the largest executable read into memory, where
// its section table (at the end of the file) can be read: Rust's
// cargo-auditable data is found through it. Larger ones are streamed,
// and only Go build info is read from them.
const maxBufferedBinary = 32 << 20

func matchBinary(_ string, h *tar.Header) bool {
	return h.Mode&0o111 != 0 && h.Size >= minGoBinary
}

// parseBinary reads what a compiled executable in memory says it is
// built from: the crates of a Rust binary built with cargo-auditable, else
// a Go binary's build info (the only thing read from a streamed one).
func parseBinary(p string, data []byte) ([]finding.Package, error) {
	pkgs, err := parseCargoAuditable(io.NewSectionReader(bytes.NewReader(data), 0, int64(len(data))))
	if pkgs != nil || err != nil {
		return pkgs, err
	}
	return parseGoBinary(p, bytes.NewReader(data))
}

// errOldGo marks binaries built before Go 1.18, whose build info holds
// pointers that a stream cannot follow.
var errOldGo = errors.New("built before Go 1.18: the Go build info is not read")

func parseGoBinary(_ string, r io.Reader) ([]finding.Package, error) {
	head := make([]byte, elfHeadBytes)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	head = head[:n]
	dataOff, ok := elfDataOffset(head)
	if !ok {
		return nil, nil // not ELF, or no data segment: not a Go binary
	}
	// Scan from the data segment on, in chunks that overlap by one
	// header, for the magic at a 16-byte aligned file offset.
	var buf []byte
	var bufStart int64 // file offset of buf[0]
	if dataOff < int64(len(head)) {
		buf, bufStart = head[dataOff:], dataOff
	} else {
		if _, err := io.CopyN(io.Discard, r, dataOff-int64(len(head))); err != nil {
			return nil, nil // shorter than its headers say: not a binary we read
		}
		bufStart = dataOff
	}
	chunk := make([]byte, goScanChunk)
	for {
		for i := 0; ; {
			j := bytes.Index(buf[i:], goMagic)
			if j < 0 {
				break
			}
			at := i + j
			if (bufStart+int64(at))%16 == 0 {
				// The blob may run past what is buffered: read on, into
				// buf, so that a false match loses nothing.
				for {
					pkgs, err := parseGoBuildInfo(buf[at:])
					if !errors.Is(err, errTruncated) {
						if pkgs != nil || err != nil {
							return pkgs, err
						}
						break
					}
					n, rerr := io.ReadFull(r, chunk)
					if n == 0 || len(buf)-at > maxGoModInfo+maxGoVersion+goHeaderBytes {
						if rerr == nil || errors.Is(rerr, io.EOF) {
							rerr = err
						}
						return nil, rerr
					}
					buf = append(buf, chunk[:n]...)
				}
			}
			i = at + 1
		}
		keep := len(goMagic) - 1 + 16
		if len(buf) > keep {
			bufStart += int64(len(buf) - keep)
			buf = append(buf[:0:0], buf[len(buf)-keep:]...)
		}
		n, err := io.ReadFull(r, chunk)
		if n == 0 {
			if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, nil
			}
			return nil, err
		}
		buf = append(buf, chunk[:n]...)
	}
}

// elfDataOffset returns the file offset of an ELF file's first writable,
// non-executable loadable segment, where Go's linker puts the build info.
func elfDataOffset(h []byte) (int64, bool) {
	if len(h) < 64 || !bytes.HasPrefix(h, []byte("\x7fELF")) {
		return 0, false
	}
	var bo binary.ByteOrder
	switch h[5] {
	case 1:
		bo = binary.LittleEndian
	case 2:
		bo = binary.BigEndian
	default:
		return 0, false
	}
	var phoff uint64
	var phentsize, phnum uint16
	is64 := h[4] == 2
	switch h[4] {
	case 1:
		phoff, phentsize, phnum = uint64(bo.Uint32(h[28:])), bo.Uint16(h[42:]), bo.Uint16(h[44:])
	case 2:
		phoff, phentsize, phnum = bo.Uint64(h[32:]), bo.Uint16(h[54:]), bo.Uint16(h[56:])
	default:
		return 0, false
	}
	if phnum > maxProgHeaders || (is64 && phentsize < 56) || (!is64 && phentsize < 32) {
		return 0, false
	}
	for i := uint64(0); i < uint64(phnum); i++ {
		off := phoff + i*uint64(phentsize)
		if off > uint64(len(h)) || uint64(len(h))-off < uint64(phentsize) {
			return 0, false
		}
		ph := h[off:]
		var typ, flags uint32
		var pOff uint64
		if is64 {
			typ, flags, pOff = bo.Uint32(ph), bo.Uint32(ph[4:]), bo.Uint64(ph[8:])
		} else {
			typ, pOff, flags = bo.Uint32(ph), uint64(bo.Uint32(ph[4:])), bo.Uint32(ph[24:])
		}
		if typ == elfPTLoad && flags&(elfPFExec|elfPFWrite) == elfPFWrite && pOff < 1<<40 {
			return int64(pOff), true
		}
	}
	return 0, false
}

// parseGoBuildInfo reads a build info blob (Go 1.18+: the version and the
// module info inline after the 32-byte header). It returns nil, nil when
// the magic turns out not to start a blob.
func parseGoBuildInfo(blob []byte) ([]finding.Package, error) {
	if len(blob) < goHeaderBytes {
		return nil, errTruncated
	}
	ptrSize, flags := blob[len(goMagic)], blob[len(goMagic)+1]
	if ptrSize != 4 && ptrSize != 8 {
		return nil, nil
	}
	if flags&goFlagInline == 0 {
		return nil, errOldGo
	}
	version, rest, ok, err := varintString(blob[goHeaderBytes:], maxGoVersion)
	if err != nil {
		return nil, err
	}
	if !ok || !(strings.HasPrefix(version, "go1") || strings.HasPrefix(version, "devel")) {
		return nil, nil
	}
	mod, _, ok, err := varintString(rest, maxGoModInfo)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("the Go build info's module info is larger than %d bytes", maxGoModInfo)
	}
	// The module info is framed by 16-byte sentinels.
	if len(mod) >= 33 && mod[len(mod)-17] == '\n' {
		mod = mod[16 : len(mod)-16]
	}
	stdlib := finding.Package{Name: "stdlib", Version: strings.TrimPrefix(strings.Fields(version)[0], "go"), Type: "golang"}
	out := []finding.Package{stdlib}
	if mod == "" {
		return out, nil // built without module support
	}
	bi, err := debug.ParseBuildInfo(mod)
	if err != nil {
		return nil, fmt.Errorf("the Go build info: %v", err)
	}
	add := func(m *debug.Module) {
		for m.Replace != nil {
			m = m.Replace
		}
		if m.Path != "" && m.Version != "" && !strings.HasPrefix(m.Path, ".") && !strings.HasPrefix(m.Path, "/") {
			out = append(out, finding.Package{Name: m.Path, Version: m.Version, Type: "golang"})
		}
	}
	add(&bi.Main)
	for _, d := range bi.Deps {
		add(d)
	}
	return out, nil
}

// errTruncated says a build info blob runs past the bytes at hand.
var errTruncated = errors.New("the Go build info is truncated")

// varintString reads a uvarint-length-prefixed string of at most max
// bytes. ok is false if b does not hold one; err is errTruncated if b
// may hold one but ends too early.
func varintString(b []byte, max int) (s string, rest []byte, ok bool, err error) {
	n, k := binary.Uvarint(b)
	switch {
	case k == 0:
		return "", nil, false, errTruncated
	case k < 0 || n > uint64(max):
		return "", nil, false, nil
	case n > uint64(len(b)-k):
		return "", nil, false, errTruncated
	}
	return string(b[k : k+int(n)]), b[k+int(n):], true, nil
}
