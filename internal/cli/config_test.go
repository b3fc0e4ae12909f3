package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/report"
	"github.com/hull-sec/hull/internal/testenv"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"
)

// hullIn runs hull with stdin as its standard input.
func hullIn(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	root := NewRoot(BuildInfo{Version: "test"}, args)
	var out, errb bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		errb.WriteString(Message(err))
	}
	return out.String(), errb.String(), Code(err)
}

// configReport decodes hull config --format json.
func configReport(t *testing.T, out string) report.Report {
	t.Helper()
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not a JSON report: %v\n%s", err, out)
	}
	if rep.Command != "config" {
		t.Errorf("command %q", rep.Command)
	}
	return rep
}

// wantCode is the exit code a report of judged files calls for: 1 when a
// finding of a failing (not warning) rule reaches the threshold.
func wantCode(rep report.Report, threshold finding.Severity) int {
	warn := map[string]bool{}
	for _, c := range rep.Checks {
		warn[c.ID] = c.State == finding.StateWarn
	}
	for _, f := range rep.Findings {
		if !warn[f.ID] && f.Severity >= threshold {
			return ExitFail
		}
	}
	return ExitPass
}

func TestConfigJudgesAnOCIConfig(t *testing.T) {
	cfg := testenv.RuncSpec(t)
	for _, failOn := range []string{"critical", "low"} {
		out, stderr, code := hull(t, "config", cfg, "--format", "json", "--fail-on", failOn)
		rep := configReport(t, out)
		sev, _ := finding.ParseSeverity(failOn)
		if want := wantCode(rep, sev); code != want {
			t.Errorf("--fail-on %s: exit %d, want %d\n%s", failOn, code, want, stderr)
		}
		for _, f := range rep.Findings {
			if f.Location.File != cfg || f.Target != "OCI config "+cfg {
				t.Errorf("finding not placed in the file: %+v", f)
			}
		}
		if rep.FailOn != failOn || rep.Target != cfg {
			t.Errorf("failOn %q target %q", rep.FailOn, rep.Target)
		}
	}
	// The same file from standard input is the same judgement, placed
	// in "-".
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, _, codeFile := hull(t, "config", cfg, "--format", "json")
	fromStdin, stderr, codeStdin := hullIn(t, string(data), "config", "-", "--format", "json")
	a, b := configReport(t, fromFile), configReport(t, fromStdin)
	if codeFile != codeStdin || len(a.Findings) != len(b.Findings) {
		t.Errorf("file: exit %d, %d findings; stdin: exit %d, %d findings\n%s", codeFile, len(a.Findings), codeStdin, len(b.Findings), stderr)
	}
	for _, f := range b.Findings {
		if f.Location.File != "-" {
			t.Errorf("a finding from standard input is placed in %q", f.Location.File)
		}
	}
}

// A file that cannot be read or parsed, or is of no known format when
// named, is "could not decide" in every format, and the report still
// names it; one that a directory holds is listed as skipped.
func TestConfigNeverSkipsABadFileSilently(t *testing.T) {
	dir := t.TempDir()
	good := testenv.RuncSpec(t)
	notes := filepath.Join(dir, "notes.yaml")
	broken := filepath.Join(dir, "sub", "config.json")
	values := filepath.Join(dir, "sub", "values.yaml")
	for path, data := range map[string]string{
		notes:  "hello: world\n",
		broken: `{"ociVersion": "1.0.0", "process": {"user": {"uid": "root"}}}`,
		values: "replicaCount: 2\n",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, format := range []string{"table", "json", "sarif"} {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{notes}, notes + ": not a Compose file"},
			{[]string{filepath.Join(dir, "sub")}, "process.user.uid is a string"},
			{[]string{good, filepath.Join(dir, "missing.yaml")}, "missing.yaml: no such file or directory"},
			{[]string{"-", "-"}, "standard input (-) is named twice"},
		} {
			out, stderr, code := hullIn(t, "", append([]string{"config", "--format", format, "--fail-on", "critical"}, tc.args...)...)
			if code != ExitUndecided || !strings.Contains(stderr, tc.want) {
				t.Errorf("%s %v: exit %d, want 2 saying %q\n%s", format, tc.args, code, tc.want, stderr)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("%s %v: the report does not name the problem %q:\n%s", format, tc.args, tc.want, out)
			}
		}
	}
	out, _, _ := hull(t, "config", "--format", "json", filepath.Join(dir, "sub"))
	rep := configReport(t, out)
	if !strings.Contains(strings.Join(rep.Suppressed, "\n"), values+": not a Compose file") {
		t.Errorf("values.yaml in a directory is not listed as skipped: %q", rep.Suppressed)
	}
}

func TestConfigPolicyRefusesUnknownRules(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "hull.yaml")
	doc := "apiVersion: hull.dev/v1\nworkload:\n  exceptions:\n    - rule: no-such-rule\n      workloads: [\"*\"]\n      reason: a typo\n"
	if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := hull(t, "config", "--policy", pol, testenv.RuncSpec(t))
	if code != ExitUndecided || !strings.Contains(stderr, `unknown workload rule "no-such-rule"`) || !strings.Contains(stderr, pol) {
		t.Errorf("config: exit %d\n%s", code, stderr)
	}
	out, stderr, code := hull(t, "policy", "validate", pol)
	if code != ExitFail || !strings.Contains(stderr, `unknown workload rule "no-such-rule"`) {
		t.Errorf("policy validate: exit %d\n%s%s", code, out, stderr)
	}
	t.Chdir(dir) // no ./hull.yaml is found there by accident: the one given is
	if err := os.Remove(pol); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := hull(t, "config", "--images", testenv.RuncSpec(t)); code != ExitUndecided || !strings.Contains(stderr, "no policy file") {
		t.Errorf("--images without a policy: exit %d\n%s", code, stderr)
	}
}

func TestConfigListsRules(t *testing.T) {
	out, stderr, code := hull(t, "config", "--list", "--format", "json")
	var rules []finding.Rule
	if code != ExitPass || json.Unmarshal([]byte(out), &rules) != nil {
		t.Fatalf("config --list: exit %d\n%s%s", code, out, stderr)
	}
	for _, r := range rules {
		if r.ID == "" || r.Title == "" {
			t.Errorf("rule without ID or title: %+v", r)
		}
	}
	if _, _, code := hull(t, "config", "--list", "x"); code != ExitUndecided {
		t.Errorf("--list with a path: exit %d", code)
	}
	if _, _, code := hull(t, "config"); code != ExitUndecided {
		t.Errorf("no path: exit %d", code)
	}
}

// --images verifies and lints each image as hull verify and hull lint do:
// an image the trust section rejects fails the run, and its lint
// findings are in the report.
func TestConfigImagesVerifiesAndLints(t *testing.T) {
	reg := testenv.Registry(t)
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	ref := reg + "/team/app:1"
	r, _ := name.ParseReference(ref)
	img := it.Image(t, v1.Config{Env: []string{"PATH=/bin"}}, nil,
		it.Layer(t, it.Dir("etc/", 0o755), it.File("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0o644)))
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "hull.yaml")
	if err := os.WriteFile(pol, []byte("apiVersion: hull.dev/v1\ntrust:\n  default: reject\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := policy.LoadFile(pol)
	if err != nil {
		t.Fatal(err)
	}
	f := &configFlags{}
	cmd := &cobra.Command{}
	cmd.SetContext(context.Background())
	f.image.register(cmd.Flags(), imageUse{policy: true, opens: true})
	var rep report.Report
	failed, why, err := checkImages(cmd, f, p, pol, []string{ref}, &rep)
	if err != nil || len(why) != 0 {
		t.Fatalf("checkImages: %v %q", err, why)
	}
	if !failed || len(rep.Verdicts) != 1 || rep.Verdicts[0].Accepted {
		t.Errorf("a rejected image did not fail the run: %+v", rep.Verdicts)
	}
	var lintFinding bool
	for _, fd := range rep.Findings {
		lintFinding = lintFinding || (fd.ID == "root-user" && strings.Contains(fd.Target, "team/app"))
	}
	if !lintFinding {
		t.Errorf("no lint finding of the image: %+v", rep.Findings)
	}
	_, why, err = checkImages(cmd, f, p, pol, []string{reg + "/team/missing:1"}, &report.Report{})
	if err != nil || len(why) != 2 {
		t.Errorf("an image that is not there: verify and lint could not decide, got %q, %v", why, err)
	}
}
