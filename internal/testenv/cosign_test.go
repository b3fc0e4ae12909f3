//go:build unix

package testenv

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	it "github.com/hull-sec/hull/internal/imagetest"
)

// cosignPush pushes a one-file image to reg/hull/app:tag and returns its
// manifest digest.
func cosignPush(t *testing.T, reg, tag, content string) string {
	t.Helper()
	ref, err := name.ParseReference(reg+"/hull/app:"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img := it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("a", content, 0o644)))
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// regGet fetches /v2/hull/app/PATH (manifests with every known media type
// accepted) and returns the body and Content-Type.
func regGet(t *testing.T, reg, path string) ([]byte, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+reg+"/v2/hull/app/"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", strings.Join([]string{string(types.OCIManifestSchema1), string(types.OCIImageIndex),
		string(types.DockerManifestSchema2), string(types.DockerManifestList)}, ","))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", path, resp.Status, body)
	}
	return body, resp.Header.Get("Content-Type")
}

// regPutManifest PUTs a raw manifest to /v2/hull/app/manifests/REF (plain
// HTTP: ggcr's remote.Put would also update a subject's fallback tag).
func regPutManifest(t *testing.T, reg, ref, mediaType string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, "http://"+reg+"/v2/hull/app/manifests/"+ref, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mediaType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("PUT manifest %s: %s: %s", ref, resp.Status, b)
	}
}

// regPutBlob uploads data and returns its descriptor.
func regPutBlob(t *testing.T, reg, mediaType string, data []byte) v1.Descriptor {
	t.Helper()
	repo, err := name.NewRepository(reg+"/hull/app", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	l := static.NewLayer(data, types.MediaType(mediaType))
	if err := remote.WriteLayer(repo, l); err != nil {
		t.Fatal(err)
	}
	d, _ := l.Digest()
	return v1.Descriptor{MediaType: types.MediaType(mediaType), Digest: d, Size: int64(len(data))}
}

func tagOf(digest string) string { return strings.Replace(digest, ":", "-", 1) }

// cosignRefused checks that err is a refusal with exit status code whose
// message contains want.
func cosignRefused(t *testing.T, what string, err error, code int, want string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: cosign verify accepted it", what)
		return
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("%s: error %v, want %q", what, err, want)
		return
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != code {
		t.Errorf("%s: %v, want exit status %d", what, err, code)
	}
	t.Logf("%s: refused as expected (exit %d): %s", what, code, lastLine(err.Error()))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestCosign(t *testing.T) {
	t.Parallel()
	timed(t, "Cosign (build or find)", func() { Cosign(t) })
	var reg string
	timed(t, "Registry", func() { reg = Registry(t) })

	// Key pair: encrypted PEM private key, PKIX P-256 public key.
	var priv, pub string
	timed(t, "CosignKeyPair", func() { priv, pub = CosignKeyPair(t) })
	keyPEM, _ := os.ReadFile(priv)
	if b, _ := pem.Decode(keyPEM); b == nil || b.Type != "ENCRYPTED SIGSTORE PRIVATE KEY" {
		t.Fatalf("cosign.key is not an ENCRYPTED SIGSTORE PRIVATE KEY PEM block:\n%s", keyPEM)
	} else {
		var env struct {
			KDF struct {
				Name   string
				Params map[string]int
			}
			Cipher struct{ Name string }
		}
		if err := json.Unmarshal(b.Bytes, &env); err != nil {
			t.Fatalf("cosign.key PEM body: %v", err)
		}
		t.Logf("cosign.key: PEM %q, JSON kdf %s %v, cipher %s", b.Type, env.KDF.Name, env.KDF.Params, env.Cipher.Name)
	}
	pubPEM, _ := os.ReadFile(pub)
	pb, _ := pem.Decode(pubPEM)
	if pb == nil || pb.Type != "PUBLIC KEY" {
		t.Fatalf("cosign.pub:\n%s", pubPEM)
	}
	pk, err := x509.ParsePKIXPublicKey(pb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ecPub, ok := pk.(*ecdsa.PublicKey)
	if !ok || ecPub.Curve != elliptic.P256() {
		t.Fatalf("cosign.pub holds %T, want an ECDSA P-256 key", pk)
	}
	spkiHash := sha256.Sum256(pb.Bytes)

	legacy := cosignPush(t, reg, "legacy", "legacy\n")
	bundled := cosignPush(t, reg, "bundle", "bundle\n")
	cosignPush(t, reg, "unsigned", "unsigned\n")

	// Legacy signature: an image tagged sha256-HEX.sig.
	timed(t, "CosignSign legacy", func() {
		if err := CosignSign(t, priv, reg+"/hull/app@"+legacy, false); err != nil {
			t.Fatal(err)
		}
	})
	sigTag := tagOf(legacy) + ".sig"
	raw, ct := regGet(t, reg, "manifests/"+sigTag)
	t.Logf("legacy %s (%s):\n%s", sigTag, ct, raw)
	var sigMan v1.Manifest
	if err := json.Unmarshal(raw, &sigMan); err != nil {
		t.Fatal(err)
	}
	if sigMan.MediaType != types.OCIManifestSchema1 || sigMan.Config.MediaType != types.OCIConfigJSON ||
		len(sigMan.Layers) != 1 || sigMan.Layers[0].MediaType != "application/vnd.dev.cosign.simplesigning.v1+json" {
		t.Fatalf("legacy signature manifest: %s", raw)
	}
	payload, _ := regGet(t, reg, "blobs/"+sigMan.Layers[0].Digest.String())
	t.Logf("legacy payload: %s", payload)
	var p struct {
		Critical struct {
			Identity struct {
				DockerReference string `json:"docker-reference"`
			}
			Image struct {
				DockerManifestDigest string `json:"docker-manifest-digest"`
			}
			Type string
		}
		Optional map[string]any
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatal(err)
	}
	if p.Critical.Type != "cosign container image signature" || p.Critical.Image.DockerManifestDigest != legacy ||
		p.Critical.Identity.DockerReference != reg+"/hull/app" {
		t.Fatalf("legacy payload %s", payload)
	}
	sig, err := base64.StdEncoding.DecodeString(sigMan.Layers[0].Annotations["dev.cosignproject.cosign/signature"])
	if err != nil {
		t.Fatal(err)
	}
	if h := sha256.Sum256(payload); !ecdsa.VerifyASN1(ecPub, h[:], sig) {
		t.Fatalf("annotation dev.cosignproject.cosign/signature is not an ASN.1 ECDSA signature of SHA-256(payload)")
	}
	cfg, _ := regGet(t, reg, "blobs/"+sigMan.Config.Digest.String())
	t.Logf("legacy signature config: %s", cfg)
	timed(t, "CosignVerify legacy", func() {
		if err := CosignVerify(t, pub, reg+"/hull/app:legacy"); err != nil {
			t.Fatal(err)
		}
	})

	// Bundle: on a registry without referrers API, an index tagged sha256-HEX.
	timed(t, "CosignSign bundle", func() {
		if err := CosignSign(t, priv, reg+"/hull/app@"+bundled, true); err != nil {
			t.Fatal(err)
		}
	})
	idxRaw, ct := regGet(t, reg, "manifests/"+tagOf(bundled))
	t.Logf("bundle fallback tag %s (%s):\n%s", tagOf(bundled), ct, idxRaw)
	var idx v1.IndexManifest
	if err := json.Unmarshal(idxRaw, &idx); err != nil || len(idx.Manifests) != 1 {
		t.Fatalf("fallback index: %v %s", err, idxRaw)
	}
	bmRaw, ct := regGet(t, reg, "manifests/"+idx.Manifests[0].Digest.String())
	t.Logf("bundle manifest (%s):\n%s", ct, bmRaw)
	var bm v1.Manifest
	if err := json.Unmarshal(bmRaw, &bm); err != nil {
		t.Fatal(err)
	}
	if bm.ArtifactType != "application/vnd.dev.sigstore.bundle.v0.3+json" || bm.Subject == nil ||
		bm.Subject.Digest.String() != bundled || len(bm.Layers) != 1 ||
		bm.Layers[0].MediaType != "application/vnd.dev.sigstore.bundle.v0.3+json" {
		t.Fatalf("bundle manifest %s", bmRaw)
	}
	bundleJSON, _ := regGet(t, reg, "blobs/"+bm.Layers[0].Digest.String())
	t.Logf("bundle: %s", bundleJSON)
	var bundle struct {
		MediaType            string
		VerificationMaterial struct{ PublicKey struct{ Hint string } }
		DSSEEnvelope         struct {
			Payload     []byte
			PayloadType string
			Signatures  []struct {
				Sig   []byte
				KeyID string
			}
		}
	}
	if err := json.Unmarshal(bundleJSON, &bundle); err != nil {
		t.Fatal(err)
	}
	if bundle.MediaType != "application/vnd.dev.sigstore.bundle.v0.3+json" ||
		bundle.VerificationMaterial.PublicKey.Hint != base64.StdEncoding.EncodeToString(spkiHash[:]) ||
		bundle.DSSEEnvelope.PayloadType != "application/vnd.in-toto+json" || len(bundle.DSSEEnvelope.Signatures) != 1 {
		t.Fatalf("bundle %s", bundleJSON)
	}
	t.Logf("bundle DSSE payload: %s", bundle.DSSEEnvelope.Payload)
	var stmt struct {
		Type    string `json:"_type"`
		Subject []struct {
			Name   string
			Digest map[string]string
		}
		PredicateType string
		Predicate     json.RawMessage
	}
	if err := json.Unmarshal(bundle.DSSEEnvelope.Payload, &stmt); err != nil {
		t.Fatal(err)
	}
	if stmt.Type != "https://in-toto.io/Statement/v1" || len(stmt.Subject) != 1 ||
		"sha256:"+stmt.Subject[0].Digest["sha256"] != bundled || stmt.PredicateType != "https://sigstore.dev/cosign/sign/v1" {
		t.Fatalf("in-toto statement %s", bundle.DSSEEnvelope.Payload)
	}
	pae := fmt.Sprintf("DSSEv1 %d %s %d %s", len(bundle.DSSEEnvelope.PayloadType), bundle.DSSEEnvelope.PayloadType,
		len(bundle.DSSEEnvelope.Payload), bundle.DSSEEnvelope.Payload)
	if h := sha256.Sum256([]byte(pae)); !ecdsa.VerifyASN1(ecPub, h[:], bundle.DSSEEnvelope.Signatures[0].Sig) {
		t.Fatalf("DSSE signature is not an ASN.1 ECDSA signature of SHA-256(PAE)")
	}
	timed(t, "CosignVerify bundle", func() {
		if err := CosignVerify(t, pub, reg+"/hull/app:bundle"); err != nil {
			t.Fatal(err)
		}
	})

	// Refusals.
	otherPriv, otherPub := CosignKeyPair(t)
	cosignRefused(t, "unsigned", CosignVerify(t, pub, reg+"/hull/app:unsigned"), 10, "Error: no signatures found")
	cosignRefused(t, "legacy, other key", CosignVerify(t, otherPub, reg+"/hull/app:legacy"),
		12, "no matching signatures: invalid signature when validating ASN.1 encoded signature")
	cosignRefused(t, "bundle, other key", CosignVerify(t, otherPub, reg+"/hull/app:bundle"),
		1, "no matching attestations: failed to verify signature: could not verify envelope: accepted signatures do not match threshold, Found: 0, Expected 1")

	// The legacy signature of another image copied onto this one's tag.
	moved := cosignPush(t, reg, "moved", "moved\n")
	regPutManifest(t, reg, tagOf(moved)+".sig", string(types.OCIManifestSchema1), raw)
	cosignRefused(t, "legacy, signature of another image", CosignVerify(t, pub, reg+"/hull/app:moved"),
		12, "no matching signatures: invalid or missing digest in claim: "+legacy)

	// One byte of the legacy payload changed (same annotation).
	tampered := cosignPush(t, reg, "tampered", "tampered\n")
	if err := CosignSign(t, priv, reg+"/hull/app@"+tampered, false); err != nil {
		t.Fatal(err)
	}
	traw, _ := regGet(t, reg, "manifests/"+tagOf(tampered)+".sig")
	var tm v1.Manifest
	if err := json.Unmarshal(traw, &tm); err != nil {
		t.Fatal(err)
	}
	tpayload, _ := regGet(t, reg, "blobs/"+tm.Layers[0].Digest.String())
	tpayload = bytes.Replace(tpayload, []byte(`"optional":null`), []byte(`"optional":{  }`), 1)
	if !json.Valid(tpayload) {
		t.Fatalf("tampered payload %s", tpayload)
	}
	d := regPutBlob(t, reg, string(tm.Layers[0].MediaType), tpayload)
	tm.Layers[0].Digest, tm.Layers[0].Size = d.Digest, d.Size
	traw, _ = json.Marshal(tm)
	regPutManifest(t, reg, tagOf(tampered)+".sig", string(types.OCIManifestSchema1), traw)
	cosignRefused(t, "legacy, payload changed", CosignVerify(t, pub, reg+"/hull/app:tampered"),
		12, "no matching signatures: invalid signature when validating ASN.1 encoded signature")

	// The bundle index of another image copied onto this one's fallback tag.
	bmoved := cosignPush(t, reg, "bmoved", "bmoved\n")
	regPutManifest(t, reg, tagOf(bmoved), string(types.OCIImageIndex), idxRaw)
	cosignRefused(t, "bundle, bundle of another image", CosignVerify(t, pub, reg+"/hull/app:bmoved"),
		1, "no matching attestations: failed to verify signature: provided artifact digest does not match any digest in statement")

	// One byte of the DSSE payload changed: a new bundle blob and manifest,
	// and a fallback index naming only it.
	btampered := cosignPush(t, reg, "btampered", "btampered\n")
	if err := CosignSign(t, priv, reg+"/hull/app@"+btampered, true); err != nil {
		t.Fatal(err)
	}
	bidx, _ := regGet(t, reg, "manifests/"+tagOf(btampered))
	var bi v1.IndexManifest
	if err := json.Unmarshal(bidx, &bi); err != nil {
		t.Fatal(err)
	}
	bmr, _ := regGet(t, reg, "manifests/"+bi.Manifests[0].Digest.String())
	var bmt v1.Manifest
	if err := json.Unmarshal(bmr, &bmt); err != nil {
		t.Fatal(err)
	}
	bj, _ := regGet(t, reg, "blobs/"+bmt.Layers[0].Digest.String())
	var generic map[string]any
	if err := json.Unmarshal(bj, &generic); err != nil {
		t.Fatal(err)
	}
	env := generic["dsseEnvelope"].(map[string]any)
	pl, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
	env["payload"] = base64.StdEncoding.EncodeToString(bytes.Replace(pl, []byte(`"_type":`), []byte(`"_type" :`), 1))
	bj, _ = json.Marshal(generic)
	bd := regPutBlob(t, reg, string(bmt.Layers[0].MediaType), bj)
	bmt.Layers[0].Digest, bmt.Layers[0].Size = bd.Digest, bd.Size
	bmr, _ = json.Marshal(bmt)
	h, _, _ := v1.SHA256(bytes.NewReader(bmr))
	regPutManifest(t, reg, h.String(), string(types.OCIManifestSchema1), bmr)
	bi.Manifests[0].Digest, bi.Manifests[0].Size = h, int64(len(bmr))
	bidx, _ = json.Marshal(bi)
	regPutManifest(t, reg, tagOf(btampered), string(types.OCIImageIndex), bidx)
	cosignRefused(t, "bundle, DSSE payload changed", CosignVerify(t, pub, reg+"/hull/app:btampered"),
		1, "no matching attestations: failed to verify signature: could not verify envelope: accepted signatures do not match threshold, Found: 0, Expected 1")

	// Bundles take precedence: with a legacy signature by one key and a
	// bundle by another, only the bundle's key is accepted.
	both := cosignPush(t, reg, "both", "both\n")
	if err := CosignSign(t, priv, reg+"/hull/app@"+both, false); err != nil {
		t.Fatal(err)
	}
	if err := CosignVerify(t, pub, reg+"/hull/app:both"); err != nil {
		t.Fatalf("legacy signature alone: %v", err)
	}
	if err := CosignSign(t, otherPriv, reg+"/hull/app@"+both, true); err != nil {
		t.Fatal(err)
	}
	cosignRefused(t, "legacy key once a bundle by another key exists", CosignVerify(t, pub, reg+"/hull/app:both"),
		1, "no matching attestations")
	if err := CosignVerify(t, otherPub, reg+"/hull/app:both"); err != nil {
		t.Errorf("bundle key: %v", err)
	}
}

// TestCosignOffline shows what the network guard and the local trusted root
// are for: without --trusted-root, cosign verify asks the TUF CDN.
func TestCosignOffline(t *testing.T) {
	t.Parallel()
	reg := Registry(t)
	priv, pub := CosignKeyPair(t)
	digest := cosignPush(t, reg, "offline", "offline\n")
	for _, bundle := range []bool{false, true} {
		r, err := runCosign(t, t.TempDir(), "sign", "--key", priv, "--tlog-upload=false",
			fmt.Sprintf("--new-bundle-format=%t", bundle), "--allow-insecure-registry", "--allow-http-registry", "-y",
			reg+"/hull/app@"+digest)
		if err != nil || len(r.network) != 0 {
			t.Fatalf("sign (bundle %t): %v, network %v", bundle, err, r.network)
		}
	}
	r, err := runCosign(t, t.TempDir(), "verify", "--key", pub, "--insecure-ignore-tlog",
		"--trusted-root", cosignTrustedRootFile(t), "--allow-insecure-registry", "--allow-http-registry", reg+"/hull/app:offline")
	if err != nil || len(r.network) != 0 {
		t.Fatalf("verify with --trusted-root: %v, network %v", err, r.network)
	}
	r, err = runCosign(t, t.TempDir(), "verify", "--key", pub, "--insecure-ignore-tlog",
		"--allow-insecure-registry", "--allow-http-registry", reg+"/hull/app:offline")
	t.Logf("verify without --trusted-root: err %v, network %v, stderr:\n%s", err, r.network, r.stderr)
	if len(r.network) == 0 {
		t.Errorf("verify without --trusted-root did not try the network: the guard may not work")
	}
}
