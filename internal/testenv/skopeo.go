package testenv

import (
	"testing"
)

// Skopeo runs `skopeo --insecure-policy ARGS...` and returns its stdout; the
// test fails (with stderr in the message) if skopeo exits non-zero.
// --insecure-policy makes copies independent of /etc/containers/policy.json.
//
// skopeo does not honour `insecure = true` from registries.conf, so for a
// plain-HTTP registry from Registry callers must pass the TLS flags
// themselves: `inspect --tls-verify=false docker://127.0.0.1:PORT/...`,
// `copy --src-tls-verify=false ...` / `--dest-tls-verify=false ...`.
//
// Example: Skopeo(t, "copy", "docker-archive:"+tar, "oci:"+dir+":latest").
func Skopeo(t testing.TB, args ...string) string {
	t.Helper()
	bin := lookPath(t, "skopeo")
	return run(t, filteredEnviron(), bin, append([]string{"--insecure-policy"}, args...)...)
}
