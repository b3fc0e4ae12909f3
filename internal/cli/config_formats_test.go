package cli

// Tests of hull config on Kubernetes and Compose inputs: they need the
// Kubernetes and Compose converters (workload.ParseKubernetes,
// workload.ParseCompose) and the container rules, which land beside
// this verb.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/testenv"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// helmStream is what `helm template` writes: comment-only documents, a
// Service, then a Deployment with a privileged container.
const helmStream = `---
# Source: web/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  ports:
    - port: 80
---
# Source: web/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: registry.example.com/shop/web:1.4
          securityContext:
            privileged: true
`

// lineOf is the 1-based line of the first line of text holding s.
func lineOf(text, s string) int {
	i := strings.Index(text, s)
	if i < 0 {
		return 0
	}
	return strings.Count(text[:i], "\n") + 1
}

func privilegedFindings(rep []finding.Finding) []finding.Finding {
	var out []finding.Finding
	for _, f := range rep {
		if f.ID == "container-privileged" {
			out = append(out, f)
		}
	}
	return out
}

func TestConfigKubernetesStreamFromStdin(t *testing.T) {
	out, stderr, code := hullIn(t, helmStream, "config", "-", "--format", "json", "--fail-on", "critical")
	if code != ExitFail {
		t.Fatalf("a privileged Deployment: exit %d, want 1\n%s%s", code, out, stderr)
	}
	rep := configReport(t, out)
	priv := privilegedFindings(rep.Findings)
	if len(priv) != 1 {
		t.Fatalf("%d privileged findings, want 1: %+v", len(priv), rep.Findings)
	}
	f := priv[0]
	want := lineOf(helmStream, "privileged: true")
	if f.Location.File != "-" || f.Location.Line != want || !strings.HasSuffix(f.Location.Field, "securityContext.privileged") {
		t.Errorf("placed at %+v, want - line %d ...securityContext.privileged", f.Location, want)
	}
	if !strings.Contains(f.Target, "Deployment shop/web") || !strings.Contains(f.Target, "app") {
		t.Errorf("target %q", f.Target)
	}

	// SARIF places it on its line for code scanning.
	out, _, _ = hullIn(t, helmStream, "config", "-", "--format", "sarif")
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation struct {
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range log.Runs[0].Results {
		if r.RuleID == "container-privileged" && r.Locations[0].PhysicalLocation.Region.StartLine == want {
			found = true
		}
	}
	if !found {
		t.Errorf("no SARIF result of container-privileged on line %d:\n%s", want, out)
	}
}

func TestConfigWorkloadExceptions(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(manifest, []byte(helmStream), 0o600); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "hull.yaml")
	doc := "apiVersion: hull.dev/v1\nworkload:\n  exceptions:\n    - rule: container-privileged\n      workloads: [\"Deployment shop/web*\"]\n      reason: the web tier loads a kernel module\n"
	if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := hull(t, "config", "--policy", pol, "--fail-on", "critical", "--format", "json", manifest)
	rep := configReport(t, out)
	if code != ExitPass || len(privilegedFindings(rep.Findings)) != 0 {
		t.Errorf("excepted: exit %d, findings %+v\n%s", code, rep.Findings, stderr)
	}
	if !strings.Contains(strings.Join(rep.Suppressed, "\n"), "the web tier loads a kernel module") {
		t.Errorf("the exception is not in the report: %q", rep.Suppressed)
	}
	// The same exception for another namespace does not apply.
	other := strings.Replace(doc, "shop/web*", "other/web*", 1)
	if err := os.WriteFile(pol, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, code := hull(t, "config", "--policy", pol, "--fail-on", "critical", manifest); code != ExitFail {
		t.Errorf("an exception for another workload applied: exit %d", code)
	}
}

func TestConfigComposeAndDirectories(t *testing.T) {
	dir := t.TempDir()
	compose := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(compose, []byte("services:\n  web:\n    image: nginx:1.27\n    privileged: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k8s := filepath.Join(dir, "k8s")
	list := `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": "debug", "namespace": "ops"},
  "spec": {"hostPID": true, "containers": [{"name": "sh", "image": "busybox:1.36"}]}}]}`
	for path, data := range map[string]string{
		filepath.Join(k8s, "list.json"):            list,
		filepath.Join(k8s, "apps", "web.yml"):      helmStream,
		filepath.Join(k8s, "chart", "values.yaml"): "replicaCount: 1\n",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, code := hull(t, "config", "--format", "json", "--fail-on", "critical", compose, k8s)
	if code != ExitFail {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, stderr)
	}
	rep := configReport(t, out)
	files := map[string]bool{}
	for _, f := range privilegedFindings(rep.Findings) {
		files[f.Location.File] = true
		if f.Location.File == compose && (!strings.Contains(f.Target, "service web") || f.Location.Line != 4) {
			t.Errorf("compose finding %+v", f)
		}
	}
	if !files[compose] || !files[filepath.Join(k8s, "apps", "web.yml")] {
		t.Errorf("privileged findings in %v, want the Compose file and web.yml", files)
	}
	hostPID := false
	for _, f := range rep.Findings {
		hostPID = hostPID || (f.ID == "container-host-pid" && f.Location.File == filepath.Join(k8s, "list.json"))
	}
	if !hostPID {
		t.Errorf("no host PID finding in the List: %+v", rep.Findings)
	}
	if !strings.Contains(strings.Join(rep.Suppressed, "\n"), "values.yaml") {
		t.Errorf("values.yaml not listed as skipped: %q", rep.Suppressed)
	}
}

func TestConfigImagesFromManifests(t *testing.T) {
	reg := testenv.Registry(t)
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	ref := reg + "/shop/web:1.4"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("id", "web", 0o644)))); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(manifest, []byte(strings.Replace(helmStream, "registry.example.com/shop/web:1.4", ref, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "hull.yaml")
	if err := os.WriteFile(pol, []byte("apiVersion: hull.dev/v1\ntrust:\n  default: reject\nworkload:\n  ignore:\n    - id: container-privileged\n      reason: judged elsewhere\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := hull(t, "config", "--images", "--policy", pol, "--fail-on", "critical", "--format", "json", manifest)
	rep := configReport(t, out)
	if code != ExitFail || len(rep.Verdicts) != 1 || rep.Verdicts[0].Accepted || rep.Verdicts[0].Target != ref {
		t.Errorf("an unsigned image under default reject: exit %d, verdicts %+v\n%s", code, rep.Verdicts, stderr)
	}
}

// compose-go's warnings reach the user as hull's plain lines on stderr,
// not as logrus records, and never on stdout.
func TestConfigComposeWarningsArePlain(t *testing.T) {
	dir := t.TempDir()
	compose := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(compose, []byte("services:\n  web:\n    image: nginx:${HULL_TEST_UNSET_TAG}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, _ := hull(t, "config", "--format", "json", compose)
	const want = `hull config: warning: The "HULL_TEST_UNSET_TAG" variable is not set. Defaulting to a blank string.`
	if !strings.Contains(stderr, want) || strings.Contains(stderr, "level=") || strings.Contains(out, "HULL_TEST_UNSET_TAG") {
		t.Errorf("stderr %q, want the line %q\nstdout %s", stderr, want, out)
	}
}
