package verify_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/sign"
	"github.com/hull-sec/hull/internal/tlsgen"
	"github.com/hull-sec/hull/internal/verify"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestVerdictCache(t *testing.T) {
	w := newWorld(t)
	trust := w.policy("release.pub")
	now := time.Now()
	cache := &verify.Cache{Dir: filepath.Join(w.dir, "cache"), TTL: time.Minute, Now: func() time.Time { return now }}
	check := func(wantAccepted, wantCached bool) {
		t.Helper()
		v, err := verify.New(trust, w.dir, image.Options{})
		if err != nil {
			t.Fatal(err)
		}
		v.UseCache(cache)
		vd, err := v.Verify(context.Background(), w.imageA)
		if err != nil {
			t.Fatal(err)
		}
		if vd.Accepted != wantAccepted || vd.Cached != wantCached {
			t.Fatalf("accepted=%v cached=%v, want %v %v (%s)", vd.Accepted, vd.Cached, wantAccepted, wantCached, vd.Reason)
		}
	}
	check(false, false) // unsigned: rejected
	p := w.sign(t, w.release, w.imageA)
	check(true, false) // the rejection was not cached
	check(true, true)
	os.Remove(p)
	check(true, true) // still within the TTL
	cache2 := &verify.Cache{Dir: cache.Dir, TTL: time.Minute, Now: cache.Now}
	cache = cache2
	check(true, true) // from the files: a new process sees it
	if fi, err := os.ReadDir(cache.Dir); err != nil || len(fi) != 1 {
		t.Fatalf("cache dir: %v %v", fi, err)
	}
	now = now.Add(2 * time.Minute)
	check(false, false) // expired: decided afresh, and the signature is gone
	// A changed keyring changes the policy hash: no reuse.
	w.sign(t, w.release, w.imageA)
	check(true, false)
	data, _ := os.ReadFile(filepath.Join(w.dir, "release.pub"))
	os.WriteFile(filepath.Join(w.dir, "release.pub"), append(data, data...), 0o644)
	check(true, false)
}

// TestCacheSameTextOtherDirectory: two policy files of the same text
// whose relative lookaside path leads to different stores are different
// policies. After the first accepts, the second, whose store holds only
// a tampered signature, must be judged afresh and rejected.
func TestCacheSameTextOtherDirectory(t *testing.T) {
	w := newWorld(t)
	w.sign(t, w.release, w.imageA)
	cache := &verify.Cache{Dir: filepath.Join(t.TempDir(), "cache"), TTL: time.Minute}
	doc := fmt.Sprintf(`apiVersion: hull.dev/v1
trust:
  lookaside:
    - {scope: %[1]s, path: sigs}
  rules:
    - scope: %[1]s/team
      signers:
        - name: release
          gpg: {keyring: release.pub, fingerprints: [%[2]s]}
`, w.reg, w.release.Primary.FingerprintHex())
	judge := func(dir string) finding.Verdict {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "hull.yaml"), []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := policy.LoadFile(filepath.Join(dir, "hull.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		v, err := verify.New(&p.Trust, dir, image.Options{})
		if err != nil {
			t.Fatal(err)
		}
		v.UseCache(cache)
		vd, err := v.Verify(context.Background(), w.imageA)
		if err != nil {
			t.Fatal(err)
		}
		return vd
	}
	if vd := judge(w.dir); !vd.Accepted {
		t.Fatalf("the signed image: %+v", vd)
	}
	other := t.TempDir()
	if err := os.CopyFS(other, os.DirFS(w.dir)); err != nil {
		t.Fatal(err)
	}
	sig, err := filepath.Glob(filepath.Join(other, "sigs", "team", "a@*", "signature-1"))
	if err != nil || len(sig) != 1 {
		t.Fatalf("signature copy: %v %v", sig, err)
	}
	data, _ := os.ReadFile(sig[0])
	data[len(data)/2] ^= 1
	if err := os.WriteFile(sig[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	if vd := judge(other); vd.Accepted || vd.Cached {
		t.Errorf("same policy text, other directory whose store holds a tampered signature: accepted %v cached %v (%s)", vd.Accepted, vd.Cached, vd.Reason)
	}
}

// TestCacheKeyCoversEveryInput is the cache's mutation test: starting
// from a policy that accepts an image (and whose verdict the cache then
// returns), each input the verdict reads is changed alone, in a way that
// still accepts, and the cached verdict must not be reused. The trust
// section's fields are enumerated by reflection: a field added to it
// without a mutation here fails the test.
func TestCacheKeyCoversEveryInput(t *testing.T) {
	w := newWorld(t)
	w.sign(t, w.release, w.imageA)
	file := func(name string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(w.dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(w.dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string) []byte {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(w.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	for _, ca := range []string{"root", "tsa"} {
		f, err := tlsgen.Generate(filepath.Join(w.dir, "ca-"+ca), tlsgen.Options{})
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(f.CA)
		file(ca+".crt", data)
	}
	w.cosignPolicy(t) // writes cosign.pub
	root, err := os.ReadFile("../sigstore/testdata/public-good.json")
	if err != nil {
		t.Fatal(err)
	}
	file("trusted_root.json", root)
	// The same files under other paths.
	for _, f := range []string{"both.pub", "cosign.pub", "root.crt", "tsa.crt", "trusted_root.json"} {
		file("copy/"+f, read(f))
	}
	if err := os.CopyFS(filepath.Join(w.dir, "sigs2"), os.DirFS(w.sigs)); err != nil {
		t.Fatal(err)
	}

	base := func() *policy.Trust {
		return &policy.Trust{
			Default: policy.TrustReject,
			Lookaside: []policy.Lookaside{
				{Scope: w.reg, Path: "sigs"},
				{Scope: "other.example", URL: "https://sigs.example/a"},
			},
			Rules: []policy.TrustRule{
				{Scope: w.reg + "/team", Require: policy.RequireAny, Signers: []policy.Signer{{Name: "release",
					GPG: &policy.GPGSigner{Keyring: "both.pub", Fingerprints: []string{w.release.Primary.FingerprintHex()}}}}},
				{Scope: "other.example/x", Signers: []policy.Signer{
					{Name: "ci", Cosign: &policy.CosignSigner{Key: "cosign.pub"}},
					{Name: "notary", Notation: &policy.NotationSigner{TrustStore: []string{"root.crt"}, Identities: []string{"*"},
						TSAStore: []string{"tsa.crt"}, VerifyTimestamp: policy.TimestampAlways}},
					{Name: "keyless", Keyless: &policy.KeylessSigner{TrustedRoot: "trusted_root.json", Issuer: "https://issuer.example", Subject: "a@example.com"}},
					{Name: "keyless-re", Keyless: &policy.KeylessSigner{TrustedRoot: "trusted_root.json", IssuerRegExp: "^https://", SubjectRegExp: `@example\.com$`}},
				}},
				{Scope: "other.example/legacy", Reject: true},
				{Scope: "other.example/open", InsecureAcceptAnything: true},
			},
		}
	}
	signers := func(tr *policy.Trust) []policy.Signer { return tr.Rules[1].Signers }
	mutations := map[string]func(*policy.Trust){
		"Default":                      func(tr *policy.Trust) { tr.Default = policy.TrustInsecureAcceptAnything },
		"Rules.Scope":                  func(tr *policy.Trust) { tr.Rules[1].Scope = "other.example/y" },
		"Rules.Reject":                 func(tr *policy.Trust) { tr.Rules[2].Reject, tr.Rules[2].InsecureAcceptAnything = false, true },
		"Rules.InsecureAcceptAnything": func(tr *policy.Trust) { tr.Rules[3].Reject, tr.Rules[3].InsecureAcceptAnything = true, false },
		"Rules.Require":                func(tr *policy.Trust) { tr.Rules[0].Require = policy.RequireAll },
		"Rules.Signers.Name":           func(tr *policy.Trust) { tr.Rules[0].Signers[0].Name = "release2" },
		"Rules.Signers.GPG.Keyring":    func(tr *policy.Trust) { tr.Rules[0].Signers[0].GPG.Keyring = "copy/both.pub" },
		"Rules.Signers.GPG.Fingerprints": func(tr *policy.Trust) {
			g := tr.Rules[0].Signers[0].GPG
			g.Fingerprints = append(g.Fingerprints, w.other.Primary.FingerprintHex())
		},
		"Rules.Signers.Cosign.Key": func(tr *policy.Trust) { signers(tr)[0].Cosign.Key = "copy/cosign.pub" },
		"Rules.Signers.Notation.TrustStore": func(tr *policy.Trust) {
			signers(tr)[1].Notation.TrustStore = []string{"copy/root.crt"}
		},
		"Rules.Signers.Notation.Identities": func(tr *policy.Trust) {
			signers(tr)[1].Notation.Identities = []string{"x509.subject: CN=release"}
		},
		"Rules.Signers.Notation.TSAStore": func(tr *policy.Trust) { signers(tr)[1].Notation.TSAStore = []string{"copy/tsa.crt"} },
		"Rules.Signers.Notation.VerifyTimestamp": func(tr *policy.Trust) {
			signers(tr)[1].Notation.VerifyTimestamp = policy.TimestampAfterCertExpiry
		},
		"Rules.Signers.Keyless.TrustedRoot":   func(tr *policy.Trust) { signers(tr)[2].Keyless.TrustedRoot = "copy/trusted_root.json" },
		"Rules.Signers.Keyless.Issuer":        func(tr *policy.Trust) { signers(tr)[2].Keyless.Issuer = "https://other.example" },
		"Rules.Signers.Keyless.Subject":       func(tr *policy.Trust) { signers(tr)[2].Keyless.Subject = "b@example.com" },
		"Rules.Signers.Keyless.IssuerRegExp":  func(tr *policy.Trust) { signers(tr)[3].Keyless.IssuerRegExp = "^https://x" },
		"Rules.Signers.Keyless.SubjectRegExp": func(tr *policy.Trust) { signers(tr)[3].Keyless.SubjectRegExp = `@example\.org$` },
		"Lookaside.Scope":                     func(tr *policy.Trust) { tr.Lookaside[0].Scope = w.reg + "/team" },
		"Lookaside.Path":                      func(tr *policy.Trust) { tr.Lookaside[0].Path = "sigs2" },
		"Lookaside.URL":                       func(tr *policy.Trust) { tr.Lookaside[1].URL = "https://sigs.example/b" },
	}
	var fields []string
	var walk func(reflect.Type, string)
	walk = func(rt reflect.Type, at string) {
		for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice && rt.Elem().Kind() != reflect.String {
			rt = rt.Elem()
		}
		if rt.Kind() != reflect.Struct {
			fields = append(fields, strings.TrimPrefix(at, "."))
			return
		}
		for i := range rt.NumField() {
			walk(rt.Field(i).Type, at+"."+rt.Field(i).Name)
		}
	}
	walk(reflect.TypeOf(policy.Trust{}), "")
	for _, f := range fields {
		if mutations[f] == nil {
			t.Errorf("trust field %s has no mutation here: add one, and make sure the verdict cache key covers it", f)
		}
	}
	if len(fields) != len(mutations) {
		t.Errorf("%d trust fields, %d mutations: %q", len(fields), len(mutations), fields)
	}

	cache := &verify.Cache{TTL: time.Minute}
	judge := func(what string, tr *policy.Trust, dir string, o image.Options, ref string) finding.Verdict {
		t.Helper()
		if err := (&policy.Policy{APIVersion: policy.Version, Trust: *tr}).Validate(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		v, err := verify.New(tr, dir, o)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		v.UseCache(cache)
		vd, err := v.Verify(context.Background(), ref)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !vd.Accepted {
			t.Fatalf("%s: the changed policy must still accept, or the test proves nothing: %s", what, vd.Reason)
		}
		return vd
	}
	if vd := judge("base", base(), w.dir, image.Options{}, w.imageA); vd.Cached {
		t.Fatal("the first verdict came from the cache")
	}
	if vd := judge("base again", base(), w.dir, image.Options{}, w.imageA); !vd.Cached {
		t.Fatal("the same inputs did not reuse the verdict: the mutations below would prove nothing")
	}
	for _, f := range fields {
		tr := base()
		mutations[f](tr)
		if reflect.DeepEqual(tr, base()) {
			t.Errorf("the mutation of %s changes nothing", f)
			continue
		}
		if vd := judge(f, tr, w.dir, image.Options{}, w.imageA); vd.Cached {
			t.Errorf("changed %s: the cached verdict was reused", f)
		}
	}
	// Inputs beyond the trust section's text: what the key files hold,
	// where the policy's relative paths lead, the registry options, and
	// the image's identity (another tag of the same digest).
	other, err := cosignKeys()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sign.WriteCosignKey(other[1], filepath.Join(w.dir, "copy", "other")); err != nil {
		t.Fatal(err)
	}
	file("cosign.pub", read("copy/other.pub"))
	if vd := judge("cosign.pub's contents", base(), w.dir, image.Options{}, w.imageA); vd.Cached {
		t.Error("changed key file contents: the cached verdict was reused")
	}
	moved := t.TempDir()
	if err := os.CopyFS(moved, os.DirFS(w.dir)); err != nil {
		t.Fatal(err)
	}
	if vd := judge("another directory", base(), moved, image.Options{}, w.imageA); vd.Cached {
		t.Error("the same policy resolved in another directory: the cached verdict was reused")
	}
	for what, o := range map[string]image.Options{
		"insecure registries": {InsecureRegistries: []string{"other.example"}},
		"platform":            {Platform: &v1.Platform{OS: "linux", Architecture: "s390x"}},
	} {
		if vd := judge(what, base(), w.dir, o, w.imageA); vd.Cached {
			t.Errorf("changed registry options (%s): the cached verdict was reused", what)
		}
	}
	w.sign(t, w.release, w.reg+"/team/a:2")
	if vd := judge("another tag", base(), w.dir, image.Options{}, w.reg+"/team/a:2"); vd.Cached {
		t.Error("another tag of the same digest: the cached verdict was reused")
	}
}
