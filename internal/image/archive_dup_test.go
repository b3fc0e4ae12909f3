package image_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/image"
	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/testenv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// readTarFile takes apart an archive the tests rebuild with it.Tar.
func readTarFile(t *testing.T, p string) []it.Entry {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []it.Entry
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, it.Entry{Name: h.Name, Type: h.Typeflag, Mode: h.Mode, Body: string(b), Link: h.Linkname,
			UID: h.Uid, GID: h.Gid, PAX: h.PAXRecords})
	}
}

func writeTarFile(t *testing.T, p string, entries []it.Entry) {
	t.Helper()
	if err := os.WriteFile(p, it.Tar(t, entries...), 0o600); err != nil {
		t.Fatal(err)
	}
}

func file(name string, body []byte) it.Entry { return it.File(name, string(body), 0o644) }

func dirEntry(name string) it.Entry { return it.Dir(name, 0o755) }

func find(t *testing.T, es []it.Entry, name string) it.Entry {
	t.Helper()
	for _, e := range es {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no %s in the archive", name)
	return it.Entry{}
}

func without(es []it.Entry, name string) []it.Entry {
	var out []it.Entry
	for _, e := range es {
		if e.Name != name {
			out = append(out, e)
		}
	}
	return out
}

// twoImages are two small images that differ in config and layer: A is
// what a reader of the first copy sees, B what an engine loads.
func twoImages(t *testing.T) (a, b v1.Image) {
	a = it.Image(t, v1.Config{User: "1000", Cmd: []string{"/bin/a"}}, nil, it.Layer(t, it.File("a", "image A", 0o644)))
	b = it.Image(t, v1.Config{User: "0", Cmd: []string{"/bin/b"}}, nil, it.Layer(t, it.File("b", "image B", 0o644)))
	return a, b
}

func configName(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// dockerArchives are docker archives built from A and B that an engine
// and a first-copy reader would read differently, or that only a
// duplicate-free reader reads one way.
func dockerArchives(t *testing.T, dir string, a, b v1.Image) map[string]string {
	const tag = "hull/dup:1"
	pa, pb := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	it.WriteDockerArchive(t, pa, tag, a)
	it.WriteDockerArchive(t, pb, tag, b)
	ea, eb := readTarFile(t, pa), readTarFile(t, pb)
	mfA, mfB := find(t, ea, "manifest.json"), find(t, eb, "manifest.json")
	blobsB := without(eb, "manifest.json")
	cfgA := "sha256:" + configName(t, a).Hex

	out := map[string]string{}
	put := func(label string, es []it.Entry) {
		p := filepath.Join(dir, label+".tar")
		writeTarFile(t, p, es)
		out[label] = p
	}
	// A's manifest first, B's last: Docker loads B.
	put("manifest-twice", append(append(append([]it.Entry{}, ea...), blobsB...), mfB))
	mfA2 := mfA
	mfA2.Name = "./manifest.json"
	put("dot-slash-manifest", append(append(append([]it.Entry{mfA2}, blobsB...), without(ea, "manifest.json")...), mfB))
	// A's config name holding B's config after A's.
	cfgB := find(t, eb, "sha256:"+configName(t, b).Hex)
	cfgB.Name = cfgA
	put("config-twice", append(append([]it.Entry{}, ea...), cfgB))
	// A layer name twice.
	var layerA it.Entry
	for _, e := range ea {
		if strings.HasSuffix(e.Name, ".tar.gz") {
			layerA = e
		}
	}
	if layerA.Name == "" {
		t.Fatal("no layer in the archive")
	}
	other := layerA
	other.Name = "./" + layerA.Name
	put("layer-twice", append(append([]it.Entry{}, ea...), other))
	put("file-and-dir", append(append([]it.Entry{}, ea...), dirEntry(cfgA+"/")))
	return out
}

// TestArchiveDuplicateNamesAreRefused: an archive naming one file twice
// means what its reader picks (item 4 of issue 11: hull read the first
// manifest.json, docker load the last), so every such archive is refused,
// docker and OCI, whatever the spelling of the name.
func TestArchiveDuplicateNamesAreRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := twoImages(t)
	for label, p := range dockerArchives(t, dir, a, b) {
		t.Run("docker/"+label, func(t *testing.T) {
			im, err := image.Open(ctx, "docker-archive:"+p, image.Options{})
			if err == nil {
				im.Close()
				t.Fatalf("opened as image %s; want a refusal", im.ID)
			}
			if !errors.Is(err, image.ErrUnsafeArchive) {
				t.Fatalf("want ErrUnsafeArchive, got %v", err)
			}
		})
	}

	// OCI archives: a layout of A, tarred, with a second copy of one file.
	lp := filepath.Join(dir, "layout")
	l, err := layout.Write(lp, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.AppendImage(a); err != nil {
		t.Fatal(err)
	}
	if err := l.AppendImage(b); err != nil {
		t.Fatal(err)
	}
	all := readTarFile(t, testenv.TarDir(t, lp))
	// The layout holds the blobs of both images; each index.json below
	// names one of them.
	base := without(all, "index.json")
	var blob it.Entry
	for _, e := range base {
		if strings.HasPrefix(e.Name, "blobs/sha256/") && e.Type == tar.TypeReg {
			blob = e
		}
	}
	oci := map[string][]it.Entry{
		"index-twice":          append(append(append([]it.Entry{}, base...), file("index.json", ociIndex(t, a, nil))), file("index.json", ociIndex(t, b, nil))),
		"dot-slash-index":      append(append(append([]it.Entry{}, base...), file("./index.json", ociIndex(t, a, nil))), file("index.json", ociIndex(t, b, nil))),
		"double-slash-blob":    append(append(append([]it.Entry{}, base...), file("index.json", ociIndex(t, a, nil))), file(strings.Replace(blob.Name, "/", "//", 1), []byte(blob.Body))),
		"oci-layout-twice":     append(append(append([]it.Entry{}, base...), file("index.json", ociIndex(t, a, nil))), file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))),
		"trailing-slash-index": append(append(append([]it.Entry{}, base...), file("index.json", ociIndex(t, a, nil))), dirEntry("index.json/")),
	}
	for label, es := range oci {
		t.Run("oci/"+label, func(t *testing.T) {
			p := filepath.Join(dir, "oci-"+label+".tar")
			writeTarFile(t, p, es)
			im, err := image.Open(ctx, "oci-archive:"+p, image.Options{})
			if err == nil {
				im.Close()
				t.Fatalf("opened as image %s; want a refusal", im.ID)
			}
			if !errors.Is(err, image.ErrUnsafeArchive) {
				t.Fatalf("want ErrUnsafeArchive, got %v", err)
			}
		})
	}
	t.Run("oci/directory-twice-is-fine", func(t *testing.T) {
		p := filepath.Join(dir, "oci-dirs.tar")
		writeTarFile(t, p, append(append([]it.Entry{dirEntry("blobs/"), dirEntry("./blobs")}, base...), file("index.json", ociIndex(t, a, nil))))
		im, err := image.Open(ctx, "oci-archive:"+p, image.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer im.Close()
		if want := configName(t, a); im.ID != want {
			t.Fatalf("image %s, want %s", im.ID, want)
		}
	})
}

// TestDockerArchiveReadAsDockerLoadsIt uses a real dockerd as the oracle:
// for each archive that readers could take two ways, docker load loads
// one image, and hull must show that image or refuse the archive, never
// show the other one.
func TestDockerArchiveReadAsDockerLoadsIt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := twoImages(t)
	idA, idB := configName(t, a), configName(t, b)
	d := testenv.StartDockerd(t)

	pa, pb := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	it.WriteDockerArchive(t, pa, "hull/dup:1", a)
	it.WriteDockerArchive(t, pb, "hull/dup:1", b)
	ea, eb := readTarFile(t, pa), readTarFile(t, pb)
	blobs := append(without(ea, "manifest.json"), without(eb, "manifest.json")...)
	var mA, mB []map[string]any
	if err := json.Unmarshal([]byte(find(t, ea, "manifest.json").Body), &mA); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(find(t, eb, "manifest.json").Body), &mB); err != nil {
		t.Fatal(err)
	}
	js := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// manifestWithKeys writes one manifest entry whose keys repeat: A's
	// values first, then B's under the keys given.
	manifestWithKeys := func(tag, cfgKey, layersKey string) []byte {
		return []byte(`[{"Config":` + js(mA[0]["Config"]) + `,"RepoTags":["` + tag + `"],"Layers":` + js(mA[0]["Layers"]) +
			`,"` + cfgKey + `":` + js(mB[0]["Config"]) + `,"` + layersKey + `":` + js(mB[0]["Layers"]) + `}]`)
	}
	// A config reached through a hardlink in a subdirectory: an unpacked
	// tree resolves the target from the archive root (A's config);
	// go-containerregistry resolves it from the link's directory, where
	// B's config waits.
	linked := append(without(without(ea, "manifest.json"), "sha256:"+idA.Hex),
		file("c/a.json", []byte(find(t, ea, "sha256:"+idA.Hex).Body)),
		it.Entry{Name: "c/link.json", Type: tar.TypeLink, Link: "c/a.json", Mode: 0o644},
		file("c/c/a.json", []byte(find(t, eb, "sha256:"+idB.Hex).Body)))
	mLinked := mA[0]
	mLinked["Config"] = "c/link.json"
	mLinked["RepoTags"] = []string{"hull/dup:linked"}
	linked = append(linked, file("manifest.json", []byte(js([]any{mLinked}))))

	cases := []struct {
		label, tag string
		entries    []it.Entry
		// dockerLoads is what this dockerd loads (checked, so that each
		// case is known to be read two ways): the last copy or key.
		dockerLoads v1.Hash
	}{
		{"manifest-twice", "hull/dup:1", append(append(append([]it.Entry{}, ea...), without(eb, "manifest.json")...), find(t, eb, "manifest.json")), idB},
		{"repeated-keys", "hull/dup:keys", append(append([]it.Entry{}, blobs...), file("manifest.json", manifestWithKeys("hull/dup:keys", "Config", "Layers"))), idB},
		{"repeated-keys-other-case", "hull/dup:case", append(append([]it.Entry{}, blobs...), file("manifest.json", manifestWithKeys("hull/dup:case", "config", "layers"))), idB},
		{"config-through-hardlink", "hull/dup:linked", linked, idA},
	}
	for _, c := range cases {
		t.Run(c.label, func(t *testing.T) {
			p := filepath.Join(dir, c.label+".tar")
			writeTarFile(t, p, c.entries)
			d.Docker(t, "load", "-i", p)
			loaded := strings.TrimSpace(d.Docker(t, "image", "inspect", "-f", "{{.Id}}", c.tag))
			if loaded != c.dockerLoads.String() {
				t.Fatalf("docker loaded %s, want %s (A is %s, B %s)", loaded, c.dockerLoads, idA, idB)
			}
			im, err := image.Open(ctx, "docker-archive:"+p, image.Options{})
			if err != nil {
				t.Logf("hull refuses (docker loads %s): %v", loaded, err)
				return
			}
			defer im.Close()
			if im.ID.String() != loaded {
				t.Fatalf("hull shows image %s, docker loads %s", im.ID, loaded)
			}
		})
	}
}

// TestOCIArchiveReadAsPodmanLoadsIt: podman load, the oracle for OCI
// archives, loads the last index.json of an archive holding two; hull
// refuses the archive rather than show the first.
func TestOCIArchiveReadAsPodmanLoadsIt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := twoImages(t)
	lp := filepath.Join(dir, "layout")
	l, err := layout.Write(lp, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range []v1.Image{a, b} {
		if err := l.AppendImage(img); err != nil {
			t.Fatal(err)
		}
	}
	all := readTarFile(t, testenv.TarDir(t, lp))
	p := filepath.Join(dir, "dup.tar")
	named := map[string]string{"org.opencontainers.image.ref.name": "localhost/hull/dup:1"}
	writeTarFile(t, p, append(append(without(all, "index.json"), file("index.json", ociIndex(t, a, named))), file("./index.json", ociIndex(t, b, named))))

	pm := testenv.PodmanEnv(t)
	pm.Run("load", "-i", p)
	loaded := strings.TrimSpace(pm.Run("image", "inspect", "-f", "{{.Id}}", "localhost/hull/dup:1"))
	if idB := configName(t, b); loaded != idB.Hex {
		t.Fatalf("podman loaded %s, want B %s (A is %s)", loaded, idB.Hex, configName(t, a).Hex)
	}
	// An index.json whose "manifests" key repeats (and once in another
	// case): podman takes the last, and so must hull.
	entries := func(b []byte) string {
		var v struct {
			Manifests json.RawMessage `json:"manifests"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		return string(v.Manifests)
	}
	for tag, key := range map[string]string{"keys": "manifests", "case": "Manifests"} {
		idx := strings.NewReplacer("localhost/hull/dup:1", "localhost/hull/dup:"+tag)
		body := `{"schemaVersion":2,"manifests":` + idx.Replace(entries(ociIndex(t, a, named))) + `,"` + key + `":` + idx.Replace(entries(ociIndex(t, b, named))) + `}`
		pk := filepath.Join(dir, "dup-"+tag+".tar")
		writeTarFile(t, pk, append(without(all, "index.json"), file("index.json", []byte(body))))
		pm.Run("load", "-i", pk)
		loaded := strings.TrimSpace(pm.Run("image", "inspect", "-f", "{{.Id}}", "localhost/hull/dup:"+tag))
		if idB := configName(t, b); loaded != idB.Hex {
			t.Fatalf("repeated %q: podman loaded %s, want B %s", key, loaded, idB.Hex)
		}
		im, err := image.Open(ctx, "oci-archive:"+pk, image.Options{})
		if err != nil {
			t.Fatalf("repeated %q: %v", key, err)
		}
		if im.ID.Hex != loaded {
			t.Errorf("repeated %q: hull opened %s, podman loads %s", key, im.ID, loaded)
		}
		im.Close()
	}

	im, err := image.Open(ctx, "oci-archive:"+p, image.Options{})
	if err == nil {
		defer im.Close()
		// Unpacking, hull reads the last copy as podman does; a reader
		// that takes the first match from the tar stream (as
		// go-containerregistry's tarball does) would not.
		t.Fatalf("hull opened the archive as image %s (podman loads %s) instead of refusing it", im.ID, loaded)
	}
	if !errors.Is(err, image.ErrUnsafeArchive) {
		t.Fatalf("want ErrUnsafeArchive, got %v", err)
	}
}

// ociIndex is an index.json naming img alone, with annotations.
func ociIndex(t *testing.T, img v1.Image, annotations map[string]string) []byte {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	n, err := img.Size()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex,
		Manifests: []v1.Descriptor{{MediaType: types.OCIManifestSchema1, Digest: d, Size: n, Annotations: annotations}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
