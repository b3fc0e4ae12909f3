package workload

import (
	"errors"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
)

// testRules are rules over the model for the tests of Judge: one per
// stage shape, one that warns, one that panics.
func testRules() []Rule {
	return []Rule{
		{Rule: finding.Rule{ID: "t-privileged", Title: "Not privileged", Severity: finding.SeverityCritical}, Stages: StageFile | StageRequest | StageRunning,
			Judge: func(_ *Env, w *Workload) Verdict {
				if w.Privileged {
					return Verdict{State: finding.StateFail, Evidence: "runs privileged", Setting: SetPrivileged}
				}
				return Verdict{}
			}},
		{Rule: finding.Rule{ID: "t-running-only", Title: "Observed", Severity: finding.SeverityHigh}, Stages: StageRunning,
			Judge: func(*Env, *Workload) Verdict { return Verdict{State: finding.StateFail, Evidence: "always"} }},
		{Rule: finding.Rule{ID: "t-healthcheck", Title: "Health check", Severity: finding.SeverityLow}, Stages: StageFile,
			Judge: func(_ *Env, w *Workload) Verdict {
				if w.Healthcheck == nil || !*w.Healthcheck {
					return Verdict{State: finding.StateWarn, Evidence: "no health check", Setting: SetHealthcheck}
				}
				return Verdict{}
			}},
		{Rule: finding.Rule{ID: "t-panics", Title: "Broken", Severity: finding.SeverityHigh}, Stages: StageFile,
			Judge: func(_ *Env, w *Workload) Verdict {
				if w.Name == "boom" {
					panic("a bug in a rule")
				}
				return Verdict{}
			}},
	}
}

func fileWorkloads() []Workload {
	return []Workload{
		{Name: "Deployment shop/web container app", Stage: StageFile, Privileged: true,
			Source: Source{File: "k8s/web.yaml", Document: 2, Path: "spec.template.spec.containers[0]", Line: 20,
				Fields: map[string]Place{SetPrivileged: {Path: "spec.template.spec.containers[0].securityContext.privileged", Line: 31}}}},
		{Name: "DaemonSet kube-system/node-agent container agent", Stage: StageFile, Privileged: true,
			Source: Source{File: "k8s/agent.yaml", Path: "spec.template.spec.containers[0]", Line: 9}},
	}
}

func TestJudgePlacesFindingsAndKeepsStagesApart(t *testing.T) {
	j, err := Judge(fileWorkloads(), JudgeOptions{Stage: StageFile, Rules: testRules()})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range j.Rules {
		if r.ID == "t-running-only" {
			t.Error("a rule about running containers ran on a file")
		}
	}
	var priv []finding.Finding
	for _, f := range j.Findings {
		if f.ID == "t-running-only" {
			t.Errorf("finding of a running-only rule on a file: %+v", f)
		}
		if f.ID == "t-privileged" {
			priv = append(priv, f)
		}
	}
	if len(priv) != 2 {
		t.Fatalf("%d privileged findings, want 2: %+v", len(priv), j.Findings)
	}
	want := finding.Location{LayerIndex: -1, File: "k8s/web.yaml", Document: 2, Field: "spec.template.spec.containers[0].securityContext.privileged", Line: 31}
	if priv[0].Location != want || priv[0].Target != "Deployment shop/web container app" {
		t.Errorf("first finding at %+v on %q, want %+v", priv[0].Location, priv[0].Target, want)
	}
	// A setting the converter did not place falls back to the container.
	if l := priv[1].Location; l.Field != "spec.template.spec.containers[0]" || l.Line != 9 {
		t.Errorf("second finding at %+v, want the container's place", l)
	}
	if !j.Failed(finding.SeverityHigh) {
		t.Error("a critical failure does not fail at high")
	}
	if got := status(j, "t-healthcheck"); got.State != finding.StateWarn {
		t.Errorf("healthcheck status %+v, want warn", got)
	}
	// Warnings alone never fail a run.
	warnOnly, _ := Judge([]Workload{{Name: "x", Stage: StageFile}}, JudgeOptions{Stage: StageFile, Rules: testRules()})
	if len(warnOnly.Findings) != 1 || warnOnly.Failed(finding.SeverityUnknown) {
		t.Errorf("a warning failed the run or went missing: %+v", warnOnly.Findings)
	}
	running, _ := Judge([]Workload{{Name: "c"}}, JudgeOptions{Stage: StageRunning, Rules: testRules()})
	if got := status(running, "t-running-only"); got.State != finding.StateFail {
		t.Errorf("running-only rule at the running stage: %+v", got)
	}
	if got := status(running, "t-healthcheck"); got.ID != "" {
		t.Errorf("a file-only rule has a status at the running stage: %+v", got)
	}
}

func status(j *Judgement, id string) finding.CheckStatus {
	for _, c := range j.Checks {
		if c.ID == id {
			return c
		}
	}
	return finding.CheckStatus{}
}

func TestJudgeTurnsAPanicIntoThatRulesError(t *testing.T) {
	ws := append(fileWorkloads(), Workload{Name: "boom", Stage: StageFile, Privileged: true})
	j, err := Judge(ws, JudgeOptions{Stage: StageFile, Rules: testRules()})
	if err != nil {
		t.Fatal(err)
	}
	st := status(j, "t-panics")
	if st.State != finding.StateError || !strings.Contains(st.Reason, "boom") || !strings.Contains(st.Reason, "t-panics failed") {
		t.Errorf("status of the panicking rule: %+v", st)
	}
	if got := status(j, "t-privileged"); got.State != finding.StateFail {
		t.Errorf("the other rules stopped: %+v", got)
	}
	if n := len(j.Findings); n < 3 {
		t.Errorf("%d findings: the boom workload's other findings are lost", n)
	}
}

func TestJudgeRefusesABadVerdictState(t *testing.T) {
	rules := []Rule{{Rule: finding.Rule{ID: "t-odd"}, Stages: StageFile,
		Judge: func(*Env, *Workload) Verdict { return Verdict{State: finding.StatePass} }}}
	j, err := Judge([]Workload{{Name: "w"}}, JudgeOptions{Stage: StageFile, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	if st := status(j, "t-odd"); st.State != finding.StateError {
		t.Errorf("a verdict of state pass was taken: %+v", st)
	}
}

// nameGlob excepts one rule for workloads whose name has a prefix.
type nameGlob struct{ rule, prefix, why string }

func (e nameGlob) Except(rule, name, file string) string {
	if rule == e.rule && strings.HasPrefix(name, e.prefix) {
		return e.why
	}
	return ""
}

func TestJudgeIgnoresAndExcepts(t *testing.T) {
	o := JudgeOptions{Stage: StageFile, Rules: testRules(),
		Ignore: map[string]string{"t-healthcheck": "hull.yaml: probes live in the chart"},
		Except: nameGlob{"t-privileged", "DaemonSet kube-system/node-agent", "the agent loads eBPF"}}
	j, err := Judge(fileWorkloads(), o)
	if err != nil {
		t.Fatal(err)
	}
	if st := status(j, "t-healthcheck"); st.State != finding.StateSkip || !strings.Contains(st.Reason, "probes live in the chart") {
		t.Errorf("ignored rule: %+v", st)
	}
	for _, f := range j.Findings {
		if f.ID == "t-healthcheck" || strings.HasPrefix(f.Target, "DaemonSet") {
			t.Errorf("ignored or excepted finding reported: %+v", f)
		}
	}
	if len(j.Excepted) != 1 || !strings.Contains(j.Excepted[0], "the agent loads eBPF") || !strings.Contains(j.Excepted[0], "node-agent") {
		t.Errorf("excepted = %q", j.Excepted)
	}
	if st := status(j, "t-privileged"); st.State != finding.StateFail || !strings.Contains(st.Reason, "1 excepted") {
		t.Errorf("privileged status %+v", st)
	}

	_, err = Judge(nil, JudgeOptions{Stage: StageFile, Rules: testRules(), Ignore: map[string]string{"t-privilegd": ""}})
	if !errors.Is(err, ErrUnknownRule) || !strings.Contains(err.Error(), "t-privileged, t-running-only") {
		t.Errorf("unknown ignored ID: %v", err)
	}
}

// A setting written in a file an extends pulled in is placed there, not
// in the file that names the service.
func TestJudgePlacesASettingInTheExtendedFile(t *testing.T) {
	w := Workload{Name: "compose.yaml service api", Stage: StageFile, Privileged: true,
		Source: Source{File: "compose.yaml", Path: "services.api", Line: 3,
			Fields: map[string]Place{SetPrivileged: {File: "lib/base.yaml", Path: "services.base.privileged", Line: 7}}}}
	j, err := Judge([]Workload{w}, JudgeOptions{Stage: StageFile, Rules: testRules()[:1]})
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Findings) != 1 {
		t.Fatalf("findings %+v, want one", j.Findings)
	}
	if l := j.Findings[0].Location; l.File != "lib/base.yaml" || l.Line != 7 || l.Field != "services.base.privileged" {
		t.Errorf("placed at %+v, want lib/base.yaml:7 services.base.privileged", l)
	}
}

// A verdict about a setting the format leaves to someone else is no
// finding of the file; the rule's status says who decides, and is
// skipped, not passed, when no workload could be judged.
func TestJudgeLeavesOutsideSettingsToWhoSetsThem(t *testing.T) {
	outside := map[string]string{SetPrivileged: "the test's node"}
	ws := []Workload{{Name: "a", Stage: StageFile, Privileged: true, Source: Source{File: "a.yaml", Outside: outside}}}
	j, err := Judge(ws, JudgeOptions{Stage: StageFile, Rules: testRules()[:1]})
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Findings) != 0 || j.Checks[0].State != finding.StateSkip || !strings.Contains(j.Checks[0].Reason, "the test's node") {
		t.Errorf("findings %+v, status %+v: want none, skipped naming who decides", j.Findings, j.Checks[0])
	}
	ws = append(ws, Workload{Name: "b", Stage: StageFile, Privileged: true, Source: Source{File: "b.yaml"}})
	if j, err = Judge(ws, JudgeOptions{Stage: StageFile, Rules: testRules()[:1]}); err != nil {
		t.Fatal(err)
	}
	if len(j.Findings) != 1 || j.Findings[0].Target != "b" || j.Checks[0].State != finding.StateFail {
		t.Errorf("findings %+v, status %+v: want b's alone, failed", j.Findings, j.Checks[0])
	}
}
