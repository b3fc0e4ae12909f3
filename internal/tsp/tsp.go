// Package tsp verifies RFC 3161 time-stamp tokens: a time-stamping
// authority's (TSA's) signed statement that some data existed at a time.
// Notation's timestamp countersignatures and sigstore bundles' signed
// timestamps are such tokens over a signature's bytes.
//
// Data flow: Parse reads a token (a CMS SignedData holding a TSTInfo),
// or a whole TimeStampResp, from DER; Token.Verify checks that the token
// imprints the given data, that its signed attributes bind the TSTInfo and
// the signing certificate, that the signature verifies with that
// certificate, and that the certificate chains to one of the given roots
// at the stamped time, for time-stamping only (RFC 3161 2.3: the one
// extended key usage, critical). It returns the stamped time and its
// accuracy as an interval. Only DER is read; BER's indefinite lengths are
// refused.
package tsp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1" // #nosec G505 -- ESSCertID (RFC 2634) names the signer by a SHA-1 certificate hash; it is compared, not trusted for a signature
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"slices"
	"time"

	"github.com/hull-sec/hull/internal/keyname"
)

// ErrInvalid wraps every reason a token is refused.
var ErrInvalid = errors.New("invalid RFC 3161 timestamp")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// MaxTokenBytes bounds a token.
const MaxTokenBytes = 64 << 10

var (
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningCert   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidRSA           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSASHA256     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidRSASHA384     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidRSASHA512     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECDSASHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSASHA384   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSASHA512   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidECPublicKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidEd25519       = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidExtKeyUsage   = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	digests          = map[string]crypto.Hash{
		oidSHA256.String(): crypto.SHA256,
		oidSHA384.String(): crypto.SHA384,
		oidSHA512.String(): crypto.SHA512,
	}
)

// ASN.1 shapes (RFC 5652, RFC 3161, RFC 5035).
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	EncapContent     encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type encapContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     []byte `asn1:"explicit,tag:0"`
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint messageImprint
	SerialNumber   *big.Int
	GenTime        time.Time     `asn1:"generalized"`
	Accuracy       accuracy      `asn1:"optional"`
	Ordering       bool          `asn1:"optional"`
	Nonce          *big.Int      `asn1:"optional"`
	TSA            asn1.RawValue `asn1:"optional,explicit,tag:0"`
	Extensions     asn1.RawValue `asn1:"optional,tag:1"`
}

type messageImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

type accuracy struct {
	Seconds int `asn1:"optional"`
	Millis  int `asn1:"optional,tag:0"`
	Micros  int `asn1:"optional,tag:1"`
}

type essCertID struct {
	Hash   []byte
	Issuer asn1.RawValue `asn1:"optional"`
}

type signingCertificate struct {
	Certs []essCertID
	Rest  asn1.RawValue `asn1:"optional"`
}

type essCertIDv2 struct {
	HashAlgorithm pkix.AlgorithmIdentifier `asn1:"optional"`
	Hash          []byte
	Issuer        asn1.RawValue `asn1:"optional"`
}

type signingCertificateV2 struct {
	Certs []essCertIDv2
	Rest  asn1.RawValue `asn1:"optional"`
}

type timeStampResp struct {
	Status struct {
		Status int
		Rest   asn1.RawValue `asn1:"optional"`
	}
	Token asn1.RawValue `asn1:"optional"`
}

// Token is a parsed time-stamp token.
type Token struct {
	raw      []byte // the token (ContentInfo), DER
	signed   signedData
	tstRaw   []byte
	info     tstInfo
	certs    []*x509.Certificate
	rawAttrs []byte
}

func unmarshal(b []byte, v any, params string) error {
	rest, err := asn1.UnmarshalWithParams(b, v, params)
	if err != nil {
		return invalid("%v", err)
	}
	if len(rest) != 0 {
		return invalid("%d bytes of trailing data", len(rest))
	}
	return nil
}

// Parse reads a time-stamp token (ContentInfo) or a TimeStampResp whose
// status is granted.
func Parse(der []byte) (*Token, error) {
	if len(der) > MaxTokenBytes {
		return nil, invalid("token of %d bytes, more than %d", len(der), MaxTokenBytes)
	}
	var ci contentInfo
	raw := der
	if err := unmarshal(der, &ci, ""); err != nil {
		var resp timeStampResp
		if rerr := unmarshal(der, &resp, ""); rerr != nil {
			return nil, err
		}
		if resp.Status.Status > 1 { // granted (0) or grantedWithMods (1)
			return nil, invalid("the TSA refused the request (status %d)", resp.Status.Status)
		}
		if len(resp.Token.FullBytes) == 0 {
			return nil, invalid("the response holds no token")
		}
		if err := unmarshal(resp.Token.FullBytes, &ci, ""); err != nil {
			return nil, err
		}
		raw = resp.Token.FullBytes
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, invalid("content type %v, not signed data", ci.ContentType)
	}
	t := &Token{raw: slices.Clone(raw)}
	if err := unmarshal(ci.Content.Bytes, &t.signed, ""); err != nil {
		return nil, err
	}
	if !t.signed.EncapContent.ContentType.Equal(oidTSTInfo) {
		return nil, invalid("signed content %v, not a TSTInfo", t.signed.EncapContent.ContentType)
	}
	t.tstRaw = t.signed.EncapContent.Content
	if err := unmarshal(t.tstRaw, &t.info, ""); err != nil {
		return nil, err
	}
	if t.info.Version != 1 {
		return nil, invalid("TSTInfo version %d", t.info.Version)
	}
	if a := t.info.Accuracy; a.Seconds < 0 || a.Seconds > 86400 || a.Millis < 0 || a.Millis > 999 || a.Micros < 0 || a.Micros > 999 {
		return nil, invalid("accuracy %ds %dms %dus is out of range", a.Seconds, a.Millis, a.Micros)
	}
	if v := t.signed.Version; v != 1 && v != 3 && v != 4 && v != 5 {
		return nil, invalid("signed data version %d", v)
	}
	if len(t.signed.SignerInfos) != 1 {
		return nil, invalid("%d signers, want one", len(t.signed.SignerInfos))
	}
	if v := t.signed.SignerInfos[0].Version; v != 1 && v != 3 {
		return nil, invalid("signer info version %d", v)
	}
	if c := t.signed.Certificates; len(c.Bytes) > 0 {
		certs, err := x509.ParseCertificates(c.Bytes)
		if err != nil {
			return nil, invalid("certificates: %v", err)
		}
		t.certs = certs
	}
	si := t.signed.SignerInfos[0]
	if len(si.SignedAttrs.FullBytes) == 0 {
		return nil, invalid("the signer has no signed attributes")
	}
	// The signature covers the attributes DER-encoded as a SET, not with
	// their [0] IMPLICIT tag.
	t.rawAttrs = slices.Clone(si.SignedAttrs.FullBytes)
	t.rawAttrs[0] = 0x31
	return t, nil
}

// Raw is the token (ContentInfo) in DER, what Notation embeds.
func (t *Token) Raw() []byte { return slices.Clone(t.raw) }

// Time is the stamped time At, and the interval its accuracy allows:
// At - accuracy to At + accuracy.
type Time struct {
	At, Earliest, Latest time.Time
}

// Verify checks the token over data against the TSA roots (and any
// intermediates besides the token's own) and returns the stamped time
// and the chain, leaf first.
func (t *Token) Verify(data []byte, roots []*x509.Certificate, intermediates []*x509.Certificate) (Time, []*x509.Certificate, error) {
	h, ok := digests[t.info.MessageImprint.HashAlgorithm.Algorithm.String()]
	if !ok {
		return Time{}, nil, invalid("imprint hash %v is not accepted (SHA-256, SHA-384, SHA-512)", t.info.MessageImprint.HashAlgorithm.Algorithm)
	}
	sum := h.New()
	sum.Write(data)
	if !bytes.Equal(sum.Sum(nil), t.info.MessageImprint.HashedMessage) {
		return Time{}, nil, invalid("it stamps other data")
	}
	si := t.signed.SignerInfos[0]
	dh, ok := digests[si.DigestAlgorithm.Algorithm.String()]
	if !ok {
		return Time{}, nil, invalid("digest algorithm %v is not accepted", si.DigestAlgorithm.Algorithm)
	}
	attrs, err := t.attributes()
	if err != nil {
		return Time{}, nil, err
	}
	if ct := attrs[oidContentType.String()]; ct == nil || !bytes.Equal(ct.FullBytes, mustMarshal(oidTSTInfo)) {
		return Time{}, nil, invalid("the signed content type is not TSTInfo")
	}
	md := attrs[oidMessageDigest.String()]
	var digest []byte
	if md == nil || unmarshal(md.FullBytes, &digest, "") != nil {
		return Time{}, nil, invalid("no message digest attribute")
	}
	w := dh.New()
	w.Write(t.tstRaw)
	if !bytes.Equal(w.Sum(nil), digest) {
		return Time{}, nil, invalid("the message digest attribute does not match the TSTInfo")
	}
	signer, err := t.signer(si, append(slices.Clone(intermediates), roots...))
	if err != nil {
		return Time{}, nil, err
	}
	if err := t.checkCertBinding(attrs, signer); err != nil {
		return Time{}, nil, err
	}
	if err := checkSignature(signer, si, dh, t.rawAttrs); err != nil {
		return Time{}, nil, err
	}
	if err := checkTimestampingEKU(signer); err != nil {
		return Time{}, nil, err
	}
	tm := t.Time()
	opts := x509.VerifyOptions{
		Roots: x509.NewCertPool(), Intermediates: x509.NewCertPool(),
		CurrentTime: t.info.GenTime, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	}
	for _, c := range roots {
		opts.Roots.AddCert(c)
	}
	for _, c := range append(slices.Clone(t.certs), intermediates...) {
		opts.Intermediates.AddCert(c)
	}
	chains, err := signer.Verify(opts)
	if err != nil {
		return Time{}, nil, invalid("TSA certificate %q: %v", signer.Subject, err)
	}
	return tm, chains[0], nil
}

// Time returns the stamped interval.
func (t *Token) Time() Time {
	a := t.info.Accuracy
	d := time.Duration(a.Seconds)*time.Second + time.Duration(a.Millis)*time.Millisecond + time.Duration(a.Micros)*time.Microsecond
	return Time{At: t.info.GenTime, Earliest: t.info.GenTime.Add(-d), Latest: t.info.GenTime.Add(d)}
}

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// attributes indexes the signed attributes by OID; each must have
// exactly one value and appear once.
func (t *Token) attributes() (map[string]*asn1.RawValue, error) {
	var attrs []attribute
	if err := unmarshal(t.rawAttrs, &attrs, "set"); err != nil {
		return nil, err
	}
	out := map[string]*asn1.RawValue{}
	for _, a := range attrs {
		k := a.Type.String()
		if out[k] != nil {
			return nil, invalid("signed attribute %s repeated", k)
		}
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(a.Values.Bytes, &v)
		if err != nil || len(rest) != 0 {
			return nil, invalid("signed attribute %s must have one value", k)
		}
		out[k] = &v
	}
	return out, nil
}

// signer finds the certificate the signer info names, among the
// token's and then the caller's (a TSA may leave its certificate out).
func (t *Token) signer(si signerInfo, extra []*x509.Certificate) (*x509.Certificate, error) {
	certs := append(slices.Clone(t.certs), extra...)
	switch {
	case si.SID.Class == asn1.ClassUniversal && si.SID.Tag == asn1.TagSequence:
		var ias issuerAndSerial
		if err := unmarshal(si.SID.FullBytes, &ias, ""); err != nil {
			return nil, err
		}
		for _, c := range certs {
			if bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) && c.SerialNumber.Cmp(ias.Serial) == 0 {
				return c, nil
			}
		}
	case si.SID.Class == asn1.ClassContextSpecific && si.SID.Tag == 0:
		for _, c := range certs {
			if len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, si.SID.Bytes) {
				return c, nil
			}
		}
	default:
		return nil, invalid("unknown signer identifier")
	}
	return nil, invalid("the token does not carry its signing certificate")
}

// checkCertBinding requires the signingCertificate(V2) attribute, whose
// first entry names the signer's certificate by hash (RFC 3161 2.4.2, RFC
// 5035), so that no other certificate with the same key can be slipped in.
func (t *Token) checkCertBinding(attrs map[string]*asn1.RawValue, signer *x509.Certificate) error {
	if v := attrs[oidSigningCertV2.String()]; v != nil {
		var sc signingCertificateV2
		if err := unmarshal(v.FullBytes, &sc, ""); err != nil || len(sc.Certs) == 0 {
			return invalid("bad signingCertificateV2 attribute")
		}
		id := sc.Certs[0]
		var h hash.Hash = sha256.New()
		if alg := id.HashAlgorithm.Algorithm; len(alg) > 0 && !alg.Equal(oidSHA256) {
			switch {
			case alg.Equal(oidSHA384):
				h = sha512.New384()
			case alg.Equal(oidSHA512):
				h = sha512.New()
			default:
				return invalid("signingCertificateV2 hash %v is not accepted", alg)
			}
		}
		h.Write(signer.Raw)
		if !bytes.Equal(h.Sum(nil), id.Hash) {
			return invalid("the signingCertificateV2 attribute names another certificate")
		}
		return nil
	}
	if v := attrs[oidSigningCert.String()]; v != nil {
		var sc signingCertificate
		if err := unmarshal(v.FullBytes, &sc, ""); err != nil || len(sc.Certs) == 0 {
			return invalid("bad signingCertificate attribute")
		}
		sum := sha1.Sum(signer.Raw) // #nosec G401 -- ESSCertID's defined hash, compared against the certificate in hand
		if !bytes.Equal(sum[:], sc.Certs[0].Hash) {
			return invalid("the signingCertificate attribute names another certificate")
		}
		return nil
	}
	return invalid("no signingCertificate attribute binds the TSA certificate")
}

func checkSignature(c *x509.Certificate, si signerInfo, h crypto.Hash, attrs []byte) error {
	w := h.New()
	w.Write(attrs)
	d := w.Sum(nil)
	alg := si.SignatureAlgorithm.Algorithm
	bad := invalid("the TSA's signature does not verify")
	switch pub := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if !alg.Equal(oidRSA) && !alg.Equal(oidRSASHA256) && !alg.Equal(oidRSASHA384) && !alg.Equal(oidRSASHA512) {
			return invalid("signature algorithm %v with an RSA key", alg)
		}
		if rsa.VerifyPKCS1v15(pub, h, d, si.Signature) != nil {
			return bad
		}
	case *ecdsa.PublicKey:
		if !alg.Equal(oidECDSASHA256) && !alg.Equal(oidECDSASHA384) && !alg.Equal(oidECDSASHA512) && !alg.Equal(oidECPublicKey) {
			return invalid("signature algorithm %v with an ECDSA key", alg)
		}
		if !ecdsa.VerifyASN1(pub, d, si.Signature) {
			return bad
		}
	case ed25519.PublicKey:
		if !alg.Equal(oidEd25519) || !ed25519.Verify(pub, attrs, si.Signature) {
			return bad
		}
	default:
		return invalid("TSA key: %s is not supported", keyname.Of(c.PublicKey))
	}
	return nil
}

// checkTimestampingEKU: the TSA certificate's extended key usage is
// time-stamping alone, and critical (RFC 3161 2.3).
func checkTimestampingEKU(c *x509.Certificate) error {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidExtKeyUsage) {
			if !e.Critical || len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(c.UnknownExtKeyUsage) != 0 {
				return invalid("TSA certificate %q: extended key usage must be time-stamping only, critical", c.Subject)
			}
			return nil
		}
	}
	return invalid("TSA certificate %q has no extended key usage", c.Subject)
}
