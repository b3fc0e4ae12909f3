package export_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/hull-sec/hull/internal/export"
	"github.com/hull-sec/hull/internal/policy"

	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

// TestUnenforceableRulesFailClosed: a rule policy.json cannot express
// (a Notation signer, any one of two cosign keys, a keyless regexp) was
// left out of the export, so containers tools judged its repositories by
// the next wider scope or the default: under a host-wide or default
// insecureAcceptAnything, podman pulled the unsigned images hull refuses.
// Each such scope must be exported as reject: containers tools refuse
// what they cannot check. containers/image judges the exported files.
func TestUnenforceableRulesFailClosed(t *testing.T) {
	root, err := filepath.Abs("../sigstore/testdata/public-good.json")
	if err != nil {
		t.Fatal(err)
	}
	trust := &policy.Trust{Default: policy.TrustInsecureAcceptAnything, Rules: []policy.TrustRule{
		{Scope: "registry.example", InsecureAcceptAnything: true},
		{Scope: "registry.example/notary", Signers: []policy.Signer{{Name: "n", Notation: &policy.NotationSigner{TrustStore: []string{"r.crt"}, Identities: []string{"*"}}}}},
		{Scope: "registry.example/two-keys", Signers: []policy.Signer{
			{Name: "a", Cosign: &policy.CosignSigner{Key: "/keys/a.pub"}}, {Name: "b", Cosign: &policy.CosignSigner{Key: "/keys/b.pub"}}}},
		{Scope: "other.example/regexp", Signers: []policy.Signer{{Name: "k", Keyless: &policy.KeylessSigner{TrustedRoot: root,
			Issuer: "https://github.com/login/oauth", SubjectRegExp: "@example\\.com$"}}}},
	}}
	out := t.TempDir()
	if _, err := export.Containers(trust, t.TempDir(), out); err != nil {
		t.Fatal(err)
	}
	pol, err := signature.NewPolicyFromFile(filepath.Join(out, "policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := signature.NewPolicyContext(pol)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Destroy()
	for ref, want := range map[string]bool{
		"registry.example/notary/app:1":   false,
		"registry.example/two-keys/app:1": false,
		"other.example/regexp/app:1":      false,
		"registry.example/open/app:1":     true,
	} {
		r, err := docker.ParseReference("//" + ref)
		if err != nil {
			t.Fatal(err)
		}
		ok, _ := pc.IsRunningImageAllowed(context.Background(), unsigned{r})
		if ok != want {
			t.Errorf("containers/image with the exported policy allows the unsigned %s: %v, want %v", ref, ok, want)
		}
	}
}

// unsigned is an image with no signatures, as policy requirements see it.
type unsigned struct{ ref types.ImageReference }

func (u unsigned) Reference() types.ImageReference { return u.ref }
func (u unsigned) Manifest(context.Context) ([]byte, string, error) {
	return nil, "", errors.New("no manifest: reject and insecureAcceptAnything need none")
}
func (u unsigned) Signatures(context.Context) ([][]byte, error) { return nil, nil }
