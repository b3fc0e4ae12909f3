package workload

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
)

func manifestRule(t *testing.T, id string) Rule {
	t.Helper()
	for _, r := range manifestRules() {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no rule %s", id)
	return Rule{}
}

// TestManifestRulesOnCorpus judges the corpus: per workload and rule,
// the state and the place the finding points at ("" = passes).
func TestManifestRulesOnCorpus(t *testing.T) {
	const web = "spec.template.spec"
	want := map[string]map[string]string{
		"Deployment shop/web container app": {
			"workload-resource-limits": "", "workload-privilege-escalation": "", "workload-run-as-non-root": "",
			"workload-service-account-token": "", "workload-host-port": "", "workload-image-latest": "", "workload-image-digest": "",
		},
		"Deployment shop/web initContainer migrate": {
			"workload-resource-limits":      "fail@" + web + ".initContainers[0]:28",
			"workload-privilege-escalation": "fail@" + web + ".initContainers[0]:28",
			// runAsNonRoot true from the pod, user 0 from the container.
			"workload-run-as-non-root":       "fail@" + web + ".initContainers[0].securityContext.runAsUser:31",
			"workload-service-account-token": "",
			"workload-image-latest":          "fail@" + web + ".initContainers[0].image:29",
			"workload-image-digest":          "warn@" + web + ".initContainers[0].image:29",
		},
		"StatefulSet shop/db container postgres": {
			// runAsUser 999 from the pod: not root, but no runAsNonRoot
			// (Pod Security's restricted profile wants it).
			"workload-run-as-non-root": "warn@" + web + ".containers[0]:30", "workload-image-latest": "",
			"workload-service-account-token": "fail@" + web + ".containers[0]:30",
			"workload-host-port":             "",
		},
		"StatefulSet shop/db container backup": {
			"workload-image-latest": "fail@" + web + ".containers[1].image:43",
			// A memory limit, no CPU: fails on the CPU limit.
			"workload-resource-limits": "fail@" + web + ".containers[1]:42",
			// User 999, runAsNonRoot written false.
			"workload-run-as-non-root": "warn@" + web + ".containers[1].securityContext.runAsNonRoot:48",
		},
		"DaemonSet monitoring/node-agent container agent": {
			"workload-host-port":            "fail@" + web + ".containers[0].ports[0]:24",
			"workload-privilege-escalation": "fail@" + web + ".containers[0]:18",
			"workload-run-as-non-root":      "fail@" + web + ".containers[0]:18",
		},
		"DaemonSet monitoring/node-agent container shipper": {
			"workload-host-port":            "fail@" + web + ".containers[1].ports[0]:44",
			"workload-privilege-escalation": "fail@" + web + ".containers[1].securityContext.capabilities.add[0]:42",
		},
		"Job etl/import container import": {
			"workload-resource-limits":      "",
			"workload-privilege-escalation": "fail@" + web + ".containers[0].securityContext.allowPrivilegeEscalation:13",
			"workload-run-as-non-root":      "warn@" + web + ".containers[0]:10",
			"workload-image-latest":         "fail@" + web + ".containers[0].image:12",
		},
		"Pod debug container app": {
			"workload-host-port": "fail@spec.containers[0].ports[0]:13",
		},
		"ReplicaSet ci/builder container builder": {
			// Its ServiceAccount says false.
			"workload-service-account-token": "",
		},
		"Deployment release-shop container shop": {
			"workload-resource-limits": "",
			"workload-image-digest":    "warn@" + web + ".containers[0].image:32",
		},
	}
	seen := map[string]bool{}
	for _, file := range []string{"web-deployment.yaml", "db-statefulset.yaml", "node-agent-daemonset.yaml", "job.json", "debug-pod.yaml", "stream.yaml", "helm.yaml"} {
		for _, w := range readCorpus(t, file) {
			rules, ok := want[w.Name]
			if !ok {
				continue
			}
			seen[w.Name] = true
			for id, exp := range rules {
				v := manifestRule(t, id).Judge(&Env{}, &w)
				got := ""
				if v.State != "" {
					p := w.Source.Where(v.Setting)
					got = fmt.Sprintf("%s@%s:%d", v.State, p.Path, p.Line)
					if v.Evidence == "" {
						t.Errorf("%s %s: %s without evidence", w.Name, id, v.State)
					}
				}
				if got != exp {
					t.Errorf("%s %s: %q (%s), want %q", w.Name, id, got, v.Evidence, exp)
				}
			}
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("no workload %s in the corpus", name)
		}
	}
}

// TestManifestRulesCases covers what the corpus does not: other
// formats' workloads and each branch of the judgements.
func TestManifestRulesCases(t *testing.T) {
	yes, no := true, false
	cases := []struct {
		rule  string
		w     Workload
		state finding.State
		evid  string
	}{
		{"workload-resource-limits", Workload{}, finding.StateFail, "no memory limit, CPU limit, memory request, CPU request"},
		{"workload-resource-limits", Workload{Resources: Resources{Memory: 1, CPUQuota: 50000}}, "", ""},
		{"workload-resource-limits", Workload{Resources: Resources{MemoryRequest: 1, CPURequest: 1}}, finding.StateFail, "no memory limit, CPU limit"},
		{"workload-privilege-escalation", Workload{NoNewPrivileges: &yes}, "", ""},
		{"workload-privilege-escalation", Workload{}, finding.StateFail, "does not set allowPrivilegeEscalation: false"},
		{"workload-privilege-escalation", Workload{NoNewPrivileges: &no, Privileged: true}, finding.StateFail, "privileged"},
		{"workload-run-as-non-root", Workload{User: "1000:1000"}, "", ""},
		{"workload-run-as-non-root", Workload{User: "1000:1000", Source: Source{Kind: "Pod"}}, finding.StateWarn, "runAsNonRoot is not true"},
		{"workload-run-as-non-root", Workload{User: "1000", RunAsNonRoot: &yes, Source: Source{Kind: "Pod"}}, "", ""},
		{"workload-run-as-non-root", Workload{User: "0"}, finding.StateFail, "runs as user 0"},
		{"workload-run-as-non-root", Workload{User: "app"}, finding.StateWarn, `user "app" is a name`},
		{"workload-run-as-non-root", Workload{RunAsNonRoot: &yes}, "", ""},
		{"workload-run-as-non-root", Workload{RunAsNonRoot: &no}, finding.StateFail, "runAsNonRoot is false"},
		{"workload-run-as-non-root", Workload{}, finding.StateFail, "neither runAsNonRoot nor a non-root user"},
		{"workload-service-account-token", Workload{}, "", ""}, // a format without tokens
		{"workload-service-account-token", Workload{ServiceAccountToken: &yes}, finding.StateFail, "token is mounted"},
		// Compose publishes every port on the host; the container rules
		// list those.
		{"workload-host-port", Workload{Source: Source{Kind: "compose service"}, Ports: []Port{{HostPort: "8080", ContainerPort: "80", Protocol: "tcp"}}}, "", ""},
		{"workload-host-port", Workload{Source: Source{Kind: "Pod"}, Ports: []Port{{HostPort: "0"}}}, "", ""},
		{"workload-image-latest", Workload{Image: "reg.example:5000/app"}, finding.StateFail, "no tag"},
		{"workload-image-latest", Workload{Image: "reg.example:5000/app:latest"}, finding.StateFail, "app:latest"},
		{"workload-image-latest", Workload{Image: "app@sha256:0123"}, "", ""},
		{"workload-image-latest", Workload{}, "", ""}, // a Compose service built locally
		{"workload-image-digest", Workload{Image: "reg.example:5000/app:1@sha256:0123"}, "", ""},
		{"workload-image-digest", Workload{Image: "reg.example:5000/app:1"}, finding.StateWarn, "not pinned by digest"},
	}
	for i, tc := range cases {
		v := manifestRule(t, tc.rule).Judge(&Env{}, &tc.w)
		if v.State != tc.state || !strings.Contains(v.Evidence, tc.evid) {
			t.Errorf("%d %s: %s %q, want %s %q", i, tc.rule, v.State, v.Evidence, tc.state, tc.evid)
		}
	}
}

// TestManifestRulesShape: stable IDs, each rule documented, at the file
// stage, with a remediation naming the Kubernetes field and the Compose
// key where Compose has one.
func TestManifestRulesShape(t *testing.T) {
	ids := map[string]bool{}
	for _, r := range manifestRules() {
		if !strings.HasPrefix(r.ID, "workload-") || ids[r.ID] || r.Title == "" || r.Doc == "" || r.Remediation == "" || r.Judge == nil || r.Stages&StageFile == 0 || r.Stages&StageRunning != 0 {
			t.Errorf("rule %+v", r.Rule)
		}
		ids[r.ID] = true
	}
	if len(ids) != 7 {
		t.Errorf("%d rules, want 7", len(ids))
	}
}
