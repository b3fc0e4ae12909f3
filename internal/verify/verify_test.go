package verify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/pgp"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/sign"
	"github.com/hull-sec/hull/internal/simplesign"
	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/verify"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// world is a real registry holding two images, two keys, and a lookaside
// directory.
type world struct {
	reg         string
	dir         string
	sigs        string
	release     *pgp.Entity
	other       *pgp.Entity
	releaseRing string
	bothRing    string
	imageA      string // reg/team/a:1
	imageB      string // reg/team/b:1
	digestA     v1.Hash
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{reg: testenv.Registry(t), dir: t.TempDir()}
	w.sigs = filepath.Join(w.dir, "sigs")
	push := func(repo string, body string) v1.Hash {
		img := it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("id", body, 0o644)))
		ref, err := name.ParseReference(w.reg + "/" + repo)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	w.digestA = push("team/a:1", "a")
	push("team/a:2", "a") // the same image under another tag
	push("team/b:1", "b")
	w.imageA, w.imageB = w.reg+"/team/a:1", w.reg+"/team/b:1"
	w.release, w.other = testKeys(t)
	var err error
	_, w.releaseRing, err = sign.WriteGPGKey(w.release, filepath.Join(w.dir, "release"))
	if err != nil {
		t.Fatal(err)
	}
	_, otherRing, err := sign.WriteGPGKey(w.other, filepath.Join(w.dir, "other"))
	if err != nil {
		t.Fatal(err)
	}
	w.bothRing = filepath.Join(w.dir, "both.pub")
	a, _ := os.ReadFile(w.releaseRing)
	b, _ := os.ReadFile(otherRing)
	if err := os.WriteFile(w.bothRing, append(a, b...), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// keys are made once: RSA key generation dominates the test time.
var keys = sync.OnceValues(func() ([2]*pgp.Entity, error) {
	a, err := sign.GenerateGPG("release", "release@hull.test")
	if err != nil {
		return [2]*pgp.Entity{}, err
	}
	b, err := sign.GenerateGPG("other", "other@hull.test")
	return [2]*pgp.Entity{a, b}, err
})

func testKeys(t testing.TB) (release, other *pgp.Entity) {
	k, err := keys()
	if err != nil {
		t.Fatal(err)
	}
	return k[0], k[1]
}

// headA is image A's repository and its manifest's descriptor, what a
// signature is attached to.
func (w *world) headA(t testing.TB) (name.Repository, *v1.Descriptor) {
	t.Helper()
	repo, err := name.NewRepository(w.reg + "/team/a")
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(repo.Tag("1"))
	if err != nil {
		t.Fatal(err)
	}
	return repo, desc
}

func (w *world) policy(keyring string) *policy.Trust {
	return &policy.Trust{
		Default:   policy.TrustReject,
		Lookaside: []policy.Lookaside{{Scope: w.reg, Path: w.sigs}},
		Rules: []policy.TrustRule{
			{Scope: w.reg + "/team", Signers: []policy.Signer{{Name: "release", GPG: &policy.GPGSigner{
				Keyring: keyring, Fingerprints: []string{w.release.Primary.FingerprintHex()}}}}},
			{Scope: w.reg + "/team/legacy", Reject: true},
			{Scope: w.reg + "/public", InsecureAcceptAnything: true},
		},
	}
}

func (w *world) verify(t *testing.T, trust *policy.Trust, ref string) finding.Verdict {
	t.Helper()
	v, err := verify.New(trust, w.dir, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	vd, err := v.Verify(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return vd
}

func (w *world) sign(t *testing.T, key *pgp.Entity, ref string) string {
	t.Helper()
	s, err := sign.SimpleSign(context.Background(), ref, key, w.sigs, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Path
}

func TestSignThenVerify(t *testing.T) {
	w := newWorld(t)
	trust := w.policy("release.pub")
	if vd := w.verify(t, trust, w.imageA); vd.Accepted || !strings.Contains(vd.Reason, "none were found") {
		t.Fatalf("unsigned image: %+v", vd)
	}
	p := w.sign(t, w.release, w.imageA)
	if !strings.HasSuffix(p, "team/a@sha256="+w.digestA.Hex+"/signature-1") {
		t.Errorf("signature stored at %s, not where containers tools look", p)
	}
	vd := w.verify(t, trust, w.imageA)
	if !vd.Accepted || vd.Digest != w.digestA.String() || vd.Rule != w.reg+"/team" || len(vd.Signatures) != 1 || !vd.Signatures[0].Valid {
		t.Fatalf("signed image: %+v", vd)
	}
	// A second signature goes to signature-2; both are listed.
	w.sign(t, w.other, w.imageA)
	vd = w.verify(t, w.policy("both.pub"), w.imageA)
	if !vd.Accepted || len(vd.Signatures) != 2 || vd.Signatures[1].Valid || !strings.Contains(vd.Signatures[1].Reason, "does not accept") {
		t.Fatalf("two signatures, one by an unaccepted key: %+v", vd)
	}
	// By digest: the repository must match, not the tag.
	if vd := w.verify(t, trust, w.reg+"/team/a@"+w.digestA.String()); !vd.Accepted {
		t.Errorf("digest reference: %+v", vd)
	}
}

func TestRulesWithoutSignatures(t *testing.T) {
	w := newWorld(t)
	trust := w.policy("release.pub")
	trust.Rules = append(trust.Rules, policy.TrustRule{Scope: w.reg + "/team/b", Reject: true})
	w.sign(t, w.release, w.imageB)
	if vd := w.verify(t, trust, w.imageB); vd.Accepted || vd.Rule != w.reg+"/team/b" {
		t.Errorf("the exact reject scope must win over the glob: %+v", vd)
	}
	trust.Rules = trust.Rules[:1]
	trust.Default = policy.TrustInsecureAcceptAnything
	push := it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("x", "x", 0o644)))
	ref, _ := name.ParseReference(w.reg + "/elsewhere/x:1")
	if err := remote.Write(ref, push); err != nil {
		t.Fatal(err)
	}
	if vd := w.verify(t, trust, w.reg+"/elsewhere/x:1"); !vd.Accepted || vd.Rule != "default" || !strings.Contains(vd.Reason, "insecureAcceptAnything") {
		t.Errorf("insecure default: %+v", vd)
	}
	// A policy that sets no default says the reject is the default's.
	trust.Default = ""
	if vd := w.verify(t, trust, w.reg+"/elsewhere/x:1"); vd.Accepted || !strings.Contains(vd.Reason, "trust.default rejects (reject, as the policy sets no trust.default)") {
		t.Errorf("unset default: %+v", vd)
	}
}

// TestTamperedSignaturesAreRejected is the tampering corpus: each case
// changes one thing and must be rejected with a reason that says what.
func TestTamperedSignaturesAreRejected(t *testing.T) {
	for _, tc := range []struct {
		name    string
		keyring string
		tamper  func(t *testing.T, w *world, sigPath string)
		want    string
	}{
		{"changed payload", "release.pub", func(t *testing.T, w *world, p string) {
			b, _ := os.ReadFile(p)
			i := strings.Index(string(b), "docker-manifest-digest")
			if i < 0 {
				t.Fatal("payload not found in the signed message")
			}
			b[i+40] ^= 1
			os.WriteFile(p, b, 0o644)
		}, "invalid simple signature"},
		{"replayed from another image", "release.pub", func(t *testing.T, w *world, p string) {
			other := w.sign(t, w.release, w.imageB)
			b, _ := os.ReadFile(other)
			os.WriteFile(p, b, 0o644)
		}, "signs digest"},
		{"wrong identity", "release.pub", func(t *testing.T, w *world, p string) {
			os.Remove(p)
			w.sign(t, w.release, w.reg+"/team/a:2") // same digest, other tag
		}, "signed for"},
		{"untrusted key", "release.pub", func(t *testing.T, w *world, p string) {
			os.Remove(p)
			w.sign(t, w.other, w.imageA)
		}, "keyring does not hold"},
		{"key in keyring but not accepted", "both.pub", func(t *testing.T, w *world, p string) {
			os.Remove(p)
			w.sign(t, w.other, w.imageA)
		}, "does not accept"},
		{"truncated", "release.pub", func(t *testing.T, w *world, p string) {
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, "invalid simple signature"},
		{"garbled", "release.pub", func(t *testing.T, w *world, p string) {
			os.WriteFile(p, []byte("not an OpenPGP message at all"), 0o644)
		}, "invalid simple signature"},
		{"oversize", "release.pub", func(t *testing.T, w *world, p string) {
			os.WriteFile(p, make([]byte, simplesign.MaxSignatureBytes+1), 0o644)
		}, "more than 4194304 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			p := w.sign(t, w.release, w.imageA)
			tc.tamper(t, w, p)
			vd := w.verify(t, w.policy(tc.keyring), w.imageA)
			if vd.Accepted {
				t.Fatalf("tampered signature accepted: %+v", vd)
			}
			if len(vd.Signatures) != 1 || !strings.Contains(vd.Signatures[0].Reason, tc.want) {
				t.Fatalf("reason should say %q: %+v", tc.want, vd.Signatures)
			}
		})
	}
}

func TestPolicyKeyErrors(t *testing.T) {
	w := newWorld(t)
	trust := w.policy("release.pub")
	trust.Rules[0].Signers[0].GPG.Fingerprints = []string{strings.Repeat("AB", 20)}
	// The message names the keys the keyring does hold, to copy the
	// right fingerprint from.
	if _, err := verify.New(trust, w.dir, image.Options{}); err == nil || !strings.Contains(err.Error(), "holds no key") || !strings.Contains(err.Error(), "(it holds "+w.release.Primary.FingerprintHex()+")") {
		t.Errorf("fingerprint absent from the keyring: %v", err)
	}
	trust = w.policy("missing.pub")
	if _, err := verify.New(trust, w.dir, image.Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing keyring: %v", err)
	}
	// A keyring that never ends (its size says 0) is cut at the limit.
	trust = w.policy("/dev/zero")
	if _, err := verify.New(trust, w.dir, image.Options{}); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("endless keyring: %v", err)
	}
}

// TestLookasideOverHTTP: a lookaside store given as a URL, served over
// plain HTTP on loopback (anything else needs https).
func TestLookasideOverHTTP(t *testing.T) {
	w := newWorld(t)
	w.sign(t, w.release, w.imageA)
	srv := httptest.NewServer(http.FileServer(http.Dir(w.sigs)))
	t.Cleanup(srv.Close)
	trust := w.policy("release.pub")
	trust.Lookaside = []policy.Lookaside{{Scope: w.reg, URL: srv.URL}}
	vd := w.verify(t, trust, w.imageA)
	if !vd.Accepted || !strings.HasPrefix(vd.Signatures[0].Location, srv.URL) {
		t.Fatalf("signature over HTTP: %+v", vd)
	}
	if vd := w.verify(t, trust, w.imageB); vd.Accepted || len(vd.Signatures) != 0 {
		t.Errorf("unsigned image over HTTP (404 means no signatures): %+v", vd)
	}
	trust.Lookaside = []policy.Lookaside{{Scope: w.reg, URL: "http://192.0.2.1/sigs"}}
	v, err := verify.New(trust, w.dir, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), w.imageA); err == nil || !strings.Contains(err.Error(), "refusing plain HTTP") {
		t.Errorf("plain HTTP to a non-loopback store: %v", err)
	}
}

// TestDomainWildcardScopes: a *.domain rule covers every host below the
// domain (not the domain itself), as the policy.json hull exports does;
// under an insecure default, a reject rule for *.example.com rejects.
func TestDomainWildcardScopes(t *testing.T) {
	const d = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	trust := &policy.Trust{Default: policy.TrustInsecureAcceptAnything, Rules: []policy.TrustRule{
		{Scope: "*.example.com", Reject: true},
		{Scope: "ok.example.com", InsecureAcceptAnything: true},
	}}
	v, err := verify.New(trust, t.TempDir(), image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for ref, rule := range map[string]string{
		"registry.example.com/team/app:1" + d: "*.example.com",
		"a.b.example.com:5000/x" + d:          "*.example.com",
		"ok.example.com/x" + d:                "ok.example.com",
		"example.com/x" + d:                   "default",
		"registry.example.org/x" + d:          "default",
	} {
		vd, err := v.Verify(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		if vd.Rule != rule || vd.Accepted != (rule != "*.example.com") {
			t.Errorf("%s: rule %q accepted %v, want rule %q", ref, vd.Rule, vd.Accepted, rule)
		}
	}
}

// FuzzPinnedReference: any name pinned to a digest is judged without a
// registry, or refused as a bad reference; never a panic, and a verdict
// names the rule its repository falls under.
func FuzzPinnedReference(f *testing.F) {
	for _, s := range []string{"registry.example.com/team/app:1", "busybox", "Registry.example.com/a", "localhost:5000/a:b", "a@b", "x.example.com/A"} {
		f.Add(s)
	}
	trust := &policy.Trust{Default: policy.TrustInsecureAcceptAnything, Rules: []policy.TrustRule{{Scope: "*.example.com", Reject: true}}}
	v, err := verify.New(trust, f.TempDir(), image.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		vd, err := v.Verify(context.Background(), name+"@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
		if err != nil {
			if !errors.Is(err, image.ErrBadRef) {
				t.Fatalf("%q: %v is not a bad reference", name, err)
			}
			return
		}
		repo, _, _ := strings.Cut(vd.Reference, "@")
		if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
			repo = repo[:i]
		}
		if want := trust.RuleFor(repo); vd.Accepted == (want != nil) || repo != strings.ToLower(repo) {
			t.Fatalf("%q: verdict %+v for repository %s", name, vd, repo)
		}
	})
}

// TestNamesNoScopeCanJudgeAreRefused: a name that reaches a registry
// under another spelling than its scopes name (dot segments, an
// upper-case host) could slip past the rule of the repository it reaches:
// such names are refused before the registry is asked.
func TestNamesNoScopeCanJudgeAreRefused(t *testing.T) {
	w := newWorld(t)
	trust := &policy.Trust{Default: policy.TrustReject, Rules: []policy.TrustRule{{Scope: w.reg + "/team", InsecureAcceptAnything: true}}}
	v, err := verify.New(trust, w.dir, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if vd, err := v.Verify(context.Background(), w.imageA); err != nil || !vd.Accepted {
		t.Fatalf("%s: %+v %v", w.imageA, vd, err)
	}
	push := it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("x", "x", 0o644)))
	ref, _ := name.ParseReference(w.reg + "/other/x:1")
	if err := remote.Write(ref, push); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{
		w.reg + "/team/../other/x:1",
		w.reg + "/team/./a:1",
		w.reg + "/team//a:1",
		"LOCALHOST" + strings.TrimPrefix(w.reg, "127.0.0.1") + "/team/a:1",
	} {
		vd, err := v.Verify(context.Background(), r)
		if !errors.Is(err, image.ErrBadRef) {
			t.Errorf("%s: accepted %v (rule %q), error %v: want a bad reference", r, vd.Accepted, vd.Rule, err)
		}
	}
}
