// Package notation implements Notary Project (Notation) signatures with
// the notary.x509 signing scheme, in the JWS and the COSE_Sign1 envelope:
// a signature over a payload naming the target manifest, made with the
// key of an X.509 leaf certificate whose chain leads to a trust store
// root, stored as an OCI 1.1 referrer of the image.
//
// Data flow: VerifyJWS and VerifyCOSE check an envelope against trust
// store roots at a given time (signature, algorithm against key, chain,
// critical headers, expiry) and return the leaf and the target
// descriptor; the caller checks the target and the leaf's identity.
// SignJWS and SignCOSE make envelopes. With TSA roots in the Trust, a
// signature must carry an RFC 3161 timestamp countersignature over its
// signature bytes, and the signing chain is judged at the stamped time
// instead of now, as notation verify does with a "tsa" trust store; a
// signature made while its certificate was valid then outlives the
// certificate. The notary.x509.signingAuthority scheme is not supported
// and is refused with that reason.
package notation

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hull-sec/hull/internal/keyname"
	"github.com/hull-sec/hull/internal/tsp"
)

// The names of the Notation format.
const (
	ArtifactType             = "application/vnd.cncf.notary.signature"
	JWSMediaType             = "application/jose+json"
	COSEMediaType            = "application/cose"
	PayloadContentType       = "application/vnd.cncf.notary.payload.v1+json"
	SchemeX509               = "notary.x509"
	headerScheme             = "io.cncf.notary.signingScheme"
	headerExpiry             = "io.cncf.notary.expiry"
	headerSigningTime        = "io.cncf.notary.signingTime"
	headerTimestampSignature = "io.cncf.notary.timestampSignature"
	ThumbprintsKey           = "io.cncf.notary.x509chain.thumbprint#S256"
	MaxEnvelopeBytes         = 1 << 20
)

// ErrInvalid is wrapped by every rejection of a Notation signature.
var ErrInvalid = errors.New("invalid notation signature")

// Envelope is the JWS JSON serialization Notation writes.
type Envelope struct {
	Payload   string `json:"payload"`
	Protected string `json:"protected"`
	Header    struct {
		X5C                [][]byte `json:"x5c"`
		SigningAgent       string   `json:"io.cncf.notary.signingAgent,omitempty"`
		TimestampSignature []byte   `json:"io.cncf.notary.timestampSignature,omitempty"`
	} `json:"header"`
	Signature string `json:"signature"`
}

type protectedHeader struct {
	Alg           string     `json:"alg"`
	Cty           string     `json:"cty"`
	Crit          []string   `json:"crit,omitempty"`
	SigningScheme string     `json:"io.cncf.notary.signingScheme"`
	SigningTime   *time.Time `json:"io.cncf.notary.signingTime,omitempty"`
	Expiry        *time.Time `json:"io.cncf.notary.expiry,omitempty"`
}

type payload struct {
	TargetArtifact v1.Descriptor `json:"targetArtifact"`
}

// Verified is what a valid envelope says.
type Verified struct {
	Leaf        *x509.Certificate
	Target      v1.Descriptor
	SigningTime time.Time
	// Timestamp is the time a TSA vouched for, when one was checked.
	Timestamp *tsp.Time
}

// Trust is what an envelope is checked against.
type Trust struct {
	// Roots is the trust store: the signing chain must lead to one.
	Roots []*x509.Certificate
	// TSARoots, when set, are the roots of the time-stamping authorities
	// whose timestamp countersignature is required (notation's "tsa"
	// trust store).
	TSARoots []*x509.Certificate
	// TimestampAfterExpiry checks the timestamp only once the signing
	// chain has expired (notation's verifyTimestamp: afterCertExpiry);
	// before that the chain must be valid now.
	TimestampAfterExpiry bool
}

var b64 = base64.RawURLEncoding

func strict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// VerifyJWS checks a JWS envelope against trust at now.
func VerifyJWS(data []byte, trust Trust, now time.Time) (Verified, error) {
	if len(data) > MaxEnvelopeBytes {
		return Verified{}, fmt.Errorf("%w: envelope is %d bytes", ErrInvalid, len(data))
	}
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return Verified{}, fmt.Errorf("%w: envelope: %v", ErrInvalid, err)
	}
	hb, err := b64.DecodeString(env.Protected)
	if err != nil {
		return Verified{}, fmt.Errorf("%w: protected header is not base64url", ErrInvalid)
	}
	var h protectedHeader
	if err := strict(hb, &h); err != nil {
		return Verified{}, fmt.Errorf("%w: protected header: %v", ErrInvalid, err)
	}
	switch {
	case h.Cty != PayloadContentType:
		return Verified{}, fmt.Errorf("%w: content type %q", ErrInvalid, h.Cty)
	case h.SigningScheme != SchemeX509:
		return Verified{}, fmt.Errorf("%w: signing scheme %q is not supported (only %s)", ErrInvalid, h.SigningScheme, SchemeX509)
	case h.SigningTime == nil:
		return Verified{}, fmt.Errorf("%w: no signing time", ErrInvalid)
	case h.Expiry != nil && now.After(*h.Expiry):
		return Verified{}, fmt.Errorf("%w: the signature expired at %s", ErrInvalid, h.Expiry.Format(time.RFC3339))
	}
	for _, c := range h.Crit {
		if c != headerScheme && c != headerExpiry {
			return Verified{}, fmt.Errorf("%w: unknown critical header %q", ErrInvalid, c)
		}
	}
	if !slices.Contains(h.Crit, headerScheme) || (h.Expiry != nil && !slices.Contains(h.Crit, headerExpiry)) {
		return Verified{}, fmt.Errorf("%w: signing scheme or expiry not marked critical", ErrInvalid)
	}
	chain, err := parseChain(env.Header.X5C)
	if err != nil {
		return Verified{}, err
	}
	leaf := chain[0]
	sig, err := b64.DecodeString(env.Signature)
	if err != nil {
		return Verified{}, fmt.Errorf("%w: signature is not base64url", ErrInvalid)
	}
	if err := verifySignature(h.Alg, leaf.PublicKey, []byte(env.Protected+"."+env.Payload), sig); err != nil {
		return Verified{}, err
	}
	pb, err := b64.DecodeString(env.Payload)
	if err != nil {
		return Verified{}, fmt.Errorf("%w: payload is not base64url", ErrInvalid)
	}
	return finish(chain, trust, now, pb, *h.SigningTime, sig, env.Header.TimestampSignature)
}

// finish does what both envelopes share once the signature holds: the
// chain to a trust-store root for code signing, at now or at the time a
// timestamp countersignature (stamp, over sig) vouches for, and the
// payload.
func finish(chain []*x509.Certificate, trust Trust, now time.Time, payloadJSON []byte, signingTime time.Time, sig, stamp []byte) (Verified, error) {
	at, ts, err := chainTime(chain, trust, now, sig, stamp)
	if err != nil {
		return Verified{}, err
	}
	pool, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, r := range trust.Roots {
		pool.AddCert(r)
	}
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}); err != nil {
		return Verified{}, fmt.Errorf("%w: certificate chain: %v", ErrInvalid, err)
	}
	if err := checkSigningCert(chain[0]); err != nil {
		return Verified{}, err
	}
	var p payload
	if err := strict(payloadJSON, &p); err != nil {
		return Verified{}, fmt.Errorf("%w: payload: %v", ErrInvalid, err)
	}
	return Verified{Leaf: chain[0], Target: p.TargetArtifact, SigningTime: signingTime, Timestamp: ts}, nil
}

// checkSigningCert applies what notation requires of a signing
// certificate beyond what x509.Verify checks (which already refuses an
// issuer that is not a CA): it is not a CA itself, and its key usage is
// digital signature (non-repudiation may be added), nothing more.
func checkSigningCert(leaf *x509.Certificate) error {
	const allowed = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	switch {
	case leaf.BasicConstraintsValid && leaf.IsCA:
		return fmt.Errorf("%w: signing certificate %q is a CA certificate", ErrInvalid, leaf.Subject)
	case leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 || leaf.KeyUsage&^allowed != 0:
		return fmt.Errorf("%w: signing certificate %q: key usage must be digital signature only", ErrInvalid, leaf.Subject)
	}
	return nil
}

// chainTime is when the signing chain must be valid: now, or, when trust
// names TSA roots (and, with TimestampAfterExpiry, the chain has expired),
// the time of the signature's timestamp countersignature, which must
// verify over the signature bytes and fall, accuracy included, within
// every certificate's validity.
func chainTime(chain []*x509.Certificate, trust Trust, now time.Time, sig, stamp []byte) (time.Time, *tsp.Time, error) {
	if len(trust.TSARoots) == 0 {
		return now, nil, nil
	}
	if trust.TimestampAfterExpiry && !slices.ContainsFunc(chain, func(c *x509.Certificate) bool { return now.After(c.NotAfter) }) {
		return now, nil, nil
	}
	if len(stamp) == 0 {
		return time.Time{}, nil, fmt.Errorf("%w: no timestamp countersignature, and the policy has a TSA trust store", ErrInvalid)
	}
	tok, err := tsp.Parse(stamp)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("%w: timestamp countersignature: %v", ErrInvalid, err)
	}
	ts, _, err := tok.Verify(sig, trust.TSARoots, nil)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("%w: timestamp countersignature: %v", ErrInvalid, err)
	}
	for _, c := range chain {
		if ts.Earliest.Before(c.NotBefore) || ts.Latest.After(c.NotAfter) {
			return time.Time{}, nil, fmt.Errorf("%w: the timestamp (%s) is not within the validity of certificate %q (%s to %s)", ErrInvalid,
				ts.At.UTC().Format(time.RFC3339), c.Subject, c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	return ts.At, &ts, nil
}

// parseChain parses an envelope's certificate chain, leaf first.
func parseChain(ders [][]byte) ([]*x509.Certificate, error) {
	if len(ders) == 0 || len(ders) > 10 {
		return nil, fmt.Errorf("%w: certificate chain has %d certificates", ErrInvalid, len(ders))
	}
	var chain []*x509.Certificate
	for _, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate: %v", ErrInvalid, err)
		}
		chain = append(chain, c)
	}
	return chain, nil
}

// algFor is the JWS algorithm Notation uses for a key.
func algFor(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048:
			return "PS256", nil
		case 3072:
			return "PS384", nil
		case 4096:
			return "PS512", nil
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
	}
	return "", fmt.Errorf("%w: %s is not supported", ErrInvalid, keyname.Of(pub))
}

func hashFor(alg string) (crypto.Hash, func() hash.Hash) {
	switch alg[2:] {
	case "384":
		return crypto.SHA384, sha512.New384
	case "512":
		return crypto.SHA512, sha512.New
	}
	return crypto.SHA256, sha256.New
}

// verifySignature checks a JWS signature; alg must be the one Notation
// uses for the leaf's key, so a header cannot pick a weaker check.
func verifySignature(alg string, pub crypto.PublicKey, input, sig []byte) error {
	want, err := algFor(pub)
	if err != nil {
		return err
	}
	if alg != want {
		return fmt.Errorf("%w: algorithm %q does not match the certificate's key (%s)", ErrInvalid, alg, want)
	}
	ch, newHash := hashFor(alg)
	h := newHash()
	h.Write(input)
	sum := h.Sum(nil)
	ok := false
	switch k := pub.(type) {
	case *rsa.PublicKey:
		ok = rsa.VerifyPSS(k, ch, sum, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	case *ecdsa.PublicKey:
		n := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) == 2*n {
			r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
			ok = ecdsa.Verify(k, sum, r, s)
		}
	}
	if !ok {
		return fmt.Errorf("%w: the signature does not verify with the leaf certificate's key", ErrInvalid)
	}
	return nil
}

// Stamper returns an RFC 3161 token over a signature's bytes, hashed with
// h (tsp.Client.Stamp, for instance).
type Stamper func(signature []byte, h crypto.Hash) ([]byte, error)

// SignJWS makes a Notation JWS envelope for target with key, whose
// certificate chain (leaf first, root last) goes in x5c.
func SignJWS(key crypto.Signer, chain []*x509.Certificate, target v1.Descriptor, now time.Time, stamp Stamper) ([]byte, error) {
	alg, err := algFor(key.Public())
	if err != nil {
		return nil, err
	}
	t := now.UTC().Truncate(time.Second)
	hb, err := json.Marshal(protectedHeader{Alg: alg, Cty: PayloadContentType, Crit: []string{headerScheme}, SigningScheme: SchemeX509, SigningTime: &t})
	if err != nil {
		return nil, err
	}
	pb, err := json.Marshal(payload{TargetArtifact: target})
	if err != nil {
		return nil, err
	}
	env := Envelope{Protected: b64.EncodeToString(hb), Payload: b64.EncodeToString(pb)}
	ch, newHash := hashFor(alg)
	h := newHash()
	h.Write([]byte(env.Protected + "." + env.Payload))
	sum := h.Sum(nil)
	var sig []byte
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		sig, err = key.Sign(rand.Reader, sum, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: ch})
	case *ecdsa.PublicKey:
		var der []byte
		if der, err = key.Sign(rand.Reader, sum, ch); err == nil {
			sig, err = rawECDSA(der, (k.Curve.Params().BitSize+7)/8)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	env.Signature = b64.EncodeToString(sig)
	env.Header.SigningAgent = "hull"
	if stamp != nil {
		if env.Header.TimestampSignature, err = stamp(sig, ch); err != nil {
			return nil, err
		}
	}
	for _, c := range chain {
		env.Header.X5C = append(env.Header.X5C, c.Raw)
	}
	return json.Marshal(env)
}

// rawECDSA turns an ASN.1 ECDSA signature into JWS's r||s.
func rawECDSA(der []byte, n int) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		return nil, err
	}
	out := make([]byte, 2*n)
	rs.R.FillBytes(out[:n])
	rs.S.FillBytes(out[n:])
	return out, nil
}

// ParseCertificates reads the PEM certificates in data: a chain file or
// a trust store.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return out, nil
}

// Thumbprints are the SHA-256 fingerprints of a chain, as Notation
// records them in the signature manifest's annotation.
func Thumbprints(chain []*x509.Certificate) string {
	var t []string
	for _, c := range chain {
		sum := sha256.Sum256(c.Raw)
		t = append(t, fmt.Sprintf("%x", sum))
	}
	b, _ := json.Marshal(t)
	return string(b)
}

// MatchIdentity reports whether a leaf certificate's subject has every
// attribute of a trusted identity "x509.subject: C=US, O=Example, CN=x",
// or whether the identity is "*".
func MatchIdentity(identity string, leaf *x509.Certificate) bool {
	if identity == "*" {
		return true
	}
	dn, ok := strings.CutPrefix(identity, "x509.subject:")
	if !ok {
		return false
	}
	have := map[string]string{}
	for _, a := range leaf.Subject.Names {
		k := a.Type.String()
		if _, twice := have[k]; twice {
			return false // which value would the identity name?
		}
		have[k] = fmt.Sprint(a.Value)
	}
	for _, part := range strings.Split(dn, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		oid, known := attributeOIDs[strings.ToUpper(strings.TrimSpace(k))]
		if !ok || !known {
			return false
		}
		if got, ok := have[oid]; !ok || got != strings.TrimSpace(v) {
			return false
		}
	}
	return true
}

// attributeOIDs are the subject attributes identities may name.
var attributeOIDs = map[string]string{"C": "2.5.4.6", "ST": "2.5.4.8", "L": "2.5.4.7", "O": "2.5.4.10", "OU": "2.5.4.11", "CN": "2.5.4.3", "SERIALNUMBER": "2.5.4.5", "E": "1.2.840.113549.1.9.1"}
