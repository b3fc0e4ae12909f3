package verify_test

import (
	"context"
	"crypto/ecdsa"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hull-sec/hull/internal/cosign"
	"github.com/hull-sec/hull/internal/image"
	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/sign"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
)

var cosignKeys = sync.OnceValues(func() ([2]*ecdsa.PrivateKey, error) {
	a, err := sign.GenerateCosign()
	if err != nil {
		return [2]*ecdsa.PrivateKey{}, err
	}
	b, err := sign.GenerateCosign()
	return [2]*ecdsa.PrivateKey{a, b}, err
})

func (w *world) cosignPolicy(t testing.TB) *policy.Trust {
	t.Helper()
	k, err := cosignKeys()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sign.WriteCosignKey(k[0], w.dir+"/cosign"); err != nil {
		t.Fatal(err)
	}
	return &policy.Trust{Rules: []policy.TrustRule{{Scope: w.reg + "/team", Signers: []policy.Signer{{Name: "ci", Cosign: &policy.CosignSigner{Key: "cosign.pub"}}}}}}
}

func (w *world) cosignSign(t testing.TB, ref string, second bool) {
	t.Helper()
	k, _ := cosignKeys()
	key := k[0]
	if second {
		key = k[1]
	}
	if _, err := sign.CosignSign(context.Background(), ref, key, false, image.Options{}); err != nil {
		t.Fatal(err)
	}
}

func sigTag(t *testing.T, w *world, repo string, d v1.Hash) name.Tag {
	r, err := name.NewRepository(w.reg + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	return r.Tag(cosign.SignatureTag(d))
}

func TestCosignSignThenVerify(t *testing.T) {
	w := newWorld(t)
	trust := w.cosignPolicy(t)
	if vd := w.verify(t, trust, w.imageA); vd.Accepted {
		t.Fatalf("unsigned: %+v", vd)
	}
	w.cosignSign(t, w.imageA, false)
	vd := w.verify(t, trust, w.imageA)
	if !vd.Accepted || len(vd.Signatures) != 1 || vd.Signatures[0].Format != "cosign" || !strings.HasPrefix(vd.Signatures[0].Signer, "SHA256:") {
		t.Fatalf("signed: %+v", vd)
	}
	// cosign signs the repository, so another tag of the same image passes.
	if vd := w.verify(t, trust, w.reg+"/team/a:2"); !vd.Accepted {
		t.Errorf("other tag, same digest: %+v", vd)
	}
	// A second signature by an unaccepted key is listed, the first still counts.
	w.cosignSign(t, w.imageA, true)
	if vd := w.verify(t, trust, w.imageA); !vd.Accepted || len(vd.Signatures) != 2 || vd.Signatures[1].Valid {
		t.Errorf("second signature by another key: %+v", vd)
	}
}

// TestCosignTampering: each case breaks one thing in a real registry.
func TestCosignTampering(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, w *world)
		want   string
	}{
		{"untrusted key", func(t *testing.T, w *world) { w.cosignSign(t, w.imageA, true) }, "does not verify"},
		{"replayed from another image", func(t *testing.T, w *world) {
			w.cosignSign(t, w.imageB, false)
			d, _ := image.Resolve(ctx, w.imageB, image.Options{})
			img, err := remote.Image(sigTag(t, w, "team/b", d.Digest))
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(sigTag(t, w, "team/a", w.digestA), img); err != nil {
				t.Fatal(err)
			}
		}, "signs digest"},
		{"changed payload", func(t *testing.T, w *world) {
			k, _ := cosignKeys()
			good, _ := cosign.MarshalPayload(cosign.Payload{DockerReference: w.reg + "/team/a", ManifestDigest: w.digestA.String()})
			sig, _ := cosign.Sign(k[0], good)
			bad := []byte(strings.Replace(string(good), "team/a", "team/x", 1))
			r, _ := name.NewRepository(w.reg + "/team/a")
			if _, err := cosign.Attach(ctx, r, w.digestA, bad, sig, nil); err != nil {
				t.Fatal(err)
			}
		}, "does not verify"},
		{"garbled signature annotation", func(t *testing.T, w *world) {
			pushSig(t, sigTag(t, w, "team/a", w.digestA), static.NewLayer([]byte("{}"), cosign.PayloadMediaType), "%%%not base64")
		}, "not base64"},
		{"wrong layer media type", func(t *testing.T, w *world) {
			pushSig(t, sigTag(t, w, "team/a", w.digestA), static.NewLayer([]byte("{}"), "text/plain"), "AAAA")
		}, "layer media type"},
		{"giant payload", func(t *testing.T, w *world) {
			pushSig(t, sigTag(t, w, "team/a", w.digestA), static.NewLayer(make([]byte, cosign.MaxPayloadBytes+1), cosign.PayloadMediaType), "AAAA")
		}, "is said to be"},
		{"index instead of a manifest", func(t *testing.T, w *world) {
			idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: empty.Image})
			if err := remote.WriteIndex(sigTag(t, w, "team/a", w.digestA), idx); err != nil {
				t.Fatal(err)
			}
		}, "not an image manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			trust := w.cosignPolicy(t)
			tc.tamper(t, w)
			vd := w.verify(t, trust, w.imageA)
			if vd.Accepted || len(vd.Signatures) == 0 || !strings.Contains(vd.Signatures[0].Reason, tc.want) {
				t.Fatalf("want a rejection saying %q: %+v", tc.want, vd)
			}
		})
	}
}

// pushSig writes a one-layer signature manifest with the given annotation.
func pushSig(t *testing.T, tag name.Tag, l v1.Layer, b64sig string) {
	t.Helper()
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: l, Annotations: map[string]string{cosign.SignatureAnnotation: b64sig}})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
}

// TestBundleTampering: bundles that must not count.
func TestBundleTampering(t *testing.T) {
	ctx := context.Background()
	k, err := cosignKeys()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		bundle func(t *testing.T, w *world) []byte
		want   string
	}{
		{"another image's bundle", func(t *testing.T, w *world) []byte {
			d, _ := image.Resolve(ctx, w.imageB, image.Options{})
			b, _ := cosign.MakeBundle(k[0], d.Digest)
			return b
		}, "subject is not"},
		{"untrusted key", func(t *testing.T, w *world) []byte {
			b, _ := cosign.MakeBundle(k[1], w.digestA)
			return b
		}, "does not verify"},
		{"changed statement", func(t *testing.T, w *world) []byte {
			b, _ := cosign.MakeBundle(k[0], w.digestA)
			return []byte(strings.Replace(string(b), `"payload":"ey`, `"payload":"ez`, 1))
		}, "does not verify"},
		{"garbage", func(t *testing.T, w *world) []byte { return []byte("{not json") }, "bundle:"},
		{"keyless bundle", func(t *testing.T, w *world) []byte {
			return []byte(`{"mediaType":"` + cosign.BundleMediaType + `","verificationMaterial":{"certificate":{"rawBytes":"AA=="}},"dsseEnvelope":{}}`)
		}, "keyless"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			trust := w.cosignPolicy(t)
			res, err := image.Resolve(ctx, w.imageA, image.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cosign.AttachBundle(ctx, res.Name, res.Descriptor, tc.bundle(t, w), nil); err != nil {
				t.Fatal(err)
			}
			vd := w.verify(t, trust, w.imageA)
			if vd.Accepted || len(vd.Signatures) != 1 || !strings.Contains(vd.Signatures[0].Reason, tc.want) {
				t.Fatalf("want a rejection saying %q: %+v", tc.want, vd)
			}
		})
	}
}

// TestBundleThroughReferrersAPI uses a registry that serves the OCI 1.1
// referrers API (go-containerregistry's, with referrers on), where
// Debian's docker-registry makes hull use the tag fallback.
func TestBundleThroughReferrersAPI(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	img := it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("id", "referrers", 0o644)))
	ref, _ := name.ParseReference(host + "/team/app:1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	k, err := cosignKeys()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.CosignSign(ctx, host+"/team/app:1", k[0], true, image.Options{}); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	idx, err := remote.Referrers(ref.Context().Digest(d.String()))
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := idx.IndexManifest(); len(m.Manifests) != 1 {
		t.Fatalf("the referrers API lists %d referrers, want the bundle", len(m.Manifests))
	}
	w := &world{reg: host, dir: t.TempDir()}
	trust := w.cosignPolicy(t)
	trust.Rules[0].Scope = host + "/team"
	if vd := w.verify(t, trust, host+"/team/app:1"); !vd.Accepted || vd.Signatures[0].Format != "sigstore-bundle" {
		t.Fatalf("bundle through the referrers API: %+v", vd)
	}
}
