package pgp

import (
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrUnknownKey is wrapped when a message is signed by a key the keyring
// does not hold.
var ErrUnknownKey = errors.New("unknown signing key")

// Verified is a message whose signature checked out.
type Verified struct {
	Body []byte // the literal data
	// Key made the signature; Primary is its entity's primary key (the
	// same key when the primary signed).
	Key, Primary *Key
}

// Verify checks a signed message (gpg --sign, binary or armored, possibly
// compressed) made by a key of kr that is valid at now. The message and
// its body are refused above limit bytes.
func (kr Keyring) Verify(msg []byte, now time.Time, limit int) (Verified, error) {
	if len(msg) > limit {
		return Verified{}, invalid("message of %d bytes, more than %d", len(msg), limit)
	}
	if isArmored(msg) {
		var err error
		if msg, err = dearmor(msg); err != nil {
			return Verified{}, err
		}
	}
	m, err := readMessage(msg, limit, false)
	if err != nil {
		return Verified{}, err
	}
	sig, err := parseSignature(m.sig)
	if err != nil {
		return Verified{}, err
	}
	if sig.sigType != sigBinary {
		return Verified{}, invalid("signature type %#02x (only binary document signatures are accepted)", sig.sigType)
	}
	keyID := sig.issuerID
	if m.onePass != nil {
		op := m.onePass
		if len(op) != 13 || op[0] != 3 || op[1] != sig.sigType || op[2] != sig.hashAlgo || op[3] != sig.pubAlgo {
			return Verified{}, invalid("one-pass signature packet does not match the signature")
		}
		opID := binary.BigEndian.Uint64(op[4:12])
		if keyID == 0 {
			keyID = opID
		} else if opID != keyID {
			return Verified{}, invalid("one-pass signature names key %016X, the signature %016X", opID, keyID)
		}
	}
	if sig.issuerFpr == nil && keyID == 0 {
		return Verified{}, invalid("the signature does not name its key")
	}
	k, primary, reason := kr.find(sig.issuerFpr, keyID)
	if k == nil {
		if reason != "" {
			return Verified{}, invalid("%s", reason)
		}
		return Verified{}, fmt.Errorf("%w: signed by key %016X, which the keyring does not hold", ErrUnknownKey, keyID)
	}
	if why := k.usableAt(sig.created, now); why != "" {
		return Verified{}, invalid("signed by key %s, which cannot be used: %s", k.FingerprintHex(), why)
	}
	if sig.created.After(now) {
		return Verified{}, invalid("signature created in the future (%s)", sig.created.UTC().Format(time.RFC3339))
	}
	if sig.expired(now) {
		return Verified{}, invalid("signature expired")
	}
	if err := sig.verify(k, m.literal); err != nil {
		return Verified{}, err
	}
	return Verified{Body: m.literal, Key: k, Primary: primary}, nil
}

// find returns the key with that fingerprint (or, without one, key ID)
// and its primary key, or why a matching key cannot be used.
func (kr Keyring) find(fpr []byte, id uint64) (k, primary *Key, reason string) {
	match := func(c *Key) bool {
		if fpr != nil {
			return bytes.Equal(c.fpr, fpr)
		}
		return c.KeyID() == id && id != 0
	}
	for _, e := range kr {
		if match(e.Primary) {
			if e.Unusable != "" {
				return nil, nil, "signed by key " + e.Primary.FingerprintHex() + ", which cannot be used: " + e.Unusable
			}
			return e.Primary, e.Primary, ""
		}
		if e.Unusable != "" {
			continue
		}
		for _, sk := range e.Subkeys {
			if match(sk) {
				return sk, e.Primary, ""
			}
		}
	}
	return nil, nil, ""
}

type message struct {
	onePass []byte
	literal []byte
	sig     []byte
}

// readMessage takes a signed message apart: [compressed] (one-pass,
// literal, signature) or (signature, literal), one of each.
func readMessage(b []byte, limit int, inner bool) (message, error) {
	var m message
	var order []byte
	for len(b) > 0 {
		p, rest, err := readPacket(b)
		if err != nil {
			return m, err
		}
		b = rest
		switch p.tag {
		case tagMarker:
			continue
		case tagCompressed:
			if inner || len(order) > 0 {
				return m, invalid("a compressed packet inside a message")
			}
			data, err := decompress(p.body, limit)
			if err != nil {
				return m, err
			}
			if len(b) != 0 {
				return m, invalid("data after the compressed packet")
			}
			return readMessage(data, limit, true)
		case tagOnePass:
			m.onePass = p.body
		case tagLiteral:
			lit, err := literalData(p.body)
			if err != nil {
				return m, err
			}
			m.literal = lit
		case tagSignature:
			m.sig = p.body
		case 1, 3, 9, 18, 20:
			return m, invalid("the message is encrypted, not just signed")
		default:
			return m, invalid("unexpected packet type %d in a signed message", p.tag)
		}
		order = append(order, p.tag)
	}
	switch string(order) {
	case string([]byte{tagOnePass, tagLiteral, tagSignature}), string([]byte{tagSignature, tagLiteral}):
		return m, nil
	case string([]byte{tagLiteral}):
		return m, invalid("the message is not signed")
	}
	return m, invalid("not a message with one signature (packets %v)", order)
}

func literalData(b []byte) ([]byte, error) {
	if len(b) < 2 || len(b) < 2+int(b[1])+4 {
		return nil, invalid("truncated literal data packet")
	}
	return b[2+int(b[1])+4:], nil
}

func decompress(b []byte, limit int) ([]byte, error) {
	if len(b) < 1 {
		return nil, invalid("empty compressed packet")
	}
	var r io.Reader
	src := bytes.NewReader(b[1:])
	switch b[0] {
	case 0:
		r = src
	case 1:
		r = flate.NewReader(src)
	case 2:
		zr, err := zlib.NewReader(src)
		if err != nil {
			return nil, invalid("zlib: %v", err)
		}
		r = zr
	case 3:
		r = bzip2.NewReader(src)
	default:
		return nil, invalid("compression algorithm %d is not supported", b[0])
	}
	// A body past the limit is refused, never cut short: its signature
	// would then be checked over part of it.
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, invalid("decompress: %v", err)
	}
	if len(out) > limit {
		return nil, invalid("signed payload is larger than %d bytes", limit)
	}
	return out, nil
}
