package audit

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
)

// HostChecks are the checks of the host's kernel and its readiness for
// rootless engines. The CIS Docker Benchmark v1.6 is silent on all of
// them (its section 1 is about partitions and auditd rules of a Docker
// host, which the engine checks cover).
func HostChecks() []Check {
	return []Check{
		check("host-seccomp", "", finding.SeverityHigh, "Kernel seccomp filtering",
			"Container runtimes confine system calls with seccomp filters; without them every default profile is void. The kernel's available filter actions are listed, user_notif (for supervisors) and log included.",
			"Run a kernel built with CONFIG_SECCOMP_FILTER (every distribution kernel is).",
			seccompCheck),
		check("host-lsm", "", finding.SeverityMedium, "A mandatory access control LSM is active",
			"AppArmor or SELinux confine containers beyond namespaces; Landlock lets them sandbox themselves. The active LSMs are read from securityfs.",
			"Boot with AppArmor (lsm=...,apparmor) or SELinux enabled, and mount securityfs (/sys/kernel/security).",
			lsmCheck),
		check("host-lockdown", "", finding.SeverityInfo, "Kernel lockdown",
			"Lockdown (integrity or confidentiality) stops root, and so a container that escapes as root, from changing the running kernel.",
			"Boot with lockdown=integrity where no module loading or /dev/mem access is needed.",
			lockdownCheck),
		check("host-cgroup-v2", "", finding.SeverityMedium, "cgroup v2 (unified hierarchy)",
			"Rootless engines can limit memory, CPU and pids only through cgroup v2 delegation; on v1 or a hybrid layout their limits are ignored.",
			"Boot with systemd.unified_cgroup_hierarchy=1 (the default of current distributions).",
			cgroupCheck),
		check("host-userns", "", finding.SeverityMedium, "Unprivileged user namespaces",
			"Rootless Podman and Docker map the user's subordinate IDs in a user namespace an unprivileged user creates; the kernel must allow it (user.max_user_namespaces above 0, Debian's kernel.unprivileged_userns_clone and Ubuntu's AppArmor restriction not in the way).",
			"sysctl -w user.max_user_namespaces=15000 (and kernel.unprivileged_userns_clone=1 on older Debian kernels).",
			usernsCheck),
		check("host-namespace-limits", "", finding.SeverityLow, "Namespace limits",
			"Containers need mount, pid, net, ipc, uts and cgroup namespaces; a limit of 0 disables a kind for every container.",
			"Raise /proc/sys/user/max_*_namespaces that are 0.",
			nsLimitsCheck),
		check("rootless-subids", "", finding.SeverityMedium, "Subordinate UIDs and GIDs for the user",
			"A rootless engine maps 65,536 IDs of the user's own ranges in /etc/subuid and /etc/subgid; without them it runs every container as one UID.",
			"usermod --add-subuids 100000-165535 --add-subgids 100000-165535 USER",
			subidCheck),
		check("rootless-newidmap", "", finding.SeverityMedium, "newuidmap and newgidmap",
			"Writing a user namespace's ID map from the subordinate ranges needs newuidmap and newgidmap, setuid root or with the setuid/setgid file capabilities.",
			"apt-get install uidmap (or the distribution's shadow-utils).",
			newidmapCheck),
	}
}

func readTrim(p Probe, path string) (string, error) {
	b, err := p.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

func seccompCheck(p Probe) Outcome {
	status, err := p.ReadFile("/proc/self/status")
	if err != nil {
		return undecided("cannot read /proc/self/status: " + err.Error())
	}
	if !bytes.Contains(status, []byte("\nSeccomp:")) {
		return fail("the kernel reports no seccomp support", "no Seccomp line in /proc/self/status")
	}
	actions, err := readTrim(p, "/proc/sys/kernel/seccomp/actions_avail")
	if err != nil {
		return pass("seccomp supported (actions not listed: " + err.Error() + ")")
	}
	for _, need := range []string{"errno", "kill_process"} {
		if !slices.Contains(strings.Fields(actions), need) {
			return warn("seccomp lacks the "+need+" action", "actions: "+actions)
		}
	}
	return pass("seccomp filter actions: " + actions)
}

func lsmCheck(p Probe) Outcome {
	lsms, err := readTrim(p, "/sys/kernel/security/lsm")
	if err != nil {
		return lsmWithoutSecurityfs(p)
	}
	list := strings.Split(lsms, ",")
	mac := slices.ContainsFunc(list, func(l string) bool { return l == "apparmor" || l == "selinux" || l == "smack" || l == "tomoyo" })
	if !mac {
		return fail("no mandatory access control LSM is active", "active LSMs: "+lsms)
	}
	reason := "active LSMs: " + lsms
	if !slices.Contains(list, "landlock") {
		reason += " (no landlock)"
	}
	return pass(reason)
}

// lsmWithoutSecurityfs tells the MAC LSMs from what each module leaves
// elsewhere when securityfs is not mounted: AppArmor's module parameter,
// SELinux's and Smack's filesystems. A kernel with none of them built in
// (or AppArmor switched off) has none active; one built in that does not
// say (SELinux without selinuxfs mounted) is undecided.
func lsmWithoutSecurityfs(p Probe) Outcome {
	const why = " (securityfs is not mounted, so /sys/kernel/security/lsm cannot be read)"
	apparmor, aaErr := readTrim(p, "/sys/module/apparmor/parameters/enabled")
	switch {
	case aaErr == nil && apparmor == "Y":
		return pass("AppArmor is enabled (/sys/module/apparmor/parameters/enabled)" + why)
	case exists(p, "/sys/fs/selinux/enforce"):
		return pass("SELinux is enabled (/sys/fs/selinux)" + why)
	case exists(p, "/sys/fs/smackfs/load2"):
		return pass("Smack is enabled (/sys/fs/smackfs)" + why)
	// AppArmor absent or switched off (enabled=N), SELinux and Smack not
	// built in: none is active.
	case (aaErr == nil || !exists(p, "/sys/module/apparmor")) && !exists(p, "/sys/fs/selinux") && !exists(p, "/sys/fs/smackfs"):
		return fail("no mandatory access control LSM is active", "AppArmor: "+cmp.Or(apparmor, "not built in")+"; no /sys/fs/selinux or /sys/fs/smackfs"+why)
	}
	return undecided("cannot tell which LSMs are active" + why + ": mount -t securityfs securityfs /sys/kernel/security")
}

func lockdownCheck(p Probe) Outcome {
	l, err := readTrim(p, "/sys/kernel/security/lockdown")
	if err != nil {
		return skip("securityfs is not mounted or not readable (/sys/kernel/security/lockdown)")
	}
	if strings.Contains(l, "[none]") {
		return warn("kernel lockdown is off", l)
	}
	return pass("lockdown: " + l)
}

func cgroupCheck(p Probe) Outcome {
	if _, err := p.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		ctl, _ := readTrim(p, "/sys/fs/cgroup/cgroup.controllers")
		return pass("cgroup v2, controllers: " + ctl)
	}
	if _, err := p.Stat("/sys/fs/cgroup/unified/cgroup.controllers"); err == nil {
		return warn("hybrid cgroup layout: v1 controllers with v2 only at /sys/fs/cgroup/unified", "/sys/fs/cgroup is v1, /sys/fs/cgroup/unified is v2")
	}
	if _, err := p.Stat("/sys/fs/cgroup"); err != nil {
		return skip("no /sys/fs/cgroup")
	}
	return warn("cgroup v1 only", "/sys/fs/cgroup holds v1 hierarchies")
}

func readInt(p Probe, path string) (int, error) {
	s, err := readTrim(p, path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(s)
}

func usernsCheck(p Probe) Outcome {
	n, err := readInt(p, "/proc/sys/user/max_user_namespaces")
	if err != nil {
		return skip("cannot read /proc/sys/user/max_user_namespaces: " + err.Error())
	}
	if n == 0 {
		return fail("user namespaces are disabled", "user.max_user_namespaces = 0")
	}
	if v, err := readInt(p, "/proc/sys/kernel/unprivileged_userns_clone"); err == nil && v == 0 {
		return fail("unprivileged users may not create user namespaces", "kernel.unprivileged_userns_clone = 0")
	}
	if v, err := readInt(p, "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"); err == nil && v == 1 {
		return warn("AppArmor restricts unprivileged user namespaces to profiles that allow them", "kernel.apparmor_restrict_unprivileged_userns = 1")
	}
	return pass(fmt.Sprintf("unprivileged user namespaces allowed (max %d)", n))
}

func nsLimitsCheck(p Probe) Outcome {
	var zero, read []string
	for _, k := range []string{"mnt", "pid", "net", "ipc", "uts", "cgroup"} {
		n, err := readInt(p, "/proc/sys/user/max_"+k+"_namespaces")
		if err != nil {
			continue
		}
		read = append(read, k)
		if n == 0 {
			zero = append(zero, k)
		}
	}
	switch {
	case len(read) == 0:
		return skip("cannot read /proc/sys/user/max_*_namespaces")
	case len(zero) > 0:
		return fail("namespaces disabled: "+strings.Join(zero, ", "), "max_"+strings.Join(zero, "_namespaces = 0, max_")+"_namespaces = 0")
	}
	return pass("mnt, pid, net, ipc, uts and cgroup namespaces allowed")
}

// subidRanges sums the subordinate IDs a file gives a user, by name or UID.
func subidRanges(data []byte, name string, uid int) int {
	total := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(f) != 3 || (f[0] != name && f[0] != strconv.Itoa(uid)) {
			continue
		}
		if n, err := strconv.Atoi(f[2]); err == nil && n > 0 {
			total += n
		}
	}
	return total
}

func subidCheck(p Probe) Outcome {
	name, uid := p.User()
	if uid == 0 && name == "root" {
		return skip("the audit runs as root: rootless engines run as another user (run hull audit host as that user: sudo -u USER hull audit host)")
	}
	var missing []string
	var got []string
	for _, file := range []string{"/etc/subuid", "/etc/subgid"} {
		data, err := p.ReadFile(file)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return undecided("cannot read " + file + ": " + err.Error())
		}
		n := subidRanges(data, name, uid)
		got = append(got, fmt.Sprintf("%s: %d", file, n))
		if n < 65536 {
			missing = append(missing, file)
		}
	}
	who := fmt.Sprintf("%s (uid %d)", name, uid)
	if len(missing) > 0 {
		o := fail(who+" has fewer than 65,536 subordinate IDs in "+strings.Join(missing, " and "), strings.Join(got, ", "))
		o.Fix = "usermod --add-subuids 100000-165535 --add-subgids 100000-165535 " + cmp.Or(name, strconv.Itoa(uid)) + " (pick a range no other user has in /etc/subuid and /etc/subgid)"
		return o
	}
	return pass(who + ": " + strings.Join(got, ", "))
}

func newidmapCheck(p Probe) Outcome {
	var bad, ok, fixes []string
	for _, bin := range []string{"newuidmap", "newgidmap"} {
		var path string
		var fi fs.FileInfo
		for _, dir := range []string{"/usr/bin/", "/bin/", "/usr/sbin/"} {
			if st, err := p.Stat(dir + bin); err == nil {
				path, fi = dir+bin, st
				break
			}
		}
		switch {
		case fi == nil:
			bad = append(bad, bin+" not installed")
			fixes = append(fixes, "apt-get install uidmap (or the distribution's shadow-utils) for "+bin)
		case fi.Mode()&fs.ModeSetuid != 0:
			ok = append(ok, path+" setuid")
		default:
			if capData, err := p.Getxattr(path, "security.capability"); err == nil && len(capData) > 0 {
				ok = append(ok, path+" with file capabilities")
			} else {
				bad = append(bad, path+" neither setuid nor with file capabilities")
				fixes = append(fixes, "chmod u+s "+path+" (or setcap cap_setuid,cap_setgid+ep "+path+")")
			}
		}
	}
	if len(bad) > 0 {
		o := fail(strings.Join(bad, "; "), strings.Join(append(bad, ok...), "; "))
		o.Fix = strings.Join(fixes, "; ")
		return o
	}
	return pass(strings.Join(ok, ", "))
}

// exists reports whether the probe sees path.
func exists(p Probe, path string) bool {
	_, err := p.Stat(path)
	return err == nil
}
