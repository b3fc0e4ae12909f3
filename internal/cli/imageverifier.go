package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hull-sec/hull/internal/verify"
)

// ImageVerifierName is the name under which hull speaks containerd's
// image-verifier.v1.bindir protocol: link it into the verifier bin_dir.
const ImageVerifierName = "hull-image-verifier"

// DefaultPolicyPath is where the verifier reads the policy unless
// HULL_POLICY says otherwise.
const DefaultPolicyPath = "/etc/hull/hull.yaml"

// RunImageVerifier implements containerd 2.x's bindir image verifier:
// containerd runs it with -name, -digest and -stdin-media-type and the
// image's descriptor on stdin; exit 0 admits the image, anything else
// refuses it, and stdout is the reason containerd reports. It fails
// closed: an error is a refusal.
func RunImageVerifier(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet(ImageVerifierName, flag.ContinueOnError)
	fs.SetOutput(stdout)
	imageName := fs.String("name", "", "image name")
	digest := fs.String("digest", "", "manifest or index digest")
	mediaType := fs.String("stdin-media-type", "", "media type of stdin")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	say := func(code int, format string, a ...any) int {
		fmt.Fprintf(stdout, format+"\n", a...)
		return code
	}
	if *imageName == "" || *digest == "" {
		return say(2, "hull: -name and -digest are required")
	}
	if err := checkDescriptor(stdin, *mediaType, *digest); err != nil {
		return say(1, "hull: %v", err)
	}
	polPath := getenv(policyEnv)
	if polPath == "" {
		polPath = DefaultPolicyPath
	}
	ref, err := pinned(*imageName, *digest)
	if err != nil {
		return say(1, "hull: refusing %s: %v", *imageName, err)
	}
	v, err := verify.Open(polPath, verify.Options{CacheTTL: 10 * time.Minute})
	if err != nil {
		return say(1, "hull: refusing %s: %v", *imageName, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	vd, err := v.Verify(ctx, ref)
	if err != nil {
		return say(1, "hull: refusing %s: could not decide: %v", ref, err)
	}
	if !vd.Accepted {
		return say(1, "hull: refusing %s: %s", ref, vd.Reason)
	}
	return say(0, "hull: %s accepted: %s", ref, vd.Reason)
}

// pinned is the reference containerd asks about: the name it pulled, tag
// included (a signature must name that tag, as hull verify NAME:TAG
// judges it), pinned to the digest it resolved. A name that already
// carries a digest must carry this one.
func pinned(imageName, digest string) (string, error) {
	if base, d, ok := strings.Cut(imageName, "@"); ok {
		if d != digest {
			return "", fmt.Errorf("-name names digest %s, -digest %s", d, digest)
		}
		imageName = base
	}
	return imageName + "@" + digest, nil
}

// checkDescriptor reads the descriptor containerd passes and checks it
// names the digest of -digest.
func checkDescriptor(r io.Reader, mediaType, digest string) error {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	if len(data) > 1<<20 {
		return errors.New("stdin is larger than 1 MiB")
	}
	if mediaType != "" && mediaType != "application/vnd.oci.descriptor.v1+json" {
		return nil // not a descriptor: nothing to compare
	}
	var d struct {
		Digest string `json:"digest"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("stdin is not a descriptor: %v", err)
	}
	if d.Digest != "" && d.Digest != digest {
		return fmt.Errorf("descriptor on stdin names %s, -digest %s", d.Digest, digest)
	}
	return nil
}
