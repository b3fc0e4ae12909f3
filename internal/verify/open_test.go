package verify_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/verify"
)

// TestOpenBuildsTheVerifierFromTheFile: Open is the one constructor every
// caller uses. It loads the policy file itself, takes relative key paths
// from the file's directory wherever the process runs, and turns on the
// user's verdict cache when asked for a TTL.
func TestOpenBuildsTheVerifierFromTheFile(t *testing.T) {
	w := newWorld(t)
	w.cosignPolicy(t) // writes cosign.pub into w.dir
	w.cosignSign(t, w.imageA, false)
	pol := filepath.Join(w.dir, "hull.yaml")
	doc := "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: " + w.reg + "/team\n      signers:\n        - name: ci\n          cosign:\n            key: cosign.pub\n"
	if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // cosign.pub is not in the working directory
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())

	v, err := verify.Open(pol, verify.Options{CacheTTL: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	vd, err := v.Verify(ctx, w.imageA)
	if err != nil || !vd.Accepted || vd.Cached {
		t.Fatalf("first verdict %+v, %v", vd, err)
	}
	again, err := verify.Open(pol, verify.Options{CacheTTL: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	if vd, err := again.Verify(ctx, w.imageA); err != nil || !vd.Cached {
		t.Errorf("a second verifier of the same file did not reuse the user cache: %+v, %v", vd, err)
	}
	fresh, err := verify.Open(pol, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if vd, err := fresh.Verify(ctx, w.imageA); err != nil || vd.Cached || !vd.Accepted {
		t.Errorf("without a TTL the cache was used: %+v, %v", vd, err)
	}

	if _, err := verify.Open(filepath.Join(w.dir, "none.yaml"), verify.Options{}); err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("missing policy file: %v", err)
	}
}
