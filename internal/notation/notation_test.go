package notation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func testChain(t testing.TB) (*ecdsa.PrivateKey, []*x509.Certificate) {
	now := time.Now()
	rk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	lk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	root := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	rd, err := x509.CreateCertificate(rand.Reader, root, root, rk.Public(), rk)
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := x509.ParseCertificate(rd)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "leaf", Organization: []string{"Acme"}}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	ld, err := x509.CreateCertificate(rand.Reader, leaf, rc, lk.Public(), rk)
	if err != nil {
		t.Fatal(err)
	}
	lc, _ := x509.ParseCertificate(ld)
	return lk, []*x509.Certificate{lc, rc}
}

var target = v1.Descriptor{MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 10, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}}

func TestRoundTripAndIdentity(t *testing.T) {
	key, chain := testChain(t)
	env, err := SignJWS(key, chain, target, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := VerifyJWS(env, Trust{Roots: chain[1:]}, time.Now())
	if err != nil || v.Target.Digest != target.Digest {
		t.Fatalf("%+v %v", v, err)
	}
	for id, want := range map[string]bool{
		"*": true, "x509.subject: CN=leaf": true, "x509.subject: O=Acme, CN=leaf": true,
		"x509.subject: O=Other, CN=leaf": false, "CN=leaf": false, "x509.subject: CN=root": false,
	} {
		if got := MatchIdentity(id, v.Leaf); got != want {
			t.Errorf("MatchIdentity(%q) = %v", id, got)
		}
	}
	if _, err := VerifyJWS(env, Trust{Roots: chain[1:]}, time.Now().Add(2*time.Hour)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("after the certificates expire: %v", err)
	}
}

func FuzzVerifyJWS(f *testing.F) {
	key, chain := testChain(f)
	env, err := SignJWS(key, chain, target, time.Now(), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(env)
	f.Add([]byte(`{"payload":"e30","protected":"e30","header":{"x5c":[]},"signature":""}`))
	now := time.Now()
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := VerifyJWS(data, Trust{Roots: chain[1:]}, now)
		if err == nil && (v.Leaf == nil || v.Target.Digest.Hex == "") {
			t.Fatalf("accepted an envelope without a leaf or target")
		}
	})
}

func TestCOSERoundTrip(t *testing.T) {
	key, chain := testChain(t)
	env, err := SignCOSE(key, chain, target, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := VerifyCOSE(env, Trust{Roots: chain[1:]}, time.Now()); err != nil || v.Target.Digest != target.Digest {
		t.Fatalf("%+v %v", v, err)
	}
	env[len(env)-5] ^= 1
	if _, err := VerifyCOSE(env, Trust{Roots: chain[1:]}, time.Now()); err == nil {
		t.Error("a flipped signature byte verified")
	}
}

func FuzzVerifyCOSE(f *testing.F) {
	key, chain := testChain(f)
	env, err := SignCOSE(key, chain, target, time.Now(), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(env)
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40})
	now := time.Now()
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := VerifyCOSE(data, Trust{Roots: chain[1:]}, now)
		if err == nil && (v.Leaf == nil || v.Target.Digest.Hex == "") {
			t.Fatalf("accepted an envelope without a leaf or target")
		}
	})
}
