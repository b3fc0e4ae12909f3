package simplesign

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/hull-sec/hull/internal/pgp"
)

// testKey is an Ed25519 key made by ProtonMail's go-crypto (an
// independent implementation, for crafting messages), its keyring and
// hull's signer for it.
var testKey = sync.OnceValues(func() (*openpgp.Entity, pgp.Keyring) {
	e, err := openpgp.NewEntity("test", "", "test@hull.test", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		panic(err)
	}
	var b bytes.Buffer
	if err := e.SerializePrivate(&b, nil); err != nil {
		panic(err)
	}
	kr, err := pgp.ReadKeyring(b.Bytes())
	if err != nil {
		panic(err)
	}
	return e, kr
})

func signer(t testing.TB, kr pgp.Keyring) *pgp.Key {
	t.Helper()
	k, err := kr[0].Signer(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignVerifyRoundTrip(t *testing.T) {
	key, kr := testKey()
	p := Payload{ManifestDigest: "sha256:" + strings.Repeat("a", 64), DockerReference: "registry.example/app:1", Creator: "hull", Timestamp: time.Now().UTC().Truncate(time.Second)}
	sig, err := Sign(signer(t, kr), p)
	if err != nil {
		t.Fatal(err)
	}
	got, fprs, err := Verify(sig, kr)
	if err != nil {
		t.Fatal(err)
	}
	if got != p || fprs[len(fprs)-1] != strings.ToUpper(hex.EncodeToString(key.PrimaryKey.Fingerprint)) {
		t.Errorf("round trip: %+v by %v, want %+v", got, fprs, p)
	}
	other, err := pgp.GenerateRSA("other", 2048, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Verify(sig, pgp.Keyring{other}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "keyring does not hold") {
		t.Errorf("unknown signer: %v", err)
	}
	flipped := bytes.Clone(sig)
	flipped[len(flipped)-10] ^= 1
	if _, _, err := Verify(flipped, kr); !errors.Is(err, ErrInvalid) {
		t.Errorf("flipped signature byte: %v", err)
	}
}

func TestParsePayloadIsStrict(t *testing.T) {
	const good = `{"critical":{"identity":{"docker-reference":"r/a:1"},"image":{"docker-manifest-digest":"sha256:ab"},"type":"atomic container signature"},"optional":{"creator":"x"}}`
	if _, err := ParsePayload([]byte(good)); err != nil {
		t.Fatalf("good payload: %v", err)
	}
	for name, doc := range map[string]string{
		"duplicate digest":   `{"critical":{"identity":{"docker-reference":"r/a:1"},"image":{"docker-manifest-digest":"sha256:ab","docker-manifest-digest":"sha256:cd"},"type":"atomic container signature"}}`,
		"duplicate critical": `{"critical":{"identity":{"docker-reference":"r/a:1"},"image":{"docker-manifest-digest":"sha256:ab"},"type":"atomic container signature"},"critical":{}}`,
		"unknown critical":   `{"critical":{"identity":{"docker-reference":"r/a:1"},"image":{"docker-manifest-digest":"sha256:ab"},"type":"atomic container signature","extra":1}}`,
		"unknown top level":  `{"critical":{"identity":{"docker-reference":"r/a:1"},"image":{"docker-manifest-digest":"sha256:ab"},"type":"atomic container signature"},"other":1}`,
		"wrong type":         `{"critical":{"identity":{"docker-reference":"r/a:1"},"image":{"docker-manifest-digest":"sha256:ab"},"type":"cosign container image signature"}}`,
		"no digest":          `{"critical":{"identity":{"docker-reference":"r/a:1"},"image":{},"type":"atomic container signature"}}`,
		"trailing data":      good + `{}`,
		"not json":           `{`,
		"deep nesting":       strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100),
	} {
		if _, err := ParsePayload([]byte(doc)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: want ErrInvalid, got %v", name, err)
		}
	}
}

func TestSignaturePath(t *testing.T) {
	p, err := SignaturePath("registry.example:5000/team/app", "sha256:abc", 2)
	if err != nil || p != "team/app@sha256=abc/signature-2" {
		t.Errorf("got %q, %v", p, err)
	}
	for _, bad := range [][2]string{{"noslash", "sha256:abc"}, {"r/../x", "sha256:abc"}, {"r/a", "sha256:../x"}, {"r/a", "nodigest"}} {
		if _, err := SignaturePath(bad[0], bad[1], 1); err == nil {
			t.Errorf("SignaturePath(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func FuzzParsePayload(f *testing.F) {
	f.Add([]byte(`{"critical":{"identity":{"docker-reference":"r/a:1"},"image":{"docker-manifest-digest":"sha256:ab"},"type":"atomic container signature"},"optional":{"creator":"x","timestamp":1}}`))
	f.Add([]byte(`{"critical":{"critical":{}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePayload(b)
		if err == nil && (p.ManifestDigest == "" || p.DockerReference == "") {
			t.Fatalf("accepted a payload without digest or reference: %q", b)
		}
	})
}

func FuzzVerify(f *testing.F) {
	_, kr := testKey()
	sig, err := Sign(signer(f, kr), Payload{ManifestDigest: "sha256:ab", DockerReference: "r/a:1"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sig)
	f.Add([]byte("-----BEGIN PGP MESSAGE-----\n\n-----END PGP MESSAGE-----"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, fprs, err := Verify(b, kr)
		if err == nil && (len(fprs) == 0 || p.ManifestDigest == "") {
			t.Fatalf("accepted without a signer or digest")
		}
	})
}

// TestOversizeBodyIsRefused: a compressed message whose body expands past
// the limit must be refused. Reading only up to the limit would leave the
// signature, checked at the body's end, unchecked.
func TestOversizeBodyIsRefused(t *testing.T) {
	key, kr := testKey()
	body := `{"critical":{"identity":{"docker-reference":"r/a:1"},"image":{"docker-manifest-digest":"sha256:ab"},"type":"atomic container signature"}}` +
		strings.Repeat(" ", MaxSignatureBytes+1)
	var signed, msg bytes.Buffer
	w, err := openpgp.Sign(&signed, key, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(body))
	w.Close()
	broken := bytes.Clone(signed.Bytes())
	broken[len(broken)-3] ^= 0xff // in the trailing signature packet
	for name, m := range map[string][]byte{"valid signature": signed.Bytes(), "broken signature": broken} {
		// A compressed data packet around the signed message, as gpg writes.
		msg.Reset()
		zw, err := packet.SerializeCompressed(nopCloser{&msg}, packet.CompressionZLIB, nil)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(m)
		zw.Close()
		if msg.Len() > MaxSignatureBytes/100 {
			t.Fatalf("the message is %d bytes: it must be small and expand past the limit", msg.Len())
		}
		if _, _, err := Verify(msg.Bytes(), kr); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("%s, body expanding past the limit: %v", name, err)
		}
	}
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

// containers/image refuses a payload without the "optional" key ("Key
// "optional" missing in a JSON object"); cosign writes it as null.
func TestPayloadAlwaysHasOptional(t *testing.T) {
	for _, p := range []Payload{{ManifestDigest: "sha256:ab", DockerReference: "r/a"}, {ManifestDigest: "sha256:ab", Creator: "hull"}} {
		b, err := MarshalTyped(p, "cosign container image signature")
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m["optional"]; !ok {
			t.Errorf("payload without optional: %s", b)
		}
		if p.Creator == "" && string(m["optional"]) != "null" {
			t.Errorf("empty optional is %s, want null as cosign writes it", m["optional"])
		}
	}
}
