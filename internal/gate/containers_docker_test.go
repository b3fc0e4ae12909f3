package gate

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/verify"
	"github.com/hull-sec/hull/internal/workload"
)

// api sends one request to the API socket sock and returns the status
// and body of the answer.
func api(t *testing.T, sock, method, target string, body io.Reader) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
	defer c.CloseIdleConnections()
	req, err := http.NewRequest(method, "http://docker"+target, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// reached reports whether dockerd's log after the first n calls holds a
// call of method whose path ends in suffix.
func (e *gateEnv) reached(n int, method, suffix string) bool {
	return slices.ContainsFunc(e.calls()[n:], func(c string) bool {
		p, _, _ := strings.Cut(c, "?")
		return strings.HasPrefix(c, method+" ") && strings.HasSuffix(p, suffix)
	})
}

// refused checks that docker args through the gate failed with hull's
// refusal holding every one of want, and that no call of method ending
// in suffix reached dockerd meanwhile.
func (e *gateEnv) refused(t *testing.T, method, suffix string, want []string, args ...string) {
	t.Helper()
	n := len(e.calls())
	_, stderr, err := e.docker(args...)
	if err == nil || !strings.Contains(stderr, "hull gate: ") {
		t.Errorf("docker %s: %v, stderr %q, want hull's refusal", strings.Join(args, " "), err, stderr)
		return
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("docker %s: stderr %q, want it to say %q", strings.Join(args, " "), stderr, w)
		}
	}
	if e.reached(n, method, suffix) {
		t.Errorf("docker %s: the refused %s ...%s reached dockerd", strings.Join(args, " "), method, suffix)
	}
}

// ok runs docker args through the gate and returns its output, failing
// the test if it failed.
func (e *gateEnv) ok(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, err := e.docker(args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// direct runs docker args on the engine's own socket, past the gate.
func (e *gateEnv) direct(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, err := e.dockerAt(e.d.Socket, "", args...)
	if err != nil {
		t.Fatalf("docker %s on the engine: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(out)
}

func TestContainerOpsThroughGate(t *testing.T) {
	e := startGate(t, nil)
	work := t.TempDir()

	// docker events streams: started first, it must show what follows.
	ctx, cancel := context.WithCancel(context.Background())
	events := exec.CommandContext(ctx, "docker", "events", "--filter", "type=container", "--format", "{{.Action}}")
	events.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir, "DOCKER_HOST=unix://" + e.sock}
	evOut, err := events.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := events.Start(); err != nil {
		t.Fatal(err)
	}
	actions := make(chan string, 100)
	go func() {
		s := bufio.NewScanner(evOut)
		for s.Scan() {
			actions <- s.Text()
		}
		close(actions)
	}()
	t.Cleanup(func() { cancel(); _ = events.Wait() })

	id := strings.TrimSpace(e.ok(t, "run", "-d", "--network", "none", "--memory", "64m", "--pids-limit", "100", "busybox:gate", "sleep", "300"))
	if out := e.ok(t, "top", id); !strings.Contains(out, "sleep 300") {
		t.Errorf("docker top: %q", out)
	}
	if out := e.ok(t, "stats", "--no-stream", id); !strings.Contains(out, id[:12]) {
		t.Errorf("docker stats: %q", out)
	}
	e.ok(t, "exec", id, "touch", "/changed")
	if out := e.ok(t, "diff", id); !strings.Contains(out, "A /changed") {
		t.Errorf("docker diff: %q", out)
	}
	e.ok(t, "rename", id, "ctr")
	e.ok(t, "pause", "ctr")
	e.ok(t, "unpause", "ctr")
	e.ok(t, "restart", "-t", "1", "ctr")
	e.ok(t, "update", "--restart", "unless-stopped", "--cpu-shares", "512", "ctr")
	export := filepath.Join(work, "export.tar")
	e.ok(t, "export", "-o", export, "ctr")
	if fi, err := os.Stat(export); err != nil || fi.Size() < 100<<10 {
		t.Errorf("docker export: %v %v", fi, err)
	}
	for _, want := range []string{"create", "start", "pause", "unpause", "restart", "update"} {
		if !waitFor(actions, want) {
			t.Fatalf("docker events did not stream %q", want)
		}
	}

	t.Run("cp", func(t *testing.T) {
		in := filepath.Join(work, "in.txt")
		if err := os.WriteFile(in, []byte("copied in\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		e.ok(t, "cp", in, "ctr:/tmp/in.txt")
		if out := e.ok(t, "exec", "ctr", "cat", "/tmp/in.txt"); out != "copied in\n" {
			t.Errorf("after docker cp in: %q", out)
		}
		back := filepath.Join(work, "back.txt")
		e.ok(t, "cp", "ctr:/tmp/in.txt", back)
		if b, err := os.ReadFile(back); err != nil || string(b) != "copied in\n" {
			t.Errorf("docker cp out: %q %v", b, err)
		}
	})

	t.Run("build", func(t *testing.T) {
		dir := filepath.Join(work, "ctx")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		for name, body := range map[string]string{
			"Dockerfile": "FROM busybox:gate\nCOPY f /f\nRUN cat /f /f > /g\n",
			"f":          "from the context\n",
		} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if out := e.ok(t, "build", "-t", "built:1", dir); !strings.Contains(out, "Successfully tagged built:1") {
			t.Errorf("docker build: %q", out)
		}
		if out := e.ok(t, "run", "--rm", "--network", "none", "built:1", "cat", "/g"); out != "from the context\nfrom the context\n" {
			t.Errorf("the built image: %q", out)
		}
		e.refused(t, "POST", "/build", []string{`networkmode="host" is not allowed`}, "build", "--network", "host", dir)
		e.refused(t, "POST", "/build", []string{`cgroupparent="/" is not allowed`}, "build", "--cgroup-parent", "/", dir)
		// The CLI fetches URLs itself; other clients ask dockerd to.
		n := len(e.calls())
		if status, body := api(t, e.sock, "POST", "/build?remote=http://127.0.0.1:9/ctx.tar", nil); status != http.StatusForbidden ||
			!strings.Contains(body, `remote=\"http://127.0.0.1:9/ctx.tar\" is not allowed`) || e.reached(n, "POST", "/build") {
			t.Errorf("build from a remote context: %d %s", status, body)
		}
		// A context sent chunked, as the CLI sends it, builds.
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		df := "FROM busybox:gate\nRUN echo chunked > /c\n"
		_ = tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df))})
		_, _ = tw.Write([]byte(df))
		_ = tw.Close()
		status, body := api(t, e.sock, "POST", "/build?t=chunked:1", io.MultiReader(&buf)) // no length: chunked
		if status != http.StatusOK || !strings.Contains(body, "Successfully tagged chunked:1") {
			t.Errorf("chunked build: %d %s", status, body)
		}
		if out := e.ok(t, "history", "chunked:1"); !strings.Contains(out, "echo chunked") {
			t.Errorf("docker history: %q", out)
		}
		e.ok(t, "rmi", "chunked:1", "built:1")
		e.ok(t, "image", "prune", "-f")
		e.ok(t, "builder", "prune", "-f")
		e.ok(t, "system", "df")
	})

	t.Run("networks and volumes", func(t *testing.T) {
		e.ok(t, "network", "create", "n1")
		if out := e.ok(t, "network", "ls"); !strings.Contains(out, "n1") {
			t.Errorf("docker network ls: %q", out)
		}
		e.ok(t, "network", "inspect", "n1")
		onNet := strings.TrimSpace(e.ok(t, "run", "-d", "--network", "n1", "busybox:gate", "sleep", "300"))
		e.ok(t, "network", "disconnect", "n1", onNet)
		e.ok(t, "network", "connect", "n1", onNet)
		e.ok(t, "rm", "-f", onNet)
		e.ok(t, "network", "rm", "n1")
		e.ok(t, "network", "prune", "-f")
		e.refused(t, "POST", "/networks/create", []string{`the network driver "macvlan" is not allowed`}, "network", "create", "-d", "macvlan", "-o", "parent=lo", "mv")
		e.refused(t, "POST", "/networks/create", []string{"com.docker.network.bridge.name"}, "network", "create", "-o", "com.docker.network.bridge.name=lo", "br")

		// A network made on the engine directly on a host bridge the
		// gate would not create: not joined through the gate.
		e.direct(t, "network", "create", "-o", "com.docker.network.bridge.name=hullbr0", "hostbr")
		hostbr := []string{"the network hostbr: the network option \"com.docker.network.bridge.name\" is not allowed"}
		e.refused(t, "POST", "/containers/create", hostbr, "run", "--rm", "--network", "hostbr", "busybox:gate", "true")
		e.refused(t, "POST", "/connect", []string{"network connect: the network"}, "network", "connect", "hostbr", "ctr")
		onBr := e.direct(t, "create", "--network", "hostbr", "busybox:gate", "true")
		e.refused(t, "POST", "/start", []string{"container start: the network hostbr"}, "start", onBr)
		e.direct(t, "rm", onBr)
		e.direct(t, "network", "rm", "hostbr")

		e.ok(t, "volume", "create", "v1")
		host := filepath.Join(work, "data")
		if err := os.Mkdir(host, 0o700); err != nil {
			t.Fatal(err)
		}
		e.ok(t, "volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", "device="+host, "v2")
		if out := e.ok(t, "volume", "ls", "-q"); out != "v1\nv2\n" {
			t.Errorf("docker volume ls: %q", out)
		}
		e.ok(t, "volume", "inspect", "v2")
		e.ok(t, "run", "--rm", "--network", "none", "-v", "v2:/data", "busybox:gate", "sh", "-c", "echo through the volume > /data/f")
		if b, err := os.ReadFile(filepath.Join(host, "f")); err != nil || string(b) != "through the volume\n" {
			t.Errorf("bind volume: %q %v", b, err)
		}
		e.ok(t, "volume", "rm", "v1", "v2")
		e.ok(t, "volume", "prune", "-f")
		e.refused(t, "POST", "/volumes/create", []string{"container-sensitive-mounts (high)", "/etc"},
			"volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", "device=/etc", "etc")
		e.refused(t, "POST", "/volumes/create", []string{`of type "nfs"`},
			"volume", "create", "--opt", "type=nfs", "--opt", "o=addr=127.0.0.1", "--opt", "device=:/x", "nfs")
		e.refused(t, "POST", "/volumes/create", []string{`the volume driver "vieux/sshfs" is a plugin`}, "volume", "create", "-d", "vieux/sshfs", "ssh")

		// A volume binding /etc made by a create's --mount, or on the
		// engine directly and then named by a create.
		e.refused(t, "POST", "/containers/create", []string{"container create refused by the policy: container-sensitive-mounts (high)", "/etc"},
			"run", "--rm", "--network", "none", "--mount", "type=volume,src=sneaky,dst=/x,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/etc", "busybox:gate", "true")
		e.refused(t, "POST", "/containers/create", []string{`the volume driver "vieux/sshfs" is a plugin`},
			"run", "--rm", "--network", "none", "--volume-driver", "vieux/sshfs", "-v", "sneaky:/x", "busybox:gate", "true")
		if out := e.direct(t, "volume", "ls", "-q"); out != "" {
			t.Errorf("volumes after refused creates: %q", out)
		}
		e.direct(t, "volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", "device=/etc", "etcvol")
		e.refused(t, "POST", "/containers/create", []string{"container-sensitive-mounts", "/etc"}, "run", "--rm", "--network", "none", "-v", "etcvol:/x", "busybox:gate", "true")
		e.refused(t, "POST", "/containers/create", []string{"container-sensitive-mounts", "/etc"}, "run", "--rm", "--network", "none", "--mount", "src=etcvol,dst=/x", "busybox:gate", "true")
		withEtc := e.direct(t, "create", "--network", "none", "-v", "etcvol:/x", "busybox:gate", "true")
		e.refused(t, "POST", "/start", []string{"container start refused by the policy: container-sensitive-mounts", "/etc"}, "start", withEtc)
		e.direct(t, "rm", withEtc)
		e.direct(t, "volume", "rm", "etcvol")

		e.ok(t, "plugin", "ls")
		e.refused(t, "POST", "/plugins/pull", []string{"plugins run as root on the host"}, "plugin", "install", "--grant-all-permissions", "vieux/sshfs")
		e.refused(t, "POST", "/disable", []string{"plugin disable: plugins run as root"}, "plugin", "disable", "authz")
	})

	t.Run("made on the engine directly", func(t *testing.T) {
		// A container the gate would not create, made past it, may not
		// be started, restarted, attached, exec'd into or copied into
		// through it.
		// (A privileged container cannot start on this machine, whose
		// root lacks capabilities runc would keep: one without seccomp
		// runs.)
		priv := e.direct(t, "create", "--privileged", "--network", "none", "busybox:gate", "sleep", "300")
		want := []string{"container start refused by the policy: container-privileged (critical)"}
		e.refused(t, "POST", "/containers/"+priv+"/start", want, "start", priv)
		e.direct(t, "rm", priv)
		free := e.direct(t, "run", "-d", "--security-opt", "seccomp=unconfined", "--network", "none", "busybox:gate", "sleep", "300")
		e.refused(t, "POST", "/restart", []string{"container restart refused by the policy: container-seccomp (high)"}, "restart", free)
		e.refused(t, "POST", "/exec", []string{"exec create refused by the policy: container-seccomp"}, "exec", free, "true")
		// The CLI prints only the status of a refused attach.
		n := len(e.calls())
		if _, stderr, err := e.docker("attach", free); err == nil || !strings.Contains(stderr, "received 403") || e.reached(n, "POST", "/attach") {
			t.Errorf("docker attach: %v %s", err, stderr)
		}
		in := filepath.Join(work, "in.txt")
		e.refused(t, "PUT", "/archive", []string{"archive put refused by the policy: container-seccomp"}, "cp", in, free+":/tmp/")
		e.direct(t, "rm", "-f", free)
		// An exec the engine made privileged, started through the gate.
		status, body := api(t, e.d.Socket, "POST", "/containers/ctr/exec", strings.NewReader(`{"Cmd":["true"],"Privileged":true}`))
		if status != http.StatusCreated {
			t.Fatalf("exec create on the engine: %d %s", status, body)
		}
		execID := strings.Split(body, `"`)[3]
		n = len(e.calls())
		status, body = api(t, e.sock, "POST", "/exec/"+execID+"/start", strings.NewReader(`{"Detach":true}`))
		if status != http.StatusForbidden || !strings.Contains(body, "exec start refused by the policy: container-privileged") || e.reached(n, "POST", "/start") {
			t.Errorf("a privileged exec made on the engine started through the gate: %d %s", status, body)
		}
	})

	t.Run("updates, execs and copies by the medium rules", func(t *testing.T) {
		// A gate that fails on medium findings of the rules below and
		// ignores the rest, on the same engine.
		keep := []string{"container-memory-limit", "container-pids-limit", "container-root-user", "container-privileged"}
		ignore := map[string]string{}
		for _, r := range workload.Rules() {
			if !slices.Contains(keep, r.ID) {
				ignore[r.ID] = "not this test's"
			}
		}
		m := serveGate(t, e.d, "medium", Options{FailOn: finding.SeverityMedium, Ignore: ignore, BodyTimeout: 2 * time.Second})
		m.ok(t, "run", "-d", "--name", "limited", "--network", "none", "--user", "1000", "--memory", "64m", "--pids-limit", "100", "busybox:gate", "sleep", "300")
		m.refused(t, "POST", "/update", []string{"container update refused by the policy: container-pids-limit (medium)"}, "update", "--pids-limit", "-1", "limited")
		n := len(m.calls())
		status, body := api(t, m.sock, "POST", "/containers/limited/update", strings.NewReader(`{"Memory":-1}`))
		if status != http.StatusForbidden || !strings.Contains(body, "container-memory-limit (medium)") || m.reached(n, "POST", "/update") {
			t.Errorf("update removing the memory limit: %d %s", status, body)
		}
		m.ok(t, "update", "--memory", "128m", "--memory-swap", "256m", "--restart", "unless-stopped", "limited")
		for _, u := range []string{"0", "root", "0:0"} {
			m.refused(t, "POST", "/exec", []string{"exec create refused by the policy: container-root-user (medium)", "[exec User]"}, "exec", "-u", u, "limited", "id")
		}
		if out := m.ok(t, "exec", "limited", "id", "-u"); out != "1000\n" {
			t.Errorf("exec as the container's user: %q", out)
		}
		m.ok(t, "exec", "-u", "1000:1000", "limited", "true")
		in := filepath.Join(work, "in.txt")
		m.refused(t, "PUT", "/archive", []string{"archive put refused by the policy: container-root-user", "the engine writes as root"}, "cp", in, "limited:/tmp/")
		// A container whose settings run as root: an exec without a user
		// is root.
		rooted := strings.TrimSpace(e.ok(t, "run", "-d", "--network", "none", "--memory", "64m", "--pids-limit", "100", "busybox:gate", "sleep", "300"))
		m.refused(t, "POST", "/exec", []string{"container-root-user"}, "exec", rooted, "true")
		m.refused(t, "POST", "/restart", []string{"container restart refused by the policy: container-root-user"}, "restart", rooted)
		e.ok(t, "rm", "-f", "limited", rooted)
	})
	e.ok(t, "rm", "-f", "ctr")
	e.ok(t, "container", "prune", "-f")
}

// waitFor reads actions until want comes, for at most 10 seconds.
func waitFor(actions <-chan string, want string) bool {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case a, ok := <-actions:
			if !ok {
				return false
			}
			if a == want {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

// compose runs Debian's docker-compose (1.29, the Python one on the
// Docker SDK) in dir through the gate.
func (e *gateEnv) compose(dir string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker-compose", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir, "DOCKER_HOST=unix://" + e.sock,
		"DOCKER_CONFIG=" + filepath.Join(e.dir, "client"), "COMPOSE_INTERACTIVE_NO_CLI=1"}
	var o, er strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &er
	err := cmd.Run()
	return o.String(), er.String(), err
}

func TestComposeThroughGate(t *testing.T) {
	e := startGate(t, nil)
	dir := t.TempDir()
	write := func(body string) {
		if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "app"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app", "Dockerfile"), []byte("FROM busybox:gate\nRUN echo built by compose > /b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write(`version: "3"
services:
  web:
    image: busybox:gate
    command: sh -c "echo hello from compose; sleep 300"
    volumes: ["data:/data"]
  app:
    build: ./app
    command: sh -c "cat /b; sleep 300"
volumes:
  data: {}
`)
	for _, args := range [][]string{{"-p", "hull", "up", "-d"}, {"-p", "hull", "ps"}, {"-p", "hull", "logs"}, {"-p", "hull", "down", "-v", "-t", "1"}} {
		out, stderr, err := e.compose(dir, args...)
		// The services may not have written yet.
		for i := 0; args[2] == "logs" && err == nil && !strings.Contains(out, "built by compose") && i < 20; i++ {
			time.Sleep(250 * time.Millisecond)
			out, stderr, err = e.compose(dir, args...)
		}
		if err != nil {
			t.Fatalf("docker-compose %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		switch args[2] {
		case "ps":
			if !strings.Contains(out, "hull_web_1") || !strings.Contains(out, "Up") {
				t.Errorf("docker-compose ps: %q", out)
			}
		case "logs":
			if !strings.Contains(out, "hello from compose") || !strings.Contains(out, "built by compose") {
				t.Errorf("docker-compose logs: %q", out)
			}
		}
	}
	e.ok(t, "rmi", "hull_app")
	if out := e.ok(t, "ps", "-aq"); out != "" {
		t.Errorf("containers left after docker-compose down: %q", out)
	}
	write(`version: "3"
services:
  root:
    image: busybox:gate
    privileged: true
    command: "true"
`)
	n := creates(e.calls())
	_, stderr, err := e.compose(dir, "-p", "hull", "up", "-d")
	if err == nil || !strings.Contains(stderr, "hull gate: container create refused by the policy: container-privileged (critical)") || creates(e.calls()) != n {
		t.Errorf("docker-compose up of a privileged service: %v\n%s", err, stderr)
	}
	if _, stderr, err := e.compose(dir, "-p", "hull", "down"); err != nil {
		t.Errorf("docker-compose down: %v\n%s", err, stderr)
	}
}

// TestStartJudgesImage: with a trust policy, a container made on the
// engine directly starts through the gate only when the policy accepts
// the image it runs, and the name it was made from still names that
// image.
func TestStartJudgesImage(t *testing.T) {
	pol := filepath.Join(t.TempDir(), "hull.yaml")
	doc := "apiVersion: hull.dev/v1\ntrust:\n  default: reject\n  rules:\n    - {scope: docker.io/library/busybox, insecureAcceptAnything: true}\n"
	if err := os.WriteFile(pol, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := verify.Open(pol, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := startGate(t, v)
	good := e.direct(t, "create", "--network", "none", "busybox:gate", "true")
	e.ok(t, "start", good)

	e.direct(t, "tag", "busybox:gate", "elsewhere/app:1")
	other := e.direct(t, "create", "--network", "none", "elsewhere/app:1", "true")
	e.refused(t, "POST", "/containers/"+other+"/start", []string{"container start: ", "docker.io/elsewhere/app", "trust.default rejects"}, "start", other)
	// Created by image ID, as the gate pins its own creates: judged by
	// the names and digests the engine has for that image.
	e.direct(t, "commit", good, "elsewhere/own:1")
	otherID := e.direct(t, "image", "inspect", "--format", "{{.Id}}", "elsewhere/own:1")
	byID := e.direct(t, "create", "--network", "none", otherID, "true")
	e.refused(t, "POST", "/containers/"+byID+"/start", []string{"container start: the trust policy rejects the image " + otherID, "elsewhere/own:1"}, "start", byID)
	goodID := e.direct(t, "image", "inspect", "--format", "{{.Id}}", "busybox:gate")
	pinned := e.direct(t, "create", "--network", "none", goodID, "true")
	e.ok(t, "start", pinned)

	// An image of its own made under an accepted name, whose tag then
	// moves to the accepted image: the container still runs its own.
	e.direct(t, "commit", good, "busybox:moved")
	moved := e.direct(t, "create", "--network", "none", "busybox:moved", "true")
	e.direct(t, "tag", "busybox:gate", "busybox:moved")
	e.refused(t, "POST", "/containers/"+moved+"/start", []string{"container start: the container runs the image sha256:", "busybox:moved names sha256:"}, "start", moved)
	e.direct(t, "rm", good, other, moved, byID, pinned)
}
