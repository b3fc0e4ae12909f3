package gate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/verify"
	"github.com/hull-sec/hull/internal/workload"
)

// podmanGate is a real Podman API service (logging every API call it
// handles) behind a gate.
type podmanGate struct {
	*gateEnv
	p *testenv.Podman
}

// startPodmanGate starts a root (or, with rootless, rootless) Podman
// service with busybox as localhost/busybox:gate and the gate in front
// of it, with the trust policy v when it is not nil.
func startPodmanGate(t *testing.T, rootless bool, v ImageVerifier) *podmanGate {
	t.Helper()
	p := testenv.PodmanEnv
	if rootless {
		p = testenv.PodmanRootlessEnv
	}
	e := &podmanGate{p: p(t)}
	e.p.ImportBusybox("localhost/busybox:gate")
	engine := e.p.DebugSocket()
	e.gateEnv = &gateEnv{dir: t.TempDir()}
	e.sock = filepath.Join(e.dir, "gate.sock")
	listenGate(t, e.sock, Options{Engine: engine, FailOn: finding.SeverityHigh, BodyTimeout: 2 * time.Second, Verifier: v})
	return e
}

// podman runs podman --remote against the gate.
func (e *podmanGate) podman(stdin string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := e.podmanCmd(ctx, args...)
	var o, er strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &er
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	return o.String(), er.String(), err
}

// podmanCmd is an unstarted podman --remote command against the gate.
func (e *podmanGate) podmanCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "podman", append([]string{"--remote", "--url", "unix://" + e.sock}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir, "XDG_RUNTIME_DIR=" + e.dir,
		"XDG_CONFIG_HOME=" + filepath.Join(e.dir, "config")}
	return cmd
}

// podmanCallRE matches the access log line Podman's service writes at
// debug level for every request it handled.
var podmanCallRE = regexp.MustCompile(`"([A-Z]+) (/[^\s"]*) HTTP/1\.[01]"`)

// calls returns the API calls the Podman service logged so far.
func (e *podmanGate) calls() []string {
	var out []string
	for _, m := range podmanCallRE.FindAllStringSubmatch(e.p.ServiceLog(), -1) {
		out = append(out, m[1]+" "+m[2])
	}
	return out
}

func TestPodmanThroughGate(t *testing.T) {
	t.Run("root", func(t *testing.T) { podmanThroughGate(t, false) })
	t.Run("rootless", func(t *testing.T) { podmanThroughGate(t, true) })
}

// podmanThroughGate drives podman --remote through the gate in front of
// a root or rootless Podman service: what the container rules allow
// runs, with its output checked, and what they refuse never reaches
// Podman.
func podmanThroughGate(t *testing.T, rootless bool) {
	e := startPodmanGate(t, rootless, nil)
	out, stderr, err := e.podman("piped in\n", "run", "-i", "--rm", "--network", "none", "localhost/busybox:gate", "sh", "-c", "cat; echo hello from podman")
	if err != nil || out != "piped in\nhello from podman\n" {
		t.Fatalf("podman run -i --rm: %v\nstdout: %q\nstderr: %s\npodman: %v", err, out, stderr, e.calls())
	}
	if creates(e.calls()) != 1 {
		t.Fatalf("podman's log shows %d creates after one podman run, want 1: %v", creates(e.calls()), e.calls())
	}
	id, stderr, err := e.podman("", "run", "-d", "--network", "none", "localhost/busybox:gate", "sleep", "60")
	if err != nil {
		t.Fatalf("podman run -d: %v\n%s", err, stderr)
	}
	// A container made on Podman directly, past the gate, is judged when
	// it is started through the gate, as on Docker.
	direct := strings.TrimSpace(e.p.Run("create", "--network", "none", "--security-opt", "seccomp=unconfined", "localhost/busybox:gate", "true"))
	if _, stderr, err := e.podman("", "start", direct); err == nil || !strings.Contains(stderr, "hull gate: ") || !strings.Contains(stderr, "container-seccomp") {
		t.Errorf("podman start of a container made without seccomp on Podman directly: %v, stderr %q, want hull's refusal", err, stderr)
	}
	for _, c := range e.calls() {
		if strings.Contains(c, "/containers/"+direct) && strings.HasSuffix(strings.SplitN(c, "?", 2)[0], "/start") {
			t.Errorf("the refused start reached Podman: %s", c)
		}
	}
	id = strings.TrimSpace(id)
	if out, stderr, err := e.podman("", "exec", id, "cat", "/proc/1/cmdline"); err != nil || out != "sleep\x0060\x00" {
		t.Errorf("podman exec: %v %q %s", err, out, stderr)
	}
	if out, stderr, err := e.podman("piped in\n", "exec", "-i", id, "cat"); err != nil || out != "piped in\n" {
		t.Errorf("podman exec -i with stdin: %v %q %s", err, out, stderr)
	}
	// An exec is judged as the container with the exec's privileges and
	// user: privileged is container-privileged (critical), refused; root
	// is container-root-user (medium), below this gate's --fail-on high,
	// as the container itself (busybox runs as root) is.
	if _, stderr, err := e.podman("", "exec", "--privileged", id, "true"); err == nil ||
		!strings.Contains(stderr, "hull gate: libpod exec create refused by the policy: container-privileged") {
		t.Errorf("podman exec --privileged: %v, stderr %q, want hull's refusal", err, stderr)
	}
	for _, u := range []string{"root", "0:0"} {
		if _, stderr, err := e.podman("", "exec", "--user", u, id, "true"); err != nil {
			t.Errorf("podman exec --user %s: %v %s", u, err, stderr)
		}
	}
	for _, args := range [][]string{{"ps", "-a"}, {"images"}, {"inspect", id}, {"version"}, {"info"},
		{"logs", id}, {"container", "exists", id}, {"stop", "-t", "1", id}, {"rm", "-f", id}} {
		if _, stderr, err := e.podman("", args...); err != nil {
			t.Errorf("podman %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
	}
	follow(t, e, "logs", "-f")
	follow(t, e, "attach", "--no-stdin")

	// What everyday flags put in the spec is all known to the gate.
	ordinary := []string{"create", "--network", "none", "--env", "A=1", "--label", "l=1", "--workdir", "/tmp",
		"--hostname", "h", "--user", "1000:1000", "--read-only", "--memory", "64m", "--pids-limit", "50",
		"--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--tz", "Europe/Paris", "--init",
		"--stop-signal", "SIGINT", "--entrypoint", "sh", "--tmpfs", "/run", "--ulimit", "nofile=100:100",
		"--shm-size", "16m", "--restart", "on-failure:2", "--health-cmd", "true", "--name", "ordinary",
		"--annotation", "a=b", "--umask", "0077", "-t", "-i", "localhost/busybox:gate", "-c", "true"}
	if _, stderr, err := e.podman("", ordinary...); err != nil {
		t.Errorf("podman %s: %v\n%s", strings.Join(ordinary, " "), err, stderr)
	}
	// The fields that make Podman write or read a file of the host name
	// files of the test's own: a gate that let them through must not
	// write over the machine's (it did, as root, before it knew them).
	hostFile := filepath.Join(e.dir, "host-file")
	if err := os.WriteFile(hostFile, []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, pidFile := filepath.Join(e.dir, "log"), filepath.Join(e.dir, "pid")
	for _, c := range []struct {
		flags []string
		rule  string
	}{
		{[]string{"--privileged"}, "container-privileged"},
		{[]string{"--log-opt", "path=" + logFile}, "the field log_configuration is not allowed"},
		{[]string{"-P"}, "the field publish_image_ports is not allowed"},
		{[]string{"--tz", "../../.." + hostFile}, "the field timezone is not allowed"},
		{[]string{"--conmon-pidfile", pidFile}, "the field conmon_pid_file is not allowed"},
		{[]string{"--init", "--init-path", hostFile}, "the field init_path is not allowed"},
		{[]string{"--cap-add", "SYS_ADMIN"}, "container-capabilities"},
		{[]string{"-v", "/:/host"}, "container-sensitive-mounts"},
		{[]string{"--pid", "host"}, "container-host-pid"},
		{[]string{"--security-opt", "seccomp=unconfined"}, "container-seccomp"},
	} {
		before := creates(e.calls())
		args := append(append([]string{"run", "--rm", "--network", "none"}, c.flags...), "localhost/busybox:gate", "true")
		_, stderr, err := e.podman("", args...)
		if err == nil || !strings.Contains(stderr, "hull gate: libpod container create") || !strings.Contains(stderr, c.rule) {
			t.Errorf("podman run %s: %v, stderr %q, want hull's refusal naming %s", strings.Join(c.flags, " "), err, stderr, c.rule)
		}
		if after := creates(e.calls()); after != before {
			t.Errorf("podman run %s reached Podman's containers/create", strings.Join(c.flags, " "))
		}
	}
	for _, f := range []string{logFile, pidFile} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("Podman wrote %s", f)
		}
	}
}

// follow checks a podman command that streams what a container
// writes (logs -f, attach) through the gate: lines come as the
// container writes them, and the stream ends when the container is
// stopped (Podman 4.3 here notices a container that exits by itself
// only when asked, so a follow of one would not end). The container
// waits two seconds first, as attach shows only what comes after it.
func follow(t *testing.T, e *podmanGate, args ...string) {
	t.Helper()
	id, stderr, err := e.podman("", "run", "-d", "--network", "none", "localhost/busybox:gate", "sh", "-c", "sleep 2; echo one; echo two; sleep 1; echo three; sleep 60")
	if err != nil {
		t.Fatalf("podman run -d: %v\n%s", err, stderr)
	}
	id = strings.TrimSpace(id)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := e.podmanCmd(ctx, append(args, id)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		got.WriteString(lines.Text() + "\n")
		if lines.Text() == "three" {
			break
		}
	}
	if _, stderr, err := e.podman("", "stop", "-t", "1", id); err != nil {
		t.Errorf("podman stop: %v %s", err, stderr)
	}
	rest, _ := io.ReadAll(stdout)
	if err := cmd.Wait(); got.String()+string(rest) != "one\ntwo\nthree\n" {
		t.Errorf("podman %s: %v %q then %q", strings.Join(args, " "), err, got.String(), rest)
	}
}

// TestDockerCLIThroughGateToPodman: the docker CLI on Podman's
// Docker-compatible API behind the gate. docker run without -d waits
// forever on Podman 4.3 even without the gate (its attach never ends),
// so the output is read with docker logs.
func TestDockerCLIThroughGateToPodman(t *testing.T) {
	e := startPodmanGate(t, false, nil)
	id, stderr, err := e.docker("run", "-d", "--network", "none", "localhost/busybox:gate", "echo", "hello from docker")
	if err != nil {
		t.Fatalf("docker run -d: %v\n%s\npodman: %v", err, stderr, e.calls())
	}
	id = strings.TrimSpace(id)
	if out, stderr, err := e.docker("wait", id); err != nil || out != "0\n" {
		t.Fatalf("docker wait: %v %q %s", err, out, stderr)
	}
	if out, stderr, err := e.docker("logs", id); err != nil || out != "hello from docker\n" {
		t.Errorf("docker logs: %v %q %s", err, out, stderr)
	}
	sleeper, stderr, err := e.docker("run", "-d", "--network", "none", "localhost/busybox:gate", "sleep", "60")
	if err != nil {
		t.Fatalf("docker run -d: %v\n%s", err, stderr)
	}
	sleeper = strings.TrimSpace(sleeper)
	if out, stderr, err := e.docker("exec", sleeper, "cat", "/proc/1/cmdline"); err != nil || out != "sleep\x0060\x00" {
		t.Errorf("docker exec: %v %q %s", err, out, stderr)
	}
	if out, stderr, err := e.dockerIn("piped in\n", "exec", "-i", sleeper, "cat"); err != nil || out != "piped in\n" {
		t.Errorf("docker exec -i with stdin: %v %q %s", err, out, stderr)
	}
	if _, stderr, err := e.docker("exec", "--privileged", sleeper, "true"); err == nil || !strings.Contains(stderr, "hull gate: exec create refused by the policy: container-privileged") {
		t.Errorf("docker exec --privileged: %v %s", err, stderr)
	}
	for _, args := range [][]string{{"ps", "-a"}, {"images"}, {"inspect", id}, {"version"}, {"info"}, {"rm", id}, {"rm", "-f", sleeper}} {
		if _, stderr, err := e.docker(args...); err != nil {
			t.Errorf("docker %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
	}
	// Podman reads a log option path as the host file to write the
	// container's output to: one of the test's own, in case it is not
	// refused.
	logFile := filepath.Join(e.dir, "log")
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--privileged"}, "hull gate: container create refused by the policy: container-privileged"},
		{[]string{"-v", "/:/host"}, "hull gate: container create refused by the policy: container-sensitive-mounts"},
		{[]string{"--log-opt", "PATH=" + logFile}, "hull gate: container create: the log option PATH is not allowed"},
	} {
		before := creates(e.calls())
		_, stderr, err := e.docker(append(append([]string{"run", "-d", "--network", "none"}, c.flags...), "localhost/busybox:gate", "echo", "logged")...)
		if err == nil || !strings.Contains(stderr, c.want) {
			t.Errorf("docker run %v: %v, stderr %q, want %q", c.flags, err, stderr, c.want)
		}
		if after := creates(e.calls()); after != before {
			t.Errorf("docker run %v reached Podman's containers/create", c.flags)
		}
	}
	if _, err := os.Stat(logFile); err == nil {
		t.Errorf("Podman wrote %s", logFile)
	}
	if before := creates(e.calls()); before != 2 {
		t.Errorf("Podman's log shows %d creates, want 2: %v", before, e.calls())
	}
}

// libpodPrivileged is a libpod create spec Podman would run privileged.
const libpodPrivileged = `{"image":"localhost/busybox:gate","privileged":true,"netns":{"nsmode":"none"},"command":["true"]}`

// TestLibpodBypassCorpus sends path, version prefix, key and query
// tricks aimed at Podman's two API trees as raw HTTP to the gate in
// front of a real Podman, and checks from Podman's access log that no
// create and no pull reached it.
func TestLibpodBypassCorpus(t *testing.T) {
	e := startPodmanGate(t, false, nil)
	json := "Content-Type: application/json"
	dup := `{"image":"localhost/busybox:gate","privileged":false,"Privileged":true}`
	fold := `{"image":"localhost/busybox:gate","seccomp_profile_path":"","ſeccomp_profile_path":"unconfined"}`
	post := func(target, body string) string {
		return req("POST", target, []string{json, cl(body)}, body)
	}
	corpus := map[string]string{
		"docker version before libpod":       post("/v1.41/libpod/containers/create", libpodPrivileged),
		"libpod version before docker tree":  post("/v4.3.1/containers/create", privileged),
		"libpod then docker version":         post("/v4.3.1/v1.41/containers/create", privileged),
		"docker then libpod version":         post("/v1.41/v4.3.1/libpod/containers/create", libpodPrivileged),
		"two libpod versions":                post("/v4.3.1/v4.3.1/libpod/containers/create", libpodPrivileged),
		"version after libpod":               post("/libpod/v4.3.1/containers/create", privileged),
		"libpod twice":                       post("/v4.3.1/libpod/libpod/containers/create", libpodPrivileged),
		"empty segment after libpod":         post("/v4.3.1/libpod//containers/create", libpodPrivileged),
		"dot-dot out of libpod":              post("/libpod/../containers/create", privileged),
		"dot-dot out of versioned libpod":    post("/v4.3.1/libpod/../../v1.41/containers/create", privileged),
		"letters in the version":             post("/v4abc/libpod/containers/create", libpodPrivileged),
		"suffixed version":                   post("/v4.3.1-dev/libpod/containers/create", libpodPrivileged),
		"libpod 3 version":                   post("/v3.4.4/libpod/containers/create", libpodPrivileged),
		"two-part libpod version":            post("/v4.3/libpod/containers/create", libpodPrivileged),
		"capital libpod":                     post("/v4.3.1/Libpod/containers/create", libpodPrivileged),
		"percent-encoded libpod":             post("/v4.3.1/%6cibpod/containers/create", libpodPrivileged),
		"duplicate key, case":                post("/v4.3.1/libpod/containers/create", dup),
		"duplicate key, unicode fold":        post("/v4.3.1/libpod/containers/create", fold),
		"privileged spec":                    post("/v4.3.1/libpod/containers/create", libpodPrivileged),
		"Content-Length 0 with a spec":       req("POST", "/v4.3.1/libpod/containers/create", []string{json, "Content-Length: 0"}, libpodPrivileged),
		"chunked spec":                       req("POST", "/v4.3.1/libpod/containers/create", []string{json, "Transfer-Encoding: chunked"}, fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(libpodPrivileged), libpodPrivileged)),
		"pull with the reference twice":      req("POST", "/v4.3.1/libpod/images/pull?reference=localhost/busybox:gate&Reference=localhost/x:1", nil, ""),
		"pull without a reference":           req("POST", "/v4.3.1/libpod/images/pull?policy=always", nil, ""),
		"unknown libpod operation":           post("/v4.3.1/libpod/containers/x/update", `{}`),
		"libpod play kube":                   post("/v4.3.1/libpod/play/kube", `{}`),
		"pipelined create after exec start":  post("/v4.3.1/libpod/exec/nosuchsession/start", `{"Detach":false}`) + post("/v4.3.1/libpod/containers/create", libpodPrivileged),
		"pipelined create after raw attach":  req("POST", "/v4.3.1/libpod/containers/nosuch/attach?stream=true&stdout=true", nil, "") + post("/v4.3.1/libpod/containers/create", libpodPrivileged),
		"upgrade on a libpod create":         req("POST", "/v4.3.1/libpod/containers/create", []string{json, "Connection: Upgrade", "Upgrade: tcp", cl(libpodPrivileged)}, libpodPrivileged),
		"method override on a libpod create": req("POST", "/v4.3.1/libpod/containers/json", []string{json, "X-HTTP-Method-Override: POST", cl(libpodPrivileged)}, libpodPrivileged),
	}
	for name, raw := range corpus {
		resp := exchange(t, e.sock, raw, false)
		if !strings.Contains(resp, " 403 ") && !strings.Contains(resp, " 400 ") && !strings.Contains(resp, " 404 ") {
			t.Errorf("%s: the gate answered %q, want a refusal", name, firstLine(resp))
		}
	}
	// Podman logs a request when it is done: ask once more and wait for
	// that request's line, so every earlier one had its time to appear.
	if resp := exchange(t, e.sock, req("GET", "/v4.3.1/libpod/containers/json?all=true&marker=end", nil, ""), false); !strings.Contains(resp, " 200 ") {
		t.Fatalf("list: %q", firstLine(resp))
	}
	for i := 0; !strings.Contains(strings.Join(e.calls(), "\n"), "marker=end"); i++ {
		if i == 100 {
			t.Fatal("Podman did not log the last request")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range e.calls() {
		if strings.Contains(c, "/create") || strings.Contains(c, "/pull") || strings.Contains(c, "/update") || strings.Contains(c, "/kube") {
			t.Errorf("a request of the corpus reached Podman: %s", c)
		}
	}
}

// TestLibpodRefusalShape: a refusal reads as an error both to the
// docker CLI (message) and to Podman's bindings (cause, message,
// response).
func TestLibpodRefusalShape(t *testing.T) {
	g, _ := New(Options{Engine: "/nonexistent", FailOn: finding.SeverityHigh})
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("POST", "/v4.3.1/libpod/play/kube", nil))
	want := `{"cause":"refused by hull gate","message":"hull gate: POST /libpod/play/kube is not an operation the gate allows","response":403}` + "\n"
	if rec.Code != 403 || rec.Body.String() != want {
		t.Errorf("refusal: %d %s, want 403 %s", rec.Code, rec.Body, want)
	}
}

// TestPodmanTrustThroughGate: with a trust policy that wants a cosign
// key for a loopback registry's team/ scope, podman --remote pull and
// run of the signed image's tag through the gate reach Podman as a pull
// of the verified digest and leave the tag; the unsigned image's tag and
// a tag of a registry out of reach are refused with no pull reaching
// Podman, as is the unsigned image's digest; the unsigned image (pulled
// past the gate) and the signed image
// re-tagged to another repository are refused at create with hull's
// reason, none of those creates reaching Podman.
func TestPodmanTrustThroughGate(t *testing.T) {
	reg := testenv.Registry(t)
	priv, pub := testenv.CosignKeyPair(t)
	dir := t.TempDir()
	pol := filepath.Join(dir, "hull.yaml")
	doc := "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: " + reg + "/team\n      signers:\n        - {name: ci, cosign: {key: " + pub + "}}\n"
	if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := verify.Open(pol, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := startPodmanGate(t, false, v)
	digests := map[string]string{}
	for _, name := range []string{"signed", "unsigned"} {
		ref := reg + "/team/" + name + ":1"
		e.p.Run("tag", "localhost/busybox:gate", ref)
		file := filepath.Join(e.p.Dir(), name+".digest")
		e.p.Run("push", "--digestfile", file, ref)
		d, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		digests[name] = reg + "/team/" + name + "@" + strings.TrimSpace(string(d))
		e.p.Run("rmi", ref)
	}
	if err := testenv.CosignSign(t, priv, digests["signed"], false); err != nil {
		t.Fatal(err)
	}

	// A pull by tag reaches Podman as a pull of the verified digest, and
	// leaves the tag as a plain pull does.
	signedTag := reg + "/team/signed:1"
	if _, stderr, err := e.podman("", "pull", signedTag); err != nil {
		t.Fatalf("podman pull %s: %v %s\npodman: %v", signedTag, err, stderr, e.calls())
	}
	wantPull := "reference=" + url.QueryEscape(digests["signed"])
	if p := pulls(e.calls()); len(p) != 1 || !strings.Contains(p[0], wantPull) {
		t.Errorf("podman pull %s reached Podman as %q, want one pull with %s", signedTag, p, wantPull)
	}
	if out, stderr, err := e.podman("", "images", "--format", "{{.Repository}}:{{.Tag}}"); err != nil ||
		!slices.Contains(strings.Fields(out), signedTag) {
		t.Errorf("podman images after the pull: %v %q %s, want %s", err, out, stderr, signedTag)
	}
	if out := e.p.Run("image", "inspect", "--format", "{{.RepoDigests}}", signedTag); !strings.Contains(out, digests["signed"]) {
		t.Errorf("podman image inspect %s: %q, want the digest %s", signedTag, out, digests["signed"])
	}
	// podman run of a tag it does not have pulls it through the gate.
	e.p.Run("rmi", signedTag)
	before := len(pulls(e.calls()))
	if out, stderr, err := e.podman("", "run", "--rm", "--network", "none", signedTag, "echo", "signed tag runs"); err != nil || out != "signed tag runs\n" {
		t.Fatalf("podman run %s: %v %q\n%s\npodman: %v", signedTag, err, out, stderr, e.calls())
	}
	if p := pulls(e.calls())[before:]; len(p) != 1 || !strings.Contains(p[0], wantPull) {
		t.Errorf("podman run %s pulled %q, want one pull with %s", signedTag, p, wantPull)
	}
	// Pulls the gate cannot read one way only, around the signed tag it
	// would let through: refused, none reaching Podman.
	before = len(pulls(e.calls()))
	auth := "X-Registry-Auth: e30="
	pull := "/v4.3.1/libpod/images/pull?reference="
	for what, raw := range map[string]string{
		"X-Registry-Auth twice":         req("POST", pull+signedTag, []string{auth, auth}, ""),
		"X-Registry-Config":             req("POST", pull+signedTag, []string{"X-Registry-Config: e30="}, ""),
		"docker transport":              req("POST", pull+"docker://"+signedTag, nil, ""),
		"all tags":                      req("POST", pull+reg+"/team/signed&allTags=1", nil, ""),
		"unknown parameter":             req("POST", pull+signedTag+"&compatMode=true", nil, ""),
		"tag and digest":                req("POST", pull+signedTag+"@"+strings.TrimPrefix(digests["unsigned"], reg+"/team/unsigned@"), nil, ""),
		"reference twice, in two cases": req("POST", pull+signedTag+"&REFERENCE="+reg+"/team/unsigned:1", nil, ""),
		"policy twice, in two cases":    req("POST", pull+reg+"/team/unsigned:1&policy=never&Policy=always", nil, ""),
		"short name":                    req("POST", pull+"team/signed:1", nil, ""),
	} {
		if resp := exchange(t, e.sock, raw, false); !strings.Contains(resp, " 403 ") {
			t.Errorf("%s: the gate answered %q, want a refusal", what, firstLine(resp))
		}
	}
	gone := testenv.FreeLoopbackAddr(t) + "/team/app:1"
	for _, c := range []struct{ ref, want string }{
		{reg + "/team/unsigned:1", "hull gate: libpod image pull: the trust policy rejects " + reg + "/team/unsigned:1 (" + digests["unsigned"] + ")"},
		{digests["unsigned"], "hull gate: libpod image pull: the trust policy rejects " + digests["unsigned"]},
		{gone, "hull gate: libpod image pull: the trust policy could not decide about " + gone},
	} {
		if _, stderr, err := e.podman("", "pull", c.ref); err == nil || !strings.Contains(stderr, c.want) {
			t.Errorf("podman pull %s: %v %s, want hull's refusal saying %q", c.ref, err, stderr, c.want)
		}
		if p := pulls(e.calls())[before:]; len(p) != 0 {
			t.Errorf("podman pull %s, or a pull before it, reached Podman: %q", c.ref, p)
		}
	}
	out, stderr, err := e.podman("", "run", "--rm", "--network", "none", digests["signed"], "echo", "signed runs")
	if err != nil || out != "signed runs\n" {
		t.Fatalf("podman run %s: %v %q\n%s\npodman: %v", digests["signed"], err, out, stderr, e.calls())
	}
	// An unsigned image that arrived past the gate is refused at create.
	e.p.Run("pull", digests["unsigned"])
	e.p.Run("tag", digests["signed"], "localhost/retagged:1")
	for _, c := range []struct{ ref, want string }{
		{digests["unsigned"], "the trust policy rejects " + digests["unsigned"]},
		// Podman lists a digest under every name of the image.
		{"localhost/retagged:1", "the trust policy rejects localhost/retagged:1: localhost/retagged@sha256:"},
	} {
		before := creates(e.calls())
		_, stderr, err := e.podman("", "run", "--rm", "--pull", "never", "--network", "none", c.ref, "true")
		if err == nil || !strings.Contains(stderr, "hull gate: libpod container create: ") || !strings.Contains(stderr, c.want) {
			t.Errorf("podman run %s: %v, stderr %q, want hull's refusal saying %q", c.ref, err, stderr, c.want)
		}
		if after := creates(e.calls()); after != before {
			t.Errorf("podman run %s reached Podman's containers/create", c.ref)
		}
	}
}

// pulls returns the libpod pulls among calls.
func pulls(calls []string) []string {
	var out []string
	for _, c := range calls {
		if path, _, _ := strings.Cut(c, "?"); strings.HasSuffix(path, "/libpod/images/pull") {
			out = append(out, c)
		}
	}
	return out
}

func TestPinLibpodImage(t *testing.T) {
	id := "sha256:" + strings.Repeat("ab", 32)
	for _, body := range []string{
		`{"image":"reg/team/app:1","raw_image_name":"reg/team/app:1","user":"1000","netns":{"nsmode":"none"}}`,
		`{"Image":"reg/team/app:1","user":"1000"}`,
		`{"raw_image_name":"reg/team/app:1","user":"1000"}`,
	} {
		d := pinLibpodImage(decision{op: "libpod container create", imageID: id}, []byte(body))
		var got map[string]any
		if d.refusal != "" || json.Unmarshal(d.body, &got) != nil {
			t.Fatalf("%s: %q %s", body, d.refusal, d.body)
		}
		w, err := workload.ParseLibpodSpec(d.body)
		if err != nil || w.Image != id || w.User != "1000" {
			t.Errorf("%s pinned to %s reads as image %q user %q (%v)", body, d.body, w.Image, w.User, err)
		}
	}
	if d := pinLibpodImage(decision{op: "libpod container create"}, []byte(`{"image":"a"}`)); d.refusal == "" {
		t.Error("a create with no image ID to pin to went on")
	}
}

// staticVerifier is a trust policy that decides without a registry.
type staticVerifier struct{ accept bool }

func (s staticVerifier) Verify(context.Context, string) (finding.Verdict, error) {
	return finding.Verdict{Accepted: s.accept, Reason: "static"}, nil
}

func (s staticVerifier) Unsigned(string) finding.Verdict {
	return finding.Verdict{Accepted: s.accept, Reason: "static"}
}

// fakeRegistry answers every manifest HEAD with the digest fakeDigest,
// so a tag resolves without a registry.
type fakeRegistry struct{}

var fakeDigest = "sha256:" + strings.Repeat("cd", 32)

func (fakeRegistry) RoundTrip(r *http.Request) (*http.Response, error) {
	h := http.Header{}
	if r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/") {
		h.Set("Docker-Content-Digest", fakeDigest)
		h.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		h.Set("Content-Length", "100")
	}
	return &http.Response{StatusCode: http.StatusOK, Header: h, Body: http.NoBody, ContentLength: 0, Request: r}, nil
}

func TestLibpodPull(t *testing.T) {
	digest := "127.0.0.1:5000/team/app@sha256:" + strings.Repeat("ab", 32)
	pinned := url.QueryEscape("127.0.0.1:5000/team/app@" + fakeDigest)
	for _, c := range []struct {
		query    string
		header   string
		trust    bool
		want     string // "" for allowed
		forwards string // the query forwarded, "" for the client's
	}{
		{"reference=127.0.0.1:5000/team/app:1&policy=always", "", false, "", ""},
		{"reference=127.0.0.1:5000/team/app:1&policy=missing", "", true, "", "policy=missing&reference=" + pinned},
		// What podman --remote pull and run send.
		{"allTags=false&arch=&authfile=&os=&password=&policy=always&quiet=false&reference=127.0.0.1:5000/team/app:1&username=&variant=&tlsVerify=false",
			"e30=", true, "", "Arch=&OS=&Variant=&allTags=false&policy=always&quiet=false&reference=" + pinned + "&tlsVerify=false"},
		{"reference=127.0.0.1:5000/team/app", "", true, "", "reference=" + pinned},
		{"Reference=127.0.0.1:5000/team/app:1&ARCH=arm64", "", true, "", "Arch=arm64&reference=" + pinned},
		{"reference=" + digest, "", true, "", "reference=" + url.QueryEscape(digest)},
		{"reference=127.0.0.1:5000/team/app:1&policy=never", "", true, "", ""},
		{"reference=" + digest + "&policy=missing&alltags=false", "", true, "", "allTags=false&policy=missing&reference=" + url.QueryEscape(digest)},
		{"reference=" + digest + "&allTags=true", "", true, "a pull of all tags is not allowed", ""},
		{"reference=" + digest + "&alltags=yes", "", true, "a pull of all tags is not allowed", ""},
		{"reference=" + digest + "&compatMode=true", "", true, "the parameter compatmode is not one the gate knows", ""},
		{"reference=busybox:1", "", true, "a pull must name the registry of its image", ""},
		{"reference=team/app@" + fakeDigest, "", true, "a pull must name the registry of its image", ""},
		{"reference=docker://127.0.0.1:5000/team/app:1", "", true, "is not a reference the gate can judge", ""},
		{"reference=127.0.0.1:5000/team/app:1@" + fakeDigest, "", true, "names a tag and a digest at once", ""},
		{"reference=" + digest, "!", true, "the X-Registry-Auth header is not base64url", ""},
		{"reference=a:1&Reference=b:1", "", false, "more than once", ""},
		{"reference=a:1&reference=b:1", "", false, "more than once", ""},
		{"reference=" + digest + "&policy=never&Policy=always", "", true, "more than once", ""},
		{"policy=always", "", false, "names no reference", ""},
		{"reference=a:1;policy=never", "", false, "the query", ""},
	} {
		o := Options{Engine: "/nonexistent", FailOn: finding.SeverityHigh}
		if c.trust {
			o.Verifier = staticVerifier{accept: true}
			o.Registry.Transport = fakeRegistry{}
		}
		g, _ := New(o)
		r := httptest.NewRequest("POST", "/v4.3.1/libpod/images/pull?"+c.query, nil)
		if c.header != "" {
			r.Header.Set("X-Registry-Auth", c.header)
		}
		d := g.decide(httptest.NewRecorder(), r)
		if c.want == "" && d.refusal != "" || c.want != "" && !strings.Contains(d.refusal, c.want) {
			t.Errorf("pull ?%s (trust %v): refusal %q, want %q", c.query, c.trust, d.refusal, c.want)
		}
		if d.refusal == "" && d.query != c.forwards {
			t.Errorf("pull ?%s (trust %v) forwards ?%s, want ?%s", c.query, c.trust, d.query, c.forwards)
		}
	}
	// With the registry out of reach, a tag cannot be resolved.
	g, _ := New(Options{Engine: "/nonexistent", FailOn: finding.SeverityHigh, Verifier: staticVerifier{accept: true}})
	gone := testenv.FreeLoopbackAddr(t) + "/team/app:1"
	d := g.decide(httptest.NewRecorder(), httptest.NewRequest("POST", "/v4.3.1/libpod/images/pull?reference="+gone, nil))
	if want := "the trust policy could not decide about " + gone; !strings.Contains(d.refusal, want) {
		t.Errorf("pull of %s with the registry gone: refusal %q, want %q", gone, d.refusal, want)
	}
	r := httptest.NewRequest("POST", "/v4.3.1/libpod/images/pull?reference="+digest, nil)
	r.Header.Set("X-Registry-Config", "e30=")
	if d := g.decide(httptest.NewRecorder(), r); !strings.Contains(d.refusal, "not X-Registry-Config") {
		t.Errorf("pull with X-Registry-Config: refusal %q", d.refusal)
	}
}

// TestLibpodKeychain: of the credentials podman --remote sends, the gate
// resolves a tag with the ones Podman pulls with: one credential, or of
// a map by registry or repository, the most specific for the pull.
func TestLibpodKeychain(t *testing.T) {
	enc := func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
	repo := "reg.example:5000/team/app"
	for _, c := range []struct {
		header, user, err string
	}{
		{"", "", ""},
		{enc(`{}`), "", ""},
		{enc(`{"username":"one","password":"p"}`), "one", ""},
		{enc(`{"reg.example:5000":{"username":"host"},"other.example":{"username":"other"}}`), "host", ""},
		{enc(`{"reg.example:5000":{"username":"host"},"reg.example:5000/team":{"username":"team"}}`), "team", ""},
		{enc(`{"reg.example:5000/team/app":{"username":"app"},"reg.example:5000/team":{"username":"team"}}`), "app", ""},
		{enc(`{"https://reg.example:5000/v1/":{"username":"url"}}`), "url", ""},
		{enc(`{"reg.example:5000/te":{"username":"partial"}}`), "", ""},
		{enc(`{"other.example":{"username":"other"}}`), "", ""},
		{enc(`{"reg.example:5000":{"username":"a"},"https://reg.example:5000":{"username":"b"}}`), "", "more than once"},
		{enc(`{"reg.example:5000":{"username":"a","Username":"b"}}`), "", "twice"},
		{"!", "", "not base64url"},
	} {
		var values []string
		if c.header != "" {
			values = []string{c.header}
		}
		kc, err := libpodKeychain(values, repo)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want %q", c.header, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.header, err)
		}
		a, _ := kc.Resolve(nil)
		cfg, err := a.Authorization()
		if err != nil || cfg.Username != c.user {
			t.Errorf("%s: the gate resolves as %q (%v), want %q", c.header, cfg.Username, err, c.user)
		}
	}
}

func FuzzLibpodCreateBody(f *testing.F) {
	for _, s := range []string{libpodPrivileged, `{"image":"b","cap_add":["SYS_ADMIN"]}`, `{"image":"b","Image":"c"}`,
		`{"image":"b","mounts":[{"type":"bind","source":"/","destination":"/h"}]}`, `{"image":"b","netns":{"nsmode":"none"}}`, `[]`} {
		f.Add([]byte(s))
	}
	g, err := New(Options{Engine: "/nonexistent", FailOn: finding.SeverityHigh})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/v4.3.1/libpod/containers/create", bytes.NewReader(body))
		d := g.decide(httptest.NewRecorder(), r)
		if d.refusal != "" {
			return
		}
		if !bytes.Equal(d.body, body) || CheckJSON(body) != nil {
			t.Fatalf("forwarded %q, judged %q", d.body, body)
		}
		if _, err := workload.ParseLibpodSpec(body); err != nil {
			t.Fatalf("allowed a spec the converter refuses: %q: %v", body, err)
		}
	})
}

func TestLibpodSpecFields(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"image":"a","command":["true"],"netns":{"nsmode":"none"},"log_configuration":{"driver":"k8s-file"},"seccomp_policy":"default","timezone":"local","env_host":false,"pod":""}`, ""},
		{`{"image":"a","timezone":"Europe/Paris","conmon_pid_file":null,"storage_opts":{}}`, ""},
		{`{"image":"a","no_such_field":1}`, "the field no_such_field is not one the gate knows"},
		{`{"image":"a","log_configuration":{"path":"/etc/cron.d/x"}}`, "a log path makes Podman write"},
		{`{"image":"a","Log_Configuration":{"Path":"/etc/x"}}`, "the field log_configuration is not allowed"},
		{`{"image":"a","log_configuration":"x"}`, "the field log_configuration is not allowed"},
		{`{"image":"a","env_host":true}`, "the field env_host is not allowed"},
		{`{"image":"a","env_host":"yes"}`, "the field env_host is not allowed"},
		{`{"image":"a","publish_image_ports":true}`, "the field publish_image_ports is not allowed"},
		{`{"image":"a","seccomp_policy":"image"}`, "the field seccomp_policy is not allowed"},
		{`{"image":"a","timezone":"../../etc/shadow"}`, "the field timezone is not allowed"},
		{`{"image":"a","timezone":"/etc/shadow"}`, "the field timezone is not allowed"},
		{`{"image":"a","conmon_pid_file":"/etc/passwd"}`, "the field conmon_pid_file is not allowed"},
		{`{"image":"a","ſtorage_opts":{"size":"1G"}}`, "the field ſtorage_opts is not allowed"},
		{`{"image":"a","pod":"infra"}`, "joins a pod"},
		{`{"image":"a","init_path":"/etc/shadow"}`, "mounts a file of the host"},
		{`{"image":"a","devices_from":["x"]}`, "copies another container's devices"},
		{`{"image":"a","network_options":{"slirp4netns":["allow_host_loopback=true"]}}`, "host loopback"},
		{`{"image":"a","secrets":[{"Source":"db"}]}`, "reads a Podman secret"},
		{`{"image":"a","secret_env":{"PW":"db"}}`, "reads a Podman secret"},
		{`{"image":"a","unified":{"cgroup.procs":"1"}}`, "writes cgroup files"},
		{`{"image":"a","secrets":null,"unified":{}}`, ""},
		{`[]`, "not a JSON object"},
	} {
		err := checkSpecFields([]byte(c.body))
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.body, err, c.want)
		}
	}
}

func FuzzLibpodPullQuery(f *testing.F) {
	for _, s := range []string{"reference=a:1&policy=never", "reference=a@sha256:" + strings.Repeat("ab", 32), "Reference=a&reference=b",
		"reference=a;policy=never", "reference=%zz", "alltags=true&reference=a@sha256:" + strings.Repeat("0", 64), "ſ=1&s=2",
		"reference=127.0.0.1:5000/team/app:1&policy=missing&arch=&authfile=", "reference=localhost/a&Policy=always&tlsverify=false",
		"reference=reg.example/a@sha256:" + strings.Repeat("ab", 32) + "&username=x&retry=3"} {
		f.Add(s)
	}
	g, err := New(Options{Engine: "/nonexistent", FailOn: finding.SeverityHigh, Verifier: staticVerifier{accept: true},
		Registry: image.Options{Transport: fakeRegistry{}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest("POST", "/v4.3.1/libpod/images/pull", nil)
		r.URL.RawQuery = query
		d := g.decide(httptest.NewRecorder(), r)
		if d.refusal != "" {
			return
		}
		// What went on is one pull, read alike whatever the case of its
		// keys: by a verified digest, or never pulled.
		forwarded := query
		if d.query != "" {
			forwarded = d.query
		}
		q, err := url.ParseQuery(forwarded)
		if err != nil {
			t.Fatalf("allowed an unparsable query %q", forwarded)
		}
		var refs, policies []string
		for k, v := range q {
			switch strings.ToLower(foldKey(k)) {
			case "reference":
				refs = append(refs, v...)
			case "policy":
				policies = append(policies, v...)
			}
		}
		if len(refs) != 1 || len(policies) > 1 {
			t.Fatalf("allowed %q, forwarded %q: references %q, policies %q", query, forwarded, refs, policies)
		}
		if len(policies) == 1 && policies[0] == "never" {
			return
		}
		if d.query == "" {
			t.Fatalf("allowed %q unpinned", query)
		}
		if ref, err := name.NewDigest(refs[0]); err != nil || refs[0] != d.image || ref.String() != refs[0] {
			t.Fatalf("allowed %q: forwarded %q, verified %q", query, forwarded, d.image)
		}
	})
}
