package verify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/cosign"
	"github.com/hull-sec/hull/internal/policy"

	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// TestKeylessEmptySubject: a keyless signer given by subjectRegExp has
// no exact subject, and hull compared the certificate's subjects with
// that empty string too: a certificate whose subject is empty (an empty
// email name) satisfied any subjectRegExp. sigstore-go refuses it.
func TestKeylessEmptySubject(t *testing.T) {
	const subjectRE = `^release@acme\.example$`
	w := newWorld(t)
	vs := newVirtualSigstore(t, w.dir)
	repoA, descA := w.headA(t)
	ent, err := vs.vs.AttestAtTime("", keylessIssuer, cosignStatement(w.digestA), time.Now().Add(5*time.Minute), true)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := ent.TlogEntries()
	b := buildDSSEBundle(t, ent, vs.entry(t, entries[0]), nil)
	// The reference verifier, given the same regexp, refuses it.
	sv, err := sgverify.NewVerifier(vs.root, sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	id, err := sgverify.NewShortCertificateIdentity(keylessIssuer, "", "", subjectRE)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sv.Verify(b, sgverify.NewPolicy(sgverify.WithoutArtifactUnsafe(), sgverify.WithCertificateIdentity(id))); err == nil {
		t.Fatal("sigstore-go accepts a certificate with an empty subject for a subject regexp")
	}
	data, err := b.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cosign.AttachBundle(t.Context(), repoA, *descA, data, nil); err != nil {
		t.Fatal(err)
	}
	trust := &policy.Trust{Rules: []policy.TrustRule{{Scope: w.reg + "/team", Signers: []policy.Signer{{Name: "release",
		Keyless: &policy.KeylessSigner{TrustedRoot: vs.rootFile, Issuer: keylessIssuer, SubjectRegExp: subjectRE}}}}}}
	if vd := w.verify(t, trust, w.imageA); vd.Accepted || len(vd.Signatures) != 1 || !strings.Contains(vd.Signatures[0].Reason, "not the policy's subject") {
		t.Errorf("a certificate with an empty subject under subjectRegExp: %+v", vd)
	}
}
