package cosign

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/sigstore"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var digest = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}

func TestClassicRoundTrip(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	payload, err := MarshalPayload(Payload{DockerReference: "r.example/app", ManifestDigest: digest.String()})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := Sign(key, payload)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Verify(key.Public(), payload, base64.StdEncoding.EncodeToString(sig))
	if err != nil || p.ManifestDigest != digest.String() || p.DockerReference != "r.example/app" {
		t.Fatalf("%+v %v", p, err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := Verify(other.Public(), payload, base64.StdEncoding.EncodeToString(sig)); err == nil {
		t.Error("another key verified the signature")
	}
}

func TestBundleRoundTrip(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b, err := MakeBundle(key, digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyBundle(key.Public(), b, digest); err != nil {
		t.Fatal(err)
	}
	if err := VerifyBundle(key.Public(), b, v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("cd", 32)}); err == nil {
		t.Error("a bundle for another digest verified")
	}
}

func FuzzVerifyBundle(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b, _ := MakeBundle(key, digest)
	f.Add(b)
	f.Add([]byte(`{"mediaType":"` + BundleMediaType + `","dsseEnvelope":{"payload":"e30=","payloadType":"` + InTotoPayloadType + `","signatures":[{"sig":"AA=="}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if VerifyBundle(key.Public(), data, digest) != nil {
			return
		}
		// Whatever passed must carry a statement naming the digest.
		var bundle sigstore.Bundle
		if err := json.Unmarshal(data, &bundle); err != nil || bundle.DSSEEnvelope == nil {
			t.Fatalf("accepted a bundle that does not parse: %q", data)
		}
		if payload := bundle.DSSEEnvelope.Payload; !strings.Contains(string(payload), digest.Hex) {
			t.Fatalf("accepted a statement that does not name the digest: %q", payload)
		}
	})
}

func FuzzParsePayload(f *testing.F) {
	f.Add([]byte(`{"critical":{"identity":{"docker-reference":"r/a"},"image":{"docker-manifest-digest":"sha256:ab"},"type":"cosign container image signature"},"optional":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := ParsePayload(b); err == nil && p.ManifestDigest == "" {
			t.Fatalf("accepted a payload without a digest: %q", b)
		}
	})
}
