// Package pgp is the part of OpenPGP (RFC 4880, with RFC 9580's Ed25519)
// that containers "simple signing" needs, and no more: reading keyrings
// (binary or ASCII-armored, public or unprotected secret keys), verifying
// a signed message against them, generating an RSA signing key and
// signing a message.
//
// Data flows one way: bytes -> packets (packet.go, armor.go) -> keys with
// their self-signatures checked (key.go) -> a Keyring; a signed message
// -> its literal data and one signature (message.go) -> the key that made
// it, checked (signature.go). Everything is parsed from byte slices bounded
// by the caller; nothing is streamed, so a truncated or oversized input is
// an error before any of it is trusted.
//
// Supported: version 4 keys and signatures; RSA, ECDSA (NIST P-256/384/521),
// EdDSA (legacy Ed25519) and Ed25519; SHA-2 and SHA-3 hashes; compressed
// (ZIP, ZLIB, BZip2) or uncompressed messages with one signature, one-pass
// or not. Refused with a reason: SHA-1 and older hashes, DSA and other
// algorithms, version 3, 5 and 6 packets, passphrase-protected secret keys,
// encrypted messages, text-mode signatures.
//
// hull had used github.com/ProtonMail/go-crypto, which now stays a test
// oracle: its package-level curve tables and the post-quantum algorithms
// it links cost every hull command about a millisecond of start-up
// (bench/README.md) for features simple signing does not use.
package pgp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
)

// ErrInvalid wraps every reason an input is refused: malformed, unsupported
// or failing a check.
var ErrInvalid = errors.New("invalid OpenPGP data")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// Packet tags used here.
const (
	tagSignature     = 2
	tagSecretKey     = 5
	tagPublicKey     = 6
	tagSecretSubkey  = 7
	tagCompressed    = 8
	tagMarker        = 10
	tagLiteral       = 11
	tagTrust         = 12
	tagUserID        = 13
	tagPublicSubkey  = 14
	tagUserAttribute = 17
	tagOnePass       = 4
)

type packet struct {
	tag  byte
	body []byte
}

// readPacket splits the first packet off b. Partial body lengths are
// joined; an old-format packet of indeterminate length runs to the end.
func readPacket(b []byte) (packet, []byte, error) {
	if len(b) == 0 {
		return packet{}, nil, invalid("no packet")
	}
	h := b[0]
	if h&0x80 == 0 {
		return packet{}, nil, invalid("bad packet header byte %#02x", h)
	}
	if h&0x40 == 0 { // old format
		tag := (h >> 2) & 0x0f
		b = b[1:]
		var n int
		switch h & 3 {
		case 0:
			if len(b) < 1 {
				return packet{}, nil, invalid("truncated packet header")
			}
			n, b = int(b[0]), b[1:]
		case 1:
			if len(b) < 2 {
				return packet{}, nil, invalid("truncated packet header")
			}
			n, b = int(binary.BigEndian.Uint16(b)), b[2:]
		case 2:
			if len(b) < 4 {
				return packet{}, nil, invalid("truncated packet header")
			}
			n, b = int(binary.BigEndian.Uint32(b)), b[4:]
		case 3:
			n = len(b)
		}
		if n < 0 || n > len(b) {
			return packet{}, nil, invalid("packet of %d bytes, %d left", n, len(b))
		}
		return packet{tag: tag, body: b[:n]}, b[n:], nil
	}
	tag := h & 0x3f
	b = b[1:]
	var body []byte
	for chunks := 0; ; chunks++ {
		if len(b) < 1 {
			return packet{}, nil, invalid("truncated packet header")
		}
		l0 := int(b[0])
		var n int
		partial := false
		switch {
		case l0 < 192:
			n, b = l0, b[1:]
		case l0 < 224:
			if len(b) < 2 {
				return packet{}, nil, invalid("truncated packet header")
			}
			n, b = (l0-192)<<8+int(b[1])+192, b[2:]
		case l0 == 255:
			if len(b) < 5 {
				return packet{}, nil, invalid("truncated packet header")
			}
			n, b = int(binary.BigEndian.Uint32(b[1:])), b[5:]
		default:
			if tag != tagLiteral && tag != tagCompressed {
				return packet{}, nil, invalid("partial length in a packet of type %d", tag)
			}
			n, b, partial = 1<<(l0&0x1f), b[1:], true
		}
		if n < 0 || n > len(b) {
			return packet{}, nil, invalid("packet of %d bytes, %d left", n, len(b))
		}
		if !partial && chunks == 0 {
			return packet{tag: tag, body: b[:n]}, b[n:], nil
		}
		body = append(body, b[:n]...)
		b = b[n:]
		if !partial {
			return packet{tag: tag, body: body}, b, nil
		}
	}
}

// appendPacket writes a new-format packet.
func appendPacket(dst []byte, tag byte, body []byte) []byte {
	dst = append(dst, 0xc0|tag)
	switch n := len(body); {
	case n < 192:
		dst = append(dst, byte(n))
	case n < 8384:
		n -= 192
		dst = append(dst, byte(n>>8)+192, byte(n))
	default:
		dst = append(dst, 255)
		dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	}
	return append(dst, body...)
}

// readMPI reads a multiprecision integer: a bit count and its bytes.
func readMPI(b []byte) ([]byte, []byte, error) {
	if len(b) < 2 {
		return nil, nil, invalid("truncated MPI")
	}
	bits := int(binary.BigEndian.Uint16(b))
	n := (bits + 7) / 8
	if len(b) < 2+n {
		return nil, nil, invalid("truncated MPI of %d bits", bits)
	}
	return b[2 : 2+n], b[2+n:], nil
}

func appendMPI(dst []byte, v []byte) []byte {
	for len(v) > 0 && v[0] == 0 {
		v = v[1:]
	}
	bits := 0
	if len(v) > 0 {
		bits = (len(v)-1)*8 + big.NewInt(int64(v[0])).BitLen()
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(bits))
	return append(dst, v...)
}

// leftPad returns v as exactly n bytes, or false if it is longer.
func leftPad(v []byte, n int) ([]byte, bool) {
	for len(v) > n && v[0] == 0 {
		v = v[1:]
	}
	if len(v) > n {
		return nil, false
	}
	out := make([]byte, n)
	copy(out[n-len(v):], v)
	return out, true
}
