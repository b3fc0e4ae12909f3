//go:build unix

package testenv

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestKubeAPIServerDryRun: a pod sent with dryRun=All comes back
// defaulted (imagePullPolicy, the token volume the ServiceAccount
// admission adds) with the server's warnings, and is not stored; without
// its namespace's default ServiceAccount a pod is refused.
func TestKubeAPIServerDryRun(t *testing.T) {
	k := KubeAPIServer(t)
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"seccomp.security.alpha.kubernetes.io/pod":"runtime/default"}},` +
		`"spec":{"containers":[{"name":"app","image":"example/app:1"}]}}`
	a, err := k.Do(http.MethodPost, "/api/v1/namespaces/default/pods?dryRun=All", []byte(pod))
	if err != nil || a.Code != http.StatusForbidden || !strings.Contains(string(a.Body), `serviceaccount \"default\" not found`) {
		t.Fatalf("pod before the default ServiceAccount: %d %v %s", a.Code, err, a.Body)
	}
	k.CreateNamespace(t, "hull")
	a, err = k.Do(http.MethodPost, "/api/v1/namespaces/hull/pods?dryRun=All", []byte(pod))
	if err != nil || a.Code != http.StatusCreated {
		t.Fatalf("dry-run pod: %d %v %s", a.Code, err, a.Body)
	}
	var got struct {
		Spec struct {
			Containers []struct{ ImagePullPolicy string }
			Volumes    []struct{ Name string }
		}
	}
	if err := json.Unmarshal(a.Body, &got); err != nil || len(got.Spec.Containers) != 1 {
		t.Fatalf("answer: %v %s", err, a.Body)
	}
	if p := got.Spec.Containers[0].ImagePullPolicy; p != "IfNotPresent" {
		t.Errorf("imagePullPolicy %q, want the default IfNotPresent", p)
	}
	if len(got.Spec.Volumes) != 1 || !strings.HasPrefix(got.Spec.Volumes[0].Name, "kube-api-access-") {
		t.Errorf("volumes %+v, want the ServiceAccount token's", got.Spec.Volumes)
	}
	if w := strings.Join(a.Warnings, "\n"); !strings.Contains(w, "metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+") {
		t.Errorf("warnings %q, want the seccomp annotation's", a.Warnings)
	}
	if a, err := k.Do(http.MethodGet, "/api/v1/namespaces/hull/pods/p", nil); err != nil || a.Code != http.StatusNotFound {
		t.Errorf("GET the dry-run pod: %d %v, want 404 (nothing stored)", a.Code, err)
	}
}
