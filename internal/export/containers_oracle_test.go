// containers/image (go.podman.io/image/v5) is a test-only oracle here: it
// must never reach hull's binary (only _test.go files import it; a
// depcheck test holds that). Its signature package verifies GPG
// signatures through gpgme (cgo): .ci/install-deps installs libgpgme-dev,
// gcc and pkg-config, so the plain `go test ./...` builds and runs it.

package export_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/export"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/sign"
	"github.com/hull-sec/hull/internal/testenv"

	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

// TestContainersImageEnforcesCosignExport evaluates the policy.json and
// registries.d that hull exports for a cosign signer with containers/image,
// the library podman, skopeo and CRI-O enforce policies with (Debian's
// skopeo and podman are built without sigstore support, so they cannot be
// the oracle). Pulling from a real registry, it takes the image hull signed
// and refuses an unsigned one, one signed by another key and one outside
// the rule's scope; without the exported registries.d it finds no cosign
// signature at all.
func TestContainersImageEnforcesCosignExport(t *testing.T) {
	ctx := context.Background()
	reg := testenv.Registry(t)
	dir := t.TempDir()
	for _, repo := range []string{"team/signed:1", "team/unsigned:1", "team/other-key:1", "elsewhere/x:1"} {
		push(t, reg+"/"+repo, repo)
	}
	key, err := sign.GenerateCosign()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sign.WriteCosignKey(key, filepath.Join(dir, "cosign")); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.CosignSign(ctx, reg+"/team/signed:1", key, false, image.Options{}); err != nil {
		t.Fatal(err)
	}
	other, err := sign.GenerateCosign()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.CosignSign(ctx, reg+"/team/other-key:1", other, false, image.Options{}); err != nil {
		t.Fatal(err)
	}

	// The key path is relative to the policy's directory, as in a policy file.
	trust := &policy.Trust{
		Default: policy.TrustReject,
		Rules:   []policy.TrustRule{{Scope: reg + "/team", Signers: []policy.Signer{{Name: "ci", Cosign: &policy.CosignSigner{Key: "cosign.pub"}}}}},
	}
	out := filepath.Join(dir, "containers")
	if _, err := export.Containers(trust, dir, out); err != nil {
		t.Fatal(err)
	}
	pol, err := signature.NewPolicyFromFile(filepath.Join(out, "policy.json"))
	if err != nil {
		t.Fatalf("containers/image reading the exported policy.json: %v", err)
	}
	pc, err := signature.NewPolicyContext(pol)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Destroy()
	sys := testenv.ContainersImageContext(t, filepath.Join(out, "registries.d"))

	for _, tc := range []struct {
		repo string
		want string // "" for accepted, else part of the refusal
	}{
		{"team/signed:1", ""},
		{"team/unsigned:1", "A signature was required, but no signature exists"},
		{"team/other-key:1", "cryptographic signature verification failed"},
		{"elsewhere/x:1", "is rejected by policy"},
	} {
		err := oraclePull(ctx, t, pc, sys, reg+"/"+tc.repo)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("containers/image with hull's exported policy refuses %s: %v", tc.repo, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), "Source image rejected: ") || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("containers/image with hull's exported policy, %s: %v, want a refusal saying %q", tc.repo, err, tc.want)
		case err != nil:
			t.Logf("%s: %v", tc.repo, err)
		}
	}

	// Without the exported registries.d containers/image does not look
	// for sigstore attachments, so the signed image is refused too: the
	// registries.d file is part of what makes the export work.
	bare := testenv.ContainersImageContext(t, t.TempDir())
	if err := oraclePull(ctx, t, pc, bare, reg+"/team/signed:1"); err == nil || !strings.Contains(err.Error(), "no signature exists") {
		t.Errorf("containers/image without registries.d, signed image: %v, want no signature found", err)
	}
}

// oraclePull copies ref into a new OCI layout as podman pull would,
// judged by pc, and returns copy.Image's error.
func oraclePull(ctx context.Context, t *testing.T, pc *signature.PolicyContext, sys *types.SystemContext, ref string) error {
	t.Helper()
	src, err := docker.ParseReference("//" + ref)
	if err != nil {
		t.Fatal(err)
	}
	dest, err := layout.NewReference(t.TempDir(), "pulled")
	if err != nil {
		t.Fatal(err)
	}
	// An OCI layout cannot store signatures; the policy still judges them.
	_, err = copy.Image(ctx, pc, dest, src, &copy.Options{SourceCtx: sys, DestinationCtx: sys, RemoveSignatures: true})
	return err
}
