package workload

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// flat writes a workload as key=value pairs, the zero values left out,
// so a table can say what it expects of each field and each place.
func flat(w Workload) map[string]string {
	m := map[string]string{}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	b := func(p *bool) string {
		if p == nil {
			return ""
		}
		return strconv.FormatBool(*p)
	}
	n := func(i int64) string {
		if i == 0 {
			return ""
		}
		return strconv.FormatInt(i, 10)
	}
	put("source", fmt.Sprintf("%d %s %s:%d", w.Source.Document, w.Source.Kind, w.Source.Path, w.Source.Line))
	put("image", w.Image)
	put("user", w.User)
	put("runAsNonRoot", b(w.RunAsNonRoot))
	put("groups", strings.Join(w.Groups, ","))
	put("capAdd", strings.Join(w.CapAdd, ","))
	put("capDrop", strings.Join(w.CapDrop, ","))
	if w.Privileged {
		put("privileged", "true")
	}
	put("noNewPrivileges", b(w.NoNewPrivileges))
	put("ns.network", w.Namespaces.Network)
	put("ns.pid", w.Namespaces.PID)
	put("ns.ipc", w.Namespaces.IPC)
	put("ns.uts", w.Namespaces.UTS)
	put("ns.user", w.Namespaces.User)
	for i, mt := range w.Mounts {
		mode := "rw"
		if mt.ReadOnly {
			mode = "ro"
		}
		put(fmt.Sprintf("mounts[%d]", i), strings.TrimSpace(fmt.Sprintf("%s %s:%s %s %s", mt.Type, mt.Source, mt.Destination, mode, mt.Propagation)))
	}
	put("seccomp", w.Seccomp)
	put("apparmor", w.AppArmor)
	if w.SELinuxDisabled {
		put("selinuxDisabled", "true")
	}
	if w.SystemPathsUnconfined {
		put("systemPathsUnconfined", "true")
	}
	if w.ReadOnlyRootfs {
		put("readOnlyRootfs", "true")
	}
	put("memory", n(w.Resources.Memory))
	put("memoryRequest", n(w.Resources.MemoryRequest))
	put("nanoCPUs", n(w.Resources.NanoCPUs))
	put("cpuRequest", n(w.Resources.CPURequest))
	if w.Resources.PidsLimit != nil {
		put("pids", n(*w.Resources.PidsLimit))
	}
	for i, p := range w.Ports {
		put(fmt.Sprintf("ports[%d]", i), fmt.Sprintf("%s:%s->%s/%s", p.HostIP, p.HostPort, p.ContainerPort, p.Protocol))
	}
	put("restart", w.Restart.Policy)
	put("maxRetries", n(int64(w.Restart.MaxRetries)))
	put("healthcheck", b(w.Healthcheck))
	put("token", b(w.ServiceAccountToken))
	var sysctls []string
	for k, v := range w.Sysctls {
		sysctls = append(sysctls, k+"="+v)
	}
	slices.Sort(sysctls)
	put("sysctls", strings.Join(sysctls, ","))
	for k, p := range w.Source.Fields {
		put("at."+k, fmt.Sprintf("%s:%d", p.Path, p.Line))
	}
	return m
}

func readCorpus(t testing.TB, name string) []Workload {
	t.Helper()
	file := filepath.Join("testdata", "k8s", name)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := ParseKubernetes(data, file)
	if err != nil {
		t.Fatalf("ParseKubernetes(%s): %v", name, err)
	}
	for _, w := range ws {
		if w.Source.File != file || w.Stage != StageFile {
			t.Errorf("%s: file %q stage %d, want %q and the file stage", w.Name, w.Source.File, w.Stage, file)
		}
	}
	return ws
}

// TestParseKubernetesCorpus checks every workload of the corpus: the
// names in order, and per workload the fields and places the table
// names ("" = must be unset).
func TestParseKubernetesCorpus(t *testing.T) {
	const (
		web  = "spec.template.spec"
		webC = web + ".containers[0]"
		webI = web + ".initContainers[0]"
		db   = "spec.template.spec"
		ds   = "spec.template.spec"
		cj   = "spec.jobTemplate.spec.template.spec"
	)
	cases := []struct {
		file  string
		names []string
		want  map[string]map[string]string // workload name -> key -> value
	}{
		{"web-deployment.yaml", []string{"Deployment shop/web initContainer migrate", "Deployment shop/web container app"}, map[string]map[string]string{
			// Pod runAsNonRoot true, container runAsUser 0: the container's
			// user wins, runAsNonRoot stays the pod's.
			"Deployment shop/web initContainer migrate": {
				"source": "1 Deployment " + webI + ":28", "image": "registry.example/shop/migrate:latest",
				"user": "0:10001", "at.user": webI + ".securityContext.runAsUser:31",
				"runAsNonRoot": "true", "at.runAsNonRoot": web + ".securityContext.runAsNonRoot:20",
				"groups": "2000,3000", "noNewPrivileges": "false", "at.noNewPrivileges": "",
				"seccomp": "", "at.seccomp": web + ".securityContext.seccompProfile:25",
				"restart": "on-failure", "maxRetries": "", "healthcheck": "",
				"token": "false", "at.serviceAccountToken": web + ".automountServiceAccountToken:18",
				"memory": "", "mounts[0]": "",
			},
			"Deployment shop/web container app": {
				"source": "1 Deployment " + webC + ":33", "at.image": webC + ".image:34",
				"user": "10001:10001", "at.user": web + ".securityContext.runAsUser:21",
				"capAdd": "NET_BIND_SERVICE", "capDrop": "ALL", "at.capAdd[0]": webC + ".securityContext.capabilities.add[0]:58",
				"at.capDrop":      webC + ".securityContext.capabilities.drop:57",
				"noNewPrivileges": "true", "at.noNewPrivileges": webC + ".securityContext.allowPrivilegeEscalation:54",
				"readOnlyRootfs": "true", "at.readOnlyRootfs": webC + ".securityContext.readOnlyRootFilesystem:55",
				"memory": "536870912", "memoryRequest": "268435456", "nanoCPUs": "500000000", "cpuRequest": "250000000",
				"at.resources.memory": webC + ".resources.limits.memory:40", "at.resources.cpu": webC + ".resources.limits.cpu:41",
				"healthcheck": "true", "at.healthcheck": webC + ".livenessProbe:45",
				// configMap volumes are read-only whatever the mount says;
				// emptyDir medium Memory is a tmpfs.
				"mounts[0]": "volume config:/etc/web ro", "at.mounts[0]": webC + ".volumeMounts[0]:60",
				"mounts[1]": "tmpfs :/var/cache/web rw", "mounts[2]": "volume scratch:/tmp rw",
				"ports[0]": "", "restart": "always",
			},
		}},
		{"db-statefulset.yaml", []string{"StatefulSet shop/db container postgres", "StatefulSet shop/db container backup"}, map[string]map[string]string{
			// Pod seccomp RuntimeDefault, container Unconfined: the
			// container's wins. The container's appArmorProfile field beats
			// its legacy annotation.
			"StatefulSet shop/db container postgres": {
				"source":  "1 StatefulSet " + db + ".containers[0]:30",
				"seccomp": "unconfined", "at.seccomp": db + ".containers[0].securityContext.seccompProfile:33",
				"apparmor": "", "sysctls": "kernel.shm_rmid_forced=1", "at.sysctls[0]": db + ".securityContext.sysctls[0]:23", "at.apparmor": db + ".containers[0].securityContext.appArmorProfile:35",
				"ns.user": "private", "at.namespaces.user": db + ".hostUsers:19",
				"user": "999", "runAsNonRoot": "", "ports[0]": "",
				"mounts[0]": "volume data:/var/lib/postgresql/data rw",
				"memory":    "", "token": "true", "at.serviceAccountToken": "", "healthcheck": "false",
			},
			// No field on the container: its annotation beats the pod's
			// field. runAsNonRoot false is kept as written.
			"StatefulSet shop/db container backup": {
				"apparmor": "backup-profile", "at.apparmor": `spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io/backup"]:17`,
				"seccomp": "", "at.seccomp": db + ".securityContext.seccompProfile:25",
				"runAsNonRoot": "false", "at.runAsNonRoot": db + ".containers[1].securityContext.runAsNonRoot:48",
				"selinuxDisabled": "true", "at.selinux": db + ".containers[1].securityContext.seLinuxOptions:49",
				// A limit alone: the request defaults to it.
				"memory": "1073741824", "memoryRequest": "1073741824", "nanoCPUs": "", "cpuRequest": "",
				"image": "postgres",
			},
		}},
		{"node-agent-daemonset.yaml", []string{"DaemonSet monitoring/node-agent container agent", "DaemonSet monitoring/node-agent container shipper"}, map[string]map[string]string{
			// Privileged without allowPrivilegeEscalation: escalation allowed.
			"DaemonSet monitoring/node-agent container agent": {
				"privileged": "true", "at.privileged": ds + ".containers[0].securityContext.privileged:21",
				"noNewPrivileges": "false", "at.noNewPrivileges": "",
				"systemPathsUnconfined": "true", "at.systemPaths": ds + ".containers[0].securityContext.procMount:22",
				"ns.network": "host", "ns.pid": "host", "ns.ipc": "host", "ns.uts": "host",
				"at.namespaces.network": ds + ".hostNetwork:13", "at.namespaces.pid": ds + ".hostPID:14", "at.namespaces.ipc": ds + ".hostIPC:15",
				"mounts[0]": "bind /:/host rw rshared", "at.mounts[0]": ds + ".containers[0].volumeMounts[0]:27",
				"mounts[1]": "bind /var/run/docker.sock:/var/run/docker.sock ro",
				"mounts[2]": "bind /var/log/pods:/host/var/log rw rslave",
				// hostNetwork: hostPort defaults to containerPort.
				"ports[0]": ":9100->9100/tcp", "at.ports[0]": ds + ".containers[0].ports[0]:24",
				"restart": "always", "at.restart": ds + ".restartPolicy:16", "seccomp": "unconfined",
			},
			// allowPrivilegeEscalation false with CAP_SYS_ADMIN: still allowed.
			"DaemonSet monitoring/node-agent container shipper": {
				"capAdd": "SYS_ADMIN,SYS_PTRACE", "noNewPrivileges": "false",
				"at.noNewPrivileges": ds + ".containers[1].securityContext.capabilities.add[0]:42",
				"ports[0]":           "127.0.0.1:24224->24224/udp", "at.ports[0]": ds + ".containers[1].ports[0]:44",
				"privileged": "",
			},
		}},
		{"cronjob.yaml", []string{"CronJob finance/report container render", "CronJob finance/report container upload"}, map[string]map[string]string{
			// The seccomp annotations do nothing since Kubernetes 1.27:
			// no field, unconfined.
			"CronJob finance/report container render": {
				"source":  "1 CronJob " + cj + ".containers[0]:20",
				"seccomp": "unconfined", "at.seccomp": "",
				"restart": "on-failure", "maxRetries": "2", "at.restart": "spec.jobTemplate.spec.backoffLimit:10",
				"token": "true",
			},
			"CronJob finance/report container upload": {
				"seccomp": "profiles/upload.json", "at.seccomp": cj + ".containers[1].securityContext.seccompProfile:25",
			},
		}},
		{"job.json", []string{"Job etl/import container import"}, map[string]map[string]string{
			"Job etl/import container import": {
				"source": "1 Job spec.template.spec.containers[0]:10", "image": "example/import",
				"user": "1000", "at.user": "spec.template.spec.containers[0].securityContext.runAsUser:13",
				"noNewPrivileges": "false", "at.noNewPrivileges": "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation:13",
				"memory": "1000000000", "nanoCPUs": "2000000000", "cpuRequest": "2000000000",
				"restart": "no", "at.restart": "spec.template.spec.restartPolicy:8", "maxRetries": "",
				"seccomp": "unconfined",
			},
		}},
		{"debug-pod.yaml", []string{"Pod debug initContainer sidecar", "Pod debug container app", "Pod debug ephemeralContainer debugger"}, map[string]map[string]string{
			"Pod debug initContainer sidecar": {"restart": "always", "at.restart": "spec.initContainers[0].restartPolicy:27"},
			"Pod debug container app": {
				"source": "1 Pod spec.containers[0]:9", "restart": "no", "at.restart": "spec.restartPolicy:6",
				"ports[0]": "0.0.0.0:80->8080/tcp", "ports[1]": "", "at.ports[0]": "spec.containers[0].ports[0]:13",
			},
			"Pod debug ephemeralContainer debugger": {
				"source": "1 Pod spec.ephemeralContainers[0]:18", "capAdd": "NET_ADMIN", "restart": "no", "healthcheck": "",
			},
		}},
		{"list.yaml", []string{"Pod api-0 container api", "Deployment api container api", "Deployment nested container nested"}, map[string]map[string]string{
			"Pod api-0 container api": {"source": "1 Pod items[1].spec.containers[0]:17", "at.image": "items[1].spec.containers[0].image:18"},
			// privileged with allowPrivilegeEscalation: false (which the API
			// server refuses): escalation allowed all the same.
			"Deployment api container api": {
				"privileged": "true", "noNewPrivileges": "false",
				"at.noNewPrivileges": "items[2].spec.template.spec.containers[0].securityContext.privileged:34",
			},
			"Deployment nested container nested": {"source": "1 Deployment items[3].items[0].spec.template.spec.containers[0]:49"},
		}},
		{"stream.yaml", []string{"ReplicaSet ci/builder container builder", "ReplicationController ci/legacy container legacy", "PodTemplate ci/runner container runner"}, map[string]map[string]string{
			// The stream's ServiceAccount turns the token off.
			"ReplicaSet ci/builder container builder":          {"source": "5 ReplicaSet spec.template.spec.containers[0]:40", "token": "false"},
			"ReplicationController ci/legacy container legacy": {"source": "6 ReplicationController spec.template.spec.containers[0]:54", "token": "true", "restart": "always"},
			"PodTemplate ci/runner container runner":           {"source": "7 PodTemplate template.spec.containers[0]:66", "restart": "on-failure", "at.restart": "template.spec.restartPolicy:64"},
		}},
		{"helm.yaml", []string{"Deployment release-shop container shop"}, map[string]map[string]string{
			"Deployment release-shop container shop": {
				"source": "3 Deployment spec.template.spec.containers[0]:30", "image": "example/shop:0.3.0", "at.image": "spec.template.spec.containers[0].image:32",
				"memory": "134217728", "nanoCPUs": "100000000", "at.resources.cpu": "spec.template.spec.containers[0].resources.limits.cpu:40",
				// The ServiceAccount in the stream says nothing: the default.
				"token": "true", "ports[0]": "",
			},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			ws := readCorpus(t, tc.file)
			var names []string
			for _, w := range ws {
				names = append(names, w.Name)
			}
			if strings.Join(names, "|") != strings.Join(tc.names, "|") {
				t.Fatalf("workloads %q, want %q", names, tc.names)
			}
			for _, w := range ws {
				got := flat(w)
				want := tc.want[w.Name]
				keys := make([]string, 0, len(want))
				for k := range want {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					if got[k] != want[k] {
						t.Errorf("%s: %s = %q, want %q", w.Name, k, got[k], want[k])
					}
				}
			}
		})
	}
}

// TestParseKubernetesErrors: what is no workload, or one Kubernetes would
// refuse, is an error naming the document and the field; what holds no
// pods is skipped.
func TestParseKubernetesErrors(t *testing.T) {
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      image: x\n"
	cases := []struct {
		name, in, want string
	}{
		{"unknown field", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n" + pod + "      securityContext:\n        runAsRoot: false\n",
			"f.yaml: document 2: spec.containers[0].securityContext.runAsRoot (line 13): unknown field"},
		{"field of another case", pod + "      securityContext:\n        RunAsUser: 0\n", "spec.containers[0].securityContext.RunAsUser (line 9): unknown field"},
		{"type", pod + "      securityContext:\n        runAsUser: root\n", "spec.containers.securityContext.runAsUser: a string where Kubernetes wants a whole number"},
		{"duplicate key", pod + "      image: y\n", "document 1: line 8: key \"image\" written twice in one mapping"},
		{"duplicate JSON key", `{"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a", "name": "b"}]}}`, "spec.containers[0].name (line 1): field written twice"},
		{"duplicate JSON kind", `{"apiVersion": "v1", "kind": "Pod", "kind": "Service"}`, "kind (line 1): field written twice"},
		{"no kind", "apiVersion: v1\nkind: Service\n---\nmetadata: {name: x}\n", "document 2: not a Kubernetes object: no apiVersion or kind"},
		{"no kind in a List item", "apiVersion: v1\nkind: List\nitems:\n  - metadata: {name: x}\n", "document 1: items[0] (line 4): not a Kubernetes object"},
		{"scalar document", "just text\n", "document 1: not a Kubernetes object"},
		{"empty containers", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers: []\n", "Deployment d: spec.template.spec.containers (line 7): no containers"},
		{"separator with text", pod + "--- !tag\n", "f.yaml: line 8: text after the document separator"},
		{"bad YAML", "apiVersion: v1\nkind: Service\n---\nkind: [\n", "document 2: not YAML: line 4"},
		{"bad JSON", `{"apiVersion": "v1"} {"kind": `, "document 2"},
		{"quantity exponent", pod + "      resources:\n        limits: {cpu: \"1e-9999999\"}\n", "spec.containers[0].resources.limits.cpu (line 9): quantity \"1e-9999999\" is out of any resource's range"},
		{"quantity in a List", "kind: List\napiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Pod\n  spec:\n    overhead: {memory: \"1" + strings.Repeat("0", 70) + "\"}\n", "items[0].spec.overhead.memory (line 7): quantity"},
		{"too big", strings.Repeat("#", MaxKubernetesStream+1), "more than the 16777216"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := ParseKubernetes([]byte(tc.in), "f.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v (workloads %d), want one containing %q", err, len(ws), tc.want)
			}
			if strings.Contains(err.Error(), "json:") || strings.Contains(err.Error(), "Go struct") {
				t.Errorf("error %q speaks the decoder's language", err)
			}
		})
	}
	for _, in := range []string{"", "---\n---\n", "# only a comment\n", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n",
		"apiVersion: example.com/v1\nkind: Deployment\nspec: {whatever: 1}\n", "apiVersion: v1\nkind: ServiceList\nitems: [{metadata: {name: s}}]\n",
		"apiVersion: v1\nkind: ReplicationController\nmetadata: {name: r}\nspec: {replicas: 1}\n"} {
		if ws, err := ParseKubernetes([]byte(in), "f.yaml"); err != nil || len(ws) != 0 {
			t.Errorf("ParseKubernetes(%q) = %d workloads, %v; want none and no error", in, len(ws), err)
		}
	}
}

// TestParseKubernetesQuantities: quantities past int64 saturate rather
// than wrap around into small or negative limits.
func TestParseKubernetesQuantities(t *testing.T) {
	in := "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      resources:\n        limits: {memory: 9223372036854775807Ei, cpu: \"1e99\"}\n        requests: {memory: 1m, cpu: 1n}\n"
	ws, err := ParseKubernetes([]byte(in), "q.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := ws[0].Resources
	if r.Memory != math.MaxInt64 || r.NanoCPUs != math.MaxInt64 || r.MemoryRequest != 1 || r.CPURequest != 1 {
		t.Errorf("resources %+v", r)
	}
}

// TestParseKubernetesShapes: document numbers count every "---" (but
// not a leading one), lines count from the stream's start, JSON streams
// and *List kinds are read.
func TestParseKubernetesShapes(t *testing.T) {
	pod := func(name string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + "}\nspec:\n  containers:\n    - name: c\n      image: x:1\n"
	}
	in := "---\n# leading comment\n" + pod("a") + "---\n---\n" + pod("b") + "...\n"
	ws, err := ParseKubernetes([]byte(in), "-")
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0].Source.Document != 1 || ws[0].Source.Line != 8 || ws[1].Source.Document != 3 || ws[1].Source.Line != 17 {
		t.Fatalf("got %+v", ws)
	}
	js := `{"apiVersion": "v1", "kind": "PodList", "items": [` + "\n" +
		`{"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}]}` + "\n" +
		`{"apiVersion": "apps/v1", "kind": "DeploymentList", "items": [{"metadata": {"name": "d"}, "spec": {"template": {"spec": {"containers": [` + "\n" +
		`{"name": "c", "image": "y"}]}}}}]}`
	ws, err = ParseKubernetes([]byte(js), "l.json")
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, w := range ws {
		got += fmt.Sprintf("%s|%d|%s|%d\n", w.Name, w.Source.Document, w.Source.Path, w.Source.Line)
	}
	want := "Pod p container c|1|items[0].spec.containers[0]|2\nDeployment d container c|2|items[0].spec.template.spec.containers[0]|4\n"
	if got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
}

// TestParseKubernetesServiceAccountStrict: a ServiceAccount turns the
// token off only with automountServiceAccountToken spelt as Kubernetes
// spells it; in another case, or written twice, Kubernetes ignores or
// refuses the field and the pod's token stays mounted.
func TestParseKubernetesServiceAccountStrict(t *testing.T) {
	pod := "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: 'x:1'}]\n"
	for in, want := range map[string]bool{
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default}\nautomountServiceAccountToken: false\n":                                                       false,
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default}\nautomountserviceaccounttoken: false\n":                                                       true,
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default}\nAutomountServiceAccountToken: false\n":                                                       true,
		`{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}, "automountServiceAccountToken": false, "automountServiceAccountToken": true}`: true,
	} {
		stream := in + pod
		if in[0] == '{' { // a JSON stream: the pod as JSON too
			stream = in + "\n" + `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}`
		}
		ws, err := ParseKubernetes([]byte(stream), "sa.yaml")
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if len(ws) != 1 || *ws[0].ServiceAccountToken != want {
			t.Errorf("%s: token %v, want %v", in, *ws[0].ServiceAccountToken, want)
		}
	}
}

// TestParseKubernetesClaimedHostPath: a pod that mounts a claim bound to
// a hostPath or local PersistentVolume of the same stream (the claim's
// volumeName, the volume's claimRef, an ephemeral volume's template, the
// volume the binder picks by class, access modes and size) mounts that
// node path, as the kubelet does.
func TestParseKubernetesClaimedHostPath(t *testing.T) {
	in := `apiVersion: v1
kind: PersistentVolume
metadata: {name: node-root}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: runtime}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  local: {path: /var/run}
  claimRef: {namespace: shop, name: sock}
  nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: k, operator: Exists}]}]}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec:
  volumeName: node-root
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: data}}
  - {name: sock, persistentVolumeClaim: {claimName: sock}}
  - name: scratch
    ephemeral: {volumeClaimTemplate: {spec: {volumeName: node-root, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}}
  - {name: other, persistentVolumeClaim: {claimName: elsewhere}}
  - {name: manual, persistentVolumeClaim: {claimName: manual}}
  containers:
  - name: c
    image: x:1
    volumeMounts:
    - {name: data, mountPath: /host}
    - {name: sock, mountPath: /run/docker.sock, subPath: docker.sock}
    - {name: scratch, mountPath: /scratch}
    - {name: other, mountPath: /other}
    - {name: manual, mountPath: /manual}
---
# The claim of Kubernetes' "use a PersistentVolume" task: bound by its
# class, access modes and size to the smallest volume that fits.
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: manual, namespace: shop}
spec:
  storageClassName: manual
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 3Gi}}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: big-etc}
spec:
  storageClassName: manual
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  hostPath: {path: /etc}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: too-small}
spec:
  storageClassName: manual
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /srv/small}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: other-class}
spec:
  storageClassName: fast
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /srv/fast}
`
	ws, err := ParseKubernetes([]byte(in), "pv.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 {
		t.Fatalf("%d workloads", len(ws))
	}
	wantEqual(t, "mounts", ws[0].Mounts, []Mount{
		{Type: "bind", Source: "/", Destination: "/host", Driver: "hostPath"},
		{Type: "bind", Source: "/var/run/docker.sock", Destination: "/run/docker.sock", Driver: "local"},
		{Type: "bind", Source: "/", Destination: "/scratch", Driver: "hostPath"},
		{Type: "volume", Source: "other", Destination: "/other", Driver: "persistentVolumeClaim"},
		{Type: "bind", Source: "/etc", Destination: "/manual", Driver: "hostPath"},
	})
	j, err := Judge(ws, JudgeOptions{Stage: StageFile})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range j.Findings {
		ids = append(ids, f.ID)
	}
	for _, id := range []string{"container-sensitive-mounts", "container-engine-socket", "workload-host-path"} {
		if !slices.Contains(ids, id) {
			t.Errorf("no %s finding in %v", id, ids)
		}
	}
}

// TestParseKubernetesAliases: aliases within reason are read (and their
// lines found), a billion-laughs document is refused quickly.
func TestParseKubernetesAliases(t *testing.T) {
	in := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - &c\n      name: a\n      image: x:1\n      securityContext: &sc\n        runAsUser: 5\n" +
		"    - name: b\n      image: y:1\n      securityContext: *sc\n"
	ws, err := ParseKubernetes([]byte(in), "a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[1].User != "5" || ws[1].Source.Fields[SetUser].Line != 10 {
		t.Fatalf("got %+v", ws)
	}
	// A field written through a merge key is placed at its line in the
	// merged mapping, a merged alias of a list of mappings too.
	in = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      image: x:1\n      securityContext: &sc\n        runAsUser: 5\n" +
		"    - name: b\n      image: y:1\n      securityContext:\n        <<: *sc\n        privileged: false\n" +
		"    - name: c\n      image: z:1\n      securityContext:\n        <<: [*sc]\n"
	if ws, err = ParseKubernetes([]byte(in), "a.yaml"); err != nil {
		t.Fatal(err)
	}
	if len(ws) != 3 || ws[1].User != "5" || ws[1].Source.Fields[SetUser].Line != 9 || ws[2].Source.Fields[SetUser].Line != 9 {
		t.Fatalf("merge keys: got %+v", ws)
	}
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n    l0: &l0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "    l%d: &l%d [*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	if _, err := ParseKubernetes([]byte(b.String()), "bomb.yaml"); err == nil || !strings.Contains(err.Error(), "aliases expand it too far") {
		t.Fatalf("billion laughs: %v", err)
	}
}

func FuzzParseKubernetes(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "k8s", "*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("corpus: %v %d", err, len(files))
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &a [1]\nb: [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ws, err := ParseKubernetes(data, "fuzz.yaml")
		if err != nil {
			if len(ws) != 0 {
				t.Fatalf("error %v with %d workloads", err, len(ws))
			}
			return
		}
		for _, w := range ws {
			if w.Name == "" || w.Source.Document < 1 || w.Source.Path == "" || w.ServiceAccountToken == nil || w.NoNewPrivileges == nil {
				t.Fatalf("incomplete workload %+v", w)
			}
			for _, r := range Rules() {
				if r.Stages&StageFile != 0 && r.Judge != nil {
					r.Judge(&Env{}, &w)
				}
			}
		}
	})
}
