package verify_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/sign"
	"github.com/hull-sec/hull/internal/testenv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestCosignInterop checks hull against the cosign CLI (v2.6.5, built
// from the module proxy): cosign's classic key-based signatures verify in
// hull and their tampered variants do not; hull's signatures, made with
// hull's key or with cosign's own encrypted key file, verify in cosign.
func TestCosignInterop(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	priv, pub := testenv.CosignKeyPair(t)
	trust := &policy.Trust{Rules: []policy.TrustRule{{Scope: w.reg + "/team", Signers: []policy.Signer{{Name: "cosign", Cosign: &policy.CosignSigner{Key: pub}}}}}}

	// cosign signs, hull verifies.
	refA := w.reg + "/team/a@" + w.digestA.String()
	if err := testenv.CosignSign(t, priv, refA, false); err != nil {
		t.Fatal(err)
	}
	if vd := w.verify(t, trust, w.imageA); !vd.Accepted || vd.Signatures[0].Format != "cosign" {
		t.Fatalf("cosign's signature in hull: %+v", vd)
	}

	// A signature made for image B, replayed onto A, is refused by both.
	resB, err := image.Resolve(ctx, w.imageB, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := testenv.CosignSign(t, priv, w.reg+"/team/b@"+resB.Digest.String(), false); err != nil {
		t.Fatal(err)
	}
	copySigTag(t, w, "team/b", resB.Digest.String(), "team/a", w.digestA.String())
	if vd := w.verify(t, trust, w.imageA); vd.Accepted || !strings.Contains(vd.Signatures[0].Reason, "signs digest") {
		t.Errorf("replayed signature in hull: %+v", vd)
	}
	if err := testenv.CosignVerify(t, pub, w.imageA); err == nil {
		t.Error("cosign accepted the replayed signature: the oracle is not checking")
	}

	// hull signs with cosign's encrypted key (COSIGN_PASSWORD is empty), cosign verifies.
	data, err := os.ReadFile(priv)
	if err != nil {
		t.Fatal(err)
	}
	key, err := sign.ReadCosignKey(data, "")
	if err != nil {
		t.Fatalf("hull reading cosign.key: %v", err)
	}
	if _, err := sign.CosignSign(ctx, w.reg+"/team/a:2", key, false, image.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := testenv.CosignVerify(t, pub, w.reg+"/team/a:2"); err != nil {
		t.Errorf("cosign rejects hull's signature: %v", err)
	}
	if _, err := sign.ReadCosignKey(data, "wrong"); err == nil || !strings.Contains(err.Error(), "wrong password") {
		t.Errorf("cosign.key with a wrong password: %v", err)
	}

	// A key from hull key generate: cosign verifies with hull's .pub.
	w.cosignPolicy(t) // writes cosign.key and cosign.pub into w.dir
	w.cosignSign(t, w.reg+"/team/b:1", false)
	if err := testenv.CosignVerify(t, w.dir+"/cosign.pub", w.reg+"/team/b:1"); err != nil {
		t.Errorf("cosign rejects a signature made with hull's key: %v", err)
	}
}

// copySigTag copies the .sig manifest of one image onto another's tag.
func copySigTag(t *testing.T, w *world, fromRepo, fromDigest, toRepo, toDigest string) {
	t.Helper()
	from, err := v1.NewHash(fromDigest)
	if err != nil {
		t.Fatal(err)
	}
	to, err := v1.NewHash(toDigest)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(sigTag(t, w, fromRepo, from))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(sigTag(t, w, toRepo, to), img); err != nil {
		t.Fatal(err)
	}
}

// TestSigstoreBundleInterop: cosign's bundles (DSSE over an in-toto
// statement, stored as a referrer; this registry has no referrers API, so
// under the sha256-<hex> tag) verify in hull, and hull's in cosign.
func TestSigstoreBundleInterop(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	priv, pub := testenv.CosignKeyPair(t)
	trust := &policy.Trust{Rules: []policy.TrustRule{{Scope: w.reg + "/team", Signers: []policy.Signer{{Name: "cosign", Cosign: &policy.CosignSigner{Key: pub}}}}}}
	if err := testenv.CosignSign(t, priv, w.reg+"/team/a@"+w.digestA.String(), true); err != nil {
		t.Fatal(err)
	}
	vd := w.verify(t, trust, w.imageA)
	if !vd.Accepted || len(vd.Signatures) != 1 || vd.Signatures[0].Format != "sigstore-bundle" {
		t.Fatalf("cosign's bundle in hull: %+v", vd)
	}
	data, err := os.ReadFile(priv)
	if err != nil {
		t.Fatal(err)
	}
	key, err := sign.ReadCosignKey(data, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.CosignSign(ctx, w.imageB, key, true, image.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := testenv.CosignVerify(t, pub, w.imageB); err != nil {
		t.Errorf("cosign rejects hull's bundle: %v", err)
	}
	if vd := w.verify(t, trust, w.imageB); !vd.Accepted {
		t.Errorf("hull rejects its own bundle: %+v", vd)
	}
}
