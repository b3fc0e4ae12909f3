package cosign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The names of the sigstore bundle format as cosign uses it for images
// (cosign v3's default, v2's --new-bundle-format): a bundle holding a
// DSSE envelope over an in-toto statement whose subject is the image,
// stored as an OCI 1.1 referrer of the image.
const (
	BundleMediaType   = "application/vnd.dev.sigstore.bundle.v0.3+json"
	InTotoPayloadType = "application/vnd.in-toto+json"
	InTotoStatement   = "https://in-toto.io/Statement/v1"
	SignPredicateType = "https://sigstore.dev/cosign/sign/v1"
	emptyMediaType    = "application/vnd.oci.empty.v1+json"
)

// Bundle is the subset of a sigstore bundle that key-based image
// signatures use.
type Bundle struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial struct {
		PublicKey *struct {
			Hint string `json:"hint"`
		} `json:"publicKey,omitempty"`
		Certificate json.RawMessage `json:"certificate,omitempty"`
	} `json:"verificationMaterial"`
	DSSEEnvelope *Envelope `json:"dsseEnvelope,omitempty"`
}

// Envelope is a DSSE envelope.
type Envelope struct {
	Payload     string `json:"payload"`
	PayloadType string `json:"payloadType"`
	Signatures  []struct {
		Sig   string `json:"sig"`
		KeyID string `json:"keyid,omitempty"`
	} `json:"signatures"`
}

type statement struct {
	Type    string `json:"_type"`
	Subject []struct {
		Name   string            `json:"name,omitempty"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate,omitempty"`
}

// PAE is DSSE's pre-authentication encoding, what the signature covers.
func PAE(payloadType string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload)
}

// VerifyBundle checks a key-based bundle for an image digest: one DSSE
// signature by pub over the statement, a statement that is cosign's image
// signature (not some other attestation by the same key) and names digest.
// Certificate (keyless) bundles are refused here: they need a trusted
// root and an identity, which this build does not check yet.
func VerifyBundle(pub crypto.PublicKey, data []byte, digest v1.Hash) error {
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("%w: bundle: %v", ErrInvalid, err)
	}
	switch {
	case b.MediaType != BundleMediaType:
		return fmt.Errorf("%w: bundle media type %q", ErrInvalid, b.MediaType)
	case len(b.VerificationMaterial.Certificate) > 0:
		return fmt.Errorf("%w: keyless (certificate) bundles are not supported yet", ErrInvalid)
	case b.DSSEEnvelope == nil:
		return fmt.Errorf("%w: bundle holds no DSSE envelope", ErrInvalid)
	case b.DSSEEnvelope.PayloadType != InTotoPayloadType:
		return fmt.Errorf("%w: envelope payload type %q", ErrInvalid, b.DSSEEnvelope.PayloadType)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSEEnvelope.Payload)
	if err != nil {
		return fmt.Errorf("%w: envelope payload is not base64", ErrInvalid)
	}
	pae := PAE(b.DSSEEnvelope.PayloadType, payload)
	verr := fmt.Errorf("%w: envelope has no signature", ErrInvalid)
	for _, s := range b.DSSEEnvelope.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil {
			verr = fmt.Errorf("%w: envelope signature is not base64", ErrInvalid)
			continue
		}
		if verr = VerifySignature(pub, pae, sig); verr == nil {
			break
		}
	}
	if verr != nil {
		return verr
	}
	var st statement
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("%w: statement: %v", ErrInvalid, err)
	}
	if st.Type != InTotoStatement || st.PredicateType != SignPredicateType {
		return fmt.Errorf("%w: statement is %s with predicate %s, not an image signature", ErrInvalid, st.Type, st.PredicateType)
	}
	for _, s := range st.Subject {
		if s.Digest[digest.Algorithm] == digest.Hex {
			return nil
		}
	}
	return fmt.Errorf("%w: the statement's subject is not %s", ErrInvalid, digest)
}

// MakeBundle signs a cosign image-signature statement for digest.
func MakeBundle(key crypto.Signer, digest v1.Hash) ([]byte, error) {
	st := statement{Type: InTotoStatement, PredicateType: SignPredicateType}
	st.Subject = append(st.Subject, struct {
		Name   string            `json:"name,omitempty"`
		Digest map[string]string `json:"digest"`
	}{Digest: map[string]string{digest.Algorithm: digest.Hex}})
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	sig, err := Sign(key, PAE(InTotoPayloadType, payload))
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	hint := sha256.Sum256(der)
	b := Bundle{MediaType: BundleMediaType, DSSEEnvelope: &Envelope{Payload: base64.StdEncoding.EncodeToString(payload), PayloadType: InTotoPayloadType}}
	b.VerificationMaterial.PublicKey = &struct {
		Hint string `json:"hint"`
	}{Hint: base64.StdEncoding.EncodeToString(hint[:])}
	b.DSSEEnvelope.Signatures = append(b.DSSEEnvelope.Signatures, struct {
		Sig   string `json:"sig"`
		KeyID string `json:"keyid,omitempty"`
	}{Sig: base64.StdEncoding.EncodeToString(sig)})
	return json.Marshal(b)
}

// FetchBundles reads the sigstore bundles that refer to digest: through
// the OCI 1.1 referrers API, or go-containerregistry's fallback to the
// sha256-<hex> tag on registries without it. Every size is bounded.
func FetchBundles(ctx context.Context, repo name.Repository, digest v1.Hash, opts []remote.Option) ([]Stored, error) {
	opts = append(opts, remote.WithContext(ctx))
	idx, err := remote.Referrers(repo.Digest(digest.String()), opts...)
	if err != nil {
		if notFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("list referrers of %s: %w", digest, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", digest, err)
	}
	var out []Stored
	for i, d := range im.Manifests {
		if i >= MaxSignatures {
			out = append(out, Stored{Location: "referrers", Err: fmt.Errorf("%w: more than %d referrers", ErrInvalid, MaxSignatures)})
			break
		}
		loc := repo.Digest(d.Digest.String()).String()
		if d.Size > MaxManifestBytes || !d.MediaType.IsImage() {
			continue // not a bundle manifest: other artifacts may refer to the image
		}
		desc, err := remote.Get(repo.Digest(d.Digest.String()), opts...)
		if err != nil {
			return nil, fmt.Errorf("read referrer %s: %w", loc, err)
		}
		m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			out = append(out, Stored{Location: loc, Err: fmt.Errorf("%w: referrer manifest: %v", ErrInvalid, err)})
			continue
		}
		if m.ArtifactType != BundleMediaType && (len(m.Layers) != 1 || m.Layers[0].MediaType != BundleMediaType) {
			continue
		}
		s := Stored{Location: loc}
		switch {
		case len(m.Layers) != 1:
			s.Err = fmt.Errorf("%w: bundle manifest has %d layers", ErrInvalid, len(m.Layers))
		case m.Layers[0].Size > MaxPayloadBytes || m.Layers[0].Size < 0:
			s.Err = fmt.Errorf("%w: bundle is %d bytes", ErrInvalid, m.Layers[0].Size)
		default:
			s.Payload, s.Err = readBlob(repo.Digest(m.Layers[0].Digest.String()), opts)
		}
		out = append(out, s)
	}
	return out, nil
}

// rawManifest is a manifest to push as it is.
type rawManifest struct {
	body []byte
	mt   types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.body, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }
func (r rawManifest) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(r.body))
	return h, err
}
func (r rawManifest) Size() (int64, error) { return int64(len(r.body)), nil }

// AttachBundle pushes a bundle as cosign does: an OCI manifest with the
// bundle as its one layer, an empty config and the image as subject, so
// the referrers API (or the fallback tag) lists it.
func AttachBundle(ctx context.Context, repo name.Repository, subject v1.Descriptor, bundle []byte, opts []remote.Option) (name.Digest, error) {
	opts = append(opts, remote.WithContext(ctx))
	cfg := static.NewLayer([]byte("{}"), emptyMediaType)
	layer := static.NewLayer(bundle, BundleMediaType)
	for _, l := range []v1.Layer{cfg, layer} {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return name.Digest{}, fmt.Errorf("push bundle blob: %w", err)
		}
	}
	desc := func(l v1.Layer) v1.Descriptor {
		d, _ := l.Digest()
		n, _ := l.Size()
		mt, _ := l.MediaType()
		return v1.Descriptor{MediaType: mt, Digest: d, Size: n}
	}
	m := v1.Manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: BundleMediaType,
		Config: desc(cfg), Layers: []v1.Descriptor{desc(layer)}, Subject: &subject,
		Annotations: map[string]string{"dev.sigstore.bundle.content": "dsse-envelope", "dev.sigstore.bundle.predicateType": SignPredicateType},
	}
	body, err := json.Marshal(m)
	if err != nil {
		return name.Digest{}, err
	}
	rm := rawManifest{body: body, mt: types.OCIManifestSchema1}
	d, _ := rm.Digest()
	ref := repo.Digest(d.String())
	if err := remote.Put(ref, rm, opts...); err != nil {
		return ref, fmt.Errorf("push bundle manifest: %w", err)
	}
	return ref, nil
}
