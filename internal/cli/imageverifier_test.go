package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/image"
	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/sign"
	"github.com/hull-sec/hull/internal/testenv"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestImageVerifierProtocol runs hull the way containerd 2.x runs a
// bindir image verifier: a link named hull-image-verifier, the flags
// -name, -digest and -stdin-media-type, the descriptor on stdin.
func TestImageVerifierProtocol(t *testing.T) {
	ctx := context.Background()
	reg := testenv.Registry(t)
	dir := t.TempDir()
	// Build before moving XDG_CACHE_HOME: Go's build cache lives there.
	bin := filepath.Join(dir, "bin")
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "hull"), "github.com/hull-sec/hull/cmd/hull")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if err := os.Symlink("hull", filepath.Join(bin, ImageVerifierName)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	digests := map[string]string{}
	for _, repo := range []string{"team/signed", "team/unsigned"} {
		img := it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("id", repo, 0o644)))
		ref, _ := name.ParseReference(reg + "/" + repo + ":1")
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		digests[repo] = d.String()
	}
	key, err := sign.GenerateCosign()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sign.WriteCosignKey(key, filepath.Join(dir, "ci")); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.CosignSign(ctx, reg+"/team/signed:1", key, false, image.Options{}); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "hull.yaml")
	doc := fmt.Sprintf("apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: %s/team\n      signers:\n        - {name: ci, cosign: {key: ci.pub}}\n", reg)
	if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string { return map[string]string{"HULL_POLICY": pol}[k] }
	run := func(repo, digest, stdin string) (int, string) {
		var out bytes.Buffer
		code := RunImageVerifier(ctx, []string{"-name", reg + "/" + repo, "-digest", digest, "-stdin-media-type", "application/vnd.oci.descriptor.v1+json"},
			strings.NewReader(stdin), &out, env)
		return code, out.String()
	}
	desc := func(d string) string {
		return `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d + `","size":100}`
	}
	if code, out := run("team/signed", digests["team/signed"], desc(digests["team/signed"])); code != 0 || !strings.Contains(out, "accepted") {
		t.Errorf("signed image: exit %d %q", code, out)
	}
	if code, out := run("team/unsigned", digests["team/unsigned"], desc(digests["team/unsigned"])); code == 0 || !strings.Contains(out, "refusing") {
		t.Errorf("unsigned image: exit %d %q", code, out)
	}
	if code, out := run("team/signed", digests["team/signed"], desc(digests["team/unsigned"])); code == 0 || !strings.Contains(out, "descriptor on stdin") {
		t.Errorf("descriptor for another digest: exit %d %q", code, out)
	}
	env = func(string) string { return filepath.Join(dir, "absent.yaml") }
	if code, out := run("team/signed", digests["team/signed"], ""); code == 0 || !strings.Contains(out, "refusing") {
		t.Errorf("no policy must fail closed: exit %d %q", code, out)
	}

	// The real binary, linked under the verifier's name, as containerd runs it.
	cmd := exec.Command(filepath.Join(bin, ImageVerifierName), "-name", reg+"/team/signed", "-digest", digests["team/signed"], "-stdin-media-type", "application/vnd.oci.descriptor.v1+json")
	cmd.Stdin = strings.NewReader(desc(digests["team/signed"]))
	cmd.Env = append(os.Environ(), "HULL_POLICY="+pol, "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "accepted") {
		t.Errorf("%s as containerd runs it: %v %q", ImageVerifierName, err, out)
	}
}
