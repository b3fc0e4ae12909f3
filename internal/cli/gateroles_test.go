package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/tlsgen"
)

// TestGateServeTCPNeedsClientCertificates: there is no TCP listener
// without the server certificate, its key and a CA that signs clients'
// certificates, and nothing listens when one is wrong.
func TestGateServeTCPNeedsClientCertificates(t *testing.T) {
	dir := t.TempDir()
	f, err := tlsgen.Generate(filepath.Join(dir, "tls"), tlsgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen-tcp", "127.0.0.1:0"}, "tls-ca tls-cert tls-key"},
		{[]string{"--listen-tcp", "127.0.0.1:0", "--tls-cert", f.ServerCert, "--tls-key", f.ServerKey}, "tls-ca"},
		{[]string{"--listen-tcp", "127.0.0.1:0", "--tls-cert", f.ServerCert, "--tls-key", f.ServerKey, "--tls-ca", f.ServerKey}, "holds no PEM certificate"},
		{[]string{"--listen-tcp", "127.0.0.1:0", "--tls-cert", f.ClientCert, "--tls-key", f.ServerKey, "--tls-ca", f.CA}, "the server certificate"},
		{[]string{"--engine", filepath.Join(dir, "none.sock")}, "listen listen-tcp"},
	} {
		_, stderr, code := hull(t, append([]string{"gate", "serve"}, tc.args...)...)
		if code != ExitUndecided || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %s; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestGateRolesOperationNames: an operation a role names that the gate
// does not have is an error of hull policy validate (exit 1) and of hull
// gate serve (exit 2), naming where it is; the help lists the names.
func TestGateRolesOperationNames(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "hull.yaml")
	doc := "apiVersion: hull.dev/v1\ngate:\n  roles:\n    - {name: ci, operations: [ping, \"contianer *\"]}\n    - {name: monitor, readOnly: true}\n" +
		"  identities:\n    - {cn: ci-runner, role: ci}\n  default: monitor\n"
	if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	want := `gate.roles[0].operations[1]: "contianer *" names no operation of the gate`
	if _, stderr, code := hull(t, "policy", "validate", pol); code != ExitFail || !strings.Contains(stderr, want) {
		t.Errorf("validate: exit %d, %s", code, stderr)
	}
	if _, stderr, code := hull(t, "gate", "serve", "--listen", filepath.Join(dir, "g.sock"), "--policy", pol); code != ExitUndecided || !strings.Contains(stderr, want) {
		t.Errorf("serve: exit %d, %s", code, stderr)
	}
	if err := os.WriteFile(pol, []byte(strings.Replace(doc, "contianer", "container", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := hull(t, "policy", "validate", pol); code != ExitPass {
		t.Errorf("validate a good gate section: exit %d, %s %s", code, out, stderr)
	}
	out, _, _ := hull(t, "gate", "serve", "--help")
	for _, w := range []string{"container create,", "image inspect", "--listen-tcp", "identities:"} {
		if !strings.Contains(out, w) {
			t.Errorf("gate serve --help does not teach %q", w)
		}
	}
}

// TestTLSClient: hull tls client signs a certificate for a common name
// with hull tls init's CA, and refuses a bad name or an existing file.
func TestTLSClient(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca")
	if _, stderr, code := hull(t, "tls", "init", "--out", ca); code != ExitPass {
		t.Fatalf("tls init: %d %s", code, stderr)
	}
	out, stderr, code := hull(t, "tls", "client", "--ca", ca, "--cn", "ci-runner", "--out", filepath.Join(dir, "ci"))
	if code != ExitPass || !strings.Contains(out, `(client "ci-runner")`) {
		t.Fatalf("tls client: %d %s %s", code, out, stderr)
	}
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		if _, err := os.Stat(filepath.Join(dir, "ci", f)); err != nil {
			t.Error(err)
		}
	}
	for _, args := range [][]string{{"--cn", "ci-runner", "--out", filepath.Join(dir, "ci")}, {"--cn", " ", "--out", filepath.Join(dir, "x")}} {
		if _, stderr, code := hull(t, append([]string{"tls", "client", "--ca", ca}, args...)...); code != ExitUndecided {
			t.Errorf("%v: exit %d %s", args, code, stderr)
		}
	}
}
