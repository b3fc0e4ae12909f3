package verify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/notation"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/sign"
	"github.com/hull-sec/hull/internal/testenv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/notaryproject/notation-core-go/signature"
	"github.com/notaryproject/notation-core-go/signature/cose"
	"github.com/notaryproject/notation-core-go/signature/jws"
	"github.com/notaryproject/tspclient-go"
)

// notationPolicy trusts root for identity.
func (w *world) notationPolicy(t *testing.T, root *x509.Certificate, identity string) *policy.Trust {
	t.Helper()
	p := filepath.Join(w.dir, "notation-root.crt")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &policy.Trust{Rules: []policy.TrustRule{{Scope: w.reg + "/team", Signers: []policy.Signer{{Name: "notary",
		Notation: &policy.NotationSigner{TrustStore: []string{p}, Identities: []string{identity}}}}}}}
}

// referenceSign signs with notation-core-go, the Notary Project's own
// envelope library, in a JWS envelope, and pushes it as Notation does.
func referenceSign(t *testing.T, w *world, ref string, key *ecdsa.PrivateKey, chain []*x509.Certificate) {
	referenceSignAs(t, w, ref, key, chain, jws.MediaTypeEnvelope, nil)
}

// referenceSignAs is referenceSign with an envelope media type and, if
// tsa is set, a timestamp countersignature from it (as notation sign
// --timestamp-url does).
func referenceSignAs(t *testing.T, w *world, ref string, key *ecdsa.PrivateKey, chain []*x509.Certificate, mediaType string, tsa *testenv.TSA) {
	t.Helper()
	ctx := context.Background()
	res, err := image.Resolve(ctx, ref, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]v1.Descriptor{"targetArtifact": res.Descriptor})
	signer, err := signature.NewLocalSigner(chain, key)
	if err != nil {
		t.Fatal(err)
	}
	env, err := signature.NewEnvelope(mediaType)
	if err != nil {
		t.Fatal(err)
	}
	req := &signature.SignRequest{
		Payload: signature.Payload{ContentType: notation.PayloadContentType, Content: payload},
		Signer:  signer, SigningTime: time.Now(), SigningScheme: signature.SigningSchemeX509,
		SigningAgent: "notation-core-go",
	}
	if tsa != nil {
		if req.Timestamper, err = tspclient.NewHTTPTimestamper(nil, tsa.URL); err != nil {
			t.Fatal(err)
		}
		req.TSARootCAs = x509.NewCertPool()
		req.TSARootCAs.AddCert(tsa.Root)
	}
	sig, err := env.Sign(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := image.PushReferrer(ctx, res.Name, res.Descriptor, notation.ArtifactType, mediaType, sig, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// TestNotationTimestampPolicy: a notation signer with a tsaStore accepts
// notation-core-go's signature timestamped by a real TSA (openssl ts) and
// says when it was stamped; the same signer refuses one without a
// timestamp, and a policy without tsaStore still takes both.
func TestNotationTimestampPolicy(t *testing.T) {
	w := newWorld(t)
	tsa := testenv.OpenSSLTSA(t)
	key, chain, err := sign.GenerateNotation("release", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	referenceSignAs(t, w, w.imageA, key, chain, jws.MediaTypeEnvelope, tsa)
	referenceSignAs(t, w, w.imageB, key, chain, cose.MediaTypeEnvelope, nil)
	trust := w.notationPolicy(t, chain[1], "*")
	if vd := w.verify(t, trust, w.imageB); !vd.Accepted {
		t.Errorf("without tsaStore, an untimestamped signature: %+v", vd)
	}
	trust.Rules[0].Signers[0].Notation.TSAStore = []string{tsa.RootPEM}
	vd := w.verify(t, trust, w.imageA)
	if !vd.Accepted || !strings.Contains(vd.Signatures[0].Signer, "timestamped") {
		t.Errorf("timestamped signature under tsaStore: %+v", vd)
	}
	vd = w.verify(t, trust, w.imageB)
	if vd.Accepted || !strings.Contains(vd.Signatures[0].Reason, "no timestamp countersignature") {
		t.Errorf("untimestamped signature under tsaStore: %+v", vd)
	}
	trust.Rules[0].Signers[0].Notation.VerifyTimestamp = policy.TimestampAfterCertExpiry
	if vd := w.verify(t, trust, w.imageB); !vd.Accepted {
		t.Errorf("verifyTimestamp afterCertExpiry, certificate valid, no timestamp: %+v", vd)
	}
}

// TestNotationInterop: both envelopes, both ways with notation-core-go.
func TestNotationInterop(t *testing.T) {
	for _, tc := range []struct {
		mediaType string
		cose      bool
	}{{jws.MediaTypeEnvelope, false}, {cose.MediaTypeEnvelope, true}} {
		t.Run(tc.mediaType, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t)
			key, chain, err := sign.GenerateNotation("release", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			trust := w.notationPolicy(t, chain[1], "x509.subject: O=hull, CN=release")

			// The reference library signs, hull verifies.
			referenceSignAs(t, w, w.imageA, key, chain, tc.mediaType, nil)
			vd := w.verify(t, trust, w.imageA)
			if !vd.Accepted || len(vd.Signatures) != 1 || vd.Signatures[0].Format != "notation" {
				t.Fatalf("notation-core-go's signature in hull: %+v", vd)
			}

			// hull signs, the reference library verifies the envelope.
			s, err := sign.NotationSign(ctx, w.imageB, key, chain, tc.cose, nil, image.Options{})
			if err != nil {
				t.Fatal(err)
			}
			refs, err := image.Referrers(ctx, s.Image.Name, s.Image.Digest, notation.ArtifactType, []string{tc.mediaType}, nil)
			if err != nil || len(refs) != 1 {
				t.Fatalf("hull's signature as a referrer: %v %+v", err, refs)
			}
			env, err := signature.ParseEnvelope(tc.mediaType, refs[0].Blob)
			if err != nil {
				t.Fatal(err)
			}
			content, err := env.Verify()
			if err != nil {
				t.Fatalf("notation-core-go rejects hull's envelope: %v", err)
			}
			var p struct{ TargetArtifact v1.Descriptor }
			if err := json.Unmarshal(content.Payload.Content, &p); err != nil || p.TargetArtifact.Digest != s.Image.Digest {
				t.Errorf("payload %s: %v", content.Payload.Content, err)
			}
			if content.SignerInfo.SignedAttributes.SigningScheme != signature.SigningSchemeX509 {
				t.Errorf("signing scheme %q", content.SignerInfo.SignedAttributes.SigningScheme)
			}
			if vd := w.verify(t, trust, w.imageB); !vd.Accepted {
				t.Errorf("hull rejects its own Notation signature: %+v", vd)
			}
		})
	}
}

func TestNotationTampering(t *testing.T) {
	now := time.Now()
	key, chain, err := sign.GenerateNotation("release", now)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, otherChain, err := sign.GenerateNotation("release", now)
	if err != nil {
		t.Fatal(err)
	}
	oldKey, oldChain, err := sign.GenerateNotation("release", now.AddDate(-2, 0, 0)) // leaf expired a year ago
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		identity string
		sign     func(t *testing.T, w *world)
		want     string
	}{
		{"untrusted root", "*", func(t *testing.T, w *world) { referenceSign(t, w, w.imageA, otherKey, otherChain) }, "certificate chain"},
		{"wrong identity", "x509.subject: O=hull, CN=someone else", func(t *testing.T, w *world) { referenceSign(t, w, w.imageA, key, chain) }, "not a trusted identity"},
		{"expired certificate", "*", func(t *testing.T, w *world) {
			signWith(t, w, w.imageA, oldKey, oldChain, func(e []byte) []byte { return e })
		}, "expired"},
		{"another image's signature", "*", func(t *testing.T, w *world) {
			res, _ := image.Resolve(context.Background(), w.imageB, image.Options{})
			env, _ := notation.SignJWS(key, chain, res.Descriptor, time.Now(), nil)
			a, _ := image.Resolve(context.Background(), w.imageA, image.Options{})
			if _, err := image.PushReferrer(context.Background(), a.Name, a.Descriptor, notation.ArtifactType, notation.JWSMediaType, env, nil, nil); err != nil {
				t.Fatal(err)
			}
		}, "it signs"},
		{"changed payload", "*", func(t *testing.T, w *world) {
			signWith(t, w, w.imageA, key, chain, func(e []byte) []byte {
				var env notation.Envelope
				json.Unmarshal(e, &env)
				env.Payload = env.Payload[:len(env.Payload)-2] + "fQ"
				b, _ := json.Marshal(env)
				return b
			})
		}, "does not verify"},
		{"truncated", "*", func(t *testing.T, w *world) {
			signWith(t, w, w.imageA, key, chain, func(e []byte) []byte { return e[:len(e)/2] })
		}, "envelope"},
		{"garbled COSE envelope", "*", func(t *testing.T, w *world) {
			a, _ := image.Resolve(context.Background(), w.imageA, image.Options{})
			if _, err := image.PushReferrer(context.Background(), a.Name, a.Descriptor, notation.ArtifactType, notation.COSEMediaType, []byte{0xd2, 0x84}, nil, nil); err != nil {
				t.Fatal(err)
			}
		}, "COSE envelope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			trust := w.notationPolicy(t, chain[1], tc.identity)
			if tc.name == "expired certificate" {
				trust = w.notationPolicy(t, oldChain[1], tc.identity)
			}
			tc.sign(t, w)
			vd := w.verify(t, trust, w.imageA)
			if vd.Accepted || len(vd.Signatures) != 1 || !strings.Contains(vd.Signatures[0].Reason, tc.want) {
				t.Fatalf("want a rejection saying %q: %+v", tc.want, vd)
			}
		})
	}
}

// signWith signs with hull, lets change alter the envelope, and pushes it.
func signWith(t *testing.T, w *world, ref string, key *ecdsa.PrivateKey, chain []*x509.Certificate, change func([]byte) []byte) {
	t.Helper()
	res, err := image.Resolve(context.Background(), ref, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	env, err := notation.SignJWS(key, chain, res.Descriptor, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := image.PushReferrer(context.Background(), res.Name, res.Descriptor, notation.ArtifactType, notation.JWSMediaType, change(env), nil, nil); err != nil {
		t.Fatal(err)
	}
}
