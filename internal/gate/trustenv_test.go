package gate

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/verify"
)

// startCredentialGate starts a gate in front of a real dockerd with a
// trust policy wanting a cosign key for reg/team, where reg is a loopback
// registry that wants the login ci/s3cret. It holds the unsigned
// reg/team/app:1, pushed by the engine and removed from it again; the
// docker CLI through the gate has no credentials until clientLogin.
func startCredentialGate(t *testing.T) (e *gateEnv, reg string) {
	t.Helper()
	reg = testenv.RegistryWithAuth(t, "ci", "s3cret")
	_, pub := testenv.CosignKeyPair(t)
	v := openPolicy(t, "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: "+reg+"/team\n      signers:\n        - {name: ci, cosign: {key: "+pub+"}}\n")
	e = startGate(t, v)
	ref := reg + "/team/app:1"
	e.d.BusyboxImage(t, ref)
	e.d.Docker(t, "login", "-u", "ci", "-p", "s3cret", reg)
	e.d.Docker(t, "push", "-q", ref)
	e.d.Docker(t, "rmi", ref)
	return e, reg
}

// clientLogin gives the docker CLI through the gate the login ci/s3cret
// for reg, as docker login would store it.
func (e *gateEnv) clientLogin(t *testing.T, reg string) {
	t.Helper()
	cfg := `{"auths":{"` + reg + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("ci:s3cret")) + `"}}}`
	if err := os.MkdirAll(filepath.Join(e.dir, "client"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "client", "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// openPolicy writes the policy file doc and opens it as the gate's
// verifier.
func openPolicy(t *testing.T, doc string) *verify.Verifier {
	t.Helper()
	pol := filepath.Join(t.TempDir(), "hull.yaml")
	if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := verify.Open(pol, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}
