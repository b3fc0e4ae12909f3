package testenv

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Dockerd is a real dockerd (Debian's docker.io) the test started: its own
// data and exec roots, a unix socket, no network setup (no iptables, no
// bridge), the vfs storage driver, as ../shared/machine-recipes.md says
// it runs here.
type Dockerd struct {
	Socket string
	Dir    string
	log    string
}

// Log returns what dockerd wrote, for failure messages.
func (d *Dockerd) Log() string {
	b, _ := os.ReadFile(d.log)
	return string(b)
}

// StartDockerd starts dockerd with extra flags (say, -H tcp://... with
// --tlsverify and certificates) besides its unix socket, waits until the
// socket answers /_ping, and stops it and everything it started when the
// test ends.
func StartDockerd(t testing.TB, extra ...string) *Dockerd {
	t.Helper()
	return startDockerd(t, nil, extra...)
}

// rootlessScript is Debian's docker.io wrapper that starts dockerd under
// rootlesskit.
const rootlessScript = "/usr/share/docker.io/contrib/dockerd-rootless.sh"

// StartRootlessDockerd is StartDockerd for a rootless dockerd: Debian's
// dockerd-rootless.sh (rootlesskit with the host network and no port
// driver, as the machine recipes say) run as RootlessUser through
// setpriv, with HOME and XDG_RUNTIME_DIR in its own directory.
func StartRootlessDockerd(t testing.TB, extra ...string) *Dockerd {
	t.Helper()
	lookPath(t, "rootlesskit")
	if _, err := os.Stat(rootlessScript); err != nil {
		t.Fatalf("testenv: %v (apt-get install -y docker.io rootlesskit)", err)
	}
	return startDockerd(t, rootlessAccount(t), extra...)
}

func startDockerd(t testing.TB, as *account, extra ...string) *Dockerd {
	t.Helper()
	bin := lookPath(t, "dockerd")
	lookPath(t, "containerd")
	dir, err := os.MkdirTemp(shortTmpRoot(), "hull-dockerd-")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	// Others may traverse (not list) it: with --userns-remap the remapped
	// root must reach its data directory below.
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	d := &Dockerd{Socket: filepath.Join(dir, "docker.sock"), Dir: dir, log: filepath.Join(dir, "dockerd.log")}
	logf, err := os.Create(d.log)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	args := append([]string{
		"--data-root", filepath.Join(dir, "data"), "--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"), "-H", "unix://" + d.Socket,
		"--storage-driver=vfs", "--iptables=false", "--ip6tables=false", "--bridge=none",
		"--default-ulimit", "nofile=20000:20000", "--containerd-namespace", "hull-" + filepath.Base(dir),
	}, extra...)
	env := append(filteredEnviron(), "DOCKER_CONFIG="+filepath.Join(dir, "client"))
	if as != nil {
		home, xdg := filepath.Join(dir, "home"), filepath.Join(dir, "xdg")
		for _, sub := range []string{home, xdg} {
			if err := os.Mkdir(sub, 0o700); err != nil {
				t.Fatalf("testenv: %v", err)
			}
		}
		for _, p := range []string{dir, home, xdg, d.log} {
			if err := os.Chown(p, as.uid, as.gid); err != nil {
				t.Fatalf("testenv: %v", err)
			}
		}
		env = append(env, "HOME="+home, "XDG_RUNTIME_DIR="+xdg, "USER="+RootlessUser,
			"DOCKERD_ROOTLESS_ROOTLESSKIT_NET=host", "DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=none",
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
		pre := as.setpriv(t)
		bin, args = pre[0], append(append(pre[1:], rootlessScript), args...)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: start dockerd: %v", err)
	}
	// exited is closed when dockerd is gone, waitErr says how.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); logf.Close(); close(exited) }()
	t.Cleanup(func() {
		// Containers outlive a dockerd with --live-restore (and the
		// process group): remove them while it still answers.
		if docker, err := exec.LookPath("docker"); err == nil {
			if ids, _, err := runErr(d.clientEnv(), docker, "ps", "-aq"); err == nil && strings.TrimSpace(ids) != "" {
				if _, stderr, err := runErr(d.clientEnv(), docker, append([]string{"rm", "-f"}, strings.Fields(ids)...)...); err != nil {
					t.Logf("testenv: docker rm -f at cleanup: %v: %s", err, stderr)
				}
			}
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		stopProcessesUsing(t, dir, 5*time.Second)
		unmountUnder(t, dir)
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("testenv: remove dockerd dir: %v", err)
		}
	})
	client := UnixClient(d.Socket)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("testenv: dockerd exited: %v\n%s", waitErr, d.Log())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
		resp, err := client.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Logf("testenv: dockerd on %s", d.Socket)
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: dockerd did not answer /_ping in 60 s (%v)\n%s", err, tail(d.Log(), 3000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// FreeLoopbackAddr returns "127.0.0.1:PORT" with a port free just now.
func FreeLoopbackAddr(t testing.TB) string {
	t.Helper()
	addr, err := freeAddr()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return addr
}

// Docker runs Debian's docker client against this dockerd and returns
// what it printed; the test fails if the command does.
func (d *Dockerd) Docker(t testing.TB, args ...string) string {
	t.Helper()
	return run(t, d.clientEnv(), lookPath(t, "docker"), args...)
}

// clientEnv is the docker client's environment for this dockerd.
func (d *Dockerd) clientEnv() []string {
	return append(filteredEnviron(), "DOCKER_HOST=unix://"+d.Socket, "DOCKER_CONFIG="+filepath.Join(d.Dir, "client"))
}

// BusyboxImage imports BusyboxRootfs into this dockerd as ref.
func (d *Dockerd) BusyboxImage(t testing.TB, ref string) {
	t.Helper()
	d.Docker(t, "import", TarDir(t, BusyboxRootfs(t)), ref)
}
