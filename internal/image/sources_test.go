package image_test

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/image"
	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/testenv"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// fixture is an image that exercises what a merge can get wrong:
// whiteouts, an opaque directory, a symlink over a directory, hardlinks,
// setuid bits, capabilities in PAX xattrs, odd owners.
func fixture(t *testing.T) v1.Image {
	l0 := it.Layer(t,
		it.Dir("bin/", 0o755), it.File("bin/sh", "#!shell", 0o755), it.File("bin/su", "su", 0o4755),
		it.Dir("etc/", 0o755), it.File("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0o644), it.File("etc/old.conf", "old", 0o644),
		it.Dir("opt/", 0o755), it.Dir("opt/cfg/", 0o755), it.File("opt/cfg/a", "a", 0o644), it.File("opt/cfg/b", "b", 0o644),
		it.Dir("lib/", 0o755), it.Dir("lib/mods/", 0o755), it.File("lib/mods/m", "m", 0o644),
		it.Entry{Name: "bin/ping", Body: "ping", Mode: 0o755, PAX: map[string]string{"SCHILY.xattr.security.capability": "\x00\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"}},
	)
	l1 := it.Layer(t,
		it.Dir("etc/", 0o755), it.File("etc/.wh.old.conf", "", 0o644), it.File("etc/new.conf", "new", 0o600),
		it.Dir("opt/cfg/", 0o750), it.File("opt/cfg/.wh..wh..opq", "", 0o644), it.File("opt/cfg/c", "c", 0o644),
		it.Symlink("lib/mods", "/usr/lib/mods"),
		it.Dir("home/", 0o755), it.Dir("home/app/", 0o700), it.Entry{Name: "home/app/data", Body: "d", Mode: 0o640, UID: 1000, GID: 1000},
		it.Entry{Name: "home/app/data-link", Type: tar.TypeLink, Link: "home/app/data"},
	)
	l2 := it.Layer(t, it.Dir("tmp/", 0o1777), it.File("etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n", 0o644))
	return it.Image(t, v1.Config{User: "1000", Env: []string{"PATH=/bin"}, Cmd: []string{"/bin/sh"}},
		[]string{"ADD rootfs.tar / # buildkit", "RUN configure # buildkit", "RUN adduser app # buildkit"}, l0, l1, l2)
}

// entryLine describes a merged entry fully, for exact comparison.
func entryLine(f *image.File) string {
	h := f.Header
	return fmt.Sprintf("%s %c %o %d:%d %d %s %q", f.Path, h.Typeflag, h.Mode&0o7777, h.Uid, h.Gid, h.Size, h.Linkname, h.PAXRecords["SCHILY.xattr.security.capability"])
}

// kindLine is what survives extraction to a directory: path, kind, link.
func kindLine(f *image.File) string {
	kind := f.Header.Typeflag
	switch kind {
	case tar.TypeLink:
		kind = tar.TypeReg
	}
	link := ""
	if kind == tar.TypeSymlink {
		link = f.Header.Linkname
	}
	return fmt.Sprintf("%s %c %s", f.Path, kind, link)
}

func listing(t *testing.T, im *image.Image, line func(*image.File) string) []string {
	t.Helper()
	var out []string
	if err := im.Walk(context.Background(), func(f *image.File) error {
		out = append(out, line(f))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func push(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

// TestEverySourceOpensTheSameImage is the bar of the image package: the
// same image reached through every source has the same image ID and the
// same merged file list. Archives and layouts come from podman and skopeo,
// the daemon sources through podman's Docker-compatible API socket.
func TestEverySourceOpensTheSameImage(t *testing.T) {
	ctx := context.Background()
	img := fixture(t)
	wantID, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	archive := filepath.Join(dir, "ggcr.tar")
	const tag = "localhost/hull/fixture:1.0"
	it.WriteDockerArchive(t, archive, tag, img)

	ggcrReg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(ggcrReg.Close)
	ggcrRef := strings.TrimPrefix(ggcrReg.URL, "http://") + "/hull/fixture:1.0"
	push(t, ggcrRef, img)
	distRef := testenv.Registry(t) + "/hull/fixture:1.0"
	push(t, distRef, img)

	pm := testenv.PodmanEnv(t)
	pm.Run("pull", "--tls-verify=false", distRef)
	pm.Run("tag", distRef, tag)
	podmanDocker := filepath.Join(dir, "podman-docker.tar")
	podmanOCI := filepath.Join(dir, "podman-oci.tar")
	pm.Run("save", "--format", "docker-archive", "-o", podmanDocker, tag)
	pm.Run("save", "--format", "oci-archive", "-o", podmanOCI, tag)
	layoutDir := filepath.Join(dir, "layout")
	testenv.Skopeo(t, "copy", "--src-tls-verify=false", "docker://"+distRef, "oci:"+layoutDir+":1.0")
	sock := pm.Socket()

	rootfs := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	flat := mutate.Extract(img) // go-containerregistry's own merge, as an oracle
	err = image.Extract(ctx, flat, rootfs, image.ExtractOptions{AbsoluteSymlinksUnsafe: true})
	flat.Close()
	if err != nil {
		t.Fatal(err)
	}

	sources := []struct {
		label, ref string
		env        map[string]string
	}{
		{label: "docker-archive-ggcr", ref: "docker-archive:" + archive},
		{label: "registry-ggcr", ref: ggcrRef},
		{label: "registry-distribution", ref: "docker://" + distRef},
		{label: "docker-archive-podman-save", ref: "docker-archive:" + podmanDocker},
		{label: "oci-archive-podman-save", ref: "oci-archive:" + podmanOCI},
		{label: "oci-skopeo-copy", ref: "oci:" + layoutDir + ":1.0"},
		{label: "docker-daemon-podman-api", ref: "docker-daemon:" + tag, env: map[string]string{"DOCKER_HOST": "unix://" + sock}},
		{label: "podman-api", ref: "podman:" + tag, env: map[string]string{"CONTAINER_HOST": "unix://" + sock}},
	}
	var wantFull, wantKinds []string
	for _, src := range sources {
		t.Run(src.label, func(t *testing.T) {
			im, err := image.Open(ctx, src.ref, image.Options{Getenv: func(k string) string { return src.env[k] }})
			if err != nil {
				t.Fatal(err)
			}
			defer im.Close()
			if im.ID != wantID {
				t.Errorf("image ID %s, want %s", im.ID, wantID)
			}
			if im.Tag != "1.0" {
				t.Errorf("tag %q, want 1.0", im.Tag)
			}
			full, kinds := listing(t, im, entryLine), listing(t, im, kindLine)
			if wantFull == nil {
				wantFull, wantKinds = full, kinds
				if len(full) < 15 {
					t.Fatalf("fixture lists only %d entries: %q", len(full), full)
				}
				return
			}
			if !slices.Equal(full, wantFull) {
				t.Errorf("merged list differs from docker-archive's\n got %q\nwant %q", full, wantFull)
			}
		})
	}
	t.Run("daemon-missing-image", func(t *testing.T) {
		_, err := image.Open(ctx, "podman:localhost/hull/absent:1", image.Options{Getenv: func(k string) string {
			return map[string]string{"CONTAINER_HOST": "unix://" + sock}[k]
		}})
		if !errors.Is(err, image.ErrNotFound) {
			t.Fatalf("want ErrNotFound, got %v", err)
		}
	})
	t.Run("dir", func(t *testing.T) {
		im, err := image.Open(ctx, "dir:"+rootfs, image.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer im.Close()
		if got := listing(t, im, kindLine); !slices.Equal(got, wantKinds) {
			t.Errorf("dir: listing differs from the image's (and from go-containerregistry's merge)\n got %q\nwant %q", got, wantKinds)
		}
	})
}
