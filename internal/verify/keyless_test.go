package verify_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/cosign"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/testenv"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// The keyless tests use sigstore-go's virtual sigstore (a Fulcio CA, a
// Rekor log and a TSA in memory) as the reference signer, its bundle
// package to write bundles and its verifier as the reference verifier:
// what sigstore-go accepts, hull accepts, and the tampered variants both
// refuse. The virtual Fulcio embeds no SCTs, so its trusted root lists no
// CT log (real SCTs are checked in internal/sigstore on public-good
// bundles).
const (
	keylessIssuer  = "https://token.actions.example"
	keylessSubject = "https://git.example/acme/app/.github/workflows/release.yml@refs/heads/main"
)

type virtualSigstore struct {
	vs       *ca.VirtualSigstore
	root     *root.TrustedRoot
	rootFile string
}

func newVirtualSigstore(t *testing.T, dir string) *virtualSigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, vs.FulcioCertificateAuthorities(),
		map[string]*root.TransparencyLog{}, vs.TimestampingAuthorities(), vs.RekorLogs())
	if err != nil {
		t.Fatal(err)
	}
	data, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	// The virtual log's ID comes out as the hex text of the real one;
	// write the real one (the SHA-256 of the key), which cosign looks up.
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, l := range m["tlogs"].([]any) {
		l := l.(map[string]any)
		der, _ := base64.StdEncoding.DecodeString(l["publicKey"].(map[string]any)["rawBytes"].(string))
		id := sha256.Sum256(der)
		l["logId"] = map[string]any{"keyId": base64.StdEncoding.EncodeToString(id[:])}
	}
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if tr, err = root.NewTrustedRootFromJSON(data); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return &virtualSigstore{vs: vs, root: tr, rootFile: f}
}

func (v *virtualSigstore) policy(scope, issuer, subject string) *policy.Trust {
	return &policy.Trust{Rules: []policy.TrustRule{{Scope: scope, Signers: []policy.Signer{{Name: "release",
		Keyless: &policy.KeylessSigner{TrustedRoot: v.rootFile, Issuer: issuer, SubjectRegExp: "^" + strings.ReplaceAll(subject, ".", `\.`) + "$"}}}}}}
}

// bundle signs cosign's image statement for digest as a keyless sigstore
// bundle, written by sigstore-go, and checks sigstore-go accepts it.
func (v *virtualSigstore) bundle(t *testing.T, digest v1.Hash, subject string) []byte {
	t.Helper()
	ent, err := v.vs.AttestAtTime(subject, keylessIssuer, cosignStatement(digest), time.Now().Add(5*time.Minute), true)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := ent.TlogEntries()
	return v.dsseBundle(t, ent, v.entry(t, entries[0]), nil, subject, sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1))
}

// cosignStatement is the in-toto statement cosign signs for an image.
func cosignStatement(digest v1.Hash) []byte {
	return []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + digest.Hex + `"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`)
}

// dsseBundle writes the virtual sigstore's DSSE signature ent as a v0.3
// bundle with the log entry tle and the RFC 3161 timestamps stamps, and
// checks that sigstore-go's verifier, with opts, accepts it.
func (v *virtualSigstore) dsseBundle(t *testing.T, ent *ca.TestEntity, tle *protorekor.TransparencyLogEntry, stamps [][]byte, subject string, opts ...sgverify.VerifierOption) []byte {
	t.Helper()
	b := buildDSSEBundle(t, ent, tle, stamps)
	v.referenceVerify(t, b, sgverify.WithoutArtifactUnsafe(), subject, opts...)
	data, err := b.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// buildDSSEBundle assembles the bundle of a DSSE envelope the virtual
// sigstore signed, with its log entry and timestamps.
func buildDSSEBundle(t *testing.T, ent *ca.TestEntity, tle *protorekor.TransparencyLogEntry, stamps [][]byte) *sgbundle.Bundle {
	t.Helper()
	vc, _ := ent.VerificationContent()
	sc, _ := ent.SignatureContent()
	env := sc.EnvelopeContent().RawEnvelope()
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		t.Fatal(err)
	}
	vm := &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{
			RawBytes: vc.(*sgbundle.Certificate).Certificate().Raw}},
		TlogEntries: []*protorekor.TransparencyLogEntry{tle},
	}
	if len(stamps) > 0 {
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{}
		for _, s := range stamps {
			vm.TimestampVerificationData.Rfc3161Timestamps = append(vm.TimestampVerificationData.Rfc3161Timestamps,
				&protocommon.RFC3161SignedTimestamp{SignedTimestamp: s})
		}
	}
	b, err := sgbundle.NewBundle(&protobundle.Bundle{
		MediaType:            "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: env.PayloadType, Signatures: []*protodsse.Signature{{Sig: sig}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// entry completes the log entry the virtual sigstore made as a bundle
// carries it: tlog.Entry keeps the kind and the signed entry timestamp
// (SET) to itself, so the kind is read from the body and the log signs a
// SET again.
func (v *virtualSigstore) entry(t *testing.T, e *tlog.Entry) *protorekor.TransparencyLogEntry {
	t.Helper()
	tle := e.TransparencyLogEntry()
	var kind struct{ Kind, APIVersion string }
	if err := json.Unmarshal(tle.GetCanonicalizedBody(), &kind); err != nil {
		t.Fatal(err)
	}
	tle.KindVersion = &protorekor.KindVersion{Kind: kind.Kind, Version: kind.APIVersion}
	set, err := v.vs.RekorSignPayload(tlog.RekorPayload{LogID: hex.EncodeToString(tle.GetLogId().GetKeyId()), IntegratedTime: tle.GetIntegratedTime(),
		LogIndex: tle.GetLogIndex(), Body: base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody())})
	if err != nil {
		t.Fatal(err)
	}
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
	return tle
}

// referenceVerify checks that sigstore-go's verifier accepts e for the
// subject, with opts (default: a log entry and its integrated time).
func (v *virtualSigstore) referenceVerify(t *testing.T, e sgverify.SignedEntity, artifact sgverify.ArtifactPolicyOption, subject string, opts ...sgverify.VerifierOption) {
	t.Helper()
	if len(opts) == 0 {
		opts = []sgverify.VerifierOption{sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1)}
	}
	sv, err := sgverify.NewVerifier(v.root, opts...)
	if err != nil {
		t.Fatal(err)
	}
	id, err := sgverify.NewShortCertificateIdentity(keylessIssuer, "", subject, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sv.Verify(e, sgverify.NewPolicy(artifact, sgverify.WithCertificateIdentity(id))); err != nil {
		t.Fatalf("sigstore-go rejects its own keyless signature: %v", err)
	}
}

// classic signs a cosign payload the classic keyless way: a message
// signature logged as a hashedrekord entry, with the certificate and the
// Rekor bundle in the .sig layer's annotations, as cosign v2 writes them.
func (v *virtualSigstore) classic(t *testing.T, payload []byte, subject string) (b64sig string, ann map[string]string) {
	t.Helper()
	ent, err := v.vs.Sign(subject, keylessIssuer, payload)
	if err != nil {
		t.Fatal(err)
	}
	v.referenceVerify(t, ent, sgverify.WithArtifact(bytes.NewReader(payload)), subject)
	vc, _ := ent.VerificationContent()
	sc, _ := ent.SignatureContent()
	entries, _ := ent.TlogEntries()
	tle := v.entry(t, entries[0])
	rb, err := json.Marshal(map[string]any{
		"SignedEntryTimestamp": tle.GetInclusionPromise().GetSignedEntryTimestamp(),
		"Payload": map[string]any{"body": base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody()),
			"integratedTime": tle.GetIntegratedTime(), "logIndex": tle.GetLogIndex(), "logID": hex.EncodeToString(tle.GetLogId().GetKeyId())},
	})
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vc.(*sgbundle.Certificate).Certificate().Raw})
	b64sig = base64.StdEncoding.EncodeToString(sc.MessageSignatureContent().Signature())
	return b64sig, map[string]string{cosign.SignatureAnnotation: b64sig, cosign.CertificateAnnotation: string(cert), cosign.RekorBundleAnnotation: string(rb)}
}

func pushClassic(t *testing.T, tag name.Tag, payload []byte, ann map[string]string) {
	t.Helper()
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: static.NewLayer(payload, cosign.PayloadMediaType), Annotations: ann})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
}

// cosignVerifyKeyless runs cosign verify (v2.6.5) for a keyless identity
// against the virtual sigstore's trusted root. Its Fulcio embeds no SCT.
func cosignVerifyKeyless(t *testing.T, vs *virtualSigstore, ref, subject string, extra ...string) error {
	t.Helper()
	args := append([]string{"verify", "--certificate-identity", subject, "--certificate-oidc-issuer", keylessIssuer,
		"--trusted-root", vs.rootFile, "--insecure-ignore-sct", "--allow-insecure-registry", "--allow-http-registry"}, extra...)
	out, err := testenv.CosignRun(t, append(args, ref)...)
	if err == nil {
		t.Logf("cosign verify %s: %s", ref, strings.TrimSpace(out))
	}
	return err
}

func TestKeylessBundle(t *testing.T) {
	w := newWorld(t)
	vs := newVirtualSigstore(t, w.dir)
	repoA, descA := w.headA(t)
	attach := func(b []byte) {
		t.Helper()
		if _, err := cosign.AttachBundle(t.Context(), repoA, *descA, b, nil); err != nil {
			t.Fatal(err)
		}
	}
	attach(vs.bundle(t, w.digestA, keylessSubject))
	trust := vs.policy(w.reg+"/team", keylessIssuer, keylessSubject)
	vd := w.verify(t, trust, w.imageA)
	if !vd.Accepted || vd.Signatures[0].Format != "sigstore-bundle" || !strings.Contains(vd.Signatures[0].Signer, keylessSubject) {
		t.Fatalf("reference keyless bundle: %+v", vd)
	}
	if err := cosignVerifyKeyless(t, vs, w.imageA, keylessSubject, "--new-bundle-format"); err != nil {
		t.Fatalf("cosign rejects the keyless bundle: %v", err)
	}

	for _, c := range []struct {
		name  string
		trust *policy.Trust
		want  string
	}{
		{"other subject", vs.policy(w.reg+"/team", keylessIssuer, "https://git.example/acme/other"), "not the policy's subject"},
		{"other issuer", vs.policy(w.reg+"/team", "https://accounts.example", keylessSubject), "not by the policy's issuer"},
		{"other root", newVirtualSigstore(t, t.TempDir()).policy(w.reg+"/team", keylessIssuer, keylessSubject), "does not list"},
	} {
		if vd := w.verify(t, c.trust, w.imageA); vd.Accepted || !strings.Contains(vd.Signatures[0].Reason, c.want) {
			t.Errorf("%s: %+v", c.name, vd)
		}
	}
}

func TestKeylessBundleTampering(t *testing.T) {
	w := newWorld(t)
	vs := newVirtualSigstore(t, w.dir)
	trust := vs.policy(w.reg+"/team", keylessIssuer, keylessSubject)
	_, descA := w.headA(t)
	good := vs.bundle(t, w.digestA, keylessSubject)
	edit := func(f func(map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	vm := func(m map[string]any) map[string]any { return m["verificationMaterial"].(map[string]any) }
	entry := func(m map[string]any) map[string]any { return vm(m)["tlogEntries"].([]any)[0].(map[string]any) }
	other := vs.bundle(t, v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}, keylessSubject)
	var otherMap map[string]any
	_ = json.Unmarshal(other, &otherMap)

	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"bundle for another image", other, "the statement's subject is not"},
		{"payload changed", edit(func(m map[string]any) {
			env := m["dsseEnvelope"].(map[string]any)
			p, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
			env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(p), "cosign/sign", "cosign/sigN", 1)))
		}), "no signature of the envelope verifies"},
		{"log entry of another signature", edit(func(m map[string]any) {
			vm(m)["tlogEntries"] = vm(otherMap)["tlogEntries"]
		}), "records another envelope payload"},
		{"certificate of another signature", edit(func(m map[string]any) {
			vm(m)["certificate"] = vm(otherMap)["certificate"]
		}), "no signature of the envelope verifies"},
		{"no log entry", edit(func(m map[string]any) { delete(vm(m), "tlogEntries") }), "no transparency log entry"},
		{"signed entry timestamp", edit(func(m map[string]any) {
			entry(m)["integratedTime"] = "1"
		}), "signed entry timestamp does not verify"},
		{"garbled", []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"certificate":{"rawBytes":"AAAA"}},"dsseEnvelope":{"payloadType":"application/vnd.in-toto+json"}}`), "certificate"},
		{"truncated", good[:len(good)/2], "bundle"},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo, _ := name.NewRepository(w.reg + "/team/t" + strings.ReplaceAll(c.name, " ", ""))
			if err := remote.Write(repo.Tag("1"), mustImage(t, w, "team/a:1")); err != nil {
				t.Fatal(err)
			}
			if _, err := cosign.AttachBundle(t.Context(), repo, *descA, c.data, nil); err != nil {
				t.Fatal(err)
			}
			vd := w.verify(t, trust, repo.Tag("1").String())
			if vd.Accepted || len(vd.Signatures) != 1 || !strings.Contains(vd.Signatures[0].Reason, c.want) {
				t.Fatalf("want a rejection saying %q: %+v", c.want, vd)
			}
		})
	}
}

func mustImage(t *testing.T, w *world, ref string) v1.Image {
	t.Helper()
	r, err := name.ParseReference(w.reg + "/" + ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestKeylessClassic(t *testing.T) {
	w := newWorld(t)
	vs := newVirtualSigstore(t, w.dir)
	trust := vs.policy(w.reg+"/team", keylessIssuer, keylessSubject)
	payload, err := cosign.MarshalPayload(cosign.Payload{DockerReference: w.reg + "/team/a", ManifestDigest: w.digestA.String()})
	if err != nil {
		t.Fatal(err)
	}
	tag := sigTag(t, w, "team/a", w.digestA)
	_, ann := vs.classic(t, payload, keylessSubject)
	pushClassic(t, tag, payload, ann)
	if vd := w.verify(t, trust, w.imageA); !vd.Accepted || vd.Signatures[0].Format != "cosign" || !strings.Contains(vd.Signatures[0].Signer, keylessSubject) {
		t.Fatalf("reference classic keyless signature: %+v", vd)
	}
	// The cosign CLI, the reference verifier of this format, agrees.
	if err := cosignVerifyKeyless(t, vs, w.imageA, keylessSubject); err != nil {
		t.Fatalf("cosign rejects the classic keyless signature: %v", err)
	}
	if err := cosignVerifyKeyless(t, vs, w.imageA, "https://git.example/other"); err == nil {
		t.Fatal("cosign accepted another identity: the oracle is not checking")
	}

	// The same signature checked by a key signer, and tampered variants.
	otherPayload, _ := cosign.MarshalPayload(cosign.Payload{DockerReference: w.reg + "/team/b", ManifestDigest: w.digestA.String()})
	_, otherAnn := vs.classic(t, otherPayload, keylessSubject)
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range ann {
			m[a] = b
		}
		m[k] = v
		return m
	}
	for _, c := range []struct {
		name    string
		payload []byte
		ann     map[string]string
		want    string
	}{
		{"signed for another repository", otherPayload, otherAnn, "signed for repository"},
		{"payload changed", []byte(strings.Replace(string(payload), "team/a", "team/A", 1)), ann, "does not verify with the certificate"},
		{"Rekor bundle of another signature", payload, with(cosign.RekorBundleAnnotation, otherAnn[cosign.RekorBundleAnnotation]), "records digest"},
		{"no Rekor bundle", payload, with(cosign.RekorBundleAnnotation, ""), "no transparency log entry"},
		{"certificate of another signature", payload, with(cosign.CertificateAnnotation, otherAnn[cosign.CertificateAnnotation]), "does not verify with the certificate"},
		{"no certificate", payload, with(cosign.CertificateAnnotation, ""), "not a keyless signature"},
		{"garbled Rekor bundle", payload, with(cosign.RekorBundleAnnotation, "{"), "Rekor bundle annotation"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pushClassic(t, tag, c.payload, c.ann)
			vd := w.verify(t, trust, w.imageA)
			if vd.Accepted || len(vd.Signatures) != 1 || !strings.Contains(vd.Signatures[0].Reason, c.want) {
				t.Fatalf("want a rejection saying %q: %+v", c.want, vd)
			}
		})
	}
}

// bundleV2 is bundle with a Rekor v2 log entry (no integrated time the
// log vouches for, a checkpoint) and an RFC 3161 timestamp of the
// signature from the virtual sigstore's timestamp authority, as cosign v3
// writes them against Rekor v2; sigstore-go accepts it on the timestamp.
func (v *virtualSigstore) bundleV2(t *testing.T, digest v1.Hash, subject string) []byte {
	t.Helper()
	ent, err := v.vs.AttestHashedRekordV2(subject, keylessIssuer, cosignStatement(digest))
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := ent.TlogEntries()
	stamps, _ := ent.Timestamps()
	return v.dsseBundle(t, ent, entries[0].TransparencyLogEntry(), stamps, subject, sgverify.WithTransparencyLog(1), sgverify.WithSignedTimestamps(1))
}

// TestKeylessRekorV2Timestamp: a keyless bundle logged in Rekor v2 and
// timestamped by a TSA of the trusted root is accepted on the
// timestamp; without it (the entry's own integratedTime is signed by
// nothing), with another signature's timestamp, or with the timestamp
// authority missing from the root, it has no trusted time.
func TestKeylessRekorV2Timestamp(t *testing.T) {
	w := newWorld(t)
	vs := newVirtualSigstore(t, w.dir)
	trust := vs.policy(w.reg+"/team", keylessIssuer, keylessSubject)
	_, descA := w.headA(t)
	good := vs.bundleV2(t, w.digestA, keylessSubject)
	other := vs.bundleV2(t, v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("cd", 32)}, keylessSubject)
	edit := func(f func(vm, otherVM map[string]any)) []byte {
		var m, o map[string]any
		json.Unmarshal(good, &m)
		json.Unmarshal(other, &o)
		f(m["verificationMaterial"].(map[string]any), o["verificationMaterial"].(map[string]any))
		b, _ := json.Marshal(m)
		return b
	}
	noTSA := filepath.Join(w.dir, "no-tsa.json")
	rootJSON, _ := os.ReadFile(vs.rootFile)
	var rm map[string]any
	json.Unmarshal(rootJSON, &rm)
	delete(rm, "timestampAuthorities")
	rootJSON, _ = json.Marshal(rm)
	if err := os.WriteFile(noTSA, rootJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	noTSATrust := vs.policy(w.reg+"/team", keylessIssuer, keylessSubject)
	noTSATrust.Rules[0].Signers[0].Keyless.TrustedRoot = noTSA

	for i, c := range []struct {
		name  string
		data  []byte
		trust *policy.Trust
		want  string // "" accepted
	}{
		{"Rekor v2 entry and timestamp", good, trust, ""},
		{"no timestamp", edit(func(vm, _ map[string]any) { delete(vm, "timestampVerificationData") }), trust, "no trusted time"},
		{"another signature's timestamp", edit(func(vm, o map[string]any) { vm["timestampVerificationData"] = o["timestampVerificationData"] }), trust, "stamps other data"},
		{"another signature's log entry", edit(func(vm, o map[string]any) { vm["tlogEntries"] = o["tlogEntries"] }), trust, "records another digest"},
		{"timestamp authority not in the root", good, noTSATrust, "no trusted time"},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo, _ := name.NewRepository(fmt.Sprintf("%s/team/v2-%d", w.reg, i))
			if err := remote.Write(repo.Tag("1"), mustImage(t, w, "team/a:1")); err != nil {
				t.Fatal(err)
			}
			if _, err := cosign.AttachBundle(t.Context(), repo, *descA, c.data, nil); err != nil {
				t.Fatal(err)
			}
			vd := w.verify(t, c.trust, repo.Tag("1").String())
			if c.want == "" {
				if !vd.Accepted {
					t.Fatalf("rejected: %+v", vd)
				}
				return
			}
			if vd.Accepted || len(vd.Signatures) != 1 || !strings.Contains(vd.Signatures[0].Reason, c.want) {
				t.Fatalf("want a rejection saying %q: %+v", c.want, vd)
			}
		})
	}
}
