package verify_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/verify"
)

// TestOnlyRegistryImages: hull verify docker-daemon:NAME is refused as
// not a registry image (exit 2), but pinned to a digest the same name
// was read as the Docker Hub repository docker.io/library/docker-daemon
// and accepted under a docker.io/library rule: a gate asking about a
// local image by digest got a registry's verdict for it. Every form of
// a transport reference is refused alike, before any rule is looked at.
func TestOnlyRegistryImages(t *testing.T) {
	v, err := verify.New(&policy.Trust{Default: policy.TrustReject, Rules: []policy.TrustRule{
		{Scope: "docker.io/library", InsecureAcceptAnything: true},
	}}, t.TempDir(), image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := "@sha256:" + strings.Repeat("0123456789abcdef", 4)
	for _, ref := range []string{
		"docker-daemon:alpine", "docker-daemon:alpine" + d, "docker-daemon:alpine:3" + d,
		"podman:alpine" + d, "oci:/tmp/layout:alpine" + d, "docker-archive:/tmp/a.tar" + d,
	} {
		vd, err := v.Verify(context.Background(), ref)
		if !errors.Is(err, image.ErrBadRef) || !strings.Contains(err.Error(), "not in a registry") {
			t.Errorf("%s: accepted %v (%s), error %v; want it refused as not in a registry", ref, vd.Accepted, vd.Reason, err)
		}
	}
	if vd, err := v.Verify(context.Background(), "docker://alpine"+d); err != nil || !vd.Accepted {
		t.Errorf("docker://alpine pinned: %+v %v", vd, err)
	}
}
