package testenv

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/engineapi"
)

// Podman is an isolated root podman setup: its own storage (vfs driver),
// run and tmp directories, file locks, network config dir, containers.conf
// and registries.conf, all under temporary directories. Several Podman
// values can be used in parallel.
type Podman struct {
	t   testing.TB
	bin string
	dir string
	env []string

	// pre runs podman as another user (setpriv ...), empty for root.
	pre []string

	mu     sync.Mutex
	socket string
	// service is the API service Socket or DebugSocket started, debug
	// whether at --log-level debug.
	service *server
	debug   bool
}

// command is the program and arguments that run podman with args.
func (p *Podman) command(args ...string) (string, []string) {
	if len(p.pre) == 0 {
		return p.bin, args
	}
	return p.pre[0], append(append(append([]string(nil), p.pre[1:]...), p.bin), args...)
}

// PodmanEnv prepares an isolated podman setup for root and returns it.
// At cleanup the API service (if started) is stopped, all containers are
// removed, leftover mounts are detached and the directories are deleted.
//
// The containers.conf follows this machine's limits: default_ulimits
// nofile=20000:20000 and nproc=32768:32768 (root cannot raise hard limits),
// runtime runc, cgroupfs, netns "none" (no bridge networking; pass
// --network none anyway when using the API, or set NetworkMode "none"),
// file events logger and lock_type "file". registries.conf marks 127.0.0.1
// and localhost registries insecure (plain HTTP) and has no unqualified
// search registries: always use fully qualified names.
func PodmanEnv(t testing.TB) *Podman {
	t.Helper()
	return podmanEnv(t, nil)
}

// RootlessUser is the ordinary account rootless tests run engines as.
const RootlessUser = "hull-rootless"

// PodmanRootlessEnv is PodmanEnv for rootless Podman: every podman
// command (and the API service) runs as RootlessUser (created with
// useradd, which gives it /etc/subuid and /etc/subgid ranges, if
// missing) through setpriv, with a private HOME and XDG_RUNTIME_DIR in
// the setup's directory, which that user owns. As the machine recipes
// say, rootless containers here get no resource limits and no network
// (netns "none").
func PodmanRootlessEnv(t testing.TB) *Podman {
	t.Helper()
	return podmanEnv(t, rootlessAccount(t))
}

type account struct{ uid, gid int }

// setpriv is the command prefix that runs a program as this account.
func (a *account) setpriv(t testing.TB) []string {
	return []string{lookPath(t, "setpriv"), "--reuid", strconv.Itoa(a.uid), "--regid", strconv.Itoa(a.gid), "--init-groups", "--"}
}

func rootlessAccount(t testing.TB) *account {
	t.Helper()
	lookPath(t, "newuidmap")
	lookPath(t, "setpriv")
	if _, _, err := runErr(nil, "id", "-u", RootlessUser); err != nil {
		run(t, nil, lookPath(t, "useradd"), "--create-home", "--shell", "/usr/sbin/nologin", RootlessUser)
	}
	uid, err := strconv.Atoi(strings.TrimSpace(run(t, nil, "id", "-u", RootlessUser)))
	if err != nil {
		t.Fatalf("testenv: id -u %s: %v", RootlessUser, err)
	}
	gid, err := strconv.Atoi(strings.TrimSpace(run(t, nil, "id", "-g", RootlessUser)))
	if err != nil {
		t.Fatalf("testenv: id -g %s: %v", RootlessUser, err)
	}
	if sub, err := os.ReadFile("/etc/subuid"); err != nil || !strings.Contains(string(sub), RootlessUser+":") {
		t.Fatalf("testenv: %s has no /etc/subuid range (useradd did not add one): %v", RootlessUser, err)
	}
	return &account{uid: uid, gid: gid}
}

func podmanEnv(t testing.TB, as *account) *Podman {
	t.Helper()
	bin := lookPath(t, "podman")
	lookPath(t, "runc")
	lookPath(t, "conmon")

	// Not t.TempDir: the directory is removed by the cleanup below, after
	// the containers and their helper processes are gone, and with retries.
	dir, err := os.MkdirTemp(shortTmpRoot(), "hull-podman-")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	sub := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		return p
	}
	graph, runroot, tmp := sub("root"), sub("run"), sub("tmp")
	netdir, copytmp := sub("networks"), sub("copytmp")
	home, xdg := sub("home"), sub("xdg")

	storageConf := filepath.Join(dir, "storage.conf")
	containersConf := filepath.Join(dir, "containers.conf")
	registriesConf := filepath.Join(dir, "registries.conf")
	write := func(path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	write(storageConf, fmt.Sprintf(`[storage]
driver = "vfs"
graphroot = %q
runroot = %q
`, graph, runroot))
	write(containersConf, fmt.Sprintf(`[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"
log_driver = "k8s-file"

[network]
network_config_dir = %q

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = %q
lock_type = "file"
image_copy_tmp_dir = %q
`, netdir, tmp, copytmp))
	write(registriesConf, registriesConfContent)

	p := &Podman{t: t, bin: bin, dir: dir}
	var extra []string
	if as != nil {
		// The user owns the whole setup; root still reads it.
		err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, as.uid, as.gid)
		})
		if err == nil {
			err = os.Chmod(xdg, 0o700)
		}
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		p.pre = as.setpriv(t)
		extra = []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + xdg, "USER=" + RootlessUser, "LOGNAME=" + RootlessUser}
	}
	p.env = append(filteredEnviron(), extra...)
	p.env = append(p.env,
		"CONTAINERS_CONF="+containersConf,
		"CONTAINERS_STORAGE_CONF="+storageConf,
		"CONTAINERS_REGISTRIES_CONF="+registriesConf,
		"TMPDIR="+copytmp,
	)
	// Runs after the API service (whose cleanup is registered later) stops.
	t.Cleanup(func() {
		name, args := p.command("rm", "--all", "--force", "--time", "0")
		if _, stderr, err := runErr(p.env, name, args...); err != nil {
			t.Logf("testenv: podman rm --all at cleanup: %v: %s", err, stderr)
		}
		stopProcessesUsing(t, dir, 10*time.Second)
		unmountUnder(t, dir)
		var err error
		for i := 0; i < 5; i++ {
			if err = os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
			stopProcessesUsing(t, dir, time.Second)
			unmountUnder(t, dir)
		}
		t.Errorf("testenv: remove podman dir: %v", err)
	})
	return p
}

const registriesConfContent = `unqualified-search-registries = []

[[registry]]
location = "127.0.0.1"
insecure = true

[[registry]]
location = "localhost"
insecure = true
`

// filteredEnviron is os.Environ without variables that would point podman or
// skopeo at other configuration.
func filteredEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF", "CONTAINERS_REGISTRIES_CONF",
			"CONTAINER_HOST", "CONTAINER_CONNECTION", "DOCKER_HOST", "TMPDIR":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Env returns the complete environment (os.Environ plus CONTAINERS_CONF,
// CONTAINERS_STORAGE_CONF, CONTAINERS_REGISTRIES_CONF and TMPDIR) under
// which a podman process uses this setup. Use it for exec.Cmd.Env.
func (p *Podman) Env() []string {
	return append([]string(nil), p.env...)
}

// Dir returns the directory holding this setup's configuration and storage.
func (p *Podman) Dir() string { return p.dir }

// Command returns an unstarted podman command with this setup's
// environment, for callers that need stdin or expect failure.
func (p *Podman) Command(ctx context.Context, args ...string) *exec.Cmd {
	name, args := p.command(args...)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = p.Env()
	return cmd
}

// Run runs podman with args in this setup and returns its stdout. The test
// fails (with stderr in the message) if podman exits non-zero.
func (p *Podman) Run(args ...string) string {
	p.t.Helper()
	name, args := p.command(args...)
	return run(p.t, p.env, name, args...)
}

// Socket starts `podman system service --time=0 unix://SOCK` with this
// setup's environment (once; later calls return the same path), waits until
// the Docker-compatible API answers GET /_ping with 200, and returns the
// socket path. The service is stopped at cleanup. Use it as
// DOCKER_HOST=unix://PATH or with an http.Client dialing the socket
// (see UnixClient).
func (p *Podman) Socket() string {
	p.t.Helper()
	return p.startService()
}

// DebugSocket is Socket with the service at --log-level debug, which logs
// every API call it handles ("APIHandler(ID) -- POST
// /v4.3.1/libpod/containers/create BEGIN"): ServiceLog then shows what
// reached Podman. Call it instead of Socket, before it.
func (p *Podman) DebugSocket() string {
	p.t.Helper()
	return p.startService("--log-level", "debug")
}

// ServiceLog returns what the API service wrote so far (empty before
// Socket or DebugSocket).
func (p *Podman) ServiceLog() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.service == nil {
		return ""
	}
	return p.service.out.String()
}

func (p *Podman) startService(global ...string) string {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.socket != "" {
		if len(global) > 0 && !p.debug {
			// ServiceLog would show no API call: a check that none
			// reached Podman would pass whatever did.
			p.t.Fatalf("testenv: DebugSocket after Socket: the API service already runs without --log-level debug")
		}
		return p.socket
	}
	sock := filepath.Join(p.dir, "xdg", "podman.sock")
	start := time.Now()
	name, args := p.command(append(global, "system", "service", "--time=0", "unix://"+sock)...)
	srv, err := startServer(p.t, p.env, name, args...)
	if err != nil {
		p.t.Fatalf("testenv: start podman system service: %v", err)
	}
	client := UnixClient(sock)
	err = srv.waitReady(startTimeout, func() error {
		resp, err := client.Get("http://d/_ping")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /_ping: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		p.t.Fatalf("testenv: podman system service: %v", err)
	}
	p.t.Logf("testenv: podman API on %s ready in %v", sock, time.Since(start).Round(time.Millisecond))
	p.socket = sock
	p.service, p.debug = srv, len(global) > 0
	return sock
}

// UnixClient returns an http.Client whose requests all go to the unix socket
// at path, whatever the URL's host (use e.g. "http://d/_ping").
func UnixClient(path string) *http.Client {
	c := engineapi.UnixClient(path)
	c.Timeout = 2 * time.Minute
	// No idle connection held: the servers the tests stop go at once.
	c.Transport.(*http.Transport).DisableKeepAlives = true
	return c
}

// ImportBusybox imports BusyboxRootfs as image ref, from a copy of the
// archive in the setup's directory so that a rootless podman can read it.
func (p *Podman) ImportBusybox(ref string) {
	p.t.Helper()
	dst := filepath.Join(p.dir, "busybox.tar")
	copyFile(p.t, TarDir(p.t, BusyboxRootfs(p.t)), dst, 0o644)
	p.Run("import", dst, ref)
}

// RunAsRootlessUser runs a program as RootlessUser (through setpriv)
// with the test's environment plus env, and returns its combined output.
func RunAsRootlessUser(t testing.TB, env []string, name string, args ...string) (string, error) {
	t.Helper()
	pre := rootlessAccount(t).setpriv(t)
	cmd := exec.Command(pre[0], append(append(pre[1:], name), args...)...)
	cmd.Env = append(append(filteredEnviron(), "HOME=/", "USER="+RootlessUser), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
