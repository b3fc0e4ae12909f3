package workload

import (
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	k8sjson "sigs.k8s.io/json"
)

// An OCI runtime config.json is what a runtime (runc, crun) runs exactly
// as written: it has no engine default behind it. So, unlike a Docker
// create request, a setting left out is the runtime's own behaviour, which
// is the least confined one:
//
//   - no linux.seccomp: no seccomp filter ("unconfined");
//   - no process.apparmorProfile: no AppArmor profile ("unconfined"), and
//     no process.selinuxLabel: no SELinux label (SELinuxDisabled);
//   - a namespace type missing from linux.namespaces: the host's
//     ("host"); one with a path joins that namespace ("ns:PATH"), the
//     host's when it is PID 1's or the runtime's own ("/proc/1/ns/net");
//   - no maskedPaths: nothing under /proc and /sys is hidden
//     (SystemPathsUnconfined);
//   - no linux.resources.devices rule that denies every device: the
//     container's device cgroup allows every device ("a *:* rwm"), as a
//     new cgroup inherits its parent's.
//
// Capabilities are judged against Docker's default set, the one the
// container rules know: every capability in any of the process's sets
// (bounding, effective, permitted, inheritable, ambient: a root process
// gets its bounding set, a process of another user its permitted and
// ambient ones) that Docker does not grant is in CapAdd, every default
// one in none of the sets is in CapDrop. A config whose sets hold every
// capability has CapAdd ["ALL"]. A config is Privileged when it lifts
// what `docker run --privileged` lifts: every capability, no seccomp
// filter and no masked path.
//
// Hooks run commands on the host before and after the container; the
// converter names them in Notes, and no rule judges them.

// dockerDefaultCaps is the capability set Docker (and runc spec's
// example, minus AUDIT_WRITE, KILL and NET_BIND_SERVICE) grants a
// container, as moby's oci/caps/defaults.go lists it.
var dockerDefaultCaps = []string{
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

// allCaps are the Linux capabilities (capabilities(7), Linux 5.9 and later).
var allCaps = []string{
	"AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE",
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER",
	"KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN",
	"NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP",
	"SETUID", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT",
	"SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG", "WAKE_ALARM",
}

// ParseOCIConfig reads an OCI runtime config.json (file names it in
// Source). The document must name its ociVersion; a key given twice, a
// value of the wrong kind or trailing data is an error.
func ParseOCIConfig(data []byte, file string) (Workload, error) {
	places, err := jsonPlaces(data)
	if err != nil {
		return Workload{}, fmt.Errorf("%s: %w", file, err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return Workload{}, fmt.Errorf("%s: %w", file, plainJSONError(err, data))
	}
	if s.Version == "" {
		return Workload{}, fmt.Errorf("%s: no ociVersion: not an OCI runtime config", file)
	}
	// runc decodes config.json with encoding/json, which takes a key in
	// any case ("NoNewPrivileges"); crun matches keys exactly and ignores
	// it. A config the two would run differently is refused.
	var exact specs.Spec
	if k8sjson.UnmarshalCaseSensitivePreserveInts(data, &exact) != nil || !reflect.DeepEqual(s, exact) {
		return Workload{}, fmt.Errorf("%s: a key is spelt in another case than the OCI runtime spec spells it: runc reads it, crun ignores it", file)
	}
	w := Workload{
		Name:  "OCI config " + file,
		Stage: StageFile,
		Source: Source{File: file, Kind: "OCI config",
			Fields: map[string]Place{}},
		// What the spec leaves out is the runtime's least confined
		// behaviour (see above).
		Seccomp: "unconfined", AppArmor: "unconfined", SELinuxDisabled: true,
		Namespaces:  Namespaces{Network: "host", PID: "host", IPC: "host", UTS: "host", User: "host", Cgroup: "host"},
		MaskedPaths: []string{}, ReadonlyPaths: []string{},
	}
	c := ociConv{w: &w, places: places}
	c.process(s.Process)
	if s.Root != nil {
		w.ReadOnlyRootfs = s.Root.Readonly
		c.set(SetReadOnlyRootfs, "root.readonly")
	}
	c.mounts(s.Mounts)
	if s.Linux != nil {
		c.linux(s.Linux)
	}
	w.SystemPathsUnconfined = len(w.MaskedPaths) == 0
	w.Privileged = slices.Equal(w.CapAdd, []string{"ALL"}) && w.Seccomp == "unconfined" && w.SystemPathsUnconfined
	if w.Privileged {
		c.set(SetPrivileged, "process.capabilities.bounding")
	}
	c.hooks(s.Hooks)
	c.placeAbsent()
	return w, nil
}

// ociConv fills a Workload from a spec and places each setting.
type ociConv struct {
	w      *Workload
	places map[string]int
}

// set records that setting was written at the JSON path p, if p is in
// the document (a setting the spec leaves out points at the document).
func (c ociConv) set(setting, p string) {
	if line, ok := c.places[p]; ok {
		c.w.Source.Fields[setting] = Place{Path: p, Line: line}
	}
}

// ociPaths are where the OCI spec writes each setting.
var ociPaths = map[string]string{
	SetUser: "process.user", SetCapAdd: "process.capabilities.bounding", SetCapDrop: "process.capabilities.bounding",
	SetNoNewPrivileges: "process.noNewPrivileges", SetAppArmor: "process.apparmorProfile", SetSELinux: "process.selinuxLabel",
	SetReadOnlyRootfs: "root.readonly", SetNetwork: "linux.namespaces", SetPID: "linux.namespaces", SetIPC: "linux.namespaces",
	SetUTS: "linux.namespaces", SetUserNS: "linux.namespaces", SetMounts: "mounts", SetDevices: "linux.devices",
	SetDeviceCgroupRules: "linux.resources.devices", SetSeccomp: "linux.seccomp", SetSystemPaths: "linux.maskedPaths",
	SetMemory: "linux.resources.memory.limit", SetCPU: "linux.resources.cpu", SetPidsLimit: "linux.resources.pids.limit",
	SetCgroupParent: "linux.cgroupsPath",
}

// placeAbsent places each setting the document leaves out where the spec
// would write it, on the line of its nearest enclosing field that is
// there ("linux.seccomp" on the line of "linux"; line 0 when none is): a
// finding about a missing seccomp section points where to add one.
func (c ociConv) placeAbsent() {
	for setting, p := range ociPaths {
		if _, ok := c.w.Source.Fields[setting]; ok {
			continue
		}
		line := 0
		for q := p; q != "" && line == 0; {
			line = c.places[q]
			i := strings.LastIndexAny(q, ".[")
			if i < 0 {
				break
			}
			q = q[:i]
		}
		c.w.Source.Fields[setting] = Place{Path: p, Line: line}
	}
}

func (c ociConv) process(p *specs.Process) {
	w := c.w
	if p == nil {
		return
	}
	w.User = strconv.FormatUint(uint64(p.User.UID), 10) + ":" + strconv.FormatUint(uint64(p.User.GID), 10)
	c.set(SetUser, "process.user")
	for _, g := range p.User.AdditionalGids {
		w.Groups = append(w.Groups, strconv.FormatUint(uint64(g), 10))
	}
	nnp := p.NoNewPrivileges
	w.NoNewPrivileges = &nnp
	c.set(SetNoNewPrivileges, "process.noNewPrivileges")
	if p.ApparmorProfile != "" {
		w.AppArmor = p.ApparmorProfile
		c.set(SetAppArmor, "process.apparmorProfile")
	}
	if l := p.SelinuxLabel; l != "" {
		// user:role:type:level; spc_t is the unconfined container type.
		parts := strings.Split(l, ":")
		w.SELinuxDisabled = len(parts) > 2 && parts[2] == "spc_t"
		c.set(SetSELinux, "process.selinuxLabel")
	}
	c.capabilities(p.Capabilities)
}

func (c ociConv) capabilities(pc *specs.LinuxCapabilities) {
	w := c.w
	have := map[string]bool{}
	if pc != nil {
		for _, set := range [][]string{pc.Bounding, pc.Effective, pc.Permitted, pc.Inheritable, pc.Ambient} {
			for _, name := range set {
				have[capName(name)] = true
			}
		}
	}
	if !slices.ContainsFunc(allCaps, func(n string) bool { return !have[n] }) {
		w.CapAdd = []string{"ALL"}
	} else {
		for n := range have {
			if !slices.Contains(dockerDefaultCaps, n) {
				w.CapAdd = append(w.CapAdd, n)
			}
		}
		slices.Sort(w.CapAdd)
	}
	for _, n := range dockerDefaultCaps {
		if !have[n] {
			w.CapDrop = append(w.CapDrop, n)
		}
	}
	c.set(SetCapAdd, "process.capabilities")
	c.set(SetCapDrop, "process.capabilities")
	c.set(SetCapAdd, "process.capabilities.bounding")
	c.set(SetCapDrop, "process.capabilities.bounding")
	if pc == nil {
		return
	}
	// Each added capability is placed where a set first names it.
	for i, n := range w.CapAdd {
		for _, set := range []struct {
			name  string
			names []string
		}{{"bounding", pc.Bounding}, {"effective", pc.Effective}, {"permitted", pc.Permitted}, {"inheritable", pc.Inheritable}, {"ambient", pc.Ambient}} {
			j := slices.IndexFunc(set.names, func(s string) bool { return capName(s) == n })
			if j >= 0 {
				c.set(fmt.Sprintf("capAdd[%d]", i), fmt.Sprintf("process.capabilities.%s[%d]", set.name, j))
				break
			}
		}
	}
}

func (c ociConv) mounts(ms []specs.Mount) {
	w := c.w
	c.set(SetMounts, "mounts")
	for i, m := range ms {
		mt := Mount{Type: m.Type, Source: m.Source, Destination: m.Destination}
		for _, o := range m.Options {
			switch o {
			case "bind", "rbind":
				mt.Type = "bind"
			case "ro":
				mt.ReadOnly = true
			case "rw":
				mt.ReadOnly = false
			case "private", "rprivate", "shared", "rshared", "slave", "rslave":
				mt.Propagation = o
			}
		}
		if mt.Type == "" {
			// Without a type or a bind option, runc mounts Source as
			// a file system of no type: only a bind makes sense.
			mt.Type = "bind"
		}
		w.Mounts = append(w.Mounts, mt)
		c.set(fmt.Sprintf("mounts[%d]", i), fmt.Sprintf("mounts[%d]", i))
	}
}

// hostNSPath matches the paths of the namespaces the runtime itself is
// in: those of PID 1 (the host's init) and its own (self, thread-self,
// and their threads), which a runtime started on the host shares with it.
var hostNSPath = regexp.MustCompile(`^/proc/(1|self|thread-self)(/task/[0-9]+)?/ns/[a-z_]+$`)

// nsPathMode is the mode of a namespace joined by its path: "host" for
// the host's (hostNSPath: joining /proc/1/ns/net is --network=host under
// another name), else "ns:PATH".
func nsPathMode(p string) string {
	if hostNSPath.MatchString(path.Clean(p)) {
		return "host"
	}
	return "ns:" + p
}

func (c ociConv) linux(l *specs.Linux) {
	w := c.w
	for _, ns := range l.Namespaces {
		mode := "private"
		if ns.Path != "" {
			mode = nsPathMode(ns.Path)
		}
		var setting string
		switch ns.Type {
		case specs.NetworkNamespace:
			w.Namespaces.Network, setting = mode, SetNetwork
		case specs.PIDNamespace:
			w.Namespaces.PID, setting = mode, SetPID
		case specs.IPCNamespace:
			w.Namespaces.IPC, setting = mode, SetIPC
		case specs.UTSNamespace:
			w.Namespaces.UTS, setting = mode, SetUTS
		case specs.UserNamespace:
			w.Namespaces.User, setting = mode, SetUserNS
		case specs.CgroupNamespace:
			w.Namespaces.Cgroup = mode
		}
		if setting != "" {
			c.set(setting, "linux.namespaces")
		}
	}
	if l.Seccomp != nil {
		w.Seccomp = "linux.seccomp"
		actions := make([]specs.LinuxSeccompAction, len(l.Seccomp.Syscalls))
		for i, sc := range l.Seccomp.Syscalls {
			actions[i] = sc.Action
		}
		if seccompAllowsAll(l.Seccomp.DefaultAction, actions) {
			w.Seccomp = "unconfined"
		}
		c.set(SetSeccomp, "linux.seccomp")
	}
	if l.MaskedPaths != nil {
		w.MaskedPaths = l.MaskedPaths
	}
	if l.ReadonlyPaths != nil {
		w.ReadonlyPaths = l.ReadonlyPaths
	}
	c.set(SetSystemPaths, "linux.maskedPaths")
	for i, d := range l.Devices {
		w.Devices = append(w.Devices, Device{PathOnHost: d.Path, PathInContainer: d.Path, Permissions: "rwm"})
		c.set(fmt.Sprintf("devices[%d]", i), fmt.Sprintf("linux.devices[%d]", i))
	}
	c.set(SetDevices, "linux.devices")
	c.deviceRules(l.Resources)
	if l.CgroupsPath != "" {
		w.CgroupParent = cgroupParent(l.CgroupsPath)
		c.set(SetCgroupParent, "linux.cgroupsPath")
	}
	if r := l.Resources; r != nil {
		if r.Memory != nil && r.Memory.Limit != nil && *r.Memory.Limit > 0 {
			w.Resources.Memory = *r.Memory.Limit
			c.set(SetMemory, "linux.resources.memory.limit")
		}
		if cpu := r.CPU; cpu != nil {
			if cpu.Shares != nil {
				w.Resources.CPUShares = int64(min(*cpu.Shares, 1<<62))
			}
			if cpu.Quota != nil && *cpu.Quota > 0 {
				w.Resources.CPUQuota = *cpu.Quota
				if cpu.Period != nil && *cpu.Period > 0 {
					w.Resources.NanoCPUs = int64(float64(*cpu.Quota) / float64(*cpu.Period) * 1e9)
				}
			}
			c.set(SetCPU, "linux.resources.cpu")
		}
		if r.Pids != nil && r.Pids.Limit != nil {
			n := *r.Pids.Limit
			w.Resources.PidsLimit = &n
			c.set(SetPidsLimit, "linux.resources.pids.limit")
		}
	}
}

// deviceRules replays linux.resources.devices as the device cgroup does:
// a new cgroup allows every device until a rule denies them all; after
// that, only the devices allowed are. DeviceCgroupRules holds what is
// allowed beyond what every container gets (defaultDeviceRules), as
// `docker run --device-cgroup-rule` writes it: Docker writes those
// defaults into every bundle it hands the runtime.
func (c ociConv) deviceRules(r *specs.LinuxResources) {
	var rules []specs.LinuxDeviceCgroup
	if r != nil {
		rules = r.Devices
	}
	allowAll := true
	var allowed []string
	for _, d := range rules {
		all := (d.Type == "" || d.Type == "a") && d.Major == nil && d.Minor == nil
		switch {
		case all && !d.Allow:
			allowAll, allowed = false, nil
		case all && d.Allow:
			allowAll = true
		case d.Allow && !isDefaultDevice(d):
			allowed = append(allowed, deviceRule(d))
		}
	}
	if allowAll {
		allowed = []string{"a *:* rwm"}
	}
	c.w.DeviceCgroupRules = allowed
	c.set(SetDeviceCgroupRules, "linux.resources.devices")
}

// defaultDeviceRules are the device rules runc and Docker give every
// container (runc's specconv.AllowedDevices, moby's default devices):
// mknod of any device, and the usual character devices.
var defaultDeviceRules = []string{
	"c *:* m", "b *:* m",
	"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", // null, zero, full, random, urandom
	"c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm", // tty, console, ptmx, pts, tun
}

// isDefaultDevice reports whether d allows no more than a default rule:
// the same device, and no access the default lacks.
func isDefaultDevice(d specs.LinuxDeviceCgroup) bool {
	rule := strings.Fields(deviceRule(d)) // type, major:minor, access
	for _, def := range defaultDeviceRules {
		want := strings.Fields(def)
		if rule[0] == want[0] && rule[1] == want[1] &&
			!strings.ContainsFunc(rule[2], func(r rune) bool { return !strings.ContainsRune(want[2], r) }) {
			return true
		}
	}
	return false
}

// deviceRule writes a cgroup device rule as Docker does: "c 1:3 rwm".
func deviceRule(d specs.LinuxDeviceCgroup) string {
	num := func(n *int64) string {
		if n == nil || *n < 0 {
			return "*"
		}
		return strconv.FormatInt(*n, 10)
	}
	typ, access := d.Type, d.Access
	if typ == "" {
		typ = "a"
	}
	if access == "" {
		access = "rwm"
	}
	return typ + " " + num(d.Major) + ":" + num(d.Minor) + " " + access
}

// cgroupParent is the parent of a cgroupsPath: the slice of systemd's
// "slice:prefix:name", else the directory of a path.
func cgroupParent(p string) string {
	if parts := strings.Split(p, ":"); len(parts) == 3 {
		return parts[0]
	}
	return path.Dir(p)
}

func (c ociConv) hooks(h *specs.Hooks) {
	if h == nil {
		return
	}
	for _, k := range []struct {
		name  string
		hooks []specs.Hook
		where string
	}{
		//lint:ignore SA1019 runc still runs prestart hooks, so a config that names one must say so
		{"prestart", h.Prestart, "on the host"},
		{"createRuntime", h.CreateRuntime, "on the host"},
		{"createContainer", h.CreateContainer, "in the container's namespaces"},
		{"startContainer", h.StartContainer, "in the container"},
		{"poststart", h.Poststart, "on the host"},
		{"poststop", h.Poststop, "on the host"},
	} {
		for i, hk := range k.hooks {
			line := ""
			if n := c.places[fmt.Sprintf("hooks.%s[%d]", k.name, i)]; n > 0 {
				line = fmt.Sprintf(" (line %d)", n)
			}
			c.w.Notes = append(c.w.Notes, fmt.Sprintf("%s: hook hooks.%s[%d]%s runs %s %s; hull does not judge hooks", c.w.Source.File, k.name, i, line, hk.Path, k.where))
		}
	}
}
