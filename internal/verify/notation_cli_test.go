package verify_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/image"
	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/sign"
	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/tsp"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestNotationCLI checks hull against the notation CLI itself (v1.3.2,
// built from the module proxy), both ways, on a real registry:
// notation sign's signatures (JWS timestamped by a real TSA through
// --timestamp-url, and COSE) verify in hull under a notation signer, the
// timestamp counting only with a tsaStore; hull sign's signatures (JWS and
// COSE) pass notation verify with a trust policy on hull's root, and a
// signature by a key outside that root does not.
func TestNotationCLI(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	tsa := testenv.OpenSSLTSA(t)
	n := testenv.Notation(t)
	push := func(repo string) (string, v1.Hash) {
		t.Helper()
		img := it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("id", repo, 0o644)))
		ref, err := name.ParseReference(w.reg + "/" + repo + ":1")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		return w.reg + "/" + repo, d
	}

	// notation signs: JWS with timestamps, COSE without. Notation judges
	// a timestamp with its accuracy (here 1.5 s) against the certificate's
	// notBefore, which generate-test sets to the second it ran: the
	// signature made at once may stamp too early; the one made two seconds
	// later may not.
	n.MustRun("cert", "generate-test", "--default", "hull-test")
	notationCert := filepath.Join(n.Config, "notation", "localkeys", "hull-test.crt")
	earlyRepo, earlyDigest := push("team/by-notation-early")
	jwsRepo, jwsDigest := push("team/by-notation-jws")
	coseRepo, coseDigest := push("team/by-notation-cose")
	stamp := []string{"--timestamp-url", tsa.URL, "--timestamp-root-cert", tsa.RootPEM}
	n.MustRun(append([]string{"sign", "--insecure-registry", earlyRepo + "@" + earlyDigest.String()}, stamp...)...)
	time.Sleep(2 * time.Second)
	n.MustRun(append([]string{"sign", "--insecure-registry", jwsRepo + "@" + jwsDigest.String()}, stamp...)...)
	n.MustRun("sign", "--insecure-registry", "--signature-format", "cose", coseRepo+"@"+coseDigest.String())

	signer := &policy.NotationSigner{TrustStore: []string{notationCert}, Identities: []string{"*"}}
	trust := &policy.Trust{Rules: []policy.TrustRule{{Scope: w.reg + "/team", Signers: []policy.Signer{{Name: "notary", Notation: signer}}}}}
	for _, ref := range []string{jwsRepo + ":1", coseRepo + ":1", earlyRepo + ":1"} {
		if vd := w.verify(t, trust, ref); !vd.Accepted || vd.Signatures[0].Format != "notation" {
			t.Errorf("notation sign's signature of %s in hull: %+v", ref, vd)
		}
	}
	signer.TSAStore = []string{tsa.RootPEM}
	if vd := w.verify(t, trust, jwsRepo+":1"); !vd.Accepted || !strings.Contains(vd.Signatures[0].Signer, "timestamped") {
		t.Errorf("notation sign --timestamp-url, under a tsaStore: %+v", vd)
	}
	if vd := w.verify(t, trust, coseRepo+":1"); vd.Accepted || !strings.Contains(vd.Signatures[0].Reason, "no timestamp") {
		t.Errorf("a signature without timestamp under a tsaStore: %+v", vd)
	}
	// The same judgement as notation verify with a tsa trust store.
	n.MustRun("cert", "add", "--type", "tsa", "--store", "tsa", tsa.RootPEM)
	n.TrustPolicy(`{"version": "1.0", "trustPolicies": [{"name": "notation", "registryScopes": ["*"],
  "signatureVerification": {"level": "strict"}, "trustStores": ["ca:hull-test", "tsa:tsa"], "trustedIdentities": ["*"]}]}`)
	for _, ref := range []string{jwsRepo + ":1", coseRepo + ":1", earlyRepo + ":1"} {
		out, err := n.Run("verify", "--insecure-registry", ref)
		vd := w.verify(t, trust, ref)
		if (err == nil) != vd.Accepted {
			t.Errorf("%s: notation verify says %v, hull accepted=%v (%s)", ref, err, vd.Accepted, vd.Signatures[0].Reason)
		}
		if ref == jwsRepo+":1" && err != nil {
			t.Errorf("notation verify of its own timestamped signature: %v", err)
		}
		t.Logf("%s: notation verify: %v %s; hull: %v %s", ref, err == nil, strings.TrimSpace(out), vd.Accepted, vd.Signatures[0].Reason)
	}

	// hull signs; notation verify judges.
	key, chain, err := sign.GenerateNotation("release", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(t.TempDir(), "hull-root.crt")
	if err := os.WriteFile(rootFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[len(chain)-1].Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	n.MustRun("cert", "add", "--type", "ca", "--store", "hull", rootFile)
	n.TrustPolicy(`{"version": "1.0", "trustPolicies": [{"name": "hull", "registryScopes": ["*"],
  "signatureVerification": {"level": "strict"}, "trustStores": ["ca:hull"], "trustedIdentities": ["*"]}]}`)
	for _, cose := range []bool{false, true} {
		repo, _ := push("team/by-hull-" + map[bool]string{false: "jws", true: "cose"}[cose])
		if _, err := sign.NotationSign(ctx, repo+":1", key, chain, cose, nil, image.Options{}); err != nil {
			t.Fatal(err)
		}
		if out, err := n.Run("verify", "--insecure-registry", repo+":1"); err != nil {
			t.Errorf("notation verify rejects hull's signature (cose %v): %v", cose, err)
		} else if !strings.Contains(out, "Successfully verified") {
			t.Errorf("notation verify output: %s", out)
		}
	}
	// hull signs with a timestamp from the TSA (as notation sign
	// --timestamp-url does); notation verify with a tsa trust store and hull
	// with a tsaStore accept it.
	n.TrustPolicy(`{"version": "1.0", "trustPolicies": [{"name": "hull", "registryScopes": ["*"],
  "signatureVerification": {"level": "strict"}, "trustStores": ["ca:hull", "tsa:tsa"], "trustedIdentities": ["*"]}]}`)
	hullTrust := w.notationPolicy(t, chain[len(chain)-1], "*")
	hullTrust.Rules[0].Scope = w.reg + "/team"
	hullTrust.Rules[0].Signers[0].Notation.TSAStore = []string{tsa.RootPEM}
	for _, cose := range []bool{false, true} {
		repo, _ := push("team/by-hull-stamped-" + map[bool]string{false: "jws", true: "cose"}[cose])
		tsaClient := &tsp.Client{URL: tsa.URL, Roots: []*x509.Certificate{tsa.Root}}
		if _, err := sign.NotationSign(ctx, repo+":1", key, chain, cose, tsaClient, image.Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Run("verify", "--insecure-registry", repo+":1"); err != nil {
			t.Errorf("notation verify (tsa trust store) rejects hull's timestamped signature (cose %v): %v", cose, err)
		}
		if vd := w.verify(t, hullTrust, repo+":1"); !vd.Accepted || !strings.Contains(vd.Signatures[0].Signer, "timestamped") {
			t.Errorf("hull's timestamped signature (cose %v) under a tsaStore: %+v", cose, vd)
		}
	}

	otherKey, otherChain, err := sign.GenerateNotation("release", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	repo, _ := push("team/by-hull-other")
	if _, err := sign.NotationSign(ctx, repo+":1", otherKey, otherChain, false, nil, image.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Run("verify", "--insecure-registry", repo+":1"); err == nil {
		t.Error("notation verify accepted a signature by a root outside its trust store")
	}
}
