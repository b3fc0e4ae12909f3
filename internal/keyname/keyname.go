// Package keyname names cryptographic keys in plain words for messages:
// "an ECDSA P-256 key", never a Go type such as *ecdsa.PublicKey.
package keyname

import (
	//lint:ignore SA1019 deprecated, but crypto/x509 still parses DSA keys, which must be named
	"crypto/dsa"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"strconv"
)

// Of names the kind of key k, public or private.
func Of(k any) string {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return "an RSA-" + strconv.Itoa(k.N.BitLen()) + " key"
	case *rsa.PrivateKey:
		return Of(&k.PublicKey)
	case *ecdsa.PublicKey:
		return "an ECDSA " + k.Curve.Params().Name + " key"
	case *ecdsa.PrivateKey:
		return Of(&k.PublicKey)
	case ed25519.PublicKey, ed25519.PrivateKey:
		return "an Ed25519 key"
	case *ecdh.PublicKey:
		return "an ECDH " + curve(k.Curve()) + " key"
	case *ecdh.PrivateKey:
		return Of(k.PublicKey())
	case *dsa.PublicKey, *dsa.PrivateKey:
		return "a DSA key"
	case nil:
		return "no key"
	}
	return "a key of a kind hull does not know"
}

func curve(c ecdh.Curve) string {
	switch c {
	case ecdh.X25519():
		return "X25519"
	case ecdh.P256():
		return "P-256"
	case ecdh.P384():
		return "P-384"
	case ecdh.P521():
		return "P-521"
	}
	return "unknown-curve"
}
