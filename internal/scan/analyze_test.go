package scan

import (
	"archive/tar"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/clamd"
	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/inventory"
	"github.com/hull-sec/hull/internal/testenv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func openArchive(t *testing.T, layers ...v1.Layer) *image.Image {
	t.Helper()
	p := filepath.Join(t.TempDir(), "img.tar")
	it.WriteDockerArchive(t, p, "example.com/scan:1", it.Image(t, v1.Config{}, nil, layers...))
	im, err := image.Open(context.Background(), "docker-archive:"+p, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { im.Close() })
	return im
}

func where(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID+" "+f.Location.Path)
	}
	slices.Sort(out)
	return out
}

// Secrets: found in config files, also when a later layer deleted the
// file (it is still in the image), never in documentation or tests, and
// redacted.
func TestAnalyzeSecrets(t *testing.T) {
	key := "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"
	base := it.Layer(t,
		it.File("app/config.yaml", "github:\n  token: "+key+"\n", 0o644),
		it.File("app/old.env", "STRIPE="+"sk_live_"+"4eC39HqLyjWDarjtT1zdp7dc\n", 0o644),
		it.File("usr/share/doc/app/README", "token: "+key+"\n", 0o644),
		it.File("app/tests/fixture.yaml", "token: "+key+"\n", 0o644),
		it.File("app/bin/tool", "\x00\x01ELF-ish "+key, 0o755),
	)
	top := it.Layer(t, it.File("app/.wh.old.env", "", 0o644))
	an, err := Analyze(context.Background(), openArchive(t, base, top), AnalyzeOptions{Secrets: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"secret-github-token /app/config.yaml", "secret-stripe-key /app/old.env"}
	if got := where(an.Secrets); !slices.Equal(got, want) {
		t.Fatalf("secrets %v, want %v", got, want)
	}
	for _, f := range an.Secrets {
		if strings.Contains(f.Evidence, key[8:]) || strings.Contains(f.Evidence, "4eC39HqLyjWDarjtT1zdp7dc") {
			t.Errorf("unredacted: %s", f.Evidence)
		}
		if f.Location.Path == "/app/old.env" && !strings.Contains(f.Evidence, "deleted by a later layer") {
			t.Errorf("a deleted file's secret must say so: %s", f.Evidence)
		}
	}
}

// Malware through a real clamd with a test signature: every file of every
// layer, large ones streamed, deleted ones too; files over the limit are
// listed as not scanned; results come back from the cache.
func TestAnalyzeMalware(t *testing.T) {
	srv := testenv.Clamd(t, testenv.ClamdOptions{})
	c, err := clamd.Dial(context.Background(), srv.Socket, clamd.Options{MaxBytes: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 9<<20) + testenv.ClamdMarker // past the buffer: streamed
	var clean []it.Entry
	for i := range 200 {
		clean = append(clean, it.File(fmt.Sprintf("app/data/f%03d", i), fmt.Sprintf("clean file %d", i), 0o644))
	}
	base := it.Layer(t, append(clean,
		it.File("app/evil.sh", "#!/bin/sh\n# "+testenv.ClamdMarker+"\n", 0o755),
		it.File("app/gone.bin", "prefix "+testenv.ClamdMarker, 0o644),
		it.File("app/big.bin", big, 0o644),
		// Past the buffer too, but buffered whole for the inventory (an
		// rpm database): scanned from memory, not kept in flight.
		it.File("var/lib/rpm/rpmdb.sqlite", big, 0o644),
		it.File("app/huge.bin", strings.Repeat("y", 33<<20), 0o644),
	)...)
	top := it.Layer(t, it.File("app/.wh.gone.bin", "", 0o644))
	im := openArchive(t, base, top)
	cache := t.TempDir()
	opts := AnalyzeOptions{Malware: c, MaxMalwareBytes: 32 << 20, CacheDir: cache}
	an, err := Analyze(context.Background(), im, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"malware /app/big.bin", "malware /app/evil.sh", "malware /app/gone.bin", "malware /var/lib/rpm/rpmdb.sqlite"}
	if got := where(an.Malware); !slices.Equal(got, want) {
		t.Fatalf("malware %v, want %v", got, want)
	}
	if len(an.Unscanned) != 1 || an.Unscanned[0].Path != "/app/huge.bin" || !an.Unscanned[0].OverLimit {
		t.Errorf("unscanned: %v", an.Unscanned)
	}
	for _, f := range an.Malware {
		if !strings.Contains(f.Evidence, testenv.ClamdMarkerSignature) || f.Severity != finding.SeverityCritical {
			t.Errorf("finding %+v", f)
		}
	}
	again, err := Analyze(context.Background(), im, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.CachedLayers != 2 || !slices.Equal(where(again.Malware), want) || !slices.Equal(again.Unscanned, an.Unscanned) {
		t.Errorf("from the cache: %d layers, %v, %v", again.CachedLayers, where(again.Malware), again.Unscanned)
	}
}

// TestMalwareCheckNotScanned: a file clamd did not scan in full is never
// a pass. A real clamd refuses a stream over its StreamMaxLength, and
// stops at MaxFileSize (saying so with AlertExceedsMax, which is not
// malware); both leave the check undecided. A file over --max-file-size
// is a partial pass only when the user chose that bound.
func TestMalwareCheckNotScanned(t *testing.T) {
	srv := testenv.Clamd(t, testenv.ClamdOptions{StreamMaxLength: "2M", Limits: []string{"MaxFileSize 1M", "MaxScanSize 2M", "AlertExceedsMax yes"}})
	c, err := clamd.Dial(context.Background(), srv.Socket, clamd.Options{MaxBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	pad := func(n int) string { return testenv.ClamdMarker + strings.Repeat("z", n) }
	analyze := func(files ...it.Entry) *Analysis {
		an, err := Analyze(context.Background(), openArchive(t, it.Layer(t, files...)), AnalyzeOptions{Malware: c, MaxMalwareBytes: 4 << 20})
		if err != nil {
			t.Fatal(err)
		}
		return an
	}
	small := it.File("app/evil.sh", pad(10), 0o755)
	an := analyze(small,
		it.File("app/past-stream.bin", pad(3<<20), 0o644), // over StreamMaxLength: refused
		it.File("app/past-max.bin", pad(1536<<10), 0o644), // over MaxFileSize: clamd stops
		it.File("app/over-limit.bin", pad(5<<20), 0o644))  // over --max-file-size: not sent
	if got := where(an.Malware); !slices.Equal(got, []string{"malware /app/evil.sh"}) {
		t.Errorf("malware %v: a clamd limit is not malware", got)
	}
	for _, chosen := range []bool{false, true} {
		st := MalwareCheck(an, 4<<20, chosen)
		if st.State != finding.StateError || !strings.Contains(st.Reason, "/app/past-stream.bin") || !strings.Contains(st.Reason, "/app/past-max.bin: clamd: stopped at its MaxFileSize limit") {
			t.Errorf("limit chosen %t: %+v; want an error naming the files clamd did not scan", chosen, st)
		}
	}
	an = analyze(it.File("app/clean.txt", "clean", 0o644), it.File("app/over-limit.bin", pad(5<<20), 0o644))
	if st := MalwareCheck(an, 4<<20, false); st.State != finding.StateError || !strings.Contains(st.Reason, "/app/over-limit.bin") {
		t.Errorf("default limit: %+v; want an error", st)
	}
	if st := MalwareCheck(an, 4<<20, true); st.State != finding.StateWarn || !strings.Contains(st.Reason, "partial") || !strings.Contains(st.Reason, "/app/over-limit.bin") {
		t.Errorf("chosen limit: %+v; want a partial pass naming the file", st)
	}
	if st := MalwareCheck(analyze(small), 4<<20, false); st.State != finding.StateFail {
		t.Errorf("malware found: %+v", st)
	}
}

// A cache file hull did not write (truncated, corrupted, crafted) is a
// miss, never a panic or a huge allocation.
func FuzzLoadLayer(f *testing.F) {
	dir := f.TempDir()
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	storeLayer(dir, "k", d, []image.Record{{Path: "/a", Kind: image.EntryOther, Value: &fileResult{Malware: "X"}}, {Path: "/b", Kind: image.EntryWhiteout}})
	good, err := os.ReadFile(layerCachePath(dir, "k", d))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := layerCachePath(dir, "fuzz", d)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if recs, ok := loadLayer(dir, "fuzz", d); ok {
			for _, r := range recs {
				if r.Value != nil && r.Value.(*fileResult) == nil {
					t.Fatal("typed nil value")
				}
			}
		}
	})
}

func TestLayerCacheRoundTrip(t *testing.T) {
	dir := t.TempDir()
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("cd", 32)}
	in := []image.Record{{Path: "/etc/x\nwith newline", Kind: image.EntryOther, Value: &fileResult{Secrets: []secretHit{{Rule: "jwt", Line: 3, Redacted: "eyJh****"}}}},
		{Path: "/etc", Kind: image.EntryDir}, {Path: "/gone", Kind: image.EntryWhiteout}, {Path: "/empty", Kind: image.EntryOther, Value: &fileResult{}}}
	storeLayer(dir, "k", d, in)
	out, ok := loadLayer(dir, "k", d)
	if !ok || len(out) != 4 || out[0].Path != in[0].Path || out[0].Value.(*fileResult).Secrets[0].Line != 3 ||
		out[2].Kind != image.EntryWhiteout || out[3].Value != nil {
		t.Fatalf("round trip: %v %+v", ok, out)
	}
	if fi, err := os.Stat(layerCachePath(dir, "k", d)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode: %v %v", fi, err)
	}
}

// TestBufferedFilesAreNotStreamed: a file small enough to buffer is
// handed to the inventory from memory only; the inventory must never ask
// to stream one that size, or its packages would be skipped.
func TestBufferedFilesAreNotStreamed(t *testing.T) {
	h := &tar.Header{Typeflag: tar.TypeReg, Mode: 0o755, Size: bufferBytes}
	if inventory.Wants("/usr/bin/big", h) == inventory.Stream {
		t.Errorf("the inventory streams executables of %d bytes, which the scan buffers", bufferBytes)
	}
}

// TestLargeTextSecrets: the secrets check has no size bound a file can
// hide behind. A credential at the end of a 6 MiB text (buffered) and of
// a 12 MiB one (streamed, and sent to a clamd that refuses it past 1 MiB:
// the other analyzers still read the whole file) is found, redacted, at
// its line.
func TestLargeTextSecrets(t *testing.T) {
	srv := testenv.Clamd(t, testenv.ClamdOptions{StreamMaxLength: "1M"})
	c, err := clamd.Dial(context.Background(), srv.Socket, clamd.Options{MaxBytes: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	key := "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"
	text := func(mib int) (string, int) {
		lines := mib << 20 / 100
		return strings.Repeat(strings.Repeat("x", 99)+"\n", lines) + "token: " + key + "\n", lines + 1
	}
	mid, midLine := text(6)
	big, bigLine := text(12)
	for _, o := range []AnalyzeOptions{{Secrets: true}, {Secrets: true, Malware: c, MaxMalwareBytes: 32 << 20}} {
		an, err := Analyze(context.Background(), openArchive(t, it.Layer(t,
			it.File("app/mid.log", mid, 0o644), it.File("app/big.log", big, 0o644))), o)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"secret-github-token /app/big.log", "secret-github-token /app/mid.log"}
		if got := where(an.Secrets); !slices.Equal(got, want) {
			t.Fatalf("malware %t: secrets %v, want %v", o.Malware != nil, got, want)
		}
		for _, f := range an.Secrets {
			line := map[string]int{"/app/mid.log": midLine, "/app/big.log": bigLine}[f.Location.Path]
			if !strings.HasPrefix(f.Evidence, fmt.Sprintf("line %d: ", line)) || strings.Contains(f.Evidence, key[8:]) {
				t.Errorf("evidence %q, want line %d, redacted", f.Evidence, line)
			}
		}
	}
}
