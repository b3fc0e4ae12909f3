package pgp

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"fmt"
	"math/big"
	"time"
)

// GenerateRSA makes a version 4 RSA signing key of the given size with one
// user ID, self-certified (SHA-256): the kind gpg --quick-gen-key makes,
// which gpg, gpgme (skopeo, podman) and every OpenPGP reader accept. Its
// secret key is unprotected (see ArmoredPrivate).
func GenerateRSA(uid string, bits int, now time.Time) (*Entity, error) {
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, err
	}
	p, q := priv.Primes[0], priv.Primes[1]
	if p.Cmp(q) > 0 { // OpenPGP stores p < q and u = p^-1 mod q
		p, q = q, p
	}
	u := new(big.Int).ModInverse(p, q)
	pubBody := []byte{4, 0, 0, 0, 0, algoRSA}
	binary.BigEndian.PutUint32(pubBody[1:], uint32(now.Unix()))
	pubBody = appendMPI(pubBody, priv.N.Bytes())
	pubBody = appendMPI(pubBody, big.NewInt(int64(priv.E)).Bytes())
	var secret []byte
	for _, v := range []*big.Int{priv.D, p, q, u} {
		secret = appendMPI(secret, v.Bytes())
	}
	var sum uint16
	for _, c := range secret {
		sum += uint16(c)
	}
	secBody := append(append(append([]byte(nil), pubBody...), 0), secret...)
	secBody = binary.BigEndian.AppendUint16(secBody, sum)

	k, _, err := parseKey(secBody, true)
	if err != nil {
		return nil, fmt.Errorf("generated key: %w", err)
	}
	hashed := appendSubpacket(nil, 2, be32(uint32(now.Unix())))
	hashed = appendSubpacket(hashed, 27, []byte{flagCertify | flagSign})
	hashed = appendSubpacket(hashed, 21, []byte{10, 9, 8}) // SHA-512, SHA-384, SHA-256
	hashed = appendSubpacket(hashed, 30, []byte{0x01})     // features: modification detection
	hashed = appendSubpacket(hashed, 33, append([]byte{4}, k.fpr...))
	cert, err := makeSignature(k, sigCertPositive, hashed, keyPrefix(k), uidPrefix([]byte(uid)))
	if err != nil {
		return nil, err
	}
	private := appendPacket(nil, tagSecretKey, secBody)
	private = appendPacket(private, tagUserID, []byte(uid))
	private = appendPacket(private, tagSignature, cert)
	kr, err := ReadKeyring(private)
	if err != nil || len(kr) != 1 || kr[0].Unusable != "" {
		return nil, fmt.Errorf("generated key does not read back: %v", err)
	}
	return kr[0], nil
}

// Signer returns the entity's key that signs: the primary key if it can,
// else a signing subkey, in both cases with an unprotected secret part.
func (e *Entity) Signer(now time.Time) (*Key, error) {
	if e.Unusable != "" {
		return nil, invalid("%s", e.Unusable)
	}
	protected := false
	for _, k := range append([]*Key{e.Primary}, e.Subkeys...) {
		protected = protected || k.protected
		if k.signer != nil && k.usableAt(now, now) == "" {
			return k, nil
		}
	}
	if protected {
		return nil, fmt.Errorf("the private key is passphrase-protected; export an unprotected copy for signing")
	}
	return nil, fmt.Errorf("key %s has no private key that can sign", e.Primary.FingerprintHex())
}

// Sign makes a signed message of body (one-pass signature, literal data,
// signature; uncompressed, binary), as gpg --sign does.
func Sign(k *Key, body []byte, t time.Time) ([]byte, error) {
	if k.signer == nil {
		return nil, fmt.Errorf("key %s has no private part", k.FingerprintHex())
	}
	hashed := appendSubpacket(nil, 2, be32(uint32(t.Unix())))
	hashed = appendSubpacket(hashed, 33, append([]byte{4}, k.fpr...))
	sig, err := makeSignature(k, sigBinary, hashed, body)
	if err != nil {
		return nil, err
	}
	onePass := []byte{3, sigBinary, signingHash(k), k.algo}
	onePass = binary.BigEndian.AppendUint64(onePass, k.KeyID())
	onePass = append(onePass, 1)
	lit := append([]byte{'b', 0, 0, 0, 0, 0}, body...)
	out := appendPacket(nil, tagOnePass, onePass)
	out = appendPacket(out, tagLiteral, lit)
	return appendPacket(out, tagSignature, sig), nil
}

// makeSignature builds a version 4 signature packet body over the
// prefix, with the given hashed subpackets and the issuer key ID
// unhashed.
func makeSignature(k *Key, sigType byte, hashed []byte, prefix ...[]byte) ([]byte, error) {
	body := []byte{4, sigType, k.algo, signingHash(k), byte(len(hashed) >> 8), byte(len(hashed))}
	body = append(body, hashed...)
	d, hid, err := (&signature{hashAlgo: signingHash(k), hashed: body}).sum(prefix...)
	if err != nil {
		return nil, err
	}
	unhashed := appendSubpacket(nil, 16, binary.BigEndian.AppendUint64(nil, k.KeyID()))
	body = append(body, byte(len(unhashed)>>8), byte(len(unhashed)))
	body = append(body, unhashed...)
	body = append(body, d[0], d[1])
	switch priv := k.signer.(type) {
	case *rsa.PrivateKey:
		sig, err := rsa.SignPKCS1v15(nil, priv, hid, d)
		if err != nil {
			return nil, err
		}
		body = appendMPI(body, sig)
	case *ecdsa.PrivateKey:
		r, sv, err := ecdsa.Sign(rand.Reader, priv, d)
		if err != nil {
			return nil, err
		}
		body = appendMPI(appendMPI(body, r.Bytes()), sv.Bytes())
	case ed25519.PrivateKey:
		sig := ed25519.Sign(priv, d)
		if k.algo == algoEdDSA {
			body = appendMPI(appendMPI(body, sig[:32]), sig[32:])
		} else {
			body = append(body, sig...)
		}
	default:
		return nil, fmt.Errorf("key %s cannot sign", k.FingerprintHex())
	}
	return body, nil
}

func appendSubpacket(dst []byte, typ byte, data []byte) []byte {
	dst = append(dst, byte(len(data)+1), typ) // every subpacket here is < 192 bytes
	return append(dst, data...)
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
