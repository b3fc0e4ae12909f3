package workload

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
)

// peerRules are the manifest checks kube-score (v1.20.0) and trivy
// config (v0.74.0) make that no container rule already makes
// (bench/peer-rules.md maps every peer check to the hull rule that
// covers it). Each names the peer checks it covers in References. Some
// only mean something where Kubernetes runs the container (a volume
// plugin, a request the scheduler reads); those say how they judge other
// formats, and never fire on a setting that is safe there.
func peerRules() []Rule {
	return []Rule{
		{Rule: finding.Rule{ID: "workload-resource-requests", Severity: finding.SeverityLow,
			Title: "Pods write their CPU and memory requests",
			Doc: "The scheduler places a pod by its requests and the kubelet evicts first the pods that use more than they " +
				"requested. Kubernetes copies a limit into a request left out, which reserves the whole limit and hides the " +
				"choice; a request written says what the container needs. Judged on Kubernetes manifests only: a single-host " +
				"engine schedules nothing (Compose's deploy.resources.reservations matter to Swarm alone).",
			Remediation: "Set resources.requests.cpu and resources.requests.memory on every container " +
				"(in Compose, for Swarm, deploy.resources.reservations cpus and memory).",
			References: []string{"kube-score container-resources", "trivy KSV-0015", "trivy KSV-0016"}},
			Stages: StageFile, Judge: judgeRequests},
		{Rule: finding.Rule{ID: "workload-ephemeral-storage", Severity: finding.SeverityLow,
			Title: "Pods set an ephemeral-storage limit and request",
			Doc: "A container's writable layer, logs and emptyDir volumes fill the node's disk; without an ephemeral-storage " +
				"limit one container can exhaust it for every pod there, and without a request the scheduler cannot place " +
				"it by disk. Judged on Kubernetes manifests only: Docker's storage_opt size works on a few storage drivers alone, " +
				"so a Compose file is not expected to set it (hull reads it when written).",
			Remediation: "Set resources.limits.ephemeral-storage and resources.requests.ephemeral-storage on every container " +
				"(Docker: --storage-opt size=, Compose: storage_opt: {size: ...} where the storage driver supports it).",
			References: []string{"kube-score container-ephemeral-storage-request-and-limit"}},
			Stages: StageFile, Judge: judgeEphemeralStorage},
		{Rule: finding.Rule{ID: "workload-readiness-probe", Severity: finding.SeverityLow,
			Title: "Serving containers have a readiness probe",
			Doc: "Kubernetes sends a Service's traffic to a pod as soon as its containers start unless a readinessProbe says " +
				"when each is ready, and keeps sending it to one that hangs; a liveness probe only restarts it. kube-score " +
				"fires when no container of a pod a Service selects has one; hull asks it of every container of a " +
				"long-running pod (not a Job's, nor init and ephemeral containers, which Kubernetes does not probe for readiness).",
			Remediation: "Add readinessProbe (httpGet, tcpSocket, grpc or exec) to the container (Compose has no readiness gate: its healthcheck is container-healthcheck's).",
			References:  []string{"kube-score pod-probes"}},
			Stages: StageFile, Judge: judgeReadiness},
		{Rule: finding.Rule{ID: "workload-image-pull-policy", Severity: finding.SeverityLow,
			Title: "Images are pulled every time a container starts (imagePullPolicy: Always)",
			Doc: "With IfNotPresent or Never a node runs whatever copy of the tag it already has: another version than the " +
				"registry's, and, for a private image, without the pod ever showing its pull credentials (any pod on the node " +
				"may use an image another pod pulled). Always makes the kubelet ask the registry (a digest that did not change " +
				"is not downloaded again). Kubernetes' default is Always only for :latest or untagged images. In Compose " +
				"the rule judges pull_policy only where the file writes it.",
			Remediation: "Set imagePullPolicy: Always on the container (or enable the AlwaysPullImages admission plugin); " +
				"in Compose, pull_policy: always.",
			References: []string{"kube-score container-image-pull-policy"}},
			Stages: StageFile, Judge: judgePullPolicy},
		{Rule: finding.Rule{ID: "workload-user-id-range", Severity: finding.SeverityLow,
			Title: "Containers run with a UID and GID above 10000",
			Doc: "IDs up to 10000 are the ones images and hosts give their own users and groups; a container that runs as " +
				"one of them shares that identity's files and rights with a host user should it escape (or through a " +
				"shared volume). A high numeric UID and GID written in the file are an identity no one else has. " +
				"kube-score fires below 10000 and trivy at 10000 and below; the rule fires at 10000 and below, covering both.",
			Remediation: "Set securityContext.runAsUser and runAsGroup above 10000 (pod or container level); " +
				"in Compose, user: \"UID:GID\" with both above 10000.",
			References: []string{"kube-score container-security-context-user-group-id", "trivy KSV-0020", "trivy KSV-0021"}},
			Stages: StageFile | StageRequest, Judge: judgeUserIDRange},
		{Rule: finding.Rule{ID: "workload-root-group", Severity: finding.SeverityLow,
			Title: "Containers do not run with the root group (GID 0)",
			Doc: "Group 0 owns many files on the host and in images (/etc, sockets, devices) with group write; a process " +
				"with GID 0 as its primary or a supplementary group (fsGroup, supplementalGroups, group_add) reads and writes " +
				"them, and keeps doing so should it escape.",
			Remediation: "Set runAsGroup and fsGroup to a non-zero GID and remove 0 from supplementalGroups; " +
				"in Compose, user: \"UID:GID\" with a non-zero GID and no 0 or root in group_add.",
			References: []string{"trivy KSV-0116"}},
			Stages: StageFile | StageRequest, Judge: judgeRootGroup},
		{Rule: finding.Rule{ID: "workload-capabilities-drop-all", Severity: finding.SeverityLow,
			Title: "Containers drop all capabilities (and add back only what they need)",
			Doc: "The runtime's default set (CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID, NET_RAW, MKNOD...) is far more " +
				"than most processes use; each is a step for an attacker (NET_RAW spoofs packets, DAC_OVERRIDE ignores file " +
				"modes). Dropping ALL and adding back the few needed keeps only those. container-capabilities judges what is added.",
			Remediation: "Set securityContext.capabilities.drop: [\"ALL\"] and add only what the process needs " +
				"(e.g. NET_BIND_SERVICE); in Compose, cap_drop: [ALL] and cap_add.",
			References: []string{"trivy KSV-0003", "trivy KSV-0004", "trivy KSV-0106"}},
			Stages: StageFile | StageRequest, Judge: judgeDropAll},
		{Rule: finding.Rule{ID: "workload-host-path", Severity: finding.SeverityMedium,
			Title: "Pods do not mount hostPath volumes",
			Doc: "A hostPath volume gives the container a directory of whichever node the pod lands on: node files to read or " +
				"change, a way to plant files for the node (or for a later pod) and a tie to the node's layout. " +
				"container-sensitive-mounts and container-engine-socket say which paths are worse. Judged on Kubernetes " +
				"manifests only: a Compose bind mount (./conf:/etc/app) is how a single-host project ships its files, and " +
				"the container rules judge the binds that reach sensitive host paths.",
			Remediation: "Replace the hostPath volume with a configMap, secret, emptyDir or persistentVolumeClaim; " +
				"if the node's files are the point (an agent), run it in its own namespace with a readOnly mount. " +
				"In Compose, prefer named volumes to binds outside the project.",
			References: []string{"trivy KSV-0023"}},
			Stages: StageFile, Judge: judgeHostPath},
		{Rule: finding.Rule{ID: "workload-privileged-container-port", Severity: finding.SeverityLow,
			Title: "Containers listen on ports from 1024 up",
			Doc: "Binding a port below 1024 takes root or CAP_NET_BIND_SERVICE in the container, unless the network " +
				"namespace lowers net.ipv4.ip_unprivileged_port_start; a high port lets the process run without either. " +
				"Docker (20.10 and later) sets ip_unprivileged_port_start to 0 in every container network namespace of its " +
				"own, so for Compose and engine requests the rule judges only containers on the host's network.",
			Remediation: "Listen on a port from 1024 up (ports[].containerPort) and map the Service's port to it; " +
				"in Compose, change expose and the ports' container side (the published host port may stay 80).",
			References: []string{"trivy KSV-0117"}},
			Stages: StageFile | StageRequest, Judge: judgePrivilegedContainerPort},
		{Rule: finding.Rule{ID: "workload-host-aliases", Severity: finding.SeverityLow,
			Title: "Containers do not pin names in /etc/hosts",
			Doc: "hostAliases (Compose's extra_hosts) write fixed name-to-address entries into the container's /etc/hosts, " +
				"ahead of DNS: they go stale when the address moves, and point the name wherever the file says, unseen by the " +
				"cluster's DNS and its policies. Docker's host-gateway (the host's own address, looked up at create time) is not judged.",
			Remediation: "Remove spec.hostAliases and resolve the names through DNS (a Service, an ExternalName Service); " +
				"in Compose, remove extra_hosts.",
			References: []string{"trivy KSV-0007"}},
			Stages: StageFile, Judge: judgeHostAliases},
		{Rule: finding.Rule{ID: "workload-sysctls", Severity: finding.SeverityMedium,
			Title: "Containers set only safe sysctls",
			Doc: "Kubernetes calls a handful of sysctls safe: namespaced and unable to affect other pods or the node " +
				"(kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, ip_unprivileged_port_start, tcp_syncookies, " +
				"ping_group_range, ip_local_reserved_ports, tcp_keepalive_time/intvl/probes, tcp_fin_timeout, tcp_rmem, " +
				"tcp_wmem, as of Kubernetes 1.32). Any other needs the kubelet's --allowed-unsafe-sysctls, and may change " +
				"kernel limits shared with other containers. The same list judges Compose's sysctls.",
			Remediation: "Remove securityContext.sysctls outside the safe set (or tune them on the node); " +
				"in Compose, remove those sysctls.",
			References: []string{"trivy KSV-0026"}},
			Stages: StageFile | StageRequest, Judge: judgeSysctls},
		{Rule: finding.Rule{ID: "workload-selinux-options", Severity: finding.SeverityMedium,
			Title: "Containers keep a container SELinux type and set no SELinux user or role",
			Doc: "The runtime gives a container the container_t type with a unique level; another type (spc_t, unconfined_t, " +
				"a host daemon's) or a custom user or role takes it out of that confinement. Kubernetes' baseline Pod " +
				"Security allows only container_t, container_init_t, container_kvm_t and container_engine_t, and no user or role.",
			Remediation: "Remove seLinuxOptions.user, .role and any type other than container_t (a level is fine); " +
				"in Compose, security_opt label:user:/role:/type: options.",
			References: []string{"trivy KSV-0025"}},
			Stages: StageFile | StageRequest, Judge: judgeSELinuxOptions},
		{Rule: finding.Rule{ID: "workload-volume-types", Severity: finding.SeverityLow,
			Title: "Pods use only core volume types",
			Doc: "Volume types such as nfs, iscsi, rbd, gitRepo or flexVolume are mounted by the node itself (kernel " +
				"filesystems, host binaries, a git clone as root) from what the pod names: the node does the work the pod asks, " +
				"with its privileges. Kubernetes' restricted Pod Security allows configMap, csi, downwardAPI, emptyDir, " +
				"ephemeral, persistentVolumeClaim, projected and secret. Judged on Kubernetes manifests only: a Compose volume " +
				"driver is a plugin the host's administrator installed.",
			Remediation: "Use a persistentVolumeClaim (with a StorageClass or CSI driver) instead of the in-tree volume type.",
			References:  []string{"trivy KSV-0028"}},
			Stages: StageFile, Judge: judgeVolumeTypes},
	}
}

func judgeRequests(_ *Env, w *Workload) Verdict {
	if !IsKubernetesKind(w.Source.Kind) {
		return Verdict{}
	}
	return missingWritten(w, "request", SetCPURequest, "CPU", SetMemoryRequest, "memory")
}

func judgeEphemeralStorage(_ *Env, w *Workload) Verdict {
	if !IsKubernetesKind(w.Source.Kind) {
		return Verdict{}
	}
	if w.Resources.EphemeralStorage <= 0 {
		return Verdict{State: finding.StateFail, Setting: SetEphemeralStorage, Evidence: "no ephemeral-storage limit"}
	}
	return missingWritten(w, "request", SetEphemeralStorageRequest, "ephemeral-storage")
}

// missingWritten fails when some of the settings (pairs of a Set* name
// and its word) were not written in the file, pointing at the first.
func missingWritten(w *Workload, what string, pairs ...string) Verdict {
	var missing []string
	setting := ""
	for i := 0; i+1 < len(pairs); i += 2 {
		if _, ok := w.Source.Fields[pairs[i]]; !ok {
			missing = append(missing, pairs[i+1]+" "+what)
			setting = cmp.Or(setting, pairs[i])
		}
	}
	if len(missing) == 0 {
		return Verdict{}
	}
	return Verdict{State: finding.StateFail, Setting: setting, Evidence: "no " + strings.Join(missing, " or ") + " written"}
}

func judgePullPolicy(_ *Env, w *Workload) Verdict {
	switch w.PullPolicy {
	case "", "Always":
		return Verdict{}
	}
	why := "image pull policy " + w.PullPolicy
	if _, ok := w.Source.Fields[SetPullPolicy]; !ok {
		why = fmt.Sprintf("no imagePullPolicy: Kubernetes defaults to %s for image %s", w.PullPolicy, w.Image)
	}
	return Verdict{State: finding.StateFail, Setting: SetPullPolicy, Evidence: why}
}

// highID is the highest user or group ID the workload-user-id-range rule
// calls low: kube-score wants 10000 and up, trivy above 10000.
const highID = 10000

// userGroup splits a workload's user into its user and group parts as
// written ("" when absent).
func userGroup(w *Workload) (user, group string) {
	user, group, _ = strings.Cut(w.User, ":")
	return user, group
}

func judgeUserIDRange(_ *Env, w *Workload) Verdict {
	user, group := userGroup(w)
	var bad []string
	state := finding.State("")
	for _, id := range []struct{ what, v string }{{"UID", user}, {"GID", group}} {
		n, err := strconv.ParseInt(id.v, 10, 64)
		switch {
		case id.v == "":
			bad, state = append(bad, id.what+" not set"), finding.StateFail
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s %q is a name: only a number shows it is above %d", id.what, id.v, highID))
			state = cmp.Or(state, finding.StateWarn)
		case n <= highID:
			bad, state = append(bad, fmt.Sprintf("%s %d is %d or below", id.what, n, highID)), finding.StateFail
		}
	}
	if len(bad) == 0 {
		return Verdict{}
	}
	return Verdict{State: state, Setting: SetUser, Evidence: strings.Join(bad, ", ")}
}

// isRootGroup reports whether a group as written is the root group.
func isRootGroup(g string) bool { return g == "0" || g == "root" }

func judgeRootGroup(_ *Env, w *Workload) Verdict {
	if _, group := userGroup(w); isRootGroup(group) {
		return Verdict{State: finding.StateFail, Setting: SetUser, Evidence: "runs with group 0 (root) as its primary group"}
	}
	if slices.ContainsFunc(w.Groups, isRootGroup) {
		return Verdict{State: finding.StateFail, Setting: SetGroups, Evidence: "group 0 (root) is one of its supplementary groups (" + strings.Join(w.Groups, ", ") + ")"}
	}
	return Verdict{}
}

func judgeDropAll(_ *Env, w *Workload) Verdict {
	if slices.Contains(w.CapDrop, "ALL") {
		return Verdict{}
	}
	if len(w.CapDrop) == 0 {
		return Verdict{State: finding.StateFail, Setting: SetCapDrop, Evidence: "no capability dropped: runs with the runtime's whole default set"}
	}
	return Verdict{State: finding.StateFail, Setting: SetCapDrop,
		Evidence: "drops " + strings.Join(w.CapDrop, ", ") + " but not ALL: keeps the rest of the runtime's default set"}
}

func judgeHostPath(_ *Env, w *Workload) Verdict {
	if !IsKubernetesKind(w.Source.Kind) {
		return Verdict{}
	}
	var paths []string
	setting := ""
	for i, m := range w.Mounts {
		if m.Driver != "hostPath" {
			continue
		}
		paths = append(paths, fmt.Sprintf("%s at %s", m.Source, m.Destination))
		setting = cmp.Or(setting, itemKey(SetMounts, i))
	}
	if len(paths) == 0 {
		return Verdict{}
	}
	return Verdict{State: finding.StateFail, Setting: setting, Evidence: "mounts the node's " + strings.Join(paths, ", ")}
}

func judgePrivilegedContainerPort(_ *Env, w *Workload) Verdict {
	if !IsKubernetesKind(w.Source.Kind) && w.Namespaces.Network != "host" {
		return Verdict{} // the engine lets any user bind any port, see the rule's doc
	}
	start := int64(1024)
	if v, ok := w.Sysctls["net.ipv4.ip_unprivileged_port_start"]; ok && w.Namespaces.Network != "host" {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			start = n
		}
	}
	var low []string
	setting := ""
	for i, p := range w.ContainerPorts {
		first, _, _ := strings.Cut(p.ContainerPort, "-")
		n, err := strconv.ParseInt(first, 10, 64)
		if err != nil || n <= 0 || n >= start {
			continue
		}
		low = append(low, p.ContainerPort+"/"+p.Protocol)
		setting = cmp.Or(setting, itemKey(SetContainerPorts, i))
	}
	if len(low) == 0 {
		return Verdict{}
	}
	return Verdict{State: finding.StateFail, Setting: setting,
		Evidence: fmt.Sprintf("listens on %s, below %d: needs root or NET_BIND_SERVICE", strings.Join(low, ", "), start)}
}

func judgeHostAliases(_ *Env, w *Workload) Verdict {
	var pinned []string
	for _, h := range w.ExtraHosts {
		// host-gateway is Docker's name for the host's address, which
		// the engine looks up when it creates the container: nothing
		// pinned goes stale.
		if _, addr, _ := strings.Cut(h, ":"); addr != "host-gateway" {
			pinned = append(pinned, h)
		}
	}
	if len(pinned) == 0 {
		return Verdict{}
	}
	return Verdict{State: finding.StateFail, Setting: SetExtraHosts, Evidence: "/etc/hosts entries " + strings.Join(pinned, ", ")}
}

// safeSysctls are Kubernetes' safe sysctls (1.32): namespaced, and
// unable to affect other pods or the node.
var safeSysctls = []string{
	"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
}

func judgeSysctls(_ *Env, w *Workload) Verdict {
	var unsafe []string
	for _, name := range slices.Sorted(maps.Keys(w.Sysctls)) {
		// Kubernetes and the kernel accept "/" as the separator too.
		if !slices.Contains(safeSysctls, strings.ReplaceAll(name, "/", ".")) {
			unsafe = append(unsafe, name+"="+w.Sysctls[name])
		}
	}
	if len(unsafe) == 0 {
		return Verdict{}
	}
	return Verdict{State: finding.StateFail, Setting: SetSysctls, Evidence: "sysctls outside the safe set: " + strings.Join(unsafe, ", ")}
}

// containerSELinuxTypes are the types Kubernetes' baseline Pod Security
// allows (container_engine_t since 1.31).
var containerSELinuxTypes = []string{"container_t", "container_init_t", "container_kvm_t", "container_engine_t"}

func judgeSELinuxOptions(_ *Env, w *Workload) Verdict {
	l := w.SELinuxLabel
	var bad []string
	if l.User != "" {
		bad = append(bad, "user "+l.User)
	}
	if l.Role != "" {
		bad = append(bad, "role "+l.Role)
	}
	if l.Type != "" && !slices.Contains(containerSELinuxTypes, l.Type) {
		bad = append(bad, "type "+l.Type)
	}
	if len(bad) == 0 {
		return Verdict{}
	}
	return Verdict{State: finding.StateFail, Setting: SetSELinux, Evidence: "SELinux " + strings.Join(bad, ", ")}
}

// nodeVolumeTypes are the volume types the node mounts itself from what
// the pod names (trivy-checks' KSV-0028 list).
var nodeVolumeTypes = []string{
	"gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs", "rbd", "flexVolume",
	"cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk", "portworxVolume",
	"scaleIO", "storageos",
}

func judgeVolumeTypes(_ *Env, w *Workload) Verdict {
	if !IsKubernetesKind(w.Source.Kind) {
		return Verdict{}
	}
	var bad []string
	setting := ""
	for i, m := range w.Mounts {
		if slices.Contains(nodeVolumeTypes, m.Driver) {
			bad = append(bad, fmt.Sprintf("%s volume %s at %s", m.Driver, m.Source, m.Destination))
			setting = cmp.Or(setting, itemKey(SetMounts, i))
		}
	}
	if len(bad) == 0 {
		return Verdict{}
	}
	return Verdict{State: finding.StateFail, Setting: setting, Evidence: strings.Join(bad, ", ")}
}

func judgeReadiness(_ *Env, w *Workload) Verdict {
	if w.Readiness == nil || *w.Readiness {
		return Verdict{}
	}
	return Verdict{State: finding.StateWarn, Setting: SetReadiness, Evidence: "no readinessProbe"}
}
