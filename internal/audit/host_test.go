package audit

import (
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/sys/unix"

	"github.com/hull-sec/hull/internal/finding"
)

// fakeHost is a host made of files, modes, attributes and processes.
type fakeHost struct {
	files fstest.MapFS
	xattr map[string]string
	name  string
	uid   int
	procs []Process
	// denied are paths that exist but this user may not read.
	denied map[string]bool
}

func (h *fakeHost) ReadFile(p string) ([]byte, error) {
	if h.denied[p] {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
	}
	return fs.ReadFile(h.files, strings.TrimPrefix(p, "/"))
}
func (h *fakeHost) Stat(p string) (fs.FileInfo, error) {
	if h.denied[p] {
		return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrPermission}
	}
	return fs.Stat(h.files, strings.TrimPrefix(p, "/"))
}
func (h *fakeHost) Readlink(p string) (string, error) {
	return fs.ReadLink(h.files, strings.TrimPrefix(p, "/"))
}
func (h *fakeHost) Getxattr(p, name string) ([]byte, error) {
	if v, ok := h.xattr[p+"\x00"+name]; ok {
		return []byte(v), nil
	}
	return nil, fs.ErrNotExist
}
func (h *fakeHost) ReadDir(p string) ([]fs.DirEntry, error) {
	return fs.ReadDir(h.files, strings.TrimPrefix(p, "/"))
}
func (h *fakeHost) User() (string, int)           { return h.name, h.uid }
func (h *fakeHost) Processes() ([]Process, error) { return h.procs, nil }

// good is a well set-up host: every check passes.
func good() *fakeHost {
	return &fakeHost{name: "dev", uid: 1000, xattr: map[string]string{}, files: fstest.MapFS{
		"proc/self/status":                          {Data: []byte("Name:\tx\nSeccomp:\t0\nSeccomp_filters:\t0\n")},
		"proc/sys/kernel/seccomp/actions_avail":     {Data: []byte("kill_process kill_thread trap errno user_notif trace log allow\n")},
		"sys/kernel/security/lsm":                   {Data: []byte("lockdown,capability,landlock,yama,apparmor")},
		"sys/kernel/security/lockdown":              {Data: []byte("none [integrity] confidentiality\n")},
		"sys/fs/cgroup/cgroup.controllers":          {Data: []byte("cpuset cpu io memory pids\n")},
		"proc/sys/user/max_user_namespaces":         {Data: []byte("63000\n")},
		"proc/sys/kernel/unprivileged_userns_clone": {Data: []byte("1\n")},
		"proc/sys/user/max_mnt_namespaces":          {Data: []byte("63000\n")},
		"proc/sys/user/max_pid_namespaces":          {Data: []byte("63000\n")},
		"proc/sys/user/max_net_namespaces":          {Data: []byte("63000\n")},
		"etc/subuid":                                {Data: []byte("other:100000:65536\ndev:165536:65536\n")},
		"etc/subgid":                                {Data: []byte("1000:165536:65536\n")},
		"usr/bin/newuidmap":                         {Mode: 0o755 | fs.ModeSetuid},
		"usr/bin/newgidmap":                         {Mode: 0o755},
	}}
}

func states(t *testing.T, h Probe) map[string]finding.CheckStatus {
	t.Helper()
	sts, fs := Run(h, "host", HostChecks())
	out := map[string]finding.CheckStatus{}
	for _, s := range sts {
		out[s.ID] = s
	}
	for _, f := range fs {
		if out[f.ID].State != finding.StateFail && out[f.ID].State != finding.StateWarn {
			t.Errorf("finding %s for a check in state %s", f.ID, out[f.ID].State)
		}
		if f.Evidence == "" || f.Remediation == "" {
			t.Errorf("finding %s without evidence or remediation", f.ID)
		}
	}
	return out
}

func TestHostChecks(t *testing.T) {
	h := good()
	h.xattr["/usr/bin/newgidmap\x00security.capability"] = "\x01\x00\x00\x02"
	for id, s := range states(t, h) {
		if s.State != finding.StatePass {
			t.Errorf("good host: %s is %s (%s)", id, s.State, s.Reason)
		}
	}
	for _, c := range []struct {
		name  string
		edit  func(*fakeHost)
		check string
		want  finding.State
		in    string // in the reason
	}{
		{"no seccomp", func(h *fakeHost) { h.files["proc/self/status"].Data = []byte("Name:\tx\n") }, "host-seccomp", finding.StateFail, "no seccomp"},
		{"no LSM", func(h *fakeHost) { h.files["sys/kernel/security/lsm"].Data = []byte("capability,yama") }, "host-lsm", finding.StateFail, "no mandatory"},
		// The LSM check always applies: without securityfs it asks the
		// modules, a kernel with none built in fails, and what it cannot
		// tell is undecided, not skipped.
		{"no securityfs, no MAC module", func(h *fakeHost) { delete(h.files, "sys/kernel/security/lsm") }, "host-lsm", finding.StateFail, "no mandatory"},
		{"no securityfs, AppArmor on", func(h *fakeHost) {
			delete(h.files, "sys/kernel/security/lsm")
			h.files["sys/module/apparmor/parameters/enabled"] = &fstest.MapFile{Data: []byte("Y\n")}
		}, "host-lsm", finding.StatePass, "AppArmor is enabled"},
		{"no securityfs, SELinux on", func(h *fakeHost) {
			delete(h.files, "sys/kernel/security/lsm")
			h.files["sys/fs/selinux/enforce"] = &fstest.MapFile{Data: []byte("1")}
		}, "host-lsm", finding.StatePass, "SELinux is enabled"},
		{"no securityfs, AppArmor built in but off", func(h *fakeHost) {
			delete(h.files, "sys/kernel/security/lsm")
			h.files["sys/module/apparmor/parameters/enabled"] = &fstest.MapFile{Data: []byte("N\n")}
		}, "host-lsm", finding.StateFail, "no mandatory"},
		{"no securityfs, SELinux built in, selinuxfs not mounted", func(h *fakeHost) {
			delete(h.files, "sys/kernel/security/lsm")
			h.files["sys/fs/selinux"] = &fstest.MapFile{Mode: fs.ModeDir | 0o755}
		}, "host-lsm", finding.StateError, "cannot tell"},
		{"lockdown off", func(h *fakeHost) {
			h.files["sys/kernel/security/lockdown"].Data = []byte("[none] integrity confidentiality")
		}, "host-lockdown", finding.StateWarn, "off"},
		{"hybrid cgroups", func(h *fakeHost) {
			delete(h.files, "sys/fs/cgroup/cgroup.controllers")
			h.files["sys/fs/cgroup/unified/cgroup.controllers"] = &fstest.MapFile{}
		}, "host-cgroup-v2", finding.StateWarn, "hybrid"},
		{"userns off", func(h *fakeHost) { h.files["proc/sys/user/max_user_namespaces"].Data = []byte("0") }, "host-userns", finding.StateFail, "disabled"},
		{"debian clone off", func(h *fakeHost) { h.files["proc/sys/kernel/unprivileged_userns_clone"].Data = []byte("0") }, "host-userns", finding.StateFail, "unprivileged"},
		{"net namespaces off", func(h *fakeHost) { h.files["proc/sys/user/max_net_namespaces"].Data = []byte("0") }, "host-namespace-limits", finding.StateFail, "net"},
		{"no subgid", func(h *fakeHost) { h.files["etc/subgid"].Data = []byte("other:1:65536\n") }, "rootless-subids", finding.StateFail, "/etc/subgid"},
		{"small subuid", func(h *fakeHost) { h.files["etc/subuid"].Data = []byte("dev:100000:1000\n") }, "rootless-subids", finding.StateFail, "/etc/subuid"},
		{"root", func(h *fakeHost) { h.name, h.uid = "root", 0 }, "rootless-subids", finding.StateSkip, "sudo -u USER hull audit host"},
		{"newgidmap plain", func(h *fakeHost) {}, "rootless-newidmap", finding.StateFail, "newgidmap neither setuid"},
		{"no newuidmap", func(h *fakeHost) { delete(h.files, "usr/bin/newuidmap") }, "rootless-newidmap", finding.StateFail, "newuidmap not installed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := good()
			if c.name != "newgidmap plain" {
				h.xattr["/usr/bin/newgidmap\x00security.capability"] = "\x01\x00\x00\x02"
			}
			c.edit(h)
			s := states(t, h)[c.check]
			if s.State != c.want || !strings.Contains(s.Reason, c.in) {
				t.Errorf("%s: %s (%s), want %s with %q", c.check, s.State, s.Reason, c.want, c.in)
			}
		})
	}
}

// On the real machine every check decides or says why it cannot.
func TestHostChecksOnThisMachine(t *testing.T) {
	sts, _ := Run(Host{}, "host", HostChecks())
	if len(sts) != len(HostChecks()) {
		t.Fatalf("%d statuses", len(sts))
	}
	for _, s := range sts {
		if s.State == finding.StateError || s.Reason == "" {
			t.Errorf("%s: %s %q", s.ID, s.State, s.Reason)
		}
		t.Logf("%s: %s: %s", s.ID, s.State, s.Reason)
	}
}

// TestHostReadFileBounds: a path another process names (--config-file,
// CONTAINERS_CONF) may be a device or a FIFO; ReadFile refuses them
// instead of reading forever or blocking.
func TestHostReadFileBounds(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/dev/zero", fifo} {
		if _, err := (Host{}).ReadFile(p); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: %v", p, err)
		}
	}
	if b, err := (Host{}).ReadFile("/proc/self/cmdline"); err != nil || len(b) == 0 {
		t.Errorf("/proc/self/cmdline: %d bytes, %v", len(b), err)
	}
}

// Who controls the engine through a group: /etc/group's members and the
// users whose primary group it is (/etc/passwd), for the docker group
// and for the group that owns an engine's socket.
func TestEngineGroups(t *testing.T) {
	engineGroupsOutcome := func(p Probe, d *Discovery) Outcome {
		for _, c := range HostEngineChecks(d) {
			if c.ID == "host-docker-group" {
				return runOne(c, p)
			}
		}
		t.Fatal("no host-docker-group check")
		return Outcome{}
	}
	h := &fakeHost{files: fstest.MapFS{
		"etc/group":  {Data: []byte("root:x:0:\ndocker:x:999:\nusers:x:100:\n")},
		"etc/passwd": {Data: []byte("root:x:0:0::/root:/bin/sh\neve:x:1001:999::/home/eve:/bin/sh\n")},
	}}
	o := engineGroupsOutcome(h, &Discovery{})
	if o.State != finding.StateWarn || !strings.Contains(o.Reason, "docker: eve (primary group)") {
		t.Errorf("a user whose primary group is docker: %s %s", o.State, o.Reason)
	}
	h.files["etc/passwd"] = &fstest.MapFile{Data: []byte("root:x:0:0::/root:/bin/sh\n")}
	if o := engineGroupsOutcome(h, &Discovery{}); o.State != finding.StatePass {
		t.Errorf("an empty docker group: %s %s", o.State, o.Reason)
	}
	// A group of thousands of members (a directory-synced "staff") is
	// one line longer than a scanner's default token: the groups and
	// users after it are still read.
	long := "staff:x:50:" + strings.Repeat("someone,", 10000) + "last\n"
	h.files["etc/group"] = &fstest.MapFile{Data: []byte("root:x:0:\n" + long + "docker:x:999:mallory\n")}
	h.files["etc/passwd"] = &fstest.MapFile{Data: []byte("root:x:0:0::/root:/bin/sh\nx:x:1:50:" + strings.Repeat("g", 70000) + "::/bin/sh\neve:x:1001:999::/home/eve:/bin/sh\n")}
	if o := engineGroupsOutcome(h, &Discovery{}); o.State != finding.StateWarn || !strings.Contains(o.Reason, "docker: mallory, eve (primary group)") {
		t.Errorf("the docker group after a long line: %s %s", o.State, o.Reason)
	}

	// A real socket owned by group users (gid 100 on Debian) is judged
	// by that group, whatever its name.
	sock := filepath.Join(t.TempDir(), "e.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := os.Chown(sock, 0, 100); err != nil {
		t.Fatal(err)
	}
	name, err := user.LookupGroupId("100")
	if err != nil {
		t.Skipf("no group 100 on this machine: %v", err)
	}
	o = engineGroupsOutcome(Host{}, &Discovery{Engines: []*Engine{{Kind: "docker", Endpoint: "unix://" + sock}}})
	if !strings.Contains(o.Reason, name.Name) {
		t.Errorf("the socket's group %s is not judged: %s %s", name.Name, o.State, o.Reason)
	}
}

// A file this user cannot look at (a TLS key under /root, audited
// without root) is not absent: its check cannot decide.
func TestFileChecksUnseen(t *testing.T) {
	c := &DaemonConfig{PID: 1, settings: map[string][]string{"tlskey": {"/root/.docker/key.pem"}}}
	d := &Discovery{Engines: []*Engine{{Kind: "docker", Endpoint: "unix:///x.sock", Config: c}}}
	h := &fakeHost{files: fstest.MapFS{}, denied: map[string]bool{"/root/.docker/key.pem": true}}
	sts, _ := Run(h, "test", FileChecks(d))
	for _, s := range sts {
		if s.ID == "files-tls-key" && (s.State != finding.StateError || !strings.Contains(s.Reason, "/root/.docker/key.pem")) {
			t.Errorf("an unseen key: %+v, want undecided naming it", s)
		}
	}
}
