package audit

import (
	"context"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/mountinfo"
)

// fakeEngine serves a Docker API on a unix socket: routes maps a path to
// its status and body.
func fakeEngine(t *testing.T, routes map[string]struct {
	status int
	body   string
}) string {
	t.Helper()
	sock := filepath.Join(shortTempDir(t), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, ok := routes[r.URL.Path]
		if !ok {
			http.Error(w, `{"message":"page not found"}`, http.StatusNotFound)
			return
		}
		w.WriteHeader(rt.status)
		_, _ = w.Write([]byte(rt.body))
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sock
}

// shortTempDir is a temporary directory short enough for a unix socket.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "hull-audit-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

type route = struct {
	status int
	body   string
}

// One container the engine will not describe (dockerd answers 409 to
// /top for a restarting one, 500 to the inspection of a broken one)
// must not hide the others: the privileged container beside them is
// reported (its finding), the checks that could not judge them are
// errors naming the container (also where another container failed:
// undecided beats failed), and engine-query names the engine.
func TestQueryEngineOneContainerFails(t *testing.T) {
	sock := fakeEngine(t, map[string]route{
		"/version":                          {200, `{"Version":"20.10.24"}`},
		"/info":                             {200, `{"SecurityOptions":["name=seccomp,profile=default"]}`},
		"/networks/bridge":                  {500, `{"message":"network store busy"}`},
		"/containers/json":                  {200, `[{"Id":"aaaaaaaaaaaaaaaa","Names":["/restarting"]},{"Id":"bbbbbbbbbbbbbbbb","Names":["/priv"]},{"Id":"cccccccccccccccc","Names":["/broken"]},{"Id":"dddddddddddddddd","Names":["/gone"]}]`},
		"/containers/aaaaaaaaaaaaaaaa/json": {200, `{"Id":"aaaaaaaaaaaaaaaa","Name":"/restarting","State":{"Pid":0},"HostConfig":{"RestartPolicy":{"Name":"always"}}}`},
		"/containers/aaaaaaaaaaaaaaaa/top":  {409, `{"message":"Container aaaaaaaaaaaaaaaa is restarting, wait until the container is running"}`},
		"/containers/bbbbbbbbbbbbbbbb/json": {200, `{"Id":"bbbbbbbbbbbbbbbb","Name":"/priv","State":{"Pid":0},"HostConfig":{"Privileged":true}}`},
		"/containers/bbbbbbbbbbbbbbbb/top":  {200, `{"Titles":["PID","CMD"],"Processes":[["1","sleep 600"]]}`},
		"/containers/cccccccccccccccc/json": {500, `{"message":"oops"}`},
	})
	h := &fakeHost{files: fstest.MapFS{strings.TrimPrefix(sock, "/"): {Mode: fs.ModeSocket | 0o660}}}
	d := Discover(context.Background(), h, ClientOptions{Getenv: env(map[string]string{"DOCKER_HOST": "unix://" + sock})})
	if len(d.Engines) != 1 || len(d.Unreachable) != 0 {
		t.Fatalf("one container made the engine unreachable: engines %d, unreachable %v", len(d.Engines), d.Unreachable)
	}
	if n := len(d.Engines[0].Containers); n != 3 {
		t.Errorf("%d containers kept, want 3 (the one answering 404 is gone)", n)
	}
	sts, fs := Run(h, "test", append(EngineChecks(d), ContainerChecks(d)...))
	got := map[string]finding.CheckStatus{}
	for _, s := range sts {
		got[s.ID] = s
	}
	want := map[string]finding.State{
		"container-privileged":     finding.StateError, // priv judged (its finding below), broken named
		"container-restart-policy": finding.StateError, // restarting judged from its inspection, broken named
		"container-sshd":           finding.StateError, // restarting's processes unknown, broken unknown
		"container-host-pid":       finding.StateError, // broken could not be judged, nothing failed
		"engine-icc":               finding.StateError, // only the check that reads the bridge
		"engine-seccomp":           finding.StatePass,
		"engine-query":             finding.StateError,
	}
	for id, st := range want {
		if got[id].State != st {
			t.Errorf("%s: %s (%s), want %s", id, got[id].State, got[id].Reason, st)
		}
	}
	if r := got["container-privileged"].Reason; !strings.Contains(r, "broken") || !strings.Contains(r, "status 500") {
		t.Errorf("container-privileged does not name the container it could not judge: %s", r)
	}
	if r := got["container-sshd"].Reason; !strings.Contains(r, "restarting") || !strings.Contains(r, "409") {
		t.Errorf("container-sshd does not say why restarting was not judged: %s", r)
	}
	if r := got["engine-query"].Reason; !strings.Contains(r, "unix://"+sock) || !strings.Contains(r, "restarting") {
		t.Errorf("engine-query does not name the engine and container: %s", r)
	}
	var priv *finding.Finding
	for i := range fs {
		if fs[i].ID == "container-privileged" {
			priv = &fs[i]
		}
	}
	if priv == nil || !strings.Contains(priv.Evidence, "priv (bbbbbbbbbbbb)") || priv.Title != "A container runs privileged" {
		t.Errorf("privileged finding: %+v", priv)
	}
}

// Engines found but not answering leave every engine and container check
// undecided, with the reason, never skipped or passed.
func TestEngineChecksUnanswered(t *testing.T) {
	e := &Engine{Kind: "docker", Endpoint: "unix:///ok.sock", Containers: []Container{{ID: "0123456789abcdef", Name: "/fine"}}}
	e.Info.SecurityOptions = []string{"name=seccomp,profile=default", "name=rootless"}
	d := &Discovery{Engines: []*Engine{e}, Unreachable: []string{"unix:///var/run/docker.sock: permission denied"}}
	got := judge(t, d, &fakeHost{files: fstest.MapFS{}})
	for _, id := range []string{"engine-query", "engine-seccomp", "engine-rootless", "container-host-pid", "container-apparmor"} {
		if o := got[id]; o.State != finding.StateError || !strings.Contains(o.Reason, "permission denied") {
			t.Errorf("%s: %s %s, want an error naming the engine that did not answer", id, o.State, o.Reason)
		}
	}
	if o := got["container-memory-limit"]; o.State != finding.StateFail || !strings.Contains(o.Partial, "permission denied") {
		t.Errorf("a failure beside an engine that did not answer: %s %s (%s)", o.State, o.Reason, o.Partial)
	}
	sts, fs := Run(&fakeHost{files: fstest.MapFS{}}, "test", ContainerChecks(d))
	wantPartial(t, sts, fs, "container-memory-limit", "could not judge: could not query unix:///var/run/docker.sock", "fine")
}

// wantPartial asserts that check id failed beside something it could not
// judge: its status is an error whose reason holds reason, and its
// finding is still reported, with evidence holding evidence.
func wantPartial(t *testing.T, sts []finding.CheckStatus, fs []finding.Finding, id, reason, evidence string) {
	t.Helper()
	if i := slices.IndexFunc(sts, func(s finding.CheckStatus) bool { return s.ID == id }); i < 0 || sts[i].State != finding.StateError || !strings.Contains(sts[i].Reason, reason) {
		t.Errorf("%s: status %v, want an error saying %q", id, sts, reason)
	}
	if !slices.ContainsFunc(fs, func(f finding.Finding) bool { return f.ID == id && strings.Contains(f.Evidence, evidence) }) {
		t.Errorf("%s: the failure itself (%q) is not reported: %v", id, evidence, fs)
	}
}

// The states Run reports do not depend on the order of the checks.
func TestRunOrderIndependent(t *testing.T) {
	sock := fakeEngine(t, map[string]route{
		"/version":                          {200, `{"Version":"20.10.24"}`},
		"/info":                             {200, `{}`},
		"/containers/json":                  {200, `[{"Id":"aaaaaaaaaaaaaaaa","Names":["/restarting"]},{"Id":"bbbbbbbbbbbbbbbb","Names":["/priv"]}]`},
		"/containers/aaaaaaaaaaaaaaaa/json": {200, `{"Id":"aaaaaaaaaaaaaaaa","Name":"/restarting"}`},
		"/containers/aaaaaaaaaaaaaaaa/top":  {409, `{"message":"is restarting"}`},
		"/containers/bbbbbbbbbbbbbbbb/json": {200, `{"Id":"bbbbbbbbbbbbbbbb","Name":"/priv","HostConfig":{"Privileged":true}}`},
		"/containers/bbbbbbbbbbbbbbbb/top":  {200, `{"Titles":["CMD"],"Processes":[["sleep"]]}`},
	})
	h := &fakeHost{files: fstest.MapFS{strings.TrimPrefix(sock, "/"): {Mode: fs.ModeSocket | 0o660}}}
	d := Discover(context.Background(), h, ClientOptions{Getenv: env(map[string]string{"DOCKER_HOST": "unix://" + sock})})
	checks := append(ContainerChecks(d), EngineChecks(d)...)
	base := map[string]finding.State{}
	sts, _ := Run(h, "test", checks)
	for _, s := range sts {
		base[s.ID] = s.State
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		r.Shuffle(len(checks), func(i, j int) { checks[i], checks[j] = checks[j], checks[i] })
		sts, _ := Run(h, "test", checks)
		if len(sts) != len(base) {
			t.Fatalf("%d statuses, want %d", len(sts), len(base))
		}
		for _, s := range sts {
			if base[s.ID] != s.State {
				t.Errorf("%s: %s in one order, %s in another", s.ID, base[s.ID], s.State)
			}
		}
	}
}

// CIS 1.1.1 is judged on the device behind the data root: dockerd's bind
// mount of the data root onto itself is no partition, a filesystem of
// its own is, wherever it is bind-mounted from.
func TestPartitionOutcome(t *testing.T) {
	root := "22 1 254:0 / / rw - ext4 /dev/vda rw\n"
	for _, c := range []struct {
		name, mounts string
		want         finding.State
		why          string
	}{
		{"plain directory", root, finding.StateFail, "on the filesystem mounted at /"},
		{"bind mount onto itself", root + "40 22 254:0 /var/lib/docker /var/lib/docker rw - ext4 /dev/vda rw\n", finding.StateFail, "bind mount of /var/lib/docker"},
		{"own partition", root + "40 22 8:17 / /var/lib/docker rw - xfs /dev/sdb1 rw\n", finding.StatePass, "its own filesystem"},
		{"own partition bound there", root + "30 22 8:17 / /data rw - xfs /dev/sdb1 rw\n40 22 8:17 /docker /var/lib/docker rw - xfs /dev/sdb1 rw\n", finding.StatePass, "device 8:17"},
		{"nothing mounted", "", finding.StateError, "no mount holds"},
	} {
		o := partitionOutcome(mountinfo.Parse([]byte(c.mounts)), "/var/lib/docker/")
		if o.State != c.want || !strings.Contains(o.Reason, c.why) {
			t.Errorf("%s: %s %q, want %s with %q", c.name, o.State, o.Reason, c.want, c.why)
		}
		if o.State == finding.StateFail && !strings.Contains(o.Fix, "on /var/lib/docker") {
			t.Errorf("%s: fix %q does not name the data root", c.name, o.Fix)
		}
	}
}

// 3.17/3.18 and 3.23/3.24 judge the files each dockerd uses: the
// --config-file it was started with and the containerd socket under its
// exec root, and a rootless engine's files belong to its user.
func TestFileChecksPerDaemon(t *testing.T) {
	root, user := &syscall.Stat_t{}, &syscall.Stat_t{Uid: 1000, Gid: 1000}
	h := &fakeHost{files: fstest.MapFS{
		"etc/docker/daemon.json":              {Data: []byte(`{}`), Mode: 0o644, Sys: root},
		"srv/conf/dockerd.json":               {Data: []byte(`{}`), Mode: 0o666, Sys: root},
		"srv/exec/containerd/containerd.sock": {Mode: fs.ModeSocket | 0o666, Sys: root},
		"home/u/.config/docker/daemon.json":   {Data: []byte(`{}`), Mode: 0o600, Sys: user},
	}}
	rootful := ParseDaemonConfig(h, Process{PID: 1, Cmdline: []string{"dockerd", "--config-file", "/srv/conf/dockerd.json", "--exec-root=/srv/exec"}})
	rootless := ParseDaemonConfig(h, Process{PID: 2, UID: 1000, Cmdline: []string{"dockerd", "--config-file=/home/u/.config/docker/daemon.json"}})
	d := &Discovery{Engines: []*Engine{{Kind: "docker", Endpoint: "unix:///a.sock", Config: rootful}, {Kind: "docker", Endpoint: "unix:///b.sock", Config: rootless}}}
	sts, fs := Run(h, "test", FileChecks(d))
	got := map[string]finding.CheckStatus{}
	for _, s := range sts {
		got[s.ID] = s
	}
	if s := got["files-daemon-json"]; s.State != finding.StateFail || !strings.Contains(s.Reason, "/srv/conf/dockerd.json 0666") ||
		strings.Contains(s.Reason, "/home/u/") {
		t.Errorf("files-daemon-json: %+v", s)
	}
	if s := got["files-containerd-socket"]; s.State != finding.StateFail || !strings.Contains(s.Reason, "/srv/exec/containerd/containerd.sock 0666") {
		t.Errorf("files-containerd-socket: %+v", s)
	}
	for _, f := range fs {
		if f.ID == "files-daemon-json" && f.Remediation != "chown root:root /srv/conf/dockerd.json && chmod 0644 /srv/conf/dockerd.json" {
			t.Errorf("fix %q does not name the file dockerd uses", f.Remediation)
		}
	}
}

// Every check titles its failure as the problem found, distinct from the
// requirement its rule states, and no title is left for a check that is
// gone.
func TestProblemTitles(t *testing.T) {
	d := &Discovery{}
	all := append(append(append(HostChecks(), EngineChecks(d)...), ClientChecks(ClientOptions{})...), ContainerChecks(d)...)
	ids := map[string]bool{}
	for _, c := range all {
		ids[c.ID] = true
		if c.Problem == "" || c.Problem == c.Title {
			t.Errorf("%s: problem title %q, rule title %q", c.ID, c.Problem, c.Title)
		}
	}
	for id := range problems {
		if !ids[id] {
			t.Errorf("problem title for %s, which is no check", id)
		}
	}
}

// Fixes name what was found: the socket open to others, the tool that is
// neither setuid nor capable, the user without subordinate IDs.
func TestFixesNameWhatWasFound(t *testing.T) {
	h := good()
	h.files["run/user/1000/podman/podman.sock"] = &fstest.MapFile{Mode: fs.ModeSocket | 0o666}
	h.files["usr/bin/newgidmap"] = &fstest.MapFile{Mode: 0o755}
	h.files["etc/subuid"] = &fstest.MapFile{Data: []byte("other:100000:65536\n")}
	o := ClientOptions{Getenv: env(map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}), Ping: func(context.Context, string) PingResult { return PingResult{} }}
	_, fs := Run(h, "test", append(HostChecks(), ClientChecks(o)...))
	want := map[string]string{
		"client-socket-perms": "chmod 0660 /run/user/1000/podman/podman.sock",
		"rootless-newidmap":   "chmod u+s /usr/bin/newgidmap",
		"rootless-subids":     "--add-subgids 100000-165535 dev",
	}
	for _, f := range fs {
		if w, ok := want[f.ID]; ok {
			if !strings.Contains(f.Remediation, w) {
				t.Errorf("%s: fix %q lacks %q", f.ID, f.Remediation, w)
			}
			delete(want, f.ID)
		}
	}
	for id := range want {
		t.Errorf("%s did not fail", id)
	}
}

// auditd must watch what the engine really uses: a dockerd started from
// /usr/sbin (Debian's path, not CIS's /usr/bin) with its data elsewhere;
// the fix names the missing paths.
func TestAuditRulesJudgeRealPaths(t *testing.T) {
	h := &fakeHost{files: fstest.MapFS{
		"usr/sbin/dockerd":          {Mode: 0o755},
		"srv/docker":                {Mode: fs.ModeDir | 0o710},
		"etc/audit/rules.d/d.rules": {Data: []byte("-w /usr/bin/dockerd -k docker\n-w /var/lib/docker -k docker\n")},
	}}
	e := &Engine{Kind: "docker", Endpoint: "unix:///d.sock",
		Config: ParseDaemonConfig(h, Process{PID: 1, Cmdline: []string{"/usr/sbin/dockerd", "--data-root", "/srv/docker"}})}
	e.Info.DockerRootDir = "/srv/docker"
	var c Check
	for _, x := range HostEngineChecks(&Discovery{Engines: []*Engine{e}}) {
		if x.ID == "host-audit-rules" {
			c = x
		}
	}
	o := runOne(c, h)
	if o.State != finding.StateFail || !strings.Contains(o.Reason, "/srv/docker, /usr/sbin/dockerd") ||
		!strings.Contains(o.Fix, "-w /srv/docker -k docker; -w /usr/sbin/dockerd -k docker") {
		t.Errorf("%s %q, fix %q", o.State, o.Reason, o.Fix)
	}
	// With no rules file at all, the fix still names the paths found, not
	// an example path (CIS's /usr/bin/dockerd) this host may not have.
	delete(h.files, "etc/audit/rules.d/d.rules")
	o = runOne(c, h)
	if o.State != finding.StateFail || !strings.Contains(o.Fix, "-w /srv/docker -k docker; -w /usr/sbin/dockerd -k docker") || strings.Contains(o.Fix, "/usr/bin/dockerd") {
		t.Errorf("no rules: %s %q, fix %q", o.State, o.Reason, o.Fix)
	}
}

// An engine's socket mounted into a container is found by what it is,
// not by its name: the socket of an engine found (any name), or a mount
// onto a path clients take for one.
func TestEngineSocketByPath(t *testing.T) {
	c := container(t, `{"Id":"0123456789abcdef","Name":"/admin","Mounts":[{"Type":"bind","Source":"/srv/e/d.sock","Destination":"/engine"}]}`)
	c2 := container(t, `{"Id":"fedcba9876543210","Name":"/other","Mounts":[{"Type":"bind","Source":"/srv/x/api","Destination":"/var/run/docker.sock"}]}`)
	e := &Engine{Kind: "docker", Endpoint: "unix:///srv/e/d.sock", Containers: []Container{c, c2}}
	o := judge(t, &Discovery{Engines: []*Engine{e}}, &fakeHost{files: fstest.MapFS{}})["container-engine-socket"]
	if o.State != finding.StateFail || !strings.Contains(o.Evidence, "admin (0123456789ab): /srv/e/d.sock on /engine") ||
		!strings.Contains(o.Evidence, "other (fedcba987654): /srv/x/api on /var/run/docker.sock") {
		t.Errorf("%s %q", o.State, o.Evidence)
	}
}

// A dockerd listening on a socket of its own (-H unix:///srv/...) has that
// socket judged, not only the default paths.
func TestSocketPermsOfRunningDaemon(t *testing.T) {
	h := &fakeHost{name: "dev", uid: 1000, files: fstest.MapFS{
		"srv/engine/api.sock": {Mode: fs.ModeSocket | 0o666},
	}, procs: []Process{{PID: 7, Cmdline: []string{"/usr/sbin/dockerd", "-H", "unix:///srv/engine/api.sock"}}}}
	o := ClientOptions{Getenv: env(nil), Ping: func(context.Context, string) PingResult { return PingResult{} }}
	s := clientStates(t, h, o)["client-socket-perms"]
	if s.State != finding.StateFail || !strings.Contains(s.Reason, "/srv/engine/api.sock 0666") {
		t.Errorf("%+v", s)
	}
}

// What a check quotes from the host (command lines, addresses, settings)
// reaches no output with a credential in it.
func TestRunMasksEvidence(t *testing.T) {
	const secret = "hunter2-s3cret"
	c := Check{Rule: finding.Rule{ID: "quoting"}, Run: func(Probe) Outcome {
		o := fail("dockerd --registry-mirror=https://mirror:"+secret+"@mirror.example runs", "mysql -uroot -p"+secret)
		o.Fix = "curl -u admin:" + secret + " https://example.com"
		return o
	}}
	sts, fs := Run(&fakeHost{files: fstest.MapFS{}}, "test", []Check{c})
	if len(fs) != 1 || len(sts) != 1 {
		t.Fatalf("%d findings, %d statuses", len(fs), len(sts))
	}
	for what, s := range map[string]string{"reason": sts[0].Reason, "evidence": fs[0].Evidence, "fix": fs[0].Remediation} {
		if strings.Contains(s, secret) {
			t.Errorf("%s shows the secret: %q", what, s)
		}
	}
}

// Undecided beats failed within one check too: one engine failing a
// check does not hide that the check could not judge another one (its
// dockerd not visible, its data root unknown), so the status is an
// error, the run exits 2, and the failure is still reported.
func TestEngineFailureBesideUndecided(t *testing.T) {
	debug := &Engine{Kind: "docker", Endpoint: "unix:///a.sock", Config: &DaemonConfig{PID: 1, settings: map[string][]string{"debug": {"true"}}}}
	hidden := &Engine{Kind: "docker", Endpoint: "unix:///b.sock"}
	d := &Discovery{Engines: []*Engine{debug, hidden}}
	sts, fs := Run(&fakeHost{files: fstest.MapFS{}}, "test", EngineChecks(d))
	wantPartial(t, sts, fs, "engine-log-level", "unix:///b.sock: its dockerd process is not visible", "debug")
}

// readCounter counts the files a probe reads.
type readCounter struct {
	*fakeHost
	mu    sync.Mutex
	reads map[string]int
}

func (r *readCounter) ReadFile(p string) ([]byte, error) {
	r.mu.Lock()
	r.reads[p]++
	r.mu.Unlock()
	return r.fakeHost.ReadFile(p)
}

// A local container's kernel view (/proc/PID/status, mountinfo, cgroup)
// is read once per container, whatever number of limits and rules the
// checks take from it.
func TestKernelViewReadOncePerContainer(t *testing.T) {
	sock := fakeEngine(t, map[string]route{
		"/version":                          {200, `{"Version":"20.10.24"}`},
		"/info":                             {200, `{}`},
		"/containers/json":                  {200, `[{"Id":"aaaaaaaaaaaaaaaa","Names":["/app"]}]`},
		"/containers/aaaaaaaaaaaaaaaa/json": {200, `{"Id":"aaaaaaaaaaaaaaaa","Name":"/app","State":{"Pid":4242}}`},
		"/containers/aaaaaaaaaaaaaaaa/top":  {200, `{"Titles":["PID","CMD"],"Processes":[["1","sleep 600"]]}`},
	})
	h := &readCounter{reads: map[string]int{}, fakeHost: &fakeHost{files: fstest.MapFS{
		"proc/4242/cgroup":                                    {Data: []byte("9:devices:/docker/a\n8:pids:/docker/a\n4:memory:/docker/a\n0::/\n")},
		"sys/fs/cgroup/pids/docker/a/pids.max":                {Data: []byte("64\n")},
		"sys/fs/cgroup/memory/docker/a/memory.limit_in_bytes": {Data: []byte("1048576\n")},
		"sys/fs/cgroup/devices/docker/a/devices.list":         {Data: []byte("c 1:3 rwm\n")},
		"proc/4242/mountinfo":                                 {Data: []byte("1 0 0:1 / / rw - overlay overlay rw\n")},
		"proc/4242/status":                                    {Data: []byte("Uid:\t0\t0\t0\t0\nNoNewPrivs:\t1\nSeccomp:\t2\nCapBnd:\t00000000a80425fb\n")},
	}}}
	e, err := QueryEngine(context.Background(), h, UnixConn(sock), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := e.Containers[0]
	if c.pidsLimit == nil || c.pidsLimit.Max != 64 || c.memoryLimit == nil || c.memoryLimit.Max != 1048576 || len(c.deviceRules) != 1 || c.status == nil || len(c.mounts) != 1 {
		t.Fatalf("kernel view not read: pids %+v, memory %+v, devices %v, status %+v, mounts %v", c.pidsLimit, c.memoryLimit, c.deviceRules, c.status, c.mounts)
	}
	for p, n := range h.reads {
		if strings.HasPrefix(p, "/proc/4242/") && n != 1 {
			t.Errorf("%s read %d times for one container", p, n)
		}
	}
}

// The three orders Podman releases apply containers.conf in share their
// files: each file is read and decoded once, and the layering still
// judges every reading (the drop-in turns no_new_privileges off).
func TestPodmanConfigFilesReadOnce(t *testing.T) {
	h := &readCounter{reads: map[string]int{}, fakeHost: &fakeHost{files: fstest.MapFS{
		"usr/share/containers/containers.conf":     {Data: []byte("[containers]\nno_new_privileges = true\n")},
		"etc/containers/containers.conf":           {Data: []byte("[containers]\nno_new_privileges = true\n")},
		"etc/containers/containers.conf.d/99.conf": {Data: []byte("[containers]\nno_new_privileges = false\n")},
	}}}
	c := readPodmanConfig(h, Process{PID: 42, UID: 0, Cmdline: []string{"/usr/bin/podman", "system", "service"}})
	if c.NoNewPrivileges || c.noNewPrivilegesFrom != "/etc/containers/containers.conf.d/99.conf" {
		t.Errorf("no_new_privileges %v from %q, want off from the drop-in", c.NoNewPrivileges, c.noNewPrivilegesFrom)
	}
	for p, n := range h.reads {
		if strings.HasSuffix(p, ".conf") && n != 1 {
			t.Errorf("%s read %d times", p, n)
		}
	}
}

// A dockerd serving two endpoints the client names (DOCKER_HOST and
// CONTAINER_HOST here) has its flags and daemon.json read once, and
// both engines carry its configuration.
func TestDaemonConfigReadOncePerDockerd(t *testing.T) {
	routes := map[string]route{
		"/version":         {200, `{"Version":"20.10.24"}`},
		"/info":            {200, `{}`},
		"/containers/json": {200, `[]`},
	}
	a, b := fakeEngine(t, routes), fakeEngine(t, routes)
	h := &readCounter{reads: map[string]int{}, fakeHost: &fakeHost{
		files: fstest.MapFS{
			strings.TrimPrefix(a, "/"): {Mode: fs.ModeSocket | 0o660},
			strings.TrimPrefix(b, "/"): {Mode: fs.ModeSocket | 0o660},
			"etc/docker/daemon.json":   {Data: []byte(`{"icc": false}`)},
		},
		procs: []Process{{PID: 7, UID: 0, Cmdline: []string{"/usr/sbin/dockerd", "-H", "unix://" + a, "-H", "unix://" + b}}},
	}}
	d := Discover(context.Background(), h, ClientOptions{Getenv: env(map[string]string{"DOCKER_HOST": "unix://" + a, "CONTAINER_HOST": "unix://" + b})})
	if len(d.Engines) != 2 {
		t.Fatalf("%d engines, unreachable %v", len(d.Engines), d.Unreachable)
	}
	for _, e := range d.Engines {
		if e.Config == nil || e.Config.PID != 7 || e.Config.Bool("icc", true) {
			t.Errorf("%s: configuration %+v, want dockerd 7's with icc off", e.Endpoint, e.Config)
		}
	}
	if n := h.reads["/etc/docker/daemon.json"]; n != 1 {
		t.Errorf("daemon.json read %d times for one dockerd", n)
	}
}

// A Podman containers.conf that exists but cannot be read may turn
// no_new_privileges off: the readable files setting it is not a pass.
func TestPodmanNoNewPrivsUnreadableFile(t *testing.T) {
	e := &Engine{Kind: "podman", Endpoint: "unix:///srv/p.sock", Podman: &PodmanConfig{NoNewPrivileges: true,
		Problems: []string{"/etc/containers/containers.conf.d/50.conf: cannot read: permission denied"}}}
	o := judge(t, &Discovery{Engines: []*Engine{e}}, &fakeHost{files: fstest.MapFS{}})["engine-no-new-privileges"]
	if o.State != finding.StateError || !strings.Contains(o.Reason, "50.conf: cannot read") {
		t.Errorf("engine-no-new-privileges: %s %s, want an error naming the unreadable file", o.State, o.Reason)
	}
}
