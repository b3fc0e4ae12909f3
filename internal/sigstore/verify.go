package sigstore

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/hull-sec/hull/internal/keyname"
	"github.com/hull-sec/hull/internal/tsp"
)

// Signed is one keyless signature as some format carried it: the Fulcio
// certificate, what it signed, the transparency log entries for it and
// RFC 3161 timestamps of its signature.
type Signed struct {
	Cert       *x509.Certificate
	Content    Content
	Entries    []Entry
	Timestamps [][]byte
}

// Verified is what a keyless signature proves: who signed, and when (the
// time the log integrated the signature or a timestamp authority stamped
// it, inside the certificate's life).
type Verified struct {
	Identity Identity
	Time     time.Time
}

// MaxTimestamps bounds the RFC 3161 timestamps read from one signature.
const MaxTimestamps = 8

// Verify checks a keyless signature against the root: the signature with
// the certificate's key, a log entry of a listed log that records this
// very signature, the certificate's chain to a listed authority at every
// time vouched for (the log's integrated time, Rekor v1; each RFC 3161
// timestamp from a timestamp authority of the root, which a Rekor v2
// entry needs, having none), and an embedded SCT when the root lists CT
// logs. It does not judge the identity; the caller's policy does.
func (tr *TrustedRoot) Verify(s Signed) (Verified, error) {
	if s.Cert == nil {
		return Verified{}, fmt.Errorf("%w: no certificate", ErrInvalid)
	}
	sig, err := checkSignature(s.Cert.PublicKey, s.Content)
	if err != nil {
		return Verified{}, err
	}
	if len(s.Entries) == 0 {
		return Verified{}, fmt.Errorf("%w: no transparency log entry: a keyless signature needs one", ErrInvalid)
	}
	var times []time.Time
	err = nil
	logged := false
	for i := range s.Entries {
		e := &s.Entries[i]
		t, verr := tr.verifyEntry(e)
		if verr == nil {
			verr = matchBody(e, s.Cert.Raw, s.Content, sig)
		}
		if verr == nil {
			logged = true
			if !t.IsZero() {
				times = append(times, t)
			}
			break
		}
		err = verr
	}
	if !logged {
		return Verified{}, err
	}
	stamped, err := tr.verifyTimestamps(s.Timestamps, sig)
	if err != nil {
		return Verified{}, err
	}
	times = append(times, stamped...)
	if len(times) == 0 {
		return Verified{}, fmt.Errorf("%w: no trusted time: the log entry has no integrated time (Rekor v2) and no timestamp of a timestamp authority of the trusted root comes with it", ErrInvalid)
	}
	var issuer *x509.Certificate
	for _, t := range times {
		if issuer, err = tr.verifyChain(s.Cert, t); err != nil {
			return Verified{}, err
		}
	}
	if len(tr.CTLogs) > 0 {
		if err := tr.verifySCT(s.Cert, issuer); err != nil {
			return Verified{}, err
		}
	}
	id, err := CertIdentity(s.Cert)
	if err != nil {
		return Verified{}, err
	}
	return Verified{Identity: id, Time: times[0]}, nil
}

// verifyTimestamps checks each RFC 3161 timestamp over the signature
// bytes against the root's timestamp authorities and returns the stamped
// times. With no authority in the root they cannot be checked and are
// not used; with some, every timestamp must verify with one of them, in
// its validity period.
func (tr *TrustedRoot) verifyTimestamps(stamps [][]byte, sig []byte) ([]time.Time, error) {
	if len(tr.TSAs) == 0 || len(stamps) == 0 {
		return nil, nil
	}
	if len(stamps) > MaxTimestamps {
		return nil, fmt.Errorf("%w: %d timestamps, more than %d", ErrInvalid, len(stamps), MaxTimestamps)
	}
	var times []time.Time
	for i, der := range stamps {
		tok, err := tsp.Parse(der)
		if err != nil {
			return nil, fmt.Errorf("%w: timestamp %d: %v", ErrInvalid, i+1, err)
		}
		var last error
		for _, a := range tr.TSAs {
			ts, _, verr := tok.Verify(sig, a.Chain[len(a.Chain)-1:], a.Chain[:len(a.Chain)-1])
			if verr == nil && !a.Valid.Contains(ts.At) {
				verr = fmt.Errorf("stamped at %s, outside the validity of timestamp authority %s", ts.At.UTC().Format(time.RFC3339), a.URI)
			}
			if verr == nil {
				times = append(times, ts.At)
				last = nil
				break
			}
			last = verr
		}
		if last != nil {
			return nil, fmt.Errorf("%w: timestamp %d: %v", ErrInvalid, i+1, last)
		}
	}
	return times, nil
}

// checkSignature verifies the content's signature with key and returns
// the signature bytes that verified (for a DSSE envelope, the one of its
// signatures that did).
func checkSignature(key crypto.PublicKey, c Content) ([]byte, error) {
	if c.DSSE != nil {
		pae := PAE(c.DSSE.PayloadType, c.DSSE.Payload)
		for _, s := range c.DSSE.Signatures {
			if SignatureValid(key, pae, s.Sig) {
				return s.Sig, nil
			}
		}
		return nil, fmt.Errorf("%w: no signature of the envelope verifies with the certificate's key", ErrInvalid)
	}
	if len(c.Digest) != 32 {
		return nil, fmt.Errorf("%w: message digest is %d bytes, want SHA-256", ErrInvalid, len(c.Digest))
	}
	ok := false
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(k, c.Digest, c.Signature)
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, c.Digest, c.Signature) == nil
	default:
		return nil, fmt.Errorf("%w: %s cannot verify a message by its digest", ErrInvalid, keyname.Of(key))
	}
	if !ok {
		return nil, fmt.Errorf("%w: the signature does not verify with the certificate's key", ErrInvalid)
	}
	return c.Signature, nil
}

// PAE is DSSE's pre-authentication encoding, what a DSSE signature covers.
func PAE(payloadType string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload)
}
