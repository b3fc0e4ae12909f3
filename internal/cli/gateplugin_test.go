package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGatePlugin runs hull gate plugin on a socket of its own with a
// policy that ignores a rule, and speaks dockerd's side of the plugin
// protocol to it: activation says authz, a create the policy lets through
// is allowed, a privileged one denied, and the log records both.
func TestGatePlugin(t *testing.T) {
	if _, stderr, code := hull(t, "gate", "plugin", "--name", "../x"); code != ExitUndecided || !strings.Contains(stderr, "--name") {
		t.Errorf("--name ../x: exit %d\n%s", code, stderr)
	}
	dir := t.TempDir()
	pol, sock, logf := filepath.Join(dir, "hull.yaml"), filepath.Join(dir, "p.sock"), filepath.Join(dir, "decisions.jsonl")
	doc := "apiVersion: hull.dev/v1\nworkload:\n  ignore:\n    - id: container-host-pid\n      reason: the debug tools\n"
	if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	stop := startHull(t, "gate", "plugin", "--socket", sock, "--engine", filepath.Join(dir, "none.sock"), "--policy", pol, "--log", logf)
	waitUnix(t, sock, stop)
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("plugin socket: %v %v, want mode 0600", fi.Mode(), err)
	}
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	post := func(path string, v any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(v)
		req, _ := http.NewRequest("POST", "http://plugin"+path, bytes.NewReader(b))
		req.Header.Set("Accept", "application/vnd.docker.plugins.v1.2+json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, err)
		}
		return m
	}
	if m := post("/Plugin.Activate", nil); len(m["Implements"].([]any)) != 1 || m["Implements"].([]any)[0] != "authz" {
		t.Errorf("activate: %v", m)
	}
	create := func(hostConfig string) map[string]any {
		body := `{"Image":"busybox","User":"1000","HostConfig":{"NetworkMode":"none","Memory":1000000,"PidsLimit":10,"SecurityOpt":["no-new-privileges"]` + hostConfig + `}}`
		return post("/AuthZPlugin.AuthZReq", map[string]any{"RequestMethod": "POST", "RequestUri": "/v1.41/containers/create",
			"RequestHeaders": map[string]string{"Content-Type": "application/json"}, "RequestBody": []byte(body)})
	}
	if m := create(`,"PidMode":"host"`); m["Allow"] != true {
		t.Errorf("a create with --pid host, whose rule the policy ignores: %v", m)
	}
	if m := create(`,"Privileged":true`); m["Allow"] != false || !strings.Contains(m["Msg"].(string), "container create refused by the policy: container-privileged") {
		t.Errorf("a privileged create: %v", m)
	}
	if err := stop(); err != nil {
		t.Errorf("hull gate plugin after its context ended: %v", err)
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("the socket is left behind")
	}
	b, err := os.ReadFile(logf)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 2 ||
		!strings.Contains(lines[0], `"verdict":"allowed"`) || !strings.Contains(lines[1], `"verdict":"refused"`) || !strings.Contains(lines[1], `"operation":"container create"`) {
		t.Errorf("decision log: %s", b)
	}
}
