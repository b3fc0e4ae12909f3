package tlsgen_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/tlsgen"
)

func readCert(t *testing.T, p string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A host a certificate cannot name is refused before anything is
// written: a space, a port, a scheme.
func TestGenerateRefusesBadHosts(t *testing.T) {
	for _, h := range []string{"bad host", "docker.example.com:2376", "tcp://docker.example.com", "-x.example.com", "a..b"} {
		dir := filepath.Join(t.TempDir(), "certs")
		if _, err := tlsgen.Generate(dir, tlsgen.Options{Hosts: []string{h}}); err == nil || !strings.Contains(err.Error(), "neither an IP address nor a DNS name") {
			t.Errorf("host %q: %v", h, err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("host %q: %s written", h, dir)
		}
	}
	if _, err := tlsgen.Generate(filepath.Join(t.TempDir(), "certs"), tlsgen.Options{Hosts: []string{"Engine-1.internal", "::1", "10.0.0.5"}}); err != nil {
		t.Errorf("good hosts: %v", err)
	}
}

func TestGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	f, err := tlsgen.Generate(dir, tlsgen.Options{Hosts: []string{"docker.example.com", "10.0.0.5"}})
	if err != nil {
		t.Fatal(err)
	}
	ca, srv, cli := readCert(t, f.CA), readCert(t, f.ServerCert), readCert(t, f.ClientCert)
	if !ca.IsCA || ca.MaxPathLen != 0 || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA: %+v", ca)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := srv.Verify(x509.VerifyOptions{Roots: roots, DNSName: "docker.example.com", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("server certificate: %v", err)
	}
	if _, err := srv.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("the server certificate is good for client auth")
	}
	if _, err := cli.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if !slices.Contains(srv.DNSNames, "localhost") || !slices.ContainsFunc(srv.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.ParseIP("10.0.0.5")) }) {
		t.Errorf("SANs: %v %v", srv.DNSNames, srv.IPAddresses)
	}
	for _, c := range []*x509.Certificate{ca, srv, cli} {
		pub, ok := c.PublicKey.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			t.Errorf("%s: key %T", c.Subject, c.PublicKey)
		}
		if d := c.NotAfter.Sub(c.NotBefore); d < 364*24*time.Hour || d > 366*24*time.Hour {
			t.Errorf("%s: valid for %v", c.Subject, d)
		}
	}
	for p, want := range map[string]os.FileMode{f.CAKey: 0o600, f.ServerKey: 0o600, f.ClientKey: 0o600, f.CA: 0o644, dir: 0o700} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v (%v)", p, fi.Mode().Perm(), want, err)
		}
	}
	if _, err := tlsgen.Generate(dir, tlsgen.Options{}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a second run overwrote: %v", err)
	}
	if _, err := tlsgen.Generate(t.TempDir(), tlsgen.Options{Days: 100000}); err == nil {
		t.Error("a 270-year certificate was made")
	}
}

// A real dockerd started with the certificates takes a client that shows
// the client certificate and refuses one that shows none or another CA's.
func TestDockerdMutualTLS(t *testing.T) {
	dir := t.TempDir()
	f, err := tlsgen.Generate(dir, tlsgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreeLoopbackAddr(t)
	testenv.StartDockerd(t, "-H", "tcp://"+addr, "--tlsverify", "--tlscacert", f.CA, "--tlscert", f.ServerCert, "--tlskey", f.ServerKey)

	roots := x509.NewCertPool()
	caPEM, _ := os.ReadFile(f.CA)
	roots.AppendCertsFromPEM(caPEM)
	ping := func(certs []tls.Certificate) error {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs, MinVersion: tls.VersionTLS12}}}
		resp, err := c.Get("https://" + addr + "/_ping")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /_ping: %s", resp.Status)
		}
		return nil
	}
	cert, err := tls.LoadX509KeyPair(f.ClientCert, f.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := ping([]tls.Certificate{cert}); err != nil {
		t.Fatalf("the client certificate is refused: %v", err)
	}
	if err := ping(nil); err == nil {
		t.Error("dockerd answered a client without a certificate")
	}
	// The docker CLI finds the files by the names it expects.
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatal("the docker CLI is needed: apt-get install -y docker.io")
	}
	cmd := exec.Command(docker, "version", "--format", "{{.Server.Version}}")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "DOCKER_HOST=tcp://" + addr, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + dir}
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) == "" {
		t.Errorf("docker version with DOCKER_CERT_PATH: %v\n%s", err, out)
	}
	other, err := tlsgen.Generate(t.TempDir(), tlsgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := tls.LoadX509KeyPair(other.ClientCert, other.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := ping([]tls.Certificate{stranger}); err == nil {
		t.Error("dockerd answered a client certificate of another CA")
	}
}
