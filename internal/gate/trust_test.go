package gate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/verify"
)

// TestTrustThroughGate: with a trust policy that wants a cosign key for
// a loopback registry's team/ scope, the real docker CLI through the gate
// pulls and runs the signed image; the unsigned image of the same scope,
// the signed image re-tagged to another repository and the signed image
// after docker save and load (no registry digest) are refused with
// hull's reason, and none of those creates reaches dockerd.
func TestTrustThroughGate(t *testing.T) {
	reg := testenv.Registry(t)
	priv, pub := testenv.CosignKeyPair(t)
	dir := t.TempDir()
	pol := filepath.Join(dir, "hull.yaml")
	doc := "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: " + reg + "/team\n      signers:\n        - {name: ci, cosign: {key: " + pub + "}}\n"
	if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := verify.Open(pol, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := startGate(t, v)
	signed, unsigned := reg+"/team/signed:1", reg+"/team/unsigned:1"
	e.d.BusyboxImage(t, signed)
	e.d.BusyboxImage(t, unsigned)
	for _, ref := range []string{signed, unsigned} {
		e.d.Docker(t, "push", "-q", ref)
	}
	digest := strings.TrimSpace(e.d.Docker(t, "inspect", "--format", "{{index .RepoDigests 0}}", signed))
	if err := testenv.CosignSign(t, priv, digest, false); err != nil {
		t.Fatal(err)
	}
	e.d.Docker(t, "rmi", signed, unsigned)

	for _, ref := range []string{signed, unsigned} {
		if _, stderr, err := e.docker("pull", "-q", ref); err != nil {
			t.Fatalf("docker pull %s through the gate: %v\n%s", ref, err, stderr)
		}
	}
	out, stderr, err := e.docker("run", "--rm", "--network", "none", signed, "echo", "signed runs")
	if err != nil || out != "signed runs\n" {
		t.Fatalf("docker run %s: %v %q\n%s\ndockerd: %v", signed, err, out, stderr, e.calls())
	}

	e.d.Docker(t, "tag", signed, "x/unsigned:1")
	refused := func(ref, want string) {
		t.Helper()
		before := creates(e.calls())
		_, stderr, err := e.docker("run", "--rm", "--network", "none", ref, "true")
		if err == nil || !strings.Contains(stderr, "hull gate: container create: ") || !strings.Contains(stderr, want) {
			t.Errorf("docker run %s: %v, stderr %q, want hull's refusal saying %q", ref, err, stderr, want)
		}
		if after := creates(e.calls()); after != before {
			t.Errorf("docker run %s reached dockerd's containers/create", ref)
		}
	}
	refused(unsigned, "the trust policy rejects "+unsigned+": "+reg+"/team/unsigned@sha256:")
	refused("x/unsigned:1", "has no registry digest in docker.io/x/unsigned, so no verified origin: no rule covers docker.io/x/unsigned and trust.default rejects")

	tarball := filepath.Join(dir, "signed.tar")
	e.d.Docker(t, "save", "-o", tarball, signed)
	e.d.Docker(t, "rmi", signed, "x/unsigned:1")
	e.d.Docker(t, "load", "-q", "-i", tarball)
	refused(signed, "has no registry digest in "+reg+"/team/signed, so no verified origin: rule "+reg+"/team requires signatures")
}
