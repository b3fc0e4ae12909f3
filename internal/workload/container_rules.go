package workload

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/mountinfo"
)

// The container rules: CIS Docker Benchmark section 5 (and 4.1) as far as
// a container's settings and, once it runs, the kernel show it. They are
// `hull audit containers`' checks: the audit converts each container it
// inspects (FromInspect, with Commands and Observed) and judges it here.
//
// Where a rule applies: every rule judges settings at every stage where
// the setting means the same, and reads Observed (what the kernel shows)
// only when a running container has it; container-sshd judges the
// processes running, so it applies to running containers only. Rules
// whose meaning depends on where they are judged:
//   - container-default-bridge judges Docker's default bridge: it is
//     silent for an engine known not to be Docker (Podman has no docker0),
//     and judges a file or request for an unknown engine as Docker would
//     run it (network_mode: bridge, a create request without a network).
//   - container-apparmor judges the profile named; on a running container
//     the inspection also says which one the engine applied ("" for none).
//     The audit runs it only on engines that report AppArmor.
//   - container-root-user judges the user as written; on a rootless or
//     user-remapping engine (Env) root in the container is an unprivileged
//     host user, a warning. A file or request that names no user leaves
//     it to the image, which it does not show: no verdict (an inspection
//     holds the image's user merged in, so "" there is root).
//   - container-memory-limit, container-cpu-shares,
//     container-no-new-privileges and container-root-user judge
//     requests and running containers; on a file the manifest rules
//     workload-resource-limits, workload-privilege-escalation and
//     workload-run-as-non-root judge the same concerns in the file's
//     terms (engineStages).
//   - container-healthcheck: a file or request that names no health
//     check leaves the image's in place (Healthcheck nil): no verdict.

// dangerousCaps are capabilities that give a container a way out or
// control of the host (CAP_ prefix stripped).
var dangerousCaps = []string{"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "SYS_BOOT", "SYS_TIME",
	"NET_ADMIN", "DAC_READ_SEARCH", "BPF", "PERFMON", "MAC_ADMIN", "MAC_OVERRIDE", "SYSLOG", "LINUX_IMMUTABLE"}

// capBits are the kernel's numbers of dangerousCaps (ALL has none).
var capBits = map[string]int{"SYS_ADMIN": 21, "SYS_MODULE": 16, "SYS_PTRACE": 19, "SYS_RAWIO": 17, "SYS_BOOT": 22,
	"SYS_TIME": 25, "NET_ADMIN": 12, "DAC_READ_SEARCH": 2, "BPF": 39, "PERFMON": 38, "MAC_ADMIN": 33, "MAC_OVERRIDE": 32,
	"SYSLOG": 34, "LINUX_IMMUTABLE": 9}

// engineSocketNames are sockets that hand over the engine (CIS 5.31).
var engineSocketNames = []string{"docker.sock", "podman.sock", "containerd.sock", "crio.sock", "dockershim.sock"}

// maxJoinDepth bounds how many container:NAME hops a host namespace rule
// follows (a chain can only be as long as the engine let containers be
// started one after the other; a loop in what an engine says must not
// hang).
const maxJoinDepth = 16

// Stage sets of the rules.
const (
	settingStages = StageFile | StageRequest | StageRunning
	// engineStages are where a rule whose concern a deployment file has
	// its own rule for applies: a file states what Kubernetes and Compose
	// leave open by their own names (workload-resource-limits,
	// workload-privilege-escalation, workload-run-as-non-root), so each
	// concern is one finding per stage.
	engineStages = StageRequest | StageRunning
)

// CISRef is how findings cite a CIS Docker Benchmark recommendation;
// nil for "".
func CISRef(ids string) []string {
	if ids == "" {
		return nil
	}
	return []string{"CIS Docker Benchmark v1.6.0 " + ids}
}

func rule(id, cis string, sev finding.Severity, stages Stage, title, doc, fix string, judge func(env *Env, w *Workload) Verdict) Rule {
	return Rule{Rule: finding.Rule{ID: id, Title: title, Severity: sev, Doc: doc, Remediation: fix, References: CISRef(cis)},
		CIS: cis, Stages: stages, Judge: func(env *Env, w *Workload) Verdict {
			if env == nil {
				env = &Env{}
			}
			return judge(env, w)
		}}
}

// failIf and warnIf turn evidence into a verdict on setting.
func failIf(evidence, setting string) Verdict { return verdictIf(finding.StateFail, evidence, setting) }
func warnIf(evidence, setting string) Verdict { return verdictIf(finding.StateWarn, evidence, setting) }
func verdictIf(state finding.State, evidence, setting string) Verdict {
	if evidence == "" {
		return Verdict{}
	}
	return Verdict{State: state, Evidence: evidence, Setting: setting}
}

// ContainerRules are the checks `hull audit containers` runs, in its
// order.
func ContainerRules() []Rule {
	return []Rule{
		rule("container-privileged", "5.5", finding.SeverityCritical, settingStages, "No container runs privileged",
			"CIS 5.5: --privileged gives a container every capability, every device and no seccomp or LSM confinement: it is root on the host.",
			"Run without --privileged; grant the one capability or device the workload needs.",
			func(_ *Env, w *Workload) Verdict {
				if w.Privileged {
					return failIf("privileged", SetPrivileged)
				}
				return Verdict{}
			}),
		rule("container-capabilities", "5.4", finding.SeverityHigh, settingStages, "Containers add no dangerous capabilities",
			"CIS 5.4: capabilities such as SYS_ADMIN, SYS_MODULE, SYS_PTRACE, NET_ADMIN or DAC_READ_SEARCH are known ways out of a container; ALL is --privileged without the devices. Other added capabilities are warned about.",
			"Drop all capabilities (--cap-drop ALL) and add back only what the workload proves it needs.",
			judgeCapabilities),
		rule("container-apparmor", "5.2", finding.SeverityMedium, settingStages, "Containers run under an AppArmor profile",
			"CIS 5.2: the engine's default AppArmor profile denies writes to /proc and /sys and mounts; apparmor=unconfined removes it.",
			"Remove --security-opt apparmor=unconfined; use the default profile or one written for the workload.",
			func(_ *Env, w *Workload) Verdict {
				if w.AppArmor == "unconfined" {
					return failIf("no AppArmor profile", SetAppArmor)
				}
				return Verdict{}
			}),
		rule("container-selinux", "5.3", finding.SeverityMedium, settingStages, "SELinux labels are not disabled",
			"CIS 5.3: label=disable runs a container without SELinux separation on SELinux hosts.",
			"Remove --security-opt label=disable.",
			func(_ *Env, w *Workload) Verdict {
				if w.SELinuxDisabled {
					return failIf("label=disable", SetSELinux)
				}
				return Verdict{}
			}),
		rule("container-sensitive-mounts", "5.6", finding.SeverityHigh, settingStages, "No sensitive host directory is mounted",
			"CIS 5.6: mounting /, /etc, /proc, /sys, /dev, /boot, /usr, /lib or the engine's data directory, a host secret below them (/etc/shadow, /etc/ssh, ...) or anything below them writable lets a container change or read the host.",
			"Mount only the directories the workload owns, read-only where it can.",
			judgeSensitiveMounts),
		rule("container-privileged-ports", "5.8", finding.SeverityLow, settingStages, "No privileged host port is published",
			"CIS 5.8: host ports below 1024 are meant for services the administrator runs; publishing a container there blurs that line.",
			"Publish on a port of 1024 or above.",
			func(_ *Env, w *Workload) Verdict {
				var bad []string
				first := -1
				for _, i := range byHost(w.Ports) {
					p := w.Ports[i]
					if n, err := strconv.Atoi(p.HostPort); err == nil && n > 0 && n < 1024 {
						bad = append(bad, p.HostPort)
						if first < 0 {
							first = i
						}
					}
				}
				return warnIf(strings.Join(bad, ", "), listItem(SetPorts, first))
			}),
		rule("container-sshd", "5.7", finding.SeverityMedium, StageRunning, "No container runs sshd",
			"CIS 5.7: an SSH server in a container is another way in with its own keys and patches; use docker exec.",
			"Remove sshd from the image; reach containers with docker exec or podman exec.",
			func(_ *Env, w *Workload) Verdict {
				for _, cmd := range w.Commands {
					if f := strings.Fields(cmd); len(f) > 0 && path.Base(strings.TrimSuffix(f[0], ":")) == "sshd" {
						return failIf("runs "+cmd, "")
					}
				}
				return Verdict{}
			}),
		rule("container-published-ports", "5.9", finding.SeverityLow, settingStages, "Only needed ports are published",
			"CIS 5.9 (manual): every published port is a way in; the list is here to review.",
			"Publish only the ports clients must reach.",
			func(_ *Env, w *Workload) Verdict {
				var ports []string
				for _, i := range byHost(w.Ports) {
					p := w.Ports[i]
					ports = append(ports, cmp.Or(p.HostIP, "*")+":"+p.HostPort)
				}
				return warnIf(strings.Join(ports, ", "), SetPorts)
			}),
		hostNamespaceRule("container-host-network", "5.10", "No container shares the host's network namespace", "network", "network", "net", SetNetwork,
			func(w *Workload) string { return w.Namespaces.Network }),
		rule("container-memory-limit", "5.11", finding.SeverityMedium, engineStages, "Containers have a memory limit",
			"CIS 5.11: without a limit one container can exhaust the host's memory.",
			"Run with --memory (and --memory-swap).",
			func(_ *Env, w *Workload) Verdict {
				if w.Resources.Memory <= 0 {
					return failIf("no memory limit", SetMemory)
				}
				if w.Observed != nil {
					if l := w.Observed.MemoryLimit; l != nil && !l.within(w.Resources.Memory) {
						return failIf(fmt.Sprintf("a memory limit of %d bytes in its settings, but the kernel enforces %s (%s)", w.Resources.Memory, limitText(l.Max), l.Where), SetMemory)
					}
				}
				return Verdict{}
			}),
		rule("container-cpu-shares", "5.12", finding.SeverityLow, engineStages, "Containers have a CPU priority or limit",
			"CIS 5.12: containers all at the default share compete evenly with everything else; set shares or a CPU limit.",
			"Run with --cpu-shares or --cpus.",
			func(_ *Env, w *Workload) Verdict {
				r := w.Resources
				if (r.CPUShares == 0 || r.CPUShares == 1024) && r.NanoCPUs == 0 && r.CPUQuota == 0 {
					return warnIf("default CPU shares, no limit", SetCPU)
				}
				return Verdict{}
			}),
		rule("container-readonly-rootfs", "5.13", finding.SeverityMedium, settingStages, "Root filesystems are read-only",
			"CIS 5.13: a writable root filesystem lets an intruder change the container's programs; state belongs in volumes.",
			"Run with --read-only and mount writable volumes or tmpfs where the workload writes.",
			func(_ *Env, w *Workload) Verdict {
				if !w.ReadOnlyRootfs {
					return failIf("writable root filesystem", SetReadOnlyRootfs)
				}
				return Verdict{}
			}),
		rule("container-ports-interface", "5.14", finding.SeverityMedium, settingStages, "Published ports are bound to a specific interface",
			"CIS 5.14: a port published without a host address listens on every interface, often including public ones.",
			"Publish as -p 127.0.0.1:8080:80 (or the one interface that should serve it).",
			func(_ *Env, w *Workload) Verdict {
				var bad []string
				first := -1
				for _, i := range byHost(w.Ports) {
					p := w.Ports[i]
					if p.HostIP == "" || p.HostIP == "0.0.0.0" || p.HostIP == "::" {
						bad = append(bad, cmp.Or(p.HostIP, "*")+":"+p.HostPort)
						if first < 0 {
							first = i
						}
					}
				}
				return failIf(strings.Join(bad, ", "), listItem(SetPorts, first))
			}),
		rule("container-restart-policy", "5.15", finding.SeverityLow, settingStages, "Restart policies are on-failure with at most 5 retries",
			"CIS 5.15: \"always\" and unbounded retries restart a crashing or exploited container forever and hide the failure.",
			"Use --restart on-failure:5.",
			func(_ *Env, w *Workload) Verdict {
				rp := w.Restart
				switch {
				case rp.Policy == "always" || rp.Policy == "unless-stopped":
					return failIf("restart "+rp.Policy, SetRestart)
				case rp.Policy == "on-failure" && (rp.MaxRetries == 0 || rp.MaxRetries > 5):
					return failIf(fmt.Sprintf("on-failure with %d retries (0 = unbounded)", rp.MaxRetries), SetRestart)
				}
				return Verdict{}
			}),
		hostNamespaceRule("container-host-pid", "5.16", "No container shares the host's PID namespace", "PID", "pid", "pid", SetPID,
			func(w *Workload) string { return w.Namespaces.PID }),
		hostNamespaceRule("container-host-ipc", "5.17", "No container shares the host's IPC namespace", "IPC", "ipc", "ipc", SetIPC,
			func(w *Workload) string { return w.Namespaces.IPC }),
		rule("container-host-devices", "5.18", finding.SeverityMedium, settingStages, "No host device is passed through",
			"CIS 5.18: a host device in a container (a disk, /dev/mem, a GPU) is direct access to the hardware behind it.",
			"Pass only the devices the workload needs, read-only (--device /dev/X:/dev/X:r).",
			func(_ *Env, w *Workload) Verdict {
				var devs []string
				for _, d := range w.Devices {
					devs = append(devs, d.PathOnHost)
				}
				return warnIf(strings.Join(devs, ", "), SetDevices)
			}),
		rule("container-system-paths", "", finding.SeverityHigh, settingStages, "/proc and /sys stay masked",
			"The engine masks /proc/kcore, /proc/keys, /proc/sysrq-trigger, /sys/firmware and the like and mounts /proc/sys read-only; --security-opt systempaths=unconfined (and --privileged) lifts that, which hands a container the host's kernel knobs. The CIS benchmark is silent on it.",
			"Remove --security-opt systempaths=unconfined.",
			judgeSystemPaths),
		rule("container-device-rules", "", finding.SeverityHigh, settingStages, "No container may create every device",
			"A device cgroup rule such as 'a *:* rwm' or 'b *:* rwm' lets a container with CAP_MKNOD create and open the host's disks and memory devices. The CIS benchmark is silent on it (5.18 covers --device only).",
			"Remove --device-cgroup-rule, or narrow it to the one major:minor the workload needs.",
			judgeDeviceRules),
		rule("container-mount-propagation", "5.20", finding.SeverityMedium, settingStages, "No mount is shared with the host",
			"CIS 5.20: shared propagation lets mounts made in the container appear on the host and the other way round.",
			"Use the default private propagation (drop :shared / :rshared).",
			func(_ *Env, w *Workload) Verdict {
				var bad []string
				first := -1
				for i, m := range w.Mounts {
					if m.Propagation == "shared" || m.Propagation == "rshared" {
						bad = append(bad, m.Destination+" "+m.Propagation)
						if first < 0 {
							first = i
						}
					}
				}
				return failIf(strings.Join(bad, ", "), listItem(SetMounts, first))
			}),
		hostNamespaceRule("container-host-uts", "5.21", "No container shares the host's UTS namespace", "UTS", "uts", "uts", SetUTS,
			func(w *Workload) string { return w.Namespaces.UTS }),
		rule("container-seccomp", "5.22", finding.SeverityHigh, settingStages, "Containers run under a seccomp profile",
			"CIS 5.22: seccomp=unconfined (or --privileged) lets a container call every system call, including the ones most kernel exploits need.",
			"Remove --security-opt seccomp=unconfined; use the default profile or one written for the workload.",
			func(_ *Env, w *Workload) Verdict {
				switch o := w.Observed; {
				case w.Seccomp == "unconfined":
					return failIf("seccomp=unconfined", SetSeccomp)
				case w.Privileged:
					return failIf("privileged (no seccomp)", SetPrivileged)
				case o != nil && o.StatusKnown && o.Seccomp != 2:
					return failIf(fmt.Sprintf("no seccomp filter: the kernel shows seccomp mode %d for pid %d", o.Seccomp, o.PID), SetSeccomp)
				}
				return Verdict{}
			}),
		rule("container-cgroup-parent", "5.25", finding.SeverityLow, settingStages, "Containers use the default cgroup parent",
			"CIS 5.25: a custom --cgroup-parent moves a container out of the limits the engine's cgroup applies.",
			"Remove --cgroup-parent unless the administrator set it on purpose.",
			func(_ *Env, w *Workload) Verdict {
				if w.CgroupParent != "" {
					return warnIf("cgroup parent "+w.CgroupParent, SetCgroupParent)
				}
				return Verdict{}
			}),
		rule("container-no-new-privileges", "5.26", finding.SeverityMedium, engineStages, "Containers cannot gain new privileges",
			"CIS 5.26: without no-new-privileges a process in the container can gain privileges through setuid programs and file capabilities.",
			"Run with --security-opt no-new-privileges, or set \"no-new-privileges\": true in daemon.json.",
			func(env *Env, w *Workload) Verdict {
				if o := w.Observed; o != nil && o.StatusKnown {
					if o.NoNewPrivs {
						return Verdict{}
					}
					return failIf(fmt.Sprintf("no_new_privs is off for pid %d", o.PID), SetNoNewPrivileges)
				}
				if n := w.NoNewPrivileges; n != nil {
					if *n {
						return Verdict{}
					}
					return failIf("no-new-privileges=false", SetNoNewPrivileges)
				}
				if env.NoNewPrivilegesDefault {
					return Verdict{}
				}
				return failIf("no-new-privileges not set", SetNoNewPrivileges)
			}),
		rule("container-healthcheck", "5.27", finding.SeverityLow, settingStages, "Containers have a health check",
			"CIS 5.27: a health check lets the engine and orchestrators see a container that runs but no longer works.",
			"Add HEALTHCHECK to the image or --health-cmd to the run.",
			func(_ *Env, w *Workload) Verdict {
				if w.Healthcheck != nil && !*w.Healthcheck {
					return warnIf("no health check", SetHealthcheck)
				}
				return Verdict{}
			}),
		rule("container-pids-limit", "5.29", finding.SeverityMedium, settingStages, "Containers have a PIDs limit",
			"CIS 5.29: without a PIDs limit a fork bomb in one container takes down the host.",
			"Run with --pids-limit (for example 512).",
			func(_ *Env, w *Workload) Verdict {
				pl := w.Resources.PidsLimit
				if pl == nil || *pl <= 0 {
					return failIf("no PIDs limit", SetPidsLimit)
				}
				if w.Observed != nil {
					if l := w.Observed.PidsLimit; l != nil && !l.within(*pl) {
						return failIf(fmt.Sprintf("a PIDs limit of %d in its settings, but the kernel enforces %s (%s)", *pl, limitText(l.Max), l.Where), SetPidsLimit)
					}
				}
				return Verdict{}
			}),
		rule("container-default-bridge", "5.30", finding.SeverityLow, settingStages, "Containers do not use the default bridge",
			"CIS 5.30: the default bridge (docker0) puts every container on one network; user-defined networks isolate and resolve names.",
			"Create a network (docker network create) per application and run containers on it.",
			func(env *Env, w *Workload) Verdict {
				if env.Engine != "" && env.Engine != "docker" {
					return Verdict{}
				}
				if slices.Contains(w.Networks, "bridge") || w.Namespaces.Network == "default" || w.Namespaces.Network == "bridge" {
					return warnIf("default bridge", SetNetwork)
				}
				return Verdict{}
			}),
		hostNamespaceRule("container-host-userns", "5.31", "No container shares the host's user namespace", "user", "userns", "user", SetUserNS,
			func(w *Workload) string { return w.Namespaces.User }),
		rule("container-engine-socket", "5.32", finding.SeverityCritical, settingStages, "No container mounts an engine socket",
			"CIS 5.32: the Docker, Podman, containerd or CRI-O socket inside a container gives it control of the engine, which is root on the host.",
			"Do not mount engine sockets; put a filtering proxy that allows only the calls it needs in front if a container must talk to the engine.",
			judgeEngineSocket),
		rule("container-root-user", "4.1", finding.SeverityMedium, engineStages, "Containers do not run as root",
			"CIS 4.1 (judged on the running container): root in a container is root on the host unless the engine is rootless or remaps users; a process that needs no root should not have it. On a rootless or userns-remapped engine this is a warning.",
			"Set USER in the image or run with --user UID:GID.",
			judgeRootUser),
	}
}

// listItem is the setting of item i of a list, the list when i < 0.
func listItem(setting string, i int) string {
	if i < 0 {
		return setting
	}
	return itemKey(setting, i)
}

func judgeCapabilities(_ *Env, w *Workload) Verdict {
	var bad, why []string
	for _, c := range w.CapAdd {
		if slices.Contains(dangerousCaps, c) && !slices.Contains(bad, c) {
			bad = append(bad, c)
		}
	}
	if len(bad) > 0 {
		why = append(why, "adds "+strings.Join(bad, ", "))
	}
	// What the container holds, whatever its engine's defaults (Podman's
	// default_capabilities) or its settings say.
	if o := w.Observed; o != nil && o.StatusKnown {
		var held []string
		for _, n := range dangerousCaps {
			if bit, ok := capBits[n]; ok && o.CapBnd&(1<<bit) != 0 && !slices.Contains(bad, n) {
				held = append(held, n)
			}
		}
		if len(held) > 0 {
			why = append(why, fmt.Sprintf("holds %s (bounding set of pid %d)", strings.Join(held, ", "), o.PID))
		}
	}
	if len(why) > 0 {
		return failIf(strings.Join(why, "; "), SetCapAdd)
	}
	if len(w.CapAdd) > 0 {
		names := make([]string, len(w.CapAdd))
		for i, c := range w.CapAdd {
			names[i] = "CAP_" + c
		}
		return warnIf("adds "+strings.Join(names, ", "), SetCapAdd)
	}
	return Verdict{}
}

func judgeSensitiveMounts(env *Env, w *Workload) Verdict {
	sensitive := env.sensitivePaths()
	var bad []string
	first := -1
	for mi, m := range w.Mounts {
		if m.Type != "bind" {
			continue
		}
		var src, why string
		for _, src = range env.hostPaths(m.Source) {
			if why = sensitiveSource(sensitive, src, m.ReadOnly); why != "" {
				break
			}
		}
		if why == "" {
			continue
		}
		label := path.Clean(m.Source)
		if src != label {
			label += " (a link to " + src + ")"
		}
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		what := fmt.Sprintf("%s on %s (%s)", label, m.Destination, mode)
		if why != src {
			what = fmt.Sprintf("%s on %s (%s, %s)", label, m.Destination, mode, why)
		}
		bad = append(bad, what)
		if first < 0 {
			first = mi
		}
	}
	return failIf(strings.Join(bad, ", "), listItem(SetMounts, first))
}

// secretHostPaths are files and directories below the sensitive ones
// that hold the host's secrets: mounting one, even read-only, reads them.
var secretHostPaths = []string{"/root", "/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/sudoers.d", "/etc/ssh",
	"/etc/docker", "/etc/containers", "/etc/kubernetes", "/var/lib/kubelet", "/etc/ssl/private"}

// sensitiveSource says why a bind mount of the host path src is
// sensitive, or "": src holds a sensitive directory (itself, or "holds
// /etc"), is or is below a secret path ("holds the host's secrets"), or
// is below a sensitive directory but / and mounted writable ("below
// /etc, writable"): a file under /etc or /usr the container may change is
// the host's to run.
func sensitiveSource(sensitive []string, src string, readOnly bool) string {
	if i := slices.IndexFunc(sensitive, func(s string) bool { return mountinfo.Within(s, src) }); i >= 0 {
		if sensitive[i] == src {
			return src
		}
		return "holds " + sensitive[i]
	}
	if slices.ContainsFunc(secretHostPaths, func(s string) bool { return mountinfo.Within(src, s) }) {
		return "holds the host's secrets"
	}
	if readOnly {
		return ""
	}
	if i := slices.IndexFunc(sensitive, func(s string) bool { return s != "/" && mountinfo.Within(src, s) }); i >= 0 {
		return "below " + sensitive[i] + ", writable"
	}
	return ""
}

func judgeSystemPaths(env *Env, w *Workload) Verdict {
	if w.SystemPathsUnconfined {
		return failIf("systempaths=unconfined", SetSystemPaths)
	}
	if w.Privileged {
		return Verdict{}
	}
	if w.MaskedPaths != nil && len(w.MaskedPaths) == 0 {
		return failIf("no masked paths", SetSystemPaths)
	}
	// What the container's own mounts show (Podman's --security-opt
	// unmask=ALL leaves no trace in its settings).
	if w.Observed == nil || w.Observed.Mounts == nil {
		return Verdict{}
	}
	mounts := w.Observed.Mounts
	var open []string
	for _, m := range env.MaskedSystemPaths {
		if !slices.ContainsFunc(mounts, func(x mountinfo.Mount) bool { return x.MountPoint == m }) {
			open = append(open, m)
		}
	}
	if m, ok := mountinfo.Covering(mounts, "/proc/sys"); ok && (m.MountPoint != "/proc/sys" || !m.ReadOnly) {
		open = append(open, "/proc/sys writable")
	}
	if len(open) > 0 {
		return failIf("not masked in its mounts: "+strings.Join(open, ", "), SetSystemPaths)
	}
	return Verdict{}
}

func judgeDeviceRules(env *Env, w *Workload) Verdict {
	var bad []string
	// Its settings, and the rules its devices cgroup really has where
	// visible (a rootless engine's containers sit in its user's cgroup,
	// and its user namespace keeps them from any device node the rules
	// would allow).
	rules := w.DeviceCgroupRules
	if w.Observed != nil && !env.Rootless {
		rules = slices.Concat(rules, w.Observed.DeviceRules)
	}
	for _, r := range rules {
		// TYPE MAJOR:MINOR ACCESS; "m" alone (create, the engines'
		// default for every device) opens nothing, and every container
		// gets its pseudo-terminals (c 136:*).
		f := strings.Fields(r)
		broad := len(f) >= 2 && (f[0] == "a" || strings.HasPrefix(f[1], "*:") || strings.HasSuffix(f[1], ":*")) &&
			(f[0] != "c" || f[1] != "136:*")
		opens := len(f) < 3 || strings.ContainsAny(f[2], "rw")
		if broad && opens && !slices.Contains(bad, r) {
			bad = append(bad, r)
		}
	}
	return failIf(strings.Join(bad, ", "), SetDeviceCgroupRules)
}

func judgeEngineSocket(env *Env, w *Workload) Verdict {
	var bad []string
	first := -1
mounts:
	for i, m := range w.Mounts {
		found := ""
		if slices.Contains(engineSocketNames, path.Base(m.Source)) || slices.Contains(engineSocketNames, path.Base(m.Destination)) {
			found = m.Source + " on " + m.Destination
		}
		for _, src := range env.hostPaths(m.Source) {
			if found != "" {
				break
			}
			src = RunPath(src)
			if slices.Contains(env.EngineSockets, src) {
				found = m.Source + " on " + m.Destination
				break
			}
			// A directory that holds a socket hands it over as well (-v
			// /run:/run, -v /var/run:/host/run).
			if j := slices.IndexFunc(env.EngineSockets, func(s string) bool { return mountinfo.Within(s, src) }); j >= 0 {
				found = fmt.Sprintf("%s on %s (holds %s)", m.Source, m.Destination, env.EngineSockets[j])
				break
			}
		}
		if found == "" {
			continue mounts
		}
		bad = append(bad, found)
		if first < 0 {
			first = i
		}
	}
	return failIf(strings.Join(bad, ", "), listItem(SetMounts, first))
}

func judgeRootUser(env *Env, w *Workload) Verdict {
	// Before the container exists, no user means the image's, which the
	// settings do not show; a running container's settings hold the
	// image's user merged in.
	if w.User == "" && w.Stage != StageRunning {
		return Verdict{}
	}
	if v := rootOnHost(env, w); v.State != "" {
		return v
	}
	if (env.Rootless || env.UsernsRemap) && isRootUser(w.User) {
		return warnIf("runs as root in the container (mapped to an unprivileged host user)", SetUser)
	}
	return Verdict{}
}

// rootOnHost fails a workload whose root is the host's root: an engine
// that is neither rootless nor remaps users, and a user that is root.
func rootOnHost(env *Env, w *Workload) Verdict {
	if env.Rootless || env.UsernsRemap {
		return Verdict{}
	}
	// Host and container IDs are the same here: the kernel says who it
	// runs as, whatever name the user setting gave (a name the image maps
	// to UID 0 is root).
	if o := w.Observed; o != nil && o.StatusKnown {
		if o.UID == 0 {
			return failIf(fmt.Sprintf("runs as root (%s; pid %d has UID 0)", cmp.Or(w.User, "default user"), o.PID), SetUser)
		}
		return Verdict{}
	}
	if isRootUser(w.User) {
		return failIf("runs as root ("+cmp.Or(w.User, "default user")+")", SetUser)
	}
	return Verdict{}
}

// isRootUser reports whether u (user[:group]) runs as uid 0: no user,
// root, or a number the runtimes read as 0 (they parse it with Atoi, so
// "00" and "+0" are root too).
func isRootUser(u string) bool {
	name, _, _ := strings.Cut(u, ":")
	if n, err := strconv.Atoi(name); err == nil {
		return n == 0
	}
	return name == "" || name == "root"
}

// limitText says what limit the kernel enforces.
func limitText(n uint64) string {
	if n == 0 {
		return "none"
	}
	return "only " + strconv.FormatUint(n, 10)
}

// hostNamespaceRule judges a namespace a workload may share with the host
// (field names its flag, ns its /proc/PID/ns entry): its mode is host, or
// it joins (container:NAME, through any chain Env.Joined follows) a
// container whose mode is host, or the kernel shows its first process in
// the host's namespace (Env.InHostNamespace; this also catches Podman's
// ns:PATH and whatever the mode does not tell).
func hostNamespaceRule(id, cis, title, what, field, ns, setting string, get func(w *Workload) string) Rule {
	return rule(id, cis, finding.SeverityHigh, settingStages, title,
		fmt.Sprintf("CIS %s: a container sharing the host's %s namespace sees and reaches what the host's processes do there. Joining another container's namespace (--%s=container:NAME) that is the host's counts too, and so does any way the kernel shows the container's processes in the host's namespace.", cis, what, field),
		fmt.Sprintf("Do not run containers with --%s=host, nor join (--%s=container:NAME) a container that has it.", field, field),
		func(env *Env, w *Workload) Verdict {
			cur := w
			var via []string
			for range maxJoinDepth {
				mode := get(cur)
				if mode == "host" {
					if len(via) == 0 {
						return failIf(field+"=host", setting)
					}
					return failIf(field+"=container:"+strings.Join(via, ", which joins ")+", which uses "+field+"=host", setting)
				}
				ref, ok := strings.CutPrefix(mode, "container:")
				if !ok {
					break
				}
				var next *Workload
				if env.Joined != nil {
					next = env.Joined(ref)
				}
				if next == nil {
					// A file or request joining a container it does not
					// hold: whether that one is in the host's namespace
					// shows only where both run. Not a pass.
					if w.Stage != StageRunning {
						return warnIf(fmt.Sprintf("%s=%s: joins a container hull does not see here; judge it where it runs", field, mode), setting)
					}
					break
				}
				via = append(via, next.Name)
				cur = next
			}
			// A rootful engine that does not remap users runs every
			// container in the host's user namespace (engine-rootless
			// judges that); only with remapping does being there mean the
			// container asked for it.
			if env.InHostNamespace != nil && (ns != "user" || env.UsernsRemap) {
				if own, ok := env.InHostNamespace(w, ns); ok {
					return failIf(fmt.Sprintf("its processes are in the host's %s namespace (%s is hull's own)", nsWhat(ns), own), setting)
				}
			}
			return Verdict{}
		})
}

// nsWhat names a namespace kind in plain words.
func nsWhat(ns string) string {
	if ns == "net" {
		return "network"
	}
	return strings.ToUpper(ns)
}

// byHost lists the indexes of ports in the one order the port rules give
// them, by host address and port, whatever order the format wrote them in
// (a Compose file's, dockerd's map of bindings), so one container's
// settings read from any format give the same evidence.
func byHost(ports []Port) []int {
	idx := make([]int, len(ports))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(hostKey(ports[a]), hostKey(ports[b])) })
	return idx
}

func hostKey(p Port) string { return p.HostIP + p.HostPort }
