package cosign

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/hull-sec/hull/internal/sigstore"
)

// rekorBundle is cosign's dev.sigstore.cosign/bundle annotation: a Rekor
// entry and the log's signed entry timestamp over it.
type rekorBundle struct {
	SignedEntryTimestamp []byte `json:"SignedEntryTimestamp"`
	Payload              struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	} `json:"Payload"`
}

// VerifyKeyless checks a classic keyless signature (a .sig layer with the
// Fulcio certificate and Rekor bundle in its annotations) against a
// trusted root, then parses the payload. The caller checks the payload
// names the image and judges the identity.
func VerifyKeyless(tr *sigstore.TrustedRoot, st Stored) (Payload, sigstore.Verified, error) {
	var none sigstore.Verified
	block, _ := pem.Decode([]byte(st.Certificate))
	if block == nil || block.Type != "CERTIFICATE" {
		return Payload{}, none, fmt.Errorf("%w: no certificate: not a keyless signature", ErrInvalid)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return Payload{}, none, fmt.Errorf("%w: certificate: %v", ErrInvalid, err)
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(st.Signature))
	if err != nil {
		return Payload{}, none, fmt.Errorf("%w: signature annotation is not base64: %v", ErrInvalid, err)
	}
	sum := sha256.Sum256(st.Payload)
	s := sigstore.Signed{Cert: cert, Content: sigstore.Content{Digest: sum[:], Signature: sig}}
	if st.RekorBundle != "" {
		e, err := entryFromRekorBundle(st.RekorBundle)
		if err != nil {
			return Payload{}, none, err
		}
		s.Entries = append(s.Entries, e)
	}
	v, err := tr.Verify(s)
	if err != nil {
		return Payload{}, v, err
	}
	p, err := ParsePayload(st.Payload)
	return p, v, err
}

func entryFromRekorBundle(annotation string) (sigstore.Entry, error) {
	var e sigstore.Entry
	var rb rekorBundle
	if err := json.Unmarshal([]byte(annotation), &rb); err != nil {
		return e, fmt.Errorf("%w: Rekor bundle annotation: %v", ErrInvalid, err)
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		return e, fmt.Errorf("%w: Rekor bundle body is not base64", ErrInvalid)
	}
	id, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil {
		return e, fmt.Errorf("%w: Rekor bundle log ID is not hex", ErrInvalid)
	}
	var kind struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(body, &kind); err != nil {
		return e, fmt.Errorf("%w: Rekor entry body: %v", ErrInvalid, err)
	}
	e.LogIndex = sigstore.Int64(rb.Payload.LogIndex)
	e.LogID.KeyID = id
	e.KindVersion.Kind, e.KindVersion.Version = kind.Kind, kind.APIVersion
	e.IntegratedTime = sigstore.Int64(rb.Payload.IntegratedTime)
	e.CanonicalizedBody = body
	e.InclusionPromise = &struct {
		SignedEntryTimestamp []byte `json:"signedEntryTimestamp"`
	}{rb.SignedEntryTimestamp}
	return e, nil
}
