package sigstore

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
)

// BundleMediaType is the sigstore bundle version hull writes (v0.3);
// ParseBundle also reads v0.1 and v0.2.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

var bundleMediaTypes = map[string]bool{
	BundleMediaType: true,
	"application/vnd.dev.sigstore.bundle+json;version=0.1": true,
	"application/vnd.dev.sigstore.bundle+json;version=0.2": true,
	"application/vnd.dev.sigstore.bundle+json;version=0.3": true,
}

// MaxBundleBytes bounds a bundle.
const MaxBundleBytes = 4 << 20

// RawCert is a DER certificate in protobuf JSON.
type RawCert struct {
	RawBytes []byte `json:"rawBytes"`
}

// Bundle is a sigstore bundle (dev.sigstore.bundle.v1.Bundle, protobuf
// JSON): the verification material and one signed content.
type Bundle struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial struct {
		PublicKey *struct {
			Hint string `json:"hint"`
		} `json:"publicKey,omitempty"`
		Certificate          *RawCert `json:"certificate,omitempty"`
		X509CertificateChain *struct {
			Certificates []RawCert `json:"certificates"`
		} `json:"x509CertificateChain,omitempty"`
		TlogEntries               []Entry `json:"tlogEntries,omitempty"`
		TimestampVerificationData *struct {
			RFC3161Timestamps []struct {
				SignedTimestamp []byte `json:"signedTimestamp"`
			} `json:"rfc3161Timestamps"`
		} `json:"timestampVerificationData,omitempty"`
	} `json:"verificationMaterial"`
	MessageSignature *struct {
		MessageDigest struct {
			Algorithm string `json:"algorithm"`
			Digest    []byte `json:"digest"`
		} `json:"messageDigest"`
		Signature []byte `json:"signature"`
	} `json:"messageSignature,omitempty"`
	DSSEEnvelope *Envelope `json:"dsseEnvelope,omitempty"`
}

// ParseBundle reads a bundle and checks its shape: a known media type,
// exactly one of a message signature and a DSSE envelope.
func ParseBundle(data []byte) (*Bundle, error) {
	if len(data) > MaxBundleBytes {
		return nil, fmt.Errorf("%w: bundle is %d bytes, more than %d", ErrInvalid, len(data), MaxBundleBytes)
	}
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%w: bundle: %v", ErrInvalid, err)
	}
	switch {
	case !bundleMediaTypes[b.MediaType]:
		return nil, fmt.Errorf("%w: bundle media type %q", ErrInvalid, b.MediaType)
	case (b.MessageSignature == nil) == (b.DSSEEnvelope == nil):
		return nil, fmt.Errorf("%w: a bundle holds one message signature or one DSSE envelope", ErrInvalid)
	}
	return &b, nil
}

// Leaf returns the bundle's signing certificate, or nil for a bundle
// signed with a key.
func (b *Bundle) Leaf() (*x509.Certificate, error) {
	var der []byte
	vm := b.VerificationMaterial
	switch {
	case vm.Certificate != nil:
		der = vm.Certificate.RawBytes
	case vm.X509CertificateChain != nil && len(vm.X509CertificateChain.Certificates) > 0:
		der = vm.X509CertificateChain.Certificates[0].RawBytes
	default:
		return nil, nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: bundle certificate: %v", ErrInvalid, err)
	}
	return c, nil
}

// Signed assembles the bundle's keyless signature for Verify.
func (b *Bundle) Signed() (Signed, error) {
	leaf, err := b.Leaf()
	if err != nil {
		return Signed{}, err
	}
	if leaf == nil {
		return Signed{}, fmt.Errorf("%w: the bundle is signed with a key, not a certificate", ErrInvalid)
	}
	s := Signed{Cert: leaf, Entries: b.VerificationMaterial.TlogEntries, Content: Content{DSSE: b.DSSEEnvelope}}
	if tv := b.VerificationMaterial.TimestampVerificationData; tv != nil {
		for _, ts := range tv.RFC3161Timestamps {
			s.Timestamps = append(s.Timestamps, ts.SignedTimestamp)
		}
	}
	if m := b.MessageSignature; m != nil {
		if m.MessageDigest.Algorithm != "SHA2_256" {
			return Signed{}, fmt.Errorf("%w: message digest algorithm %q", ErrInvalid, m.MessageDigest.Algorithm)
		}
		s.Content = Content{Digest: m.MessageDigest.Digest, Signature: m.Signature}
	}
	return s, nil
}
