package policy

import (
	"fmt"
	"strings"
)

// Workload says how the container rules judge workloads: deployment
// files (hull config), and the gate, the launcher and admission, which
// read the same section.
type Workload struct {
	// FailOn is the least severity that fails the run ("" = the CLI default).
	FailOn string `yaml:"failOn"`
	// Ignore turns rules off entirely, each with the reason why.
	Ignore []Ignore `yaml:"ignore"`
	// Exceptions except one rule for some workloads.
	Exceptions []Exception `yaml:"exceptions"`
}

// Exception excepts one rule for the workloads it matches: by name
// ("DaemonSet kube-system/node-agent container agent", "compose.yaml
// service web") or by the file they were read from (as named on the
// command line or found below a directory named there). With both lists, a
// workload must match one pattern of each. In a pattern, * stands for
// any run of characters ("/" and spaces too) and ? for one; nothing else
// is special.
type Exception struct {
	Rule      string   `yaml:"rule"`
	Workloads []string `yaml:"workloads"`
	Files     []string `yaml:"files"`
	Reason    string   `yaml:"reason"`
}

// WorkloadSection returns the workload section; the zero one for no
// policy.
func (p *Policy) WorkloadSection() Workload {
	if p == nil {
		return Workload{}
	}
	return p.Workload
}

// RuleIDs are the rule IDs the section names, to check that each exists
// (workload.CheckIDs): a typo must not pass for an ignore or an exception.
func (w Workload) RuleIDs() []string {
	out := ids(w.Ignore)
	for _, e := range w.Exceptions {
		out = append(out, e.Rule)
	}
	return out
}

// Except returns the reason of the first exception of rule that matches
// the workload named name, read from file, or "" when none does.
func (w Workload) Except(rule, name, file string) string {
	for _, e := range w.Exceptions {
		if e.Rule == rule && matchesAny(e.Workloads, name) && matchesAny(e.Files, file) {
			return e.Reason
		}
	}
	return ""
}

// matchesAny reports whether s matches a pattern of pats; no patterns
// match everything (the exception does not narrow by that list).
func matchesAny(pats []string, s string) bool {
	if len(pats) == 0 {
		return true
	}
	for _, p := range pats {
		if Glob(p, s) {
			return true
		}
	}
	return false
}

// Glob reports whether s matches pattern, where * matches any run of
// characters and ? any one character. It runs in time proportional to
// len(pattern) * len(s) at worst, whatever the pattern.
func Glob(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	pi, ti := 0, 0
	star, mark := -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == t[ti]):
			pi++
			ti++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case star >= 0:
			// Let the last * take one more character.
			pi, mark = star+1, mark+1
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func (w Workload) validate() []string { return w.validateAt("workload") }

// validateAt checks w, a workload section or the same settings of a
// gate role, naming each error below section.
func (w Workload) validateAt(section string) []string {
	errs := validateSection(section, w.FailOn, w.Ignore)
	for i, e := range w.Exceptions {
		at := fmt.Sprintf("%s.exceptions[%d]", section, i)
		switch {
		case e.Rule == "":
			errs = append(errs, at+": rule is empty")
		case len(e.Workloads) == 0 && len(e.Files) == 0:
			errs = append(errs, fmt.Sprintf("%s: %s needs workloads or files to say which workloads it excepts", at, e.Rule))
		case strings.TrimSpace(e.Reason) == "":
			errs = append(errs, fmt.Sprintf("%s: %s needs a reason", at, e.Rule))
		}
		for _, list := range []struct {
			what string
			pats []string
		}{{"workloads", e.Workloads}, {"files", e.Files}} {
			for j, p := range list.pats {
				if strings.TrimSpace(p) == "" {
					errs = append(errs, fmt.Sprintf("%s.%s[%d] is empty", at, list.what, j))
				}
			}
		}
	}
	return errs
}
