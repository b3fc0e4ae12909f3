// Package tlsgen makes the certificates a Docker or Podman engine needs
// to take API clients over TCP only with mutual TLS: a CA, a server
// certificate for the engine's names and addresses, and a client
// certificate, all ECDSA P-256, written with the file names Docker's
// documentation and the docker CLI use (ca.pem, server-cert.pem,
// server-key.pem, cert.pem, key.pem), private keys 0600.
//
// Data flow: Generate makes the keys, signs the certificates and writes
// them into a directory that must not already hold any of them (an
// existing CA is never overwritten). Nothing here talks to an engine.
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
	srvDER, srvKey, err := leaf(dns[len(dns)-1], x509.ExtKeyUsageServerAuth)
	if err != nil {
		return f, err
	}
	cliDER, cliKey, err := leaf("hull engine client", x509.ExtKeyUsageClientAuth)
	if err != nil {
		return f, err
	}
	for _, w := range []struct {
		path string
		der  []byte
		key  *ecdsa.PrivateKey
	}{{f.CA, caDER, nil}, {f.CAKey, nil, caKey}, {f.ServerCert, srvDER, nil}, {f.ServerKey, nil, srvKey},
		{f.ClientCert, cliDER, nil}, {f.ClientKey, nil, cliKey}} {
		var block *pem.Block
		mode := os.FileMode(0o644)
		if w.key != nil {
			der, err := x509.MarshalECPrivateKey(w.key)
			if err != nil {
				return f, err
			}
			block, mode = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}, 0o600
		} else {
			block = &pem.Block{Type: "CERTIFICATE", Bytes: w.der}
		}
		if err := safefile.WriteNew(w.path, pem.EncodeToMemory(block), mode); err != nil {
			return f, err
		}
	}
	return f, nil
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
