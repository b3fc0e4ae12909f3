package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/lint"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// hull runs the command tree in-process and returns stdout, stderr and
// the exit code cmd/hull would use.
func hull(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	root := NewRoot(BuildInfo{Version: "test"}, args)
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		errb.WriteString(Message(err)) // as cmd/hull prints it
	}
	return out.String(), errb.String(), Code(err)
}

// archive writes a one-layer image whose only findings are medium
// (root user) and low (no healthcheck) severity.
func archive(t *testing.T) string {
	img := it.Image(t, v1.Config{Env: []string{"PATH=/bin"}}, []string{"COPY . / # buildkit"},
		it.Layer(t, it.Dir("etc/", 0o755), it.File("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0o644)))
	p := filepath.Join(t.TempDir(), "img.tar")
	it.WriteDockerArchive(t, p, "example.com/app:1.0", img)
	return "docker-archive:" + p
}

func TestExitCodesAreTheSameForEveryFormat(t *testing.T) {
	ref := archive(t)
	for _, format := range []string{"table", "json", "sarif"} {
		for _, tc := range []struct {
			args []string
			code int
		}{
			{[]string{"lint", ref, "-f", format}, ExitPass}, // default threshold high
			{[]string{"lint", ref, "-f", format, "--fail-on", "medium"}, ExitFail},
			{[]string{"lint", ref, "-f", format, "--fail-on", "medium", "--ignore", "root-user"}, ExitPass},
			{[]string{"lint", ref, "-f", format, "--fail-on", "low", "--ignore", "root-user"}, ExitFail},
			{[]string{"lint", ref, "-f", format, "--ignore", "no-such-check"}, ExitUndecided},
			{[]string{"lint", "docker-archive:/nonexistent.tar", "-f", format}, ExitUndecided},
			{[]string{"lint", "ftp://nope", "-f", format}, ExitUndecided},
			{[]string{"lint", ref, "-f", format, "--fail-on", "severe"}, ExitUndecided},
		} {
			_, stderr, code := hull(t, tc.args...)
			if code != tc.code {
				t.Errorf("hull %s: exit %d, want %d (stderr %q)", strings.Join(tc.args, " "), code, tc.code, stderr)
			}
		}
	}
}

func TestLintOutputs(t *testing.T) {
	ref := archive(t)
	out, _, code := hull(t, "lint", ref)
	if code != ExitPass || !strings.Contains(out, "root-user") || !strings.Contains(out, "image ID: sha256:") {
		t.Errorf("table output (exit %d):\n%s", code, out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour written to a non-terminal")
	}
	file := filepath.Join(t.TempDir(), "out.sarif")
	out, _, code = hull(t, "lint", ref, "--format", "sarif", "--output", file)
	if code != ExitPass || out != "" {
		t.Errorf("--output: exit %d, stdout %q", code, out)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &sarif); err != nil || sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || len(sarif.Runs[0].Results) != 2 {
		t.Errorf("SARIF output %v: %s", err, data)
	}
}

func TestPolicyFile(t *testing.T) {
	ref := archive(t)
	pol := filepath.Join(t.TempDir(), "hull.yaml")
	write := func(s string) {
		if err := os.WriteFile(pol, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("apiVersion: hull.dev/v1\nlint:\n  failOn: medium\n")
	if _, _, code := hull(t, "lint", ref, "--policy", pol); code != ExitFail {
		t.Errorf("policy failOn medium: exit %d, want 1", code)
	}
	write("apiVersion: hull.dev/v1\nlint:\n  failOn: medium\n  ignore:\n    - {id: root-user, reason: base image runs as root by design}\n")
	if out, _, code := hull(t, "lint", ref, "--policy", pol, "-f", "json"); code != ExitPass || !strings.Contains(out, pol+": base image runs as root by design") {
		t.Errorf("policy ignore: exit %d, want 0 and the skipped check naming the policy's reason\n%s", code, out)
	}
	if _, _, code := hull(t, "lint", ref, "--policy", pol, "--fail-on", "low"); code != ExitFail {
		t.Errorf("--fail-on overrides the policy: exit %d, want 1", code)
	}
	write("apiVersion: hull.dev/v1\nlint:\n  failOn: medium\n  unknown: 1\n")
	if _, stderr, code := hull(t, "lint", ref, "--policy", pol); code != ExitUndecided || !strings.Contains(stderr, "unknown") {
		t.Errorf("bad policy: exit %d, stderr %q", code, stderr)
	}
}

func TestListVersionCompletion(t *testing.T) {
	out, _, code := hull(t, "lint", "--list")
	if code != ExitPass {
		t.Fatalf("--list exit %d", code)
	}
	for _, c := range lint.All() {
		if !strings.Contains(out, c.ID) {
			t.Errorf("--list lacks %s", c.ID)
		}
	}
	if _, _, code := hull(t, "lint", "--list", "extra"); code != ExitUndecided {
		t.Errorf("--list with an argument: exit %d", code)
	}
	if out, _, _ := hull(t, "version"); !strings.Contains(out, "hull test") || !strings.Contains(out, "go: go1.") {
		t.Errorf("version output %q", out)
	}
	if out, _, code := hull(t, "completion", "bash"); code != ExitPass || !strings.Contains(out, "__start_hull") {
		t.Errorf("bash completion: exit %d", code)
	}
	if out, _, _ := hull(t, "lint", "--help"); !strings.Contains(out, "docker-archive:PATH") || !strings.Contains(out, "Exit codes") {
		t.Errorf("lint --help does not teach the reference syntax and exit codes:\n%s", out)
	}
}

// TestRootForVerb checks that the tree built for one verb (as cmd/hull
// builds it) behaves as the whole tree does: same help for every verb,
// and the root's help still lists them all.
func TestRootForVerb(t *testing.T) {
	full := NewRoot(BuildInfo{Version: "test"}, nil)
	out, _, code := hull(t, "--help")
	if code != ExitPass {
		t.Fatalf("--help: exit %d", code)
	}
	for _, c := range full.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if !strings.Contains(out, "  "+c.Name()+" ") {
			t.Errorf("root help does not list %s", c.Name())
		}
		var want bytes.Buffer
		whole := NewRoot(BuildInfo{Version: "test"}, nil)
		whole.SetOut(&want)
		whole.SetArgs([]string{c.Name(), "--help"})
		if err := whole.Execute(); err != nil {
			t.Fatal(err)
		}
		got, _, code := hull(t, c.Name(), "--help")
		if code != ExitPass || got != want.String() {
			t.Errorf("%s --help differs when the tree is built for it:\n%s\nwant:\n%s", c.Name(), got, want.String())
		}
	}
	if _, stderr, code := hull(t, "verfiy"); code != ExitUndecided || !strings.Contains(stderr, "verify") {
		t.Errorf("a misspelt verb: exit %d, stderr %q (want a suggestion)", code, stderr)
	}
}
