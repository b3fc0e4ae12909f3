package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/tlsgen"
)

// auditEngine runs the engine and container checks against the engine on
// socket, as `DOCKER_HOST=unix://socket hull audit engine containers` does,
// on a host that shows only that engine.
func auditEngine(t *testing.T, socket string) (map[string]finding.CheckStatus, []finding.Finding) {
	t.Helper()
	o := ClientOptions{Getenv: env(map[string]string{"DOCKER_HOST": "unix://" + socket})}
	h := ownedBy(socket, filepath.Dir(socket))
	d := Discover(context.Background(), h, o)
	if len(d.Engines) != 1 || d.Engines[0].Endpoint != "unix://"+socket || len(d.Unreachable) != 0 {
		t.Fatalf("discover: engines %v, unreachable %v", d.Engines, d.Unreachable)
	}
	sts, fs := Run(h, "test", append(EngineChecks(d), ContainerChecks(d)...))
	out := map[string]finding.CheckStatus{}
	for _, s := range sts {
		out[s.ID] = s
	}
	return out, fs
}

// expectStates compares the checks' states with want, check by check.
func expectStates(t *testing.T, got map[string]finding.CheckStatus, want map[string]finding.State) {
	t.Helper()
	var ids []string
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if g, ok := got[id]; !ok || g.State != want[id] {
			t.Errorf("%s: got %s (%s), want %s", id, g.State, g.Reason, want[id])
		}
	}
}

// A deliberately insecure dockerd and a hardened one, each with
// containers started with bad and good settings: the pass and fail lists
// are what the CIS Docker Benchmark says for those settings.
func TestEngineRealDockerd(t *testing.T) {
	t.Run("insecure", func(t *testing.T) {
		d := testenv.StartDockerd(t, "--log-level=debug", "--experimental", "--insecure-registry=10.1.2.3:5000",
			"--userland-proxy=true")
		d.BusyboxImage(t, "hull-test/busybox:1")
		// No --privileged: root here lacks CAP_SYS_RESOURCE, so runc cannot
		// grant every capability (the privileged check is judged on fake
		// engines in TestContainerChecks).
		d.Docker(t, "run", "-d", "--name", "bad", "--pid", "host", "--ipc", "host", "--uts", "host",
			"--network", "host", "-v", "/etc:/host-etc", "-v", d.Socket+":/var/run/docker.sock", "--restart", "always",
			"--cap-add", "SYS_ADMIN", "--device", "/dev/null:/dev/hostnull", "--cgroup-parent", "/hull-test",
			"hull-test/busybox:1", "sleep", "600")
		d.Docker(t, "run", "-d", "--name", "worse", "--network", "none", "--security-opt", "seccomp=unconfined",
			"--security-opt", "systempaths=unconfined", "--device-cgroup-rule", "a *:* rwm",
			"--cap-add", "NET_ADMIN", "hull-test/busybox:1", "sleep", "600")
		got, fs := auditEngine(t, d.Socket)
		expectStates(t, got, map[string]finding.State{
			"engine-rootless":            finding.StateFail,
			"engine-data-root":           finding.StatePass, // dockerd makes it 0710
			"engine-icc":                 finding.StatePass, // --bridge=none: no default bridge
			"engine-log-level":           finding.StateFail,
			"engine-iptables":            finding.StateFail, // this machine needs --iptables=false
			"engine-insecure-registries": finding.StateFail,
			"engine-storage-driver":      finding.StatePass,
			"engine-authz-plugin":        finding.StateWarn,
			"engine-remote-logging":      finding.StateWarn,
			"engine-no-new-privileges":   finding.StateFail,
			"engine-live-restore":        finding.StateFail,
			"engine-userland-proxy":      finding.StateFail,
			"engine-seccomp":             finding.StatePass, // dockerd 20.10 refuses a daemon-wide "unconfined"
			"engine-experimental":        finding.StateFail,

			"container-privileged":        finding.StatePass,
			"container-capabilities":      finding.StateFail,
			"container-apparmor":          finding.StateSkip, // no AppArmor in this kernel
			"container-selinux":           finding.StateSkip,
			"container-sensitive-mounts":  finding.StateFail,
			"container-host-network":      finding.StateFail,
			"container-memory-limit":      finding.StateFail,
			"container-readonly-rootfs":   finding.StateFail,
			"container-restart-policy":    finding.StateFail,
			"container-host-pid":          finding.StateFail,
			"container-host-ipc":          finding.StateFail,
			"container-host-devices":      finding.StateWarn,
			"container-mount-propagation": finding.StatePass, // shared propagation needs a shared source mount; judged in TestContainerChecks
			"container-host-uts":          finding.StateFail,
			"container-seccomp":           finding.StateFail,
			"container-cgroup-parent":     finding.StateWarn,
			"container-no-new-privileges": finding.StateFail,
			"container-healthcheck":       finding.StateWarn,
			"container-pids-limit":        finding.StateFail,
			"container-engine-socket":     finding.StateFail,
			"container-root-user":         finding.StateFail,
			"container-system-paths":      finding.StateFail,
			"container-device-rules":      finding.StateFail,
		})
		for _, f := range fs {
			if f.ID == "container-engine-socket" && !strings.Contains(f.Evidence, "bad") {
				t.Errorf("engine socket finding does not name the container: %s", f.Evidence)
			}
			if f.ID == "container-capabilities" && !(strings.Contains(f.Evidence, "worse") && strings.Contains(f.Evidence, "bad")) {
				t.Errorf("capabilities finding should name both containers: %s", f.Evidence)
			}
		}
	})
	t.Run("hardened", func(t *testing.T) {
		d := testenv.StartDockerd(t, "--userns-remap=default", "--no-new-privileges", "--live-restore",
			"--userland-proxy=false", "--log-level=info")
		d.BusyboxImage(t, "hull-test/busybox:1")
		d.Docker(t, "run", "-d", "--name", "good", "--network", "none", "--cap-drop", "ALL", "--read-only",
			"--security-opt", "no-new-privileges", "--memory", "64m", "--pids-limit", "64", "--cpu-shares", "512",
			"--user", "65534:65534", "--restart", "on-failure:3", "--health-cmd", "true",
			"hull-test/busybox:1", "sleep", "600")
		got, _ := auditEngine(t, d.Socket)
		expectStates(t, got, map[string]finding.State{
			"engine-rootless":            finding.StatePass,
			"engine-log-level":           finding.StatePass,
			"engine-iptables":            finding.StateFail,
			"engine-insecure-registries": finding.StatePass,
			"engine-no-new-privileges":   finding.StatePass,
			"engine-live-restore":        finding.StatePass,
			"engine-userland-proxy":      finding.StatePass,
			"engine-seccomp":             finding.StatePass,
			"engine-experimental":        finding.StatePass,

			"container-privileged":        finding.StatePass,
			"container-capabilities":      finding.StatePass,
			"container-sensitive-mounts":  finding.StatePass,
			"container-host-network":      finding.StatePass,
			"container-memory-limit":      finding.StatePass,
			"container-cpu-shares":        finding.StatePass,
			"container-readonly-rootfs":   finding.StatePass,
			"container-restart-policy":    finding.StatePass,
			"container-host-pid":          finding.StatePass,
			"container-host-ipc":          finding.StatePass,
			"container-host-devices":      finding.StatePass,
			"container-mount-propagation": finding.StatePass,
			"container-host-uts":          finding.StatePass,
			"container-seccomp":           finding.StatePass,
			"container-cgroup-parent":     finding.StatePass,
			"container-no-new-privileges": finding.StatePass,
			"container-healthcheck":       finding.StatePass,
			"container-pids-limit":        finding.StatePass,
			"container-host-userns":       finding.StatePass,
			"container-engine-socket":     finding.StatePass,
			"container-root-user":         finding.StatePass,
			"container-ports-interface":   finding.StatePass,
			"container-system-paths":      finding.StatePass,
			"container-device-rules":      finding.StatePass,
		})
	})
}

// Podman's service (rootful) through its Docker-compatible API: the
// engine is told apart from Docker, its containers are judged like
// Docker's, and its files (containers.conf, registries.conf, policy.json)
// are read from the service's own environment.
func TestEngineRealPodman(t *testing.T) {
	p := testenv.PodmanEnv(t)
	sock := p.Socket()
	p.ImportBusybox("localhost/hull-test/busybox:1")
	p.Run("run", "-d", "--name", "bad", "--network", "none", "--pid", "host", "--cap-add", "SYS_ADMIN",
		"--security-opt", "seccomp=unconfined", "-v", sock+":/run/podman/podman.sock", "localhost/hull-test/busybox:1", "sleep", "600")
	p.Run("run", "-d", "--name", "good", "--network", "none", "--cap-drop", "ALL", "--read-only",
		"--security-opt", "no-new-privileges", "--memory", "64m", "--pids-limit", "64", "--user", "65534:65534",
		"--cpu-shares", "512", "--health-cmd", "true", "localhost/hull-test/busybox:1", "sleep", "600")
	o := ClientOptions{Getenv: env(map[string]string{"CONTAINER_HOST": "unix://" + sock})}
	d := Discover(context.Background(), ownedBy(sock), o)
	var e *Engine
	for _, x := range d.Engines {
		if x.Endpoint == "unix://"+sock {
			e = x
		}
	}
	if e == nil || e.Kind != "podman" || len(e.Containers) != 2 || e.Podman == nil {
		t.Fatalf("discover: %+v (unreachable %v)", e, d.Unreachable)
	}
	if !slices.Contains(e.Podman.Files, filepath.Join(p.Dir(), "containers.conf")) {
		t.Errorf("podman files %v: not the service's CONTAINERS_CONF", e.Podman.Files)
	}
	got, fs := auditEngine(t, sock)
	expectStates(t, got, map[string]finding.State{
		"engine-rootless":             finding.StateFail,
		"engine-data-root":            finding.StateFail, // testenv makes the graphroot 0755
		"engine-no-new-privileges":    finding.StateFail, // the test's containers.conf does not set it
		"engine-insecure-registries":  finding.StatePass, // only 127.0.0.1 and localhost are insecure
		"engine-seccomp":              finding.StatePass,
		"engine-log-level":            finding.StateSkip, // dockerd only
		"container-capabilities":      finding.StateFail,
		"container-host-pid":          finding.StateFail,
		"container-seccomp":           finding.StateFail,
		"container-engine-socket":     finding.StateFail,
		"container-readonly-rootfs":   finding.StateFail,
		"container-privileged":        finding.StatePass,
		"container-host-network":      finding.StatePass,
		"container-sensitive-mounts":  finding.StatePass,
		"container-no-new-privileges": finding.StateFail,
	})
	for _, f := range fs {
		if strings.HasPrefix(f.ID, "container-") && strings.Contains(f.Evidence, "good (") {
			t.Errorf("%s blames the good container: %s", f.ID, f.Evidence)
		}
	}
}

// A rootless Podman service, run as an ordinary user: found through its
// socket, judged rootless, its containers' root is the user's, and its
// files come from that user's environment.
func TestEngineRealPodmanRootless(t *testing.T) {
	p := testenv.PodmanRootlessEnv(t)
	sock := p.Socket()
	p.ImportBusybox("localhost/hull-test/busybox:1")
	p.Run("run", "-d", "--name", "rootful-inside", "--network", "none", "--cap-add", "SYS_PTRACE",
		"localhost/hull-test/busybox:1", "sleep", "600")
	got, fs := auditEngine(t, sock)
	expectStates(t, got, map[string]finding.State{
		"engine-rootless":          finding.StatePass,
		"engine-seccomp":           finding.StatePass,
		"engine-no-new-privileges": finding.StateFail, // judged: the user's service process and its files were found
		"container-root-user":      finding.StateWarn, // root in the container is the user on the host
		"container-capabilities":   finding.StateFail,
		"container-host-network":   finding.StatePass,
	})
	for _, f := range fs {
		if f.ID == "container-root-user" && !strings.Contains(f.Evidence, "unprivileged host user") {
			t.Errorf("root-user warning does not say why: %s", f.Evidence)
		}
	}
}

// A rootless dockerd (rootlesskit, run as an ordinary user): found
// through its socket and judged rootless; the limits it reports are
// judged by what its containers' cgroups enforce.
func TestEngineRealDockerdRootless(t *testing.T) {
	d := testenv.StartRootlessDockerd(t)
	d.BusyboxImage(t, "hull-test/busybox:1")
	d.Docker(t, "run", "-d", "--name", "inside-root", "--network", "none", "hull-test/busybox:1", "sleep", "600")
	// On this machine's cgroup v1 a rootless dockerd accepts limits and
	// reports them in inspect, but cannot apply them (measured: the
	// container stays in the root pids cgroup).
	d.Docker(t, "run", "-d", "--name", "limited", "--network", "none", "--memory", "64m", "--pids-limit", "64",
		"hull-test/busybox:1", "sleep", "600")
	got, fs := auditEngine(t, d.Socket)
	expectStates(t, got, map[string]finding.State{
		"engine-rootless":        finding.StatePass, // CIS 2.1 and 2.9: the rootless user namespace
		"container-root-user":    finding.StateWarn,
		"container-pids-limit":   finding.StateFail,
		"container-memory-limit": finding.StateFail,
	})
	for _, f := range fs {
		if (f.ID == "container-pids-limit" || f.ID == "container-memory-limit") && !strings.Contains(f.Evidence, "limited (") {
			t.Errorf("%s does not name the container whose limits are not applied: %s", f.ID, f.Evidence)
		}
	}
}

// helperEnv turns the test binary into a helper: run as another user by
// TestDiscoverAsOrdinaryUser, it prints what Discover finds on a socket
// and exits, running no test.
const helperEnv = "HULL_AUDIT_DISCOVER_SOCKET"

func TestMain(m *testing.M) {
	if sock := os.Getenv(helperEnv); sock != "" {
		d := Discover(context.Background(), ownedBy(sock), ClientOptions{Getenv: env(map[string]string{"DOCKER_HOST": "unix://" + sock})})
		fmt.Printf("engines=%d\n", len(d.Engines))
		for _, u := range d.Unreachable {
			fmt.Println("unreachable=" + u)
		}
		os.Exit(0)
	}
	os.Exit(testenv.Main(m))
}

// An ordinary user who may not open a root engine's socket gets the
// reason, not an error: the audit runs with what that user can see.
func TestDiscoverAsOrdinaryUser(t *testing.T) {
	d := testenv.StartDockerd(t)
	bin := filepath.Join(t.TempDir(), "audit.test")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := testenv.RunAsRootlessUser(t, []string{helperEnv + "=" + d.Socket}, bin)
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if !strings.Contains(out, "engines=0") || !strings.Contains(out, "unreachable=unix://"+d.Socket+": permission denied: run hull as root") {
		t.Errorf("as an ordinary user: %s", out)
	}
}

// An engine reached over TCP with mutual TLS, as the docker CLI reaches
// it (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH): judged like a
// local socket, its loopback dockerd's flags read; without the client
// certificate it is named unreachable with the TLS error.
func TestEngineRealDockerdTLS(t *testing.T) {
	certs := t.TempDir()
	f, err := tlsgen.Generate(certs, tlsgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreeLoopbackAddr(t)
	d := testenv.StartDockerd(t, "-H", "tcp://"+addr, "--tlsverify", "--tlscacert", f.CA, "--tlscert", f.ServerCert,
		"--tlskey", f.ServerKey, "--live-restore")
	d.BusyboxImage(t, "hull-test/busybox:1")
	d.Docker(t, "run", "-d", "--name", "remote", "--network", "none", "--pid", "host", "hull-test/busybox:1", "sleep", "600")
	environ := map[string]string{"DOCKER_HOST": "tcp://" + addr, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": certs}
	h := ownedBy(d.Socket)
	disc := Discover(context.Background(), h, ClientOptions{Getenv: env(environ)})
	if len(disc.Engines) != 1 || disc.Engines[0].Endpoint != "tcp://"+addr || disc.Engines[0].Config == nil ||
		len(disc.Engines[0].Containers) != 1 || len(disc.Unreachable) != 0 {
		t.Fatalf("discover over TLS: %+v, unreachable %v", disc.Engines, disc.Unreachable)
	}
	sts, _ := Run(h, "test", append(EngineChecks(disc), ContainerChecks(disc)...))
	got := map[string]finding.CheckStatus{}
	for _, s := range sts {
		got[s.ID] = s
	}
	expectStates(t, got, map[string]finding.State{
		"engine-live-restore": finding.StatePass, // from /info
		"engine-log-level":    finding.StatePass, // from the flags: the loopback dockerd was matched
		"container-host-pid":  finding.StateFail,
	})

	delete(environ, "DOCKER_TLS_VERIFY") // plain HTTP to a TLS port
	disc = Discover(context.Background(), h, ClientOptions{Getenv: env(environ)})
	if !slices.ContainsFunc(disc.Unreachable, func(u string) bool { return strings.HasPrefix(u, "tcp://"+addr+": ") }) {
		t.Errorf("plain HTTP to a TLS engine: engines %d, unreachable %v", len(disc.Engines), disc.Unreachable)
	}
	environ["DOCKER_TLS_VERIFY"], environ["DOCKER_CERT_PATH"] = "1", t.TempDir() // no client certificate
	disc = Discover(context.Background(), h, ClientOptions{Getenv: env(environ)})
	if !slices.ContainsFunc(disc.Unreachable, func(u string) bool { return strings.Contains(u, "DOCKER_TLS_VERIFY is set but") }) {
		t.Errorf("no client certificate: %v", disc.Unreachable)
	}
}

// Podman joins a namespace by path (--pid ns:/proc/PID/ns/pid): its
// inspection says "ns:..." and never "host", but the kernel shows the
// container's processes in the host's PID namespace, and that is what is
// judged.
func TestEngineRealPodmanNamespacePath(t *testing.T) {
	p := testenv.PodmanEnv(t)
	sock := p.Socket()
	p.ImportBusybox("localhost/hull-test/busybox:1")
	p.Run("run", "-d", "--name", "bypath", "--network", "none", "--pid", fmt.Sprintf("ns:/proc/%d/ns/pid", os.Getpid()),
		"localhost/hull-test/busybox:1", "sleep", "600")
	p.Run("run", "-d", "--name", "own", "--network", "none", "localhost/hull-test/busybox:1", "sleep", "600")
	got, fs := auditEngine(t, sock)
	expectStates(t, got, map[string]finding.State{"container-host-pid": finding.StateFail})
	for _, f := range fs {
		if f.ID == "container-host-pid" && (!strings.Contains(f.Evidence, "bypath") || strings.Contains(f.Evidence, "own (")) {
			t.Errorf("host PID namespace by path: %s", f.Evidence)
		}
	}
}

// What the engine's answers do not show, read from the kernel: a Podman
// containers.conf with seccomp_profile = "unconfined" runs containers
// without a filter while /info and inspect still say default, and a
// container runs without no_new_privs whatever containers.conf says (a
// podman with another file created it, or the release ignores the key),
// --security-opt unmask=ALL leaves /proc and /sys open and
// --device-cgroup-rule opens every block device, with no trace in
// inspect.
func TestEngineRealPodmanKernelView(t *testing.T) {
	p := testenv.PodmanEnv(t)
	conf := filepath.Join(p.Dir(), "containers.conf")
	orig, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(p.Dir(), "other.conf")
	if err := os.WriteFile(other, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	hardened := strings.Replace(string(orig), "[containers]\n", "[containers]\nno_new_privileges = true\nseccomp_profile = \"unconfined\"\n", 1)
	if err := os.WriteFile(conf, []byte(hardened), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := p.Socket()
	p.ImportBusybox("localhost/hull-test/busybox:1")
	p.Run("run", "-d", "--name", "unfiltered", "--network", "none", "localhost/hull-test/busybox:1", "sleep", "600")
	p.Run("run", "-d", "--name", "unmasked", "--network", "none", "--security-opt", "unmask=ALL", "localhost/hull-test/busybox:1", "sleep", "600")
	p.Run("run", "-d", "--name", "blockdev", "--network", "none", "--device-cgroup-rule", "b *:* rwm", "localhost/hull-test/busybox:1", "sleep", "600")
	cmd := p.Command(t.Context(), "run", "-d", "--name", "mayescalate", "--network", "none", "localhost/hull-test/busybox:1", "sleep", "600")
	for i, kv := range cmd.Env {
		if strings.HasPrefix(kv, "CONTAINERS_CONF=") {
			cmd.Env[i] = "CONTAINERS_CONF=" + other
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("podman run with another containers.conf: %v: %s", err, out)
	}
	got, fs := auditEngine(t, sock)
	expectStates(t, got, map[string]finding.State{
		"engine-seccomp":              finding.StateFail,
		"container-seccomp":           finding.StateFail,
		"container-no-new-privileges": finding.StateFail,
		// Measured: Podman 4.3 does not apply containers.conf's
		// no_new_privileges; unfiltered runs without it too.
		"engine-no-new-privileges": finding.StateFail,
		// unmask=ALL: inspect shows no security option and no masked
		// paths; the container's own mounts show /proc and /sys open.
		"container-system-paths": finding.StateFail,
		// --device-cgroup-rule: Podman's inspect says nothing, the
		// container's devices cgroup has the rule.
		"container-device-rules": finding.StateFail,
	})
	for _, f := range fs {
		switch f.ID {
		case "engine-seccomp":
			if !strings.Contains(f.Evidence, conf) {
				t.Errorf("engine-seccomp does not name the file: %s", f.Evidence)
			}
		case "container-seccomp":
			if !strings.Contains(f.Evidence, "unfiltered") || strings.Contains(f.Evidence, "mayescalate") {
				t.Errorf("container-seccomp: %s", f.Evidence)
			}
		case "container-no-new-privileges":
			if !strings.Contains(f.Evidence, "mayescalate") {
				t.Errorf("container-no-new-privileges: %s", f.Evidence)
			}
		case "container-system-paths":
			if !strings.Contains(f.Evidence, "unmasked") || !strings.Contains(f.Evidence, "/proc/sys writable") || strings.Contains(f.Evidence, "unfiltered") {
				t.Errorf("container-system-paths: %s", f.Evidence)
			}
		case "container-device-rules":
			if !strings.Contains(f.Evidence, "blockdev (") || !strings.Contains(f.Evidence, "b *:* rwm") || strings.Contains(f.Evidence, "unfiltered") {
				t.Errorf("container-device-rules: %s", f.Evidence)
			}
		case "engine-no-new-privileges":
			if !strings.Contains(f.Evidence, "unfiltered") {
				t.Errorf("engine-no-new-privileges does not name a container without it: %s", f.Evidence)
			}
		}
	}
}
