package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/mountinfo"
	"github.com/hull-sec/hull/internal/workload"
)

// unitDirs are where systemd unit files of the engine live.
var unitDirs = []string{"/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"}

func unitFiles(name string) []string {
	var out []string
	for _, d := range unitDirs {
		out = append(out, d+"/"+name)
	}
	return out
}

// ownedFile is a file a check judges and the user who must own it: root,
// or for a rootless engine's own files the user it runs as.
type ownedFile struct {
	path string
	uid  int
}

// rootOwned are files that must belong to root.
func rootOwned(paths ...string) []ownedFile {
	var out []ownedFile
	for _, p := range paths {
		out = append(out, ownedFile{path: p})
	}
	return out
}

// fileRule is one CIS section 3 pair: who must own the files and the
// most permissive mode they may have.
type fileRule struct {
	id, cis, title string
	files          func(p Probe) []ownedFile
	maxMode        fs.FileMode
}

// FileChecks judge the ownership and modes of the engine's files (CIS
// section 3): unit files, /etc/docker, registry certificates, and the
// files each dockerd found actually uses: its TLS files, the daemon.json
// it was started with (--config-file, or the rootless one), and its
// containerd socket (--containerd, or the one it starts under its exec
// root) besides /run/containerd/containerd.sock; /etc/default/docker and
// /etc/sysconfig/docker. Files that do not exist are not judged.
func FileChecks(d *Discovery) []Check {
	fixed := func(paths ...string) func(Probe) []ownedFile {
		return func(Probe) []ownedFile { return rootOwned(paths...) }
	}
	// perDaemon adds what each dockerd's configuration names to the
	// default paths.
	perDaemon := func(defaults []string, f func(c *DaemonConfig) []string) func(Probe) []ownedFile {
		return func(Probe) []ownedFile {
			out := rootOwned(defaults...)
			for _, e := range d.Engines {
				if e.Config == nil {
					continue
				}
				for _, p := range f(e.Config) {
					of := ownedFile{path: p, uid: e.Config.UID}
					if !slices.ContainsFunc(out, func(o ownedFile) bool { return workload.RunPath(o.path) == workload.RunPath(of.path) }) {
						out = append(out, of)
					}
				}
			}
			return out
		}
	}
	tlsFile := func(key, name string) func(Probe) []ownedFile {
		return perDaemon(nil, func(c *DaemonConfig) []string {
			if v := c.TLSFile(key, name); v != "" {
				return []string{v}
			}
			return nil
		})
	}
	daemonJSON := perDaemon([]string{"/etc/docker/daemon.json"}, func(c *DaemonConfig) []string {
		if c.File != "" {
			return []string{c.File}
		}
		return nil
	})
	containerdSocket := perDaemon([]string{"/run/containerd/containerd.sock"}, func(c *DaemonConfig) []string {
		return []string{c.ContainerdSocket()}
	})
	rules := []fileRule{
		{"files-docker-service", "3.1, 3.2", "docker.service is root-owned and 0644 or stricter", func(Probe) []ownedFile { return rootOwned(unitFiles("docker.service")...) }, 0o644},
		{"files-docker-socket-unit", "3.3, 3.4", "docker.socket is root-owned and 0644 or stricter", func(Probe) []ownedFile { return rootOwned(unitFiles("docker.socket")...) }, 0o644},
		{"files-etc-docker", "3.5, 3.6", "/etc/docker is root-owned and 0755 or stricter", fixed("/etc/docker"), 0o755},
		{"files-registry-certs", "3.7, 3.8", "Registry certificates are root-owned and 0444 or stricter", func(p Probe) []ownedFile { return rootOwned(registryCerts(p)...) }, 0o444},
		{"files-tls-ca", "3.9, 3.10", "The daemon's TLS CA certificate is root-owned and 0444 or stricter", tlsFile("tlscacert", "ca.pem"), 0o444},
		{"files-tls-cert", "3.11, 3.12", "The daemon's TLS certificate is root-owned and 0444 or stricter", tlsFile("tlscert", "cert.pem"), 0o444},
		{"files-tls-key", "3.13, 3.14", "The daemon's TLS key is root-owned and 0400", tlsFile("tlskey", "key.pem"), 0o400},
		{"files-daemon-json", "3.17, 3.18", "The daemon's configuration file is root-owned and 0644 or stricter", daemonJSON, 0o644},
		{"files-default-docker", "3.19, 3.20", "/etc/default/docker is root-owned and 0644 or stricter", fixed("/etc/default/docker"), 0o644},
		{"files-sysconfig-docker", "3.21, 3.22", "/etc/sysconfig/docker is root-owned and 0644 or stricter", fixed("/etc/sysconfig/docker"), 0o644},
		{"files-containerd-socket", "3.23, 3.24", "The containerd sockets are root-owned and 0660 or stricter", containerdSocket, 0o660},
	}
	var out []Check
	for _, r := range rules {
		out = append(out, check(r.id, r.cis, finding.SeverityMedium, r.title,
			fmt.Sprintf("CIS %s: whoever can change this file changes how the engine runs or whom it trusts. It must belong to root:root (a rootless engine's own files: its user) and be mode %04o or stricter.", r.cis, r.maxMode),
			fmt.Sprintf("chown root:root FILE && chmod %04o FILE", r.maxMode),
			func(p Probe) Outcome { return fileModeOutcome(p, r.files(p), r.maxMode) }))
	}
	return out
}

// registryCerts are /etc/docker/certs.d/HOST/*.crt.
func registryCerts(p Probe) []string {
	hosts, err := p.ReadDir("/etc/docker/certs.d")
	if err != nil {
		return nil
	}
	var out []string
	for _, h := range hosts {
		dir := "/etc/docker/certs.d/" + h.Name()
		files, err := p.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, f := range files {
			if strings.HasSuffix(f.Name(), ".crt") {
				out = append(out, dir+"/"+f.Name())
			}
		}
	}
	return out
}

// fileModeOutcome judges each file's owner and mode; the fix names each
// file that is wrong, with its owner.
func fileModeOutcome(p Probe, files []ownedFile, maxMode fs.FileMode) Outcome {
	var bad, good, fixes, unknown []string
	for _, f := range files {
		fi, err := p.Stat(f.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			// It may exist where this user cannot look (a key under
			// /root): not absent, not judged.
			unknown = append(unknown, f.path+": "+err.Error())
			continue
		}
		mode := fi.Mode().Perm()
		uid, gid := ownerOf(fi)
		desc := fmt.Sprintf("%s %04o uid %d gid %d", f.path, mode, uid, gid)
		var why []string
		if mode&^maxMode != 0 {
			why = append(why, fmt.Sprintf("mode wider than %04o", maxMode))
		}
		owner := "root:root"
		if f.uid != 0 {
			owner = fmt.Sprintf("%d", f.uid)
			if uid != f.uid {
				why = append(why, fmt.Sprintf("not owned by uid %d, the engine's user", f.uid))
			}
		} else if uid != 0 || gid != 0 {
			why = append(why, "not owned by root:root")
		}
		fileWrong := len(why) > 0
		dirWhy, dirFixes := openDirs(p, f)
		why = append(why, dirWhy...)
		if len(why) > 0 {
			bad = append(bad, desc+": "+strings.Join(why, ", "))
			if fileWrong {
				fixes = append(fixes, fmt.Sprintf("chown %s %s && chmod %04o %s", owner, f.path, mode&maxMode, f.path))
			}
			fixes = append(fixes, dirFixes...)
		} else {
			good = append(good, desc)
		}
	}
	switch {
	case len(bad) > 0:
		o := fail(strings.Join(bad, "; "), strings.Join(append(bad, good...), "; "))
		o.Fix = strings.Join(fixes, "; ")
		o.Partial = strings.Join(unknown, "; ")
		return o
	case len(unknown) > 0:
		return undecided("cannot see " + strings.Join(unknown, "; "))
	case len(good) == 0:
		return skip("not present on this host")
	}
	return pass(strings.Join(good, "; "))
}

// maxLinks bounds the symbolic links followed resolving one path, as
// the kernel does (ELOOP).
const maxLinks = 40

// realPath resolves every symbolic link in name, as opening it does;
// false when the links loop or go deeper than maxLinks.
func realPath(p Probe, name string) (string, bool) {
	parts := strings.Split(strings.TrimPrefix(path.Clean(name), "/"), "/")
	cur, hops := "/", 0
	for i := 0; i < len(parts); i++ {
		next := path.Join(cur, parts[i])
		target, err := p.Readlink(next)
		if err != nil {
			cur = next
			continue
		}
		if hops++; hops > maxLinks {
			return "", false
		}
		if !path.IsAbs(target) {
			target = path.Join(cur, target)
		}
		parts = append(strings.Split(strings.TrimPrefix(path.Clean(target), "/"), "/"), parts[i+1:]...)
		cur, i = "/", -1
	}
	return cur, true
}

// openDirs says which directories on the way to f (through any symbolic
// link, to the file itself) let someone other than root or the engine's
// user replace it, whatever the file's own owner and mode: a directory
// another user owns, or one group or others may write without the
// sticky bit. Each comes with its fix.
func openDirs(p Probe, f ownedFile) (why, fixes []string) {
	real, ok := realPath(p, f.path)
	if !ok {
		return []string{"its symbolic links loop"}, nil
	}
	var dirs []string
	for _, name := range []string{f.path, real} {
		for d := path.Dir(path.Clean(name)); ; d = path.Dir(d) {
			if !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
			if d == "/" {
				break
			}
		}
	}
	for _, d := range dirs {
		fi, err := p.Stat(d)
		if err != nil {
			continue
		}
		uid, gid := ownerOf(fi)
		mode := fi.Mode()
		switch {
		case uid > 0 && uid != f.uid:
			why = append(why, fmt.Sprintf("directory %s belongs to uid %d, who can replace it", d, uid))
			fixes = append(fixes, "chown root "+d)
		case mode&fs.ModeSticky == 0 && mode&0o002 != 0:
			why = append(why, fmt.Sprintf("directory %s (%04o) lets every user replace it", d, mode.Perm()))
			fixes = append(fixes, "chmod o-w "+d)
		case mode&fs.ModeSticky == 0 && mode&0o020 != 0 && gid > 0:
			why = append(why, fmt.Sprintf("directory %s (%04o) lets group %d replace it", d, mode.Perm(), gid))
			fixes = append(fixes, "chmod g-w "+d)
		}
	}
	if real != path.Clean(f.path) && len(why) > 0 {
		why = append(why, "(it is a link to "+real+")")
	}
	return why, fixes
}

// auditedPaths are the files and directories CIS 1.1.3-1.1.18 want
// auditd to watch, where they exist.
var auditedPaths = []string{"/usr/bin/dockerd", "/run/containerd", "/var/lib/docker", "/etc/docker",
	"docker.service", "containerd.socket", "docker.socket", "/etc/default/docker", "/etc/docker/daemon.json",
	"/etc/containerd/config.toml", "/etc/sysconfig/docker", "/usr/bin/containerd", "/usr/bin/containerd-shim",
	"/usr/bin/containerd-shim-runc-v1", "/usr/bin/containerd-shim-runc-v2", "/usr/bin/runc"}

// HostEngineChecks judge the host as the engine's home (CIS 1.1): a
// separate partition for its data, who may control it, and auditd rules
// for its files.
func HostEngineChecks(d *Discovery) []Check {
	return []Check{
		check("host-engine-partition", "1.1.1", finding.SeverityLow, "Container data has its own partition",
			"CIS 1.1.1: images and containers on the root filesystem can fill it and stop the host.",
			"Mount a separate filesystem (a partition or LVM volume) on the engine's data root, /var/lib/docker by default.",
			func(p Probe) Outcome {
				data, err := p.ReadFile("/proc/self/mountinfo")
				if err != nil {
					return undecided("cannot read /proc/self/mountinfo: " + err.Error())
				}
				mounts := mountinfo.Parse(data)
				return d.eachEngine([]string{"docker"}, func(e *Engine) Outcome {
					root := e.Info.DockerRootDir
					if root == "" {
						return undecided("the engine does not report its data root")
					}
					if e.UsernsRemap() {
						root = path.Dir(root) // /var/lib/docker/100000.100000
					}
					return partitionOutcome(mounts, root)
				})
			}),
		check("engine-data-root", "", finding.SeverityHigh, "The engine's data root is closed to other users",
			"Container root filesystems live under the engine's data root (/var/lib/docker, Podman's graphroot). If other host users may enter it, they can run the setuid programs of any container's filesystem as root (CVE-2021-41091 for Docker, CVE-2021-41103 for containerd). Docker makes it 0710 since 20.10.9.",
			"chmod 0710 (or 0700) the data root; upgrade engines older than the fixes.",
			func(p Probe) Outcome {
				return d.eachEngine(nil, func(e *Engine) Outcome {
					root := e.Info.DockerRootDir
					if root == "" {
						return undecided("the engine does not report its data root")
					}
					fi, err := p.Stat(root)
					if err != nil {
						return undecided("cannot see " + root + ": " + err.Error())
					}
					if m := fi.Mode().Perm(); m&0o005 != 0 {
						o := fail(fmt.Sprintf("%s is mode %04o: other users may enter it", root, m), fmt.Sprintf("%s %04o", root, m))
						o.Fix = fmt.Sprintf("chmod 0710 %s (or 0700); upgrade engines older than the fixes.", root)
						return o
					}
					return pass(fmt.Sprintf("%s %04o", root, fi.Mode().Perm()))
				})
			}),
		check("host-docker-group", "1.1.2", finding.SeverityMedium, "Only trusted users control the engine",
			"CIS 1.1.2: members of the docker group, and of whatever group owns an engine's socket (dockerd -G), can start a privileged container and so are root on the host; users whose primary group it is count too. The list is here to review.",
			"gpasswd -d USER docker for every member who should not be root.",
			func(p Probe) Outcome { return engineGroupsOutcome(p, d) }),
		check("host-audit-rules", "1.1.3-1.1.18", finding.SeverityLow, "auditd watches the engine's files",
			"CIS 1.1.3 to 1.1.18: auditd rules on dockerd, containerd, runc, their configuration and data record who changed the engine.",
			"Add -w rules to /etc/audit/rules.d/docker.rules, e.g. -w /usr/bin/dockerd -k docker, for every path named, and reload auditd (augenrules --load).",
			func(p Probe) Outcome {
				var present []string
				for _, a := range append(auditedPaths, d.engineFiles()...) {
					candidates := []string{a}
					if !strings.HasPrefix(a, "/") {
						candidates = unitFiles(a)
					}
					for _, c := range candidates {
						if _, err := p.Stat(c); err == nil && !slices.Contains(present, c) {
							present = append(present, c)
							break
						}
					}
				}
				if len(present) == 0 {
					return skip("no engine files on this host")
				}
				watched, err := auditWatches(p)
				if err != nil {
					o := fail("auditd rules not found ("+err.Error()+"); not watched: "+strings.Join(present, ", "), "no /etc/audit/audit.rules or /etc/audit/rules.d/*.rules")
					o.Fix = auditFix(present)
					return o
				}
				var missing []string
				for _, f := range present {
					if !slices.Contains(watched, f) {
						missing = append(missing, f)
					}
				}
				if len(missing) > 0 {
					o := fail("not watched by auditd: "+strings.Join(missing, ", "), fmt.Sprintf("%d of %d engine paths without a -w rule", len(missing), len(present)))
					o.Fix = auditFix(missing)
					return o
				}
				return pass(fmt.Sprintf("all %d engine paths watched", len(present)))
			}),
	}
}

// auditFix is the fix for engine paths auditd does not watch: a rule for
// each, by its real path.
func auditFix(paths []string) string {
	return "Add to /etc/audit/rules.d/docker.rules: -w " + strings.Join(paths, " -k docker; -w ") + " -k docker; then reload auditd (augenrules --load)."
}

// engineGroupsOutcome lists who controls the engines through a group: the
// docker group and the group owning each engine socket found (dockerd's
// -G may name another), each with the users /etc/group lists and those
// whose primary group it is in /etc/passwd (which /etc/group does not
// repeat).
func engineGroupsOutcome(p Probe, d *Discovery) Outcome {
	data, err := p.ReadFile("/etc/group")
	if err != nil {
		return undecided("cannot read /etc/group: " + err.Error())
	}
	type group struct {
		name, line string
		members    []string
	}
	groups := map[int]*group{}
	var wanted []int
	// Whole lines, however long (a group of thousands of members): a
	// scanner's token limit would end the file early, silently.
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 4 {
			continue
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		g := &group{name: f[0], line: line}
		if f[3] != "" {
			g.members = strings.Split(f[3], ",")
		}
		groups[gid] = g
		if f[0] == "docker" {
			wanted = append(wanted, gid)
		}
	}
	for _, e := range d.Engines {
		if s, ok := strings.CutPrefix(e.Endpoint, "unix://"); ok {
			if fi, err := p.Stat(s); err == nil {
				if _, gid := ownerOf(fi); gid > 0 && !slices.Contains(wanted, gid) {
					wanted = append(wanted, gid)
				}
			}
		}
	}
	if len(wanted) == 0 {
		return pass("no docker group, and no engine socket belongs to a group")
	}
	if pw, err := p.ReadFile("/etc/passwd"); err == nil {
		for _, line := range strings.Split(string(pw), "\n") {
			f := strings.Split(line, ":")
			if len(f) < 4 {
				continue
			}
			if gid, err := strconv.Atoi(f[3]); err == nil && groups[gid] != nil && slices.Contains(wanted, gid) && !slices.Contains(groups[gid].members, f[0]) {
				groups[gid].members = append(groups[gid].members, f[0]+" (primary group)")
			}
		}
	} else {
		return undecided("cannot read /etc/passwd (users whose primary group controls the engine): " + err.Error())
	}
	var who, evidence, empty []string
	for _, gid := range wanted {
		g := groups[gid]
		if g == nil {
			who = append(who, fmt.Sprintf("group %d (no /etc/group entry)", gid))
			continue
		}
		if len(g.members) == 0 {
			empty = append(empty, g.name)
			continue
		}
		who = append(who, g.name+": "+strings.Join(g.members, ", "))
		evidence = append(evidence, "/etc/group: "+g.line)
	}
	if len(who) == 0 {
		return pass("no members in " + strings.Join(empty, ", "))
	}
	return warn("members of the groups that control the engines are root-equivalent: "+strings.Join(who, "; "), strings.Join(evidence, "; "))
}

// engineFiles are the files the engines found really use, where they
// differ from the defaults CIS names: each dockerd's binary, data root,
// configuration file and containerd socket.
func (d *Discovery) engineFiles() []string {
	var out []string
	for _, e := range d.Engines {
		if e.Kind != "docker" {
			continue
		}
		if e.Info.DockerRootDir != "" {
			out = append(out, e.Info.DockerRootDir)
		}
		if c := e.Config; c != nil {
			if c.Binary != "" {
				out = append(out, c.Binary)
			}
			if c.File != "" {
				out = append(out, c.File)
			}
			out = append(out, c.ContainerdSocket())
		}
	}
	return out
}

// auditWatches lists the paths auditd's rule files watch (-w PATH).
func auditWatches(p Probe) ([]string, error) {
	files := []string{"/etc/audit/audit.rules"}
	if ents, err := p.ReadDir("/etc/audit/rules.d"); err == nil {
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".rules") {
				files = append(files, "/etc/audit/rules.d/"+e.Name())
			}
		}
	}
	var out []string
	found := false
	for _, f := range files {
		data, err := p.ReadFile(f)
		if err != nil {
			continue
		}
		found = true
		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			for i := 0; i+1 < len(fields); i++ {
				if fields[i] == "-w" {
					out = append(out, filepath.Clean(fields[i+1]))
				}
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("auditd is not installed or its rules are not readable")
	}
	return out, nil
}

// partitionOutcome judges whether dir is a filesystem of its own: a mount
// point whose device differs from that of the mount holding its parent.
// dockerd bind-mounts its data root onto itself, so a mount point alone
// proves nothing: a bind mount shares its device with its source.
func partitionOutcome(mounts []mountinfo.Mount, dir string) Outcome {
	dir = path.Clean(dir)
	m, ok := mountinfo.Covering(mounts, dir)
	if !ok {
		return undecided("no mount holds " + dir + " in /proc/self/mountinfo")
	}
	fix := "Mount a separate filesystem (a partition or LVM volume) on " + dir + " and move the engine's data onto it."
	if m.MountPoint != dir {
		o := fail(fmt.Sprintf("%s is on the filesystem mounted at %s", dir, m.MountPoint),
			fmt.Sprintf("%s: device %s (%s %s) mounted at %s", dir, m.Device, m.FSType, m.Source, m.MountPoint))
		o.Fix = fix
		return o
	}
	var above []mountinfo.Mount
	for _, x := range mounts {
		if x.MountPoint != dir {
			above = append(above, x)
		}
	}
	parent, ok := mountinfo.Covering(above, path.Dir(dir))
	if ok && parent.Device == m.Device {
		o := fail(fmt.Sprintf("%s is a bind mount of %s on the filesystem mounted at %s, not a partition of its own", dir, m.Root, parent.MountPoint),
			fmt.Sprintf("%s: device %s (%s %s), the same as %s", dir, m.Device, m.FSType, m.Source, parent.MountPoint))
		o.Fix = fix
		return o
	}
	return pass(fmt.Sprintf("%s is its own filesystem (device %s, %s %s)", dir, m.Device, m.FSType, m.Source))
}
