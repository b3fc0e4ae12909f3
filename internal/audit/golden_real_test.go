package audit

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/report"
	"github.com/hull-sec/hull/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// volatile are the parts of an audit's output that differ from run to
// run: container IDs (Label's 12 hex digits), cgroups named by an ID and
// the PIDs the kernel gave their processes. Temporary directories are replaced by
// name before.
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`[0-9a-f]{32,}`), "HEX"}, // a cgroup named by an ID (rootlesskit's, a container's)
	{regexp.MustCompile(`\([0-9a-f]{12}\)`), "(ID)"},
	{regexp.MustCompile(`pid \d+`), "pid PID"},
	{regexp.MustCompile(`/proc/\d+/`), "/proc/PID/"},
}

// goldenAudit runs `hull audit engine containers` against the engine on
// socket and compares its table and JSON output with
// testdata/golden/NAME.{table,json}, with dirs (the test's temporary
// directories) replaced by their keys and the volatile parts masked.
func goldenAudit(t *testing.T, name, socket string, dirs map[string]string) {
	t.Helper()
	o := ClientOptions{Getenv: env(map[string]string{"DOCKER_HOST": "unix://" + socket})}
	h := ownedBy(socket, filepath.Dir(socket))
	d := Discover(context.Background(), h, o)
	if len(d.Engines) != 1 || len(d.Unreachable) != 0 {
		t.Fatalf("discover: engines %v, unreachable %v", d.Engines, d.Unreachable)
	}
	for _, run := range []struct {
		what   string
		checks []Check
	}{
		{"containers", ContainerChecks(d)},
		{"engine-containers", append(EngineChecks(d), ContainerChecks(d)...)},
	} {
		sts, fs := Run(h, "test", run.checks)
		rep := report.Report{Tool: "hull", Version: "test", Command: "audit", Target: "test", Checks: sts, Findings: fs}
		for _, format := range []string{"table", "json"} {
			enc, err := report.Formats.Lookup(format)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := enc(&b, rep, report.Options{}); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			for key, dir := range dirs {
				got = strings.ReplaceAll(got, dir, key)
			}
			for _, v := range volatile {
				got = v.re.ReplaceAllString(got, v.with)
			}
			file := filepath.Join("testdata", "golden", name+"-"+run.what+"."+format)
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the golden output (-update rewrites it):\n%s", file, got)
			}
		}
	}
}

// The audit's output on real engines, each running containers in many
// configurations, stays what it was when the container checks moved to
// internal/workload: the golden files were written by the audit before
// the move.
func TestGoldenRealDockerd(t *testing.T) {
	t.Run("insecure", func(t *testing.T) {
		d := testenv.StartDockerd(t, "--log-level=debug", "--experimental", "--userland-proxy=true")
		d.BusyboxImage(t, "hull-test/busybox:1")
		links := t.TempDir()
		if err := os.Symlink("/etc", filepath.Join(links, "etc-link")); err != nil {
			t.Fatal(err)
		}
		img := "hull-test/busybox:1"
		d.Docker(t, "run", "-d", "--name", "bad", "--pid", "host", "--ipc", "host", "--uts", "host",
			"--network", "host", "-v", "/etc:/host-etc", "-v", d.Socket+":/var/run/docker.sock", "--restart", "always",
			"--cap-add", "SYS_ADMIN", "--device", "/dev/null:/dev/hostnull", "--cgroup-parent", "/hull-test",
			img, "sleep", "600")
		d.Docker(t, "run", "-d", "--name", "worse", "--network", "none", "--security-opt", "seccomp=unconfined",
			"--security-opt", "systempaths=unconfined", "--device-cgroup-rule", "a *:* rwm",
			"--cap-add", "NET_ADMIN", "--cap-add", "CHOWN", img, "sleep", "600")
		d.Docker(t, "run", "-d", "--name", "joiner", "--network", "container:bad", "--pid", "container:bad",
			"--ipc", "container:bad", "-v", filepath.Join(links, "etc-link")+":/x:ro", "-v", "/run:/host-run",
			"--restart", "on-failure:10", "--user", "root", "--security-opt", "no-new-privileges=false",
			"--device-cgroup-rule", "c 1:3 rwm", "--cpus", "0.5", img, "sleep", "600")
		d.Docker(t, "run", "-d", "--name", "mild", "--network", "none", "--cap-add", "CHOWN", "--cap-add", "cap_fowner",
			"--restart", "unless-stopped", "--memory", "64m", "--pids-limit", "-1", "--mount", "type=tmpfs,destination=/scratch",
			"-v", "data:/data", "--user", "1000:1000", "--security-opt", "no-new-privileges", img, "sleep", "600")
		d.Docker(t, "run", "-d", "--name", "good", "--network", "none", "--cap-drop", "ALL", "--read-only",
			"--security-opt", "no-new-privileges:true", "--memory", "64m", "--pids-limit", "64", "--cpu-shares", "512",
			"--user", "65534:65534", "--restart", "on-failure:3", "--health-cmd", "true", img, "sleep", "600")
		goldenAudit(t, "dockerd-insecure", d.Socket, map[string]string{"LINKS": links, "DOCKERD": d.Dir})
	})
	t.Run("remapped", func(t *testing.T) {
		d := testenv.StartDockerd(t, "--userns-remap=default", "--no-new-privileges", "--live-restore",
			"--userland-proxy=false", "--log-level=info")
		d.BusyboxImage(t, "hull-test/busybox:1")
		img := "hull-test/busybox:1"
		d.Docker(t, "run", "-d", "--name", "hostuser", "--userns", "host", "--network", "none", "--restart", "on-failure",
			img, "sleep", "600")
		d.Docker(t, "run", "-d", "--name", "remapped-root", "--network", "none", "--memory", "32m", "--pids-limit", "32",
			"--read-only", "--cap-add", "chown", "--cap-add", "CAP_FOWNER", "--no-healthcheck", img, "sleep", "600")
		d.Docker(t, "run", "-d", "--name", "good", "--network", "none", "--cap-drop", "ALL", "--read-only",
			"--memory", "64m", "--pids-limit", "64", "--cpu-shares", "512",
			"--user", "65534:65534", "--restart", "on-failure:3", "--health-cmd", "true", img, "sleep", "600")
		goldenAudit(t, "dockerd-remapped", d.Socket, map[string]string{"DOCKERD": d.Dir})
	})
}

func TestGoldenRealPodman(t *testing.T) {
	p := testenv.PodmanEnv(t)
	sock := p.Socket()
	img := "localhost/hull-test/busybox:1"
	p.ImportBusybox(img)
	p.Run("run", "-d", "--name", "bad", "--network", "none", "--pid", "host", "--ipc", "host", "--cap-add", "SYS_ADMIN",
		"--security-opt", "seccomp=unconfined", "-v", sock+":/run/podman/podman.sock", "-v", "/etc:/host-etc:ro",
		"--device", "/dev/null:/dev/hostnull", img, "sleep", "600")
	p.Run("run", "-d", "--name", "unmasked", "--network", "none", "--security-opt", "unmask=ALL",
		"--device-cgroup-rule", "b *:* rwm", "--uts", "host", "--cap-add", "CHOWN", img, "sleep", "600")
	p.Run("run", "-d", "--name", "good", "--network", "none", "--cap-drop", "ALL", "--read-only",
		"--security-opt", "no-new-privileges", "--memory", "64m", "--pids-limit", "64", "--user", "65534:65534",
		"--cpu-shares", "512", "--health-cmd", "true", img, "sleep", "600")
	goldenAudit(t, "podman", sock, map[string]string{"PODMAN": p.Dir()})
}

func TestGoldenRealPodmanRootless(t *testing.T) {
	p := testenv.PodmanRootlessEnv(t)
	sock := p.Socket()
	img := "localhost/hull-test/busybox:1"
	p.ImportBusybox(img)
	p.Run("run", "-d", "--name", "rootful-inside", "--network", "none", "--cap-add", "SYS_PTRACE", img, "sleep", "600")
	p.Run("run", "-d", "--name", "nobody", "--network", "none", "--user", "65534", "--read-only",
		"--cap-add", "chown", "--cap-add", "CAP_FOWNER", img, "sleep", "600")
	goldenAudit(t, "podman-rootless", sock, map[string]string{"PODMAN": p.Dir()})
}

// A rootless dockerd accepts limits it cannot apply on this machine's
// cgroup v1: the kernel's view, not inspect, is what is judged.
func TestGoldenRealDockerdRootless(t *testing.T) {
	d := testenv.StartRootlessDockerd(t)
	d.BusyboxImage(t, "hull-test/busybox:1")
	img := "hull-test/busybox:1"
	d.Docker(t, "run", "-d", "--name", "inside-root", "--network", "none", "--cap-add", "NET_ADMIN", img, "sleep", "600")
	d.Docker(t, "run", "-d", "--name", "limited", "--network", "none", "--memory", "64m", "--pids-limit", "64",
		"--read-only", "--user", "65534", "--health-cmd", "true", img, "sleep", "600")
	goldenAudit(t, "dockerd-rootless", d.Socket, map[string]string{"DOCKERD": d.Dir})
}
