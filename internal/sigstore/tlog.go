package sigstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Int64 is a protobuf JSON int64: a quoted decimal, or a plain number.
type Int64 int64

// UnmarshalJSON accepts both forms.
func (n *Int64) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", b)
	}
	*n = Int64(v)
	return nil
}

// Entry is a Rekor (v1) transparency log entry as a sigstore bundle
// carries it (dev.sigstore.rekor.v1.TransparencyLogEntry).
type Entry struct {
	LogIndex Int64 `json:"logIndex"`
	LogID    struct {
		KeyID []byte `json:"keyId"`
	} `json:"logId"`
	KindVersion struct {
		Kind    string `json:"kind"`
		Version string `json:"version"`
	} `json:"kindVersion"`
	IntegratedTime   Int64 `json:"integratedTime"`
	InclusionPromise *struct {
		SignedEntryTimestamp []byte `json:"signedEntryTimestamp"`
	} `json:"inclusionPromise"`
	InclusionProof *struct {
		LogIndex   Int64    `json:"logIndex"`
		RootHash   []byte   `json:"rootHash"`
		TreeSize   Int64    `json:"treeSize"`
		Hashes     [][]byte `json:"hashes"`
		Checkpoint struct {
			Envelope string `json:"envelope"`
		} `json:"checkpoint"`
	} `json:"inclusionProof"`
	CanonicalizedBody []byte `json:"canonicalizedBody"`
}

// verifyEntry checks that the entry is in a log of the root: its signed
// entry timestamp, its inclusion proof and checkpoint, or both, whichever
// it carries. It returns the time the log integrated the entry when the
// signed entry timestamp vouches for it, else the zero time: nothing
// else signs an entry's integratedTime (a Rekor v2 entry has none), so
// the time must then come from a timestamp authority.
func (tr *TrustedRoot) verifyEntry(e *Entry) (time.Time, error) {
	id := hex.EncodeToString(e.LogID.KeyID)
	log := tr.Tlogs[id]
	if log == nil {
		return time.Time{}, fmt.Errorf("%w: log entry %d is in log %s, which the trusted root does not list", ErrInvalid, e.LogIndex, id)
	}
	if e.InclusionPromise == nil && e.InclusionProof == nil {
		return time.Time{}, fmt.Errorf("%w: log entry %d has neither a signed entry timestamp nor an inclusion proof", ErrInvalid, e.LogIndex)
	}
	if e.InclusionPromise != nil && e.IntegratedTime <= 0 {
		return time.Time{}, fmt.Errorf("%w: log entry %d has a signed entry timestamp but no integrated time", ErrInvalid, e.LogIndex)
	}
	if e.InclusionPromise != nil {
		set, err := json.Marshal(struct {
			Body           string `json:"body"`
			IntegratedTime int64  `json:"integratedTime"`
			LogID          string `json:"logID"`
			LogIndex       int64  `json:"logIndex"`
		}{base64.StdEncoding.EncodeToString(e.CanonicalizedBody), int64(e.IntegratedTime), id, int64(e.LogIndex)})
		if err != nil {
			return time.Time{}, err
		}
		if !SignatureValid(log.Key, set, e.InclusionPromise.SignedEntryTimestamp) {
			return time.Time{}, fmt.Errorf("%w: log entry %d: the signed entry timestamp does not verify with the key of %s", ErrInvalid, e.LogIndex, log.BaseURL)
		}
	}
	if p := e.InclusionProof; p != nil {
		leaf := sha256.Sum256(append([]byte{0}, e.CanonicalizedBody...))
		if err := verifyInclusion(int64(p.LogIndex), int64(p.TreeSize), leaf[:], p.Hashes, p.RootHash); err != nil {
			return time.Time{}, fmt.Errorf("%w: log entry %d: %v", ErrInvalid, e.LogIndex, err)
		}
		if err := verifyCheckpoint(log, p.Checkpoint.Envelope, p.RootHash); err != nil {
			return time.Time{}, fmt.Errorf("%w: log entry %d: %v", ErrInvalid, e.LogIndex, err)
		}
	}
	if e.InclusionPromise == nil {
		return time.Time{}, nil
	}
	t := time.Unix(int64(e.IntegratedTime), 0)
	if !log.Valid.Contains(t) {
		return time.Time{}, fmt.Errorf("%w: log entry %d was integrated at %s, outside the validity of %s's key", ErrInvalid, e.LogIndex, t.UTC().Format(time.RFC3339), log.BaseURL)
	}
	return t, nil
}

// verifyInclusion checks an RFC 9162 (2.1.3.2) inclusion proof of the leaf
// hash at index in a tree of size nodes with root hash root.
func verifyInclusion(index, size int64, leaf []byte, proof [][]byte, root []byte) error {
	if index < 0 || size <= 0 || index >= size {
		return fmt.Errorf("inclusion proof: index %d outside a tree of %d", index, size)
	}
	if len(proof) > 64 {
		return fmt.Errorf("inclusion proof: %d hashes", len(proof))
	}
	fn, sn := index, size-1
	r := leaf
	for _, p := range proof {
		if sn == 0 {
			return fmt.Errorf("inclusion proof: too many hashes")
		}
		if fn&1 == 1 || fn == sn {
			r = nodeHash(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = nodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return fmt.Errorf("inclusion proof: too few hashes")
	}
	if !bytes.Equal(r, root) {
		return fmt.Errorf("inclusion proof: computed root hash %x, the proof names %x", r, root)
	}
	return nil
}

func nodeHash(l, r []byte) []byte {
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

// verifyCheckpoint checks a signed note (a checkpoint) from the log: a
// signature by the log's key over its text, and the text's root hash equal
// to the inclusion proof's. The root hash binds the tree; like Rekor's own
// client, the checkpoint's size is not compared with the proof's.
func verifyCheckpoint(log *Log, note string, root []byte) error {
	text, sigs, ok := strings.Cut(note, "\n\n")
	if !ok {
		return fmt.Errorf("checkpoint is not a signed note")
	}
	text += "\n"
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return fmt.Errorf("checkpoint has %d lines, want origin, size and root hash", len(lines))
	}
	if _, err := strconv.ParseUint(lines[1], 10, 64); err != nil {
		return fmt.Errorf("checkpoint tree size %q is not a number", lines[1])
	}
	if h, err := base64.StdEncoding.DecodeString(lines[2]); err != nil || !bytes.Equal(h, root) {
		return fmt.Errorf("checkpoint root hash %q is not the proof's", lines[2])
	}
	for _, line := range strings.Split(sigs, "\n") {
		rest, ok := strings.CutPrefix(line, "\u2014 ")
		if !ok {
			continue
		}
		i := strings.LastIndexByte(rest, ' ')
		if i < 0 {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(rest[i+1:])
		if err != nil || len(raw) < 5 || !(bytes.Equal(raw[:4], log.ID[:4]) || len(log.NoteID) >= 4 && bytes.Equal(raw[:4], log.NoteID[:4])) {
			continue
		}
		if SignatureValid(log.Key, []byte(text), raw[4:]) {
			return nil
		}
		return fmt.Errorf("checkpoint signature does not verify with the key of %s", log.BaseURL)
	}
	return fmt.Errorf("checkpoint carries no signature by %s", log.BaseURL)
}

// Content is what was signed: a message (its SHA-256 digest and the
// signature) or a DSSE envelope.
type Content struct {
	Digest    []byte // SHA-256 of the message
	Signature []byte
	DSSE      *Envelope
}

// Envelope is a DSSE envelope.
type Envelope struct {
	Payload     []byte `json:"payload"`
	PayloadType string `json:"payloadType"`
	Signatures  []struct {
		Sig   []byte `json:"sig"`
		KeyID string `json:"keyid,omitempty"`
	} `json:"signatures"`
}

type hashValue struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

func (h hashValue) is(sum []byte) bool {
	return h.Algorithm == "sha256" && strings.EqualFold(h.Value, hex.EncodeToString(sum))
}

// matchBody checks that the log entry records this signature, by this
// certificate, over this content: a log entry for something else proves
// nothing about it.
func matchBody(e *Entry, leafDER []byte, c Content, sig []byte) error {
	kv := e.KindVersion.Kind + " " + e.KindVersion.Version
	var body struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
		Spec       json.RawMessage
	}
	if err := json.Unmarshal(e.CanonicalizedBody, &body); err != nil {
		return fmt.Errorf("%w: log entry body: %v", ErrInvalid, err)
	}
	if body.Kind+" "+body.APIVersion != kv {
		return fmt.Errorf("%w: log entry body is %s %s, the entry says %s", ErrInvalid, body.Kind, body.APIVersion, kv)
	}
	var payloadSum []byte
	if c.DSSE != nil {
		s := sha256.Sum256(c.DSSE.Payload)
		payloadSum = s[:]
	}
	switch kv {
	case "hashedrekord 0.0.1":
		var s struct {
			Data struct {
				Hash hashValue `json:"hash"`
			} `json:"data"`
			Signature struct {
				Content   []byte `json:"content"`
				PublicKey struct {
					Content []byte `json:"content"`
				} `json:"publicKey"`
			} `json:"signature"`
		}
		if err := json.Unmarshal(body.Spec, &s); err != nil {
			return fmt.Errorf("%w: hashedrekord entry: %v", ErrInvalid, err)
		}
		switch {
		case c.DSSE != nil:
			return fmt.Errorf("%w: a hashedrekord log entry for a DSSE envelope", ErrInvalid)
		case !s.Data.Hash.is(c.Digest):
			return fmt.Errorf("%w: the log entry records digest %s, not the signed message's", ErrInvalid, s.Data.Hash.Value)
		case !bytes.Equal(s.Signature.Content, sig):
			return fmt.Errorf("%w: the log entry records another signature", ErrInvalid)
		case !samePEMCert(s.Signature.PublicKey.Content, leafDER):
			return fmt.Errorf("%w: the log entry records another certificate", ErrInvalid)
		}
		return nil
	case "dsse 0.0.1":
		var s struct {
			PayloadHash hashValue `json:"payloadHash"`
			Signatures  []struct {
				Signature []byte `json:"signature"`
				Verifier  []byte `json:"verifier"`
			} `json:"signatures"`
		}
		if err := json.Unmarshal(body.Spec, &s); err != nil {
			return fmt.Errorf("%w: dsse entry: %v", ErrInvalid, err)
		}
		if c.DSSE == nil || !s.PayloadHash.is(payloadSum) {
			return fmt.Errorf("%w: the log entry records another envelope payload", ErrInvalid)
		}
		for _, x := range s.Signatures {
			if bytes.Equal(x.Signature, sig) && samePEMCert(x.Verifier, leafDER) {
				return nil
			}
		}
		return fmt.Errorf("%w: the log entry does not record this signature by this certificate", ErrInvalid)
	case "intoto 0.0.2":
		var s struct {
			Content struct {
				Envelope struct {
					PayloadType string `json:"payloadType"`
					Signatures  []struct {
						Sig       []byte `json:"sig"` // base64 of the base64 signature
						PublicKey []byte `json:"publicKey"`
					} `json:"signatures"`
				} `json:"envelope"`
				PayloadHash hashValue `json:"payloadHash"`
			} `json:"content"`
		}
		if err := json.Unmarshal(body.Spec, &s); err != nil {
			return fmt.Errorf("%w: intoto entry: %v", ErrInvalid, err)
		}
		if c.DSSE == nil || !s.Content.PayloadHash.is(payloadSum) || s.Content.Envelope.PayloadType != c.DSSE.PayloadType {
			return fmt.Errorf("%w: the log entry records another envelope payload", ErrInvalid)
		}
		for _, x := range s.Content.Envelope.Signatures {
			inner, err := base64.StdEncoding.DecodeString(string(x.Sig))
			if err == nil && bytes.Equal(inner, sig) && samePEMCert(x.PublicKey, leafDER) {
				return nil
			}
		}
		return fmt.Errorf("%w: the log entry does not record this signature by this certificate", ErrInvalid)
	case "hashedrekord 0.0.2":
		// Rekor v2: protobuf JSON; a DSSE envelope is logged as a
		// hashedrekord of its pre-authentication encoding.
		var s struct {
			V struct {
				Data      v2Hash      `json:"data"`
				Signature v2Signature `json:"signature"`
			} `json:"hashedRekordV002"`
		}
		if err := json.Unmarshal(body.Spec, &s); err != nil {
			return fmt.Errorf("%w: hashedrekord entry: %v", ErrInvalid, err)
		}
		want := c.Digest
		if c.DSSE != nil {
			pae := sha256.Sum256(PAE(c.DSSE.PayloadType, c.DSSE.Payload))
			want = pae[:]
		}
		switch {
		case !s.V.Data.is(want):
			return fmt.Errorf("%w: the log entry records another digest than the signed content's", ErrInvalid)
		case !s.V.Signature.is(sig, leafDER):
			return fmt.Errorf("%w: the log entry does not record this signature by this certificate", ErrInvalid)
		}
		return nil
	case "dsse 0.0.2":
		var s struct {
			V struct {
				PayloadHash v2Hash        `json:"payloadHash"`
				Signatures  []v2Signature `json:"signatures"`
			} `json:"dsseV002"`
		}
		if err := json.Unmarshal(body.Spec, &s); err != nil {
			return fmt.Errorf("%w: dsse entry: %v", ErrInvalid, err)
		}
		if c.DSSE == nil || !s.V.PayloadHash.is(payloadSum) {
			return fmt.Errorf("%w: the log entry records another envelope payload", ErrInvalid)
		}
		if !slices.ContainsFunc(s.V.Signatures, func(x v2Signature) bool { return x.is(sig, leafDER) }) {
			return fmt.Errorf("%w: the log entry does not record this signature by this certificate", ErrInvalid)
		}
		return nil
	}
	return fmt.Errorf("%w: log entry kind %s is not supported", ErrInvalid, kv)
}

// v2Hash is a Rekor v2 (protobuf JSON) hash output.
type v2Hash struct {
	Algorithm string `json:"algorithm"`
	Digest    []byte `json:"digest"`
}

func (h v2Hash) is(sum []byte) bool {
	return h.Algorithm == "SHA2_256" && len(sum) == sha256.Size && bytes.Equal(h.Digest, sum)
}

// v2Signature is a Rekor v2 signature with its verifier.
type v2Signature struct {
	Content  []byte `json:"content"`
	Verifier struct {
		X509Certificate *struct {
			RawBytes []byte `json:"rawBytes"`
		} `json:"x509Certificate"`
	} `json:"verifier"`
}

func (s v2Signature) is(sig, leafDER []byte) bool {
	c := s.Verifier.X509Certificate
	return bytes.Equal(s.Content, sig) && c != nil && bytes.Equal(c.RawBytes, leafDER)
}

func samePEMCert(p []byte, der []byte) bool {
	b, _ := pem.Decode(p)
	return b != nil && b.Type == "CERTIFICATE" && bytes.Equal(b.Bytes, der)
}
