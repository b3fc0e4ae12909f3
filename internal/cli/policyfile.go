package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/lint"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/workload"

	"github.com/spf13/cobra"
)

// Where a verb finds its policy when --policy names none: the file
// HULL_POLICY names, else hull.yaml in the working directory.
const (
	policyEnv         = "HULL_POLICY"
	defaultPolicyFile = "hull.yaml"
)

// policyFlagHelp is the --policy help of every verb that reads a policy.
const policyFlagHelp = "the policy `FILE` (default: $" + policyEnv + ", else ./" + defaultPolicyFile + " if it exists)"

// errNoPolicy is returned when a verb needs a policy and none is found.
var errNoPolicy = errors.New("no policy file: name one with --policy FILE, set " + policyEnv + ", or put " + defaultPolicyFile + " in the working directory")

// findPolicy says which policy file to read: flag (--policy), else the
// file HULL_POLICY names, else ./hull.yaml when it exists, else "". from
// says how it was found when flag did not name it.
func findPolicy(flag string, getenv func(string) string) (path, from string, err error) {
	if flag != "" {
		return flag, "", nil
	}
	if p := getenv(policyEnv); p != "" {
		return p, "from " + policyEnv, nil
	}
	switch _, err := os.Stat(defaultPolicyFile); {
	case err == nil:
		return defaultPolicyFile, "found in the working directory", nil
	case errors.Is(err, fs.ErrNotExist):
		return "", "", nil
	default:
		return "", "", fmt.Errorf("look for the policy: %w", err)
	}
}

// loadPolicy reads the policy a verb was given or finds (findPolicy) and
// returns it with its path; a policy found without --policy is named on
// standard error, never on standard output, which may be a report. With
// no policy it returns nil and "", or errNoPolicy when required.
func loadPolicy(cmd *cobra.Command, flag string, required bool) (*policy.Policy, string, error) {
	path, from, err := findPolicy(flag, os.Getenv)
	if err != nil {
		return nil, "", err
	}
	if path == "" {
		if required {
			return nil, "", errNoPolicy
		}
		return nil, "", nil
	}
	if from != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "hull: using the policy %s (%s)\n", path, from)
	}
	p, err := policy.LoadFile(path)
	if err != nil {
		return nil, "", err
	}
	return p, path, nil
}

// checkLintIgnores refuses a policy whose lint.ignore names a check that
// does not exist, naming the file; a nil policy passes.
func checkLintIgnores(pol *policy.Policy, path string) error {
	if pol == nil {
		return nil
	}
	if err := lint.CheckIDs(pol.IgnoredIDs()); err != nil {
		return fmt.Errorf("%s: lint.ignore: %w", path, err)
	}
	return nil
}

// defaultFailOn is the least severity that fails lint and scan unless
// --fail-on or the policy says otherwise.
const defaultFailOn = "high"

// registerFailOn adds --fail-on, the same for lint and scan.
func registerFailOn(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "fail-on", "", "exit 1 when a finding has at least this `SEVERITY`: "+strings.Join(finding.SeverityNames(), ", ")+" (default "+defaultFailOn+", or the policy's failOn)")
	choices(cmd, "fail-on", finding.SeverityNames()...)
}

// failThreshold is the severity that fails a run: --fail-on, else the
// policy section's failOn, else defaultFailOn.
func failThreshold(flag, fromPolicy string) (finding.Severity, error) {
	v, what := defaultFailOn, "--fail-on"
	switch {
	case flag != "":
		v = flag
	case fromPolicy != "":
		v, what = fromPolicy, "the policy's failOn"
	}
	s, err := finding.ParseSeverity(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return s, nil
}

// workloadRules is what a verb that judges workloads takes from the
// policy's workload section: the section (its exceptions), the rules it
// ignores with their reasons, and the failing threshold (--fail-on, else
// the section's failOn); an unknown rule ID is an error naming the file.
type workloadRules struct {
	section policy.Workload
	ignore  map[string]string
	failOn  finding.Severity
}

func loadWorkloadRules(pol *policy.Policy, polPath, failOn string) (workloadRules, error) {
	sec := pol.WorkloadSection()
	if err := workload.CheckIDs(sec.RuleIDs()); err != nil {
		return workloadRules{}, fmt.Errorf("%s: workload: %w", polPath, err)
	}
	threshold, err := failThreshold(failOn, sec.FailOn)
	if err != nil {
		return workloadRules{}, err
	}
	return workloadRules{section: sec, ignore: ignoreReasons(nil, sec.Ignore, polPath), failOn: threshold}, nil
}
