package gate

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/verify"
)

// pluginEnv is a real dockerd started with --authorization-plugin naming
// a hull plugin of a name unique to the test, in PluginDir.
type pluginEnv struct {
	d          *testenv.Dockerd
	name, sock string
	h          http.Handler
	// setup, while true, allows every request (the harness imports and
	// tags its images, which the allowlist does not allow).
	setup atomic.Bool
	// stop stops the plugin; nil when it is not running.
	stop func()
}

// startPluginEnv starts the plugin (with the trust policy v unless nil)
// and then dockerd, which checks at start that the plugin answers, with
// busybox:gate imported and the images in tags tagged from it.
func startPluginEnv(t *testing.T, v ImageVerifier, tags ...string) *pluginEnv {
	t.Helper()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	e := &pluginEnv{name: "hull-test-" + hex.EncodeToString(rnd[:])}
	sock, err := PluginSocket(e.name)
	if err != nil {
		t.Fatal(err)
	}
	e.sock = sock
	// The plugin asks dockerd about images on a socket of dockerd's own.
	engine := filepath.Join(t.TempDir(), "engine.sock")
	p, err := NewPlugin(Options{Engine: engine, FailOn: finding.SeverityHigh, Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	e.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.setup.Load() && r.URL.Path == "/AuthZPlugin.AuthZReq" {
			_, _ = io.Copy(io.Discard, r.Body)
			writePlugin(w, http.StatusOK, AuthZResponse{Allow: true})
			return
		}
		p.ServeHTTP(w, r)
	})
	e.setup.Store(true)
	// Registered before dockerd's: the plugin outlives dockerd's cleanup,
	// which lists and removes containers through it.
	t.Cleanup(func() {
		if e.stop != nil {
			e.stop()
		}
		_ = os.Remove(e.sock)
	})
	e.startPlugin(t)
	e.d = testenv.StartDockerd(t, "--authorization-plugin="+e.name, "-H", "unix://"+engine)
	e.d.BusyboxImage(t, "busybox:gate")
	for _, tag := range tags {
		e.d.Docker(t, "tag", "busybox:gate", tag)
	}
	e.setup.Store(false)
	return e
}

// startPlugin serves the plugin on its socket in PluginDir.
func (e *pluginEnv) startPlugin(t *testing.T) {
	t.Helper()
	if _, err := os.Lstat(e.sock); err == nil {
		t.Fatalf("%s exists already", e.sock)
	}
	if err := os.MkdirAll(PluginDir, 0o755); err != nil {
		t.Fatal(err)
	}
	stop := serveInBackground(t, "plugin", func(ctx context.Context) error {
		return serve(ctx, Listen{Path: e.sock, Mode: 0o600, GID: -1}, nil, e.h)
	}, "unix", e.sock)
	e.stop = func() {
		stop()
		e.stop = nil
	}
}

// docker runs the docker CLI against dockerd itself.
func (e *pluginEnv) docker(args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.d.Dir,
		"DOCKER_HOST=unix://" + e.d.Socket, "DOCKER_CONFIG=" + filepath.Join(e.d.Dir, "client")}
	var o, er strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &er
	err := cmd.Run()
	return o.String(), er.String(), err
}

// containers returns the IDs of every container dockerd has.
func (e *pluginEnv) containers(t *testing.T) []string {
	t.Helper()
	out, stderr, err := e.docker("ps", "-aq")
	if err != nil {
		t.Fatalf("docker ps -aq: %v\n%s", err, stderr)
	}
	return strings.Fields(out)
}

// send writes raw to dockerd's socket and returns the first response's
// status code and body.
func (e *pluginEnv) send(t *testing.T, raw string) (int, string) {
	t.Helper()
	c, err := net.Dial("unix", e.d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read dockerd's answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// trustPolicy accepts images no rule scopes, unsigned too, and wants a
// cosign signature for docker.io/library/untrusted.
func trustPolicy(t *testing.T) ImageVerifier {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pub, pol := filepath.Join(dir, "cosign.pub"), filepath.Join(dir, "hull.yaml")
	doc := "apiVersion: hull.dev/v1\ntrust:\n  default: insecureAcceptAnything\n  rules:\n    - scope: docker.io/library/untrusted\n      signers:\n        - {name: ci, cosign: {key: " + pub + "}}\n"
	if err := errors.Join(os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600),
		os.WriteFile(pol, []byte(doc), 0o600)); err != nil {
		t.Fatal(err)
	}
	v, err := verify.Open(pol, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPluginWithDockerd: a real dockerd asks the hull plugin about every
// request. The docker CLI runs a plain container; a privileged one, an
// image the trust policy rejects (the plugin asks dockerd about the image
// while dockerd waits for its answer) and a create whose body dockerd
// does not send the plugin are denied with the plugin's message; raw
// creates whose body dockerd does not send (CVE-2024-41110's Content-Length
// 0, chunked, not JSON) are denied and create nothing; with the plugin
// down, dockerd itself refuses.
func TestPluginWithDockerd(t *testing.T) {
	e := startPluginEnv(t, trustPolicy(t), "untrusted:gate")
	denied := "Error response from daemon: authorization denied by plugin " + e.name + ": "

	start := time.Now()
	out, stderr, err := e.docker("run", "--rm", "--network", "none", "busybox:gate", "echo", "hello from busybox")
	if err != nil || out != "hello from busybox\n" {
		t.Fatalf("docker run: %v %q\n%s\n%s", err, out, stderr, e.d.Log())
	}
	t.Logf("docker run with the plugin asking dockerd about the image: %v", time.Since(start))

	big := filepath.Join(t.TempDir(), "labels")
	var labels strings.Builder
	for i := range 1500 {
		fmt.Fprintf(&labels, "l%d=%s\n", i, strings.Repeat("x", 1000))
	}
	if err := os.WriteFile(big, []byte(labels.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		// want follows the denial; also is said after it.
		want, also string
	}{
		{"privileged", []string{"--privileged", "busybox:gate"}, "container create refused by the policy: container-privileged (critical)", ""},
		{"untrusted image", []string{"untrusted:gate"}, "container create: the image untrusted:gate (sha256:", "rule docker.io/library/untrusted requires signatures"},
		{"missing image", []string{"missing:1"}, "container create: ", "missing:1: pull it first (docker pull), then create"},
		// Debian's dockerd sends no body of 1 MiB or more, Docker 27 and
		// later none over 4 MiB; the gate reads at most 1 MiB.
		{"body not sent", []string{"--label-file", big, "busybox:gate"}, "container create: ", "hull gate serve"},
	} {
		_, stderr, err := e.docker(append([]string{"run", "--rm", "--network", "none"}, append(c.args, "true")...)...)
		t.Logf("docker run %s: %s", c.name, strings.TrimSpace(stderr))
		if err == nil || !strings.Contains(stderr, denied+c.want) || !strings.Contains(stderr, c.also) {
			t.Errorf("docker run %s: %v, stderr %q, want %q then %q", c.name, err, stderr, denied+c.want, c.also)
		}
	}

	// With a trust policy the plugin resolves a pull's tag first: a
	// registry it cannot reach is denied, not passed.
	if _, stderr, err := e.docker("pull", "127.0.0.1:1/x:1"); err == nil || !strings.Contains(stderr, denied+"image pull: the trust policy could not decide about 127.0.0.1:1/x:1") {
		t.Errorf("docker pull: %v %q, want the plugin's denial for an unreachable registry", err, stderr)
	}

	json := "Content-Type: application/json"
	form := "Content-Type: application/x-www-form-urlencoded"
	importForm := "fromImage=&fromSrc=http://127.0.0.1:1/x.tar&repo=imported"
	chunk := func(s string) string { return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(s), s) }
	for name, raw := range map[string]string{
		"CVE-2024-41110 Content-Length 0 with a body": req("POST", "/v1.41/containers/create", []string{json, "Content-Length: 0"}, privileged),
		"chunked":                req("POST", "/v1.41/containers/create", []string{json, "Transfer-Encoding: chunked"}, fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(privileged), privileged)),
		"chunked and length 0":   req("POST", "/v1.41/containers/create", []string{json, "Transfer-Encoding: chunked", "Content-Length: 0"}, fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(privileged), privileged)),
		"JSON body sent as text": req("POST", "/v1.41/containers/create", []string{"Content-Type: text/plain", cl(privileged)}, privileged),
		"no Content-Type":        req("POST", "/v1.41/containers/create", []string{cl(privileged)}, privileged),
		// dockerd reads a POST's parameters from a form body before its
		// query: a chunked one the plugin never sees would make this pull
		// an import from a URL.
		"pull with a chunked form body":                           req("POST", "/v1.41/images/create?fromImage=busybox&tag=gate", []string{form, "Transfer-Encoding: chunked"}, chunk(importForm)),
		"pull with a chunked form body and a second Content-Type": req("POST", "/v1.41/images/create?fromImage=busybox&tag=gate", []string{form, "Content-Type: text/plain", "Transfer-Encoding: chunked"}, chunk(importForm)),
		"pull with a form body":                                   req("POST", "/v1.41/images/create?fromImage=busybox&tag=gate", []string{form, cl(importForm)}, importForm),
		"JSON with a media suffix":                                req("POST", "/v1.41/containers/create", []string{"Content-Type: application/json+x", cl(privileged)}, privileged),
	} {
		code, body := e.send(t, raw)
		t.Logf("%s: %d %s", name, code, strings.TrimSpace(body))
		if code != http.StatusForbidden || !strings.Contains(body, "authorization denied by plugin "+e.name+": ") {
			t.Errorf("%s: dockerd answered %d %s, want the plugin's denial", name, code, body)
		}
	}
	if ids := e.containers(t); len(ids) != 0 {
		t.Errorf("dockerd has containers %v after the denials", ids)
	}

	// The plugin down: dockerd retries it for about 15 s, then refuses.
	e.stop()
	create := `{"Image":"busybox:gate","HostConfig":{"NetworkMode":"none"}}`
	code, body := e.send(t, req("POST", "/v1.41/containers/create", []string{json, cl(create)}, create))
	t.Logf("the plugin down: %d %s", code, strings.TrimSpace(body))
	if code < 400 || !strings.Contains(body, "plugin "+e.name+" failed with error") {
		t.Errorf("with the plugin down, dockerd answered %d %s, want a refusal", code, body)
	}
	e.startPlugin(t)
	if ids := e.containers(t); len(ids) != 0 {
		t.Errorf("dockerd created %v while the plugin was down", ids)
	}
}
