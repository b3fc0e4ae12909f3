package audit

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/tlsgen"
)

// A container stuck restarting (dockerd answers 409 to /top) beside a
// container that holds the engine (SYS_ADMIN and the engine's socket):
// the engine is still judged, the dangerous container fails its checks,
// and what could not be judged is an error naming the container and the
// engine, so the audit exits 2, never 0.
func TestEngineRealRestartingContainer(t *testing.T) {
	d := testenv.StartDockerd(t)
	d.BusyboxImage(t, "hull-test/busybox:1")
	d.Docker(t, "run", "-d", "--name", "admin", "--network", "none", "--cap-add", "SYS_ADMIN",
		"-v", d.Socket+":/var/run/docker.sock", "hull-test/busybox:1", "sleep", "600")
	d.Docker(t, "run", "-d", "--name", "flappy", "--network", "none", "--restart", "always", "hull-test/busybox:1", "false")
	// Wait until restarts back off for seconds, so it is restarting when
	// the audit asks.
	deadline := time.Now().Add(60 * time.Second)
	for {
		out := strings.TrimSpace(d.Docker(t, "inspect", "-f", "{{.State.Restarting}} {{.RestartCount}}", "flappy"))
		f := strings.Fields(out)
		if len(f) == 2 && f[0] == "true" && (len(f[1]) > 1 || f[1] >= "5") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("flappy never settled into restarting: %s", out)
		}
		time.Sleep(300 * time.Millisecond)
	}
	got, fs := auditEngine(t, d.Socket)
	expectStates(t, got, map[string]finding.State{
		"engine-query":             finding.StateError,
		"container-capabilities":   finding.StateFail,
		"container-engine-socket":  finding.StateFail,
		"container-restart-policy": finding.StateFail, // flappy judged from its inspection
		"container-sshd":           finding.StateError,
	})
	if r := got["engine-query"].Reason; !strings.Contains(r, "unix://"+d.Socket) || !strings.Contains(r, "flappy") || !strings.Contains(r, "409") {
		t.Errorf("engine-query does not name the engine and the restarting container: %s", r)
	}
	named := false
	for _, f := range fs {
		named = named || (f.ID == "container-engine-socket" && strings.Contains(f.Evidence, "admin"))
	}
	if !named {
		t.Errorf("the container holding the engine's socket is not reported: %v", fs)
	}
}

// CIS 1.1.1, 3.17/3.18 and 3.23/3.24 judge what dockerd really uses: its
// data root on / (which dockerd bind-mounts onto itself) fails, the
// --config-file it was started with is judged (mode 0666 fails, with a
// fix naming it), and the containerd socket under its --exec-root is
// judged beside /run/containerd/containerd.sock.
func TestEngineRealDaemonFiles(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "hull-daemon.json")
	if err := os.WriteFile(conf, []byte(`{"log-level": "info"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(conf, 0o666); err != nil {
		t.Fatal(err)
	}
	d := testenv.StartDockerd(t, "--config-file", conf)
	got, fs := auditEngine(t, d.Socket)
	expectStates(t, got, map[string]finding.State{
		"host-engine-partition":   finding.StateFail,
		"files-daemon-json":       finding.StateFail,
		"files-containerd-socket": finding.StatePass,
		"engine-log-level":        finding.StatePass, // read from the --config-file
	})
	if r := got["host-engine-partition"].Reason; !strings.Contains(r, filepath.Join(d.Dir, "data")) {
		t.Errorf("host-engine-partition: %s", r)
	}
	if r := got["files-containerd-socket"].Reason; !strings.Contains(r, filepath.Join(d.Dir, "exec", "containerd", "containerd.sock")) {
		t.Errorf("files-containerd-socket did not judge the socket under the exec root: %s", r)
	}
	for _, f := range fs {
		if f.ID == "files-daemon-json" && (!strings.Contains(f.Evidence, conf+" 0666") || !strings.Contains(f.Remediation, "chmod 0644 "+conf)) {
			t.Errorf("daemon.json finding: evidence %q, fix %q", f.Evidence, f.Remediation)
		}
	}
	// A containerd socket open to others under the exec root fails, and
	// the fix names it.
	sock := filepath.Join(d.Dir, "exec", "containerd", "containerd.sock")
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	got, fs = auditEngine(t, d.Socket)
	expectStates(t, got, map[string]finding.State{"files-containerd-socket": finding.StateFail})
	for _, f := range fs {
		if f.ID == "files-containerd-socket" && !strings.Contains(f.Remediation, "chmod 0660 "+sock) {
			t.Errorf("containerd socket fix: %q", f.Remediation)
		}
	}
}

// What an inspection's own fields do not say, judged as the engine
// really runs it: a container that joins (--pid/--network
// container:NAME) a container in the host's namespaces is in them too,
// a mounted directory holding the engine's socket hands the engine over
// as the socket itself does, and a mounted link to /etc mounts /etc.
func TestEngineRealIndirectHostAccess(t *testing.T) {
	d := testenv.StartDockerd(t)
	d.BusyboxImage(t, "hull-test/busybox:1")
	d.Docker(t, "run", "-d", "--name", "hostns", "--pid", "host", "--network", "host", "hull-test/busybox:1", "sleep", "600")
	d.Docker(t, "run", "-d", "--name", "joiner", "--pid", "container:hostns", "--network", "container:hostns",
		"hull-test/busybox:1", "sleep", "600")
	d.Docker(t, "run", "-d", "--name", "rundir", "--network", "none", "-v", filepath.Dir(d.Socket)+":/hostrun",
		"hull-test/busybox:1", "sleep", "600")
	// A link to /etc mounts /etc: dockerd follows it, its inspection
	// names the link.
	links := t.TempDir()
	if err := os.Symlink("/etc", filepath.Join(links, "etc")); err != nil {
		t.Fatal(err)
	}
	d.Docker(t, "run", "-d", "--name", "linked", "--network", "none", "-v", filepath.Join(links, "etc")+":/x:ro",
		"hull-test/busybox:1", "sleep", "600")
	got, fs := auditEngine(t, d.Socket)
	expectStates(t, got, map[string]finding.State{
		"container-host-pid":         finding.StateFail,
		"container-host-network":     finding.StateFail,
		"container-engine-socket":    finding.StateFail,
		"container-sensitive-mounts": finding.StateFail,
	})
	evidence := map[string]string{}
	for _, f := range fs {
		evidence[f.ID] = f.Evidence
	}
	for _, id := range []string{"container-host-pid", "container-host-network"} {
		if !strings.Contains(evidence[id], "joiner") || !strings.Contains(evidence[id], "hostns") {
			t.Errorf("%s does not name the container that joined the host's namespace: %s", id, evidence[id])
		}
	}
	if e := evidence["container-engine-socket"]; !strings.Contains(e, "rundir") || !strings.Contains(e, d.Socket) {
		t.Errorf("the mounted directory holding the socket is not reported: %s", e)
	}
	if e := evidence["container-sensitive-mounts"]; !strings.Contains(e, "linked") || !strings.Contains(e, "(a link to /etc) on /x (ro)") {
		t.Errorf("a link to /etc mounted is not reported as /etc: %s", e)
	}
}

// A file's own owner and mode say nothing when someone else may replace
// it: the configuration file dockerd was started with is judged with
// every directory on the way to it, through its symbolic links, on this
// machine's real files (a directory every user may write, without the
// sticky bit, fails; /tmp's sticky bit keeps root's file root's).
func TestFileChecksJudgeTheWayThere(t *testing.T) {
	base := t.TempDir()
	mk := func(dir string, mode os.FileMode) string {
		p := filepath.Join(base, dir)
		if err := os.Mkdir(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	write := func(p string) string {
		if err := os.WriteFile(p, []byte(`{}`), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	open, sticky, safe := mk("open", 0o777), mk("sticky", 0o777|os.ModeSticky), mk("safe", 0o755)
	inOpen := write(filepath.Join(open, "daemon.json"))
	inSticky := write(filepath.Join(sticky, "daemon.json"))
	link := filepath.Join(safe, "daemon.json")
	if err := os.Symlink("../open/daemon.json", link); err != nil {
		t.Fatal(err)
	}
	judgeFile := func(file string) Outcome {
		d := &Discovery{Engines: []*Engine{{Kind: "docker", Endpoint: "unix:///x.sock", Config: &DaemonConfig{PID: 1, File: file}}}}
		for _, c := range FileChecks(d) {
			if c.ID == "files-daemon-json" {
				return runOne(c, Host{})
			}
		}
		t.Fatal("no files-daemon-json check")
		return Outcome{}
	}
	for _, tc := range []struct {
		file, want string
	}{
		{inOpen, "directory " + open + " (0777) lets every user replace it"},
		{link, "directory " + open + " (0777) lets every user replace it"},
	} {
		o := judgeFile(tc.file)
		if o.State != finding.StateFail || !strings.Contains(o.Reason, tc.want) || !strings.Contains(o.Fix, "chmod o-w "+open) {
			t.Errorf("%s: %s %q (fix %q), want a failure with %q", tc.file, o.State, o.Reason, o.Fix, tc.want)
		}
		if strings.Contains(o.Fix, "chown root:root "+tc.file) {
			t.Errorf("%s: the file itself is fine, yet the fix changes it: %s", tc.file, o.Fix)
		}
	}
	if o := judgeFile(inSticky); strings.Contains(o.Reason, inSticky+" ") && strings.Contains(o.Reason, "directory") {
		t.Errorf("a root file in a sticky directory: %s", o.Reason)
	}
	if !strings.Contains(judgeFile(link).Reason, "(it is a link to "+inOpen+")") {
		t.Errorf("the link's target is not named: %s", judgeFile(link).Reason)
	}
}

// realPath follows links as opening does, relative ones from their own
// directory, and gives up on a loop instead of spinning.
func TestRealPath(t *testing.T) {
	link := func(to string) *fstest.MapFile { return &fstest.MapFile{Mode: fs.ModeSymlink, Data: []byte(to)} }
	h := &fakeHost{files: fstest.MapFS{
		"var/run":         link("/run"),
		"etc/docker/d.js": link("../../srv/conf/d.js"),
		"srv/conf/d.js":   {Data: []byte("{}")},
		"loop/a":          link("b"),
		"loop/b":          link("a"),
	}}
	for in, want := range map[string]string{
		"/var/run/docker.sock": "/run/docker.sock", "/etc/docker/d.js": "/srv/conf/d.js", "/etc/x/../docker/d.js": "/srv/conf/d.js",
	} {
		if got, ok := realPath(h, in); !ok || got != want {
			t.Errorf("realPath(%s) = %s %v, want %s", in, got, ok, want)
		}
	}
	if _, ok := realPath(h, "/loop/a"); ok {
		t.Error("a link loop resolved")
	}
}

// dockerd started with --tlsverify and no --tlscacert/--tlscert/--tlskey
// takes ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH (else its
// DOCKER_CONFIG or ~/.docker): those are its TLS files, judged as any
// named on the command line (key.pem 0600 and ca.pem 0644 are wider than
// CIS 3.14 and 3.10 allow).
func TestEngineRealDefaultTLSFiles(t *testing.T) {
	certs := t.TempDir()
	if _, err := tlsgen.Generate(certs, tlsgen.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CERT_PATH", certs)
	d := testenv.StartDockerd(t, "--tlsverify", "-H", "tcp://"+testenv.FreeLoopbackAddr(t))
	got, fs := auditEngine(t, d.Socket)
	expectStates(t, got, map[string]finding.State{"files-tls-key": finding.StateFail, "files-tls-ca": finding.StateFail})
	for _, f := range fs {
		if f.ID == "files-tls-key" && !strings.Contains(f.Remediation, "chmod 0400 "+filepath.Join(certs, "key.pem")) {
			t.Errorf("files-tls-key fix does not name the default key: %s", f.Remediation)
		}
	}
	if r := got["files-tls-ca"].Reason; !strings.Contains(r, filepath.Join(certs, "ca.pem")) {
		t.Errorf("files-tls-ca did not judge the default CA: %s", r)
	}
}
