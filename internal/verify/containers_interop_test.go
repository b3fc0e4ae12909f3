// containers/image (go.podman.io/image/v5) is a test-only oracle here: it
// must never reach hull's binary (only _test.go files import it; a
// depcheck test holds that). Its signature package verifies GPG
// signatures through gpgme (cgo): .ci/install-deps installs libgpgme-dev,
// gcc and pkg-config, so the plain `go test ./...` builds and runs it.

package verify_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/sign"
	"github.com/hull-sec/hull/internal/testenv"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/signature/sigstore"
	"go.podman.io/image/v5/types"
)

// TestContainersSigstoreAttachments: containers/image, the library under
// podman, skopeo, buildah and CRI-O, signs an image with a cosign key
// while copying it (registries.d use-sigstore-attachments: true, as
// `skopeo copy --sign-by-sigstore-private-key` does). It stores cosign's
// classic sha256-<hex>.sig manifest, with the tag it pushed in the
// payload's docker-reference. hull accepts that signature under the
// signer's public key, and only under it; containers/image itself
// accepts the image it signed and refuses an unsigned one, so the oracle
// does check.
func TestContainersSigstoreAttachments(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	sys := containersSystemContext(t, w.reg)

	// The oracle's own key pair: cosign's encrypted key format.
	passphrase := []byte("oracle passphrase")
	kp, err := sigstore.GenerateKeyPair(passphrase)
	if err != nil {
		t.Fatal(err)
	}
	keyDir := t.TempDir()
	priv, pub := filepath.Join(keyDir, "cosign.key"), filepath.Join(keyDir, "cosign.pub")
	if err := os.WriteFile(priv, kp.PrivateKey, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, kp.PublicKey, 0o644); err != nil {
		t.Fatal(err)
	}

	// Copy team/a:1 to team/c:1, signing on the way.
	accept, err := signature.NewPolicyContext(&signature.Policy{Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}})
	if err != nil {
		t.Fatal(err)
	}
	defer accept.Destroy()
	imageC := w.reg + "/team/c:1"
	if _, err := copy.Image(ctx, accept, dockerRef(t, imageC), dockerRef(t, w.imageA), &copy.Options{
		SourceCtx:                        sys,
		DestinationCtx:                   sys,
		SignBySigstorePrivateKeyFile:     priv,
		SignSigstorePrivateKeyPassphrase: passphrase,
	}); err != nil {
		t.Fatalf("containers/image signed copy to %s: %v", imageC, err)
	}

	// cosign's classic layout, but the payload names the tag pushed.
	sigImg, err := remote.Image(sigTag(t, w, "team/c", w.digestA))
	if err != nil {
		t.Fatalf("no sha256-<hex>.sig manifest for %s: %v", imageC, err)
	}
	layers, err := sigImg.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("signature manifest: %d layers, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	payload, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(payload), `"docker-reference":"`+imageC+`"`) {
		t.Errorf("containers/image's payload, expected to name %s: %s", imageC, payload)
	}

	// hull accepts it under the public key, as a cosign signature.
	trust := &policy.Trust{Rules: []policy.TrustRule{{Scope: w.reg + "/team", Signers: []policy.Signer{{Name: "containers", Cosign: &policy.CosignSigner{Key: pub}}}}}}
	vd := w.verify(t, trust, imageC)
	if !vd.Accepted || len(vd.Signatures) != 1 || vd.Signatures[0].Format != "cosign" || vd.Digest != w.digestA.String() {
		t.Fatalf("containers/image's sigstore attachment in hull: %+v", vd)
	}
	// ... and refuses it under another key.
	other, err := sign.GenerateCosign()
	if err != nil {
		t.Fatal(err)
	}
	_, otherPub, err := sign.WriteCosignKey(other, filepath.Join(t.TempDir(), "other"))
	if err != nil {
		t.Fatal(err)
	}
	trust.Rules[0].Signers[0].Cosign.Key = otherPub
	if vd := w.verify(t, trust, imageC); vd.Accepted || len(vd.Signatures) != 1 || vd.Signatures[0].Valid {
		t.Errorf("containers/image's signature under another key in hull: %+v", vd)
	}

	// The oracle checks: a sigstoreSigned policy with the public key
	// accepts team/c:1 and refuses the unsigned team/a:1, and under
	// another key refuses team/c:1 too.
	if err := containersPull(ctx, t, sys, w.reg+"/team", pub, imageC); err != nil {
		t.Errorf("containers/image refuses the image it signed: %v", err)
	}
	if err := containersPull(ctx, t, sys, w.reg+"/team", pub, w.imageA); !isPolicyRefusal(err, "no signature exists") {
		t.Errorf("containers/image pulled the unsigned %s: %v", w.imageA, err)
	} else {
		t.Logf("containers/image, unsigned: %v", err)
	}
	if err := containersPull(ctx, t, sys, w.reg+"/team", otherPub, imageC); !isPolicyRefusal(err, "signature verification failed") {
		t.Errorf("containers/image pulled %s under another key: %v", imageC, err)
	} else {
		t.Logf("containers/image, another key: %v", err)
	}

	// hull's key files (unencrypted PKCS#8) are not containers/image's
	// format: it signs only with encrypted cosign keys.
	if _, err := sigstore.NewSigner(sigstore.WithPrivateKeyFile(strings.TrimSuffix(otherPub, ".pub")+".key", []byte{})); err == nil {
		t.Log("containers/image now reads hull's unencrypted cosign.key")
	} else {
		t.Logf("containers/image cannot sign with hull's key file: %v", err)
	}
}

// containersSystemContext makes containers/image talk plain HTTP to the
// loopback registry reg, read and write cosign signatures there as
// sigstore attachments, and read no configuration of this machine.
func containersSystemContext(t *testing.T, reg string) *types.SystemContext {
	t.Helper()
	dir := t.TempDir()
	regD := filepath.Join(dir, "registries.d")
	if err := os.Mkdir(regD, 0o755); err != nil {
		t.Fatal(err)
	}
	// A lookaside too, so that no simple signature goes near
	// /var/lib/containers/sigstore.
	yaml := fmt.Sprintf("docker:\n  %q:\n    use-sigstore-attachments: true\n    lookaside: %q\n", reg, "file://"+filepath.Join(dir, "lookaside"))
	if err := os.WriteFile(filepath.Join(regD, "test.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return testenv.ContainersImageContext(t, regD)
}

func dockerRef(t *testing.T, ref string) types.ImageReference {
	t.Helper()
	r, err := docker.ParseReference("//" + ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// containersPull copies ref into a new OCI layout under a policy that
// rejects everything but images in scope signed by the cosign public key
// pub for their repository, and returns copy.Image's error.
func containersPull(ctx context.Context, t *testing.T, sys *types.SystemContext, scope, pub, ref string) error {
	t.Helper()
	req, err := signature.NewPRSigstoreSignedKeyPath(pub, signature.NewPRMMatchRepository())
	if err != nil {
		t.Fatal(err)
	}
	pc, err := signature.NewPolicyContext(&signature.Policy{
		Default:    signature.PolicyRequirements{signature.NewPRReject()},
		Transports: map[string]signature.PolicyTransportScopes{"docker": {scope: {req}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Destroy()
	dest, err := layout.NewReference(t.TempDir(), "pulled")
	if err != nil {
		t.Fatal(err)
	}
	// An OCI layout cannot store signatures; the policy still judges them.
	_, err = copy.Image(ctx, pc, dest, dockerRef(t, ref), &copy.Options{SourceCtx: sys, DestinationCtx: sys, RemoveSignatures: true})
	return err
}

// isPolicyRefusal tells a refusal by the signature policy, for a reason
// that says want, from any other failure of a copy.
func isPolicyRefusal(err error, want string) bool {
	return err != nil && strings.HasPrefix(err.Error(), "Source image rejected: ") && strings.Contains(err.Error(), want)
}
