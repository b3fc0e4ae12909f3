package workload

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/testenv"
)

// runcSpec is the config.json `runc spec` writes, the starting point of
// every hand-written OCI config.
func runcSpec(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(testenv.RuncSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseOCIConfigOfRuncSpec(t *testing.T) {
	spec := string(runcSpec(t))
	w, err := ParseOCIConfig([]byte(spec), "config.json")
	if err != nil {
		t.Fatal(err)
	}
	if w.Stage != StageFile || w.Source.Kind != "OCI config" || w.Name != "OCI config config.json" {
		t.Errorf("stage %v kind %q name %q", w.Stage, w.Source.Kind, w.Name)
	}
	if w.User != "0:0" {
		t.Errorf("user %q, want 0:0", w.User)
	}
	// runc spec keeps AUDIT_WRITE, KILL and NET_BIND_SERVICE: it adds
	// nothing to Docker's set and drops the rest of it.
	if len(w.CapAdd) != 0 {
		t.Errorf("CapAdd %v, want none", w.CapAdd)
	}
	if want := []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "MKNOD", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}; !slices.Equal(w.CapDrop, want) {
		t.Errorf("CapDrop %v, want %v", w.CapDrop, want)
	}
	if w.NoNewPrivileges == nil || !*w.NoNewPrivileges || !w.ReadOnlyRootfs {
		t.Errorf("noNewPrivileges %v, read-only root %v: runc spec sets both", w.NoNewPrivileges, w.ReadOnlyRootfs)
	}
	// No seccomp section is no filter, no AppArmor profile none.
	if w.Seccomp != "unconfined" || w.AppArmor != "unconfined" || !w.SELinuxDisabled {
		t.Errorf("seccomp %q apparmor %q selinux disabled %v", w.Seccomp, w.AppArmor, w.SELinuxDisabled)
	}
	// runc spec unshares pid, network, ipc, uts and mount: the user and
	// cgroup namespaces are the host's.
	ns := w.Namespaces
	if ns.PID != "private" || ns.Network != "private" || ns.IPC != "private" || ns.UTS != "private" || ns.User != "host" {
		t.Errorf("namespaces %+v", ns)
	}
	if w.SystemPathsUnconfined || !slices.Contains(w.MaskedPaths, "/proc/kcore") || !slices.Contains(w.ReadonlyPaths, "/proc/sys") {
		t.Errorf("masked %v readonly %v unconfined %v", w.MaskedPaths, w.ReadonlyPaths, w.SystemPathsUnconfined)
	}
	// Its device rules deny every device first.
	if len(w.DeviceCgroupRules) != 0 {
		t.Errorf("device rules %v, want none beyond the defaults", w.DeviceCgroupRules)
	}
	if w.Privileged {
		t.Error("runc spec is not privileged")
	}
	for _, m := range w.Mounts {
		if m.Type == "bind" {
			t.Errorf("runc spec has no bind mount, got %+v", m)
		}
	}
	if p := w.Source.Where(SetNoNewPrivileges); p.Path != "process.noNewPrivileges" || p.Line == 0 {
		t.Errorf("noNewPrivileges placed at %+v", p)
	}
	// A setting the file lacks points where it would go, on the line of
	// the enclosing field.
	linuxLine := strings.Count(spec[:strings.Index(spec, `"linux"`)], "\n") + 1
	if p := w.Source.Where(SetSeccomp); p.Path != "linux.seccomp" || p.Line != linuxLine {
		t.Errorf("the seccomp section the file lacks is placed at %+v, want linux.seccomp on line %d", p, linuxLine)
	}
}

func TestParseOCIConfigPrivileged(t *testing.T) {
	data, err := os.ReadFile("testdata/oci/privileged.json")
	if err != nil {
		t.Fatal(err)
	}
	w, err := ParseOCIConfig(data, "privileged.json")
	if err != nil {
		t.Fatal(err)
	}
	if !w.Privileged || !slices.Equal(w.CapAdd, []string{"ALL"}) || len(w.CapDrop) != 0 {
		t.Errorf("privileged %v CapAdd %v CapDrop %v", w.Privileged, w.CapAdd, w.CapDrop)
	}
	if p := w.Source.Where(SetPrivileged); p.Path != "process.capabilities.bounding" || p.Line != 8 {
		t.Errorf("privileged placed at %+v", p)
	}
	if !w.SystemPathsUnconfined || w.NoNewPrivileges == nil || *w.NoNewPrivileges {
		t.Errorf("system paths unconfined %v, no new privileges %v", w.SystemPathsUnconfined, w.NoNewPrivileges)
	}
	ns := w.Namespaces
	if ns.Network != "ns:/var/run/netns/shared" || ns.IPC != "host" || ns.UTS != "host" || ns.PID != "private" {
		t.Errorf("namespaces %+v", ns)
	}
	if len(w.Mounts) != 3 {
		t.Fatalf("mounts %+v", w.Mounts)
	}
	if m := w.Mounts[1]; m.Type != "bind" || m.Source != "/var/run/docker.sock" || m.ReadOnly {
		t.Errorf("socket mount %+v", m)
	}
	if m := w.Mounts[2]; m.Type != "bind" || m.Source != "/" || !m.ReadOnly || m.Propagation != "rshared" {
		t.Errorf("root mount %+v", m)
	}
	if p := w.Source.Where("mounts[2]"); p.Path != "mounts[2]" || p.Line != 15 {
		t.Errorf("mounts[2] placed at %+v", p)
	}
	if len(w.Devices) != 1 || w.Devices[0].PathOnHost != "/dev/sda" {
		t.Errorf("devices %+v", w.Devices)
	}
	if p := w.Source.Where("devices[0]"); p.Path != "linux.devices[0]" || p.Line != 26 {
		t.Errorf("devices[0] placed at %+v", p)
	}
	if !slices.Equal(w.DeviceCgroupRules, []string{"c 10:* rwm"}) {
		t.Errorf("device rules %v", w.DeviceCgroupRules)
	}
	r := w.Resources
	if r.Memory != 512<<20 || r.CPUShares != 512 || r.CPUQuota != 50000 || r.NanoCPUs != 5e8 || r.PidsLimit == nil || *r.PidsLimit != 100 {
		t.Errorf("resources %+v", r)
	}
	if w.CgroupParent != "system.slice" {
		t.Errorf("cgroup parent %q", w.CgroupParent)
	}
	if len(w.Notes) != 1 || !strings.Contains(w.Notes[0], "nvidia-container-toolkit") || !strings.Contains(w.Notes[0], "on the host") {
		t.Errorf("notes %q", w.Notes)
	}
}

func TestParseOCIConfigEdges(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"no ociVersion", `{"process": {}}`, "no ociVersion"},
		{"duplicate key", "{\"ociVersion\": \"1.0.0\",\n \"ociVersion\": \"1.2.0\"}", `line 2: "ociVersion" is given twice in the top-level object`},
		{"nested duplicate", `{"ociVersion": "1", "process": {"noNewPrivileges": true, "noNewPrivileges": false}}`, `"noNewPrivileges" is given twice in process`},
		{"wrong kind", "{\"ociVersion\": \"1\",\n \"process\": {\"user\": {\"uid\": \"root\"}}}", "line 2: process.user.uid is a string, want a whole number of 0 or more"},
		{"negative", `{"ociVersion": "1", "process": {"user": {"uid": -1}}}`, "process.user.uid is the number -1"},
		{"not an object", `[1]`, "the document is a list, want an object"},
		{"two values", `{"ociVersion": "1"} {}`, "more than one JSON value"},
		{"truncated", `{"ociVersion": "1", "process": {`, "unexpected end of JSON"},
		{"empty", ``, "unexpected end of JSON"},
		{"syntax", "{\n\"ociVersion\": 1.2.3}", "invalid JSON at line 2"},
		// runc takes a key in any case, crun only as the spec spells it.
		{"other case", `{"ociVersion": "1", "process": {"NoNewPrivileges": true}}`, "spelt in another case"},
		{"duplicate in other case", `{"ociVersion": "1", "process": {"noNewPrivileges": true, "NONEWPRIVILEGES": false}}`, "spelt in another case"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseOCIConfig([]byte(tc.doc), "c.json")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "c.json: ") {
				t.Errorf("error %v, want one naming c.json and saying %q", err, tc.want)
			}
			if err != nil && (strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "specs.") || strings.Contains(err.Error(), "uint32")) {
				t.Errorf("error speaks Go: %v", err)
			}
		})
	}
	// An allow-all seccomp filter is none; device rules that never deny
	// every device leave every device allowed.
	w, err := ParseOCIConfig([]byte(`{"ociVersion": "1", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW"},
		"resources": {"devices": [{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]},
		"maskedPaths": ["/proc/kcore"]}}`), "c.json")
	if err != nil {
		t.Fatal(err)
	}
	if w.Seccomp != "unconfined" || !slices.Equal(w.DeviceCgroupRules, []string{"a *:* rwm"}) || w.SystemPathsUnconfined {
		t.Errorf("seccomp %q device rules %v system paths unconfined %v", w.Seccomp, w.DeviceCgroupRules, w.SystemPathsUnconfined)
	}
	// So is one that only logs: SCMP_ACT_LOG lets every call run.
	for doc, want := range map[string]string{
		`{"defaultAction": "SCMP_ACT_LOG"}`: "unconfined",
		`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["reboot"], "action": "SCMP_ACT_LOG"}]}`:   "unconfined",
		`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["reboot"], "action": "SCMP_ACT_ERRNO"}]}`: "linux.seccomp",
	} {
		w, err := ParseOCIConfig([]byte(`{"ociVersion": "1", "linux": {"seccomp": `+doc+`}}`), "c.json")
		if err != nil || w.Seccomp != want {
			t.Errorf("%s: seccomp %q (%v), want %q", doc, w.Seccomp, err, want)
		}
	}
	// Only what goes beyond the devices every container gets is a rule.
	w, err = ParseOCIConfig([]byte(`{"ociVersion": "1", "linux": {"resources": {"devices": [{"allow": false, "access": "rwm"},
		{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}, {"allow": true, "type": "c", "access": "m"},
		{"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}, {"allow": true, "type": "c", "access": "rwm"}]}}}`), "c.json")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"c 10:229 rwm", "c *:* rwm"}; !slices.Equal(w.DeviceCgroupRules, want) {
		t.Errorf("device rules %v, want %v", w.DeviceCgroupRules, want)
	}
	// A process running as another user with a capability in its
	// ambient set only has it.
	w, err = ParseOCIConfig([]byte(`{"ociVersion": "1", "process": {"user": {"uid": 1000, "gid": 1000, "additionalGids": [5, 27]},
		"capabilities": {"ambient": ["cap_net_admin"]}, "apparmorProfile": "hull-default", "selinuxLabel": "system_u:system_r:spc_t:s0"},
		"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}}}`), "c.json")
	if err != nil {
		t.Fatal(err)
	}
	if w.User != "1000:1000" || !slices.Equal(w.Groups, []string{"5", "27"}) || !slices.Equal(w.CapAdd, []string{"NET_ADMIN"}) ||
		w.AppArmor != "hull-default" || !w.SELinuxDisabled || w.Seccomp != "linux.seccomp" {
		t.Errorf("user %q groups %v CapAdd %v apparmor %q selinux disabled %v seccomp %q", w.User, w.Groups, w.CapAdd, w.AppArmor, w.SELinuxDisabled, w.Seccomp)
	}
	if p := w.Source.Where("capAdd[0]"); p.Path != "process.capabilities.ambient[0]" {
		t.Errorf("capAdd[0] placed at %+v", p)
	}
}

func FuzzParseOCIConfig(f *testing.F) {
	if data, err := os.ReadFile("testdata/oci/privileged.json"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"ociVersion": "1", "process": {"user": {"uid": 1}}, "linux": {"namespaces": [{"type": "user"}]}}`))
	f.Add([]byte(`{"ociVersion": "1", "mounts": [{"destination": "/x", "options": ["bind", "ro"]}], "linux": {"resources": {"devices": [{"allow": false}]}}}`))
	f.Add([]byte(`[[[[{"a": [1, {"b": 2}]}]]]]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := ParseOCIConfig(data, "f.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.json: ") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		for k, p := range w.Source.Fields {
			if p.Line < 0 || p.Line > strings.Count(string(data), "\n")+1 || p.Path == "" {
				t.Errorf("%s placed on line %d of a %d-line document", k, p.Line, strings.Count(string(data), "\n")+1)
			}
		}
		if w.Stage != StageFile || w.Source.File != "f.json" {
			t.Errorf("stage %v file %q", w.Stage, w.Source.File)
		}
	})
}

// TestParseOCIConfigHostNamespacePaths: joining the namespace of PID 1 or
// of the runtime itself by path is sharing the host's, as runc and
// Podman (nsmode path) do it; another path is that namespace.
func TestParseOCIConfigHostNamespacePaths(t *testing.T) {
	w, err := ParseOCIConfig([]byte(`{"ociVersion": "1", "linux": {"namespaces": [
		{"type": "network", "path": "/proc/1/ns/net"}, {"type": "pid", "path": "/proc/self/ns/pid"},
		{"type": "ipc", "path": "//proc/1/task/1/ns/ipc"}, {"type": "uts", "path": "/proc/thread-self/ns/uts"},
		{"type": "user", "path": "/proc/4242/ns/user"}, {"type": "mount"}]}}`), "c.json")
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "namespaces", w.Namespaces, Namespaces{Network: "host", PID: "host", IPC: "host", UTS: "host", User: "ns:/proc/4242/ns/user", Cgroup: "host"})
	j, err := Judge([]Workload{w}, JudgeOptions{Stage: StageFile})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"container-host-network", "container-host-pid", "container-host-ipc", "container-host-uts"} {
		if !slices.ContainsFunc(j.Findings, func(f finding.Finding) bool { return f.ID == id }) {
			t.Errorf("no %s finding", id)
		}
	}
	ws, err := ParseLibpodSpec([]byte(`{"name": "x", "image": "x:1", "netns": {"nsmode": "path", "value": "/proc/1/ns/net"}}`))
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "libpod network", ws.Namespaces.Network, "host")
}
