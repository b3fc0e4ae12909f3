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

// TestSigningChainAsNotation: notation (notation-core-go's
// ValidateCodeSigningCertChain) refuses a chain through a certificate
// that is not a CA, and a signing certificate that is a CA or whose key
// usage is not digital signature. A trust store may hold a signer's own
// self-signed certificate (notation cert generate-test makes one, not a
// CA): its holder may sign with it but must not issue certificates with
// it, or could claim any identity the policy trusts (CN=release here).
func TestSigningChainAsNotation(t *testing.T) {
	dev, devKey := issue(t, certTemplate(1, "dev"), nil, nil)
	forged, forgedKey := issue(t, certTemplate(2, "release"), dev, devKey)
	env, err := SignJWS(forgedKey, []*x509.Certificate{forged, dev}, target, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = VerifyJWS(env, Trust{Roots: []*x509.Certificate{dev}}, time.Now())
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("a leaf issued by a trust store certificate that is no CA: %v", err)
	}
	cose, err := SignCOSE(forgedKey, []*x509.Certificate{forged, dev}, target, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyCOSE(cose, Trust{Roots: []*x509.Certificate{dev}}, time.Now()); !errors.Is(err, ErrInvalid) {
		t.Fatalf("COSE: a leaf issued by a trust store certificate that is no CA: %v", err)
	}

	// The self-signed certificate itself, in the trust store, still signs.
	env, err = SignJWS(devKey, []*x509.Certificate{dev}, target, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyJWS(env, Trust{Roots: []*x509.Certificate{dev}}, time.Now()); err != nil {
		t.Fatalf("a self-signed signing certificate in the trust store: %v", err)
	}

	// A CA without certSign, and a leaf that is itself a CA, are refused
	// as notation refuses them.
	noSign := certTemplate(3, "root")
	noSign.IsCA, noSign.BasicConstraintsValid = true, true
	root, rootKey := issue(t, noSign, nil, nil)
	leaf, leafKey := issue(t, certTemplate(4, "release"), root, rootKey)
	env, err = SignJWS(leafKey, []*x509.Certificate{leaf, root}, target, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyJWS(env, Trust{Roots: []*x509.Certificate{root}}, time.Now()); !errors.Is(err, ErrInvalid) {
		t.Errorf("a root whose key usage lacks certSign: %v", err)
	}
	caTmpl := certTemplate(5, "root")
	caTmpl.IsCA, caTmpl.BasicConstraintsValid, caTmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	ca, caKey := issue(t, caTmpl, nil, nil)
	caLeafTmpl := certTemplate(6, "release")
	caLeafTmpl.IsCA, caLeafTmpl.BasicConstraintsValid = true, true
	caLeaf, caLeafKey := issue(t, caLeafTmpl, ca, caKey)
	env, err = SignJWS(caLeafKey, []*x509.Certificate{caLeaf, ca}, target, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyJWS(env, Trust{Roots: []*x509.Certificate{ca}}, time.Now()); !errors.Is(err, ErrInvalid) {
		t.Errorf("a signing certificate that is a CA: %v", err)
	}
	encTmpl := certTemplate(8, "release")
	encTmpl.KeyUsage = x509.KeyUsageKeyEncipherment
	enc, encKey := issue(t, encTmpl, ca, caKey)
	env, err = SignJWS(encKey, []*x509.Certificate{enc, ca}, target, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyJWS(env, Trust{Roots: []*x509.Certificate{ca}}, time.Now()); !errors.Is(err, ErrInvalid) {
		t.Errorf("a signing certificate whose key usage is key encipherment: %v", err)
	}
	good, goodKey := issue(t, certTemplate(7, "release"), ca, caKey)
	env, err = SignJWS(goodKey, []*x509.Certificate{good, ca}, target, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyJWS(env, Trust{Roots: []*x509.Certificate{ca}}, time.Now()); err != nil {
		t.Errorf("a signing certificate issued by a CA: %v", err)
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
