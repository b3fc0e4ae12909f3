package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	it "github.com/hull-sec/hull/internal/imagetest"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// FuzzExtract: any byte stream either extracts inside the target or fails;
// it never panics, hangs or writes outside.
func FuzzExtract(f *testing.F) {
	addSeeds(f)
	f.Add(it.Tar(&testing.T{}, it.Dir("a/", 0o755), it.File("a/b", "x", 0o644), it.Symlink("a/c", "b"), it.Entry{Name: "a/d", Type: tar.TypeLink, Link: "a/b"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		outer := t.TempDir()
		dst := filepath.Join(outer, "dst")
		if err := os.Mkdir(dst, 0o700); err != nil {
			t.Fatal(err)
		}
		_ = Extract(context.Background(), bytes.NewReader(data), dst, ExtractOptions{Limits: testLimits})
		assertOnly(t, outer, "dst")
	})
}

// FuzzWalk: any layer content is walked or rejected, never a panic.
func FuzzWalk(f *testing.F) {
	addSeeds(f)
	f.Add(it.Tar(&testing.T{}, it.Dir("d/", 0o755), it.File("d/.wh..wh..opq", "", 0o644), it.File(".wh.x", "", 0o644), it.File("d/f", "f", 0o644)))
	base := it.Tar(&testing.T{}, it.File("base", "b", 0o644), it.Dir("d/", 0o755), it.File("d/x", "x", 0o644))
	f.Fuzz(func(t *testing.T, data []byte) {
		im := rawImage(base, data)
		_ = im.Walk(context.Background(), func(f *File) error {
			_, err := io.Copy(io.Discard, f.Content())
			return err
		})
		_ = im.Visit(context.Background(), VisitOptions{}, func(*File) (any, error) { return 1, nil }, func(Visible) error { return nil })
	})
}

// addSeeds adds the hostile corpus, less its multi-megabyte cases: large
// inputs slow the fuzzer's mutation loop to a crawl, and unit tests cover them.
func addSeeds(f *testing.F) {
	for _, tc := range hostileArchives {
		if b := tc.tar(&testing.T{}); len(b) <= 64<<10 {
			f.Add(b)
		}
	}
}

// rawImage is an image of uncompressed layers built without
// go-containerregistry's compression, so fuzzing spends its time in hull.
func rawImage(layers ...[]byte) *Image {
	im := &Image{Ref: Ref{Kind: KindDir}, limits: testLimits}
	for _, l := range layers {
		im.layers = append(im.layers, bytesLayer(l))
		sum := sha256.Sum256(l)
		im.DiffIDs = append(im.DiffIDs, v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])})
		im.sizeHints = append(im.sizeHints, 0)
	}
	return im
}

// bytesLayer is a v1.Layer over an uncompressed tar held in memory.
type bytesLayer []byte

func (b bytesLayer) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(b)), nil
}
func (b bytesLayer) Compressed() (io.ReadCloser, error)  { return b.Uncompressed() }
func (b bytesLayer) Size() (int64, error)                { return int64(len(b)), nil }
func (b bytesLayer) MediaType() (types.MediaType, error) { return types.OCIUncompressedLayer, nil }
func (b bytesLayer) Digest() (v1.Hash, error)            { return b.DiffID() }
func (b bytesLayer) DiffID() (v1.Hash, error) {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}, nil
}

// dockerArchive builds a docker-archive whose manifest.json is given.
func dockerArchive(t *testing.T, manifest []byte) []byte {
	return it.Tar(t,
		it.File("manifest.json", string(manifest), 0o644),
		it.File("config.json", `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`, 0o644),
		it.File("layer.tar", string(it.Tar(t, it.File("x", "y", 0o644))), 0o644),
	)
}

// FuzzDockerArchiveManifest: a hostile manifest.json gives an error.
func FuzzDockerArchiveManifest(f *testing.F) {
	f.Add([]byte(`[{"Config":"config.json","RepoTags":["a/b:1"],"Layers":["layer.tar"]}]`))
	f.Add([]byte(`[{"Config":"../../etc/passwd","Layers":["/dev/zero"]}]`))
	f.Add([]byte(`[{"Config":"config.json","Layers":[]},{"Config":"config.json"}]`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, manifest []byte) {
		p := filepath.Join(t.TempDir(), "a.tar")
		if err := os.WriteFile(p, dockerArchive(t, manifest), 0o600); err != nil {
			t.Fatal(err)
		}
		im, err := OpenRef(context.Background(), Ref{Kind: KindDockerArchive, Path: p}, Options{Limits: testLimits})
		if err != nil {
			return
		}
		defer im.Close()
		_ = im.Walk(context.Background(), func(*File) error { return nil })
	})
}

// FuzzOCIIndex: a hostile index.json in a layout gives an error.
func FuzzOCIIndex(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2}]}`))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:../../x","size":-1}]}`))
	f.Fuzz(func(t *testing.T, index []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "index.json"), index, 0o600); err != nil {
			t.Fatal(err)
		}
		im, err := OpenRef(context.Background(), Ref{Kind: KindOCILayout, Path: dir}, Options{Limits: testLimits})
		if err == nil {
			im.Close()
		}
	})
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"alpine", "oci:a:b", "docker-archive:x", "podman:", "a://b", "dir:/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err == nil && r.Kind == "" {
			t.Fatalf("ParseRef(%q) gave no kind", s)
		}
	})
}

// TestOCILayoutDeviceBlob: a layout whose index.json is a device (its
// size says 0, its reads never end) is refused before it is read.
func TestOCILayoutDeviceBlob(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "index.json")); err != nil {
		t.Fatal(err)
	}
	_, err := OpenRef(context.Background(), Ref{Kind: KindOCILayout, Path: dir}, Options{Limits: testLimits})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("index.json -> /dev/zero: %v", err)
	}
}
