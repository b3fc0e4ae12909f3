package workload

import (
	"strings"
	"testing"
)

// TestKubernetesSeccompAnnotationsDoNothing: since Kubernetes 1.27 the
// seccomp annotations are "non-functional" (the API server's own warning,
// which TestKubernetesDefaultsOfTheRealAPIServer checks against hull): the
// API server no longer copies them into the seccompProfile fields and the
// kubelet reads only the fields. A pod whose only seccomp setting is an
// annotation runs unconfined, whatever the annotation says.
func TestKubernetesSeccompAnnotationsDoNothing(t *testing.T) {
	for _, tc := range []struct{ name, annotations, podField, want string }{
		{"pod annotation runtime/default", `seccomp.security.alpha.kubernetes.io/pod: runtime/default`, "", "unconfined"},
		{"pod annotation docker/default", `seccomp.security.alpha.kubernetes.io/pod: docker/default`, "", "unconfined"},
		{"container annotation runtime/default", `container.seccomp.security.alpha.kubernetes.io/app: runtime/default`, "", "unconfined"},
		{"container annotation localhost", `container.seccomp.security.alpha.kubernetes.io/app: localhost/p.json`, "", "unconfined"},
		// The pod's field applies; a container annotation (which must
		// match a container field only when both are set) changes nothing.
		{"container annotation over pod field", `container.seccomp.security.alpha.kubernetes.io/app: unconfined`, "RuntimeDefault", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    " + tc.annotations + "\nspec:\n"
			if tc.podField != "" {
				doc += "  securityContext:\n    seccompProfile:\n      type: " + tc.podField + "\n"
			}
			doc += "  containers:\n  - name: app\n    image: example/app:1\n"
			ws, err := ParseKubernetes([]byte(doc), "pod.yaml")
			if err != nil || len(ws) != 1 {
				t.Fatalf("ParseKubernetes: %d workloads, %v", len(ws), err)
			}
			w := ws[0]
			if w.Seccomp != tc.want {
				t.Errorf("seccomp %q, want %q", w.Seccomp, tc.want)
			}
			if at, ok := w.Source.Fields[SetSeccomp]; ok && strings.Contains(at.Path, "annotations") {
				t.Errorf("seccomp placed at the annotation %s, which does nothing", at.Path)
			}
			v := verdictOf(t, "container-seccomp", &w)
			if fail := tc.want == "unconfined"; (v.State != "") != fail {
				t.Errorf("container-seccomp: %+v, want a finding: %v", v, fail)
			}
		})
	}
}

// verdictOf runs the rule id on w with the zero Env.
func verdictOf(t *testing.T, id string, w *Workload) Verdict {
	t.Helper()
	for _, r := range Rules() {
		if r.ID == id {
			return r.Judge(&Env{}, w)
		}
	}
	t.Fatalf("no rule %s", id)
	return Verdict{}
}
