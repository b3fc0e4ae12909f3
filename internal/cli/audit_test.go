package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAuditHost(t *testing.T) {
	out, stderr, code := hull(t, "audit", "-f", "json")
	if code == ExitUndecided {
		t.Fatalf("audit host: exit %d: %s", code, stderr)
	}
	var rep struct {
		Checks []struct{ ID, State, Reason string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Checks) < 12 {
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
