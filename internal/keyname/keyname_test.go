package keyname

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	for _, tc := range []struct {
		key  any
		want string
	}{
		{ec, "an ECDSA P-256 key"}, {&ec.PublicKey, "an ECDSA P-256 key"}, {rk, "an RSA-1024 key"},
		{ed, "an Ed25519 key"}, {x, "an ECDH X25519 key"}, {"x", "a key of a kind hull does not know"},
	} {
		if got := Of(tc.key); got != tc.want || strings.ContainsAny(got, "*.{[") {
			t.Errorf("Of(%T) = %q, want %q", tc.key, got, tc.want)
		}
	}
}
