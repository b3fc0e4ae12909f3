package policy

import (
	"slices"
	"strings"
	"testing"
)

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		want   bool
	}{
		{"DaemonSet kube-system/node-agent*", "DaemonSet kube-system/node-agent container agent", true},
		{"DaemonSet kube-system/node-agent*", "DaemonSet default/node-agent container agent", false},
		{"*/web *", "Deployment shop/web container app", true},
		{"deploy/*", "deploy/ingress/controller.yaml", true},
		{"*.yaml", "k8s/web.yml", false},
		{"compose.yaml service ?eb", "compose.yaml service web", true},
		{"compose.yaml service ?eb", "compose.yaml service wweb", false},
		{"", "", true},
		{"", "x", false},
		{"*", "", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"[abc]", "a", false}, // nothing but * and ? is special
		{"[abc]", "[abc]", true},
		{"ünï*", "ünïcode", true},
	} {
		if got := Glob(tc.pat, tc.s); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tc.pat, tc.s, got, tc.want)
		}
	}
	// A pattern of many stars against a long near-miss stays fast.
	if Glob(strings.Repeat("*a", 200)+"b", strings.Repeat("a", 5000)) {
		t.Error("near-miss matched")
	}
}

func TestWorkloadExceptions(t *testing.T) {
	p, err := Load(strings.NewReader(fullPolicy))
	if err != nil {
		t.Fatal(err)
	}
	w := p.WorkloadSection()
	for _, tc := range []struct {
		rule, name, file, want string
	}{
		{"container-privileged", "DaemonSet kube-system/node-agent container agent", "k8s/agent.yaml", "the agent loads eBPF programs"},
		{"container-privileged", "DaemonSet kube-system/other container agent", "k8s/agent.yaml", ""},
		{"container-host-network", "DaemonSet kube-system/node-agent container agent", "k8s/agent.yaml", ""},
		// Both lists given: the workload must match one pattern of each.
		{"container-host-network", "Deployment ingress/ingress-nginx container controller", "deploy/ingress/nginx.yaml", "the ingress controller binds the node's ports"},
		{"container-host-network", "Deployment ingress/ingress-nginx container controller", "deploy/web.yaml", ""},
		{"container-host-network", "Deployment shop/web container app", "deploy/ingress/nginx.yaml", ""},
	} {
		if got := w.Except(tc.rule, tc.name, tc.file); got != tc.want {
			t.Errorf("Except(%q, %q, %q) = %q, want %q", tc.rule, tc.name, tc.file, got, tc.want)
		}
	}
	if got := w.RuleIDs(); !slices.Equal(got, []string{"container-healthcheck", "container-privileged", "container-host-network"}) {
		t.Errorf("RuleIDs = %v", got)
	}
	var none *Policy
	if s := none.WorkloadSection(); s.Except("container-privileged", "x", "y") != "" || len(s.RuleIDs()) != 0 {
		t.Error("no policy excepts something")
	}
}

func TestWorkloadValidationSaysWhat(t *testing.T) {
	_, err := Load(strings.NewReader("apiVersion: hull.dev/v1\nworkload:\n  failOn: severe\n  exceptions:\n    - rule: container-privileged\n      reason: r\n"))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"workload.failOn", "workload.exceptions[0]: container-privileged needs workloads or files"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
