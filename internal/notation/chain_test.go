package notation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"

	notationx509 "github.com/notaryproject/notation-core-go/x509"
)

// issue makes a certificate from tmpl, signed by parent's key (self-signed
// when parent is nil).
func issue(t *testing.T, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func certTemplate(serial int64, cn string) *x509.Certificate {
	now := time.Now()
	return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"Acme"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
}

// TestSigningChainAsNotation: notation refuses a chain through a
// certificate that is not a CA, and a signing certificate that is a CA or
// whose key usage is not digital signature. A trust store may hold a
// signer's own self-signed certificate (notation cert generate-test makes
// one, not a CA): its holder may sign with it but must not issue
// certificates with it, or could claim any identity the policy trusts
// (CN=release here). Each chain is judged by hull and by notation-core-go
// (ValidateCodeSigningCertChain, what notation verify runs on the chain a
// signature carries), and the verdicts must agree.
func TestSigningChainAsNotation(t *testing.T) {
	ca := func(serial int64, ku x509.KeyUsage) *x509.Certificate {
		c := certTemplate(serial, "root")
		c.IsCA, c.BasicConstraintsValid, c.KeyUsage = true, true, ku
		return c
	}
	root, rootKey := issue(t, ca(1, x509.KeyUsageCertSign), nil, nil)
	dev, devKey := issue(t, certTemplate(2, "dev"), nil, nil)
	noSign, noSignKey := issue(t, ca(3, x509.KeyUsageDigitalSignature), nil, nil)
	caLeafTmpl := ca(4, x509.KeyUsageDigitalSignature)
	caLeafTmpl.Subject.CommonName = "release"
	encTmpl := certTemplate(5, "release")
	encTmpl.KeyUsage = x509.KeyUsageKeyEncipherment
	type signer struct {
		leaf *x509.Certificate
		key  *ecdsa.PrivateKey
	}
	from := func(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) signer {
		c, k := issue(t, tmpl, parent, parentKey)
		return signer{c, k}
	}
	for _, tc := range []struct {
		name   string
		signer signer
		issuer *x509.Certificate // nil: self-signed
		want   bool
	}{
		{"leaf issued by a CA", from(certTemplate(6, "release"), root, rootKey), root, true},
		{"self-signed signing certificate in the trust store", signer{dev, devKey}, nil, true},
		{"leaf issued by a trusted certificate that is no CA", from(certTemplate(7, "release"), dev, devKey), dev, false},
		{"leaf issued by a CA without certSign", from(certTemplate(8, "release"), noSign, noSignKey), noSign, false},
		{"signing certificate that is a CA", from(caLeafTmpl, root, rootKey), root, false},
		{"signing certificate for key encipherment", from(encTmpl, root, rootKey), root, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chain, trusted := []*x509.Certificate{tc.signer.leaf}, tc.signer.leaf
			if tc.issuer != nil {
				chain, trusted = append(chain, tc.issuer), tc.issuer
			}
			oracle := notationx509.ValidateCodeSigningCertChain(chain, nil)
			if (oracle == nil) != tc.want {
				t.Fatalf("notation-core-go: %v, want accepted %v", oracle, tc.want)
			}
			for _, sign := range []func() ([]byte, error){
				func() ([]byte, error) { return SignJWS(tc.signer.key, chain, target, time.Now(), nil) },
				func() ([]byte, error) { return SignCOSE(tc.signer.key, chain, target, time.Now(), nil) },
			} {
				env, err := sign()
				if err != nil {
					t.Fatal(err)
				}
				verify := VerifyJWS
				if env[0] != '{' {
					verify = VerifyCOSE
				}
				_, err = verify(env, Trust{Roots: []*x509.Certificate{trusted}}, time.Now())
				if (err == nil) != tc.want || (err != nil && !errors.Is(err, ErrInvalid)) {
					t.Errorf("hull: %v; notation-core-go: %v", err, oracle)
				}
			}
		})
	}
}

// TestIdentityRepeatedAttribute: a subject may repeat an attribute (two
// CNs). notation compares identities with the subject as Go prints it,
// which keeps the last value of each attribute: for "CN=release,
// CN=intern" it sees CN=intern and refuses "x509.subject: CN=release";
// hull matched it against any of the values. A repeated attribute now
// matches no identity.
func TestIdentityRepeatedAttribute(t *testing.T) {
	cn := asn1.ObjectIdentifier{2, 5, 4, 3}
	raw, err := asn1.Marshal(pkix.RDNSequence{{{Type: cn, Value: "release"}}, {{Type: cn, Value: "intern"}}})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := certTemplate(1, "")
	tmpl.RawSubject = raw
	leaf, _ := issue(t, tmpl, nil, nil)
	if leaf.Subject.String() != "CN=intern" {
		t.Fatalf("notation would see the subject %q", leaf.Subject)
	}
	if MatchIdentity("x509.subject: CN=release", leaf) {
		t.Errorf("matched CN=release against %s", leaf.Subject)
	}
	if !MatchIdentity("*", leaf) {
		t.Error(`"*" must match any subject`)
	}
}
