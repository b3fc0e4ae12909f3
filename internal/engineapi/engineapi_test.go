package engineapi

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/tlsgen"
)

func TestDefaultSockets(t *testing.T) {
	env := func(k string) string { return map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}[k] }
	if got := DefaultSockets(false, env); !slices.Equal(got, []string{"/var/run/docker.sock", "/run/user/1000/docker.sock"}) {
		t.Errorf("docker: %v", got)
	}
	if got := DefaultSockets(true, env); !slices.Equal(got, []string{"/run/user/1000/podman/podman.sock", "/run/podman/podman.sock"}) {
		t.Errorf("podman: %v", got)
	}
	if got := DefaultSockets(false, func(string) string { return "" }); !slices.Equal(got, []string{"/var/run/docker.sock"}) {
		t.Errorf("docker without XDG_RUNTIME_DIR: %v", got)
	}
}

func TestUnixClient(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "engine.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "OK "+r.URL.Path) })}
	go srv.Serve(ln)
	defer srv.Close()
	resp, err := UnixClient(sock).Get("http://engine/_ping")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "OK /_ping" {
		t.Errorf("answer %q", b)
	}
}

// TestClientTLS: the material hull tls init writes makes a client that a
// server with its own CA and client verification lets in.
func TestClientTLS(t *testing.T) {
	dir := t.TempDir()
	if _, err := tlsgen.Generate(dir, tlsgen.Options{}); err != nil {
		t.Fatal(err)
	}
	read := func(n string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cfg, err := ClientTLS(read("ca.pem"), read("cert.pem"), read("key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	srvCert, err := tls.X509KeyPair(read("server-cert.pem"), read("server-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	clients := x509.NewCertPool()
	clients.AppendCertsFromPEM(read("ca.pem"))
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientCAs: clients, ClientAuth: tls.RequireAndVerifyClientCert})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "OK") })}
	go srv.Serve(ln)
	defer srv.Close()
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}).Get("https://" + ln.Addr().String() + "/_ping")
	if err != nil {
		t.Fatalf("mutual TLS with hull tls init's material: %v", err)
	}
	resp.Body.Close()
	if _, err := ClientTLS([]byte("no pem"), read("cert.pem"), read("key.pem")); err == nil || !strings.Contains(err.Error(), "ca.pem") {
		t.Errorf("bad CA: %v", err)
	}
	if _, err := ClientTLS(read("ca.pem"), read("cert.pem"), read("ca.pem")); err == nil {
		t.Error("a certificate as the key was accepted")
	}
}
