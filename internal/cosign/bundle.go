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

	"github.com/hull-sec/hull/internal/image"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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
// the OCI 1.1 referrers API, or the sha256-<hex> tag fallback on
// registries without it. Every size is bounded.
func FetchBundles(ctx context.Context, repo name.Repository, digest v1.Hash, opts []remote.Option) ([]Stored, error) {
	refs, err := image.Referrers(ctx, repo, digest, BundleMediaType, []string{BundleMediaType}, opts)
	if err != nil {
		return nil, err
	}
	out := make([]Stored, len(refs))
	for i, r := range refs {
		out[i] = Stored{Location: r.Location, Payload: r.Blob, Err: r.Err}
		if r.Err != nil {
			out[i].Err = fmt.Errorf("%w: %v", ErrInvalid, r.Err)
		}
	}
	return out, nil
}

// AttachBundle pushes a bundle as cosign does: an OCI manifest with the
// bundle as its one layer, an empty config and the image as subject, so
// the referrers API (or the fallback tag) lists it.
func AttachBundle(ctx context.Context, repo name.Repository, subject v1.Descriptor, bundle []byte, opts []remote.Option) (name.Digest, error) {
	return image.PushReferrer(ctx, repo, subject, BundleMediaType, BundleMediaType, bundle,
		map[string]string{"dev.sigstore.bundle.content": "dsse-envelope", "dev.sigstore.bundle.predicateType": SignPredicateType}, opts)
}
