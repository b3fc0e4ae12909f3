package sigstore

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"time"
)

// Signed is one keyless signature as some format carried it: the Fulcio
// certificate, what it signed and the transparency log entries for it.
type Signed struct {
	Cert    *x509.Certificate
	Content Content
	Entries []Entry
}

// Verified is what a keyless signature proves: who signed, and when (the
// time the log integrated the signature, inside the certificate's life).
type Verified struct {
	Identity Identity
	Time     time.Time
}

// Verify checks a keyless signature against the root: the signature with
// the certificate's key, a log entry of a listed log that records this
// very signature, the certificate's chain to a listed authority at the
// time the log vouches for, and an embedded SCT when the root lists CT
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
		return Verified{}, fmt.Errorf("%w: no transparency log entry: a keyless signature without one has no trusted time", ErrInvalid)
	}
	var at time.Time
	err = nil
	for i := range s.Entries {
		e := &s.Entries[i]
		t, verr := tr.verifyEntry(e)
		if verr == nil {
			verr = matchBody(e, s.Cert.Raw, s.Content, sig)
		}
		if verr == nil {
			at = t
			break
		}
		err = verr
	}
	if at.IsZero() {
		return Verified{}, err
	}
	issuer, err := tr.verifyChain(s.Cert, at)
	if err != nil {
		return Verified{}, err
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
	return Verified{Identity: id, Time: at}, nil
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
		return nil, fmt.Errorf("%w: a %T key cannot verify a message by its digest", ErrInvalid, key)
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
