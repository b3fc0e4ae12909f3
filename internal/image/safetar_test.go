package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	it "github.com/hull-sec/hull/internal/imagetest"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"
)

// hostileCase is one crafted archive and what its rejection must say.
type hostileCase struct {
	name string
	tar  func(t *testing.T) []byte
	want string // a substring of the error
}

func entries(es ...it.Entry) func(t *testing.T) []byte {
	return func(t *testing.T) []byte { return it.Tar(t, es...) }
}

// zeros is a tar holding one file of n zero bytes.
func zeros(t *testing.T, n int64) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "zeros", Mode: 0o644, Size: n, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(tw, zeroReader{}, n); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

var hostileArchives = []hostileCase{
	{"dotdot", entries(it.File("../evil", "x", 0o644)), "climbs out"},
	{"nested-dotdot", entries(it.Dir("a/", 0o755), it.File("a/../../evil", "x", 0o644)), "climbs out"},
	{"absolute", entries(it.File("/etc/evil", "x", 0o644)), "absolute path"},
	// A name too long for ustar travels in a PAX record.
	{"pax-long-dotdot", entries(it.File(strings.Repeat("x/", 60)+strings.Repeat("../", 62)+"evil", "x", 0o644)), "climbs out"},
	{"symlink-absolute", entries(it.Symlink("link", "/etc"), it.File("link/evil", "x", 0o644)), "points outside"},
	{"symlink-relative-escape", entries(it.Symlink("link", "../../.."), it.File("link/evil", "x", 0o644)), "points outside"},
	{"symlink-then-write-through", func(t *testing.T) []byte {
		// An in-root symlink to a directory, then a file "through" it that
		// would land outside if the link were followed without confinement.
		return it.Tar(t, it.Dir("d/", 0o755), it.Symlink("d/up", ".."), it.Symlink("d/up2", "up/.."), it.File("d/up2/evil", "x", 0o644))
	}, "escapes from parent"},
	{"symlink-over-dir", entries(it.Symlink("d", "."), it.Dir("d/", 0o755), it.Symlink("d/x", "../../../outside")), "not a directory"},
	{"hardlink-absolute", entries(it.Entry{Name: "h", Type: tar.TypeLink, Link: "/etc/shadow"}), "not a regular file already in the archive"},
	{"hardlink-dotdot", entries(it.Entry{Name: "h", Type: tar.TypeLink, Link: "../../etc/shadow"}), "climbs out"},
	{"hardlink-to-symlink", entries(it.Symlink("s", "x"), it.Entry{Name: "h", Type: tar.TypeLink, Link: "s"}), "not a regular file"},
	{"char-device", entries(it.Entry{Name: "dev/mem", Type: tar.TypeChar, Major: 1, Minor: 1}), "device node"},
	{"block-device", entries(it.Entry{Name: "sda", Type: tar.TypeBlock, Major: 8}), "device node"},
	{"fifo", entries(it.Entry{Name: "pipe", Type: tar.TypeFifo}), "FIFO"},
	{"file-then-dir", entries(it.File("a", "x", 0o644), it.File("a/b", "y", 0o644)), "create parent"},
	{"truncated", func(t *testing.T) []byte {
		b := it.Tar(t, it.File("big", strings.Repeat("a", 4096), 0o644))
		return b[:512+1000]
	}, "truncated"},
	{"garbled-header", func(t *testing.T) []byte {
		b := it.Tar(t, it.File("f", "x", 0o644))
		copy(b[100:], "garbage!garbage!") // mode and uid fields
		return b
	}, "invalid tar header"},
	{"random-bytes", func(t *testing.T) []byte { return bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 300) }, "tar"},
	{"gnu-sparse-old", func(t *testing.T) []byte {
		b := retype(t, it.Tar(t, it.File("holes", "", 0o644)), tar.TypeGNUSparse)
		copy(b[257:265], "ustar  \x00")     // GNU magic
		copy(b[483:495], "77777777777\x00") // realsize: 8 GiB of holes
		return fixChecksum(b)
	}, "sparse"},
	{"gnu-sparse-pax", func(t *testing.T) []byte {
		// A PAX header announcing GNU sparse format 1.0, then the file.
		var recs string
		for _, kv := range [][2]string{{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"}, {"GNU.sparse.name", "holes"}, {"GNU.sparse.realsize", "8589934592"}} {
			recs += paxRecord(kv[0], kv[1])
		}
		pax := retype(t, it.Tar(t, it.File("PaxHeaders/holes", recs, 0o644)), tar.TypeXHeader)
		sparseMap := "1\n0\n0\n" + strings.Repeat("\x00", 506) // one block
		file := it.Tar(t, it.File("holes", sparseMap, 0o644))
		return append(pax[:len(pax)-1024], file...) // drop the first end-of-archive blocks
	}, "sparse"},
	{"oversize-file", func(t *testing.T) []byte { return zeros(t, 3<<20) }, "limit"},
	{"too-many-entries", func(t *testing.T) []byte {
		var es []it.Entry
		for i := 0; i < 120; i++ {
			es = append(es, it.File("f"+strings.Repeat("x", i), "", 0o644))
		}
		return it.Tar(t, es...)
	}, "more than 100 entries"},
}

// retype changes the type of a tar stream's first entry.
func retype(t *testing.T, b []byte, flag byte) []byte {
	b[156] = flag
	return fixChecksum(b)
}

// fixChecksum recomputes the first header block's checksum.
func fixChecksum(b []byte) []byte {
	sum := 0
	for i := range 512 {
		if i >= 148 && i < 156 {
			sum += ' '
		} else {
			sum += int(b[i])
		}
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// paxRecord encodes one PAX record: "LEN key=value\n", LEN counting itself.
func paxRecord(k, v string) string {
	n := len(k) + len(v) + 3
	for {
		s := fmt.Sprintf("%d %s=%s\n", n, k, v)
		if len(s) == n {
			return s
		}
		n = len(s)
	}
}

// testLimits are small so bombs and floods trip quickly.
var testLimits = Limits{MaxLayerBytes: 2 << 20, MaxEntries: 100, MaxFileBytes: 1 << 20, MaxRatio: 250}

func TestExtractRejectsHostileArchives(t *testing.T) {
	if len(hostileArchives) < 15 {
		t.Fatalf("the hostile corpus must hold at least 15 cases, has %d", len(hostileArchives))
	}
	for _, tc := range hostileArchives {
		t.Run(tc.name, func(t *testing.T) {
			outer := t.TempDir()
			dst := filepath.Join(outer, "dst")
			if err := os.Mkdir(dst, 0o700); err != nil {
				t.Fatal(err)
			}
			err := Extract(context.Background(), bytes.NewReader(tc.tar(t)), dst, ExtractOptions{Limits: testLimits})
			if err == nil {
				t.Fatal("hostile archive was accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			assertOnly(t, outer, "dst")
		})
	}
}

// assertOnly fails if dir holds anything but the named entries.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		found := false
		for _, n := range names {
			found = found || e.Name() == n
		}
		if !found {
			t.Errorf("extraction wrote %s outside its target", filepath.Join(dir, e.Name()))
		}
	}
}

func TestExtractWritesSafeModes(t *testing.T) {
	dst := t.TempDir()
	data := it.Tar(t, it.Dir("d/", 0o777), it.File("d/suid", "x", 0o4777), it.Symlink("d/l", "suid"),
		it.Entry{Name: "d/h", Type: tar.TypeLink, Link: "d/suid"})
	if err := Extract(context.Background(), bytes.NewReader(data), dst, ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dst, "d/suid"))
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode(); m&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky) != 0 || m.Perm()&0o022 != 0 {
		t.Errorf("extracted mode %v keeps special or group/world-write bits", m)
	}
	if l, err := os.Readlink(filepath.Join(dst, "d/l")); err != nil || l != "suid" {
		t.Errorf("symlink: %q %v", l, err)
	}
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstded(t *testing.T, b []byte) []byte {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	return enc.EncodeAll(b, nil)
}

// TestLayerBombsAreRefused feeds compressed layers that expand far past
// the limits: the walk must fail with ErrTooLarge, not run on.
func TestLayerBombsAreRefused(t *testing.T) {
	big := zeros(t, 64<<20)
	for name, blob := range map[string][]byte{"gzip": gzipped(t, big), "zstd": zstded(t, big)} {
		t.Run(name, func(t *testing.T) {
			if len(blob) > 1<<20 {
				t.Fatalf("bomb is %d bytes compressed; not a bomb", len(blob))
			}
			im := fromV1(t, it.Image(t, v1.Config{}, nil, it.RawLayer(t, blob)))
			im.limits = testLimits
			im.limits.MaxFileBytes = 1 << 30
			err := im.Walk(context.Background(), func(f *File) error {
				_, err := io.Copy(io.Discard, f.Content())
				return err
			})
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("want ErrTooLarge, got %v", err)
			}
		})
	}
	t.Run("ratio", func(t *testing.T) {
		im := fromV1(t, it.Image(t, v1.Config{}, nil, it.RawLayer(t, gzipped(t, zeros(t, ratioFloor+(1<<20))))))
		im.sizeHints[0] = 1000 // claims a 1000-byte layer: the ratio limit is the floor
		err := im.Walk(context.Background(), func(f *File) error {
			_, err := io.Copy(io.Discard, f.Content())
			return err
		})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("want ErrTooLarge from the ratio bound, got %v", err)
		}
	})
}

// TestWalkRejectsGarbledLayers: every corrupt-layer case ends in an
// error, never a silent partial walk.
func TestWalkRejectsGarbledLayers(t *testing.T) {
	for _, tc := range hostileArchives {
		switch tc.name {
		case "truncated", "garbled-header", "random-bytes", "gnu-sparse-old", "gnu-sparse-pax", "dotdot", "nested-dotdot", "pax-long-dotdot", "too-many-entries", "hardlink-dotdot":
		default:
			continue // links, devices and absolute names are legal inside a layer
		}
		t.Run(tc.name, func(t *testing.T) {
			im := fromV1(t, it.Image(t, v1.Config{}, nil, it.RawLayer(t, tc.tar(t))))
			im.limits = testLimits
			err := im.Walk(context.Background(), func(f *File) error {
				_, err := io.Copy(io.Discard, f.Content())
				return err
			})
			if err == nil {
				t.Fatal("garbled layer walked without error")
			}
		})
	}
}
