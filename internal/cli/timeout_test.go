package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSilentRegistryExitsUndecided: a registry that accepts connections
// and never answers makes lint and verify exit 2 in time, naming the
// registry and the request, with the timeout from --timeout or, failing
// that, from the policy.
func TestSilentRegistryExitsUndecided(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := host + "/hull/app:1"
	dir := t.TempDir()
	pol := filepath.Join(dir, "hull.yaml")
	if err := os.WriteFile(pol, []byte("apiVersion: hull.dev/v1\ntrust:\n  default: insecureAcceptAnything\nregistry:\n  timeout: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"lint", ref, "--timeout", "700ms"}, "within 700ms"},
		{[]string{"lint", ref, "--policy", pol}, "within 1s"},
		{[]string{"lint", ref, "--policy", pol, "--timeout", "700ms"}, "within 700ms"},
		{[]string{"sbom", ref, "--timeout", "700ms"}, "within 700ms"},
		{[]string{"verify", "--no-cache", "--policy", pol, ref}, "within 1s"},
	} {
		start := time.Now()
		_, stderr, code := hull(t, tc.args...)
		took := time.Since(start)
		if code != ExitUndecided {
			t.Errorf("%v: exit %d, want %d; stderr: %s", tc.args, code, ExitUndecided, stderr)
		}
		if want := "registry " + host + " did not answer GET /v2/"; !strings.Contains(stderr, want) || !strings.Contains(stderr, tc.says) {
			t.Errorf("%v: stderr %q, want %q ... %q", tc.args, stderr, want, tc.says)
		}
		if took > 5*time.Second {
			t.Errorf("%v: took %s", tc.args, took)
		}
	}
	if _, stderr, code := hull(t, "lint", ref, "--timeout", "0s"); code != ExitUndecided || !strings.Contains(stderr, "--timeout 0s: must be positive") {
		t.Errorf("--timeout 0s: exit %d, stderr %q", code, stderr)
	}
}
