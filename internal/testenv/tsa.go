package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TSA is an RFC 3161 time-stamping authority run by `openssl ts -reply`
// (Debian's openssl), with its own root CA and a signing certificate whose
// only extended key usage, critical, is time-stamping. Made by OpenSSLTSA.
type TSA struct {
	// Root is the TSA's root certificate; RootPEM the same as a PEM file.
	Root    *x509.Certificate
	RootPEM string
	// URL answers RFC 3161 requests over HTTP (POST
	// application/timestamp-query) on 127.0.0.1, as notation and cosign
	// ask a TSA.
	URL string

	t   testing.TB
	dir string
	bin string
}

// OpenSSLTSA creates the TSA's certificates in a temporary directory,
// writes openssl's ts configuration and serves it on loopback until the
// test ends. The signing certificate is valid from an hour ago for a day.
func OpenSSLTSA(t testing.TB) *TSA {
	t.Helper()
	bin := lookPath(t, "openssl")
	dir := t.TempDir()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hull test TSA root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}}) // id-kp-timeStamping
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "hull test TSA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, root, &key.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ts := &TSA{Root: root, t: t, dir: dir, bin: bin}
	ts.RootPEM = write("root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}))
	write("tsa.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}))
	write("tsa.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	write("serial", []byte("01\n"))
	write("ts.cnf", []byte(`[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = `+dir+`
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.57264.2
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:500
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(ts.serve), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	ts.URL = "http://" + ln.Addr().String()
	return ts
}

func (ts *TSA) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a timestamp query", http.StatusMethodNotAllowed)
		return
	}
	q, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := ts.reply(q, false)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(resp)
}

// reply runs openssl ts -reply for a DER query; with tokenOnly it returns
// the token (ContentInfo) rather than the whole TimeStampResp.
func (ts *TSA) reply(query []byte, tokenOnly bool) ([]byte, error) {
	dir, err := os.MkdirTemp(ts.dir, "q")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	qf, out := filepath.Join(dir, "q.tsq"), filepath.Join(dir, "r.tsr")
	if err := os.WriteFile(qf, query, 0o600); err != nil {
		return nil, err
	}
	args := []string{"ts", "-reply", "-config", filepath.Join(ts.dir, "ts.cnf"), "-queryfile", qf, "-out", out}
	if tokenOnly {
		args = append(args, "-token_out")
	}
	if _, stderr, err := runErr(nil, ts.bin, args...); err != nil {
		return nil, fmt.Errorf("openssl ts -reply: %w: %s", err, stderr)
	}
	return os.ReadFile(out)
}

// Stamp asks the TSA for a token (ContentInfo, DER) over data, hashed with
// SHA-256, carrying the TSA's certificate.
func (ts *TSA) Stamp(data []byte) []byte {
	ts.t.Helper()
	dir := ts.t.TempDir()
	df, qf := filepath.Join(dir, "data"), filepath.Join(dir, "q.tsq")
	if err := os.WriteFile(df, data, 0o600); err != nil {
		ts.t.Fatal(err)
	}
	run(ts.t, nil, ts.bin, "ts", "-query", "-data", df, "-sha256", "-cert", "-out", qf)
	q, err := os.ReadFile(qf)
	if err != nil {
		ts.t.Fatal(err)
	}
	tok, err := ts.reply(q, true)
	if err != nil {
		ts.t.Fatalf("testenv: %v", err)
	}
	return tok
}
