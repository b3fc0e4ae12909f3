package workload

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
)

// Exceptions say which findings a policy excepts (policy.Workload
// implements it from hull.yaml's workload section).
type Exceptions interface {
	// Except returns why the rule is excepted for the workload named
	// name, read from file ("" for a workload from an engine), or ""
	// when it is not.
	Except(rule, name, file string) string
}

// JudgeOptions say which rules run and what is excepted.
type JudgeOptions struct {
	// Stage is what the workloads were read from; a rule runs only when
	// its Stages name it.
	Stage Stage
	// Rules are the rules to run; nil runs Rules().
	Rules []Rule
	// Env is the host the workloads run on; nil is the zero Env.
	Env *Env
	// Ignore maps the IDs of rules not to run to why (a policy's reason),
	// which the skipped rule's status repeats. An ID that names no rule
	// is an error: a typo must not pass for an ignore.
	Ignore map[string]string
	// Except excepts single findings; nil excepts none. An excepted
	// finding is listed in Judgement.Excepted, never dropped silently.
	Except Exceptions
}

// Judgement is what the rules found in a set of workloads.
type Judgement struct {
	// Rules are the rules that applied at the stage.
	Rules []finding.Rule
	// Checks hold one status per rule: fail or warn when it found
	// something, error when it broke on a workload (which one, the reason
	// says), skipped when ignored.
	Checks []finding.CheckStatus
	// Findings are what the rules found, excepted ones left out.
	Findings []finding.Finding
	// Excepted names each finding an exception took out, and why.
	Excepted []string
	// warn marks the findings of warn verdicts, which do not fail a run.
	warn []bool
}

// Failed reports whether a finding of a failing (not warning) verdict
// has at least severity min.
func (j *Judgement) Failed(min finding.Severity) bool {
	for i, f := range j.Findings {
		if !j.warn[i] && f.Severity >= min {
			return true
		}
	}
	return false
}

// Judge runs the rules that apply at o.Stage over every workload. A rule
// that panics is an error of that rule (the others still run), as is a
// verdict that is neither a failure nor a warning.
func Judge(ws []Workload, o JudgeOptions) (*Judgement, error) {
	rules := o.Rules
	if rules == nil {
		rules = Rules()
	}
	ids := make([]string, 0, len(o.Ignore))
	for id := range o.Ignore {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if err := knownIDs(rules, ids); err != nil {
		return nil, err
	}
	env := o.Env
	if env == nil {
		env = &Env{}
	}
	j := &Judgement{}
	for _, r := range rules {
		if r.Stages&o.Stage == 0 {
			continue
		}
		j.Rules = append(j.Rules, r.Rule)
		if why, ok := o.Ignore[r.ID]; ok {
			reason := "ignored"
			if why != "" {
				reason += " (" + why + ")"
			}
			j.Checks = append(j.Checks, finding.CheckStatus{ID: r.ID, State: finding.StateSkip, Reason: reason})
			continue
		}
		j.Checks = append(j.Checks, j.run(r, env, ws, o.Except))
	}
	return j, nil
}

// run judges every workload by one rule and returns the rule's status.
func (j *Judgement) run(r Rule, env *Env, ws []Workload, except Exceptions) finding.CheckStatus {
	st := finding.CheckStatus{ID: r.ID, State: finding.StatePass}
	var broken, outside []string
	excepted, judged := 0, 0
	for i := range ws {
		w := &ws[i]
		v, err := guard(r, env, w)
		if err != nil {
			broken = append(broken, fmt.Sprintf("%s: %v", w.Name, err))
			continue
		}
		if who, ok := w.Source.Outside[v.Setting]; ok && v.State != "" {
			if !slices.Contains(outside, who) {
				outside = append(outside, who)
			}
			continue
		}
		judged++
		if v.State == "" {
			continue
		}
		if why := exceptedBy(except, r.ID, w); why != "" {
			excepted++
			j.Excepted = append(j.Excepted, fmt.Sprintf("%s on %s: %s", r.ID, w.Name, why))
			continue
		}
		j.Findings = append(j.Findings, findingOf(r, w, v))
		j.warn = append(j.warn, v.State == finding.StateWarn)
		if st.State != finding.StateFail {
			st.State = v.State
		}
	}
	var notes []string
	if len(outside) > 0 {
		notes = append(notes, "not the file's to set: "+strings.Join(outside, "; "))
		if judged == 0 && len(broken) == 0 {
			st.State = finding.StateSkip
		}
	}
	if excepted > 0 {
		notes = append(notes, fmt.Sprintf("%d excepted by the policy", excepted))
	}
	if len(broken) > 0 {
		st.State = finding.StateError
		notes = append(broken, notes...)
	}
	st.Reason = strings.Join(notes, "; ")
	return st
}

// guard runs the rule on w, turning a panic or a verdict state other than
// fail, warn or none into an error, so one broken rule is reported
// instead of taking the run down or passing silently.
func guard(r Rule, env *Env, w *Workload) (v Verdict, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("rule %s failed: %v", r.ID, p)
		}
	}()
	v = r.Judge(env, w)
	switch v.State {
	case "", finding.StateFail, finding.StateWarn:
		return v, nil
	}
	return v, fmt.Errorf("rule %s gave the verdict %q, not fail or warn", r.ID, v.State)
}

func exceptedBy(e Exceptions, rule string, w *Workload) string {
	if e == nil {
		return ""
	}
	return e.Except(rule, w.Name, w.Source.File)
}

// findingOf places a verdict: in the file, document, field path and line
// the setting was written at, or, for a workload from an engine, at the
// setting's name.
func findingOf(r Rule, w *Workload, v Verdict) finding.Finding {
	loc := finding.Location{LayerIndex: -1, File: w.Source.File, Document: w.Source.Document}
	p := w.Source.Where(v.Setting)
	loc.Field, loc.Line = p.Path, p.Line
	if p.File != "" {
		// Written in a file the workload's extends (Compose) pulled in.
		loc.File, loc.Document = p.File, 0
	}
	if loc.Field == "" {
		loc.Field = v.Setting
	}
	return finding.Finding{
		ID: r.ID, Title: r.Title, Severity: r.Severity, Target: w.Name, Location: loc,
		Evidence: v.Evidence, Remediation: r.Remediation, References: r.References,
	}
}

// ErrUnknownRule is wrapped by the error for a rule ID that names no rule.
var ErrUnknownRule = errors.New("unknown workload rule")

// CheckIDs refuses an ID that names no rule (a policy's ignore or
// exception), naming the rules there are.
func CheckIDs(ids []string) error { return knownIDs(Rules(), ids) }

func knownIDs(rules []Rule, ids []string) error {
	for _, id := range ids {
		if !slices.ContainsFunc(rules, func(r Rule) bool { return r.ID == id }) {
			known := make([]string, len(rules))
			for i, r := range rules {
				known[i] = r.ID
			}
			if len(known) == 0 {
				return fmt.Errorf("%w %q: there are no workload rules", ErrUnknownRule, id)
			}
			return fmt.Errorf("%w %q (the rules are %s)", ErrUnknownRule, id, strings.Join(known, ", "))
		}
	}
	return nil
}
