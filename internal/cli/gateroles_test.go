package cli

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestGateServeTCPRoles: hull gate serve on TCP only, with a policy's
// gate section, in front of a stand-in engine: a client certificate of
// the CA gets its role's operations and is refused the rest, naming
// the role.
func TestGateServeTCPRoles(t *testing.T) {
	dir := t.TempDir()
	engine := filepath.Join(dir, "engine.sock")
	ln, err := net.Listen("unix", engine)
	if err != nil {
		t.Fatal(err)
	}
	eng := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "OK") })}
	go func() { _ = eng.Serve(ln) }()
	t.Cleanup(func() { eng.Close() })
	tlsDir := filepath.Join(dir, "tls")
	f, err := tlsgen.Generate(tlsDir, tlsgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := tlsgen.Client(tlsDir, filepath.Join(dir, "mon"), "monitor-bot", tlsgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "hull.yaml")
	doc := "apiVersion: hull.dev/v1\ngate:\n  roles:\n    - {name: monitor, operations: [ping]}\n  identities:\n    - {cn: monitor-bot, role: monitor}\n"
	if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pl.Addr().String()
	pl.Close()
	stop := startHull(t, "gate", "serve", "--listen-tcp", addr, "--engine", engine, "--policy", pol, "--log", filepath.Join(dir, "log.jsonl"),
		"--tls-cert", f.ServerCert, "--tls-key", f.ServerKey, "--tls-ca", f.CA)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("hull gate serve: %v", err)
		}
	}()
	pair, err := tls.LoadX509KeyPair(cf.Cert, cf.Key)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	caPEM, err := os.ReadFile(cf.CA)
	if err != nil || !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("CA: %v", err)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots}}}
	get := func(path string) (int, string) {
		for i := 0; ; i++ {
			resp, err := c.Get("https://" + addr + path)
			if err != nil {
				if i == 100 {
					t.Fatalf("GET %s: %v", path, err)
				}
				time.Sleep(50 * time.Millisecond)
				continue
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
	}
	if code, body := get("/_ping"); code != 200 || body != "OK" {
		t.Errorf("ping: %d %q", code, body)
	}
	if code, body := get("/info"); code != 403 || !strings.Contains(body, `role monitor (cn \"monitor-bot\"): info is not one of the role's operations (ping)`) {
		t.Errorf("info: %d %q", code, body)
	}
}
