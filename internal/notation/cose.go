package notation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/veraison/go-cose"

	"github.com/hull-sec/hull/internal/keyname"
)

// The COSE header labels Notation uses besides the registered ones.
const (
	coseSigningAgent = "io.cncf.notary.signingAgent"
)

// coseAlgFor is the COSE algorithm Notation uses for a key.
func coseAlgFor(pub crypto.PublicKey) (cose.Algorithm, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048:
			return cose.AlgorithmPS256, nil
		case 3072:
			return cose.AlgorithmPS384, nil
		case 4096:
			return cose.AlgorithmPS512, nil
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return cose.AlgorithmES256, nil
		case elliptic.P384():
			return cose.AlgorithmES384, nil
		case elliptic.P521():
			return cose.AlgorithmES512, nil
		}
	}
	return 0, fmt.Errorf("%w: %s is not supported", ErrInvalid, keyname.Of(pub))
}

// coseHash is the hash of a COSE algorithm coseAlgFor picks.
func coseHash(alg cose.Algorithm) crypto.Hash {
	switch alg {
	case cose.AlgorithmES384, cose.AlgorithmPS384:
		return crypto.SHA384
	case cose.AlgorithmES512, cose.AlgorithmPS512:
		return crypto.SHA512
	}
	return crypto.SHA256
}

// VerifyCOSE checks a COSE_Sign1 envelope as VerifyJWS checks a JWS one.
func VerifyCOSE(data []byte, trust Trust, now time.Time) (Verified, error) {
	if len(data) > MaxEnvelopeBytes {
		return Verified{}, fmt.Errorf("%w: envelope is %d bytes", ErrInvalid, len(data))
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(data); err != nil {
		return Verified{}, fmt.Errorf("%w: COSE envelope: %v", ErrInvalid, err)
	}
	p := msg.Headers.Protected
	if ct, _ := p[cose.HeaderLabelContentType].(string); ct != PayloadContentType {
		return Verified{}, fmt.Errorf("%w: content type %v", ErrInvalid, p[cose.HeaderLabelContentType])
	}
	if s, _ := p[headerScheme].(string); s != SchemeX509 {
		return Verified{}, fmt.Errorf("%w: signing scheme %v is not supported (only %s)", ErrInvalid, p[headerScheme], SchemeX509)
	}
	signingTime, ok := p[headerSigningTime].(time.Time)
	if !ok {
		return Verified{}, fmt.Errorf("%w: no signing time", ErrInvalid)
	}
	crit, _ := p[cose.HeaderLabelCritical].([]any)
	hasScheme := false
	for _, c := range crit {
		switch c {
		case headerScheme:
			hasScheme = true
		case headerExpiry:
		default:
			return Verified{}, fmt.Errorf("%w: unknown critical header %v", ErrInvalid, c)
		}
	}
	if !hasScheme {
		return Verified{}, fmt.Errorf("%w: signing scheme not marked critical", ErrInvalid)
	}
	if e, ok := p[headerExpiry]; ok {
		exp, ok := e.(time.Time)
		if !ok || now.After(exp) {
			return Verified{}, fmt.Errorf("%w: the signature expired (or has a malformed expiry)", ErrInvalid)
		}
	}
	var ders [][]byte
	switch x := msg.Headers.Unprotected[cose.HeaderLabelX5Chain].(type) {
	case []byte:
		ders = [][]byte{x}
	case []any:
		for _, c := range x {
			b, ok := c.([]byte)
			if !ok {
				return Verified{}, fmt.Errorf("%w: malformed x5chain", ErrInvalid)
			}
			ders = append(ders, b)
		}
	}
	chain, err := parseChain(ders)
	if err != nil {
		return Verified{}, err
	}
	want, err := coseAlgFor(chain[0].PublicKey)
	if err != nil {
		return Verified{}, err
	}
	alg, err := p.Algorithm()
	if err != nil || alg != want {
		return Verified{}, fmt.Errorf("%w: algorithm %v does not match the certificate's key (%v)", ErrInvalid, alg, want)
	}
	verifier, err := cose.NewVerifier(alg, chain[0].PublicKey)
	if err != nil {
		return Verified{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := msg.Verify(nil, verifier); err != nil {
		return Verified{}, fmt.Errorf("%w: the signature does not verify with the leaf certificate's key", ErrInvalid)
	}
	stamp, _ := msg.Headers.Unprotected[headerTimestampSignature].([]byte)
	return finish(chain, trust, now, msg.Payload, signingTime, msg.Signature, stamp)
}

// timeTag encodes a time as CBOR tag 1 (epoch seconds), as Notation does.
func timeTag(t time.Time) (cbor.RawMessage, error) {
	em, err := cbor.EncOptions{Time: cbor.TimeUnix, TimeTag: cbor.EncTagRequired}.EncMode()
	if err != nil {
		return nil, err
	}
	return em.Marshal(t)
}

// SignCOSE makes a Notation COSE_Sign1 envelope for target.
func SignCOSE(key crypto.Signer, chain []*x509.Certificate, target v1.Descriptor, now time.Time, stamp Stamper) ([]byte, error) {
	alg, err := coseAlgFor(key.Public())
	if err != nil {
		return nil, err
	}
	pb, err := json.Marshal(payload{TargetArtifact: target})
	if err != nil {
		return nil, err
	}
	st, err := timeTag(now.UTC().Truncate(time.Second))
	if err != nil {
		return nil, err
	}
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(alg)
	msg.Headers.Protected[cose.HeaderLabelContentType] = PayloadContentType
	msg.Headers.Protected[headerScheme] = SchemeX509
	msg.Headers.Protected[headerSigningTime] = st
	msg.Headers.Protected[cose.HeaderLabelCritical] = []any{headerScheme}
	var x5 []any
	for _, c := range chain {
		x5 = append(x5, c.Raw)
	}
	msg.Headers.Unprotected[cose.HeaderLabelX5Chain] = x5
	msg.Headers.Unprotected[coseSigningAgent] = "hull"
	msg.Payload = pb
	signer, err := cose.NewSigner(alg, key)
	if err != nil {
		return nil, err
	}
	if err := msg.Sign(rand.Reader, nil, signer); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if stamp != nil {
		token, err := stamp(msg.Signature, coseHash(alg))
		if err != nil {
			return nil, err
		}
		msg.Headers.Unprotected[headerTimestampSignature] = token
	}
	return msg.MarshalCBOR()
}
