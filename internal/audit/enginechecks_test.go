package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hull-sec/hull/internal/finding"
)

// container builds a Container from docker-inspect JSON.
func container(t *testing.T, js string) Container {
	t.Helper()
	var c Container
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func judge(t *testing.T, d *Discovery, h Probe) map[string]Outcome {
	t.Helper()
	out := map[string]Outcome{}
	for _, c := range append(EngineChecks(d), ContainerChecks(d)...) {
		out[c.ID] = runOne(c, h)
	}
	return out
}

// Every container check on inspect output of one bad and one good
// container, including what this machine cannot start for real
// (privileged, shared propagation, published ports, AppArmor).
func TestContainerChecks(t *testing.T) {
	bad := container(t, `{"Id":"0123456789abcdef","Name":"/bad","AppArmorProfile":"unconfined",
		"Config":{"User":""},
		"HostConfig":{"Privileged":true,"CapAdd":["CAP_SYS_MODULE"],"NetworkMode":"host","PidMode":"host","IpcMode":"host",
			"UTSMode":"host","UsernsMode":"host","CgroupParent":"/x","SecurityOpt":["seccomp=unconfined","label=disable","no-new-privileges=false"],
			"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"80"}]},"RestartPolicy":{"Name":"always"},
			"Devices":[{"PathOnHost":"/dev/sda"}],"DeviceCgroupRules":["c 1:3 r","b *:* rwm"],"MaskedPaths":[]},
		"Mounts":[{"Type":"bind","Source":"/etc/","Destination":"/h","RW":true,"Propagation":"rshared"},
			{"Type":"bind","Source":"/run/containerd/containerd.sock","Destination":"/c.sock"}],
		"NetworkSettings":{"Networks":{"bridge":{}}}}`)
	bad.Commands = []string{"/usr/sbin/sshd -D", "sleep 600"}
	good := container(t, `{"Id":"fedcba9876543210","Name":"/good","AppArmorProfile":"docker-default",
		"Config":{"User":"1000:1000","Healthcheck":{"Test":["CMD","true"]}},
		"HostConfig":{"CapAdd":null,"CapDrop":["ALL"],"NetworkMode":"app","SecurityOpt":["no-new-privileges"],
			"ReadonlyRootfs":true,"Memory":67108864,"PidsLimit":64,"CpuShares":512,
			"PortBindings":{"8080/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]},"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":5},
			"DeviceCgroupRules":["c *:* m","c 136:* rwm"]},
		"Mounts":[{"Type":"volume","Source":"/var/lib/docker/volumes/x/_data","Destination":"/data","RW":true}]}`)
	e := &Engine{Kind: "docker", Endpoint: "unix:///d.sock", Containers: []Container{bad, good}}
	e.Info.SecurityOptions = []string{"name=apparmor", "name=seccomp,profile=default", "name=selinux"}
	got := judge(t, &Discovery{Engines: []*Engine{e}}, &fakeHost{files: fstest.MapFS{}})
	want := map[string]struct {
		state finding.State
		text  string
	}{
		"container-privileged":        {finding.StateFail, "privileged"},
		"container-capabilities":      {finding.StateFail, "SYS_MODULE"},
		"container-apparmor":          {finding.StateFail, "no AppArmor profile"},
		"container-selinux":           {finding.StateFail, "label=disable"},
		"container-sensitive-mounts":  {finding.StateFail, "/etc on /h (rw)"},
		"container-sshd":              {finding.StateFail, "/usr/sbin/sshd -D"},
		"container-privileged-ports":  {finding.StateWarn, "80"},
		"container-published-ports":   {finding.StateWarn, "127.0.0.1:8080"},
		"container-host-network":      {finding.StateFail, "network=host"},
		"container-memory-limit":      {finding.StateFail, "no memory limit"},
		"container-cpu-shares":        {finding.StateWarn, "default CPU shares"},
		"container-readonly-rootfs":   {finding.StateFail, "writable"},
		"container-ports-interface":   {finding.StateFail, "*:80"},
		"container-restart-policy":    {finding.StateFail, "restart always"},
		"container-host-pid":          {finding.StateFail, "pid=host"},
		"container-host-ipc":          {finding.StateFail, "ipc=host"},
		"container-host-devices":      {finding.StateWarn, "/dev/sda"},
		"container-mount-propagation": {finding.StateFail, "/h rshared"},
		"container-host-uts":          {finding.StateFail, "uts=host"},
		"container-seccomp":           {finding.StateFail, "seccomp=unconfined"},
		"container-cgroup-parent":     {finding.StateWarn, "/x"},
		"container-no-new-privileges": {finding.StateFail, "no-new-privileges=false"},
		"container-healthcheck":       {finding.StateWarn, "no health check"},
		"container-pids-limit":        {finding.StateFail, "no PIDs limit"},
		"container-default-bridge":    {finding.StateWarn, "default bridge"},
		"container-host-userns":       {finding.StateFail, "userns=host"},
		"container-engine-socket":     {finding.StateFail, "containerd.sock"},
		"container-root-user":         {finding.StateFail, "runs as root"},
		"container-device-rules":      {finding.StateFail, "b *:* rwm"},
	}
	for id, w := range want {
		o, ok := got[id]
		if !ok {
			t.Errorf("%s: no such check", id)
			continue
		}
		if o.State != w.state || !strings.Contains(o.Evidence, w.text) || !strings.Contains(o.Evidence, "bad (0123456789ab)") {
			t.Errorf("%s: %s %q / %q, want %s naming bad with %q", id, o.State, o.Reason, o.Evidence, w.state, w.text)
		}
		if strings.Contains(o.Evidence, "good") && id != "container-published-ports" {
			t.Errorf("%s blames the good container: %s", id, o.Evidence)
		}
	}
	// The good container alone passes everything.
	e.Containers = []Container{good}
	for id, o := range judge(t, &Discovery{Engines: []*Engine{e}}, &fakeHost{files: fstest.MapFS{}}) {
		if strings.HasPrefix(id, "container-") && o.State != finding.StatePass && id != "container-published-ports" {
			t.Errorf("good container: %s %s %s", id, o.State, o.Evidence)
		}
	}
}

// No engine answered: every engine and container check could not run
// (an error, exit 2), naming the sockets that did not answer.
func TestEngineChecksNoEngine(t *testing.T) {
	d := &Discovery{Unreachable: []string{"unix:///var/run/docker.sock: permission denied: run hull as root"}}
	for id, o := range judge(t, d, &fakeHost{files: fstest.MapFS{}}) {
		if strings.HasPrefix(id, "files-") || strings.HasPrefix(id, "host-") || id == "engine-known-escapes" {
			continue
		}
		if o.State != finding.StateError || !strings.Contains(o.Reason, "permission denied") {
			t.Errorf("%s: %s %s", id, o.State, o.Reason)
		}
	}
}

func TestParseDaemonConfig(t *testing.T) {
	h := &fakeHost{files: fstest.MapFS{"etc/hull/daemon.json": {Data: []byte(`{"icc": false, "hosts": ["unix:///x.sock"],
		"default-ulimits": {"nofile": {"Name": "nofile", "Hard": 64000, "Soft": 64000}}, "log-level": "warn"}`)}}}
	c := ParseDaemonConfig(h, Process{PID: 7, Cmdline: []string{"/usr/bin/dockerd", "-H", "tcp://0.0.0.0:2375", "--tlsverify",
		"--config-file=/etc/hull/daemon.json", "-D", "--userland-proxy=false", "--authorization-plugin", "authz", "--live-restore"}})
	if got := c.List("hosts"); strings.Join(got, " ") != "tcp://0.0.0.0:2375 unix:///x.sock" {
		t.Errorf("hosts %v", got)
	}
	for key, want := range map[string]bool{"tlsverify": true, "debug": true, "userland-proxy": false, "icc": false, "live-restore": true} {
		if c.Bool(key, !want) != want {
			t.Errorf("%s: want %v", key, want)
		}
	}
	if v, _ := c.Get("log-level"); v != "warn" {
		t.Errorf("log-level %q", v)
	}
	if u := c.List("default-ulimits"); len(u) != 1 || !strings.HasPrefix(u[0], "nofile=") {
		t.Errorf("ulimits %v", u)
	}
	if a := c.List("authorization-plugins"); len(a) != 1 || a[0] != "authz" {
		t.Errorf("authz %v", a)
	}
	bad := &fakeHost{files: fstest.MapFS{"etc/docker/daemon.json": {Data: []byte(`{"icc": `)}}}
	if c := ParseDaemonConfig(bad, Process{Cmdline: []string{"dockerd"}}); c.Problem == "" {
		t.Error("a broken daemon.json is not reported")
	}
	huge := &fakeHost{files: fstest.MapFS{"etc/docker/daemon.json": {Data: []byte(`{"x": "` + strings.Repeat("a", maxConfigFile) + `"}`)}}}
	if c := ParseDaemonConfig(huge, Process{Cmdline: []string{"dockerd"}}); !strings.Contains(c.Problem, "larger than") {
		t.Errorf("an oversize daemon.json: %q", c.Problem)
	}
}

func FuzzParseDaemonConfig(f *testing.F) {
	f.Add("-H\x00tcp://x\x00--icc=false\x00-D", []byte(`{"hosts":["a"],"x":{"y":1},"z":null}`), []byte("ListenStream=2375\n"))
	f.Add("-H\x00fd://\x00-H\x00[::1]", []byte(`{"hosts":[":1"]}`), []byte("ListenStream=\nListenStream=[::]:2\nListenStream=@x\n"))
	f.Fuzz(func(t *testing.T, args string, file, unit []byte) {
		h := &fakeHost{files: fstest.MapFS{"etc/docker/daemon.json": {Data: file}, "lib/systemd/system/docker.socket": {Data: unit}}}
		c := ParseDaemonConfig(h, Process{Cmdline: append([]string{"dockerd"}, strings.Split(args, "\x00")...)})
		c.Bool("icc", true)
		ls, _ := c.Listeners(h)
		for _, l := range ls {
			if !strings.Contains(l, "://") {
				t.Errorf("listener %q has no scheme", l)
			}
		}
	})
}

// Podman's files: the service's CONTAINERS_CONF and registries.conf from
// its environment, policy.json from /etc/containers.
func TestPodmanConfig(t *testing.T) {
	h := &fakeHost{files: fstest.MapFS{
		"proc/42/environ":                      {Data: []byte("HOME=/root\x00CONTAINERS_CONF=/srv/c.conf\x00CONTAINERS_REGISTRIES_CONF=/srv/r.conf\x00")},
		"srv/c.conf":                           {Data: []byte("[containers]\nno_new_privileges = true\nseccomp_profile = \"/p.json\"\n")},
		"srv/r.conf":                           {Data: []byte("[[registry]]\nlocation = \"10.0.0.5:5000\"\ninsecure = true\n\n[[registry]]\nlocation = \"localhost:5000\"\ninsecure = true\n")},
		"etc/containers/policy.json":           {Data: []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`)},
		"usr/share/containers/containers.conf": {Data: []byte("[containers]\nno_new_privileges = false\n")},
	}, procs: []Process{{PID: 42, Cmdline: []string{"/usr/bin/podman", "system", "service", "--time=0", "unix:///srv/p.sock"}}}}
	c := podmanFor(h, h.procs, "unix:///srv/p.sock")
	if c == nil || !c.NoNewPrivileges || c.PolicyDefault != "insecureAcceptAnything" ||
		strings.Join(c.InsecureRegistries, ",") != "10.0.0.5:5000,localhost:5000" || len(c.Problems) > 0 {
		t.Fatalf("%+v", c)
	}
	if podmanFor(h, h.procs, "unix:///other.sock") != nil {
		t.Error("a service on another socket matched")
	}
	e := &Engine{Kind: "podman", Endpoint: "unix:///srv/p.sock", Podman: c}
	e.Info.SecurityOptions = []string{"name=seccomp,profile=default"}
	got := judge(t, &Discovery{Engines: []*Engine{e}}, h)
	for id, want := range map[string]finding.State{"engine-insecure-registries": finding.StateFail, "engine-image-trust": finding.StateFail,
		"engine-no-new-privileges": finding.StatePass, "engine-rootless": finding.StateFail, "engine-icc": finding.StateSkip} {
		if got[id].State != want {
			t.Errorf("%s: %+v, want %s", id, got[id], want)
		}
	}
	if !strings.Contains(got["engine-insecure-registries"].Reason, "10.0.0.5:5000") || strings.Contains(got["engine-insecure-registries"].Reason, "localhost") {
		t.Errorf("insecure registries: %s", got["engine-insecure-registries"].Reason)
	}
	h.files["srv/r.conf"] = &fstest.MapFile{Data: []byte("[[registry]\n")}
	if c := podmanFor(h, h.procs, "unix:///srv/p.sock"); len(c.Problems) == 0 {
		t.Error("a broken registries.conf is not reported")
	}
}

// procTree finds a process's descendants through /proc.
func TestProcTree(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// The child's command line shows once its exec is through.
	for i := 0; i < 200; i++ {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid)); strings.HasPrefix(string(b), "sleep") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmds, ok := procTree(Host{}, os.Getpid())
	if !ok || !slices.Contains(cmds, "sleep 30") {
		t.Errorf("procTree: %v %q", ok, cmds)
	}
	if _, ok := procTree(Host{}, 1<<30); ok {
		t.Error("a process that does not exist is visible")
	}
}

// A rootless dockerd reads daemon.json from its user's configuration
// directory, and so does hull.
func TestParseDaemonConfigRootless(t *testing.T) {
	h := &fakeHost{files: fstest.MapFS{
		"proc/9/environ":                    {Data: []byte("HOME=/home/u\x00ROOTLESSKIT_STATE_DIR=/run/user/1000/rk\x00")},
		"home/u/.config/docker/daemon.json": {Data: []byte(`{"log-level": "debug"}`)},
		"etc/docker/daemon.json":            {Data: []byte(`{"log-level": "info"}`)},
	}}
	c := ParseDaemonConfig(h, Process{PID: 9, Cmdline: []string{"dockerd"}})
	if v, _ := c.Get("log-level"); v != "debug" || c.File != "/home/u/.config/docker/daemon.json" {
		t.Errorf("log-level %q from %s", v, c.File)
	}
}

// tcp:// endpoints get the docker CLI's default port; one that refuses
// the connection is named with the reason. The default port is judged
// without dialing it: another engine (or anything) may listen on
// 127.0.0.1:2375 of the machine the tests run on.
func TestDiscoverTCPDefaults(t *testing.T) {
	for _, c := range []struct {
		in   string
		tls  bool
		want string
		ok   bool
	}{
		{"tcp://127.0.0.1/", false, "127.0.0.1:2375", true},
		{"tcp://127.0.0.1", true, "127.0.0.1:2376", true},
		{"tcp://[::1]:9", false, "[::1]:9", true},
		{"tcp://[::1]", true, "[::1]:2376", true},
		{"unix:///run/docker.sock", false, "", false},
	} {
		if got, ok := tcpAddr(c.in, c.tls); got != c.want || ok != c.ok {
			t.Errorf("tcpAddr(%q, %v) = %q, %v; want %q, %v", c.in, c.tls, got, ok, c.want, c.ok)
		}
	}
	closed := closedLoopbackAddr(t)
	h := &fakeHost{files: fstest.MapFS{}}
	d := Discover(context.Background(), h, ClientOptions{Getenv: env(map[string]string{"CONTAINER_HOST": "tcp://" + closed})})
	if len(d.Engines) != 0 || len(d.Unreachable) != 1 || !strings.HasPrefix(d.Unreachable[0], "tcp://"+closed+": ") {
		t.Errorf("%v", d.Unreachable)
	}
}

// closedLoopbackAddr is a loopback address nothing listens on: a port
// this test held and let go.
func closedLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Docker answers /top in columns, Podman 4 in one string per row.
func TestTopCommands(t *testing.T) {
	docker, ok := topCommands([]string{"UID", "PID", "CMD"}, [][]string{{"root", "1", "/usr/sbin/sshd -D"}, {"root"}})
	podman, ok2 := topCommands([]string{"PID   USER     COMMAND"}, [][]string{{"1     root     sleep 600"}})
	if !ok || !ok2 || !slices.Equal(docker, []string{"/usr/sbin/sshd -D"}) || !slices.Equal(podman, []string{"sleep 600"}) {
		t.Errorf("docker %q, podman %q", docker, podman)
	}
	if _, ok := topCommands([]string{"PID"}, nil); ok {
		t.Error("an answer without a command column was accepted")
	}
}

func FuzzTopCommands(f *testing.F) {
	f.Add("PID   USER     COMMAND", "1 root sleep 600", "x")
	f.Fuzz(func(t *testing.T, title, row, extra string) {
		topCommands([]string{title}, [][]string{{row}, {row, extra}})
		topCommands([]string{title, extra}, [][]string{{row}, {}, {extra, row, title}})
	})
}

// TestImpostorDaemon: any user may start a process named dockerd with the
// flags of a well set-up engine; only one that can own the socket (root,
// or the socket's owner) stands for the engine behind it.
func TestImpostorDaemon(t *testing.T) {
	h := &fakeHost{name: "dev", uid: 1000, files: fstest.MapFS{"var/run/docker.sock": {Mode: fs.ModeSocket | 0o660}},
		procs: []Process{
			{PID: 7, UID: 1001, Cmdline: []string{"/tmp/dockerd", "-H", "unix:///var/run/docker.sock", "--no-new-privileges", "--userland-proxy=false"}},
			{PID: 42, UID: 0, Cmdline: []string{"/usr/sbin/dockerd", "-H", "unix:///var/run/docker.sock"}},
		}}
	if c := daemonFor(h, h.procs, map[int]*DaemonConfig{}, "unix:///var/run/docker.sock"); c == nil || c.PID != 42 {
		t.Errorf("the engine behind the socket: %+v, want the root dockerd (pid 42)", c)
	}
	h.procs = h.procs[:1]
	if c := daemonFor(h, h.procs, map[int]*DaemonConfig{}, "unix:///var/run/docker.sock"); c != nil {
		t.Errorf("another user's dockerd stood for the root socket: pid %d", c.PID)
	}
}

// Host access the inspection's own field does not show: a chain of
// container:NAME joins ending at a host namespace, and a mounted parent
// of the engine's data root or socket. Judged from the fields alone (the
// fake host has no /proc), so the chain itself must be followed.
func TestIndirectHostAccess(t *testing.T) {
	host := container(t, `{"Id":"aaaa1111bbbb2222","Name":"/host","HostConfig":{"PidMode":"host","IpcMode":"host","UsernsMode":"host"}}`)
	mid := container(t, `{"Id":"cccc3333dddd4444","Name":"/mid","HostConfig":{"PidMode":"container:host","IpcMode":"container:aaaa1111"}}`)
	end := container(t, `{"Id":"eeee5555ffff6666","Name":"/end","HostConfig":{"PidMode":"container:cccc3333dddd4444","UsernsMode":"container:/host"},
		"Mounts":[{"Type":"bind","Source":"/srv","Destination":"/x","RW":true},{"Type":"bind","Source":"/var/run/","Destination":"/r"}]}`)
	loop := container(t, `{"Id":"99998888","Name":"/loop","HostConfig":{"PidMode":"container:loop"}}`)
	e := &Engine{Kind: "docker", Endpoint: "unix:///run/docker.sock", Containers: []Container{host, mid, end, loop}}
	e.Info.DockerRootDir = "/srv/docker"
	got := judge(t, &Discovery{Engines: []*Engine{e}}, &fakeHost{files: fstest.MapFS{}})
	for id, want := range map[string][]string{
		"container-host-pid":         {"mid (cccc3333dddd): pid=container:host (aaaa1111bbbb), which uses pid=host", "end (eeee5555ffff): pid=container:mid (cccc3333dddd), which joins host (aaaa1111bbbb), which uses pid=host"},
		"container-host-ipc":         {"mid (cccc3333dddd): ipc=container:host"},
		"container-host-userns":      {"end (eeee5555ffff): userns=container:host"},
		"container-sensitive-mounts": {"/srv on /x (rw, holds /srv/docker)"},
		"container-engine-socket":    {"/var/run/ on /r (holds /run/docker.sock)"},
	} {
		o := got[id]
		for _, w := range want {
			if o.State != finding.StateFail || !strings.Contains(o.Evidence, w) {
				t.Errorf("%s: %s %q, want a failure with %q", id, o.State, o.Evidence, w)
			}
		}
		if strings.Contains(o.Evidence, "loop") {
			t.Errorf("%s: a container joining itself is not the host's: %s", id, o.Evidence)
		}
	}
}

// Podman's settings come from more than one file: the drop-ins of
// containers.conf.d (and containers.rootful.conf.d or
// containers.rootless.conf.d/UID), CONTAINERS_CONF_OVERRIDE, the
// drop-ins of registries.conf.d with their mirrors, and policy.json's
// docker transport, which overrides its default. A setting undone in
// any of them is judged as the service applies it, never from the main
// file alone.
func TestPodmanConfigLayers(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	nnp := func(v bool) *fstest.MapFile { return file(fmt.Sprintf("[containers]\nno_new_privileges = %v\n", v)) }
	service := []string{"/usr/bin/podman", "system", "service", "--time=0", "unix:///srv/p.sock"}
	judgeWith := func(t *testing.T, files fstest.MapFS, pr Process) (*PodmanConfig, map[string]Outcome) {
		t.Helper()
		h := &fakeHost{files: files, procs: []Process{pr}}
		c := podmanFor(h, h.procs, "unix:///srv/p.sock")
		if pr.UID != 0 {
			// A fake socket has no owner for mayServe to match.
			c = readPodmanConfig(h, pr)
		}
		if c == nil {
			t.Fatal("the service was not matched")
		}
		e := &Engine{Kind: "podman", Endpoint: "unix:///srv/p.sock", Podman: c}
		return c, judge(t, &Discovery{Engines: []*Engine{e}}, h)
	}
	secure := func() fstest.MapFS {
		return fstest.MapFS{
			"proc/42/environ":                      file("HOME=/home/admin\x00"),
			"srv/p.sock":                           {Mode: fs.ModeSocket},
			"etc/containers/containers.conf":       nnp(true),
			"etc/containers/registries.conf":       file("[[registry]]\nlocation = \"registry.example\"\n"),
			"etc/containers/policy.json":           file(`{"default":[{"type":"reject"}],"transports":{"docker-daemon":{"":[{"type":"insecureAcceptAnything"}]}}}`),
			"home/admin/.config/containers/x.conf": nnp(false), // not a drop-in directory
		}
	}
	root := Process{PID: 42, UID: 0, Cmdline: service}
	for _, tc := range []struct {
		name   string
		change func(fstest.MapFS)
		pr     Process
		id     string
		want   finding.State
		text   string
	}{
		{"secure", func(fstest.MapFS) {}, root, "engine-no-new-privileges", finding.StatePass, ""},
		{"secure policy", func(fstest.MapFS) {}, root, "engine-image-trust", finding.StatePass, ""},
		{"secure registries", func(fstest.MapFS) {}, root, "engine-insecure-registries", finding.StatePass, ""},
		{"drop-in undoes no-new-privileges", func(m fstest.MapFS) {
			m["etc/containers/containers.conf.d/50-dev.conf"] = nnp(false)
		}, root, "engine-no-new-privileges", finding.StateFail, "/etc/containers/containers.conf.d/50-dev.conf"},
		{"vendor drop-in undoes it", func(m fstest.MapFS) {
			m["usr/share/containers/containers.conf.d/10-vendor.conf"] = nnp(false)
		}, root, "engine-no-new-privileges", finding.StateFail, "10-vendor.conf"},
		{"rootful drop-in undoes it", func(m fstest.MapFS) {
			m["etc/containers/containers.rootful.conf.d/z.conf"] = nnp(false)
		}, root, "engine-no-new-privileges", finding.StateFail, "containers.rootful.conf.d/z.conf"},
		{"same name in /etc hides the vendor's", func(m fstest.MapFS) {
			m["usr/share/containers/containers.conf.d/10-x.conf"] = nnp(false)
			m["etc/containers/containers.conf.d/10-x.conf"] = nnp(true)
		}, root, "engine-no-new-privileges", finding.StatePass, ""},
		{"rootless user's drop-in", func(m fstest.MapFS) {
			m["proc/42/environ"] = file("HOME=/home/dev\x00")
			m["home/dev/.config/containers/containers.conf.d/me.conf"] = nnp(false)
		}, Process{PID: 42, UID: 1000, Cmdline: service}, "engine-no-new-privileges", finding.StateFail, "/home/dev/.config/containers/containers.conf.d/me.conf"},
		{"rootless per-user drop-in", func(m fstest.MapFS) {
			m["proc/42/environ"] = file("HOME=/home/dev\x00")
			m["etc/containers/containers.rootless.conf.d/1000/off.conf"] = nnp(false)
		}, Process{PID: 42, UID: 1000, Cmdline: service}, "engine-no-new-privileges", finding.StateFail, "containers.rootless.conf.d/1000/off.conf"},
		{"CONTAINERS_CONF_OVERRIDE", func(m fstest.MapFS) {
			m["proc/42/environ"] = file("CONTAINERS_CONF=/srv/c.conf\x00CONTAINERS_CONF_OVERRIDE=/srv/o.conf\x00")
			m["srv/c.conf"] = nnp(true)
			m["srv/o.conf"] = nnp(false)
		}, root, "engine-no-new-privileges", finding.StateFail, "/srv/o.conf"},
		// Podman 4.3 (this machine's) ignores CONTAINERS_CONF_OVERRIDE:
		// measured, a container run with an override setting it kept
		// NoNewPrivs 0. It cannot be what makes the setting hold.
		{"CONTAINERS_CONF_OVERRIDE alone", func(m fstest.MapFS) {
			m["proc/42/environ"] = file("CONTAINERS_CONF=/srv/c.conf\x00CONTAINERS_CONF_OVERRIDE=/srv/o.conf\x00")
			m["srv/c.conf"] = nnp(false)
			m["srv/o.conf"] = nnp(true)
		}, root, "engine-no-new-privileges", finding.StateFail, "/srv/c.conf"},
		{"insecure mirror in a drop-in", func(m fstest.MapFS) {
			m["etc/containers/registries.conf.d/mirror.conf"] = file("[[registry]]\nlocation = \"registry.example\"\n[[registry.mirror]]\nlocation = \"10.0.0.9:5000\"\ninsecure = true\n")
		}, root, "engine-insecure-registries", finding.StateFail, "10.0.0.9:5000"},
		{"insecure registry in a drop-in", func(m fstest.MapFS) {
			m["etc/containers/registries.conf.d/x.conf"] = file("[[registry]]\nlocation = \"registry.example\"\ninsecure = true\n")
		}, root, "engine-insecure-registries", finding.StateFail, "registry.example"},
		{"docker transport accepts anything", func(m fstest.MapFS) {
			m["etc/containers/policy.json"] = file(`{"default":[{"type":"reject"}],"transports":{"docker":{"":[{"type":"insecureAcceptAnything"}]}}}`)
		}, root, "engine-image-trust", finding.StateFail, "docker transport"},
		{"a scope accepts anything", func(m fstest.MapFS) {
			m["etc/containers/policy.json"] = file(`{"default":[{"type":"reject"}],"transports":{"docker":{"docker.io":[{"type":"insecureAcceptAnything"}],"quay.io":[{"type":"insecureAcceptAnything"},{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k"}]}}}`)
		}, root, "engine-image-trust", finding.StateFail, "docker.io"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := secure()
			tc.change(files)
			_, got := judgeWith(t, files, tc.pr)
			o := got[tc.id]
			if o.State != tc.want || !strings.Contains(o.Reason+" "+o.Evidence, tc.text) {
				t.Errorf("%s: %s %q / %q, want %s with %q", tc.id, o.State, o.Reason, o.Evidence, tc.want, tc.text)
			}
			if tc.id == "engine-image-trust" && strings.Contains(o.Reason+o.Evidence, "quay.io") {
				t.Errorf("quay.io requires a signature too: %s %s", o.Reason, o.Evidence)
			}
		})
	}
}

// The kernel's view of a container decides where the engine's answers
// fall short: a bounding set holding SYS_ADMIN fails the capabilities
// check with no CapAdd, seccomp mode 0 fails the seccomp check with no
// security option, and a missing no_new_privs bit fails whatever the
// engine's default claims; a status that cannot be parsed is no view.
func TestContainerKernelView(t *testing.T) {
	c := container(t, `{"Id":"0123456789abcdef","Name":"/k","State":{"Pid":4242},"Config":{"User":"app"},"HostConfig":{"ReadonlyRootfs":true}}`)
	h := &fakeHost{files: fstest.MapFS{"proc/4242/status": {Data: []byte("Name:\tsleep\nUid:\t0\t0\t0\t0\nNoNewPrivs:\t0\nSeccomp:\t0\nCapBnd:\t00000000a82425fb\n")}}}
	c.status = readProcStatus(h, 4242)
	if c.status == nil || c.status.CapBnd&(1<<unix.CAP_SYS_ADMIN) == 0 {
		t.Fatalf("status %+v", c.status)
	}
	e := &Engine{Kind: "docker", Endpoint: "unix:///d.sock", Containers: []Container{c}, Config: &DaemonConfig{settings: map[string][]string{"no-new-privileges": {"true"}}}}
	got := judge(t, &Discovery{Engines: []*Engine{e}}, h)
	for id, want := range map[string]string{
		"container-capabilities":      "holds SYS_ADMIN (bounding set of pid 4242)",
		"container-seccomp":           "seccomp mode 0",
		"container-no-new-privileges": "no_new_privs is off for pid 4242",
		"engine-no-new-privileges":    "k (0123456789ab)",
		// "app" is a name; the image maps it to UID 0.
		"container-root-user": "runs as root (app; pid 4242 has UID 0)",
	} {
		if o := got[id]; o.State != finding.StateFail || !strings.Contains(o.Evidence, want) {
			t.Errorf("%s: %s %q, want a failure with %q", id, o.State, o.Evidence, want)
		}
	}
	for _, bad := range []string{"Uid:\t0\t0\t0\t0\nNoNewPrivs:\t1\nSeccomp:\tx\nCapBnd:\t0\n", "Uid:\t0\t0\t0\t0\nNoNewPrivs:\t1\nCapBnd:\t0\n",
		"Uid:\t0\t0\t0\t0\nNoNewPrivs:\t1\nSeccomp:\t2\nCapBnd:\tzz\n", "Uid:\t0\nNoNewPrivs:\t1\nSeccomp:\t2\nCapBnd:\t0\n"} {
		h.files["proc/4242/status"] = &fstest.MapFile{Data: []byte(bad)}
		if st := readProcStatus(h, 4242); st != nil {
			t.Errorf("%q read as %+v", bad, st)
		}
	}
}

// The limit a container's cgroup really has: cgroup v1 under the
// controller's mount, v2 under /sys/fs/cgroup (or .../unified), none in a
// root cgroup, and nothing known when the file cannot be read or the
// path is not clean.
func TestReadCgroupLimit(t *testing.T) {
	h := &fakeHost{files: fstest.MapFS{
		"proc/1/cgroup":                                         {Data: []byte("8:pids:/docker/abc\n4:memory:/docker/abc\n0::/\n")},
		"sys/fs/cgroup/pids/docker/abc/pids.max":                {Data: []byte("64\n")},
		"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": {Data: []byte("9223372036854771712\n")},
		"proc/2/cgroup":                                         {Data: []byte("8:pids:/\n0::/user.slice/c\n")},
		"sys/fs/cgroup/user.slice/c/memory.max":                 {Data: []byte("max\n")},
		"proc/3/cgroup":                                         {Data: []byte("0::/c\n")},
		"sys/fs/cgroup/unified/c/pids.max":                      {Data: []byte("100\n")},
		"proc/4/cgroup":                                         {Data: []byte("8:pids:/../x\n")},
	}}
	for _, tc := range []struct {
		pid        int
		controller string
		max        uint64
		known      bool
	}{
		{1, "pids", 64, true}, {1, "memory", 0, true}, {2, "pids", 0, true}, {2, "memory", 0, true},
		{3, "pids", 100, true}, {3, "memory", 0, false}, {4, "pids", 0, false}, {5, "pids", 0, false},
	} {
		v1, v2 := "pids.max", "pids.max"
		if tc.controller == "memory" {
			v1, v2 = "memory.limit_in_bytes", "memory.max"
		}
		var l *cgroupLimit
		if cg, ok := readCgroups(h, tc.pid); ok {
			l = cg.limit(h, tc.controller, v1, v2)
		}
		if (l != nil) != tc.known || l != nil && l.Max != tc.max {
			t.Errorf("pid %d %s: %+v, want known %v max %d", tc.pid, tc.controller, l, tc.known, tc.max)
		}
	}
}

// A relative --config-file (or TLS file) names a file in dockerd's
// working directory, not hull's: it is read from there, and when that
// directory cannot be seen its settings are unknown, not absent.
func TestDaemonConfigRelativePaths(t *testing.T) {
	h := &fakeHost{files: fstest.MapFS{
		"proc/7/cwd":      {Mode: fs.ModeSymlink, Data: []byte("/srv")},
		"srv/conf/d.json": {Data: []byte(`{"userland-proxy": true, "hosts": ["tcp://0.0.0.0:2375"]}`)},
	}}
	c := ParseDaemonConfig(h, Process{PID: 7, Cmdline: []string{"/usr/bin/dockerd", "--config-file", "conf/d.json", "--tlscacert", "tls/ca.pem"}})
	if c.File != "/srv/conf/d.json" || c.Problem != "" || !c.Bool("userland-proxy", false) {
		t.Errorf("relative --config-file: file %q, problem %q, settings %v", c.File, c.Problem, c.settings)
	}
	if v, _ := c.Get("tlscacert"); v != "/srv/tls/ca.pem" {
		t.Errorf("relative --tlscacert read as %q", v)
	}
	c = ParseDaemonConfig(h, Process{PID: 8, Cmdline: []string{"/usr/bin/dockerd", "--config-file=conf/d.json"}})
	if c.Problem == "" {
		t.Errorf("a relative --config-file whose directory is unknown: file %q, no problem", c.File)
	}
}

// A mount with no host source (a tmpfs) names no host path: it holds no
// engine socket and no sensitive directory, however the path "" would
// resolve on the host.
func TestSourcelessMountHoldsNothing(t *testing.T) {
	c := container(t, `{"Id":"0123456789abcdef","Name":"/scratch","HostConfig":{"ReadonlyRootfs":true},
		"Mounts":[{"Type":"tmpfs","Source":"","Destination":"/scratch","RW":true}]}`)
	e := &Engine{Kind: "docker", Endpoint: "unix:///run/docker.sock", local: true, Containers: []Container{c}}
	got := judge(t, &Discovery{Engines: []*Engine{e}}, &fakeHost{files: fstest.MapFS{}})
	for _, id := range []string{"container-engine-socket", "container-sensitive-mounts"} {
		if got[id].State != finding.StatePass {
			t.Errorf("%s: %s %q", id, got[id].State, got[id].Evidence)
		}
	}
}

// A container the engine would not describe might fail any check: a check
// that fails some containers and warns about others (capabilities) is
// then undecided rather than a warning, while a check that only warns
// (host devices) reports its warning and is still an error.
func TestUnjudgedContainerWithWarnings(t *testing.T) {
	c := container(t, `{"Id":"0123456789abcdef","Name":"/mild","HostConfig":{"CapAdd":["CAP_CHOWN"],"Devices":[{"PathOnHost":"/dev/fuse"}]}}`)
	e := &Engine{Kind: "docker", Endpoint: "unix:///d.sock", Containers: []Container{c, {ID: "fedcba9876543210", Name: "/restarting", Problem: "not inspected: 409"}}}
	d := &Discovery{Engines: []*Engine{e}}
	sts, fs := Run(&fakeHost{files: fstest.MapFS{}}, "test", ContainerChecks(d))
	got := map[string]finding.CheckStatus{}
	for _, s := range sts {
		got[s.ID] = s
	}
	if s := got["container-capabilities"]; s.State != finding.StateError || !strings.HasPrefix(s.Reason, "1 of 2 running containers could not be judged") {
		t.Errorf("capabilities: %s %q", s.State, s.Reason)
	}
	if s := got["container-host-devices"]; s.State != finding.StateError || !strings.Contains(s.Reason, "1 of 2 running containers; could not judge") {
		t.Errorf("host devices: %s %q", s.State, s.Reason)
	}
	for _, f := range fs {
		if f.ID == "container-capabilities" {
			t.Errorf("a capabilities warning while a container was not judged: %s", f.Evidence)
		}
	}
	if !slices.ContainsFunc(fs, func(f finding.Finding) bool {
		return f.ID == "container-host-devices" && f.Evidence == "mild (0123456789ab): /dev/fuse"
	}) {
		t.Errorf("no host devices warning: %+v", fs)
	}
}
