package pgp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/binary"
	"hash"
	"math/big"
	"time"
)

// Signature types used here.
const (
	sigBinary         = 0x00
	sigCertGeneric    = 0x10
	sigCertPositive   = 0x13
	sigSubkeyBinding  = 0x18
	sigPrimaryBinding = 0x19
	sigDirectKey      = 0x1f
	sigKeyRevocation  = 0x20
	sigSubkeyRevoke   = 0x28
)

// Public-key algorithms.
const (
	algoRSA        = 1
	algoRSASign    = 3
	algoECDSA      = 19
	algoEdDSA      = 22
	algoEd25519    = 27
	algoRSAEncrypt = 2
)

// Key flags.
const (
	flagCertify = 0x01
	flagSign    = 0x02
)

// Hash algorithm IDs and their Go hashes. SHA-1, MD5 and RIPEMD-160
// are absent: a signature using them is refused.
var hashes = map[byte]struct {
	id  crypto.Hash
	new func() hash.Hash
}{
	8:  {crypto.SHA256, sha256.New},
	9:  {crypto.SHA384, sha512.New384},
	10: {crypto.SHA512, sha512.New},
	11: {crypto.SHA224, sha256.New224},
	12: {crypto.SHA3_256, func() hash.Hash { return sha3.New256() }},
	14: {crypto.SHA3_512, func() hash.Hash { return sha3.New512() }},
}

// signingHash is the hash hull signs with: SHA-256, or for ECDSA keys on
// the larger curves one as long as the curve, which gpg requires.
func signingHash(k *Key) byte {
	if pub, ok := k.pub.(*ecdsa.PublicKey); ok {
		switch pub.Curve.Params().BitSize {
		case 384:
			return 9
		case 521:
			return 10
		}
	}
	return 8
}

// signature is a parsed version 4 signature packet. Only its hashed
// subpackets are trusted; the unhashed issuer key ID is a lookup hint.
type signature struct {
	sigType   byte
	pubAlgo   byte
	hashAlgo  byte
	hashed    []byte // version through hashed subpackets: what the hash covers
	left16    [2]byte
	mpis      [][]byte // RSA: s; ECDSA, EdDSA: r, s; Ed25519: the 64 bytes
	created   time.Time
	expiresIn uint32 // seconds after created, 0 never
	keyExpiry uint32 // seconds after the key's creation, 0 never
	hasFlags  bool
	flags     byte
	issuerID  uint64
	issuerFpr []byte
	embedded  []byte // an embedded signature's packet body
}

// Subpacket types understood here; an unknown one marked critical makes
// the signature invalid, as RFC 4880 5.2.3.1 requires.
var knownSubpackets = map[byte]bool{
	2: true, 3: true, 4: true, 7: true, 9: true, 11: true, 12: true, 16: true, 21: true, 22: true,
	23: true, 24: true, 25: true, 26: true, 27: true, 28: true, 29: true, 30: true, 31: true,
	32: true, 33: true, 34: true, 35: true, 37: true, 39: true,
}

func parseSignature(body []byte) (*signature, error) {
	if len(body) < 1 {
		return nil, invalid("empty signature packet")
	}
	if body[0] != 4 {
		return nil, invalid("signature version %d (only version 4 is supported)", body[0])
	}
	if len(body) < 6 {
		return nil, invalid("truncated signature")
	}
	s := &signature{sigType: body[1], pubAlgo: body[2], hashAlgo: body[3]}
	hl := int(binary.BigEndian.Uint16(body[4:]))
	if len(body) < 6+hl+2 {
		return nil, invalid("truncated signature subpackets")
	}
	s.hashed = body[:6+hl]
	if err := s.subpackets(body[6:6+hl], true); err != nil {
		return nil, err
	}
	rest := body[6+hl:]
	ul := int(binary.BigEndian.Uint16(rest))
	if len(rest) < 2+ul+2 {
		return nil, invalid("truncated signature subpackets")
	}
	if err := s.subpackets(rest[2:2+ul], false); err != nil {
		return nil, err
	}
	rest = rest[2+ul:]
	copy(s.left16[:], rest)
	rest = rest[2:]
	switch s.pubAlgo {
	case algoRSA, algoRSASign:
		m, r, err := readMPI(rest)
		if err != nil {
			return nil, err
		}
		s.mpis, rest = [][]byte{m}, r
	case algoECDSA, algoEdDSA:
		r, rest1, err := readMPI(rest)
		if err != nil {
			return nil, err
		}
		sv, rest2, err := readMPI(rest1)
		if err != nil {
			return nil, err
		}
		s.mpis, rest = [][]byte{r, sv}, rest2
	case algoEd25519:
		if len(rest) < ed25519.SignatureSize {
			return nil, invalid("truncated Ed25519 signature")
		}
		s.mpis, rest = [][]byte{rest[:ed25519.SignatureSize]}, rest[ed25519.SignatureSize:]
	default:
		return nil, invalid("signature algorithm %d is not supported", s.pubAlgo)
	}
	if len(rest) != 0 {
		return nil, invalid("%d stray bytes after the signature", len(rest))
	}
	if s.created.IsZero() {
		return nil, invalid("signature has no hashed creation time")
	}
	return s, nil
}

func (s *signature) subpackets(b []byte, hashed bool) error {
	for len(b) > 0 {
		var n int
		switch l0 := int(b[0]); {
		case l0 < 192:
			n, b = l0, b[1:]
		case l0 < 255:
			if len(b) < 2 {
				return invalid("truncated subpacket")
			}
			n, b = (l0-192)<<8+int(b[1])+192, b[2:]
		default:
			if len(b) < 5 {
				return invalid("truncated subpacket")
			}
			n, b = int(binary.BigEndian.Uint32(b[1:])), b[5:]
		}
		if n < 1 || n > len(b) {
			return invalid("subpacket of %d bytes, %d left", n, len(b))
		}
		typ, critical, data := b[0]&0x7f, b[0]&0x80 != 0, b[1:n]
		b = b[n:]
		if !hashed {
			// Two unhashed subpackets are used: the issuer key ID, a
			// lookup hint, and the embedded back-signature, which gpg
			// puts here and which authenticates itself.
			switch {
			case typ == 16 && len(data) == 8 && s.issuerID == 0:
				s.issuerID = binary.BigEndian.Uint64(data)
			case typ == 32 && s.embedded == nil:
				s.embedded = data
			}
			continue
		}
		if critical && !knownSubpackets[typ] {
			return invalid("unknown critical subpacket %d", typ)
		}
		fixed := func(size int) bool { return len(data) == size }
		switch typ {
		case 2:
			if !fixed(4) {
				return invalid("bad creation time subpacket")
			}
			s.created = time.Unix(int64(binary.BigEndian.Uint32(data)), 0)
		case 3:
			if !fixed(4) {
				return invalid("bad signature expiration subpacket")
			}
			s.expiresIn = binary.BigEndian.Uint32(data)
		case 9:
			if !fixed(4) {
				return invalid("bad key expiration subpacket")
			}
			s.keyExpiry = binary.BigEndian.Uint32(data)
		case 16:
			if !fixed(8) {
				return invalid("bad issuer subpacket")
			}
			s.issuerID = binary.BigEndian.Uint64(data)
		case 27:
			if len(data) > 0 {
				s.hasFlags, s.flags = true, data[0]
			}
		case 32:
			s.embedded = data
		case 33:
			if len(data) == 21 && data[0] == 4 {
				s.issuerFpr = data[1:]
			}
		}
	}
	return nil
}

// sum hashes the signed data (prefix), the signature's hashed part and
// its trailer.
func (s *signature) sum(prefix ...[]byte) ([]byte, crypto.Hash, error) {
	h, ok := hashes[s.hashAlgo]
	if !ok {
		return nil, 0, invalid("hash algorithm %d is not accepted (SHA-2 or SHA-3 only)", s.hashAlgo)
	}
	w := h.new()
	for _, p := range prefix {
		w.Write(p)
	}
	w.Write(s.hashed)
	var trailer [6]byte
	trailer[0], trailer[1] = 4, 0xff
	binary.BigEndian.PutUint32(trailer[2:], uint32(len(s.hashed)))
	w.Write(trailer[:])
	return w.Sum(nil), h.id, nil
}

// verify checks s, over prefix, as made by key k.
func (s *signature) verify(k *Key, prefix ...[]byte) error {
	if s.pubAlgo != k.algo && !(isRSA(s.pubAlgo) && isRSA(k.algo)) {
		return invalid("signature algorithm %d, key algorithm %d", s.pubAlgo, k.algo)
	}
	d, hid, err := s.sum(prefix...)
	if err != nil {
		return err
	}
	if d[0] != s.left16[0] || d[1] != s.left16[1] {
		return invalid("signature does not match the signed data")
	}
	bad := invalid("bad signature by key %s", k.FingerprintHex())
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		sig, ok := leftPad(s.mpis[0], pub.Size())
		if !ok || rsa.VerifyPKCS1v15(pub, hid, d, sig) != nil {
			return bad
		}
	case *ecdsa.PublicKey:
		r, sv := new(big.Int).SetBytes(s.mpis[0]), new(big.Int).SetBytes(s.mpis[1])
		if !ecdsa.Verify(pub, d, r, sv) {
			return bad
		}
	case ed25519.PublicKey:
		sig := s.mpis[0]
		if s.pubAlgo == algoEdDSA {
			r, ok1 := leftPad(s.mpis[0], 32)
			sv, ok2 := leftPad(s.mpis[1], 32)
			if !ok1 || !ok2 {
				return bad
			}
			sig = append(r, sv...)
		}
		if !ed25519.Verify(pub, d, sig) {
			return bad
		}
	default:
		return invalid("key %s cannot verify signatures", k.FingerprintHex())
	}
	return nil
}

func isRSA(a byte) bool { return a == algoRSA || a == algoRSASign }

// expired reports whether s is past its own expiration at now.
func (s *signature) expired(now time.Time) bool {
	return s.expiresIn != 0 && now.After(s.created.Add(time.Duration(s.expiresIn)*time.Second))
}
