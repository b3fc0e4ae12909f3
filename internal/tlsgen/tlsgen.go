// Package tlsgen makes the certificates a Docker or Podman engine needs
// to take API clients over TCP only with mutual TLS: a CA, a server
// certificate for the engine's names and addresses, and a client
// certificate, all ECDSA P-256, written with the file names Docker's
// documentation and the docker CLI use (ca.pem, server-cert.pem,
// server-key.pem, cert.pem, key.pem), private keys 0600.
//
// Data flow: Generate makes the keys, signs the certificates and writes
// them into a directory that must not already hold any of them (an
// existing CA is never overwritten); Client signs one more client
// certificate, for a common name, with that CA (hull gate gives roles
// by it). Nothing here talks to an engine.
package tlsgen

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hull-sec/hull/internal/safefile"
)

// The files Generate writes, as dockerd and the docker CLI name them.
const (
	CAFile         = "ca.pem"
	CAKeyFile      = "ca-key.pem"
	ServerCertFile = "server-cert.pem"
	ServerKeyFile  = "server-key.pem"
	ClientCertFile = "cert.pem"
	ClientKeyFile  = "key.pem"
)

// Options say what to certify.
type Options struct {
	// Hosts are the names and IP addresses clients reach the engine by;
	// each goes in the server certificate's subject alternative names.
	// localhost and 127.0.0.1 are always added.
	Hosts []string
	// Days the certificates are valid; default 365. The CA gets as long.
	Days int
	// Now is the start of validity; default time.Now.
	Now func() time.Time
}

// Files are the paths Generate wrote.
type Files struct {
	CA, CAKey, ServerCert, ServerKey, ClientCert, ClientKey string
}

// hostName is a DNS name a certificate can carry: dot-separated labels of
// letters, digits and inner hyphens.
var hostName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
})

// Generate writes a CA, a server and a client certificate into dir
// (created 0700 if missing). It refuses to overwrite any of its files.
func Generate(dir string, o Options) (Files, error) {
	if o.Days <= 0 {
		o.Days = 365
	}
	if o.Days > 3650 {
		return Files{}, fmt.Errorf("validity of %d days: at most 3650", o.Days)
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	start := now().Add(-5 * time.Minute).UTC()
	end := start.Add(time.Duration(o.Days) * 24 * time.Hour)
	f := Files{
		CA: filepath.Join(dir, CAFile), CAKey: filepath.Join(dir, CAKeyFile),
		ServerCert: filepath.Join(dir, ServerCertFile), ServerKey: filepath.Join(dir, ServerKeyFile),
		ClientCert: filepath.Join(dir, ClientCertFile), ClientKey: filepath.Join(dir, ClientKeyFile),
	}
	for _, h := range o.Hosts {
		if net.ParseIP(h) == nil && !hostName().MatchString(h) {
			return f, fmt.Errorf("host %q: neither an IP address nor a DNS name (give a port separately)", h)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, err
	}
	for _, p := range []string{f.CA, f.CAKey, f.ServerCert, f.ServerKey, f.ClientCert, f.ClientKey} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			return f, fmt.Errorf("%s already exists: hull tls init does not overwrite certificates or keys", p)
		}
	}
	dns, ips := []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	for _, h := range o.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else if h != "" && h != "localhost" {
			dns = append(dns, h)
		}
	}

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "hull engine CA", Organization: []string{"hull"}},
		NotBefore:             start,
		NotAfter:              end,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, ca, err := sign(caTmpl, nil, &caKey.PublicKey, caKey)
	if err != nil {
		return f, err
	}
	leaf := func(cn string, eku x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey, error) {
		return signLeaf(cn, eku, start, end, dns, ips, ca, caKey)
	}
	srvDER, srvKey, err := leaf(dns[len(dns)-1], x509.ExtKeyUsageServerAuth)
	if err != nil {
		return f, err
	}
	cliDER, cliKey, err := leaf("hull engine client", x509.ExtKeyUsageClientAuth)
	if err != nil {
		return f, err
	}
	return f, writeAll([]pemFile{{f.CA, caDER, nil}, {f.CAKey, nil, caKey}, {f.ServerCert, srvDER, nil}, {f.ServerKey, nil, srvKey},
		{f.ClientCert, cliDER, nil}, {f.ClientKey, nil, cliKey}})
}

// signLeaf makes a key and a certificate for cn with the one extended
// key usage eku, signed by ca; a server certificate names dns and ips.
func signLeaf(cn string, eku x509.ExtKeyUsage, start, end time.Time, dns []string, ips []net.IP, ca *x509.Certificate, caKey *ecdsa.PrivateKey) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	t := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: []string{"hull"}},
		NotBefore:   start,
		NotAfter:    end,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{eku},
	}
	if eku == x509.ExtKeyUsageServerAuth {
		t.DNSNames, t.IPAddresses = dns, ips
	}
	der, _, err := sign(t, ca, &key.PublicKey, caKey)
	return der, key, err
}

// pemFile is a certificate (der) or a private key to write at path.
type pemFile struct {
	path string
	der  []byte
	key  *ecdsa.PrivateKey
}

// writeAll writes each file new: certificates 0644, keys 0600.
func writeAll(files []pemFile) error {
	for _, w := range files {
		var block *pem.Block
		mode := os.FileMode(0o644)
		if w.key != nil {
			der, err := x509.MarshalECPrivateKey(w.key)
			if err != nil {
				return err
			}
			block, mode = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}, 0o600
		} else {
			block = &pem.Block{Type: "CERTIFICATE", Bytes: w.der}
		}
		if err := safefile.WriteNew(w.path, pem.EncodeToMemory(block), mode); err != nil {
			return err
		}
	}
	return nil
}

// ClientFiles are the paths Client wrote: a DOCKER_CERT_PATH.
type ClientFiles struct {
	CA, Cert, Key string
}

// maxCN bounds a common name, as X.509's upper bound does.
const maxCN = 64

// Client signs a client certificate for the common name cn with the CA
// that Generate wrote into caDir (ca.pem and ca-key.pem), valid for
// o.Days but never past the CA, and writes it into dir (created 0700)
// as the docker CLI reads a DOCKER_CERT_PATH: ca.pem (a copy of the
// CA's), cert.pem and key.pem (0600). It refuses to overwrite any of
// them. The gate gives a role by cn (the policy's gate identities).
func Client(caDir, dir, cn string, o Options) (ClientFiles, error) {
	f := ClientFiles{CA: filepath.Join(dir, CAFile), Cert: filepath.Join(dir, ClientCertFile), Key: filepath.Join(dir, ClientKeyFile)}
	if cn == "" || len(cn) > maxCN || strings.TrimSpace(cn) != cn || strings.IndexFunc(cn, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		return f, fmt.Errorf("common name %q: 1 to %d printable characters, no leading or trailing spaces", cn, maxCN)
	}
	if o.Days <= 0 {
		o.Days = 365
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	caPEM, err := os.ReadFile(filepath.Join(caDir, CAFile))
	if err != nil {
		return f, fmt.Errorf("read the CA certificate: %w", err)
	}
	ca, err := parsePEM(caPEM, "CERTIFICATE", x509.ParseCertificate)
	if err != nil {
		return f, fmt.Errorf("%s: %w", filepath.Join(caDir, CAFile), err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(caDir, CAKeyFile))
	if err != nil {
		return f, fmt.Errorf("read the CA key: %w", err)
	}
	caKey, err := parsePEM(keyPEM, "EC PRIVATE KEY", x509.ParseECPrivateKey)
	if err != nil {
		return f, fmt.Errorf("%s: %w", filepath.Join(caDir, CAKeyFile), err)
	}
	if !caKey.PublicKey.Equal(ca.PublicKey) {
		return f, fmt.Errorf("%s is not the key of %s", filepath.Join(caDir, CAKeyFile), filepath.Join(caDir, CAFile))
	}
	start := now().Add(-5 * time.Minute).UTC()
	end := start.Add(time.Duration(o.Days) * 24 * time.Hour)
	if end.After(ca.NotAfter) {
		end = ca.NotAfter
	}
	if !end.After(start) {
		return f, fmt.Errorf("the CA %s expired on %s", filepath.Join(caDir, CAFile), ca.NotAfter.Format(time.DateOnly))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, err
	}
	for _, p := range []string{f.CA, f.Cert, f.Key} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			return f, fmt.Errorf("%s already exists: hull tls client does not overwrite certificates or keys", p)
		}
	}
	der, key, err := signLeaf(cn, x509.ExtKeyUsageClientAuth, start, end, nil, nil, ca, caKey)
	if err != nil {
		return f, err
	}
	return f, writeAll([]pemFile{{f.CA, ca.Raw, nil}, {f.Cert, der, nil}, {f.Key, nil, key}})
}

// parsePEM parses the one PEM block of data, of type typ.
func parsePEM[T any](data []byte, typ string, parse func([]byte) (T, error)) (T, error) {
	var zero T
	b, rest := pem.Decode(data)
	if b == nil || b.Type != typ || len(strings.TrimSpace(string(rest))) > 0 {
		return zero, fmt.Errorf("not one PEM block of type %s", typ)
	}
	return parse(b.Bytes)
}

func sign(t, parent *x509.Certificate, pub *ecdsa.PublicKey, key *ecdsa.PrivateKey) ([]byte, *x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	t.SerialNumber = serial
	if parent == nil {
		parent = t
	}
	der, err := x509.CreateCertificate(rand.Reader, t, parent, pub, key)
	if err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return der, c, err
}
