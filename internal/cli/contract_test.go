package cli

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/testenv"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// goSyntax is what a Go value printed raw looks like: a type name, a map,
// a struct or a slice.
var goSyntax = regexp.MustCompile(`map\[|&\{|\{[A-Z][a-z]+:|\[\]|\*[a-z0-9]+\.[A-Z]|\b(policy|v1|ecdsa|rsa|ed25519|json|image|scan)\.[A-Z]|Go (struct|value)`)

func noGoSyntax(t *testing.T, what, msg string) {
	t.Helper()
	if m := goSyntax.FindString(msg); m != "" {
		t.Errorf("%s: Go syntax %q in %q", what, m, msg)
	}
}

// policy validate keeps the README's contract: 0 valid, 1 invalid (its
// values, the checks and keys it names), 2 could not read it.
func TestPolicyValidateExitCodes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body string
		code       int
	}{
		{"valid", "lint:\n  ignore:\n    - id: no-healthcheck\n      reason: probed\nscan:\n  failOn: critical\n", ExitPass},
		{"unknown-check", "lint:\n  ignore:\n    - id: no-such-check\n      reason: typo\n", ExitFail},
		{"unknown-field", "lint:\n  failon: high\n", ExitFail},
		{"wrong-types", "lint:\n  ignore: abc\ntrust:\n  rules: {a: 1}\nscan: 5\n", ExitFail},
		{"bad-severity", "scan:\n  failOn: severe\n", ExitFail},
		{"scan-ignore-no-reason", "scan:\n  ignore:\n    - id: CVE-2021-1\n", ExitFail},
	} {
		p := writePolicy(t, filepath.Join(dir, tc.name+".yaml"), tc.body)
		_, stderr, code := hull(t, "policy", "validate", p)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d (%s)", tc.name, code, tc.code, stderr)
		}
		noGoSyntax(t, tc.name, stderr)
	}
	for _, p := range []string{filepath.Join(dir, "missing.yaml"), dir} {
		if _, stderr, code := hull(t, "policy", "validate", p); code != ExitUndecided {
			t.Errorf("unreadable %s: exit %d, want 2 (%s)", p, code, stderr)
		}
	}
}

// --platform is OS/ARCH[/VARIANT], and a platform the image does not have
// is an error that names those it has, from every source.
func TestPlatformIsCheckedEverywhere(t *testing.T) {
	dir := t.TempDir()
	ref := archive(t) // linux/amd64
	for _, bad := range []string{"linux", "linux/", "/amd64", "Linux/AMD64", "linux/amd64/v8/x", "linux amd64"} {
		_, stderr, code := hull(t, "lint", ref, "--platform", bad)
		if code != ExitUndecided || !strings.Contains(stderr, "OS/ARCH") {
			t.Errorf("--platform %q: exit %d, %s", bad, code, stderr)
		}
	}
	if _, stderr, code := hull(t, "lint", ref, "--platform", "linux/amd64"); code != ExitPass {
		t.Errorf("the image's own platform: exit %d, %s", code, stderr)
	}
	_, stderr, code := hull(t, "lint", ref, "--platform", "linux/arm64")
	if code != ExitUndecided || !strings.Contains(stderr, "linux/amd64") {
		t.Errorf("docker-archive for another platform: exit %d, %s", code, stderr)
	}
	// An index of two platforms, in an OCI layout and in a registry.
	var idx v1.ImageIndex = empty.Index
	for _, arch := range []string{"s390x", "ppc64le"} {
		img := it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("f", arch, 0o644)))
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.Architecture = arch
		img, _ = mutate.ConfigFile(img, cf)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	lp := filepath.Join(dir, "layout")
	if _, err := layout.Write(lp, empty.Index); err != nil {
		t.Fatal(err)
	}
	p, _ := layout.FromPath(lp)
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "1"})); err != nil {
		t.Fatal(err)
	}
	reg := testenv.Registry(t)
	r, _ := name.ParseReference(reg + "/multi:1")
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"oci:" + lp + ":1", reg + "/multi:1"} {
		for _, args := range [][]string{{"--platform", "linux/arm64"}, nil} { // and this machine's default
			_, stderr, code := hull(t, append([]string{"lint", src}, args...)...)
			if code != ExitUndecided || !strings.Contains(stderr, "linux/ppc64le, linux/s390x") {
				t.Errorf("%s %v: exit %d, %s", src, args, code, stderr)
			}
			noGoSyntax(t, src, stderr)
		}
		if _, stderr, code := hull(t, "lint", src, "--platform", "linux/s390x"); code == ExitUndecided {
			t.Errorf("%s for a platform it has: %s", src, stderr)
		}
	}
}

// No number, size or duration flag of any verb takes a negative value.
func TestNegativeNumbersAreRefused(t *testing.T) {
	root := NewRoot(BuildInfo{Version: "test"}, nil)
	tried := 0
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			switch f.Value.Type() {
			case "int", "int64", "int32", "float64", "duration":
			default:
				return
			}
			neg := "-1"
			if f.Value.Type() == "duration" {
				neg = "-1s"
			}
			args := append(append([]string{}, path...), "--"+f.Name, neg)
			if c.Args != nil && c.Args(c, nil) != nil {
				args = append(args, "docker-archive:"+filepath.Join(t.TempDir(), "none.tar"))
			}
			for _, req := range []string{"key", "out"} {
				if c.Flags().Lookup(req) != nil {
					args = append(args, "--"+req, filepath.Join(t.TempDir(), "x"))
				}
			}
			_, stderr, code := hull(t, args...)
			if code != ExitUndecided || !strings.Contains(stderr, "must not be negative") {
				t.Errorf("hull %s: exit %d, %q", strings.Join(args, " "), code, stderr)
			}
			tried++
		})
	}
	walk(root, nil)
	if tried < 6 {
		t.Errorf("only %d number flags tried", tried)
	}
}

// sign needs an image in a registry and says so, for every other source,
// without asking DNS for a host named after the source.
func TestSignNeedsARegistry(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, code := hull(t, "key", "generate", "--type", "cosign", "--out", filepath.Join(dir, "k")); code != ExitPass {
		t.Fatal(stderr)
	}
	for _, ref := range []string{"docker-archive:" + filepath.Join(dir, "a.tar"), "oci:" + dir + ":1", "oci-archive:" + filepath.Join(dir, "o.tar"), "dir:" + dir, "docker-daemon:app:1", "podman:app:1"} {
		_, stderr, code := hull(t, "sign", "--key", filepath.Join(dir, "k.key"), ref)
		if code != ExitUndecided || !strings.Contains(stderr, "not in a registry") || strings.Contains(stderr, "lookup") {
			t.Errorf("sign %s: exit %d, %s", ref, code, stderr)
		}
	}
}

// What hull prints for a malformed JSON input (an archive's manifest, an
// OCI index, a VEX document) is worded without Go's type names.
func TestJSONErrorsHaveNoGoSyntax(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	body := `[{"Config": 5}]`
	_ = tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o644, Size: int64(len(body))})
	_, _ = tw.Write([]byte(body))
	_ = tw.Close()
	archivePath := write("a.tar", tarball.String())
	write("lay/oci-layout", `{"imageLayoutVersion":"1.0.0"}`)
	write("lay/index.json", `{"schemaVersion":2,"manifests":"x"}`)
	vex := write("vex.json", `{"@context":"https://openvex.dev/ns/v0.2.0","statements":"x"}`)
	for _, args := range [][]string{
		{"lint", "docker-archive:" + archivePath},
		{"lint", "oci:" + filepath.Join(dir, "lay")},
		{"scan", "--scanners", "vuln", "--vex", vex, "--db", filepath.Join(dir, "none.db"), archive(t)}, // the VEX is read first
	} {
		_, stderr, code := hull(t, args...)
		if code != ExitUndecided || !strings.Contains(stderr, "json: ") {
			t.Errorf("hull %s: exit %d, %s", strings.Join(args, " "), code, stderr)
		}
		noGoSyntax(t, strings.Join(args, " "), stderr)
	}
	if m := Message(errors.New("x: json: cannot unmarshal object into Go value of type map[string]int")); m != "x: json: an object where an object is expected" {
		t.Errorf("Message: %q", m)
	}
}

// No help text shows a Go value: list defaults read as typed.
func TestHelpHasNoGoSyntax(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		help := c.Long + "\n" + c.UsageString()
		if strings.Contains(help, "(default [") {
			t.Errorf("%s: a list default in Go syntax:\n%s", c.CommandPath(), help)
		}
		noGoSyntax(t, c.CommandPath(), help)
	}
	walk(NewRoot(BuildInfo{Version: "test"}, nil))
}

// Every verb maps its run to one exit rule: undecided beats failed beats
// passed, whatever else the run found.
func TestOutcomeIsOneRule(t *testing.T) {
	for _, tc := range []struct {
		failed bool
		why    []string
		want   int
	}{
		{false, nil, ExitPass},
		{true, nil, ExitFail},
		{false, []string{"check x could not run"}, ExitUndecided},
		{true, []string{"check x could not run"}, ExitUndecided},
	} {
		err := outcome(tc.failed, tc.why)
		if got := Code(err); got != tc.want {
			t.Errorf("outcome(%t, %q) = exit %d, want %d", tc.failed, tc.why, got, tc.want)
		}
		if len(tc.why) > 0 && !strings.Contains(err.Error(), tc.why[0]) {
			t.Errorf("outcome(%t, %q) says %q, not why", tc.failed, tc.why, err)
		}
	}
}
