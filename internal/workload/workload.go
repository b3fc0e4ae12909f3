// Package workload is hull's one container model and the rules over it.
//
// Every shape a container's settings come in is converted into a
// Workload: Docker inspect JSON and create requests (docker.go), Podman's
// libpod create spec (libpod.go), an OCI runtime config.json (oci.go),
// Compose files (compose.go) and Kubernetes manifests (kubernetes.go).
// The rules (rules.go) judge a Workload whatever it came from, so `hull
// audit containers`, `hull config`, the API gate, the launcher and
// admission all give one answer for one setting. Each rule says at which
// stages it applies (a rule about a running process does not fire on a
// file), and a Workload carries where each setting was read, so a finding
// points at a file, a document, a field path and a line.
//
// The package reads bytes and returns values: no engine, no host, no
// network. What only a running container shows (its first process's
// status, its mounts, its cgroup's limits) is filled in by the audit as
// Observed; host facts the rules need (which paths are sensitive, which
// sockets are engines) come in through Env.
package workload

import (
	"strings"

	"github.com/hull-sec/hull/internal/mountinfo"
)

// Stage is when a workload is judged; rules name the stages they apply at.
type Stage uint8

// Stages, earliest first.
const (
	// StageFile is a deployment file: Compose, Kubernetes, an OCI config.
	StageFile Stage = 1 << iota
	// StageRequest is a create request an engine is about to run.
	StageRequest
	// StageRunning is a running container, with what the kernel shows.
	StageRunning
)

// Workload is one container's security-relevant settings, whatever
// format they were written in. The zero value of a field means "not set":
// the engine's or orchestrator's default applies, which the converters
// fill in where the format defines one (Kubernetes' and Compose's
// defaults) and the rules know for the engines.
type Workload struct {
	// Name labels the workload in evidence and exceptions: a container's
	// name and short ID, "compose.yaml service web", "Deployment
	// shop/web container app".
	Name string
	// Stage is what the workload was read from.
	Stage Stage
	// Source is where it was read and where each setting was written.
	Source Source
	// Image is the image reference as written ("nginx", "nginx:1.27",
	// "reg.example/app@sha256:...").
	Image string

	// User is the user as the engine takes it ("1000", "1000:1000",
	// "app", "" for the image's default).
	User string
	// RunAsNonRoot is Kubernetes' runAsNonRoot (the kubelet refuses to
	// start a container whose user is 0), nil when not set.
	RunAsNonRoot *bool
	// Groups are supplementary groups.
	Groups []string

	// CapAdd and CapDrop are capabilities added to and dropped from the
	// engine's default set, upper case without the CAP_ prefix; "ALL"
	// stands for every capability.
	CapAdd, CapDrop []string
	// Privileged gives every capability and device and lifts the
	// seccomp, LSM and masked-path confinement.
	Privileged bool
	// NoNewPrivileges is the process's no_new_privs flag
	// (--security-opt no-new-privileges, allowPrivilegeEscalation:
	// false), nil when not set (the engine's default applies).
	NoNewPrivileges *bool

	// Namespaces are the namespaces shared with the host or another
	// container.
	Namespaces Namespaces
	// Networks are the networks the container is attached to by name
	// ("bridge" is Docker's default bridge).
	Networks []string

	// Mounts are bind mounts, volumes and tmpfs mounts.
	Mounts []Mount
	// Devices are host devices passed through.
	Devices []Device
	// DeviceCgroupRules are device cgroup rules ("c 1:3 rwm").
	DeviceCgroupRules []string

	// Seccomp is the seccomp profile: "" for the engine's default,
	// "unconfined", or the profile's name or path as written.
	Seccomp string
	// AppArmor is the AppArmor profile: "" for the default,
	// "unconfined", or a profile name.
	AppArmor string
	// SELinuxDisabled is set by label=disable (or type spc_t).
	SELinuxDisabled bool
	// SystemPathsUnconfined is --security-opt systempaths=unconfined
	// (Kubernetes' procMount: Unmasked): /proc and /sys unmasked.
	SystemPathsUnconfined bool
	// MaskedPaths and ReadonlyPaths are what the runtime hides or makes
	// read-only; nil when the format leaves them to the engine, empty
	// when it says none.
	MaskedPaths, ReadonlyPaths []string
	// ReadOnlyRootfs mounts the root filesystem read-only.
	ReadOnlyRootfs bool

	// Resources are the limits the container runs under.
	Resources Resources
	// CgroupParent is a custom parent cgroup, "" for the default.
	CgroupParent string

	// Ports are published ports.
	Ports []Port
	// Restart is the restart policy.
	Restart Restart
	// Healthcheck says whether the container has a health check (an
	// image's HEALTHCHECK, --health-cmd, a Compose healthcheck, a
	// Kubernetes liveness or readiness probe); nil when unknown (a file
	// that leaves it to the image).
	Healthcheck *bool
	// ServiceAccountToken is Kubernetes' automountServiceAccountToken as
	// it applies to the pod (pod spec, else true: the default).
	ServiceAccountToken *bool

	// Commands are the command lines running in the container (running
	// containers only).
	Commands []string
	// Observed is what the kernel shows of a running container, nil
	// elsewhere or when not visible.
	Observed *Observed
	// Sysctls are the kernel parameters set in the container's
	// namespaces (--sysctl, Compose's sysctls, Podman's sysctl), as
	// written.
	Sysctls map[string]string
	// VolumesFrom are the containers whose mounts this one takes
	// (--volumes-from, Compose's volumes_from). A Compose service's
	// mounts from another service of its project are in Mounts; those of
	// a container outside the file, or named by a request, are not shown.
	VolumesFrom []string

	// Notes say what the converter read but no rule judges (an OCI
	// config's hooks, which run commands on the host), for the report.
	Notes []string

	// PullPolicy is when the image is pulled, in Kubernetes' words:
	// "Always", "IfNotPresent" or "Never". Kubernetes' default is filled
	// in (Always for :latest or no tag, else IfNotPresent); Compose's
	// pull_policy is mapped (always, missing, never; daily, weekly and
	// every_... as IfNotPresent, build as Never); "" when the format
	// leaves it to the engine.
	PullPolicy string
	// ContainerPorts are the ports the container listens on, published
	// or not (Kubernetes' containerPort, Compose's expose and the
	// targets of its ports); only ContainerPort and Protocol are set.
	ContainerPorts []Port
	// ExtraHosts are entries written into the container's /etc/hosts,
	// "NAME:ADDRESS" (Kubernetes' hostAliases, Compose's extra_hosts,
	// Docker's ExtraHosts, Podman's hostadd).
	ExtraHosts []string
	// SELinuxLabel is the SELinux label the file writes for the
	// container (Kubernetes' seLinuxOptions, label=user:/role:/type:/
	// level: security options); zero when none is written.
	SELinuxLabel SELinuxLabel
	// Readiness says whether a Kubernetes container that serves has a
	// readinessProbe (the Service sends it traffic only when ready); nil
	// where the format has none or the container does not serve (a
	// Job's, an init or ephemeral container).
	Readiness *bool
}

// SELinuxLabel is an SELinux context's parts as written; "" for a part
// left to the runtime.
type SELinuxLabel struct {
	User, Role, Type, Level string
}

// Namespaces say which namespaces a container shares. Each mode is as
// the engine writes it: "" or "private" for its own, "host",
// "container:NAME" to join another container's, "ns:PATH" (Podman),
// a network name for Network.
type Namespaces struct {
	Network, PID, IPC, UTS, User, Cgroup string
}

// Mount is one mount into the container.
type Mount struct {
	// Type is "bind", "volume", "tmpfs", "npipe" or "image"; a
	// Kubernetes hostPath is a bind.
	Type string
	// Source is the host path of a bind, the volume's name, "" for tmpfs.
	Source      string
	Destination string
	ReadOnly    bool
	// Propagation is "", "private", "rprivate", "shared", "rshared",
	// "slave" or "rslave".
	Propagation string
	// Driver is what provides the mount's source: a Kubernetes volume's
	// source kind ("hostPath", "emptyDir", "nfs", "configMap"...), a
	// Compose named volume's driver ("local"); "" when the format does
	// not say.
	Driver string
}

// Device is a host device passed through.
type Device struct {
	PathOnHost, PathInContainer string
	// Permissions are the cgroup permissions ("rwm").
	Permissions string
}

// Resources are a container's limits; 0 (or nil) means none.
type Resources struct {
	// Memory is the memory limit in bytes.
	Memory int64
	// MemoryRequest is Kubernetes' memory request in bytes.
	MemoryRequest int64
	// CPUShares is the relative CPU weight (1024 is the default).
	CPUShares int64
	// NanoCPUs is a CPU limit in billionths of a CPU (--cpus,
	// Kubernetes' limits.cpu).
	NanoCPUs int64
	// CPUQuota is the CFS quota in microseconds per period.
	CPUQuota int64
	// CPURequest is Kubernetes' CPU request in billionths of a CPU.
	CPURequest int64
	// PidsLimit caps the number of processes; nil when unset, <= 0
	// for unlimited.
	PidsLimit *int64
	// EphemeralStorage is the limit on the container's writable layer
	// and logs in bytes (Kubernetes' limits.ephemeral-storage, Docker's
	// --storage-opt size=, Compose's storage_opt size).
	EphemeralStorage int64
	// EphemeralStorageRequest is Kubernetes' requests.ephemeral-storage
	// in bytes.
	EphemeralStorageRequest int64
}

// Port is a published port.
type Port struct {
	// HostIP is the address it listens on, "" for every interface.
	HostIP string
	// HostPort is the host port ("" when the engine picks one).
	HostPort string
	// ContainerPort and Protocol are what it forwards to.
	ContainerPort string
	Protocol      string
}

// Restart is a restart policy.
type Restart struct {
	// Policy is "no", "always", "unless-stopped" or "on-failure";
	// "" for the engine's default (no). Kubernetes pods map Always,
	// OnFailure and Never here.
	Policy string
	// MaxRetries bounds on-failure restarts; 0 is unbounded.
	MaxRetries int
}

// Observed is what the kernel shows of a running container's first
// process, read by the audit from /proc and its cgroup.
type Observed struct {
	// PID is the container's first process on this host.
	PID int
	// UID is its effective user ID.
	UID int
	// CapBnd is its capability bounding set.
	CapBnd uint64
	// Seccomp is its seccomp mode (0 none, 1 strict, 2 filter).
	Seccomp int
	// NoNewPrivs is its no_new_privs flag.
	NoNewPrivs bool
	// StatusKnown says UID, CapBnd, Seccomp and NoNewPrivs were read
	// (/proc/PID/status); false when not visible.
	StatusKnown bool
	// Mounts are the mounts its first process sees (/proc/PID/mountinfo),
	// nil when not visible.
	Mounts []mountinfo.Mount
	// MemoryLimit and PidsLimit are the limits the kernel enforces on its
	// cgroup, nil when not visible (a rootless engine on cgroup v1 reports
	// limits it cannot apply).
	MemoryLimit, PidsLimit *CgroupLimit
	// DeviceRules are the device rules its cgroup enforces, nil when not
	// visible (Podman's inspect leaves --device-cgroup-rule out).
	DeviceRules []string
}

// CgroupLimit is a limit the kernel enforces on a process's own cgroup.
type CgroupLimit struct {
	// Max is the limit; 0 when there is none ("max", v1's page-rounded
	// largest value, or the root cgroup, which takes no limit).
	Max uint64
	// Where names the limit file read (or the root cgroup), for evidence.
	Where string
}

// within reports whether the kernel enforces a limit of at most want.
func (l *CgroupLimit) within(want int64) bool { return l.Max > 0 && l.Max <= uint64(want) }

// Source is where a workload was read.
type Source struct {
	// File is the path read ("-" for standard input), "" for a workload
	// from an engine.
	File string
	// Document is the 1-based document of a multi-document YAML file, 0
	// for single-document formats.
	Document int
	// Kind is the format's word for what holds the container:
	// "Deployment", "CronJob", "compose service", "OCI config",
	// "container".
	Kind string
	// Path is the field path of the container's settings in the
	// document ("spec.template.spec.containers[0]", "services.web").
	Path string
	// Line is the line of Path in File, 0 when unknown.
	Line int
	// Fields says where each setting was written: a setting (one of the
	// Set* names) to its place in the document.
	Fields map[string]Place
	// Outside names the settings the format leaves to someone else, with
	// who (a pod cannot set its PIDs limit: the kubelet's podPidsLimit
	// does): a verdict about one is not a finding of the file, and the
	// rule's status says who decides instead.
	Outside map[string]string
}

// Place is a field in a document.
type Place struct {
	// Path is the field path ("spec.template.spec.hostNetwork").
	Path string
	// Line is its line, 0 when unknown.
	Line int
	// File is the file the field is in when it is not Source.File (a
	// Compose setting inherited through `extends` from another file),
	// "" otherwise.
	File string
}

// Where returns where setting was written: its own place, else the
// container's (a finding about a missing setting points at the
// container that lacks it).
func (s Source) Where(setting string) Place {
	if p, ok := s.Fields[setting]; ok {
		return p
	}
	return Place{Path: s.Path, Line: s.Line}
}

// Setting names, the keys of Source.Fields and of Verdict.Setting: one per
// Workload field a rule reads.
const (
	SetImage               = "image"
	SetUser                = "user"
	SetRunAsNonRoot        = "runAsNonRoot"
	SetCapAdd              = "capAdd"
	SetCapDrop             = "capDrop"
	SetPrivileged          = "privileged"
	SetNoNewPrivileges     = "noNewPrivileges"
	SetNetwork             = "namespaces.network"
	SetPID                 = "namespaces.pid"
	SetIPC                 = "namespaces.ipc"
	SetUTS                 = "namespaces.uts"
	SetUserNS              = "namespaces.user"
	SetMounts              = "mounts"
	SetDevices             = "devices"
	SetDeviceCgroupRules   = "deviceCgroupRules"
	SetSeccomp             = "seccomp"
	SetAppArmor            = "apparmor"
	SetSELinux             = "selinux"
	SetSystemPaths         = "systemPaths"
	SetReadOnlyRootfs      = "readOnlyRootfs"
	SetMemory              = "resources.memory"
	SetCPU                 = "resources.cpu"
	SetPidsLimit           = "resources.pids"
	SetCgroupParent        = "cgroupParent"
	SetPorts               = "ports"
	SetRestart             = "restart"
	SetHealthcheck         = "healthcheck"
	SetServiceAccountToken = "serviceAccountToken"
	// SetCgroupNS is where the cgroup namespace mode was written.
	SetCgroupNS    = "namespaces.cgroup"
	SetSysctls     = "sysctls"
	SetVolumesFrom = "volumesFrom"
	// SetGroups is where the supplementary groups were written
	// (supplementalGroups, fsGroup, group_add).
	SetGroups = "groups"
	// SetMemoryRequest and SetCPURequest are where a request was
	// written; absent when Kubernetes defaults it to the limit.
	SetMemoryRequest = "resources.memoryRequest"
	SetCPURequest    = "resources.cpuRequest"
	// SetEphemeralStorage and SetEphemeralStorageRequest are where the
	// ephemeral-storage limit and request were written.
	SetEphemeralStorage        = "resources.ephemeralStorage"
	SetEphemeralStorageRequest = "resources.ephemeralStorageRequest"
	SetPullPolicy              = "pullPolicy"
	// SetContainerPorts is where the container's ports are written;
	// "containerPorts[N]" for one of them.
	SetContainerPorts = "containerPorts"
	// SetExtraHosts is where /etc/hosts entries are written;
	// "extraHosts[N]" for one of them.
	SetExtraHosts = "extraHosts"
	// SetReadiness is where a readinessProbe is written.
	SetReadiness = "readiness"
)

// capName writes a capability as the model does: upper case, no CAP_.
func capName(c string) string {
	return strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
}
