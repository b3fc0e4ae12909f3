package tlsgen_test

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/tlsgen"
)

func TestClient(t *testing.T) {
	dir := t.TempDir()
	ca, err := tlsgen.Generate(filepath.Join(dir, "ca"), tlsgen.Options{Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	f, err := tlsgen.Client(filepath.Join(dir, "ca"), filepath.Join(dir, "ci"), "ci-runner", tlsgen.Options{Days: 3650})
	if err != nil {
		t.Fatal(err)
	}
	c, root := readCert(t, f.Cert), readCert(t, ca.CA)
	roots := x509.NewCertPool()
	roots.AddCert(root)
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("the client certificate is good for server auth")
	}
	if c.Subject.CommonName != "ci-runner" || c.NotAfter.After(root.NotAfter) {
		t.Errorf("cn %q, not after %v (CA %v)", c.Subject.CommonName, c.NotAfter, root.NotAfter)
	}
	if !readCert(t, f.CA).Equal(root) {
		t.Error("ca.pem is not the CA's certificate")
	}
	if fi, err := os.Stat(f.Key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode: %v %v", fi, err)
	}
	if _, err := tlsgen.Client(filepath.Join(dir, "ca"), filepath.Join(dir, "ci"), "other", tlsgen.Options{}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("overwrite: %v", err)
	}
	for _, cn := range []string{"", " ci", "ci\n", strings.Repeat("x", 65)} {
		if _, err := tlsgen.Client(filepath.Join(dir, "ca"), filepath.Join(dir, "bad"), cn, tlsgen.Options{}); err == nil || !strings.Contains(err.Error(), "common name") {
			t.Errorf("cn %q: %v", cn, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bad")); !os.IsNotExist(err) {
		t.Error("a refused common name wrote files")
	}
	// A CA directory whose key is not the CA's, one without a key, and
	// an expired CA.
	other, err := tlsgen.Generate(filepath.Join(dir, "other"), tlsgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other.CAKey, ca.CAKey); err != nil {
		t.Fatal(err)
	}
	if _, err := tlsgen.Client(filepath.Join(dir, "ca"), filepath.Join(dir, "x"), "x", tlsgen.Options{}); err == nil || !strings.Contains(err.Error(), "is not the key of") {
		t.Errorf("mismatched key: %v", err)
	}
	if _, err := tlsgen.Client(filepath.Join(dir, "other"), filepath.Join(dir, "x"), "x", tlsgen.Options{}); err == nil || !strings.Contains(err.Error(), "read the CA key") {
		t.Errorf("no key: %v", err)
	}
	old := filepath.Join(dir, "old")
	if _, err := tlsgen.Generate(old, tlsgen.Options{Days: 1, Now: func() time.Time { return time.Now().Add(-48 * time.Hour) }}); err != nil {
		t.Fatal(err)
	}
	if _, err := tlsgen.Client(old, filepath.Join(dir, "x"), "x", tlsgen.Options{}); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired CA: %v", err)
	}
}
