package workload

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      Format
	}{
		{"oci", `{"ociVersion": "1.0.2", "process": {}}`, FormatOCI},
		{"k8s yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n", FormatKubernetes},
		{"helm stream", "---\n# Source: web/templates/sa.yaml\n---\n# Source: web/templates/deploy.yaml\napiVersion: apps/v1\nkind: Deployment\n", FormatKubernetes},
		{"k8s json list", `{"apiVersion": "v1", "kind": "List", "items": []}`, FormatKubernetes},
		{"k8s quoted keys", "\"apiVersion\": v1\n'kind': Pod\n", FormatKubernetes},
		{"compose", "name: shop\nservices:\n  web:\n    image: nginx\n", FormatCompose},
		{"compose crlf", "services:\r\n  web:\r\n    image: nginx\r\n", FormatCompose},
		// apiVersion and kind in different documents make no manifest.
		{"split keys", "apiVersion: v1\n---\nkind: Pod\n", FormatUnknown},
		{"nested keys", "spec:\n  services: 1\n  apiVersion: v1\n  kind: Pod\n", FormatUnknown},
		{"values.yaml", "replicaCount: 1\nimage:\n  repository: nginx\n", FormatUnknown},
		{"package.json", `{"name": "x", "version": "1.0.0"}`, FormatUnknown},
		{"empty", "", FormatUnknown},
		{"block scalar", "data: |\n  apiVersion: v1\n  kind: Pod\n", FormatUnknown},
		// YAML readers skip a byte order mark; docker compose reads flow
		// style, and kubectl takes "{" for JSON (an error, not a skip).
		{"k8s bom", "\ufeffapiVersion: v1\nkind: Pod\n", FormatKubernetes},
		{"compose bom", "\ufeffservices:\n  web:\n    image: nginx\n", FormatCompose},
		{"compose flow", "{services: {web: {image: nginx, privileged: true}}}\n", FormatCompose},
		{"compose explicit key", "? services\n: {web: {image: nginx}}\n", FormatCompose},
		{"k8s flow", "{apiVersion: v1, kind: Pod, metadata: {name: p}}\n", FormatKubernetes},
		{"flow values", "{replicaCount: 1}\n", FormatUnknown},
		{"not yaml", "{[\n", FormatUnknown},
	} {
		if got := Sniff([]byte(tc.doc)); got != tc.want {
			t.Errorf("%s: Sniff = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

const ociMinimal = `{"ociVersion": "1.2.0", "process": {"user": {"uid": 0, "gid": 0}}}`

func TestReadFilesWalksAndNamesEveryProblem(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a", "config.json"), ociMinimal)
	writeFile(t, filepath.Join(dir, "a", "b", "runc.JSON"), ociMinimal)
	writeFile(t, filepath.Join(dir, "a", "values.yaml"), "replicaCount: 1\n")
	writeFile(t, filepath.Join(dir, "a", "README.md"), "services:\n")
	writeFile(t, filepath.Join(dir, "a", ".git", "x.json"), "{broken")
	writeFile(t, filepath.Join(dir, "a", "broken.json"), `{"ociVersion": "1", "process": {"user": {"uid": "root"}}}`)
	writeFile(t, filepath.Join(dir, "notes.yaml"), "hello: world\n")
	writeFile(t, filepath.Join(dir, "big.json"), ociMinimal+strings.Repeat(" ", 100))

	got := ReadFiles(context.Background(), []string{
		filepath.Join(dir, "a"), filepath.Join(dir, "notes.yaml"), filepath.Join(dir, "missing.yaml"), "-", "-",
	}, ReadOptions{Stdin: strings.NewReader(ociMinimal), MaxFileBytes: int64(len(ociMinimal) + 50)})
	wantRead := []string{filepath.Join(dir, "a", "b", "runc.JSON"), filepath.Join(dir, "a", "broken.json"), filepath.Join(dir, "a", "config.json"), "-"}
	if !slices.Equal(got.Read, wantRead) {
		t.Errorf("read %q, want %q", got.Read, wantRead)
	}
	if len(got.Workloads) != 3 {
		t.Errorf("%d workloads, want 3", len(got.Workloads))
	}
	if len(got.Skipped) != 1 || !strings.Contains(got.Skipped[0], "values.yaml") {
		t.Errorf("skipped %q, want values.yaml only", got.Skipped)
	}
	var errs []string
	for _, e := range got.Errs {
		errs = append(errs, e.Error())
	}
	all := strings.Join(errs, "\n")
	for _, want := range []string{
		"broken.json: line 1: process.user.uid is a string, want a whole number of 0 or more (read as an OCI runtime config)",
		"notes.yaml: not a Compose file (no services), a Kubernetes manifest (no apiVersion and kind) or an OCI runtime config (no ociVersion)",
		"missing.yaml: no such file or directory",
		"standard input (-) is named twice",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("errors lack %q:\n%s", want, all)
		}
	}
	if len(got.Errs) != 4 {
		t.Errorf("%d errors, want 4:\n%s", len(got.Errs), all)
	}

	big := ReadFiles(context.Background(), []string{filepath.Join(dir, "big.json")}, ReadOptions{MaxFileBytes: int64(len(ociMinimal))})
	if len(big.Errs) != 1 || !strings.Contains(big.Errs[0].Error(), "larger than") {
		t.Errorf("oversized file: %v", big.Errs)
	}
	none := ReadFiles(context.Background(), []string{"-"}, ReadOptions{})
	if len(none.Errs) != 1 {
		t.Errorf("no stdin: %v", none.Errs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c := ReadFiles(ctx, []string{filepath.Join(dir, "a")}, ReadOptions{}); len(c.Errs) != 1 || len(c.Workloads) != 0 {
		t.Errorf("cancelled: %v", c.Errs)
	}
}

func FuzzSniff(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Pod\n"))
	f.Add([]byte("services:\n  web: {}\n"))
	f.Add([]byte(ociMinimal))
	f.Add([]byte("---\n\"kind\": x\n---\n'apiVersion': y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got := Sniff(data)
		switch got {
		case FormatUnknown, FormatCompose, FormatKubernetes, FormatOCI:
		default:
			t.Fatalf("Sniff = %q", got)
		}
		if Sniff(data) != got {
			t.Fatal("Sniff is not deterministic")
		}
	})
}

// Files are converted in parallel, but the workloads, files and errors
// come back in the order of the walk; a cancelled read names the files it
// did not read instead of returning fewer workloads silently.
func TestReadFilesKeepsOrderAndSaysWhatACancelLeftOut(t *testing.T) {
	dir := t.TempDir()
	for i := range 60 {
		body := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: p%02d}\nspec:\n  containers: [{name: c, image: x:1}]\n", i)
		if i == 17 {
			body = "apiVersion: v1\nkind: Pod\nspec: [\n"
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%02d.yaml", i)), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f := ReadFiles(t.Context(), []string{dir}, ReadOptions{})
	if len(f.Workloads) != 59 || len(f.Errs) != 1 || !strings.Contains(f.Errs[0].Error(), "m17.yaml") {
		t.Fatalf("%d workloads, errors %v: want 59 and m17.yaml's", len(f.Workloads), f.Errs)
	}
	for i, w := range f.Workloads {
		n := i
		if i >= 17 {
			n++
		}
		if want := fmt.Sprintf("Pod p%02d container c", n); w.Name != want {
			t.Fatalf("workload %d is %q, want %q", i, w.Name, want)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	f = ReadFiles(ctx, []string{dir}, ReadOptions{})
	if len(f.Errs) == 0 || len(f.Workloads) != 0 {
		t.Errorf("cancelled: %d workloads, errors %v", len(f.Workloads), f.Errs)
	}
}

// TestReadFilesNamesWhatItDoesNotJudge: containers hull does not judge
// are listed, never passed in silence: a custom resource with a pod
// template (an Argo Rollout, a Knative Service), a pod kind in an API
// group that does not serve it, and a Compose service of a profile that
// is not active; objects without containers and ConfigMaps (whose data
// is text) are not.
func TestReadFilesNamesWhatItDoesNotJudge(t *testing.T) {
	t.Setenv("COMPOSE_PROFILES", "")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "k8s", "all.yaml"), `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
      - name: app
        image: web:1
        securityContext: {privileged: true}
---
apiVersion: v1
kind: List
items:
- apiVersion: serving.knative.dev/v1
  kind: Service
  metadata: {name: fn}
  spec: {template: {spec: {containers: [{image: "fn:1"}]}}}
- apiVersion: v1
  kind: Deployment
  metadata: {name: old}
  spec: {template: {spec: {containers: [{name: c, image: "old:1"}]}}}
- apiVersion: example.com/v1
  kind: App
  metadata: {name: app}
  spec: {pod: {containers: [{name: c, image: {repository: app, tag: "1"}}]}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {image: "not-a-container:1"}
---
apiVersion: v1
kind: Service
metadata: {name: svc}
spec: {ports: [{port: 80}]}
`)
	writeFile(t, filepath.Join(dir, "compose.yaml"), "services:\n  web:\n    image: web:1\n  debug:\n    image: web:1\n    privileged: true\n    profiles: [debug, dev]\n")
	got := ReadFiles(context.Background(), []string{dir}, ReadOptions{})
	if len(got.Errs) != 0 || len(got.Workloads) != 1 {
		t.Fatalf("errors %v, %d workloads", got.Errs, len(got.Workloads))
	}
	k8s, compose := filepath.Join(dir, "k8s", "all.yaml"), filepath.Join(dir, "compose.yaml")
	want := []string{
		compose + ": service debug: only in profile debug, dev, which is not active; not judged (COMPOSE_PROFILES=debug,dev judges it)",
		k8s + ": document 1: spec.template.spec.containers (line 7): Rollout shop/web (argoproj.io/v1alpha1) holds containers, but is not a kind hull reads; not judged",
		k8s + ": document 2: items[0].spec.template.spec.containers (line 18): Service fn (serving.knative.dev/v1) holds containers, but is not a kind hull reads; not judged",
		k8s + ": document 2: items[1].spec.template.spec.containers (line 22): Deployment old (v1) holds containers, but is not a kind hull reads; not judged",
		k8s + ": document 2: items[2].spec.pod.containers (line 26): App app (example.com/v1) holds containers, but is not a kind hull reads; not judged",
	}
	if !slices.Equal(got.Skipped, want) {
		t.Errorf("skipped\n%s\nwant\n%s", strings.Join(got.Skipped, "\n"), strings.Join(want, "\n"))
	}
}

// TestReadFilesSkipsWhatIsNoRegularFile: a FIFO (or a link to a device) a
// directory holds is listed as not read: opening a FIFO would block hull
// for ever.
func TestReadFilesSkipsWhatIsNoRegularFile(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/null", filepath.Join(dir, "null.yaml")); err != nil {
		t.Fatal(err)
	}
	done := make(chan *Files, 1)
	go func() { done <- ReadFiles(context.Background(), []string{dir}, ReadOptions{}) }()
	select {
	case got := <-done:
		want := []string{filepath.Join(dir, "null.yaml") + ": not a regular file; not read", filepath.Join(dir, "pipe.yaml") + ": not a regular file; not read"}
		if !slices.Equal(got.Skipped, want) || len(got.Errs) != 0 {
			t.Errorf("skipped %q errors %v, want %q", got.Skipped, got.Errs, want)
		}
	case <-time.After(10 * time.Second):
		// Unblock the open so the goroutine ends.
		if f, err := os.OpenFile(filepath.Join(dir, "pipe.yaml"), os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatal("ReadFiles blocks on a FIFO in a directory")
	}
}

// TestReadFilesComposeOverride: in a directory, the override file docker
// compose merges is read with its Compose file, not on its own; a file of
// an override name with no Compose file beside it, and a file of another
// name, are read.
func TestReadFilesComposeOverride(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app", "compose.yaml"), "services:\n  web:\n    image: nginx:1\n")
	writeFile(t, filepath.Join(dir, "app", "compose.override.yml"), "services:\n  web:\n    privileged: true\n")
	writeFile(t, filepath.Join(dir, "app", "other.yml"), "services:\n  job:\n    image: busybox:1\n")
	writeFile(t, filepath.Join(dir, "lone", "compose.override.yml"), "services:\n  x:\n    image: alpine:3\n")
	f := ReadFiles(context.Background(), []string{dir}, ReadOptions{})
	if len(f.Errs) != 0 {
		t.Fatalf("errors: %v", f.Errs)
	}
	wantSkip := filepath.Join(dir, "app", "compose.override.yml") + ": read with compose.yaml, which it overrides"
	if !slices.Contains(f.Skipped, wantSkip) {
		t.Errorf("skipped %q, want %q among them", f.Skipped, wantSkip)
	}
	for _, p := range []string{filepath.Join(dir, "app", "compose.yaml"), filepath.Join(dir, "app", "other.yml"), filepath.Join(dir, "lone", "compose.override.yml")} {
		if !slices.Contains(f.Read, p) {
			t.Errorf("read %q, want %q among them", f.Read, p)
		}
	}
	if slices.Contains(f.Read, filepath.Join(dir, "app", "compose.override.yml")) {
		t.Errorf("the override was read on its own: %q", f.Read)
	}
	privileged := false
	for _, w := range f.Workloads {
		privileged = privileged || (w.Image == "nginx:1" && w.Privileged)
	}
	if !privileged {
		t.Errorf("the override was not merged into compose.yaml's web: %+v", f.Workloads)
	}
}
