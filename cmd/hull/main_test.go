package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptCancels runs hull verify against a registry that accepts
// connections and never answers, interrupts it, and expects the command
// to stop through its context (exit 2 and the reason), not to be killed
// by the signal or to hang.
func TestInterruptCancels(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "hull")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	policy := filepath.Join(dir, "hull.yaml")
	if err := os.WriteFile(policy, []byte("apiVersion: hull.dev/v1\ntrust:\n  default: reject\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never answered
		}
	}()
	reg := ln.Addr().String()
	cmd := exec.Command(bin, "verify", "--no-cache", "--insecure-registry", reg, "--policy", policy, reg+"/app:1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-accepted:
		defer c.Close()
		// The kernel accepts before hull has run on: wait for its request,
		// then a moment, so the signal handler (installed from a goroutine)
		// is in place however loaded the machine is.
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 512)); err != nil {
			_ = cmd.Process.Kill()
			t.Fatalf("hull sent no request: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("hull never connected to the registry")
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("hull did not stop within 10 s of SIGINT")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("after SIGINT: %v (want exit 2), stderr: %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "context canceled") {
		t.Errorf("stderr does not give the reason: %s", stderr.String())
	}
}
