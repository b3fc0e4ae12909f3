package workload

import (
	"path"
	"slices"
	"strings"
)

// Env is what the rules need to know of the host a workload runs on; the
// zero Env is a host hull knows nothing about (a file judged anywhere):
// rules then judge the settings alone. The audit fills one per engine.
type Env struct {
	// Engine is the engine's kind, "docker" or "podman"; "" when unknown.
	Engine string
	// Rootless is set when the engine runs without root on the host.
	Rootless bool
	// UsernsRemap is set when the engine maps container root to an
	// unprivileged host user (dockerd --userns-remap).
	UsernsRemap bool
	// NoNewPrivilegesDefault is set when the engine's configuration makes
	// no-new-privileges the default for every container.
	NoNewPrivilegesDefault bool
	// DataRoots are the engines' data directories, sensitive beside
	// SensitiveHostPaths.
	DataRoots []string
	// EngineSockets are the sockets of the engines on the host, with
	// /var/run spelled /run (RunPath).
	EngineSockets []string
	// MaskedSystemPaths are the paths of EngineMaskedPaths this host's
	// kernel has, judged against what a running container's mounts show.
	MaskedSystemPaths []string
	// HostPaths are the host paths a mount source names: as given and,
	// for an engine on this host, with its symbolic links resolved as the
	// mount resolves them; nil means the source as given.
	HostPaths func(src string) []string
	// Joined is the workload a "container:REF" namespace mode joins (by
	// ID, unique ID prefix or name); nil when unknown.
	Joined func(ref string) *Workload
	// InHostNamespace reports whether the kernel shows w's first process
	// in the host's namespace of a kind ("net", "pid", "ipc", "uts",
	// "user"), and the file that shows it; nil or false when not seen.
	InHostNamespace func(w *Workload, ns string) (proc string, ok bool)
}

// SensitiveHostPaths are host directories no container may mount (CIS
// 5.5); Env.DataRoots add the engines' data directories.
func SensitiveHostPaths() []string {
	return []string{"/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/var/lib/docker", "/var/lib/containers", "/root"}
}

// EngineMaskedPaths are paths under /proc and /sys that Docker and Podman
// both hide from every container that is not privileged (a mount over
// each), where the kernel has them.
func EngineMaskedPaths() []string {
	return []string{"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
		"/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"}
}

// RunPath spells a path under /var/run as under /run, where every
// current distribution links it.
func RunPath(s string) string {
	if s == "/var/run" {
		return "/run"
	}
	if r, ok := strings.CutPrefix(s, "/var/run/"); ok {
		return "/run/" + r
	}
	return s
}

// sensitivePaths are SensitiveHostPaths and the data roots.
func (env *Env) sensitivePaths() []string {
	out := SensitiveHostPaths()
	for _, r := range env.DataRoots {
		if r = path.Clean(r); r != "." && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// hostPaths are the host paths src names; none for a mount without a
// host source (a tmpfs).
func (env *Env) hostPaths(src string) []string {
	switch {
	case src == "":
		return nil
	case env.HostPaths == nil:
		return []string{path.Clean(src)}
	}
	return env.HostPaths(src)
}
