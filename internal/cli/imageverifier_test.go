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

// TestVerifierPathsJudgeAlike: hull verify and the containerd verifier
// judge the same identity under the same rules. containerd asks about
// NAME:TAG pinned to a digest; a simple signature naming another tag of
// that digest must not admit it (matchRepoDigestOrExact), and a host-wide
// insecureAcceptAnything rule must not outrank the signers of a
// namespace below it.
func TestVerifierPathsJudgeAlike(t *testing.T) {
	ctx := context.Background()
	reg := testenv.Registry(t)
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	img := it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("id", "app", 0o644)))
	d, _ := img.Digest()
	for _, ref := range []string{"team/app:v1", "team/app:latest", "team/unsigned:1"} {
		r, _ := name.ParseReference(reg + "/" + ref)
		if err := remote.Write(r, img); err != nil {
			t.Fatal(err)
		}
	}
	key, err := sign.GenerateGPG("release", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sign.WriteGPGKey(key, filepath.Join(dir, "release")); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.SimpleSign(ctx, reg+"/team/app:v1", key, filepath.Join(dir, "sigs"), image.Options{}); err != nil {
		t.Fatal(err)
	}
	// skopeo (containers' reference implementation, through gpgme) signs
	// another image for :v1 only; the same manifest is then tagged :latest.
	src := filepath.Join(dir, "src.tar")
	it.WriteDockerArchive(t, src, "src.local/x:1", it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("id", "skopeo", 0o644))))
	gpg := testenv.GPGKey(t, "skopeo release")
	testenv.SkopeoSignedCopy(t, gpg, "docker-archive:"+src, reg+"/team/by-skopeo:v1", filepath.Join(dir, "sigs"))
	skopeoV1, _ := name.ParseReference(reg + "/team/by-skopeo:v1")
	desc, err := remote.Get(skopeoV1)
	if err != nil {
		t.Fatal(err)
	}
	latest, _ := name.NewTag(reg + "/team/by-skopeo:latest")
	if err := remote.Tag(latest, desc); err != nil {
		t.Fatal(err)
	}
	writePolicy := func(team string) string {
		p := filepath.Join(dir, "hull.yaml")
		doc := fmt.Sprintf(`apiVersion: hull.dev/v1
trust:
  default: reject
  lookaside:
    - {scope: %[1]s, path: sigs}
  rules:
    - {scope: %[1]s, insecureAcceptAnything: true}
    - scope: %[2]s
      signers:
        - name: release
          gpg: {keyring: release.pub, fingerprints: [%[3]s]}
        - name: skopeo
          gpg: {keyring: %[4]s, fingerprints: [%[5]s]}
`, reg, team, key.Primary.FingerprintHex(), gpg.PublicKeyring, gpg.Fingerprint)
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	containerd := func(pol, imageName string, d v1.Hash) int {
		var out bytes.Buffer
		code := RunImageVerifier(ctx, []string{"-name", imageName, "-digest", d.String(), "-stdin-media-type", "application/vnd.oci.descriptor.v1+json"},
			strings.NewReader(`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"`+d.String()+`","size":100}`), &out,
			func(k string) string { return map[string]string{"HULL_POLICY": pol}[k] })
		t.Logf("containerd verifier, %s: exit %d: %s", imageName, code, strings.TrimSpace(out.String()))
		return code
	}

	// A path glob cannot be expressed in containers-policy.json, and hull
	// used to rank it below the host-wide rule: now it is refused.
	glob := writePolicy(reg + "/team/*")
	if out, stderr, code := hull(t, "verify", "--no-cache", "--policy", glob, reg+"/team/unsigned:1"); code != ExitUndecided || !strings.Contains(stderr, `write "`+reg+`/team"`) {
		t.Errorf("hull verify under a path glob: exit %d, want 2 with a hint\n%s%s", code, out, stderr)
	}
	if out, stderr, code := hull(t, "policy", "validate", glob); code != ExitFail || !strings.Contains(stderr, `write "`+reg+`/team"`) {
		t.Errorf("hull policy validate of a path glob: exit %d, want 1 with a hint\n%s%s", code, out, stderr)
	}
	if code := containerd(glob, reg+"/team/unsigned:1", d); code == 0 {
		t.Error("the containerd verifier admits an unsigned image under a path glob policy")
	}

	pol := writePolicy(reg + "/team")
	for _, tc := range []struct {
		ref  string
		d    v1.Hash
		want int
	}{
		{reg + "/team/unsigned:1", d, ExitFail},        // the namespace's signers outrank the host's accept-anything
		{reg + "/team/app:latest", d, ExitFail},        // signed, but for :v1 only
		{reg + "/team/app:v1", d, ExitPass},            // signed for this tag
		{reg + "/team/app@" + d.String(), d, ExitPass}, // a digest needs only the repository
		{reg + "/team/app:latest@" + d.String(), d, ExitFail},
		{reg + "/team/by-skopeo:v1", desc.Digest, ExitPass},
		{reg + "/team/by-skopeo:latest", desc.Digest, ExitFail}, // pinned: the tag is still judged
	} {
		for _, cache := range []string{"--no-cache", "--cache-ttl=1m"} {
			if out, stderr, code := hull(t, "verify", cache, "--policy", pol, tc.ref); code != tc.want {
				t.Errorf("hull verify %s %s: exit %d, want %d\n%s%s", cache, tc.ref, code, tc.want, out, stderr)
			}
		}
		if code := containerd(pol, tc.ref, tc.d); (code == 0) != (tc.want == ExitPass) {
			t.Errorf("containerd verifier -name %s: exit %d, hull verify exits %d", tc.ref, code, tc.want)
		}
	}
}
