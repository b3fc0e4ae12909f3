package image_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/testenv"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// platformIndex is an index of A and B for this machine's architecture
// with the variants given ("" for none).
func platformIndex(a, b v1.Image, variantA, variantB string) v1.ImageIndex {
	p := func(variant string) *v1.Platform {
		return &v1.Platform{OS: "linux", Architecture: runtime.GOARCH, Variant: variant}
	}
	return mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: a, Descriptor: v1.Descriptor{Platform: p(variantA)}},
		mutate.IndexAddendum{Add: b, Descriptor: v1.Descriptor{Platform: p(variantB)}})
}

// TestPlatformChoiceIsTheEngines: out of an index offering this machine's
// architecture with a variant (A) and without (B), podman loads and pulls
// B; hull took the first that satisfied linux/ARCH, A, and so judged
// another image than the engine runs. Two variants and no plain entry
// leave the choice to each engine's reading of the CPU: hull refuses,
// and takes the one --platform names.
func TestPlatformChoiceIsTheEngines(t *testing.T) {
	ctx := context.Background()
	a, b := twoImages(t)
	idB := configName(t, b)
	dir := t.TempDir()
	pm := testenv.PodmanEnv(t)

	// An OCI archive, loaded by podman.
	lp := filepath.Join(dir, "layout")
	l, err := layout.Write(lp, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.AppendIndex(platformIndex(a, b, "v3", ""), layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "localhost/hull/plat:1"})); err != nil {
		t.Fatal(err)
	}
	archive := testenv.TarDir(t, lp)
	pm.Run("load", "-i", archive)
	if got := strings.TrimSpace(pm.Run("image", "inspect", "-f", "{{.Id}}", "localhost/hull/plat:1")); got != idB.Hex {
		t.Fatalf("podman loaded %s, want B %s", got, idB.Hex)
	}

	// A registry, pulled by podman.
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	for tag, idx := range map[string]v1.ImageIndex{"plain": platformIndex(a, b, "v3", ""), "variants": platformIndex(a, b, "v2", "v3")} {
		ref, err := name.ParseReference(host + "/hull/plat:" + tag)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.WriteIndex(ref, idx); err != nil {
			t.Fatal(err)
		}
	}
	pm.Run("pull", "--tls-verify=false", host+"/hull/plat:plain")
	if got := strings.TrimSpace(pm.Run("image", "inspect", "-f", "{{.Id}}", host+"/hull/plat:plain")); got != idB.Hex {
		t.Fatalf("podman pulled %s, want B %s", got, idB.Hex)
	}

	for _, ref := range []string{"oci-archive:" + archive, host + "/hull/plat:plain"} {
		im, err := image.Open(ctx, ref, image.Options{})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if im.ID != idB {
			t.Errorf("%s: hull opened %s, the engine runs B %s", ref, im.ID, idB)
		}
		im.Close()
	}

	_, err = image.Open(ctx, host+"/hull/plat:variants", image.Options{})
	if err == nil || !strings.Contains(err.Error(), "offers 2 images for platform linux/"+runtime.GOARCH+" (linux/"+runtime.GOARCH+"/v2, linux/"+runtime.GOARCH+"/v3) and none without a variant; name one with --platform") {
		t.Fatalf("two variants: got %v, want a refusal", err)
	}
	im, err := image.Open(ctx, host+"/hull/plat:variants", image.Options{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH, Variant: "v3"}})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	if im.ID != idB {
		t.Errorf("--platform linux/%s/v3: opened %s, want B %s", runtime.GOARCH, im.ID, idB)
	}
	_, err = image.Open(ctx, host+"/hull/plat:plain", image.Options{Platform: &v1.Platform{OS: "linux", Architecture: "s390x"}})
	if !errors.Is(err, image.ErrPlatform) || !strings.Contains(err.Error(), "no image for the platform linux/s390x: the image has linux/"+runtime.GOARCH+", linux/"+runtime.GOARCH+"/v3") {
		t.Fatalf("a platform the index lacks: got %v", err)
	}
}
