package cli

import (
	"encoding/json"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/finding"
)

// auditEnv makes the audit find only what the test set up: no engine
// endpoint, docker configuration or runtime directory of the machine's
// environment (a DOCKER_HOST decoy must not sway it).
func auditEnv(t *testing.T) {
	home := t.TempDir()
	for k, v := range map[string]string{"DOCKER_HOST": "", "CONTAINER_HOST": "", "DOCKER_CONTEXT": "", "DOCKER_CONFIG": "",
		"DOCKER_TLS_VERIFY": "", "DOCKER_CERT_PATH": "", "HOME": home, "XDG_RUNTIME_DIR": home} {
		t.Setenv(k, v)
	}
}

// The host group reads only this machine's kernel and accounts: no
// engine another test or the system runs can sway it.
func TestAuditHost(t *testing.T) {
	auditEnv(t)
	out, stderr, code := hull(t, "audit", "host", "-f", "json")
	if code == ExitUndecided {
		t.Fatalf("audit host: exit %d: %s", code, stderr)
	}
	var rep struct {
		Checks []struct{ ID, State, Reason string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Checks) < 8 {
		t.Fatalf("audit json: %v\n%s", err, out)
	}
	failed := false
	for _, c := range rep.Checks {
		if c.Reason == "" && c.State != "pass" {
			t.Errorf("%s: %s without a reason", c.ID, c.State)
		}
		failed = failed || c.State == "fail"
	}
	if failed != (code == ExitFail) {
		t.Errorf("exit %d with failed=%v", code, failed)
	}
	if _, stderr, code := hull(t, "audit", "kernel"); code != ExitUndecided || !strings.Contains(stderr, "host, engine, client and containers") {
		t.Errorf("audit kernel: %d %s", code, stderr)
	}
}

// The exit code is the same whatever the order of the checks: an
// undecided check (2) outranks a failed one (1), which outranks a pass.
func TestAuditExitOrderIndependent(t *testing.T) {
	sts := []finding.CheckStatus{
		{ID: "a", State: finding.StatePass}, {ID: "b", State: finding.StateFail}, {ID: "c", State: finding.StateSkip},
		{ID: "engine-query", State: finding.StateError, Reason: "could not query unix:///d.sock container x: 409"},
		{ID: "e", State: finding.StateWarn},
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 50 {
		r.Shuffle(len(sts), func(i, j int) { sts[i], sts[j] = sts[j], sts[i] })
		if got := Code(auditExit(sts)); got != ExitUndecided {
			t.Fatalf("permutation %d: exit %d, want %d", i, got, ExitUndecided)
		}
	}
	noErr := []finding.CheckStatus{{ID: "a", State: finding.StateFail}, {ID: "b", State: finding.StatePass}, {ID: "c", State: finding.StateWarn}}
	for range 10 {
		r.Shuffle(len(noErr), func(i, j int) { noErr[i], noErr[j] = noErr[j], noErr[i] })
		if got := Code(auditExit(noErr)); got != ExitFail {
			t.Fatalf("exit %d, want %d", got, ExitFail)
		}
	}
	if got := Code(auditExit([]finding.CheckStatus{{ID: "a", State: finding.StateWarn}, {ID: "b", State: finding.StateSkip}})); got != ExitPass {
		t.Errorf("warnings and skips: exit %d, want 0", got)
	}
}

// An engine the client is set to use that does not answer makes the
// audit undecided (exit 2), named in the report, whatever else failed.
func TestAuditUnansweredEngine(t *testing.T) {
	auditEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	t.Setenv("DOCKER_HOST", "tcp://"+addr)
	out, stderr, code := hull(t, "audit", "engine", "containers")
	if code != ExitUndecided || !strings.Contains(stderr, "engine-query") {
		t.Errorf("exit %d, stderr %q; want %d naming engine-query", code, stderr, ExitUndecided)
	}
	if !strings.Contains(out, "could not run: could not query tcp://"+addr+": ") {
		t.Errorf("the table does not name the engine that did not answer:\n%s", out)
	}
}

// --timeout bounds the wait for an engine that takes the connection and
// never answers, as it does for registries: the audit is undecided in
// about that time, not after a fixed 20 s.
func TestAuditTimeout(t *testing.T) {
	auditEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { <-done; c.Close() }()
		}
	}()
	t.Setenv("DOCKER_HOST", "tcp://"+l.Addr().String())
	start := time.Now()
	out, stderr, code := hull(t, "audit", "engine", "--timeout", "300ms")
	if d := time.Since(start); code != ExitUndecided || d > 5*time.Second || !strings.Contains(out, "could not query tcp://"+l.Addr().String()) {
		t.Errorf("exit %d after %s, stderr %q\n%s", code, d, stderr, out)
	}
	if _, stderr, code := hull(t, "audit", "-f", "yaml"); code != ExitUndecided || !strings.Contains(stderr, "yaml") {
		t.Errorf("an unknown format: exit %d, %s", code, stderr)
	}
}
