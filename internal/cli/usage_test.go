package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/lint"
	"github.com/hull-sec/hull/internal/testenv"
)

// Every way of calling hull wrongly is exit 2 with a message that says
// what to do next; a mistyped subcommand of a command group must not print
// help and exit 0, which a script would take for a pass.
func TestUsageErrorsExit2WithAHint(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, "'hull --help' lists its commands"},
		{[]string{"lnt", "x"}, "did you mean lint?"},
		{[]string{"policy", "valdate", "hull.yaml"}, "did you mean validate?"},
		{[]string{"db", "updat"}, "'hull db --help' lists its commands"},
		{[]string{"key", "gen"}, "did you mean generate?"},
		{[]string{"tls", "frob"}, "'hull tls --help'"},
		{[]string{"completion", "tcsh"}, "'hull completion --help'"},
		{[]string{"help", "frob"}, "no help for \"frob\""},
		{[]string{"help", "policy", "valdate"}, "no help for \"policy valdate\""},
		{[]string{"lint", "--nope", "x"}, "unknown flag: --nope ('hull lint --help' lists its flags)"},
		{[]string{"lint"}, "wrong number of arguments (0); usage: hull lint IMAGE [flags]"},
		{[]string{"lint", "a", "b"}, "wrong number of arguments (2)"},
		{[]string{"db", "status", "x"}, "usage: hull db status [flags]"},
		{[]string{"version", "x"}, "usage: hull version [flags]"},
		{[]string{"policy", "export", "hull.yaml"}, "hull policy export needs --out; usage: hull policy export [FILE] [flags]"},
		{[]string{"sign", "127.0.0.1:5000/app:1"}, "hull sign needs --key"},
		{[]string{"key", "generate", "--type", "cosign"}, "needs --out"},
	} {
		out, stderr, code := hull(t, tc.args...)
		if code != ExitUndecided || !strings.Contains(stderr, tc.want) || out != "" {
			t.Errorf("hull %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", strings.Join(tc.args, " "), code, out, stderr, tc.want)
		}
		noGoSyntax(t, strings.Join(tc.args, " "), stderr)
	}
	// main prefixes "hull: ": the message names the verb once.
	if _, stderr, _ := hull(t, "lint"); !strings.HasPrefix(stderr, "lint: wrong number") {
		t.Errorf("hull lint: stderr %q, want it to start with the verb alone", stderr)
	}
	// A group without a command still shows its help, as help does.
	for _, args := range [][]string{{"policy"}, {"db"}, {}, {"help"}, {"help", "policy"}} {
		if out, _, code := hull(t, args...); code != ExitPass || !strings.Contains(out, "Available Commands") {
			t.Errorf("hull %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
	}
}

// lint --list honours --format and --output like a report, and refuses a
// format it cannot write rather than printing a table in its place.
func TestLintListFormats(t *testing.T) {
	out, _, code := hull(t, "lint", "--list", "--format", "json")
	var rules []struct{ ID, Severity, Title, Doc, Remediation string }
	if err := json.Unmarshal([]byte(out), &rules); code != ExitPass || err != nil || len(rules) != len(lint.All()) || rules[0].Remediation == "" {
		t.Fatalf("--list --format json: exit %d, %v, %d rules:\n%.300s", code, err, len(rules), out)
	}
	if strings.Contains(out, `\u003c`) {
		t.Error("--list json escapes < and > as HTML")
	}
	file := filepath.Join(t.TempDir(), "checks.txt")
	out, _, code = hull(t, "lint", "--list", "-o", file)
	b, err := os.ReadFile(file)
	if code != ExitPass || out != "" || err != nil || !strings.Contains(string(b), "root-user") {
		t.Errorf("--list -o: exit %d, stdout %q, file %q (%v)", code, out, b, err)
	}
	if out, stderr, code := hull(t, "lint", "--list", "-f", "sarif"); code != ExitUndecided || out != "" {
		t.Errorf("--list -f sarif: exit %d, stdout %.100q, stderr %q", code, out, stderr)
	}
}

// An image verify could not judge is in the report of every format, not
// only on standard error: a table of "0 findings; 0 checks" or JSON
// without the image would read as if nothing had been asked.
func TestVerifyReportsUndecidedImages(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the verdict and layer caches
	pol := writePolicy(t, filepath.Join(t.TempDir(), "hull.yaml"), "trust:\n  default: insecureAcceptAnything\n")
	ref := archive(t)
	table, stderr, code := hull(t, "verify", "--policy", pol, ref)
	if code != ExitUndecided || !strings.Contains(table, "UNDECIDED  "+ref+": ") || !strings.Contains(table, "1 image: 0 accepted, 0 rejected, 1 could not be decided") || strings.Contains(table, "findings") {
		t.Errorf("table: exit %d\n%s\nstderr %s", code, table, stderr)
	}
	out, _, code := hull(t, "verify", "--policy", pol, ref, "-f", "json")
	var rep struct {
		Checks []struct{ ID, State, Reason string }
	}
	if err := json.Unmarshal([]byte(out), &rep); code != ExitUndecided || err != nil || len(rep.Checks) != 1 || rep.Checks[0].State != "error" || !strings.HasPrefix(rep.Checks[0].Reason, ref+": ") {
		t.Errorf("json: exit %d, %v\n%s", code, err, out)
	}
	out, _, code = hull(t, "verify", "--policy", pol, ref, "-f", "sarif")
	if code != ExitUndecided || !strings.Contains(out, `"executionSuccessful": false`) || !strings.Contains(out, ref) {
		t.Errorf("sarif: exit %d\n%s", code, out)
	}
}

// Generating a key where one exists says how to go on; the README's own
// sequence (a gpg key, then a notation key) must not collide.
func TestKeyGenerateNeverOverwritesAndSaysSo(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, code := hull(t, "key", "generate", "--type", "cosign", "--out", filepath.Join(dir, "ci")); code != ExitPass {
		t.Fatalf("first key: exit %d: %s", code, stderr)
	}
	for _, typ := range []string{"cosign", "notation", "gpg"} {
		_, stderr, code := hull(t, "key", "generate", "--type", typ, "--name", "x", "--out", filepath.Join(dir, "ci"))
		if code != ExitUndecided || !strings.Contains(stderr, "never overwrites a key; name other files with --out") {
			t.Errorf("%s over an existing key: exit %d: %s", typ, code, stderr)
		}
	}
	if _, stderr, code := hull(t, "key", "generate", "--type", "x509", "--out", filepath.Join(dir, "k")); code != ExitUndecided || !strings.Contains(stderr, "gpg, cosign or notation") {
		t.Errorf("unknown type: exit %d: %s", code, stderr)
	}
}

// A refused --fail-on lists every severity it takes, as its help does.
func TestFailOnErrorListsWhatHelpSays(t *testing.T) {
	_, stderr, code := hull(t, "lint", archive(t), "--fail-on", "severe")
	if code != ExitUndecided || !strings.Contains(stderr, "unknown, info, low, medium, high, critical") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

// An image a real registry does not have is named in plain words by
// every verb that opens or resolves one: no Go map syntax, no advice meant
// for go-containerregistry's callers.
func TestMissingImageMessages(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the verdict and layer caches
	reg := testenv.Registry(t)
	pol := writePolicy(t, filepath.Join(t.TempDir(), "hull.yaml"), "trust:\n  default: insecureAcceptAnything\n")
	ref := reg + "/team/app:nope"
	for _, args := range [][]string{{"lint", ref}, {"sbom", ref}, {"verify", "--policy", pol, ref}} {
		out, stderr, code := hull(t, args...)
		if code != ExitUndecided || !strings.Contains(stderr+out, "nope") {
			t.Errorf("hull %s: exit %d: %s", args[0], code, stderr)
		}
		noGoSyntax(t, args[0], stderr+out)
		if strings.Contains(stderr+out, "use GET for details") {
			t.Errorf("hull %s: %s", args[0], stderr+out)
		}
	}
}

// A lint.ignore naming no check is pinned on the policy file that says
// it, in lint as in policy validate.
func TestLintNamesThePolicyOfAnUnknownIgnore(t *testing.T) {
	pol := writePolicy(t, filepath.Join(t.TempDir(), "team.yaml"), "lint:\n  ignore:\n    - id: no-such-check\n      reason: typo\n")
	_, stderr, code := hull(t, "lint", archive(t), "--policy", pol)
	if code != ExitUndecided || !strings.Contains(stderr, pol+": lint.ignore: unknown check ID \"no-such-check\"") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

// A sign flag the key's format would ignore is refused before anything
// is signed, rather than silently doing nothing.
func TestSignRefusesFlagsThatDoNotApply(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"key", "generate", "--type", "cosign", "--out", filepath.Join(dir, "ci")},
		{"key", "generate", "--type", "gpg", "--name", "r", "--out", filepath.Join(dir, "gpg")},
	} {
		if _, stderr, code := hull(t, args...); code != ExitPass {
			t.Fatalf("%s: %s", args, stderr)
		}
	}
	ci, gpg := filepath.Join(dir, "ci.key"), filepath.Join(dir, "gpg.key")
	ref := "127.0.0.1:1/app:1" // never reached
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--key", ci, "--lookaside", dir}, "--lookaside does not apply to a cosign signature"},
		{[]string{"--key", ci, "--signature-format", "cose"}, "--signature-format does not apply to a cosign signature"},
		{[]string{"--key", gpg, "--lookaside", dir, "--bundle"}, "--bundle does not apply to a simple signature"},
		{[]string{"--key", gpg, "--lookaside", dir, "--cert", ci}, "--cert does not apply to a simple signature"},
		{[]string{"--key", ci, "--cert", ci, "--bundle"}, "--bundle does not apply to a Notation signature"},
		{[]string{"--key", ci, "--timestamp-url", "http://127.0.0.1:1", "--timestamp-root-cert", ci}, "--timestamp-url does not apply to a cosign signature"},
	} {
		_, stderr, code := hull(t, append(append([]string{"sign"}, tc.args...), ref)...)
		if code != ExitUndecided || !strings.Contains(stderr, tc.want) {
			t.Errorf("sign %s: exit %d: %s", strings.Join(tc.args, " "), code, stderr)
		}
	}
}

// A scan flag of a scanner --scanners leaves out is refused, not ignored.
func TestScanRefusesFlagsOfScannersLeftOut(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the verdict and layer caches
	ref := archive(t)
	for _, args := range [][]string{
		{"--scanners", "secret", "--vex", "v.json"},
		{"--scanners", "secret,malware", "--ignore", "CVE-1"},
		{"--scanners", "vuln", "--clamd", "/x.sock", "--db", "/x.db"},
		{"--scanners", "secret", "--max-file-size", "10"},
	} {
		_, stderr, code := hull(t, append([]string{"scan", ref}, args...)...)
		if code != ExitUndecided || !strings.Contains(stderr, "which --scanners leaves out") {
			t.Errorf("scan %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
	}
}

// hull help completes command names, as cobra's own help did.
func TestHelpCompletesCommands(t *testing.T) {
	out, _, code := hull(t, "__complete", "help", "")
	if code != ExitPass || !strings.Contains(out, "lint\t") || !strings.Contains(out, "policy\t") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if out, _, _ := hull(t, "__complete", "help", "policy", ""); !strings.Contains(out, "validate\t") {
		t.Errorf("help policy:\n%s", out)
	}
}

// An ignored lint check says who ignored it and why: the policy's reason
// is the point of writing one.
func TestLintIgnoredChecksSayWhy(t *testing.T) {
	pol := writePolicy(t, filepath.Join(t.TempDir(), "hull.yaml"), "lint:\n  ignore:\n    - id: no-healthcheck\n      reason: probed by the orchestrator\n")
	out, _, code := hull(t, "lint", archive(t), "--policy", pol, "--ignore", "latest-tag")
	for _, want := range []string{"skipped no-healthcheck: ignored (" + pol + ": probed by the orchestrator)", "skipped latest-tag: ignored (--ignore)"} {
		if code != ExitPass || !strings.Contains(out, want) {
			t.Errorf("exit %d, table lacks %q:\n%s", code, want, out)
		}
	}
}

// An archive or directory named the wrong way says how to name it: an
// OCI archive as docker-archive, a docker one as oci-archive, a local
// file with no prefix at all (read as a Docker Hub name).
func TestWrongSourceKindSaysWhich(t *testing.T) {
	ref := archive(t) // docker-archive:PATH
	path := strings.TrimPrefix(ref, "docker-archive:")
	dir := t.TempDir()
	t.Chdir(dir)
	// A path that also reads as a loopback registry's repository, so
	// that nothing leaves the machine: "127.0.0.1:1/app.tar".
	if err := os.Mkdir("127.0.0.1:1", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("127.0.0.1:1/app.tar", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ref, want string
	}{
		{"oci-archive:" + path, "is not an OCI archive: no index.json (a 'docker save' tarball opens as docker-archive:" + path + ")"},
		{"oci:" + dir, dir + " is not an OCI layout: no index.json"},
		{"127.0.0.1:1/app.tar", "(127.0.0.1:1/app.tar is a file here: a 'docker save' tarball opens as docker-archive:127.0.0.1:1/app.tar, an OCI archive as oci-archive:127.0.0.1:1/app.tar)"},
	} {
		_, stderr, code := hull(t, "lint", tc.ref, "--timeout", "2s")
		if code != ExitUndecided || !strings.Contains(stderr, tc.want) {
			t.Errorf("lint %s: exit %d: %s", tc.ref, code, stderr)
		}
		if strings.Contains(stderr, "hull-oci-") {
			t.Errorf("lint %s: names hull's temporary directory: %s", tc.ref, stderr)
		}
	}
}

// tls init refuses a port no TCP socket can have, before writing keys.
func TestTLSInitRefusesBadPort(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	for _, port := range []string{"0", "70000"} {
		_, stderr, code := hull(t, "tls", "init", "--out", dir, "--port", port)
		if code != ExitUndecided || !strings.Contains(stderr, "not a TCP port") {
			t.Errorf("--port %s: exit %d: %s", port, code, stderr)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s written", dir)
	}
}
