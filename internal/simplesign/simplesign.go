// Package simplesign implements containers "simple signing": a small JSON
// payload binding a manifest digest to a docker reference, signed with
// OpenPGP. It is the format skopeo --sign-by and podman write, and that
// the signedBy requirement of containers-policy.json(5) checks, so
// signatures made here verify there and the other way round.
//
// Data flow: Sign marshals a Payload and wraps it in an OpenPGP signed
// message; Verify unwraps a message with a keyring, checks the signature
// and parses the payload strictly (unknown fields and duplicate keys are
// errors). Deciding whether the payload matches an image is the caller's.
package simplesign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hull-sec/hull/internal/pgp"
)

// PayloadType is the only payload type the format defines.
const PayloadType = "atomic container signature"

// MaxSignatureBytes bounds a signature, as containers/image does.
const MaxSignatureBytes = 4 << 20

// ErrInvalid is wrapped by every rejection of a signature or payload.
var ErrInvalid = errors.New("invalid simple signature")

// Payload is what a simple signature asserts.
type Payload struct {
	// ManifestDigest is the signed manifest's digest ("sha256:...").
	ManifestDigest string
	// DockerReference is the reference the signer meant ("host/repo:tag").
	DockerReference string
	// Creator and Timestamp are informational ("optional" in the format).
	Creator   string
	Timestamp time.Time
}

type wirePayload struct {
	Critical wireCritical `json:"critical"`
	// Optional is always written, null when empty: containers/image
	// refuses a payload without the key, as cosign writes it.
	Optional map[string]any `json:"optional"`
}

type wireCritical struct {
	Identity struct {
		DockerReference string `json:"docker-reference"`
	} `json:"identity"`
	Image struct {
		DockerManifestDigest string `json:"docker-manifest-digest"`
	} `json:"image"`
	Type string `json:"type"`
}

// Marshal encodes the payload as the format defines it.
func (p Payload) Marshal() ([]byte, error) { return MarshalTyped(p, PayloadType) }

// MarshalTyped encodes a payload of this shape with another type string:
// cosign's classic payload is the same document typed "cosign container
// image signature".
func MarshalTyped(p Payload, typ string) ([]byte, error) {
	var w wirePayload
	w.Critical.Type = typ
	w.Critical.Image.DockerManifestDigest = p.ManifestDigest
	w.Critical.Identity.DockerReference = p.DockerReference
	if p.Creator != "" || !p.Timestamp.IsZero() {
		w.Optional = map[string]any{}
	}
	if p.Creator != "" {
		w.Optional["creator"] = p.Creator
	}
	if !p.Timestamp.IsZero() {
		w.Optional["timestamp"] = p.Timestamp.Unix()
	}
	return json.Marshal(w)
}

// ParsePayload decodes a payload strictly: the critical section must
// hold exactly the defined fields, and no object may repeat a key (a
// second docker-manifest-digest must not be able to hide behind the first).
func ParsePayload(b []byte) (Payload, error) { return ParseTyped(b, PayloadType) }

// ParseTyped is ParsePayload for a payload of another type string.
// cosign leaves the docker reference out of some payloads, so only the
// digest is required.
func ParseTyped(b []byte, typ string) (Payload, error) {
	if err := noDuplicateKeys(b); err != nil {
		return Payload{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var top struct {
		Critical json.RawMessage `json:"critical"`
		Optional json.RawMessage `json:"optional"`
	}
	if err := strictDecode(b, &top); err != nil {
		return Payload{}, fmt.Errorf("%w: payload: %v", ErrInvalid, err)
	}
	var c wireCritical
	if err := strictDecode(top.Critical, &c); err != nil {
		return Payload{}, fmt.Errorf("%w: critical section: %v", ErrInvalid, err)
	}
	if c.Type != typ {
		return Payload{}, fmt.Errorf("%w: payload type %q, want %q", ErrInvalid, c.Type, typ)
	}
	if c.Image.DockerManifestDigest == "" || (typ == PayloadType && c.Identity.DockerReference == "") {
		return Payload{}, fmt.Errorf("%w: payload lacks the manifest digest or the docker reference", ErrInvalid)
	}
	p := Payload{ManifestDigest: c.Image.DockerManifestDigest, DockerReference: c.Identity.DockerReference}
	if len(top.Optional) > 0 && string(top.Optional) != "null" {
		var o struct {
			Creator   string `json:"creator"`
			Timestamp int64  `json:"timestamp"`
		}
		if err := json.Unmarshal(top.Optional, &o); err == nil {
			p.Creator = o.Creator
			if o.Timestamp != 0 {
				p.Timestamp = time.Unix(o.Timestamp, 0).UTC()
			}
		}
	}
	return p, nil
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// noDuplicateKeys walks a JSON document and fails on a key repeated
// within one object.
func noDuplicateKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		keys   map[string]bool
		object bool
		expect bool // next string token in an object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top != nil && top.object {
					top.expect = true // the container was a value
				}
				stack = append(stack, &frame{keys: map[string]bool{}, object: t == '{', expect: t == '{'})
				if len(stack) > 64 {
					return errors.New("JSON nested too deep")
				}
				continue
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].expect = true
				}
				continue
			}
		case string:
			if top != nil && top.object && top.expect {
				if top.keys[t] {
					return fmt.Errorf("key %q repeated", t)
				}
				top.keys[t] = true
				top.expect = false
				continue
			}
		}
		if top != nil && top.object {
			top.expect = true
		}
	}
}

// Sign wraps the payload in an OpenPGP signed message made with signer,
// which must have an unprotected private part (pgp.Entity.Signer).
func Sign(signer *pgp.Key, p Payload) ([]byte, error) {
	body, err := p.Marshal()
	if err != nil {
		return nil, err
	}
	t := p.Timestamp
	if t.IsZero() {
		t = time.Now()
	}
	sig, err := pgp.Sign(signer, body, t)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return sig, nil
}

// Verify checks an OpenPGP signed message against keyring and returns
// its payload and the fingerprints (signing key, then its primary key if
// another) of the key that made it. A signature by a key not in the
// keyring or not valid now, a bad signature, an encrypted or unsigned
// message, or a payload that does not parse is an error wrapping
// ErrInvalid.
func Verify(sig []byte, keyring pgp.Keyring) (Payload, []string, error) {
	v, err := keyring.Verify(sig, time.Now(), MaxSignatureBytes)
	if err != nil {
		return Payload{}, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	fprs := []string{v.Key.FingerprintHex()}
	if v.Primary != v.Key {
		fprs = append(fprs, v.Primary.FingerprintHex())
	}
	p, err := ParsePayload(v.Body)
	if err != nil {
		return Payload{}, fprs, err
	}
	return p, fprs, nil
}

// MaxSignatures bounds how many signatures of one image are read.
const MaxSignatures = 64

// SignaturePath is where the n-th (1-based) signature of a manifest lives
// below a lookaside store, as containers-registries.d(5) lays it out:
// "<repository path>@<algorithm>=<hex>/signature-<n>". repository is
// "host/path"; the host is not part of the layout.
func SignaturePath(repository, digest string, n int) (string, error) {
	_, repoPath, ok := strings.Cut(repository, "/")
	algo, hexDigest, ok2 := strings.Cut(digest, ":")
	if !ok || !ok2 || repoPath == "" || strings.Contains(repoPath, "..") || strings.ContainsAny(hexDigest, "/.") || strings.ContainsAny(algo, "/.") {
		return "", fmt.Errorf("no lookaside path for %s@%s", repository, digest)
	}
	return fmt.Sprintf("%s@%s=%s/signature-%d", repoPath, algo, hexDigest, n), nil
}
