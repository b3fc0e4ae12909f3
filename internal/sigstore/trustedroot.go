// Package sigstore verifies keyless sigstore signatures offline: a
// short-lived Fulcio certificate that names an OIDC identity, chained to a
// certificate authority of a trusted root (trusted_root.json), logged in a
// Rekor transparency log whose signed entry timestamp or inclusion proof
// is checked against the log keys of the same root, and, when the root
// lists certificate transparency logs, the certificate's embedded SCT.
// Nothing is fetched: no TUF, Rekor, OCSP or CRL.
//
// Data flow: ParseTrustedRoot reads the root; the caller assembles a
// Signed (certificate, signature and log entries) from whatever format
// carried it (a sigstore bundle, cosign's classic annotations); Verify
// checks it and returns the identity and the time the log vouches for.
// Matching that identity against a policy is the caller's.
package sigstore

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/hull-sec/hull/internal/keyname"
)

// ErrInvalid is wrapped by every rejection.
var ErrInvalid = errors.New("invalid sigstore signature")

// TrustedRootMediaType is the only trusted root version there is.
const TrustedRootMediaType = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"

// MaxTrustedRootBytes bounds a trusted root file.
const MaxTrustedRootBytes = 4 << 20

// TrustedRoot is what a trusted_root.json vouches for.
type TrustedRoot struct {
	CAs    []Authority
	TSAs   []Authority
	Tlogs  map[string]*Log // by hex log ID
	CTLogs map[string]*Log // by hex log ID
}

// Authority is a certificate authority: its chain (leaf-most first, root
// last) and when it may have issued.
type Authority struct {
	URI   string
	Chain []*x509.Certificate
	Valid Period
}

// Log is a transparency log's key and when it was in use.
type Log struct {
	BaseURL string
	ID      []byte
	// NoteID is a Rekor v2 log's ID for an Ed25519 key: the signed-note
	// key hash, SHA-256(origin "\n" 0x01 key), which its entries and
	// checkpoints name; the origin is the base URL's host name.
	NoteID []byte
	Key    crypto.PublicKey
	Valid  Period
}

// Period is a validity window; a zero End is open.
type Period struct{ Start, End time.Time }

// Contains reports whether t is in the period.
func (p Period) Contains(t time.Time) bool {
	return !t.Before(p.Start) && (p.End.IsZero() || !t.After(p.End))
}

type jsonPeriod struct {
	Start time.Time  `json:"start"`
	End   *time.Time `json:"end"`
}

func (p *jsonPeriod) period() Period {
	if p == nil {
		return Period{}
	}
	out := Period{Start: p.Start}
	if p.End != nil {
		out.End = *p.End
	}
	return out
}

type jsonLog struct {
	BaseURL       string `json:"baseUrl"`
	HashAlgorithm string `json:"hashAlgorithm"`
	PublicKey     struct {
		RawBytes   []byte      `json:"rawBytes"`
		KeyDetails string      `json:"keyDetails"`
		ValidFor   *jsonPeriod `json:"validFor"`
	} `json:"publicKey"`
}

type jsonAuthority struct {
	URI       string `json:"uri"`
	CertChain struct {
		Certificates []struct {
			RawBytes []byte `json:"rawBytes"`
		} `json:"certificates"`
	} `json:"certChain"`
	ValidFor *jsonPeriod `json:"validFor"`
}

// ParseTrustedRoot reads a trusted_root.json (the protobuf JSON form of
// dev.sigstore.trustroot.v1.TrustedRoot). Every key and certificate must
// parse; a root that lists nothing is an error.
func ParseTrustedRoot(data []byte) (*TrustedRoot, error) {
	if len(data) > MaxTrustedRootBytes {
		return nil, fmt.Errorf("trusted root is %d bytes, more than %d", len(data), MaxTrustedRootBytes)
	}
	var raw struct {
		MediaType string          `json:"mediaType"`
		Tlogs     []jsonLog       `json:"tlogs"`
		CTLogs    []jsonLog       `json:"ctlogs"`
		CAs       []jsonAuthority `json:"certificateAuthorities"`
		TSAs      []jsonAuthority `json:"timestampAuthorities"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	if raw.MediaType != TrustedRootMediaType {
		return nil, fmt.Errorf("trusted root: media type %q, want %q", raw.MediaType, TrustedRootMediaType)
	}
	tr := &TrustedRoot{Tlogs: map[string]*Log{}, CTLogs: map[string]*Log{}}
	for _, set := range []struct {
		in   []jsonLog
		out  map[string]*Log
		what string
	}{{raw.Tlogs, tr.Tlogs, "tlog"}, {raw.CTLogs, tr.CTLogs, "ctlog"}} {
		for i, l := range set.in {
			lg, err := parseLog(l)
			if err != nil {
				return nil, fmt.Errorf("trusted root: %s %d (%s): %w", set.what, i, l.BaseURL, err)
			}
			set.out[hex.EncodeToString(lg.ID)] = lg
			if lg.NoteID != nil {
				set.out[hex.EncodeToString(lg.NoteID)] = lg
			}
		}
	}
	for _, set := range []struct {
		in   []jsonAuthority
		out  *[]Authority
		what string
	}{{raw.CAs, &tr.CAs, "certificate authority"}, {raw.TSAs, &tr.TSAs, "timestamp authority"}} {
		for i, a := range set.in {
			au := Authority{URI: a.URI, Valid: a.ValidFor.period()}
			for _, c := range a.CertChain.Certificates {
				cert, err := x509.ParseCertificate(c.RawBytes)
				if err != nil {
					return nil, fmt.Errorf("trusted root: %s %d (%s): %w", set.what, i, a.URI, err)
				}
				au.Chain = append(au.Chain, cert)
			}
			if len(au.Chain) == 0 {
				return nil, fmt.Errorf("trusted root: %s %d (%s) has no certificates", set.what, i, a.URI)
			}
			*set.out = append(*set.out, au)
		}
	}
	if len(tr.CAs) == 0 && len(tr.Tlogs) == 0 {
		return nil, errors.New("trusted root lists no certificate authority and no transparency log")
	}
	return tr, nil
}

func parseLog(l jsonLog) (*Log, error) {
	if l.HashAlgorithm != "" && l.HashAlgorithm != "SHA2_256" {
		return nil, fmt.Errorf("hash algorithm %s is not supported", l.HashAlgorithm)
	}
	key, err := x509.ParsePKIXPublicKey(l.PublicKey.RawBytes)
	if err != nil {
		return nil, fmt.Errorf("public key (%s): %w", l.PublicKey.KeyDetails, err)
	}
	switch key.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("public key: %s is not supported", keyname.Of(key))
	}
	// A Rekor (v1) or CT log's ID is the SHA-256 of its key (RFC 6962,
	// 3.2), what entries and SCTs name; the root's logId is not trusted to
	// say otherwise (some generated roots put the hex of it there).
	id := sha256.Sum256(l.PublicKey.RawBytes)
	lg := &Log{BaseURL: l.BaseURL, ID: id[:], Key: key, Valid: l.PublicKey.ValidFor.period()}
	if ed, ok := key.(ed25519.PublicKey); ok {
		if u, err := url.Parse(l.BaseURL); err == nil && u.Hostname() != "" {
			h := sha256.New()
			h.Write([]byte(u.Hostname() + "\n\x01"))
			h.Write(ed)
			lg.NoteID = h.Sum(nil)
		}
	}
	return lg, nil
}

// SignatureValid reports whether sig over msg verifies with key: ECDSA and RSA (PKCS #1 v1.5)
// over SHA-256, Ed25519 over msg itself.
func SignatureValid(key crypto.PublicKey, msg, sig []byte) bool {
	sum := sha256.Sum256(msg)
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, sum[:], sig)
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil
	case ed25519.PublicKey:
		return ed25519.Verify(k, msg, sig)
	}
	return false
}
