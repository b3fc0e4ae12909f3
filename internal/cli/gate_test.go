package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/testenv"
)

// startHull runs hull with args in the background; the stop it returns
// ends the command's context and returns what the command returned.
func startHull(t *testing.T, args ...string) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		root := NewRoot(BuildInfo{Version: "test"}, nil)
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(args)
		done <- root.ExecuteContext(ctx)
	}()
	return sync.OnceValue(func() error {
		cancel()
		return <-done
	})
}

// waitUnix waits up to 5s for something to listen on the Unix socket
// sock, else stops hull and fails the test with what it returned.
func waitUnix(t *testing.T, sock string, stop func() error) {
	t.Helper()
	for i := 0; ; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return
		}
		if i == 100 {
			t.Fatalf("hull did not listen on %s: %v", sock, stop())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestGateServeRefusesDeadEngine(t *testing.T) {
	dir := t.TempDir()
	_, stderr, code := hull(t, "gate", "serve", "--listen", filepath.Join(dir, "g.sock"), "--engine", filepath.Join(dir, "none.sock"))
	if code != ExitUndecided || !strings.Contains(stderr, "does not answer") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "g.sock")); err == nil {
		t.Error("the gate listened although the engine is down")
	}
	_, stderr, code = hull(t, "gate", "serve", "--listen", filepath.Join(dir, "g.sock"), "--socket-mode", "999")
	if code != ExitUndecided || !strings.Contains(stderr, "--socket-mode") {
		t.Errorf("bad mode: exit %d\n%s", code, stderr)
	}
}

// TestGateServe runs hull gate serve with a policy that ignores a rule
// and has a trust section in front of a real dockerd: the docker CLI runs
// what the policy lets through (a signed image from a loopback registry,
// verified by digest), is refused the rest, and the log names the client
// and the verified digest.
func TestGateServe(t *testing.T) {
	reg := testenv.Registry(t)
	priv, pub := testenv.CosignKeyPair(t)
	d := testenv.StartDockerd(t)
	d.BusyboxImage(t, "busybox:gate")
	signed := reg + "/team/signed:1"
	d.BusyboxImage(t, signed)
	d.Docker(t, "push", "-q", signed)
	digest := strings.TrimSpace(d.Docker(t, "inspect", "--format", "{{index .RepoDigests 0}}", signed))
	if err := testenv.CosignSign(t, priv, digest, false); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(d.Dir, "gatecli")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "hull.yaml")
	doc := "apiVersion: hull.dev/v1\nworkload:\n  ignore:\n    - id: container-host-pid\n      reason: the debug tools\n" +
		"trust:\n  default: insecureAcceptAnything\n  rules:\n    - scope: " + reg + "/team\n      signers:\n        - {name: ci, cosign: {key: " + pub + "}}\n"
	if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	sock, logf := filepath.Join(dir, "gate.sock"), filepath.Join(dir, "decisions.jsonl")
	stop := startHull(t, "gate", "serve", "--listen", sock, "--engine", d.Socket, "--policy", pol, "--log", logf, "--socket-mode", "0660", "--socket-group", "nogroup")
	waitUnix(t, sock, stop)
	nogroup, err := user.LookupGroup("nogroup")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if gid := fi.Sys().(*syscall.Stat_t).Gid; fi.Mode().Perm() != 0o660 || strconv.Itoa(int(gid)) != nogroup.Gid {
		t.Errorf("socket mode %v, group %d; want 0660 and nogroup (%s)", fi.Mode(), gid, nogroup.Gid)
	}
	docker := func(args ...string) (string, error) {
		cmd := exec.Command("docker", args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "DOCKER_HOST=unix://" + sock, "DOCKER_CONFIG=" + filepath.Join(dir, "client")}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := docker("run", "--rm", "--network", "none", "--pid", "host", "busybox:gate", "echo", "ok"); err != nil || out != "ok\n" {
		t.Errorf("--pid host with the rule ignored: %v %q", err, out)
	}
	if out, err := docker("run", "--rm", "--network", "none", signed, "echo", "signed"); err != nil || out != "signed\n" {
		t.Errorf("docker run of the signed image: %v %q", err, out)
	}
	if out, err := docker("run", "--rm", "--network", "none", "--privileged", "busybox:gate", "true"); err == nil || !strings.Contains(out, "hull gate: container create refused by the policy: container-privileged") {
		t.Errorf("--privileged: %v %q", err, out)
	}
	if err := stop(); err != nil {
		t.Errorf("hull gate serve after its context ended: %v", err)
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("the socket is left behind")
	}
	b, err := os.ReadFile(logf)
	if err != nil {
		t.Fatal(err)
	}
	// The create and the start of the signed image each log the
	// verified digest.
	refused, verified := 0, map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec struct {
			UID     *int     `json:"uid"`
			Verdict string   `json:"verdict"`
			Rules   []string `json:"rules"`
			Method  string   `json:"method"`
			Image   string   `json:"image"`
			ImageID string   `json:"image_id"`
			Op      string   `json:"operation"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.UID == nil || *rec.UID != os.Getuid() || rec.Method == "" {
			t.Errorf("decision line %q: %v", line, err)
		}
		if rec.Image != "" {
			verified[rec.Op]++
			if rec.Image != digest || !strings.HasPrefix(rec.ImageID, "sha256:") {
				t.Errorf("decision line %q: want image %s and its image ID", line, digest)
			}
		}
		if rec.Verdict == "refused" {
			refused++
			if len(rec.Rules) == 0 || rec.Rules[0] != "container-privileged" {
				t.Errorf("refusal without its rule: %s", line)
			}
		}
	}
	if verified["container create"] != 1 || verified["container start"] != 1 || len(verified) != 2 {
		t.Errorf("%v logged a verified digest, want one create and one start:\n%s", verified, b)
	}
	if refused != 1 {
		t.Errorf("%d refusals logged, want 1:\n%s", refused, b)
	}
}
