package audit

import (
	"cmp"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/mountinfo"
)

// dangerousCaps are capabilities that give a container a way out or
// control of the host (CAP_ prefix stripped).
var dangerousCaps = []string{"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "SYS_BOOT", "SYS_TIME",
	"NET_ADMIN", "DAC_READ_SEARCH", "BPF", "PERFMON", "MAC_ADMIN", "MAC_OVERRIDE", "SYSLOG", "LINUX_IMMUTABLE"}

// capBits are the kernel's numbers of dangerousCaps (ALL has none).
var capBits = map[string]int{"SYS_ADMIN": unix.CAP_SYS_ADMIN, "SYS_MODULE": unix.CAP_SYS_MODULE, "SYS_PTRACE": unix.CAP_SYS_PTRACE,
	"SYS_RAWIO": unix.CAP_SYS_RAWIO, "SYS_BOOT": unix.CAP_SYS_BOOT, "SYS_TIME": unix.CAP_SYS_TIME, "NET_ADMIN": unix.CAP_NET_ADMIN,
	"DAC_READ_SEARCH": unix.CAP_DAC_READ_SEARCH, "BPF": unix.CAP_BPF, "PERFMON": unix.CAP_PERFMON, "MAC_ADMIN": unix.CAP_MAC_ADMIN,
	"MAC_OVERRIDE": unix.CAP_MAC_OVERRIDE, "SYSLOG": unix.CAP_SYSLOG, "LINUX_IMMUTABLE": unix.CAP_LINUX_IMMUTABLE}

// maskedSystemPaths are paths under /proc and /sys that Docker and
// Podman both hide from every container that is not privileged (a mount
// over each), where the kernel has them.
var maskedSystemPaths = []string{"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
	"/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"}

// sensitiveHostPaths must not be mounted into containers (CIS 5.5).
var sensitiveHostPaths = []string{"/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/var/lib/docker", "/var/lib/containers", "/root"}

// engineSocketNames are sockets that hand over the engine (CIS 5.31).
var engineSocketNames = []string{"docker.sock", "podman.sock", "containerd.sock", "crio.sock", "dockershim.sock"}

// ContainerChecks judge every running container of the engines d found:
// CIS section 5 as far as `docker inspect` shows it.
func ContainerChecks(d *Discovery) []Check {
	each := func(bad finding.State, f func(e *Engine, c *Container) string) func(Probe) Outcome {
		return func(Probe) Outcome { return d.eachContainer(bad, f) }
	}
	hostNS := func(id, cis, title, what, field, ns string, get func(c *Container) string) Check {
		return check(id, cis, finding.SeverityHigh, title,
			fmt.Sprintf("CIS %s: a container sharing the host's %s namespace sees and reaches what the host's processes do there. Joining another container's namespace (--%s=container:NAME) that is the host's counts too, and so does any way the kernel shows the container's processes in the host's namespace.", cis, what, field),
			fmt.Sprintf("Do not run containers with --%s=host, nor join (--%s=container:NAME) a container that has it.", field, field),
			func(p Probe) Outcome {
				return d.eachContainer(finding.StateFail, func(e *Engine, c *Container) string {
					return hostNamespace(p, e, c, field, ns, get)
				})
			})
	}
	return []Check{
		queryCheck(d),
		check("container-privileged", "5.5", finding.SeverityCritical, "No container runs privileged",
			"CIS 5.5: --privileged gives a container every capability, every device and no seccomp or LSM confinement: it is root on the host.",
			"Run without --privileged; grant the one capability or device the workload needs.",
			each(finding.StateFail, func(_ *Engine, c *Container) string {
				if c.HostConfig.Privileged {
					return "privileged"
				}
				return ""
			})),
		check("container-capabilities", "5.4", finding.SeverityHigh, "Containers add no dangerous capabilities",
			"CIS 5.4: capabilities such as SYS_ADMIN, SYS_MODULE, SYS_PTRACE, NET_ADMIN or DAC_READ_SEARCH are known ways out of a container; ALL is --privileged without the devices. Other added capabilities are warned about.",
			"Drop all capabilities (--cap-drop ALL) and add back only what the workload proves it needs.",
			failThenWarn(d, func(_ *Engine, c *Container) string {
				var bad, why []string
				for _, cp := range c.HostConfig.CapAdd {
					if n := normCap(cp); slices.Contains(dangerousCaps, n) && !slices.Contains(bad, n) {
						bad = append(bad, n)
					}
				}
				if len(bad) > 0 {
					why = append(why, "adds "+strings.Join(bad, ", "))
				}
				// What the container holds, whatever its engine's defaults
				// (Podman's default_capabilities) or its inspection say.
				if c.status != nil {
					var held []string
					for _, n := range dangerousCaps {
						if bit, ok := capBits[n]; ok && c.status.CapBnd&(1<<bit) != 0 && !slices.Contains(bad, n) {
							held = append(held, n)
						}
					}
					if len(held) > 0 {
						why = append(why, fmt.Sprintf("holds %s (bounding set of pid %d)", strings.Join(held, ", "), c.State.Pid))
					}
				}
				return strings.Join(why, "; ")
			}, func(_ *Engine, c *Container) string {
				if len(c.HostConfig.CapAdd) > 0 {
					return "adds " + strings.Join(c.HostConfig.CapAdd, ", ")
				}
				return ""
			})),
		check("container-apparmor", "5.2", finding.SeverityMedium, "Containers run under an AppArmor profile",
			"CIS 5.2: the engine's default AppArmor profile denies writes to /proc and /sys and mounts; apparmor=unconfined removes it.",
			"Remove --security-opt apparmor=unconfined; use the default profile or one written for the workload.",
			underLSM(d, "apparmor", "AppArmor", func(c *Container) string {
				if v, ok := c.SecurityOpt("apparmor"); (ok && v == "unconfined") || c.AppArmorProfile == "unconfined" || (c.AppArmorProfile == "" && !c.HostConfig.Privileged) {
					return "no AppArmor profile"
				}
				return ""
			})),
		check("container-selinux", "5.3", finding.SeverityMedium, "SELinux labels are not disabled",
			"CIS 5.3: label=disable runs a container without SELinux separation on SELinux hosts.",
			"Remove --security-opt label=disable.",
			underLSM(d, "selinux", "SELinux", func(c *Container) string {
				if v, ok := c.SecurityOpt("label"); ok && v == "disable" {
					return "label=disable"
				}
				return ""
			})),
		check("container-sensitive-mounts", "5.6", finding.SeverityHigh, "No sensitive host directory is mounted",
			"CIS 5.6: mounting /, /etc, /proc, /sys, /dev, /boot, /usr, /lib or the engine's data directory lets a container change or read the host.",
			"Mount only the directories the workload owns, read-only where it can.",
			func(p Probe) Outcome {
				sensitive := d.sensitivePaths()
				return d.eachContainer(finding.StateFail, func(e *Engine, c *Container) string {
					var bad []string
					for _, m := range c.Mounts {
						if m.Type != "bind" {
							continue
						}
						var src string
						i := -1
						for _, src = range e.hostPaths(p, m.Source) {
							if i = slices.IndexFunc(sensitive, func(s string) bool { return mountinfo.Within(s, src) }); i >= 0 {
								break
							}
						}
						if i < 0 {
							continue
						}
						label := path.Clean(m.Source)
						if src != label {
							label += " (a link to " + src + ")"
						}
						mode := "ro"
						if m.RW {
							mode = "rw"
						}
						what := fmt.Sprintf("%s on %s (%s)", label, m.Destination, mode)
						if src != sensitive[i] {
							what = fmt.Sprintf("%s on %s (%s, holds %s)", label, m.Destination, mode, sensitive[i])
						}
						bad = append(bad, what)
					}
					return strings.Join(bad, ", ")
				})
			}),
		check("container-privileged-ports", "5.8", finding.SeverityLow, "No privileged host port is published",
			"CIS 5.8: host ports below 1024 are meant for services the administrator runs; publishing a container there blurs that line.",
			"Publish on a port of 1024 or above.",
			each(finding.StateWarn, func(_ *Engine, c *Container) string {
				var bad []string
				for _, b := range c.publishedPorts() {
					if n, err := strconv.Atoi(b.HostPort); err == nil && n > 0 && n < 1024 {
						bad = append(bad, b.HostPort)
					}
				}
				return strings.Join(bad, ", ")
			})),
		check("container-sshd", "5.7", finding.SeverityMedium, "No container runs sshd",
			"CIS 5.7: an SSH server in a container is another way in with its own keys and patches; use docker exec.",
			"Remove sshd from the image; reach containers with docker exec or podman exec.",
			func(Probe) Outcome {
				return d.eachContainerProcs(finding.StateFail, func(_ *Engine, c *Container) string {
					for _, cmd := range c.Commands {
						if f := strings.Fields(cmd); len(f) > 0 && path.Base(strings.TrimSuffix(f[0], ":")) == "sshd" {
							return "runs " + cmd
						}
					}
					return ""
				})
			}),
		check("container-published-ports", "5.9", finding.SeverityLow, "Only needed ports are published",
			"CIS 5.9 (manual): every published port is a way in; the list is here to review.",
			"Publish only the ports clients must reach.",
			each(finding.StateWarn, func(_ *Engine, c *Container) string {
				var ports []string
				for _, b := range c.publishedPorts() {
					ports = append(ports, cmp.Or(b.HostIP, "*")+":"+b.HostPort)
				}
				return strings.Join(ports, ", ")
			})),
		hostNS("container-host-network", "5.10", "No container shares the host's network namespace", "network", "network", "net", func(c *Container) string { return c.HostConfig.NetworkMode }),
		check("container-memory-limit", "5.11", finding.SeverityMedium, "Containers have a memory limit",
			"CIS 5.11: without a limit one container can exhaust the host's memory.",
			"Run with --memory (and --memory-swap).",
			each(finding.StateFail, func(e *Engine, c *Container) string {
				if c.HostConfig.Memory <= 0 {
					return "no memory limit"
				}
				if l := c.memoryLimit; l != nil && !l.within(c.HostConfig.Memory) {
					return fmt.Sprintf("a memory limit of %d bytes in its settings, but the kernel enforces %s (%s)", c.HostConfig.Memory, limitText(l.Max), l.Where)
				}
				return ""
			})),
		check("container-cpu-shares", "5.12", finding.SeverityLow, "Containers have a CPU priority or limit",
			"CIS 5.12: containers all at the default share compete evenly with everything else; set shares or a CPU limit.",
			"Run with --cpu-shares or --cpus.",
			each(finding.StateWarn, func(_ *Engine, c *Container) string {
				if (c.HostConfig.CPUShares == 0 || c.HostConfig.CPUShares == 1024) && c.HostConfig.NanoCPUs == 0 && c.HostConfig.CPUQuota == 0 {
					return "default CPU shares, no limit"
				}
				return ""
			})),
		check("container-readonly-rootfs", "5.13", finding.SeverityMedium, "Root filesystems are read-only",
			"CIS 5.13: a writable root filesystem lets an intruder change the container's programs; state belongs in volumes.",
			"Run with --read-only and mount writable volumes or tmpfs where the workload writes.",
			each(finding.StateFail, func(_ *Engine, c *Container) string {
				if !c.HostConfig.ReadonlyRootfs {
					return "writable root filesystem"
				}
				return ""
			})),
		check("container-ports-interface", "5.14", finding.SeverityMedium, "Published ports are bound to a specific interface",
			"CIS 5.14: a port published without a host address listens on every interface, often including public ones.",
			"Publish as -p 127.0.0.1:8080:80 (or the one interface that should serve it).",
			each(finding.StateFail, func(_ *Engine, c *Container) string {
				var bad []string
				for _, b := range c.publishedPorts() {
					if b.HostIP == "" || b.HostIP == "0.0.0.0" || b.HostIP == "::" {
						bad = append(bad, cmp.Or(b.HostIP, "*")+":"+b.HostPort)
					}
				}
				return strings.Join(bad, ", ")
			})),
		check("container-restart-policy", "5.15", finding.SeverityLow, "Restart policies are on-failure with at most 5 retries",
			"CIS 5.15: \"always\" and unbounded retries restart a crashing or exploited container forever and hide the failure.",
			"Use --restart on-failure:5.",
			each(finding.StateFail, func(_ *Engine, c *Container) string {
				rp := c.HostConfig.RestartPolicy
				switch {
				case rp.Name == "always" || rp.Name == "unless-stopped":
					return "restart " + rp.Name
				case rp.Name == "on-failure" && (rp.MaximumRetryCount == 0 || rp.MaximumRetryCount > 5):
					return fmt.Sprintf("on-failure with %d retries (0 = unbounded)", rp.MaximumRetryCount)
				}
				return ""
			})),
		hostNS("container-host-pid", "5.16", "No container shares the host's PID namespace", "PID", "pid", "pid", func(c *Container) string { return c.HostConfig.PidMode }),
		hostNS("container-host-ipc", "5.17", "No container shares the host's IPC namespace", "IPC", "ipc", "ipc", func(c *Container) string { return c.HostConfig.IpcMode }),
		check("container-host-devices", "5.18", finding.SeverityMedium, "No host device is passed through",
			"CIS 5.18: a host device in a container (a disk, /dev/mem, a GPU) is direct access to the hardware behind it.",
			"Pass only the devices the workload needs, read-only (--device /dev/X:/dev/X:r).",
			each(finding.StateWarn, func(_ *Engine, c *Container) string {
				var devs []string
				for _, dv := range c.HostConfig.Devices {
					devs = append(devs, dv.PathOnHost)
				}
				return strings.Join(devs, ", ")
			})),
		check("container-system-paths", "", finding.SeverityHigh, "/proc and /sys stay masked",
			"The engine masks /proc/kcore, /proc/keys, /proc/sysrq-trigger, /sys/firmware and the like and mounts /proc/sys read-only; --security-opt systempaths=unconfined (and --privileged) lifts that, which hands a container the host's kernel knobs. The CIS benchmark is silent on it.",
			"Remove --security-opt systempaths=unconfined.",
			func(p Probe) Outcome {
				var masked []string // the paths both engines mask that this kernel has
				for _, m := range maskedSystemPaths {
					if _, err := p.Stat(m); err == nil {
						masked = append(masked, m)
					}
				}
				return d.eachContainer(finding.StateFail, func(_ *Engine, c *Container) string {
					if v, ok := c.SecurityOpt("systempaths"); ok && v == "unconfined" {
						return "systempaths=unconfined"
					}
					if c.HostConfig.Privileged {
						return ""
					}
					if c.HostConfig.MaskedPaths != nil && len(c.HostConfig.MaskedPaths) == 0 {
						return "no masked paths"
					}
					// What the container's own mounts show (Podman's
					// --security-opt unmask=ALL leaves no trace in inspect).
					if c.mounts == nil {
						return ""
					}
					var open []string
					for _, m := range masked {
						if !slices.ContainsFunc(c.mounts, func(x mountinfo.Mount) bool { return x.MountPoint == m }) {
							open = append(open, m)
						}
					}
					if m, ok := mountinfo.Covering(c.mounts, "/proc/sys"); ok && (m.MountPoint != "/proc/sys" || !m.ReadOnly) {
						open = append(open, "/proc/sys writable")
					}
					if len(open) > 0 {
						return "not masked in its mounts: " + strings.Join(open, ", ")
					}
					return ""
				})
			}),
		check("container-device-rules", "", finding.SeverityHigh, "No container may create every device",
			"A device cgroup rule such as 'a *:* rwm' or 'b *:* rwm' lets a container with CAP_MKNOD create and open the host's disks and memory devices. The CIS benchmark is silent on it (5.18 covers --device only).",
			"Remove --device-cgroup-rule, or narrow it to the one major:minor the workload needs.",
			each(finding.StateFail, func(e *Engine, c *Container) string {
				var bad []string
				// Its settings, and the rules its devices cgroup really
				// has where visible (a rootless engine's containers sit
				// in its user's cgroup, and its user namespace keeps them
				// from any device node the rules would allow).
				rules := c.HostConfig.DeviceCgroupRules
				if !e.Rootless() {
					rules = slices.Concat(rules, c.deviceRules)
				}
				for _, r := range rules {
					// TYPE MAJOR:MINOR ACCESS; "m" alone (create, the
					// engines' default for every device) opens nothing,
					// and every container gets its pseudo-terminals
					// (c 136:*).
					f := strings.Fields(r)
					broad := len(f) >= 2 && (f[0] == "a" || strings.HasPrefix(f[1], "*:") || strings.HasSuffix(f[1], ":*")) &&
						(f[0] != "c" || f[1] != "136:*")
					opens := len(f) < 3 || strings.ContainsAny(f[2], "rw")
					if broad && opens && !slices.Contains(bad, r) {
						bad = append(bad, r)
					}
				}
				return strings.Join(bad, ", ")
			})),
		check("container-mount-propagation", "5.20", finding.SeverityMedium, "No mount is shared with the host",
			"CIS 5.20: shared propagation lets mounts made in the container appear on the host and the other way round.",
			"Use the default private propagation (drop :shared / :rshared).",
			each(finding.StateFail, func(_ *Engine, c *Container) string {
				var bad []string
				for _, m := range c.Mounts {
					if m.Propagation == "shared" || m.Propagation == "rshared" {
						bad = append(bad, m.Destination+" "+m.Propagation)
					}
				}
				return strings.Join(bad, ", ")
			})),
		hostNS("container-host-uts", "5.21", "No container shares the host's UTS namespace", "UTS", "uts", "uts", func(c *Container) string { return c.HostConfig.UTSMode }),
		check("container-seccomp", "5.22", finding.SeverityHigh, "Containers run under a seccomp profile",
			"CIS 5.22: seccomp=unconfined (or --privileged) lets a container call every system call, including the ones most kernel exploits need.",
			"Remove --security-opt seccomp=unconfined; use the default profile or one written for the workload.",
			each(finding.StateFail, func(_ *Engine, c *Container) string {
				if v, ok := c.SecurityOpt("seccomp"); ok && v == "unconfined" {
					return "seccomp=unconfined"
				}
				if c.HostConfig.Privileged {
					return "privileged (no seccomp)"
				}
				if c.status != nil && c.status.Seccomp != 2 {
					return fmt.Sprintf("no seccomp filter: the kernel shows seccomp mode %d for pid %d", c.status.Seccomp, c.State.Pid)
				}
				return ""
			})),
		check("container-cgroup-parent", "5.25", finding.SeverityLow, "Containers use the default cgroup parent",
			"CIS 5.25: a custom --cgroup-parent moves a container out of the limits the engine's cgroup applies.",
			"Remove --cgroup-parent unless the administrator set it on purpose.",
			each(finding.StateWarn, func(_ *Engine, c *Container) string {
				if c.HostConfig.CgroupParent != "" {
					return "cgroup parent " + c.HostConfig.CgroupParent
				}
				return ""
			})),
		check("container-no-new-privileges", "5.26", finding.SeverityMedium, "Containers cannot gain new privileges",
			"CIS 5.26: without no-new-privileges a process in the container can gain privileges through setuid programs and file capabilities.",
			"Run with --security-opt no-new-privileges, or set \"no-new-privileges\": true in daemon.json.",
			each(finding.StateFail, func(e *Engine, c *Container) string {
				if c.status != nil {
					if c.status.NoNewPrivs {
						return ""
					}
					return fmt.Sprintf("no_new_privs is off for pid %d", c.State.Pid)
				}
				if v, ok := c.SecurityOpt("no-new-privileges"); ok {
					if v == "true" {
						return ""
					}
					return "no-new-privileges=" + v
				}
				if e.NoNewPrivilegesDefault() {
					return ""
				}
				return "no-new-privileges not set"
			})),
		check("container-healthcheck", "5.27", finding.SeverityLow, "Containers have a health check",
			"CIS 5.27: a health check lets the engine and orchestrators see a container that runs but no longer works.",
			"Add HEALTHCHECK to the image or --health-cmd to the run.",
			each(finding.StateWarn, func(_ *Engine, c *Container) string {
				if c.Config.Healthcheck == nil {
					return "no health check"
				}
				return ""
			})),
		check("container-pids-limit", "5.29", finding.SeverityMedium, "Containers have a PIDs limit",
			"CIS 5.29: without a PIDs limit a fork bomb in one container takes down the host.",
			"Run with --pids-limit (for example 512).",
			each(finding.StateFail, func(_ *Engine, c *Container) string {
				if c.HostConfig.PidsLimit == nil || *c.HostConfig.PidsLimit <= 0 {
					return "no PIDs limit"
				}
				if l := c.pidsLimit; l != nil && !l.within(*c.HostConfig.PidsLimit) {
					return fmt.Sprintf("a PIDs limit of %d in its settings, but the kernel enforces %s (%s)", *c.HostConfig.PidsLimit, limitText(l.Max), l.Where)
				}
				return ""
			})),
		check("container-default-bridge", "5.30", finding.SeverityLow, "Containers do not use the default bridge",
			"CIS 5.30: the default bridge (docker0) puts every container on one network; user-defined networks isolate and resolve names.",
			"Create a network (docker network create) per application and run containers on it.",
			each(finding.StateWarn, func(e *Engine, c *Container) string {
				if e.Kind != "docker" {
					return ""
				}
				if _, ok := c.NetworkSettings.Networks["bridge"]; ok || c.HostConfig.NetworkMode == "default" || c.HostConfig.NetworkMode == "bridge" {
					return "default bridge"
				}
				return ""
			})),
		hostNS("container-host-userns", "5.31", "No container shares the host's user namespace", "user", "userns", "user", func(c *Container) string { return c.HostConfig.UsernsMode }),
		check("container-engine-socket", "5.32", finding.SeverityCritical, "No container mounts an engine socket",
			"CIS 5.32: the Docker, Podman, containerd or CRI-O socket inside a container gives it control of the engine, which is root on the host.",
			"Do not mount engine sockets; put a filtering proxy that allows only the calls it needs in front if a container must talk to the engine.",
			func(p Probe) Outcome {
				socks := d.engineSocketPaths(p)
				return d.eachContainer(finding.StateFail, func(e *Engine, c *Container) string {
					var bad []string
				mounts:
					for _, m := range c.Mounts {
						if slices.Contains(engineSocketNames, path.Base(m.Source)) || slices.Contains(engineSocketNames, path.Base(m.Destination)) {
							bad = append(bad, m.Source+" on "+m.Destination)
							continue
						}
						for _, src := range e.hostPaths(p, m.Source) {
							src = sameSocket(src)
							if slices.Contains(socks, src) {
								bad = append(bad, m.Source+" on "+m.Destination)
								continue mounts
							}
							// A directory that holds a socket hands it over as
							// well (-v /run:/run, -v /var/run:/host/run).
							if i := slices.IndexFunc(socks, func(s string) bool { return mountinfo.Within(s, src) }); i >= 0 {
								bad = append(bad, fmt.Sprintf("%s on %s (holds %s)", m.Source, m.Destination, socks[i]))
								continue mounts
							}
						}
					}
					return strings.Join(bad, ", ")
				})
			}),
		check("container-root-user", "4.1", finding.SeverityMedium, "Containers do not run as root",
			"CIS 4.1 (judged on the running container): root in a container is root on the host unless the engine is rootless or remaps users; a process that needs no root should not have it. On a rootless or userns-remapped engine this is a warning.",
			"Set USER in the image or run with --user UID:GID.",
			failThenWarn(d, func(e *Engine, c *Container) string {
				if e.Rootless() || e.UsernsRemap() {
					return ""
				}
				// Host and container IDs are the same here: the kernel says
				// who it runs as, whatever name --user gave (a name the
				// image maps to UID 0 is root).
				if c.status != nil {
					if c.status.UID == 0 {
						return fmt.Sprintf("runs as root (%s; pid %d has UID 0)", cmp.Or(c.Config.User, "default user"), c.State.Pid)
					}
					return ""
				}
				if isRootUser(c.Config.User) {
					return "runs as root (" + cmp.Or(c.Config.User, "default user") + ")"
				}
				return ""
			}, func(_ *Engine, c *Container) string {
				if isRootUser(c.Config.User) {
					return "runs as root in the container (mapped to an unprivileged host user)"
				}
				return ""
			})),
	}
}

// wellKnownSockets are where engines put their sockets by default; a
// mounted directory holding one that exists hands the engine over even
// when hull found no engine there.
var wellKnownSockets = []string{"/run/docker.sock", "/run/podman/podman.sock", "/run/containerd/containerd.sock",
	"/run/crio/crio.sock", "/run/dockershim.sock", "/run/docker/containerd/containerd.sock"}

// engineSocketPaths are the sockets of the engines found, whatever their
// names (each engine's unix endpoint and each dockerd's containerd
// socket), and the well-known sockets that exist on this host.
func (d *Discovery) engineSocketPaths(p Probe) []string {
	var out []string
	for _, e := range d.Engines {
		if s, ok := strings.CutPrefix(e.Endpoint, "unix://"); ok {
			out = append(out, sameSocket(path.Clean(s)))
		}
		if e.Config != nil {
			out = append(out, sameSocket(path.Clean(e.Config.ContainerdSocket())))
		}
	}
	for _, s := range wellKnownSockets {
		if fi, err := p.Stat(s); err == nil && fi.Mode()&fs.ModeSocket != 0 && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// sensitivePaths are the host directories no container may mount:
// sensitiveHostPaths and each engine's data root.
func (d *Discovery) sensitivePaths() []string {
	out := slices.Clone(sensitiveHostPaths)
	for _, e := range d.Engines {
		if r := e.Info.DockerRootDir; r != "" && !slices.Contains(out, path.Clean(r)) {
			out = append(out, path.Clean(r))
		}
	}
	return out
}

// hostPaths are the paths a mount source names on the host: as given,
// and, for an engine on this host, with its symbolic links resolved as
// the mount resolves them (-v /srv/link:/x where /srv/link points at
// /etc mounts /etc).
func (e *Engine) hostPaths(p Probe, src string) []string {
	out := []string{path.Clean(src)}
	if e.local {
		if real, ok := realPath(p, src); ok && real != out[0] {
			out = append(out, real)
		}
	}
	return out
}

// limitText says what limit the kernel enforces.
func limitText(n uint64) string {
	if n == 0 {
		return "none"
	}
	return "only " + strconv.FormatUint(n, 10)
}

// maxJoinDepth bounds how many container:NAME hops hostNamespace follows
// (a chain can only be as long as the engine let containers be started
// one after the other; a loop in what an engine says must not hang).
const maxJoinDepth = 16

// hostNamespace says how container c shares the host's namespace of a
// kind (field names its flag, ns its /proc/PID/ns entry), "" when it does
// not: its mode is host, or it joins (container:NAME, through any chain)
// a container whose mode is host, or, for an engine on this host, the
// kernel shows its first process in the namespace hull runs in (which
// also catches Podman's ns:PATH and whatever the mode field does not
// tell).
func hostNamespace(p Probe, e *Engine, c *Container, field, ns string, get func(c *Container) string) string {
	cur := c
	var via []string
	for range maxJoinDepth {
		mode := get(cur)
		if mode == "host" {
			if len(via) == 0 {
				return field + "=host"
			}
			return field + "=container:" + strings.Join(via, ", which joins ") + ", which uses " + field + "=host"
		}
		ref, ok := strings.CutPrefix(mode, "container:")
		if !ok {
			break
		}
		next := e.container(ref)
		if next == nil {
			break
		}
		via = append(via, next.Label())
		cur = next
	}
	// A rootful engine that does not remap users runs every container in
	// the host's user namespace (engine-rootless judges that); only with
	// remapping does being there mean the container asked for it.
	if e.local && c.State.Pid > 0 && (ns != "user" || e.UsernsRemap()) {
		own := fmt.Sprintf("/proc/%d/ns/%s", c.State.Pid, ns)
		if sameFile(p, own, "/proc/self/ns/"+ns) {
			return fmt.Sprintf("its processes are in the host's %s namespace (%s is hull's own)", what(ns), own)
		}
	}
	return ""
}

// what names a namespace kind in plain words.
func what(ns string) string {
	if ns == "net" {
		return "network"
	}
	return strings.ToUpper(ns)
}

// sameFile reports whether two paths are the same file (for namespaces:
// the same namespace); false when either cannot be seen.
func sameFile(p Probe, a, b string) bool {
	fa, err := p.Stat(a)
	if err != nil {
		return false
	}
	fb, err := p.Stat(b)
	if err != nil {
		return false
	}
	sa, ok := fa.Sys().(*syscall.Stat_t)
	sb, ok2 := fb.Sys().(*syscall.Stat_t)
	return ok && ok2 && sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// container finds a running container of e by ID, unique ID prefix or
// name, as --pid=container:NAME names it; nil when there is none.
func (e *Engine) container(ref string) *Container {
	name := strings.TrimPrefix(ref, "/")
	if i := slices.IndexFunc(e.Containers, func(c Container) bool { return c.ID == ref || strings.TrimPrefix(c.Name, "/") == name }); i >= 0 {
		return &e.Containers[i]
	}
	var found *Container
	for i := range e.Containers {
		if len(ref) >= 4 && strings.HasPrefix(e.Containers[i].ID, ref) {
			if found != nil {
				return nil // ambiguous
			}
			found = &e.Containers[i]
		}
	}
	return found
}

func (c *Container) publishedPorts() []PortBinding {
	var out []PortBinding
	for _, bs := range c.HostConfig.PortBindings {
		out = append(out, bs...)
	}
	for _, bs := range c.NetworkSettings.Ports {
		for _, b := range bs {
			if !slices.Contains(out, b) {
				out = append(out, b)
			}
		}
	}
	slices.SortFunc(out, func(a, b PortBinding) int { return strings.Compare(a.HostIP+a.HostPort, b.HostIP+b.HostPort) })
	return out
}

func normCap(c string) string { return strings.TrimPrefix(strings.ToUpper(c), "CAP_") }

func isRootUser(u string) bool {
	name, _, _ := strings.Cut(u, ":")
	return name == "" || name == "0" || name == "root"
}

// failThenWarn fails the containers bad names; when none is bad, it
// warns about those doubtful names.
func failThenWarn(d *Discovery, bad, doubtful func(e *Engine, c *Container) string) func(Probe) Outcome {
	return func(Probe) Outcome {
		if o := d.eachContainer(finding.StateFail, bad); o.State != finding.StatePass {
			return o
		}
		return d.eachContainer(finding.StateWarn, doubtful)
	}
}

// underLSM judges the containers of the engines that report LSM name
// (AppArmor, SELinux) with f; skipped when no engine uses it.
func underLSM(d *Discovery, name, display string, f func(c *Container) string) func(Probe) Outcome {
	return func(Probe) Outcome {
		if len(d.Engines) == 0 {
			return d.none()
		}
		if !slices.ContainsFunc(d.Engines, func(e *Engine) bool { _, ok := e.Info.SecurityOption(name); return ok }) {
			return d.withUnanswered(skip("no engine reports " + display + " support (the kernel has none or the engine does not use it)"))
		}
		return d.eachContainer(finding.StateFail, func(e *Engine, c *Container) string {
			if _, ok := e.Info.SecurityOption(name); !ok {
				return ""
			}
			return f(c)
		})
	}
}
