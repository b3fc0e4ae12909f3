// Package testenv starts real container components for hull's integration
// tests: a Distribution registry (Debian's docker-registry), an isolated root
// podman setup (CLI and Docker-compatible API socket), skopeo, a busybox
// rootfs, and GnuPG keys with policy.json/registries.d files for containers
// "simple signing". Nothing is mocked.
//
// Every server listens on 127.0.0.1 with a free port or on a unix socket in a
// temporary directory, every subprocess is started with exec.CommandContext and
// an argument list, and everything is stopped and removed with t.Cleanup.
//
// The binaries are installed by .ci/run (Debian packages podman,
// docker-registry, skopeo, runc, uidmap, busybox-static, gnupg). When one is
// missing the helpers fail the test (they never skip) and say to run .ci/run.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// commandTimeout bounds a single CLI invocation (podman, skopeo).
const commandTimeout = 5 * time.Minute

// startTimeout bounds how long a server may take to become ready.
const startTimeout = 60 * time.Second

// packageOf maps a binary to the Debian package that provides it.
var packageOf = map[string]string{
	"podman":          "podman",
	"docker-registry": "docker-registry",
	"skopeo":          "skopeo",
	"runc":            "runc",
	"conmon":          "conmon",
	"newuidmap":       "uidmap",
	"busybox":         "busybox-static",
	"gpg":             "gnupg",
	"gpgconf":         "gnupg",
	"gpg-agent":       "gnupg",
	"dockerd":         "docker.io",
	"containerd":      "containerd",
}

// lookPath returns the absolute path of bin or fails the test with a message
// telling how to install it.
func lookPath(t testing.TB, bin string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		pkg := packageOf[bin]
		if pkg == "" {
			pkg = bin
		}
		t.Fatalf("testenv: %q not found in PATH (%v); integration tests need real components: "+
			"run .ci/run as root (or apt-get install -y %s) first", bin, err, pkg)
	}
	return p
}

// syncBuffer is a bytes.Buffer safe for concurrent writes by a subprocess
// and reads by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Keep the log bounded: a chatty server must not eat the memory.
	if s.b.Len() > 1<<20 {
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is a long-running subprocess owned by a test.
type server struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result, valid after done is closed
	cancel context.CancelFunc
}

// startServer starts name with args and env (nil: inherit) and registers a
// cleanup that stops it with SIGTERM (SIGKILL after a grace period) and waits.
func startServer(t testing.TB, env []string, name string, args ...string) (*server, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	out := &syncBuffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.Stdin = nil
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	s := &server{cmd: cmd, out: out, done: make(chan struct{}), cancel: cancel}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.stop)
	return s, nil
}

// stop terminates the server and waits for it; safe to call twice.
func (s *server) stop() {
	s.cancel()
	<-s.done
}

// exited reports whether the process has exited.
func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// waitReady polls ready until it returns nil, the process exits, or the
// timeout passes.
func (s *server) waitReady(timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if s.exited() {
			return fmt.Errorf("exited before becoming ready (%v); output:\n%s", s.err, s.out.String())
		}
		if last = ready(); last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v; output:\n%s", timeout, last, s.out.String())
		}
		select {
		case <-s.done:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// run executes a CLI command with env (nil: inherit) and returns its stdout,
// or fails the test with the command line, exit status and stderr.
func run(t testing.TB, env []string, name string, args ...string) string {
	t.Helper()
	stdout, stderr, err := runErr(env, name, args...)
	if err != nil {
		t.Fatalf("testenv: %s %s: %v\nstderr:\n%s\nstdout:\n%s",
			name, strings.Join(args, " "), err, stderr, stdout)
	}
	return stdout
}

func runErr(env []string, name string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout = &o
	cmd.Stderr = &e
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	if ctx.Err() != nil && err != nil {
		err = fmt.Errorf("%w (timed out after %v)", err, commandTimeout)
	}
	return o.String(), e.String(), err
}

// shortTmpRoot returns the directory for temporary directories that hold
// unix sockets: os.TempDir() when short, else /tmp.
func shortTmpRoot() string {
	if d := os.TempDir(); len(d) < 40 {
		return d
	}
	return "/tmp"
}
