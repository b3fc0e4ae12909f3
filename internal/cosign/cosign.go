// Package cosign implements cosign's classic ("legacy") signature format
// for images signed with a key: a simple-signing payload naming the
// image's repository and digest, signed with ECDSA, RSA or Ed25519, stored
// as a layer of an OCI manifest tagged sha256-<hex>.sig in the image's
// repository, the base64 signature in the layer's annotation.
//
// Data flow: Fetch reads the .sig manifest and its payload layers with
// bounds on every size; Verify checks one payload and signature against a
// public key and parses the payload strictly; Sign makes a payload and
// signature and Attach pushes them the way cosign does, appending to any
// signatures already there.
package cosign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/hull-sec/hull/internal/keyname"
	"github.com/hull-sec/hull/internal/sigstore"
	"github.com/hull-sec/hull/internal/simplesign"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The names of cosign's format.
const (
	SignatureAnnotation   = "dev.cosignproject.cosign/signature"
	CertificateAnnotation = "dev.sigstore.cosign/certificate"
	RekorBundleAnnotation = "dev.sigstore.cosign/bundle"
	PayloadMediaType      = "application/vnd.dev.cosign.simplesigning.v1+json"
	PayloadType           = "cosign container image signature"
)

// Bounds on what a hostile registry can make hull read.
const (
	MaxManifestBytes = 4 << 20
	MaxPayloadBytes  = 1 << 20
	MaxSignatures    = 64
)

// ErrInvalid is wrapped by every rejection of a cosign signature.
var ErrInvalid = errors.New("invalid cosign signature")

// SignatureTag is the tag cosign stores an image's signatures under.
func SignatureTag(digest v1.Hash) string { return digest.Algorithm + "-" + digest.Hex + ".sig" }

// Payload is what a cosign signature asserts: the simple-signing
// payload shape, with DockerReference a repository without tag
// ("registry.example/team/app"), as cosign writes it.
type Payload = simplesign.Payload

// MarshalPayload writes the payload as cosign does.
func MarshalPayload(p Payload) ([]byte, error) { return simplesign.MarshalTyped(p, PayloadType) }

// ParsePayload reads a payload strictly (see simplesign.ParseTyped).
func ParsePayload(b []byte) (Payload, error) {
	p, err := simplesign.ParseTyped(b, PayloadType)
	if err != nil {
		return Payload{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return p, nil
}

// LoadPublicKey reads a PEM public key (PKIX): ECDSA, RSA or Ed25519.
func LoadPublicKey(data []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block in the public key file")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	switch pub.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
		return pub, nil
	}
	return nil, fmt.Errorf("public key: %s is not supported", keyname.Of(pub))
}

// KeyID names a public key in messages: "SHA256:" and the base64 of the
// digest of its PKIX encoding.
func KeyID(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "unknown key"
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// VerifySignature checks sig (raw bytes) over payload: ECDSA and RSA over
// its SHA-256, Ed25519 over the payload itself, as cosign signs.
func VerifySignature(pub crypto.PublicKey, payload, sig []byte) error {
	if !sigstore.SignatureValid(pub, payload, sig) {
		return fmt.Errorf("%w: the signature does not verify with key %s", ErrInvalid, KeyID(pub))
	}
	return nil
}

// Verify checks one signature layer: the base64 signature annotation
// over the payload bytes, then the payload itself.
func Verify(pub crypto.PublicKey, payload []byte, b64sig string) (Payload, error) {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64sig))
	if err != nil {
		return Payload{}, fmt.Errorf("%w: signature annotation is not base64: %v", ErrInvalid, err)
	}
	if err := VerifySignature(pub, payload, sig); err != nil {
		return Payload{}, err
	}
	return ParsePayload(payload)
}

// Sign signs payload the way cosign verifies it.
func Sign(key crypto.Signer, payload []byte) ([]byte, error) {
	if _, ok := key.Public().(ed25519.PublicKey); ok {
		return key.Sign(rand.Reader, payload, crypto.Hash(0))
	}
	sum := sha256.Sum256(payload)
	return key.Sign(rand.Reader, sum[:], crypto.SHA256)
}
