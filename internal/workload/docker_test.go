package workload

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
)

// An inspection as dockerd 20.10 answers it, trimmed: every setting the
// rules read comes out of FromInspect with the JSON field it was read
// from.
func TestParseInspect(t *testing.T) {
	data := []byte(`[{"Id":"0123456789abcdef0123","Name":"/web","AppArmorProfile":"",
		"State":{"Status":"running","Running":true,"Pid":4242},
		"Config":{"User":"0:0","Image":"nginx:1.27","Healthcheck":{"Test":["CMD","true"]}},
		"HostConfig":{"Privileged":false,"CapAdd":["CAP_SYS_ADMIN","chown"],"CapDrop":["ALL"],"NetworkMode":"container:db",
			"PidMode":"host","IpcMode":"private","UTSMode":"","UsernsMode":"host","CgroupnsMode":"private",
			"SecurityOpt":["seccomp:unconfined","no-new-privileges","label=disable","systempaths=unconfined"],
			"ReadonlyRootfs":true,"Memory":67108864,"PidsLimit":64,"CpuShares":512,"NanoCpus":0,"CpuQuota":0,
			"CgroupParent":"/custom","RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},
			"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}],"53/udp":[{"HostIp":"127.0.0.1","HostPort":"53"}]},
			"Devices":[{"PathOnHost":"/dev/fuse","PathInContainer":"/dev/fuse","CgroupPermissions":"rwm"}],
			"DeviceCgroupRules":["c 10:229 rwm"],"MaskedPaths":[],"ReadonlyPaths":["/proc/sys"]},
		"Mounts":[{"Type":"bind","Source":"/etc","Destination":"/host-etc","Mode":"ro","RW":false,"Propagation":"rprivate"},
			{"Type":"volume","Name":"data","Source":"/var/lib/docker/volumes/data/_data","Destination":"/data","RW":true}],
		"NetworkSettings":{"Ports":{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"","HostPort":"8080"}]},"Networks":{"db":{}}}}]`)
	ws, err := ParseInspect(data)
	if err != nil || len(ws) != 1 {
		t.Fatalf("ParseInspect: %v, %d workloads", err, len(ws))
	}
	w := ws[0]
	if w.Name != "web (0123456789ab)" || w.Stage != StageRunning || w.Image != "nginx:1.27" || w.User != "0:0" {
		t.Errorf("name %q stage %v image %q user %q", w.Name, w.Stage, w.Image, w.User)
	}
	if !slices.Equal(w.CapAdd, []string{"SYS_ADMIN", "CHOWN"}) || !slices.Equal(w.CapDrop, []string{"ALL"}) {
		t.Errorf("capabilities: add %v drop %v", w.CapAdd, w.CapDrop)
	}
	if w.Seccomp != "unconfined" || w.NoNewPrivileges == nil || !*w.NoNewPrivileges || !w.SELinuxDisabled || !w.SystemPathsUnconfined {
		t.Errorf("security options: seccomp %q nnp %v selinux %v systempaths %v", w.Seccomp, w.NoNewPrivileges, w.SELinuxDisabled, w.SystemPathsUnconfined)
	}
	if w.AppArmor != "unconfined" {
		t.Errorf("an engine that applied no AppArmor profile: %q", w.AppArmor)
	}
	if w.Namespaces != (Namespaces{Network: "container:db", PID: "host", IPC: "private", User: "host", Cgroup: "private"}) {
		t.Errorf("namespaces %+v", w.Namespaces)
	}
	// By destination, whatever order the engine listed them in.
	if len(w.Mounts) != 2 || w.Mounts[1] != (Mount{Type: "bind", Source: "/etc", Destination: "/host-etc", ReadOnly: true, Propagation: "rprivate"}) ||
		w.Mounts[0].Type != "volume" || w.Mounts[0].ReadOnly {
		t.Errorf("mounts %+v", w.Mounts)
	}
	// Asked for and bound, once each, by host address and port.
	want := []Port{{HostIP: "0.0.0.0", HostPort: "8080", ContainerPort: "80", Protocol: "tcp"},
		{HostIP: "127.0.0.1", HostPort: "53", ContainerPort: "53", Protocol: "udp"},
		{HostIP: "", HostPort: "8080", ContainerPort: "80", Protocol: "tcp"}}
	if !slices.Equal(w.Ports, want) {
		t.Errorf("ports %+v", w.Ports)
	}
	if w.Resources.Memory != 64<<20 || w.Resources.PidsLimit == nil || *w.Resources.PidsLimit != 64 || w.Resources.CPUShares != 512 ||
		w.Restart != (Restart{Policy: "on-failure", MaxRetries: 3}) || w.Healthcheck == nil || !*w.Healthcheck ||
		w.MaskedPaths == nil || len(w.MaskedPaths) != 0 || !w.ReadOnlyRootfs || w.CgroupParent != "/custom" ||
		len(w.Devices) != 1 || w.Devices[0].Permissions != "rwm" || !slices.Equal(w.Networks, []string{"db"}) {
		t.Errorf("settings %+v", w)
	}
	for setting, path := range map[string]string{
		SetPrivileged: "HostConfig.Privileged", "capAdd[1]": "HostConfig.CapAdd[1]", SetSeccomp: "HostConfig.SecurityOpt[0]",
		SetNoNewPrivileges: "HostConfig.SecurityOpt[1]", SetSELinux: "HostConfig.SecurityOpt[2]", SetSystemPaths: "HostConfig.SecurityOpt[3]",
		"mounts[1]": "Mounts[0]", "mounts[0]": "Mounts[1]", "ports[0]": `NetworkSettings.Ports["80/tcp"][0]`, "ports[1]": `HostConfig.PortBindings["53/udp"][0]`,
		"ports[2]": `HostConfig.PortBindings["80/tcp"][0]`, "devices[0]": "HostConfig.Devices[0]", SetAppArmor: "AppArmorProfile",
		SetUser: "Config.User", SetPID: "HostConfig.PidMode",
	} {
		if got := w.Source.Where(setting).Path; got != path {
			t.Errorf("%s read from %q, want %q", setting, got, path)
		}
	}
	for _, bad := range []string{``, `{}`, `[{"HostConfig":{"Privileged":"yes"}}]`, `[1]`, `[{}] x`} {
		if _, err := ParseInspect([]byte(bad)); err == nil {
			t.Errorf("ParseInspect(%q): no error", bad)
		}
	}
}

// --security-opt as dockerd reads it: key=value, the deprecated
// key:value, the bare no-new-privileges and disable, the last of a key
// winning; anything else is refused.
func TestSecurityOpts(t *testing.T) {
	for _, tc := range []struct {
		opts    []string
		nnp     *bool
		seccomp string
		selinux bool
		bad     bool
	}{
		{opts: []string{"no-new-privileges"}, nnp: new(true)},
		{opts: []string{"no-new-privileges=false"}, nnp: new(false)},
		{opts: []string{"no-new-privileges:true"}, nnp: new(true)},
		{opts: []string{"no-new-privileges=1", "no-new-privileges=false"}, nnp: new(false)},
		{opts: []string{"seccomp=unconfined", "seccomp=/p.json"}, seccomp: "/p.json"},
		{opts: []string{"seccomp:unconfined"}, seccomp: "unconfined"},
		{opts: []string{"disable"}, selinux: true},
		{opts: []string{"label:disable"}, selinux: true},
		{opts: []string{"label=type:svirt_apache_t"}},
		{opts: []string{"no-new-privileges=maybe"}, bad: true},
		{opts: []string{"bogus"}, bad: true},
		{opts: []string{"unknown=1"}, bad: true},
	} {
		w, err := ParseCreate([]byte(`{"Image":"x","HostConfig":{"SecurityOpt":` + jsonList(tc.opts) + `}}`))
		if tc.bad {
			if err == nil {
				t.Errorf("%q: accepted", tc.opts)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.opts, err)
			continue
		}
		if (w.NoNewPrivileges == nil) != (tc.nnp == nil) || w.NoNewPrivileges != nil && *w.NoNewPrivileges != *tc.nnp ||
			w.Seccomp != tc.seccomp || w.SELinuxDisabled != tc.selinux {
			t.Errorf("%q: nnp %v seccomp %q selinux %v", tc.opts, w.NoNewPrivileges, w.Seccomp, w.SELinuxDisabled)
		}
	}
}

func jsonList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = `"` + x + `"`
	}
	return "[" + strings.Join(q, ",") + "]"
}

// A create request's Binds, Mounts and Tmpfs each become a mount placed
// at its field; the default network is dockerd's default bridge.
func TestParseCreate(t *testing.T) {
	w, err := ParseCreate([]byte(`{"Image":"nginx","User":"app","Healthcheck":{"Test":["NONE"]},"ExposedPorts":{"80/tcp":{}},
		"HostConfig":{"Binds":["data:/data","/var/run/docker.sock:/var/run/docker.sock:ro"],
			"Mounts":[{"Type":"bind","Source":"/srv","Target":"/srv","BindOptions":{"Propagation":"rshared"}}],
			"Tmpfs":{"/tmp":"rw,size=64m"},"PortBindings":{"80/tcp":[{"HostPort":"80"}]}},
		"NetworkingConfig":{"EndpointsConfig":{"front":{}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if w.Stage != StageRequest || w.Name != "create request for nginx" || w.Namespaces.Network != "default" ||
		!slices.Equal(w.Networks, []string{"front"}) || len(w.Ports) != 1 || w.User != "app" {
		t.Errorf("workload %+v", w)
	}
	want := []Mount{{Type: "volume", Source: "data", Destination: "/data"},
		{Type: "bind", Source: "/srv", Destination: "/srv", Propagation: "rshared"},
		{Type: "tmpfs", Destination: "/tmp"},
		{Type: "bind", Source: "/var/run/docker.sock", Destination: "/var/run/docker.sock", ReadOnly: true}}
	if !slices.Equal(w.Mounts, want) {
		t.Errorf("mounts %+v", w.Mounts)
	}
	for setting, path := range map[string]string{"mounts[3]": "HostConfig.Binds[1]", "mounts[1]": "HostConfig.Mounts[0]",
		"mounts[2]": `HostConfig.Tmpfs["/tmp"]`, "mounts[0]": "HostConfig.Binds[0]", "ports[0]": `HostConfig.PortBindings["80/tcp"][0]`} {
		if got := w.Source.Where(setting).Path; got != path {
			t.Errorf("%s read from %q, want %q", setting, got, path)
		}
	}
	for _, bad := range []string{`{"HostConfig":{"Binds":["/etc"]}}x`, `{"HostConfig":{"Binds":["/etc:ro"]}}`,
		`{"HostConfig":{"Mounts":[{"Type":"bind","Source":"etc","Target":"/x"}]}}`, `[]`} {
		if _, err := ParseCreate([]byte(bad)); err == nil {
			t.Errorf("ParseCreate(%s): no error", bad)
		}
	}
}

// The container rules judge a Workload whatever it came from: the same
// settings read from a request and from a running container's
// inspection give one verdict, and what only the kernel shows is judged
// on running containers alone.
func TestContainerRulesOnWorkloads(t *testing.T) {
	judge := func(env *Env, w *Workload) map[string]Verdict {
		out := map[string]Verdict{}
		for _, r := range ContainerRules() {
			if r.Stages&w.Stage != 0 {
				if v := r.Judge(env, w); v.State != "" {
					out[r.ID] = v
				}
			}
		}
		return out
	}
	w, err := ParseCreate([]byte(`{"Image":"x","HostConfig":{"Privileged":true,"CapAdd":["SYS_ADMIN"],"PidMode":"host",
		"Binds":["/etc:/e","/run:/r"],"RestartPolicy":{"Name":"always"},"PortBindings":{"22/tcp":[{"HostPort":"22"}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := judge(nil, &w)
	for id, want := range map[string]string{
		"container-privileged": "privileged", "container-capabilities": "adds SYS_ADMIN", "container-host-pid": "pid=host",
		"container-sensitive-mounts": "/etc on /e (rw)", "container-restart-policy": "restart always",
		"container-privileged-ports": "22", "container-ports-interface": "*:22", "container-seccomp": "privileged (no seccomp)",
		"container-no-new-privileges": "no-new-privileges not set",
		"container-default-bridge":    "default bridge",
	} {
		if got[id].Evidence != want {
			t.Errorf("%s: %+v, want %q", id, got[id], want)
		}
	}
	// No user in a request is the image's, which it does not show.
	if v, ok := got["container-root-user"]; ok {
		t.Errorf("root user judged without the image: %+v", v)
	}
	root := w
	root.User = "0:0"
	if v := judge(nil, &root)["container-root-user"]; v.Evidence != "runs as root (0:0)" {
		t.Errorf("user 0:0: %+v", v)
	}
	if v := got["container-sensitive-mounts"]; v.Setting != "mounts[0]" || w.Source.Where(v.Setting).Path != "HostConfig.Binds[0]" {
		t.Errorf("sensitive mount placed at %q (%s)", v.Setting, w.Source.Where(v.Setting).Path)
	}
	// The host's engine socket, given by the Env, under a mounted /run.
	env := &Env{Engine: "podman", EngineSockets: []string{"/run/podman/podman.sock"}, Rootless: true}
	got = judge(env, &w)
	if got["container-engine-socket"].Evidence != "/run on /r (holds /run/podman/podman.sock)" {
		t.Errorf("engine socket: %+v", got["container-engine-socket"])
	}
	if got["container-root-user"].State != "" || got["container-default-bridge"].State != "" {
		t.Errorf("rootless Podman: root %+v, bridge %+v", got["container-root-user"], got["container-default-bridge"])
	}
	if v := judge(env, &root)["container-root-user"]; v.State != finding.StateWarn {
		t.Errorf("root on rootless Podman: %+v", v)
	}
	// What the kernel shows outweighs the settings, on running
	// containers only.
	w.Commands = []string{"/usr/sbin/sshd -D"}
	if judge(nil, &w)["container-sshd"].State != "" {
		t.Error("container-sshd judged a request")
	}
	w.Stage = StageRunning
	w.Observed = &Observed{PID: 7, StatusKnown: true, UID: 1000, NoNewPrivs: true, Seccomp: 2}
	got = judge(nil, &w)
	if got["container-sshd"].Evidence != "runs /usr/sbin/sshd -D" || got["container-root-user"].State != "" || got["container-no-new-privileges"].State != "" {
		t.Errorf("running: sshd %+v, root %+v, nnp %+v", got["container-sshd"], got["container-root-user"], got["container-no-new-privileges"])
	}
	if n := len(ContainerRules()); n != 30 {
		t.Errorf("%d container rules, want the audit's 30", n)
	}
}

// Every container rule finds what it looks for in the bad containers
// dockerd made and in a bad create request, and each verdict names the
// setting at fault, placed at its JSON field.
func TestEveryContainerRuleFires(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "inspect-bad.json"))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := ParseInspect(data)
	if err != nil {
		t.Fatal(err)
	}
	data, err = os.ReadFile(filepath.Join("testdata", "create-bad.json"))
	if err != nil {
		t.Fatal(err)
	}
	req, err := ParseCreate(data)
	if err != nil {
		t.Fatal(err)
	}
	ws[0].Commands = []string{"/usr/sbin/sshd -D"}
	ws = append(ws, req)
	env := &Env{Engine: "docker", EngineSockets: []string{"/run/docker.sock"}}
	fired := map[string]bool{}
	for i := range ws {
		for _, r := range ContainerRules() {
			if r.Stages&ws[i].Stage == 0 {
				continue
			}
			v := r.Judge(env, &ws[i])
			if v.State == "" {
				continue
			}
			fired[r.ID] = true
			if r.ID == "container-sshd" {
				continue
			}
			if v.Setting == "" || ws[i].Source.Where(v.Setting).Path == "" {
				t.Errorf("%s on %s: setting %q placed at %q", r.ID, ws[i].Name, v.Setting, ws[i].Source.Where(v.Setting).Path)
			}
		}
	}
	for _, r := range ContainerRules() {
		if !fired[r.ID] {
			t.Errorf("%s found nothing in the bad containers", r.ID)
		}
	}
}

// --no-healthcheck (Test ["NONE"]) is no health check; a request that
// names none leaves the image's in place, which the request alone does
// not show.
func TestHealthcheckNone(t *testing.T) {
	ws, err := ParseInspect([]byte(`[{"Id":"0123456789abcdef","Name":"/n","Config":{"Healthcheck":{"Test":["NONE"]}}},
		{"Id":"fedcba9876543210","Name":"/y","Config":{"Healthcheck":{"Test":["CMD-SHELL","true"]}}}]`))
	if err != nil {
		t.Fatal(err)
	}
	if h := ws[0].Healthcheck; h == nil || *h {
		t.Errorf("Test NONE read as a health check (set %v)", h != nil)
	}
	if h := ws[1].Healthcheck; h == nil || !*h {
		t.Errorf("a health check read as none (set %v)", h != nil)
	}
	for body, want := range map[string]*bool{`{"Image":"x"}`: nil, `{"Image":"x","Healthcheck":{"Test":[]}}`: nil,
		`{"Image":"x","Healthcheck":{"Test":["NONE"]}}`: new(false), `{"Image":"x","Healthcheck":{"Test":["CMD","true"]}}`: new(true)} {
		w, err := ParseCreate([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if (w.Healthcheck == nil) != (want == nil) || want != nil && *w.Healthcheck != *want {
			t.Errorf("%s: health check set %v, true %v", body, w.Healthcheck != nil, w.Healthcheck != nil && *w.Healthcheck)
		}
	}
}

// `podman inspect` (libpod's own answer, not the Docker-compatible API's)
// reads into the same model: podman 4.3 CLI output of a container created
// with --pid host --cap-add SYS_ADMIN --security-opt seccomp=unconfined
// -v /etc:/host-etc:ro --device /dev/null:/dev/hostnull --restart always.
func TestParseInspectPodman(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "inspect-podman-cli.json"))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := ParseInspect(data)
	if err != nil || len(ws) != 1 {
		t.Fatalf("%v, %d workloads", err, len(ws))
	}
	w := ws[0]
	if w.Namespaces.PID != "host" || w.Namespaces.Network != "none" || !slices.Equal(w.CapAdd, []string{"SYS_ADMIN"}) ||
		w.Seccomp != "unconfined" || w.Restart.Policy != "always" || len(w.Devices) != 1 || w.Devices[0].PathOnHost != "/dev/null" ||
		len(w.Mounts) != 1 || w.Mounts[0] != (Mount{Type: "bind", Source: "/etc", Destination: "/host-etc", ReadOnly: true, Propagation: "rprivate"}) ||
		!strings.HasPrefix(w.Name, "pbad (") || w.Image != "localhost/hull-test/busybox:1" {
		t.Errorf("podman inspect read as %+v", w)
	}
}
