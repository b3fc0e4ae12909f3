package workload

import (
	"slices"

	"github.com/hull-sec/hull/internal/finding"
)

// Rule judges one concern of a workload at the stages it applies to.
type Rule struct {
	finding.Rule
	// CIS names the CIS Docker Benchmark v1.6.0 recommendation the rule
	// maps to, "" when the benchmark is silent.
	CIS string
	// Stages are the stages the rule applies at (a rule about a running
	// process does not fire on a file).
	Stages Stage
	// Judge says what is wrong with w; a zero Verdict when nothing is.
	Judge func(env *Env, w *Workload) Verdict
}

// Verdict is what a rule found in one workload.
type Verdict struct {
	// State is finding.StateFail or finding.StateWarn; "" when the
	// workload passes.
	State finding.State
	// Evidence says what is wrong, in plain words.
	Evidence string
	// Setting is the setting at fault (a Set* name, or "mounts[2]" for
	// one item of a list), which Source.Where places in the document.
	Setting string
}

// Rules lists every rule, container rules (which the audit shares) first.
func Rules() []Rule {
	return slices.Concat(ContainerRules(), manifestRules(), peerRules())
}
