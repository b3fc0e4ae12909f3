package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func writePolicy(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte("apiVersion: hull.dev/v1\n"+body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Every verb that reads a policy finds it the same way: --policy, else
// HULL_POLICY, else ./hull.yaml; one found implicitly is named on
// standard error only (issue 11, item 13).
func TestPolicyIsFoundTheSameWayByEveryVerb(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	lintRef := archive(t) // findings: root-user (medium), no-healthcheck (low)
	scanRef, db := scanFixture(t)
	work := t.TempDir()
	t.Chdir(work)
	t.Setenv(policyEnv, "")
	env := writePolicy(t, filepath.Join(t.TempDir(), "env.yaml"), "lint:\n  failOn: low\nscan:\n  failOn: critical\n")
	flag := writePolicy(t, filepath.Join(t.TempDir(), "flag.yaml"), "lint:\n  failOn: critical\n")

	type run struct {
		args []string
		code int
	}
	check := func(stage, note string, runs ...run) {
		t.Helper()
		for _, r := range runs {
			stdout, stderr, code := hull(t, r.args...)
			if code != r.code {
				t.Errorf("%s: hull %s: exit %d, want %d (%s)", stage, strings.Join(r.args, " "), code, r.code, stderr)
			}
			if note != "" && !strings.Contains(stderr, note) {
				t.Errorf("%s: hull %s: stderr does not name the policy: %q", stage, strings.Join(r.args, " "), stderr)
			}
			if strings.Contains(stdout, "using the policy") {
				t.Errorf("%s: hull %s: the policy note went to standard output", stage, strings.Join(r.args, " "))
			}
		}
	}
	// No policy anywhere: the defaults (high for both).
	check("none", "",
		run{[]string{"lint", lintRef}, ExitPass},
		run{[]string{"scan", scanRef, "--db", db}, ExitFail},
		run{[]string{"verify", "example.com/app:1"}, ExitUndecided},
		run{[]string{"policy", "validate"}, ExitUndecided},
	)
	// ./hull.yaml: lint fails on medium, scan ignores the CVE, verify
	// reads its trust section (an unreadable keyring: could not decide).
	writePolicy(t, filepath.Join(work, "hull.yaml"), `lint:
  failOn: medium
scan:
  ignore:
    - id: CVE-2021-23337
      reason: not reachable
trust:
  default: reject
  rules:
    - scope: example.com
      signers:
        - name: r
          cosign:
            key: missing.pub
`)
	check("./hull.yaml", "hull.yaml (found in the working directory)",
		run{[]string{"lint", lintRef}, ExitFail},
		run{[]string{"scan", scanRef, "--db", db}, ExitPass},
		run{[]string{"verify", "example.com/app:1"}, ExitUndecided},
		run{[]string{"policy", "validate"}, ExitFail},
	)
	if _, stderr, _ := hull(t, "verify", "example.com/app:1"); !strings.Contains(stderr, "missing.pub") {
		t.Errorf("verify did not read ./hull.yaml: %s", stderr)
	}
	// HULL_POLICY beats ./hull.yaml.
	t.Setenv(policyEnv, env)
	check("HULL_POLICY", env+" (from HULL_POLICY)",
		run{[]string{"lint", lintRef}, ExitFail}, // low
		run{[]string{"lint", lintRef, "--ignore", "root-user,no-healthcheck"}, ExitPass},
		run{[]string{"scan", scanRef, "--db", db}, ExitPass}, // critical
		run{[]string{"scan", scanRef, "--db", db, "--fail-on", "high"}, ExitFail},
		run{[]string{"policy", "validate"}, ExitPass},
	)
	// --policy beats both, and is not announced.
	check("--policy", "",
		run{[]string{"lint", lintRef, "--policy", flag}, ExitPass},
		run{[]string{"lint", lintRef, "--policy", flag, "--fail-on", "medium"}, ExitFail},
		run{[]string{"policy", "validate", flag}, ExitPass},
	)
	if _, stderr, _ := hull(t, "lint", lintRef, "--policy", flag); strings.Contains(stderr, "using the policy") {
		t.Errorf("an explicit --policy announced: %q", stderr)
	}
	// A HULL_POLICY that is not there is an error, not no policy.
	t.Setenv(policyEnv, filepath.Join(work, "nope.yaml"))
	check("missing HULL_POLICY", "nope.yaml",
		run{[]string{"lint", lintRef}, ExitUndecided},
		run{[]string{"scan", scanRef, "--db", db}, ExitUndecided},
		run{[]string{"policy", "validate"}, ExitUndecided},
	)
}

// lint and scan share one --fail-on: the same default and the same help.
func TestFailOnIsTheSameForLintAndScan(t *testing.T) {
	root := NewRoot(BuildInfo{Version: "test"}, nil)
	var usage []string
	for _, name := range []string{"lint", "scan"} {
		c, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		usage = append(usage, c.Flags().Lookup("fail-on").Usage)
	}
	if usage[0] != usage[1] || !strings.Contains(usage[0], "default "+defaultFailOn) {
		t.Errorf("--fail-on help differs:\nlint: %s\nscan: %s", usage[0], usage[1])
	}
}

// hull --version and hull version print the same, and reports carry that
// version.
func TestVersionAgreesEverywhere(t *testing.T) {
	a, _, _ := hull(t, "--version")
	b, _, _ := hull(t, "version")
	if a != b || !strings.HasPrefix(a, "hull test\n") {
		t.Errorf("--version %q, version %q", a, b)
	}
	ref := archive(t)
	out, _, _ := hull(t, "lint", ref, "-f", "json")
	var rep struct{ Version string }
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Version != "test" {
		t.Errorf("json report version %q (%v)", rep.Version, err)
	}
	out, _, _ = hull(t, "lint", ref, "-f", "sarif")
	var sarif struct {
		Runs []struct {
			Tool struct{ Driver struct{ Version string } }
		}
	}
	if err := json.Unmarshal([]byte(out), &sarif); err != nil || len(sarif.Runs) != 1 || sarif.Runs[0].Tool.Driver.Version != "test" {
		t.Errorf("sarif tool version: %+v (%v)", sarif, err)
	}
}

// Without -ldflags, the version comes from what Go recorded: the module
// version of 'go install', else the commit; never an empty string.
func TestVersionFromBuildInfo(t *testing.T) {
	rev := []debug.BuildSetting{{Key: "vcs.revision", Value: "c2ee605a1b2c3d4e5f60718293a4b5c6d7e8f901"}, {Key: "vcs.modified", Value: "true"}}
	for _, tc := range []struct {
		bi   BuildInfo
		info *debug.BuildInfo
		want BuildInfo
	}{
		{BuildInfo{Version: "1.4.0", Commit: "abc"}, &debug.BuildInfo{Main: debug.Module{Version: "v9"}}, BuildInfo{"1.4.0", "abc"}},
		{BuildInfo{Version: "dev"}, &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261207203452-c2ee605a1b2c"}, Settings: rev},
			BuildInfo{"v0.0.0-20261207203452-c2ee605a1b2c", "c2ee605a1b2c3d4e5f60718293a4b5c6d7e8f901"}},
		{BuildInfo{Version: "dev"}, &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: rev},
			BuildInfo{"dev-c2ee605a1b2c-dirty", "c2ee605a1b2c3d4e5f60718293a4b5c6d7e8f901"}},
		{BuildInfo{}, nil, BuildInfo{"dev", ""}},
	} {
		if got := tc.bi.from(tc.info); got != tc.want {
			t.Errorf("%+v from %+v = %+v, want %+v", tc.bi, tc.info, got, tc.want)
		}
	}
}

// The root help names every verb.
func TestRootHelpListsEveryVerb(t *testing.T) {
	root := NewRoot(BuildInfo{Version: "test"}, nil)
	help, _, _ := hull(t, "--help")
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if !strings.Contains(root.Long, "  "+c.Name()+" ") || !strings.Contains(help, c.Name()) {
			t.Errorf("the root help does not describe %s", c.Name())
		}
	}
}
