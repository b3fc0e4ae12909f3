package pgp

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	pm "github.com/ProtonMail/go-crypto/openpgp/packet"
)

const limit = 1 << 20

var hullKey = sync.OnceValues(func() (*Entity, []byte) {
	e, err := GenerateRSA("hull test <test@hull.test>", 2048, time.Now().Add(-time.Hour))
	if err != nil {
		panic(err)
	}
	return e, e.ArmoredPrivate()
})

func sign(t testing.TB, e *Entity, body string) []byte {
	t.Helper()
	k, err := e.Signer(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	msg, err := Sign(k, []byte(body), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestSignVerify(t *testing.T) {
	e, priv := hullKey()
	kr, err := ReadKeyring(priv)
	if err != nil || len(kr) != 1 || kr[0].Unusable != "" {
		t.Fatalf("read back the armored private key: %v %+v", err, kr)
	}
	if got := kr[0].UserIDs; len(got) != 1 || got[0] != "hull test <test@hull.test>" {
		t.Errorf("user IDs %q", got)
	}
	pub, err := ReadKeyring(kr[0].SerializePublic())
	if err != nil || pub[0].Primary.signer != nil || pub[0].Primary.FingerprintHex() != e.Primary.FingerprintHex() {
		t.Fatalf("public keyring: %v (secret kept: %v)", err, err == nil && pub[0].Primary.signer != nil)
	}
	msg := sign(t, e, "payload")
	v, err := pub.Verify(msg, time.Now(), limit)
	if err != nil || string(v.Body) != "payload" || v.Key != pub[0].Primary || v.Primary != pub[0].Primary {
		t.Fatalf("verify: %v %+v", err, v)
	}
	if _, err := pub.Verify(armor(armorMessage, msg), time.Now(), limit); err != nil {
		t.Errorf("armored message: %v", err)
	}
	other, err := GenerateRSA("other", 2048, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (Keyring{other}).Verify(msg, time.Now(), limit); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("another key's keyring: %v", err)
	}
	// Every byte flipped: refused, or (the unhashed issuer key ID, the
	// literal packet's date, an MPI's bit count) the same payload.
	stillValid := 0
	for i := range msg {
		bad := bytes.Clone(msg)
		bad[i] ^= 0x01
		if v, err := pub.Verify(bad, time.Now(), limit); err == nil {
			if string(v.Body) != "payload" {
				t.Fatalf("byte %d flipped: accepted %q", i, v.Body)
			}
			stillValid++
		}
	}
	if stillValid > 8 {
		t.Errorf("%d single-bit changes of %d bytes still verify", stillValid, len(msg))
	}
	if _, err := pub.Verify(msg, time.Now().Add(-2*time.Hour), limit); err == nil {
		t.Error("a signature from before the key's creation time at verification was accepted")
	}
	if _, err := pub.Verify(msg, time.Now(), 10); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("limit: %v", err)
	}
}

// TestKeyringOfSeveralKeys: two secret keys in one file read as two
// entities, each of which serializes to itself alone.
func TestKeyringOfSeveralKeys(t *testing.T) {
	_, a := hullKey()
	b, err := GenerateRSA("second", 2048, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	both, err := dearmor(append(append([]byte{}, a...), b.ArmoredPrivate()...))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := ReadKeyring(both)
	if err != nil || len(kr) != 2 {
		t.Fatalf("two keys: %v, %d entities", err, len(kr))
	}
	for i, e := range kr {
		for what, data := range map[string][]byte{"private": e.ArmoredPrivate(), "public": e.SerializePublic()} {
			one, err := ReadKeyring(data)
			if err != nil || len(one) != 1 || one[0].Primary.FingerprintHex() != e.Primary.FingerprintHex() {
				t.Errorf("entity %d's %s packets: %v, %d entities", i, what, err, len(one))
			}
		}
	}
}

// protonEntity makes a key with ProtonMail's go-crypto, the independent
// implementation hull used before, here an oracle.
func protonEntity(t testing.TB, algo pm.PublicKeyAlgorithm, curve pm.Curve) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity("oracle", "", "oracle@hull.test", &pm.Config{Algorithm: algo, Curve: curve, RSABits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func protonSign(t testing.TB, e *openpgp.Entity, body string, compress bool) []byte {
	t.Helper()
	var out bytes.Buffer
	cfg := &pm.Config{DefaultHash: crypto.SHA256}
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	var err error
	if compress {
		w, err = openpgp.Sign(&out, e, &openpgp.FileHints{IsBinary: true}, &pm.Config{DefaultHash: crypto.SHA256, DefaultCompressionAlgo: pm.CompressionZLIB})
	} else {
		w, err = openpgp.Sign(&out, e, nil, cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(body))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func protonPublic(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := e.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestProtonMailOracle(t *testing.T) {
	cases := map[string]*openpgp.Entity{
		"rsa":      protonEntity(t, pm.PubKeyAlgoRSA, ""),
		"eddsa":    protonEntity(t, pm.PubKeyAlgoEdDSA, pm.Curve25519),
		"ed25519":  protonEntity(t, pm.PubKeyAlgoEd25519, ""),
		"ecdsa256": protonEntity(t, pm.PubKeyAlgoECDSA, pm.CurveNistP256),
		"ecdsa384": protonEntity(t, pm.PubKeyAlgoECDSA, pm.CurveNistP384),
	}
	withSub := protonEntity(t, pm.PubKeyAlgoEdDSA, pm.Curve25519)
	if err := withSub.AddSigningSubkey(&pm.Config{Algorithm: pm.PubKeyAlgoECDSA, Curve: pm.CurveNistP256}); err != nil {
		t.Fatal(err)
	}
	cases["signing subkey"] = withSub
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			kr, err := ReadKeyring(protonPublic(t, e))
			if err != nil || kr[0].Unusable != "" {
				t.Fatalf("read ProtonMail's key: %v %+v", err, kr)
			}
			for _, compress := range []bool{false, true} {
				msg := protonSign(t, e, "payload", compress)
				v, err := kr.Verify(msg, time.Now(), limit)
				if err != nil || string(v.Body) != "payload" {
					t.Fatalf("ProtonMail's signature (compressed %v): %v", compress, err)
				}
				if v.Primary.FingerprintHex() != strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint)) {
					t.Errorf("primary %s", v.Primary.FingerprintHex())
				}
				msg[len(msg)-5] ^= 0x40
				if _, err := kr.Verify(msg, time.Now(), limit); err == nil {
					t.Errorf("ProtonMail's signature with a byte changed was accepted")
				}
			}
			// And the other way: ProtonMail reads hull's key and signature.
			var priv bytes.Buffer
			if err := e.SerializePrivate(&priv, nil); err != nil {
				t.Fatal(err)
			}
			skr, err := ReadKeyring(priv.Bytes())
			if err != nil {
				t.Fatalf("read ProtonMail's secret key: %v", err)
			}
			msg := sign(t, skr[0], "from hull")
			md, err := openpgp.ReadMessage(bytes.NewReader(msg), openpgp.EntityList{e}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			body.ReadFrom(md.UnverifiedBody)
			if md.SignatureError != nil || md.SignedBy == nil || body.String() != "from hull" {
				t.Errorf("ProtonMail rejects hull's signature with its key: %v", md.SignatureError)
			}
		})
	}
	// hull's generated key, read and checked by ProtonMail.
	e, priv := hullKey()
	pe, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(priv))
	if err != nil {
		t.Fatalf("ProtonMail reads hull's private key: %v", err)
	}
	md, err := openpgp.ReadMessage(bytes.NewReader(sign(t, e, "x")), pe, nil, nil)
	if err == nil {
		var body bytes.Buffer
		body.ReadFrom(md.UnverifiedBody)
	}
	if err != nil || md.SignatureError != nil || md.SignedBy == nil {
		t.Errorf("ProtonMail verifies hull's signature: %v %v", err, md.SignatureError)
	}
}

func FuzzReadKeyring(f *testing.F) {
	e, priv := hullKey()
	f.Add(priv)
	f.Add(e.SerializePublic())
	f.Add(protonPublic(f, protonEntity(f, pm.PubKeyAlgoEdDSA, pm.Curve25519)))
	f.Fuzz(func(t *testing.T, b []byte) {
		start := time.Now()
		kr, err := ReadKeyring(b)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("ReadKeyring took %v", d)
		}
		if err != nil {
			return
		}
		for _, e := range kr {
			if e.Unusable == "" && len(e.Primary.fpr) != 20 {
				t.Fatalf("usable entity without a fingerprint")
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	e, _ := hullKey()
	kr := Keyring{e}
	f.Add(sign(f, e, "payload"))
	pe := protonEntity(f, pm.PubKeyAlgoEdDSA, pm.Curve25519)
	pkr, err := ReadKeyring(protonPublic(f, pe))
	if err != nil {
		f.Fatal(err)
	}
	kr = append(kr, pkr...)
	f.Add(protonSign(f, pe, "payload", true))
	f.Add(protonSign(f, pe, "payload", false))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := kr.Verify(b, time.Now(), limit)
		if err == nil && (v.Key == nil || v.Primary == nil) {
			t.Fatalf("accepted without a signer")
		}
	})
}
