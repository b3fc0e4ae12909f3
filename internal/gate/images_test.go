package gate

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/verify"
)

// trustEnv is a gate with a trust policy in front of a real dockerd, and
// a loopback registry holding a cosign-signed and an unsigned image of
// the policy's scope reg/team, both removed from the engine again.
type trustEnv struct {
	*gateEnv
	reg, priv, pub   string
	signed, unsigned string
	// signedDigest is signed's repo@sha256:... in the registry.
	signedDigest string
}

// startTrustGate starts a trustEnv; wrap, when set, wraps the verifier
// the gate is given.
func startTrustGate(t *testing.T, wrap func(ImageVerifier) ImageVerifier) *trustEnv {
	t.Helper()
	te := &trustEnv{reg: testenv.Registry(t)}
	te.priv, te.pub = testenv.CosignKeyPair(t)
	pol := filepath.Join(t.TempDir(), "hull.yaml")
	doc := "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: " + te.reg + "/team\n      signers:\n        - {name: ci, cosign: {key: " + te.pub + "}}\n"
	if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := verify.Open(pol, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var iv ImageVerifier = v
	if wrap != nil {
		iv = wrap(v)
	}
	te.gateEnv = startGate(t, iv)
	te.signed, te.unsigned = te.reg+"/team/signed:1", te.reg+"/team/unsigned:1"
	te.d.BusyboxImage(t, te.signed)
	te.d.BusyboxImage(t, te.unsigned)
	for _, ref := range []string{te.signed, te.unsigned} {
		te.d.Docker(t, "push", "-q", ref)
	}
	te.signedDigest = strings.TrimSpace(te.d.Docker(t, "inspect", "--format", "{{index .RepoDigests 0}}", te.signed))
	if err := testenv.CosignSign(t, te.priv, te.signedDigest, false); err != nil {
		t.Fatal(err)
	}
	te.d.Docker(t, "rmi", te.signed, te.unsigned)
	return te
}

// engineDocker runs the docker CLI against dockerd itself, not the gate,
// from any goroutine.
func (e *gateEnv) engineDocker(args ...string) (string, error) {
	cmd := exec.Command("docker", args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir,
		"DOCKER_HOST=unix://" + e.d.Socket, "DOCKER_CONFIG=" + filepath.Join(e.dir, "client")}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// raceVerifier runs race once, the first time it is asked to verify,
// before it verifies: what another client of the engine could do between
// the gate's judgement and the engine's create.
type raceVerifier struct {
	ImageVerifier
	once sync.Once
	race func()
}

func (v *raceVerifier) Verify(ctx context.Context, ref string) (finding.Verdict, error) {
	v.once.Do(v.race)
	return v.ImageVerifier.Verify(ctx, ref)
}

// TestCreatePinnedToVerifiedImage: the unsigned image is tagged with the
// signed image's name on the engine while the gate verifies that name's
// digest; the container is still created from the signed image, the one
// the verdict was about.
func TestCreatePinnedToVerifiedImage(t *testing.T) {
	rv := &raceVerifier{}
	te := startTrustGate(t, func(v ImageVerifier) ImageVerifier { rv.ImageVerifier = v; return rv })
	te.d.Docker(t, "pull", "-q", te.signed)
	te.d.Docker(t, "pull", "-q", te.unsigned)
	id := func(ref string) string {
		return strings.TrimSpace(te.d.Docker(t, "image", "inspect", "--format", "{{.Id}}", ref))
	}
	signedID, unsignedID := id(te.signed), id(te.unsigned)
	if signedID == unsignedID {
		t.Fatalf("the signed and the unsigned image are both %s", signedID)
	}
	var raceErr error
	rv.race = func() {
		var out string
		if out, raceErr = te.engineDocker("tag", te.unsigned, te.signed); raceErr != nil {
			raceErr = errors.New(out)
		}
	}
	out, stderr, err := te.docker("create", "--network", "none", te.signed, "true")
	if err != nil {
		t.Fatalf("docker create %s through the gate: %v\n%s", te.signed, err, stderr)
	}
	if raceErr != nil || id(te.signed) != unsignedID {
		t.Fatalf("the re-tag during the verification did not happen: %v", raceErr)
	}
	got := strings.TrimSpace(te.d.Docker(t, "container", "inspect", "--format", "{{.Image}}", strings.TrimSpace(out)))
	if got != signedID {
		t.Errorf("the container was created from %s, want the verified image %s (the unsigned one is %s)", got, signedID, unsignedID)
	}
}
