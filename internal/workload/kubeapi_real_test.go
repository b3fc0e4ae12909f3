//go:build unix

package workload

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/testenv"
	k8syaml "sigs.k8s.io/yaml"
)

// apiResources are the API paths of the kinds the differential test sends
// to the server: every pod-holding kind ParseKubernetes reads, and
// ServiceAccounts (which decide a pod's token).
var apiResources = map[string]string{
	"Pod": "pods", "PodTemplate": "podtemplates", "ReplicationController": "replicationcontrollers",
	"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets", "ReplicaSet": "replicasets",
	"Job": "jobs", "CronJob": "cronjobs", "ServiceAccount": "serviceaccounts",
}

// serverOnlyRefusals are the API server's validation errors hull does
// not repeat, each with why: hull judges what a manifest asks the kubelet
// to run and refuses what Kubernetes cannot decode (kubectl's strict
// decoding), not every cross-field rule of the API's validation, which
// `kubectl apply` reports anyway. The generated bench corpus draws each
// setting on its own, so it writes such combinations. An error outside
// these fails the test: it may be a refusal hull should share.
var serverOnlyRefusals = []struct{ text, why string }{
	{"in annotation and field must match", "a legacy annotation contradicting its field: hull judges the field, which the kubelet reads"},
	{"must be false to use `Unmasked`", "procMount Unmasked needs a user namespace: hull still reports the unmasked /proc asked for"},
	{"must match `containerPort` when `hostNetwork` is true", "a host-network pod's hostPort: hull reports the port published"},
	{"cannot set `allowPrivilegeEscalation` to false and", "no_new_privs off for a privileged or SYS_ADMIN container: hull reads it as the kubelet would run it"},
	{"Bidirectional mount propagation is available only to privileged containers", "hull reports the propagation asked for"},
	{"mountPath: Invalid value", "two mounts at one path: hull reports both"},
	{"may not be specified when 'hostNetwork' is true", "a namespaced sysctl on a host-network pod: hull reports the sysctl"},
	{"when `hostUsers` is false", "host namespaces with a user namespace of the pod's own: hull reports the host namespaces"},
}

// TestKubernetesDefaultsOfTheRealAPIServer is a differential test with
// the real kube-apiserver as the oracle of Kubernetes' defaults and
// precedence: every workload object of the corpus (testdata/k8s and the
// generated bench corpus) goes to the server with dryRun=All, which
// defaults, validates and admits it and answers the object as it would
// store it (imagePullPolicy, restartPolicy and backoffLimit written;
// for Pods the AppArmor annotations synced into fields, limits copied
// into absent requests, hostNetwork ports given host ports, the
// ServiceAccount's token volume). hull must read the object as written
// and as stored into the same model (Source aside; the token volume must
// match ServiceAccountToken) and give it, per container, every file
// rule's same state and evidence, except where a rule asks whether the
// manifest wrote a setting the server then wrote (writtenByServer). The
// annotations the server's warnings call non-functional (the seccomp
// ones) must change nothing. An object the server refuses must be one
// hull refuses too, or one serverOnlyRefusals explains.
func TestKubernetesDefaultsOfTheRealAPIServer(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "k8s", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus in testdata/k8s: %v", err)
	}
	gen := t.TempDir()
	cmd := exec.Command("go", "run", "./bench/manifests", "-n", "150", "-out", gen, "-seed", "7")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./bench/manifests: %v\n%s", err, out)
	}
	generated, err := filepath.Glob(filepath.Join(gen, "*"))
	if err != nil || len(generated) != 150 {
		t.Fatalf("bench/manifests wrote %d files, not 150 (%v)", len(generated), err)
	}
	files = append(files, generated...)

	api := testenv.KubeAPIServer(t)
	d := &apiDiff{t: t, api: api, namespaces: map[string]bool{}, writtenByServer: map[string]int{}}
	start := time.Now()
	for i, f := range files {
		d.file(i, f)
	}
	t.Logf("%d files, %d objects sent, %d workloads compared, %d rule verdicts each side, %d non-functional annotations, in %v",
		len(files), d.sent, d.compared, d.verdicts, d.nonFunctionalSeen, time.Since(start).Round(time.Millisecond))
	t.Logf("not covered: the ephemeral containers of %d pods (the API takes them on a running pod only)", d.ephemeral)
	for id, n := range d.writtenByServer {
		t.Logf("%s: %d verdicts differ where the server wrote the default hull assumed and the rule asks whether the manifest wrote it", id, n)
	}
	if d.compared == 0 {
		t.Fatal("no workload compared")
	}
	for _, r := range d.refusals {
		t.Log("refused by the API server: " + r)
	}
}

type apiDiff struct {
	t          *testing.T
	api        *testenv.KubeAPI
	namespaces map[string]bool
	refusals   []string

	sent, compared, verdicts, ephemeral, nonFunctionalSeen int
	// writtenByServer counts, per rule, the verdicts that differ only
	// because the server wrote a default hull had assumed.
	writtenByServer map[string]int
}

// podAccount creates the ServiceAccount a Pod names unless it exists (a
// controller-manager's namespace has only "default"): the server refuses
// the pod otherwise, and hull reads only the accounts of the stream.
func (d *apiDiff) podAccount(ns string, pod map[string]any) {
	spec, _ := pod["spec"].(map[string]any)
	sa, _ := spec["serviceAccountName"].(string)
	if sa == "" {
		sa, _ = spec["serviceAccount"].(string)
	}
	if sa == "" || sa == "default" {
		return
	}
	body := fmt.Sprintf(`{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":%q}}`, sa)
	a, err := d.api.Do(http.MethodPost, "/api/v1/namespaces/"+ns+"/serviceaccounts", []byte(body))
	if err != nil || (a.Code != http.StatusCreated && a.Code != http.StatusConflict) {
		d.t.Fatalf("create the ServiceAccount %s/%s: %d %v %s", ns, sa, a.Code, err, a.Body)
	}
}

// nonFunctional checks the annotations the server calls non-functional
// (its warnings: the seccomp annotations since 1.27, the sysctl ones
// since 1.11): hull must judge the object alike without them.
func (d *apiDiff) nonFunctional(base, name string, js []byte, warnings []string) {
	var keys []string
	for _, w := range warnings {
		if m := nonFunctionalRE.FindStringSubmatch(w); m != nil {
			keys = append(keys, m[1])
		}
	}
	if len(keys) == 0 {
		return
	}
	var o map[string]any
	if err := json.Unmarshal(js, &o); err != nil {
		d.t.Fatal(err)
	}
	dropAnnotations(o, keys)
	without, _ := json.Marshal(o)
	a, errA := ParseKubernetes(js, base)
	b, errB := ParseKubernetes(without, base)
	if errA != nil || errB != nil {
		d.t.Errorf("%s: %v; without the annotations %v: %v", name, errA, keys, errB)
		return
	}
	d.nonFunctionalSeen += len(keys)
	d.compareAs(base, "with the annotations "+strings.Join(keys, ", ")+" the server calls non-functional", "without them", a, b, false)
}

var nonFunctionalRE = regexp.MustCompile(`annotations\[([^\]]+)\]: non-functional`)

// dropAnnotations deletes the keys from every annotations map in v.
func dropAnnotations(v any, keys []string) {
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			if m, ok := c.(map[string]any); ok && k == "annotations" {
				for _, key := range keys {
					delete(m, key)
				}
				continue
			}
			dropAnnotations(c, keys)
		}
	case []any:
		for _, c := range v {
			dropAnnotations(c, keys)
		}
	}
}

// file sends the objects of one corpus file and compares hull's verdicts
// on the objects as written and as the server answers them.
func (d *apiDiff) file(i int, path string) {
	t := d.t
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := splitStream(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var objs []map[string]any
	for _, doc := range docs {
		js, err := k8syaml.YAMLToJSON(doc.data)
		if err != nil {
			t.Fatalf("%s: document %d: %v", path, doc.number, err)
		}
		var o map[string]any
		if err := json.Unmarshal(js, &o); err != nil || o == nil {
			continue // blank
		}
		objs = append(objs, listItems(o)...)
	}
	// A stream's ServiceAccounts first: a Pod is admitted only once its
	// ServiceAccount exists.
	slices.SortStableFunc(objs, func(a, b map[string]any) int {
		return cmp.Compare(fmt.Sprint(b["kind"] == "ServiceAccount"), fmt.Sprint(a["kind"] == "ServiceAccount"))
	})
	base := filepath.Base(path)
	var written, stored []byte
	for _, o := range objs {
		if spec, _ := o["spec"].(map[string]any); o["kind"] == "Pod" && spec["ephemeralContainers"] != nil {
			// The API adds ephemeral containers to a running pod only
			// (the ephemeralcontainers subresource; "cannot be set on
			// create"): this test does not cover them.
			delete(spec, "ephemeralContainers")
			d.ephemeral++
		}
		kind, _ := o["kind"].(string)
		res, ok := apiResources[kind]
		if !ok {
			continue
		}
		meta, _ := o["metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			o["metadata"] = meta
		}
		orig, _ := meta["namespace"].(string)
		ns := d.namespace(fmt.Sprintf("c%d-%s", i, cmp.Or(orig, "default")))
		meta["namespace"] = ns
		js, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		apiVersion, _ := o["apiVersion"].(string)
		prefix := "/apis/" + apiVersion
		if !strings.Contains(apiVersion, "/") {
			prefix = "/api/" + apiVersion
		}
		url := prefix + "/namespaces/" + ns + "/" + res + "?fieldValidation=Strict"
		if kind != "ServiceAccount" {
			// A ServiceAccount is stored for real: the pods after it
			// must find it.
			url += "&dryRun=All"
		}
		d.sent++
		if kind == "Pod" {
			d.podAccount(ns, o)
		}
		a, err := d.api.Do(http.MethodPost, url, js)
		if err != nil {
			t.Fatalf("POST %s: %v", url, err)
		}
		name := fmt.Sprintf("%s %s %v", base, kind, cmp.Or(meta["name"], meta["generateName"]))
		if a.Code != http.StatusCreated {
			d.refused(base, name, js, a)
			continue
		}
		d.nonFunctional(base, name, js, a.Warnings)
		var got map[string]any
		if err := json.Unmarshal(a.Body, &got); err != nil {
			t.Fatalf("%s: the server's answer is no object: %v", name, err)
		}
		if gm, _ := got["metadata"].(map[string]any); gm != nil && meta["name"] == nil {
			delete(gm, "name") // generated: hull names the object by generateName
		}
		answer, _ := json.Marshal(got)
		written = append(append(written, js...), '\n')
		stored = append(append(stored, answer...), '\n')
	}
	if written == nil {
		return
	}
	before, err := ParseKubernetes(written, base)
	if err != nil {
		t.Errorf("%s: hull refuses objects the API server accepts: %v", base, err)
		return
	}
	after, err := ParseKubernetes(stored, base)
	if err != nil {
		t.Errorf("%s: hull refuses the objects as the API server stores them: %v", base, err)
		return
	}
	d.compare(base, before, after)
}

// listItems returns the objects of a List (items of a typed list get its
// apiVersion and kind), or o.
func listItems(o map[string]any) []map[string]any {
	kind, _ := o["kind"].(string)
	items, ok := o["items"].([]any)
	if !ok || !strings.HasSuffix(kind, "List") {
		return []map[string]any{o}
	}
	var out []map[string]any
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		if kind != "List" {
			if m["kind"] == nil {
				m["kind"] = strings.TrimSuffix(kind, "List")
			}
			if m["apiVersion"] == nil {
				m["apiVersion"] = o["apiVersion"]
			}
		}
		out = append(out, listItems(m)...)
	}
	return out
}

// namespace creates the namespace name (with its default ServiceAccount)
// the first time.
func (d *apiDiff) namespace(name string) string {
	name = strings.Trim(strings.ToLower(name[:min(len(name), 63)]), "-")
	if !d.namespaces[name] {
		d.api.CreateNamespace(d.t, name)
		d.namespaces[name] = true
	}
	return name
}

// refused records an object the server refused; hull must refuse it too
// unless serverOnlyRefusals says why not.
func (d *apiDiff) refused(base, name string, js []byte, a testenv.KubeAnswer) {
	var st struct {
		Message string
		Details struct {
			Causes []struct{ Message, Field string }
		}
	}
	_ = json.Unmarshal(a.Body, &st)
	msg := fmt.Sprintf("%s: %d %s", name, a.Code, cmp.Or(st.Message, string(a.Body)))
	if _, err := ParseKubernetes(js, base); err != nil {
		d.refusals = append(d.refusals, msg+" (hull refuses it too: "+err.Error()+")")
		return
	}
	causes := st.Details.Causes
	if len(causes) == 0 {
		causes = append(causes, struct{ Message, Field string }{Message: st.Message})
	}
	var whys []string
	for _, c := range causes {
		i := slices.IndexFunc(serverOnlyRefusals, func(r struct{ text, why string }) bool {
			return strings.Contains(c.Field+": "+c.Message, r.text)
		})
		if i < 0 {
			d.t.Errorf("the API server refuses what hull reads: %s (%s: %s)", name, c.Field, c.Message)
			return
		}
		if !slices.Contains(whys, serverOnlyRefusals[i].why) {
			whys = append(whys, serverOnlyRefusals[i].why)
		}
	}
	d.refusals = append(d.refusals, msg+" (hull reads it: "+strings.Join(whys, "; ")+")")
}

// compare wants every file rule to give each workload the same verdict
// before and after the server, and hull's model of each to be the same
// but for what the server adds on purpose.
func (d *apiDiff) compare(base string, before, after []Workload) {
	for i := range after {
		s := &after[i]
		for j := 0; j < len(s.Mounts); j++ {
			// The ServiceAccount admission plugin mounts the token
			// into a Pod's containers, which hull models as
			// ServiceAccountToken: the mount must come with it.
			if s.Mounts[j].Destination == "/var/run/secrets/kubernetes.io/serviceaccount" && strings.HasPrefix(s.Mounts[j].Source, "kube-api-access-") {
				if s.ServiceAccountToken == nil || !*s.ServiceAccountToken {
					d.t.Errorf("%s: %s: the server mounts the token hull says is not", base, s.Name)
				}
				s.Mounts = slices.Delete(s.Mounts, j, j+1)
				j--
			}
		}
		if len(s.Mounts) == 0 {
			s.Mounts = nil // as hull writes no mounts
		}
	}
	d.compared += len(before)
	d.compareAs(base, "as written", "as stored", before, after, true)
}

// compareAs compares the workloads a (described by aText) and b (bText)
// by name: the model (Source aside) and every file rule's verdict. With
// defaults set, a verdict may differ where the server wrote a default
// into b that a left out, as long as hull's model of the two is the same:
// the rule judges whether the author wrote it (a request, the pull
// policy), which the server is not the authority on.
func (d *apiDiff) compareAs(base, aText, bText string, a, b []Workload, defaults bool) {
	t := d.t
	byName := map[string]*Workload{}
	for i := range b {
		byName[b[i].Name] = &b[i]
	}
	if len(a) != len(b) {
		t.Errorf("%s: %d workloads %s, %d %s", base, len(a), aText, len(b), bText)
	}
	env := &Env{}
	for i := range a {
		w := &a[i]
		s := byName[w.Name]
		if s == nil {
			t.Errorf("%s: %s %s is not among the workloads %s", base, w.Name, aText, bText)
			continue
		}
		if mw, ms := modelText(w), modelText(s); mw != ms {
			t.Errorf("%s: %s: hull's model differs\n  %s: %s\n  %s: %s", base, w.Name, aText, mw, bText, ms)
		}
		for _, r := range Rules() {
			if r.Stages&StageFile == 0 {
				continue
			}
			if defaults {
				d.verdicts++
			}
			va, vb := verdictText(r, env, w), verdictText(r, env, s)
			if va == vb {
				continue
			}
			if defaults && writtenByServer(r, env, w, s) {
				d.writtenByServer[r.ID]++
				continue
			}
			t.Errorf("%s: %s on %s:\n  %s: %s\n  %s: %s", base, r.ID, w.Name, aText, va, bText, vb)
		}
	}
}

// writtenByServer reports whether the verdicts of r on w and s differ
// only because s places, at the setting a verdict names, a default that
// w leaves out.
func writtenByServer(r Rule, env *Env, w, s *Workload) bool {
	for _, v := range []Verdict{r.Judge(env, w), r.Judge(env, s)} {
		if v.Setting == "" {
			continue
		}
		_, inW := w.Source.Fields[v.Setting]
		_, inS := s.Source.Fields[v.Setting]
		if !inW && inS {
			return true
		}
	}
	return false
}

// modelText is w as JSON without its Source (places differ, settings do
// not).
func modelText(w *Workload) string {
	c := *w
	c.Source = Source{}
	b, err := json.Marshal(c)
	if err != nil {
		return "error: " + err.Error()
	}
	return string(b)
}

// verdictText is a rule's verdict on w in words: its state and evidence,
// or who decides when the file does not.
func verdictText(r Rule, env *Env, w *Workload) string {
	v, err := guard(r, env, w)
	if err != nil {
		return "error: " + err.Error()
	}
	if who, ok := w.Source.Outside[v.Setting]; ok && v.State != "" {
		return "not the file's: " + who
	}
	return fmt.Sprintf("%s %q", cmp.Or(string(v.State), "pass"), v.Evidence)
}
