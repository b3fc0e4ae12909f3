package pgp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1" // #nosec G505 -- the v4 key fingerprint is SHA-1 by definition (RFC 4880 12.2); no signature is checked with it
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// Key is one primary key or subkey.
type Key struct {
	algo    byte
	created time.Time
	body    []byte // the public key packet body: fingerprint and signatures cover it
	fpr     []byte
	pub     crypto.PublicKey // nil if the algorithm cannot sign here
	signer  crypto.Signer    // an unprotected secret key, if read
	// protected says a secret part was present but passphrase-protected.
	protected bool

	// From its newest valid self-signature or binding signature.
	expires  time.Time // zero: never
	revoked  bool
	canSign  bool
	unusable string // why it cannot sign, for errors
}

// FingerprintHex renders it as gpg does: 40 upper-case hex digits.
func (k *Key) FingerprintHex() string { return strings.ToUpper(hex.EncodeToString(k.fpr)) }

// KeyID is the low 64 bits of the fingerprint.
func (k *Key) KeyID() uint64 {
	if len(k.fpr) != 20 {
		return 0
	}
	return binary.BigEndian.Uint64(k.fpr[12:])
}

// Entity is a primary key with its user IDs and subkeys.
type Entity struct {
	Primary *Key
	Subkeys []*Key
	UserIDs []string
	// Unusable says why no key of the entity can be used (unsupported
	// algorithm or version, no valid self-signature); empty if usable.
	Unusable string
	public   []byte // the entity's packets without secret parts or trust packets
	secret   []byte // all its packets as read, if it has a secret key
}

// SerializePublic writes the entity's public packets as read (secret key
// packets turned into public ones), the form gpg --export writes.
func (e *Entity) SerializePublic() []byte { return slices.Clone(e.public) }

// ArmoredPrivate is the entity's packets as read, secret keys included,
// ASCII-armored; nil if it was read without a secret key.
func (e *Entity) ArmoredPrivate() []byte {
	if e.secret == nil {
		return nil
	}
	return armor(armorPrivateKey, e.secret)
}

// MaxKeyringBytes bounds a keyring file callers read for ReadKeyring.
const MaxKeyringBytes = 16 << 20

// Keyring is the entities read from one or more keys.
type Keyring []*Entity

// ReadKeyring reads binary or ASCII-armored OpenPGP keys, public or
// secret (gpg --export, --export-secret-keys, hull key generate). Each
// entity's self-signatures and subkey bindings are checked here; an
// entity that cannot be used stays in the keyring with the reason.
func ReadKeyring(data []byte) (Keyring, error) {
	if isArmored(data) {
		var err error
		if data, err = dearmor(data); err != nil {
			return nil, err
		}
	}
	var kr Keyring
	var cur *rawEntity
	finish := func() {
		if cur != nil {
			kr = append(kr, cur.build())
		}
	}
	for len(data) > 0 {
		p, rest, err := readPacket(data)
		if err != nil {
			return nil, err
		}
		raw := data[:len(data)-len(rest)]
		data = rest
		if cur != nil && p.tag != tagTrust && p.tag != tagPublicKey && p.tag != tagSecretKey {
			cur.all = append(cur.all, raw...)
		}
		switch p.tag {
		case tagPublicKey, tagSecretKey:
			finish()
			k, pubBody, err := parseKey(p.body, p.tag == tagSecretKey)
			cur = &rawEntity{all: slices.Clone(raw), hasSecret: p.tag == tagSecretKey}
			cur.primary = &rawKey{key: k, err: err}
			cur.appendPublic(tagPublicKey, pubBody, p.body)
		case tagPublicSubkey, tagSecretSubkey:
			if cur == nil {
				return nil, invalid("subkey before any primary key")
			}
			k, pubBody, err := parseKey(p.body, p.tag == tagSecretSubkey)
			cur.hasSecret = cur.hasSecret || p.tag == tagSecretSubkey
			cur.subkeys = append(cur.subkeys, &rawKey{key: k, err: err})
			cur.last = lastSubkey
			cur.appendPublic(tagPublicSubkey, pubBody, p.body)
		case tagUserID:
			if cur == nil {
				return nil, invalid("user ID before any primary key")
			}
			cur.uids = append(cur.uids, rawUID{id: p.body})
			cur.last = lastUID
			cur.public = append(cur.public, raw...)
		case tagUserAttribute:
			if cur == nil {
				return nil, invalid("user attribute before any primary key")
			}
			cur.last = lastAttribute
			cur.public = append(cur.public, raw...)
		case tagSignature:
			if cur == nil {
				return nil, invalid("signature before any primary key")
			}
			cur.addSignature(p.body)
			cur.public = append(cur.public, raw...)
		case tagTrust, tagMarker:
		default:
			return nil, invalid("unexpected packet type %d in a keyring", p.tag)
		}
	}
	finish()
	if len(kr) == 0 {
		return nil, invalid("no keys")
	}
	return kr, nil
}

// rawEntity collects an entity's packets before its signatures are checked.
type rawEntity struct {
	primary   *rawKey
	direct    [][]byte // signature bodies directly on the primary key
	uids      []rawUID
	subkeys   []*rawKey
	last      int
	public    []byte
	all       []byte
	hasSecret bool
}

const (
	lastPrimary = iota
	lastUID
	lastAttribute
	lastSubkey
)

type rawKey struct {
	key  *Key
	err  error
	sigs [][]byte
}

type rawUID struct {
	id   []byte
	sigs [][]byte
}

func (r *rawEntity) appendPublic(tag byte, pubBody, body []byte) {
	if pubBody == nil {
		pubBody = body // unparsed: kept as is, its entity unusable
	}
	r.public = appendPacket(r.public, tag, pubBody)
}

func (r *rawEntity) addSignature(body []byte) {
	switch r.last {
	case lastPrimary:
		r.direct = append(r.direct, body)
	case lastUID:
		u := &r.uids[len(r.uids)-1]
		u.sigs = append(u.sigs, body)
	case lastSubkey:
		s := r.subkeys[len(r.subkeys)-1]
		s.sigs = append(s.sigs, body)
	}
}

// build checks the self-signatures and bindings and returns the entity.
func (r *rawEntity) build() *Entity {
	e := &Entity{Primary: r.primary.key, public: r.public}
	if r.hasSecret {
		e.secret = r.all
	}
	if r.primary.err != nil {
		e.Unusable = r.primary.err.Error()
		if e.Primary == nil {
			e.Primary = &Key{}
		}
		return e
	}
	pk := e.Primary
	now := time.Now()
	if pk.pub == nil {
		e.Unusable = pk.unusable
		return e
	}
	mine := func(s *signature) bool {
		if s.issuerFpr != nil {
			return bytes.Equal(s.issuerFpr, pk.fpr)
		}
		return s.issuerID == 0 || s.issuerID == pk.KeyID()
	}
	var self *signature // the newest valid self-certification or direct-key signature
	newer := func(s *signature) {
		if self == nil || s.created.After(self.created) {
			self = s
		}
	}
	for _, b := range r.direct {
		s, err := parseSignature(b)
		if err != nil || !mine(s) {
			continue
		}
		switch s.sigType {
		case sigKeyRevocation:
			if s.verify(pk, keyPrefix(pk)) == nil {
				pk.revoked = true
			}
		case sigDirectKey:
			if !s.expired(now) && s.verify(pk, keyPrefix(pk)) == nil {
				newer(s)
			}
		}
	}
	var lastErr error // why the last self-certification failed, for the error
	for _, u := range r.uids {
		valid := false
		for _, b := range u.sigs {
			s, err := parseSignature(b)
			if err != nil || !mine(s) || s.sigType < sigCertGeneric || s.sigType > sigCertPositive {
				continue
			}
			if s.expired(now) {
				continue
			}
			if lastErr = s.verify(pk, keyPrefix(pk), uidPrefix(u.id)); lastErr == nil {
				valid = true
				newer(s)
			}
		}
		if valid {
			e.UserIDs = append(e.UserIDs, string(u.id))
		}
	}
	if self == nil {
		e.Unusable = fmt.Sprintf("key %s has no valid self-signature", pk.FingerprintHex())
		if lastErr != nil {
			e.Unusable += " (" + lastErr.Error() + ")"
		}
		return e
	}
	pk.applySelf(self)
	pk.canSign = !self.hasFlags || self.flags&flagSign != 0
	if !pk.canSign {
		pk.unusable = "its key flags do not allow signing"
	}
	for _, rs := range r.subkeys {
		if rs.err != nil || rs.key.pub == nil {
			continue
		}
		sk := rs.key
		var bind *signature
		for _, b := range rs.sigs {
			s, err := parseSignature(b)
			if err != nil || !mine(s) {
				continue
			}
			switch s.sigType {
			case sigSubkeyRevoke:
				if s.verify(pk, keyPrefix(pk), keyPrefix(sk)) == nil {
					sk.revoked = true
				}
			case sigSubkeyBinding:
				if !s.expired(now) && s.verify(pk, keyPrefix(pk), keyPrefix(sk)) == nil && (bind == nil || s.created.After(bind.created)) {
					bind = s
				}
			}
		}
		if bind == nil {
			continue // not bound to this primary key: not part of it
		}
		sk.applySelf(bind)
		// A subkey lives no longer than its primary key.
		sk.revoked = sk.revoked || pk.revoked
		if !pk.expires.IsZero() && (sk.expires.IsZero() || sk.expires.After(pk.expires)) {
			sk.expires = pk.expires
		}
		switch {
		case !bind.hasFlags || bind.flags&flagSign == 0:
			sk.unusable = "it is not a signing subkey"
		case !backSigned(bind, pk, sk):
			sk.unusable = "its binding has no valid back-signature by the subkey"
		default:
			sk.canSign = true
		}
		e.Subkeys = append(e.Subkeys, sk)
	}
	return e
}

// backSigned checks the primary key binding signature a signing subkey
// must embed in its binding, so that nobody can claim another's subkey.
func backSigned(bind *signature, pk, sk *Key) bool {
	if bind.embedded == nil {
		return false
	}
	s, err := parseSignature(bind.embedded)
	return err == nil && s.sigType == sigPrimaryBinding && s.verify(sk, keyPrefix(pk), keyPrefix(sk)) == nil
}

func (k *Key) applySelf(s *signature) {
	if s.keyExpiry != 0 {
		k.expires = k.created.Add(time.Duration(s.keyExpiry) * time.Second)
	}
}

// usableAt says why k cannot make a signature at t, or "" if it can.
func (k *Key) usableAt(t, now time.Time) string {
	switch {
	case k.revoked:
		return "it is revoked"
	case !k.canSign:
		if k.unusable != "" {
			return k.unusable
		}
		return "it cannot sign"
	case !k.expires.IsZero() && now.After(k.expires):
		return "it expired on " + k.expires.UTC().Format(time.DateOnly)
	case t.Before(k.created):
		return "the signature predates the key"
	}
	return ""
}

func keyPrefix(k *Key) []byte {
	b := []byte{0x99, byte(len(k.body) >> 8), byte(len(k.body))}
	return append(b, k.body...)
}

func uidPrefix(id []byte) []byte {
	b := []byte{0xb4, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(len(id)))
	return append(b, id...)
}

// Curve OIDs.
var (
	oidP256    = []byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}
	oidP384    = []byte{0x2b, 0x81, 0x04, 0x00, 0x22}
	oidP521    = []byte{0x2b, 0x81, 0x04, 0x00, 0x23}
	oidEd25519 = []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01}
)

// parseKey reads a version 4 key packet body and, for a secret key, its
// unprotected secret part. It returns the public body (the whole body
// for a public key). An algorithm that cannot sign here gives a Key
// without pub and the reason in unusable.
func parseKey(body []byte, secret bool) (*Key, []byte, error) {
	if len(body) < 1 || body[0] != 4 {
		if len(body) > 0 {
			return nil, nil, invalid("key version %d (only version 4 is supported)", body[0])
		}
		return nil, nil, invalid("empty key packet")
	}
	if len(body) < 6 {
		return nil, nil, invalid("truncated key packet")
	}
	k := &Key{created: time.Unix(int64(binary.BigEndian.Uint32(body[1:])), 0), algo: body[5]}
	rest := body[6:]
	var fields [][]byte
	mpis := func(n int) error {
		for range n {
			m, r, err := readMPI(rest)
			if err != nil {
				return err
			}
			fields, rest = append(fields, m), r
		}
		return nil
	}
	oid := func() error {
		if len(rest) < 1 || int(rest[0]) == 0 || int(rest[0]) == 0xff || len(rest) < 1+int(rest[0]) {
			return invalid("bad curve OID")
		}
		fields, rest = append(fields, rest[1:1+int(rest[0])]), rest[1+int(rest[0]):]
		return nil
	}
	fixed := func(n int) error {
		if len(rest) < n {
			return invalid("truncated key material")
		}
		fields, rest = append(fields, rest[:n]), rest[n:]
		return nil
	}
	var err error
	switch k.algo {
	case algoRSA, algoRSAEncrypt, algoRSASign:
		err = mpis(2)
	case 16: // ElGamal
		err = mpis(3)
	case 17: // DSA
		err = mpis(4)
	case 18: // ECDH: OID, point, KDF parameters
		if err = oid(); err == nil {
			if err = mpis(1); err == nil {
				if len(rest) < 1 {
					err = invalid("truncated ECDH parameters")
				} else {
					err = fixed(1 + int(rest[0]))
				}
			}
		}
	case algoECDSA, algoEdDSA:
		if err = oid(); err == nil {
			err = mpis(1)
		}
	case 25: // X25519
		err = fixed(32)
	case 26: // X448
		err = fixed(56)
	case algoEd25519:
		err = fixed(32)
	case 28: // Ed448
		err = fixed(57)
	default:
		if secret {
			return nil, nil, invalid("secret key of unknown algorithm %d", k.algo)
		}
		rest = nil
	}
	if err != nil {
		return nil, nil, err
	}
	pubBody := body[:len(body)-len(rest)]
	if !secret && len(rest) != 0 {
		return nil, nil, invalid("%d stray bytes after the key material", len(rest))
	}
	k.body = pubBody
	sum := sha1.Sum(keyPrefix(k)) // #nosec G401 -- RFC 4880 v4 fingerprint
	k.fpr = sum[:]
	k.pub, k.unusable = publicKey(k.algo, fields)
	if secret {
		if err := k.parseSecret(rest); err != nil {
			return nil, nil, fmt.Errorf("secret key %s: %w", k.FingerprintHex(), err)
		}
	}
	return k, pubBody, nil
}

func publicKey(algo byte, f [][]byte) (crypto.PublicKey, string) {
	switch algo {
	case algoRSA, algoRSASign:
		n, e := new(big.Int).SetBytes(f[0]), new(big.Int).SetBytes(f[1])
		if n.BitLen() < 1024 || n.BitLen() > 8192 || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return nil, fmt.Sprintf("RSA key of %d bits or exponent %v is refused", n.BitLen(), e)
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, ""
	case algoECDSA:
		var c elliptic.Curve
		switch {
		case bytes.Equal(f[0], oidP256):
			c = elliptic.P256()
		case bytes.Equal(f[0], oidP384):
			c = elliptic.P384()
		case bytes.Equal(f[0], oidP521):
			c = elliptic.P521()
		default:
			return nil, "ECDSA curve " + hex.EncodeToString(f[0]) + " is not supported (NIST P-256, P-384, P-521)"
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(c, f[1])
		if err != nil {
			return nil, "bad ECDSA point: " + err.Error()
		}
		return pub, ""
	case algoEdDSA:
		if !bytes.Equal(f[0], oidEd25519) {
			return nil, "EdDSA curve " + hex.EncodeToString(f[0]) + " is not supported (Ed25519)"
		}
		if len(f[1]) != 33 || f[1][0] != 0x40 {
			return nil, "bad Ed25519 point"
		}
		return ed25519.PublicKey(slices.Clone(f[1][1:])), ""
	case algoEd25519:
		return ed25519.PublicKey(slices.Clone(f[0])), ""
	case algoRSAEncrypt, 16, 18, 25, 26:
		return nil, "it is an encryption key"
	case 17:
		return nil, "DSA keys are not supported"
	}
	return nil, fmt.Sprintf("public-key algorithm %d is not supported", algo)
}

// parseSecret reads an unprotected secret part (s2k usage 0) and checks
// that it matches the public key.
func (k *Key) parseSecret(b []byte) error {
	if len(b) < 1 {
		return invalid("truncated secret key")
	}
	if b[0] != 0 {
		k.protected = true
		return nil
	}
	material := b[1:]
	rest := material
	var f [][]byte
	mpis := func(n int) error {
		for range n {
			m, r, err := readMPI(rest)
			if err != nil {
				return err
			}
			f, rest = append(f, m), r
		}
		return nil
	}
	var err error
	switch k.algo {
	case algoRSA, algoRSASign:
		err = mpis(4)
	case algoECDSA, algoEdDSA:
		err = mpis(1)
	case algoEd25519:
		if len(rest) < 32 {
			err = invalid("truncated Ed25519 secret")
		} else {
			f, rest = [][]byte{rest[:32]}, rest[32:]
		}
	default:
		return nil // a secret we do not sign with: public part only
	}
	if err != nil {
		return err
	}
	if len(rest) != 2 {
		return invalid("bad secret key length")
	}
	var sum uint16
	for _, c := range material[:len(material)-2] {
		sum += uint16(c)
	}
	if sum != binary.BigEndian.Uint16(rest) {
		return invalid("secret key checksum mismatch")
	}
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		priv := &rsa.PrivateKey{PublicKey: *pub, D: new(big.Int).SetBytes(f[0]),
			Primes: []*big.Int{new(big.Int).SetBytes(f[1]), new(big.Int).SetBytes(f[2])}}
		if err := priv.Validate(); err != nil {
			return invalid("RSA secret key: %v", err)
		}
		priv.Precompute()
		k.signer = priv
	case *ecdsa.PublicKey:
		d, ok := leftPad(f[0], (pub.Curve.Params().BitSize+7)/8)
		if !ok {
			return invalid("bad ECDSA secret")
		}
		priv, err := ecdsa.ParseRawPrivateKey(pub.Curve, d)
		if err != nil || !priv.PublicKey.Equal(pub) {
			return invalid("ECDSA secret does not match its public key")
		}
		k.signer = priv
	case ed25519.PublicKey:
		seed, ok := leftPad(f[0], ed25519.SeedSize)
		if !ok {
			return invalid("bad Ed25519 secret")
		}
		priv := ed25519.NewKeyFromSeed(seed)
		if !bytes.Equal(priv.Public().(ed25519.PublicKey), pub) {
			return invalid("Ed25519 secret does not match its public key")
		}
		k.signer = priv
	}
	return nil
}
