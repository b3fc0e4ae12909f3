package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      hostNetwork: true
      initContainers:
        - name: init
          image: busybox
      containers:
        - name: app
          image: nginx:1.27
          securityContext:
            privileged: true
        - name: side
          image: envoy
---
apiVersion: v1
kind: Service
metadata:
  name: web
`

const table = "kube-score\tcontainer-security-context-privileged\t*\tCOVERED\tcontainer-privileged\tx\n" +
	"kube-score\tcontainer-image-tag\t*\tCOVERED\tworkload-image-latest\tx\n" +
	"trivy\tKSV-0009\t*\tCOVERED\tcontainer-host-network\tx\n" +
	"trivy\tKSV-0013\t*\tCOVERED\tworkload-image-latest\tx\n" +
	"trivy\tKSV-01010\t*\tNOT-A-WORKLOAD-CONCERN\t-\tx\n"

// kube-score names init and side (untagged images) and app (privileged);
// trivy places KSV-0013 on "side" by its message and on "init" by the
// line of its cause, and KSV-0009 on the pod.
const ksJSON = `[{"file_name":"dir/a.yaml","file_row":1,"checks":[
 {"check":{"id":"container-image-tag"},"grade":1,"comments":[{"path":"init","summary":"Image with latest tag"},{"path":"side","summary":"Image with latest tag"}]},
 {"check":{"id":"container-security-context-privileged"},"grade":1,"comments":[{"path":"app","summary":"The container is privileged"}]},
 {"check":{"id":"label-values"},"grade":10}]}]`

const trivyJSON = `{"Results":[{"Target":"a.yaml","Misconfigurations":[
 {"ID":"KSV013","Message":"Container 'side' of Deployment 'web' should specify an image tag","Status":"FAIL","CauseMetadata":{"StartLine":17,"EndLine":18}},
 {"ID":"KSV013","Message":"no name here","Status":"FAIL","CauseMetadata":{"StartLine":10,"EndLine":11}},
 {"ID":"KSV009","Message":"Deployment 'web' should not set 'spec.template.spec.hostNetwork' to true","Status":"FAIL","CauseMetadata":{"StartLine":7,"EndLine":18}},
 {"ID":"KSV-0014","Message":"x","Status":"PASS","CauseMetadata":{"StartLine":1}}]}]}`

// hull reports the privileged container by its field path, the untagged
// init image by its target, and misses "side"; one finding names a file
// outside the directory.
const hullJSON = `{"tool":"hull","checks":[{"id":"container-privileged","state":"fail"}],"findings":[
 {"id":"container-privileged","target":"a.yaml","location":{"path":"./a.yaml:15","field":"spec.template.spec.containers[0].securityContext.privileged"}},
 {"id":"workload-image-latest","target":"Deployment web container init","location":{"path":"/x/a.yaml"}},
 {"id":"container-host-network","target":"Deployment web container app","location":{"path":"a.yaml","field":"spec.template.spec.hostNetwork"}},
 {"id":"container-privileged","target":"elsewhere.yaml","location":{"path":"elsewhere.yaml"}}]}`

func write(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func fixture(t *testing.T) (c *corpus, rows []*row, tmp string) {
	t.Helper()
	tmp = t.TempDir()
	dir := filepath.Join(tmp, "dir")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "a.yaml", manifest)
	c, err := readCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	rows, err = readMap(write(t, tmp, "map.tsv", table))
	if err != nil {
		t.Fatal(err)
	}
	return c, rows, tmp
}

func places(fs []finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Check+"@"+f.At.String()+"="+f.Rule)
	}
	return out
}

func TestPeersArePlaced(t *testing.T) {
	c, rows, tmp := fixture(t)
	ks, err := readKubeScore(write(t, tmp, "ks.json", ksJSON), c, rows)
	if err != nil {
		t.Fatal(err)
	}
	want := "container-image-tag@a.yaml#1 init=workload-image-latest container-image-tag@a.yaml#1 side=workload-image-latest container-security-context-privileged@a.yaml#1 app=container-privileged"
	if got := strings.Join(places(ks), " "); got != want {
		t.Errorf("kube-score:\n got %s\nwant %s", got, want)
	}
	tv, err := readTrivy(write(t, tmp, "tv.json", trivyJSON), c, rows)
	if err != nil {
		t.Fatal(err)
	}
	want = "KSV-0013@a.yaml#1 side=workload-image-latest KSV-0013@a.yaml#1 init=workload-image-latest KSV-0009@a.yaml#1 (pod)=container-host-network"
	if got := strings.Join(places(tv), " "); got != want {
		t.Errorf("trivy:\n got %s\nwant %s", got, want)
	}
	hull, unplaced, err := readHull(write(t, tmp, "hull.json", hullJSON), c)
	if err != nil || unplaced != 1 {
		t.Fatalf("readHull: %d unplaced, %v", unplaced, err)
	}
	want = "container-privileged@a.yaml#1 app=container-privileged workload-image-latest@a.yaml#1 init=workload-image-latest container-host-network@a.yaml#1 app=container-host-network"
	if got := strings.Join(places(hull), " "); got != want {
		t.Errorf("hull:\n got %s\nwant %s", got, want)
	}

	// side's untagged image is the one peer finding hull misses; the
	// pod-level hostNetwork finding is covered by hull's on app.
	ix := indexOf(hull)
	var missed []string
	for _, f := range append(ks, tv...) {
		if !ix.reports(f.At, f.Row.Hull) {
			missed = append(missed, f.Tool+" "+f.At.String())
		}
	}
	if got := strings.Join(missed, ", "); got != "kube-score a.yaml#1 side, trivy a.yaml#1 side" {
		t.Errorf("missed: %s", got)
	}
}

func TestMapRefusesBadRows(t *testing.T) {
	tmp := t.TempDir()
	for _, bad := range []string{
		"trivy\tKSV-0001\t*\tCOVERED\tx\n",                      // five columns
		"trivy\tKSV-0001\t*\tMAYBE\tx\tnote\n",                  // unknown status
		"trivy\tKSV-0001\t*\tNOT-A-WORKLOAD-CONCERN\tx\tnote\n", // rules on a non-concern
		"trivy\tKSV-0001\t*\tNEEDS-RULE\t-\tnote\n",             // no rule proposed
	} {
		if _, err := readMap(write(t, tmp, "m.tsv", bad)); err == nil {
			t.Errorf("readMap accepted %q", bad)
		}
	}
}

// The table in the repository reads, and names each peer check once per
// match.
func TestPeerMapReads(t *testing.T) {
	rows, err := readMap("../peer-map.tsv")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		k := r.Tool + " " + r.Check + " " + r.Match
		if seen[k] {
			t.Errorf("%s listed twice", k)
		}
		seen[k] = true
	}
	if len(rows) < 100 {
		t.Errorf("only %d rows", len(rows))
	}
}
