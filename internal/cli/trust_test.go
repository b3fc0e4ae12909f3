package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/testenv"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestSignVerifyCommands drives key generate, sign, policy validate,
// verify and policy export as a user would, against a real registry.
func TestSignVerifyCommands(t *testing.T) {
	reg := testenv.Registry(t)
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache")) // the verdict cache stays in the test's files
	for repo, body := range map[string]string{"team/app:1": "app", "team/other:1": "other"} {
		ref, _ := name.ParseReference(reg + "/" + repo)
		if err := remote.Write(ref, it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("id", body, 0o644)))); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, code := hull(t, "key", "generate", "--name", "release", "--out", filepath.Join(dir, "release"))
	fpr := regexp.MustCompile(`fingerprint: ([0-9A-F]{40})`).FindStringSubmatch(out)
	if code != ExitPass || fpr == nil {
		t.Fatalf("key generate: exit %d\n%s%s", code, out, stderr)
	}
	if fi, err := os.Stat(filepath.Join(dir, "release.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v %v", fi, err)
	}
	if _, _, code := hull(t, "key", "generate", "--name", "again", "--out", filepath.Join(dir, "release")); code != ExitUndecided {
		t.Errorf("key generate over existing files: exit %d, want 2", code)
	}
	sigs := filepath.Join(dir, "sigs")
	out, stderr, code = hull(t, "sign", "--key", filepath.Join(dir, "release.key"), "--lookaside", sigs, reg+"/team/app:1")
	if code != ExitPass || !strings.Contains(out, "signature: "+sigs) {
		t.Fatalf("sign: exit %d\n%s%s", code, out, stderr)
	}
	pol := filepath.Join(dir, "hull.yaml")
	writePolicy := func(fingerprint string) {
		doc := fmt.Sprintf(`apiVersion: hull.dev/v1
trust:
  default: reject
  lookaside:
    - scope: %[1]s
      path: sigs
  rules:
    - scope: %[1]s/team
      signers:
        - name: release
          gpg:
            keyring: release.pub
            fingerprints: [%[2]s]
`, reg, fingerprint)
		if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writePolicy(fpr[1])
	if out, _, code := hull(t, "policy", "validate", pol); code != ExitPass || !strings.Contains(out, "1 trust rule,") {
		t.Errorf("policy validate: exit %d %s", code, out)
	}
	for _, format := range []string{"table", "json", "sarif"} {
		if out, stderr, code := hull(t, "verify", "--policy", pol, "-f", format, reg+"/team/app:1"); code != ExitPass {
			t.Errorf("verify signed (%s): exit %d\n%s%s", format, code, out, stderr)
		}
		if _, _, code := hull(t, "verify", "--policy", pol, "-f", format, reg+"/team/app:1", reg+"/team/other:1"); code != ExitFail {
			t.Errorf("verify with an unsigned image (%s): exit %d, want 1", format, code)
		}
	}
	if _, _, code := hull(t, "verify", "--policy", pol, reg+"/team/missing:1"); code != ExitUndecided {
		t.Errorf("verify of a missing image: exit %d, want 2", code)
	}
	if _, _, code := hull(t, "verify", reg+"/team/app:1"); code != ExitUndecided {
		t.Errorf("verify without --policy: exit %d, want 2", code)
	}
	if ents, err := os.ReadDir(filepath.Join(dir, "cache", "hull", "verdicts")); err != nil || len(ents) != 1 {
		t.Errorf("verdict cache: %v %v", ents, err)
	}
	out, _, code = hull(t, "policy", "export", "--to", "containers", "--out", filepath.Join(dir, "containers"), pol)
	if code != ExitPass || !strings.Contains(out, "policy.json") || !strings.Contains(out, "note:") {
		t.Errorf("policy export: exit %d\n%s", code, out)
	}
	writePolicy(strings.Repeat("AB", 20))
	if _, stderr, code := hull(t, "policy", "validate", pol); code != ExitFail || !strings.Contains(stderr, "holds no key") {
		t.Errorf("policy naming a key the keyring lacks: exit %d %s", code, stderr)
	}
	if _, _, code := hull(t, "policy", "validate", filepath.Join(dir, "absent.yaml")); code != ExitUndecided {
		t.Errorf("validate of a missing file: exit %d, want 2", code)
	}
}

func TestNotationCommands(t *testing.T) {
	reg := testenv.Registry(t)
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	ref, _ := name.ParseReference(reg + "/team/app:1")
	if err := remote.Write(ref, it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("id", "n", 0o644)))); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := hull(t, "key", "generate", "--type", "notation", "--name", "release", "--out", filepath.Join(dir, "release"))
	id := regexp.MustCompile(`identity:\s+(x509\.subject: .+)`).FindStringSubmatch(out)
	if code != ExitPass || id == nil {
		t.Fatalf("key generate --type notation: exit %d\n%s%s", code, out, stderr)
	}
	if out, stderr, code := hull(t, "sign", "--key", filepath.Join(dir, "release.key"), "--cert", filepath.Join(dir, "release.crt"), reg+"/team/app:1"); code != ExitPass {
		t.Fatalf("sign --cert: exit %d\n%s%s", code, out, stderr)
	}
	pol := filepath.Join(dir, "hull.yaml")
	doc := fmt.Sprintf("apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: %s/team\n      signers:\n        - name: notary\n          notation:\n            trustStore: [release.root.crt]\n            identities: [%q]\n", reg, id[1])
	if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := hull(t, "verify", "--policy", pol, reg+"/team/app:1"); code != ExitPass || !strings.Contains(out, "notation valid") {
		t.Errorf("verify a Notation signature: exit %d\n%s%s", code, out, stderr)
	}

	// With a timestamp from a real TSA, and a policy that asks for one.
	tsa := testenv.OpenSSLTSA(t)
	key, cert := filepath.Join(dir, "release.key"), filepath.Join(dir, "release.crt")
	stamped := reg + "/team/stamped:1"
	sref, _ := name.ParseReference(stamped)
	if err := remote.Write(sref, it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("id", "s", 0o644)))); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{
		{"--cert", cert, "--timestamp-url", tsa.URL},
		{"--timestamp-url", tsa.URL, "--timestamp-root-cert", tsa.RootPEM},
	} {
		if _, stderr, code := hull(t, append(append([]string{"sign", "--key", key}, bad...), stamped)...); code != ExitUndecided || !strings.Contains(stderr, "timestamp") {
			t.Errorf("sign %v: exit %d, %s", bad, code, stderr)
		}
	}
	if out, stderr, code := hull(t, "sign", "--key", key, "--cert", cert, "--timestamp-url", tsa.URL, "--timestamp-root-cert", tsa.RootPEM, stamped); code != ExitPass {
		t.Fatalf("sign --timestamp-url: exit %d\n%s%s", code, out, stderr)
	}
	doc += "            tsaStore: [" + tsa.RootPEM + "]\n"
	if err := os.WriteFile(pol, []byte(strings.Replace(doc, "/team\n", "/team/stamped\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := hull(t, "verify", "--no-cache", "--policy", pol, stamped); code != ExitPass || !strings.Contains(out, "timestamped") {
		t.Errorf("verify a timestamped Notation signature under a tsaStore: exit %d\n%s%s", code, out, stderr)
	}
}
