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
	"github.com/hull-sec/hull/internal/sigstore"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The names of the sigstore bundle format as cosign uses it for images
// (cosign v3's default, v2's --new-bundle-format): a bundle holding a
// DSSE envelope over an in-toto statement whose subject is the image,
// stored as an OCI 1.1 referrer of the image.
const (
	BundleMediaType   = sigstore.BundleMediaType
	InTotoPayloadType = "application/vnd.in-toto+json"
	InTotoStatement   = "https://in-toto.io/Statement/v1"
	SignPredicateType = "https://sigstore.dev/cosign/sign/v1"
)

type statement struct {
	Type    string `json:"_type"`
	Subject []struct {
		Name   string            `json:"name,omitempty"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate,omitempty"`
}

// parseImageBundle reads a bundle that can be an image signature: a DSSE
// envelope of an in-toto statement, signed with a certificate (keyless)
// or with a key, as the caller wants.
func parseImageBundle(data []byte, keyless bool) (*sigstore.Bundle, error) {
	b, err := sigstore.ParseBundle(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	hasCert := b.VerificationMaterial.Certificate != nil || b.VerificationMaterial.X509CertificateChain != nil
	switch {
	case hasCert && !keyless:
		return nil, fmt.Errorf("%w: a keyless (certificate) bundle, not one signed with a key", ErrInvalid)
	case !hasCert && keyless:
		return nil, fmt.Errorf("%w: a bundle signed with a key, not a keyless one", ErrInvalid)
	case b.DSSEEnvelope == nil:
		return nil, fmt.Errorf("%w: bundle holds no DSSE envelope (a blob signature, not an image's)", ErrInvalid)
	case b.DSSEEnvelope.PayloadType != InTotoPayloadType:
		return nil, fmt.Errorf("%w: envelope payload type %q", ErrInvalid, b.DSSEEnvelope.PayloadType)
	}
	return b, nil
}

// VerifyBundle checks a key-based bundle for an image digest: one DSSE
// signature by pub over the statement, a statement that is cosign's image
// signature (not some other attestation by the same key) and names digest.
func VerifyBundle(pub crypto.PublicKey, data []byte, digest v1.Hash) error {
	b, err := parseImageBundle(data, false)
	if err != nil {
		return err
	}
	env := b.DSSEEnvelope
	pae := sigstore.PAE(env.PayloadType, env.Payload)
	verr := fmt.Errorf("%w: envelope has no signature", ErrInvalid)
	for _, s := range env.Signatures {
		if verr = VerifySignature(pub, pae, s.Sig); verr == nil {
			break
		}
	}
	if verr != nil {
		return verr
	}
	return checkStatement(env.Payload, digest)
}

// VerifyKeylessBundle checks a keyless bundle for an image digest against
// a trusted root and returns who signed it and when; the caller judges
// the identity.
func VerifyKeylessBundle(tr *sigstore.TrustedRoot, data []byte, digest v1.Hash) (sigstore.Verified, error) {
	b, err := parseImageBundle(data, true)
	if err != nil {
		return sigstore.Verified{}, err
	}
	s, err := b.Signed()
	if err != nil {
		return sigstore.Verified{}, err
	}
	v, err := tr.Verify(s)
	if err != nil {
		return v, err
	}
	return v, checkStatement(b.DSSEEnvelope.Payload, digest)
}

// checkStatement checks that a signed statement is cosign's image
// signature and names digest.
func checkStatement(payload []byte, digest v1.Hash) error {
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
	sig, err := Sign(key, sigstore.PAE(InTotoPayloadType, payload))
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	hint := sha256.Sum256(der)
	b := sigstore.Bundle{MediaType: BundleMediaType, DSSEEnvelope: &sigstore.Envelope{Payload: payload, PayloadType: InTotoPayloadType}}
	b.VerificationMaterial.PublicKey = &struct {
		Hint string `json:"hint"`
	}{Hint: base64.StdEncoding.EncodeToString(hint[:])}
	b.DSSEEnvelope.Signatures = append(b.DSSEEnvelope.Signatures, struct {
		Sig   []byte `json:"sig"`
		KeyID string `json:"keyid,omitempty"`
	}{Sig: sig})
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
