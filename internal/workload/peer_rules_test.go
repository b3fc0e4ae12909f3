package workload

import (
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
)

func peerRule(t *testing.T, id string) Rule {
	t.Helper()
	for _, r := range peerRules() {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no rule %s", id)
	return Rule{}
}

// peerPod is a pod whose containers each show one of the settings the
// peer rules read: Kubernetes' precedence (container over pod) and
// defaults (a request left out is the limit, the pull policy by tag).
const peerPod = `apiVersion: v1
kind: Pod
metadata:
  name: peer
spec:
  hostAliases:
    - ip: 10.0.0.9
      hostnames: [db.internal, cache.internal]
  securityContext:
    runAsGroup: 3000
    fsGroup: 0
    supplementalGroups: [4000]
    windowsOptions:
      hostProcess: true
    seLinuxOptions:
      type: spc_t
    sysctls:
      - {name: net.ipv4.tcp_syncookies, value: "1"}
      - {name: net.core.somaxconn, value: "1024"}
  containers:
    - name: limits-only
      image: app:1.2
      resources:
        limits: {cpu: 500m, memory: 64Mi, ephemeral-storage: 1Gi}
      ports:
        - containerPort: 80
        - containerPort: 8080
          protocol: UDP
      volumeMounts:
        - {name: host, mountPath: /host}
        - {name: share, mountPath: /share}
        - {name: conf, mountPath: /conf}
    - name: written
      image: app:latest
      imagePullPolicy: IfNotPresent
      resources:
        requests: {cpu: 100m, memory: 32Mi, ephemeral-storage: 512Mi}
        limits: {cpu: 500m, memory: 64Mi, ephemeral-storage: 1Gi}
      securityContext:
        runAsUser: 20000
        windowsOptions:
          hostProcess: false
        seLinuxOptions:
          user: system_u
          level: s0:c1,c2
    - name: untagged
      image: reg.example:5000/app
  volumes:
    - name: host
      hostPath: {path: /var/log}
    - name: share
      nfs: {server: nfs.example, path: /export}
    - name: conf
      configMap: {name: conf}
`

func parsePeerPod(t *testing.T) map[string]Workload {
	t.Helper()
	ws, err := ParseKubernetes([]byte(peerPod), "peer.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Workload{}
	for _, w := range ws {
		out[strings.TrimPrefix(w.Name, "Pod peer container ")] = w
	}
	return out
}

// TestKubernetesPeerSettings: what peer-rules.md's converter requirements
// C5, C6 and C8 ask, and the settings the peer rules read.
func TestKubernetesPeerSettings(t *testing.T) {
	ws := parsePeerPod(t)
	lo, wr, un := ws["limits-only"], ws["written"], ws["untagged"]

	// C5: the pod's hostProcess makes a container privileged unless the
	// container says false.
	wantEqual(t, "limits-only privileged", lo.Privileged, true)
	wantPlace(t, lo, SetPrivileged, Place{Path: "spec.securityContext.windowsOptions.hostProcess", Line: 14})
	wantEqual(t, "written privileged", wr.Privileged, false)
	// C6: the group alone is ":GID"; both are "UID:GID"; fsGroup and
	// supplementalGroups are groups.
	wantEqual(t, "limits-only user", lo.User, ":3000")
	wantPlace(t, lo, SetUser, Place{Path: "spec.securityContext.runAsGroup", Line: 10})
	wantEqual(t, "written user", wr.User, "20000:3000")
	wantEqual(t, "groups", lo.Groups, []string{"0", "4000"})
	wantPlace(t, lo, SetGroups, Place{Path: "spec.securityContext.supplementalGroups", Line: 12})
	// C8: a request left out is the limit, but not placed as written.
	wantEqual(t, "limits-only resources", lo.Resources, Resources{Memory: 64 << 20, MemoryRequest: 64 << 20,
		NanoCPUs: 5e8, CPURequest: 5e8, EphemeralStorage: 1 << 30, EphemeralStorageRequest: 1 << 30})
	for _, s := range []string{SetCPURequest, SetMemoryRequest, SetEphemeralStorageRequest} {
		if p, ok := lo.Source.Fields[s]; ok {
			t.Errorf("limits-only: %s placed at %v, but no request is written", s, p)
		}
	}
	wantPlace(t, lo, SetEphemeralStorage, Place{Path: "spec.containers[0].resources.limits.ephemeral-storage", Line: 24})
	wantEqual(t, "written requests", [3]int64{wr.Resources.CPURequest, wr.Resources.MemoryRequest, wr.Resources.EphemeralStorageRequest},
		[3]int64{1e8, 32 << 20, 512 << 20})
	wantPlace(t, wr, SetCPURequest, Place{Path: "spec.containers[1].resources.requests.cpu", Line: 37})

	// The pull policy as written, else Kubernetes' default by tag.
	wantEqual(t, "pull policies", [3]string{lo.PullPolicy, wr.PullPolicy, un.PullPolicy}, [3]string{"IfNotPresent", "IfNotPresent", "Always"})
	wantPlace(t, wr, SetPullPolicy, Place{Path: "spec.containers[1].imagePullPolicy", Line: 35})
	wantEqual(t, "container ports", lo.ContainerPorts, []Port{{ContainerPort: "80", Protocol: "tcp"}, {ContainerPort: "8080", Protocol: "udp"}})
	wantEqual(t, "published ports", lo.Ports, []Port(nil))
	wantEqual(t, "extra hosts", un.ExtraHosts, []string{"db.internal:10.0.0.9", "cache.internal:10.0.0.9"})
	wantPlace(t, un, "extraHosts[1]", Place{Path: "spec.hostAliases[0]", Line: 7})
	wantEqual(t, "mount drivers", []string{lo.Mounts[0].Driver, lo.Mounts[1].Driver, lo.Mounts[2].Driver}, []string{"hostPath", "nfs", "configMap"})
	// seLinuxOptions: the container's replaces the pod's whole.
	wantEqual(t, "pod label", lo.SELinuxLabel, SELinuxLabel{Type: "spc_t"})
	wantEqual(t, "container label", wr.SELinuxLabel, SELinuxLabel{User: "system_u", Level: "s0:c1,c2"})
}

// TestPeerRulesOnKubernetes judges the pod: per container and rule, the
// state and the place the finding points at ("" = passes).
func TestPeerRulesOnKubernetes(t *testing.T) {
	want := map[string]map[string]string{
		"limits-only": {
			"workload-resource-requests":         "fail@resources.cpuRequest spec.containers[0]:21",
			"workload-ephemeral-storage":         "fail@resources.ephemeralStorageRequest spec.containers[0]:21",
			"workload-image-pull-policy":         "fail@pullPolicy spec.containers[0]:21",
			"workload-user-id-range":             "fail@user spec.securityContext.runAsGroup:10",
			"workload-root-group":                "fail@groups spec.securityContext.supplementalGroups:12",
			"workload-capabilities-drop-all":     "fail@capDrop spec.containers[0]:21",
			"workload-host-path":                 "fail@mounts[0] spec.containers[0].volumeMounts[0]:30",
			"workload-privileged-container-port": "fail@containerPorts[0] spec.containers[0].ports[0].containerPort:26",
			"workload-host-aliases":              "fail@extraHosts spec.hostAliases:6",
			"workload-sysctls":                   "fail@sysctls spec.securityContext.sysctls:17",
			"workload-selinux-options":           "fail@selinux spec.securityContext.seLinuxOptions:15",
			"workload-volume-types":              "fail@mounts[1] spec.containers[0].volumeMounts[1]:31",
		},
		"written": {
			"workload-resource-requests": "", "workload-ephemeral-storage": "",
			"workload-image-pull-policy":         "fail@pullPolicy spec.containers[1].imagePullPolicy:35",
			"workload-user-id-range":             "fail@user spec.containers[1].securityContext.runAsUser:40",
			"workload-root-group":                "fail@groups spec.securityContext.supplementalGroups:12",
			"workload-host-path":                 "",
			"workload-privileged-container-port": "",
			"workload-selinux-options":           "fail@selinux spec.containers[1].securityContext.seLinuxOptions:43",
			"workload-volume-types":              "",
		},
		"untagged": {
			// Kubernetes pulls an untagged image every time.
			"workload-image-pull-policy": "",
		},
	}
	ws := parsePeerPod(t)
	for name, rules := range want {
		w := ws[name]
		for id, wantV := range rules {
			v := peerRule(t, id).Judge(&Env{}, &w)
			got := ""
			if v.State != "" {
				p := w.Source.Where(v.Setting)
				got = fmt.Sprintf("%s@%s %s:%d", v.State, v.Setting, p.Path, p.Line)
			}
			if got != wantV {
				t.Errorf("%s %s: %q (%s), want %q", name, id, got, v.Evidence, wantV)
			}
		}
	}
}

// TestPeerRulesOnCompose: the settings Compose has reach the same
// rules, and the Kubernetes-only rules stay silent on a Compose file
// (a bind of ./conf is no hostPath).
func TestPeerRulesOnCompose(t *testing.T) {
	dir := writeProject(t, map[string]string{"compose.yaml": `services:
  web:
    image: nginx:1.27
    pull_policy: missing
    user: "20000:0"
    group_add: ["4000"]
    cap_drop: [NET_RAW]
    expose: ["80", "8080"]
    ports: ["8080:8080"]
    extra_hosts: ["db.internal=10.0.0.9"]
    sysctls: {net.core.somaxconn: 1024, net.ipv4.tcp_syncookies: 1}
    security_opt: ["label=type:unconfined_t"]
    storage_opt: {size: 1G}
    volumes: ["./conf:/etc/nginx/conf.d:ro", "data:/data"]
  hostnet:
    image: nginx:1.27
    pull_policy: always
    user: "20000:20000"
    cap_drop: [ALL]
    network_mode: host
    expose: ["80"]
volumes:
  data:
    driver: nfs
`})
	path := filepath.Join(dir, "compose.yaml")
	ws := services(t, parseComposeFile(t, path, ComposeOptions{}))
	web := ws["web"]
	wantEqual(t, "web pull policy", web.PullPolicy, "IfNotPresent")
	wantEqual(t, "web container ports", web.ContainerPorts, []Port{{ContainerPort: "80", Protocol: "tcp"}, {ContainerPort: "8080", Protocol: "tcp"}})
	wantEqual(t, "web extra hosts", web.ExtraHosts, []string{"db.internal:10.0.0.9"})
	wantEqual(t, "web label", web.SELinuxLabel, SELinuxLabel{Type: "unconfined_t"})
	wantEqual(t, "web storage", web.Resources.EphemeralStorage, int64(1<<30))
	wantEqual(t, "web volume driver", web.Mounts[1].Driver, "nfs")

	want := map[string]map[string]finding.State{
		"web": {
			"workload-image-pull-policy": finding.StateFail, "workload-root-group": finding.StateFail,
			"workload-capabilities-drop-all": finding.StateFail, "workload-host-aliases": finding.StateFail,
			"workload-sysctls": finding.StateFail, "workload-selinux-options": finding.StateFail,
			"workload-user-id-range": finding.StateFail, // GID 0
			// Kubernetes only, or not a risk under Docker's network namespace.
			"workload-resource-requests": "", "workload-ephemeral-storage": "", "workload-host-path": "",
			"workload-volume-types": "", "workload-privileged-container-port": "",
		},
		"hostnet": {
			"workload-image-pull-policy": "", "workload-capabilities-drop-all": "", "workload-user-id-range": "",
			"workload-root-group": "", "workload-privileged-container-port": finding.StateFail,
		},
	}
	for name, rules := range want {
		w := ws[name]
		for id, state := range rules {
			if v := peerRule(t, id).Judge(&Env{}, &w); v.State != state {
				t.Errorf("%s %s: %q (%s), want %q", name, id, v.State, v.Evidence, state)
			}
		}
	}
	if p := web.Source.Where(SetPullPolicy); p.Line != 4 {
		t.Errorf("pull_policy placed at %+v, want line 4", p)
	}
}

// TestPeerRulesCases covers each judgement's edges, the peers' own
// included: kube-score's UID < 10000 against trivy's <= 10000, the pull
// policy Kubernetes defaults by tag, Kubernetes' safe sysctls.
func TestPeerRulesCases(t *testing.T) {
	pod := Source{Kind: "Pod", Fields: map[string]Place{}}
	written := Source{Kind: "Deployment", Fields: map[string]Place{SetCPURequest: {}, SetMemoryRequest: {}, SetEphemeralStorageRequest: {}}}
	compose := Source{Kind: "compose service"}
	cases := []struct {
		rule  string
		w     Workload
		state finding.State
		evid  string
	}{
		{"workload-resource-requests", Workload{Source: pod, Resources: Resources{CPURequest: 1, MemoryRequest: 1}}, finding.StateFail, "no CPU request or memory request written"},
		{"workload-resource-requests", Workload{Source: written}, "", ""},
		{"workload-resource-requests", Workload{Source: compose}, "", ""},
		{"workload-ephemeral-storage", Workload{Source: pod}, finding.StateFail, "no ephemeral-storage limit"},
		{"workload-ephemeral-storage", Workload{Source: pod, Resources: Resources{EphemeralStorage: 1, EphemeralStorageRequest: 1}}, finding.StateFail, "no ephemeral-storage request written"},
		{"workload-ephemeral-storage", Workload{Source: written, Resources: Resources{EphemeralStorage: 1}}, "", ""},
		{"workload-ephemeral-storage", Workload{Source: compose}, "", ""},
		{"workload-image-pull-policy", Workload{PullPolicy: "Always"}, "", ""},
		{"workload-image-pull-policy", Workload{}, "", ""}, // left to the engine
		{"workload-image-pull-policy", Workload{PullPolicy: "Never", Source: Source{Fields: map[string]Place{SetPullPolicy: {}}}}, finding.StateFail, "image pull policy Never"},
		{"workload-image-pull-policy", Workload{PullPolicy: "IfNotPresent", Image: "app@sha256:0123"}, finding.StateFail, "defaults to IfNotPresent for image app@sha256:0123"},
		// kube-score fires below 10000, trivy at 10000 too.
		{"workload-user-id-range", Workload{User: "10000:10001"}, finding.StateFail, "UID 10000 is 10000 or below"},
		{"workload-user-id-range", Workload{User: "10001:10000"}, finding.StateFail, "GID 10000"},
		{"workload-user-id-range", Workload{User: "9999:20000"}, finding.StateFail, "UID 9999"},
		{"workload-user-id-range", Workload{User: "10001:10001"}, "", ""},
		{"workload-user-id-range", Workload{}, finding.StateFail, "UID not set, GID not set"},
		{"workload-user-id-range", Workload{User: ":20000"}, finding.StateFail, "UID not set"},
		{"workload-user-id-range", Workload{User: "app:20000"}, finding.StateWarn, `UID "app" is a name`},
		{"workload-user-id-range", Workload{User: "app"}, finding.StateFail, "GID not set"},
		{"workload-root-group", Workload{User: "1000:0"}, finding.StateFail, "primary group"},
		{"workload-root-group", Workload{User: "1000:root"}, finding.StateFail, "primary group"},
		{"workload-root-group", Workload{User: "0", Groups: []string{"10", "0"}}, finding.StateFail, "supplementary groups (10, 0)"},
		{"workload-root-group", Workload{User: "0:10", Groups: []string{"10"}}, "", ""}, // user 0 is workload-run-as-non-root's
		{"workload-capabilities-drop-all", Workload{CapDrop: []string{"ALL"}, CapAdd: []string{"NET_BIND_SERVICE"}}, "", ""},
		{"workload-capabilities-drop-all", Workload{CapDrop: []string{"NET_RAW"}}, finding.StateFail, "drops NET_RAW but not ALL"},
		{"workload-capabilities-drop-all", Workload{}, finding.StateFail, "no capability dropped"},
		{"workload-host-path", Workload{Source: pod, Mounts: []Mount{{Type: "bind", Source: "/var/log", Destination: "/logs", Driver: "hostPath"}}}, finding.StateFail, "/var/log at /logs"},
		{"workload-host-path", Workload{Source: pod, Mounts: []Mount{{Type: "volume", Source: "conf", Driver: "configMap"}}}, "", ""},
		{"workload-host-path", Workload{Source: compose, Mounts: []Mount{{Type: "bind", Source: "/srv/app/conf", Destination: "/conf"}}}, "", ""},
		{"workload-privileged-container-port", Workload{Source: pod, ContainerPorts: []Port{{ContainerPort: "1024", Protocol: "tcp"}, {ContainerPort: "443", Protocol: "tcp"}}}, finding.StateFail, "443/tcp, below 1024"},
		{"workload-privileged-container-port", Workload{Source: pod, ContainerPorts: []Port{{ContainerPort: "1024"}}}, "", ""},
		{"workload-privileged-container-port", Workload{Source: pod, ContainerPorts: []Port{{ContainerPort: "80"}}, Sysctls: map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"}}, "", ""},
		{"workload-privileged-container-port", Workload{Source: compose, ContainerPorts: []Port{{ContainerPort: "80"}}}, "", ""},
		{"workload-privileged-container-port", Workload{Source: compose, Namespaces: Namespaces{Network: "host"}, ContainerPorts: []Port{{ContainerPort: "20-30", Protocol: "udp"}}}, finding.StateFail, "20-30/udp"},
		{"workload-host-aliases", Workload{ExtraHosts: []string{"db:10.0.0.1"}}, finding.StateFail, "db:10.0.0.1"},
		{"workload-host-aliases", Workload{}, "", ""},
		{"workload-host-aliases", Workload{ExtraHosts: []string{"host.docker.internal:host-gateway"}}, "", ""},
		{"workload-sysctls", Workload{Sysctls: map[string]string{"net.ipv4.tcp_syncookies": "1", "net/ipv4/ip_local_port_range": "1024 65000", "kernel.shm_rmid_forced": "1"}}, "", ""},
		{"workload-sysctls", Workload{Sysctls: map[string]string{"net.ipv4.tcp_syncookies": "1", "kernel.msgmax": "65536", "net.core.somaxconn": "1024"}}, finding.StateFail, "kernel.msgmax=65536, net.core.somaxconn=1024"},
		{"workload-selinux-options", Workload{SELinuxLabel: SELinuxLabel{Type: "container_engine_t", Level: "s0:c1,c2"}}, "", ""},
		{"workload-selinux-options", Workload{SELinuxLabel: SELinuxLabel{Type: "container_init_t"}}, "", ""},
		{"workload-selinux-options", Workload{SELinuxLabel: SELinuxLabel{Type: "spc_t"}}, finding.StateFail, "type spc_t"},
		{"workload-selinux-options", Workload{SELinuxLabel: SELinuxLabel{Role: "system_r"}}, finding.StateFail, "role system_r"},
		{"workload-volume-types", Workload{Source: pod, Mounts: []Mount{{Source: "repo", Destination: "/src", Driver: "gitRepo"}}}, finding.StateFail, "gitRepo volume repo at /src"},
		{"workload-volume-types", Workload{Source: pod, Mounts: []Mount{{Driver: "persistentVolumeClaim"}, {Driver: "csi"}}}, "", ""},
		{"workload-volume-types", Workload{Source: compose, Mounts: []Mount{{Driver: "nfs"}}}, "", ""},
	}
	for i, tc := range cases {
		v := peerRule(t, tc.rule).Judge(&Env{}, &tc.w)
		if v.State != tc.state || !strings.Contains(v.Evidence, tc.evid) {
			t.Errorf("%d %s: %s %q, want %s %q", i, tc.rule, v.State, v.Evidence, tc.state, tc.evid)
		}
	}
}

// TestPeerRulesShape: stable IDs, each rule documented with the peer
// checks it covers, at the file stage and never on a running container,
// a remediation naming the Kubernetes field (and Compose's key where
// Compose has one).
func TestPeerRulesShape(t *testing.T) {
	ids := map[string]bool{}
	for _, r := range manifestRules() {
		ids[r.ID] = true
	}
	n := 0
	for _, r := range peerRules() {
		n++
		if !strings.HasPrefix(r.ID, "workload-") || ids[r.ID] || r.Title == "" || r.Doc == "" || r.Judge == nil ||
			r.Stages&StageFile == 0 || r.Stages&StageRunning != 0 || len(r.References) == 0 {
			t.Errorf("rule %+v", r.Rule)
		}
		for _, ref := range r.References {
			if !strings.HasPrefix(ref, "kube-score ") && !strings.HasPrefix(ref, "trivy KSV-") {
				t.Errorf("%s: reference %q names no peer check", r.ID, ref)
			}
		}
		if r.ID != "workload-volume-types" && !strings.Contains(strings.ToLower(r.Remediation), "compose") {
			t.Errorf("%s: remediation %q does not say what Compose writes", r.ID, r.Remediation)
		}
		ids[r.ID] = true
	}
	if n != 13 {
		t.Errorf("%d peer rules, want 13", n)
	}
}

// TestLibpodPeerSettings: Podman's spec fills what the peer rules read.
func TestLibpodPeerSettings(t *testing.T) {
	w, err := ParseLibpodSpec([]byte(`{"image":"app:1","hostadd":["db:10.0.0.9"],"expose":{"80":"tcp","53":"udp"},
		"selinux_opts":["type:unconfined_t","level:s0"],"portmappings":[{"container_port":8080,"host_port":80,"protocol":"tcp"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "extra hosts", w.ExtraHosts, []string{"db:10.0.0.9"})
	wantEqual(t, "container ports", w.ContainerPorts, []Port{{ContainerPort: "53", Protocol: "udp"}, {ContainerPort: "80", Protocol: "tcp"}, {ContainerPort: "8080", Protocol: "tcp"}})
	wantEqual(t, "label", w.SELinuxLabel, SELinuxLabel{Type: "unconfined_t", Level: "s0"})
	wantEqual(t, "label place", w.Source.Where(SetSELinux).Path, "selinux_opts")
	if v := peerRule(t, "workload-selinux-options").Judge(&Env{}, &w); v.State != finding.StateFail {
		t.Errorf("selinux options: %q, want a failure", v.State)
	}
}

// kube-score's pod-probes: a serving container with only a liveness
// probe has no readiness; a Job's container and an init container are
// not asked.
func TestReadinessProbe(t *testing.T) {
	const stream = `apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      initContainers: [{name: init, image: "api:1"}]
      containers:
      - {name: live, image: "api:1", livenessProbe: {tcpSocket: {port: 80}}}
      - {name: ready, image: "api:1", readinessProbe: {tcpSocket: {port: 80}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: job, image: "api:1"}]
`
	ws, err := ParseKubernetes([]byte(stream), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]finding.State{}
	for i := range ws {
		got[ws[i].Name] = judgeReadiness(nil, &ws[i]).State
	}
	want := map[string]finding.State{"Deployment api initContainer init": "", "Deployment api container live": finding.StateWarn,
		"Deployment api container ready": "", "Job once container job": ""}
	if !maps.Equal(got, want) {
		t.Errorf("readiness verdicts %v, want %v", got, want)
	}
}
