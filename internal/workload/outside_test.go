package workload

import (
	"testing"

	"github.com/hull-sec/hull/internal/finding"
)

// What a pod's manifest cannot set is not its finding: no PIDs limit
// field exists, and a Deployment's pods always restart; a Job's retries
// are the manifest's, and judged. A Job's container, done when it exits,
// is not asked for a health check.
func TestKubernetesLeavesToTheKubeletWhatPodsCannotSet(t *testing.T) {
	const stream = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: "web:1"}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  backoffLimit: 10
  template:
    spec:
      restartPolicy: OnFailure
      containers: [{name: m, image: "web:1"}]
`
	ws, err := ParseKubernetes([]byte(stream), "k.yaml")
	if err != nil || len(ws) != 2 {
		t.Fatalf("%d workloads, %v", len(ws), err)
	}
	if ws[0].Healthcheck == nil || ws[1].Healthcheck != nil {
		t.Errorf("health checks %v, %v: want the Deployment's container asked, the Job's not", ws[0].Healthcheck, ws[1].Healthcheck)
	}
	j, err := Judge(ws, JudgeOptions{Stage: StageFile})
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]finding.State{}
	for _, c := range j.Checks {
		state[c.ID] = c.State
	}
	restarts := map[string]bool{}
	for _, f := range j.Findings {
		if f.ID == "container-pids-limit" {
			t.Errorf("a pod's PIDs limit judged: %+v", f)
		}
		if f.ID == "container-restart-policy" {
			restarts[f.Target] = true
		}
	}
	if state["container-pids-limit"] != finding.StateSkip {
		t.Errorf("container-pids-limit %q, want skipped", state["container-pids-limit"])
	}
	if restarts["Deployment web container app"] || !restarts["Job migrate container m"] {
		t.Errorf("restart findings on %v, want the Job's alone", restarts)
	}
}

// A file or request that joins a container it does not hold leaves the
// host-namespace rules undecided there: a warning naming the join, never
// a silent pass; a running container's unresolved join is the audit's
// (the kernel's view decides).
func TestJoinedContainerHullCannotSee(t *testing.T) {
	for _, stage := range []Stage{StageFile, StageRequest, StageRunning} {
		w := Workload{Name: "c", Stage: stage, Namespaces: Namespaces{PID: "container:elsewhere"}}
		var got Verdict
		for _, r := range ContainerRules() {
			if r.ID == "container-host-pid" {
				got = r.Judge(&Env{}, &w)
			}
		}
		want := finding.StateWarn
		if stage == StageRunning {
			want = ""
		}
		if got.State != want || (want != "" && got.Evidence != "pid=container:elsewhere: joins a container hull does not see here; judge it where it runs") {
			t.Errorf("stage %d: %+v, want state %q", stage, got, want)
		}
	}
}
