package export_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/hull-sec/hull/internal/export"
	"github.com/hull-sec/hull/internal/policy"

	"go.podman.io/image/v5/directory"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/archive"
	ociarchive "go.podman.io/image/v5/oci/archive"
	"go.podman.io/image/v5/oci/layout"
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

// TestArchivesGetTheDefault: the export accepted anything from every
// local transport, so under trust.default reject podman load, skopeo
// copy docker-archive:... and podman pull oci-archive:... took any
// unsigned tarball, which hull verify refuses (it is in no registry, and
// no rule can scope it). Files come from anywhere: archives, layouts and
// directories get trust.default; only images already in this machine's
// storage (containers-storage, docker-daemon) are accepted as they are.
func TestArchivesGetTheDefault(t *testing.T) {
	dir := t.TempDir()
	refs := map[string]func() (types.ImageReference, error){
		"docker-archive": func() (types.ImageReference, error) { return archive.NewReference(filepath.Join(dir, "a.tar"), nil) },
		"oci-archive": func() (types.ImageReference, error) {
			return ociarchive.NewReference(filepath.Join(dir, "a.oci.tar"), "")
		},
		"oci": func() (types.ImageReference, error) { return layout.NewReference(filepath.Join(dir, "layout"), "") },
		"dir": func() (types.ImageReference, error) { return directory.NewReference(filepath.Join(dir, "dir")) },
	}
	for _, def := range []string{policy.TrustReject, policy.TrustInsecureAcceptAnything} {
		out := t.TempDir()
		if _, err := export.Containers(&policy.Trust{Default: def}, dir, out); err != nil {
			t.Fatal(err)
		}
		pol, err := signature.NewPolicyFromFile(filepath.Join(out, "policy.json"))
		if err != nil {
			t.Fatal(err)
		}
		if reqs := pol.Transports["containers-storage"][""]; len(reqs) != 1 {
			t.Errorf("default %s: containers-storage: %v, want images in local storage accepted", def, reqs)
		}
		pc, err := signature.NewPolicyContext(pol)
		if err != nil {
			t.Fatal(err)
		}
		for name, ref := range refs {
			r, err := ref()
			if err != nil {
				t.Fatal(err)
			}
			ok, _ := pc.IsRunningImageAllowed(context.Background(), unsigned{r})
			if want := def == policy.TrustInsecureAcceptAnything; ok != want {
				t.Errorf("default %s: containers/image allows an unsigned %s image: %v, want %v", def, name, ok, want)
			}
		}
		pc.Destroy()
	}
}

// unsigned is an image with no signatures, as policy requirements see it.
type unsigned struct{ ref types.ImageReference }

func (u unsigned) Reference() types.ImageReference { return u.ref }
func (u unsigned) Manifest(context.Context) ([]byte, string, error) {
	return nil, "", errors.New("no manifest: reject and insecureAcceptAnything need none")
}
func (u unsigned) Signatures(context.Context) ([][]byte, error) { return nil, nil }
