package gate

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/testenv"
)

// gateEnv is a real dockerd (logging every API call) behind a gate.
type gateEnv struct {
	d    *testenv.Dockerd
	sock string
	dir  string
}

// startGate starts dockerd and the gate in front of it, with the trust
// policy v when it is not nil.
func startGate(t *testing.T, v ImageVerifier) *gateEnv {
	t.Helper()
	d := testenv.StartDockerd(t, "--log-level", "debug")
	d.BusyboxImage(t, "busybox:gate")
	return serveGate(t, d, "gate", Options{FailOn: finding.SeverityHigh, BodyTimeout: 2 * time.Second, Verifier: v})
}

// serveGate serves a gate with o in front of d, its socket and the
// client's files in d's directory dir.
func serveGate(t *testing.T, d *testenv.Dockerd, dir string, o Options) *gateEnv {
	t.Helper()
	dir = filepath.Join(d.Dir, dir)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	e := &gateEnv{d: d, sock: filepath.Join(dir, "gate.sock"), dir: dir}
	o.Engine = d.Socket
	listenGate(t, e.sock, o)
	if fi, err := os.Stat(e.sock); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("gate socket mode: %v %v", fi.Mode(), err)
	}
	return e
}

// listenGate serves the gate with o on the unix socket sock until the
// test ends, and waits until it listens.
func listenGate(t *testing.T, sock string, o Options) {
	t.Helper()
	t.Cleanup(serveInBackground(t, "gate", func(ctx context.Context) error {
		return Serve(ctx, Listen{Path: sock, Mode: 0o660, GID: -1}, o)
	}, "unix", sock))
}

// serveInBackground runs serve (the server named what) until the stop it
// returns cancels its context and reports its error, and waits until
// each address of dial (network, address, ...) accepts a connection.
func serveInBackground(t *testing.T, what string, serve func(context.Context) error, dial ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	for i := 0; ; i++ {
		var err error
		for j := 0; j+1 < len(dial) && err == nil; j += 2 {
			var c net.Conn
			if c, err = net.Dial(dial[j], dial[j+1]); err == nil {
				c.Close()
			}
		}
		if err == nil {
			return stop
		}
		if i == 100 {
			stop()
			t.Fatalf("the %s did not listen: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// docker runs Debian's docker CLI against the gate.
func (e *gateEnv) docker(args ...string) (string, string, error) {
	return e.dockerIn("", args...)
}

// dockerIn is docker with stdin as the CLI's standard input.
func (e *gateEnv) dockerIn(stdin string, args ...string) (string, string, error) {
	return e.dockerAt(e.sock, stdin, args...)
}

// dockerAt runs the docker CLI against the socket sock (the gate's, or
// the engine's own to do what the gate would refuse).
func (e *gateEnv) dockerAt(sock, stdin string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir, "DOCKER_BUILDKIT=0",
		"DOCKER_HOST=unix://" + sock, "DOCKER_CONFIG=" + filepath.Join(e.dir, "client")}
	var o, er strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &er
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	return o.String(), er.String(), err
}

var callRE = regexp.MustCompile(`Calling ([A-Z]+) ([^\s"]+)`)

// calls returns the API calls dockerd logged so far.
func (e *gateEnv) calls() []string {
	var out []string
	for _, m := range callRE.FindAllStringSubmatch(e.d.Log(), -1) {
		out = append(out, m[1]+" "+m[2])
	}
	return out
}

func TestDockerThroughGate(t *testing.T) {
	e := startGate(t, nil)
	out, stderr, err := e.docker("run", "--rm", "--network", "none", "busybox:gate", "echo", "hello from busybox")
	if err != nil || out != "hello from busybox\n" {
		t.Fatalf("docker run --rm: %v\nstdout: %q\nstderr: %s\ndockerd: %v", err, out, stderr, e.calls())
	}
	if creates(e.calls()) != 1 {
		t.Fatalf("dockerd's log shows %d creates after one docker run, want 1: %v", creates(e.calls()), e.calls())
	}
	if out, stderr, err := e.dockerIn("piped in\n", "run", "-i", "--rm", "--network", "none", "busybox:gate", "cat"); err != nil || out != "piped in\n" {
		t.Fatalf("docker run -i with stdin: %v %q %s", err, out, stderr)
	}
	id, stderr, err := e.docker("run", "-d", "--network", "none", "busybox:gate", "sh", "-c", "echo one; echo two; sleep 1; echo three")
	if err != nil {
		t.Fatalf("docker run -d: %v\n%s", err, stderr)
	}
	id = strings.TrimSpace(id)
	if out, stderr, err := e.docker("logs", "-f", id); err != nil || out != "one\ntwo\nthree\n" {
		t.Fatalf("docker logs -f: %v %q %s", err, out, stderr)
	}
	id2, _, err := e.docker("run", "-d", "--network", "none", "busybox:gate", "sleep", "60")
	if err != nil {
		t.Fatal(err)
	}
	id2 = strings.TrimSpace(id2)
	if out, stderr, err := e.docker("exec", id2, "cat", "/proc/1/cmdline"); err != nil || out != "sleep\x0060\x00" {
		t.Fatalf("docker exec: %v %q %s", err, out, stderr)
	}
	if _, stderr, err := e.docker("exec", "--privileged", id2, "true"); err == nil ||
		!strings.Contains(stderr, "hull gate: exec create refused by the policy: container-privileged (critical)") || !strings.Contains(stderr, "[exec Privileged]") {
		t.Errorf("docker exec --privileged: %v %s", err, stderr)
	}
	for _, args := range [][]string{{"ps", "-a"}, {"images"}, {"inspect", id2}, {"version"}, {"info"}, {"stop", "-t", "1", id2}, {"rm", id, id2}} {
		if _, stderr, err := e.docker(args...); err != nil {
			t.Errorf("docker %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
	}

	for _, c := range []struct {
		flags []string
		rule  string
	}{
		{[]string{"--privileged"}, "container-privileged"},
		{[]string{"--pid", "host"}, "container-host-pid"},
		{[]string{"-v", "/:/host"}, "container-sensitive-mounts"},
		{[]string{"-v", "/var/run/docker.sock:/s"}, "container-engine-socket"},
		{[]string{"--cap-add", "SYS_ADMIN"}, "container-capabilities"},
		{[]string{"--security-opt", "seccomp=unconfined"}, "container-seccomp"},
		{[]string{"--mount", "type=bind,source=/,target=/host"}, "container-sensitive-mounts"},
		{[]string{"--network", "host"}, "container-host-network"},
		{[]string{"--userns", "host", "--ipc", "host"}, "container-host-ipc"},
	} {
		before := creates(e.calls())
		args := []string{"run", "--rm"}
		if c.flags[0] != "--network" {
			args = append(args, "--network", "none")
		}
		args = append(append(args, c.flags...), "busybox:gate", "true")
		_, stderr, err := e.docker(args...)
		if err == nil || !strings.Contains(stderr, "hull gate: container create refused by the policy: ") || !strings.Contains(stderr, c.rule) {
			t.Errorf("docker run %s: %v, stderr %q, want hull's refusal naming %s", strings.Join(c.flags, " "), err, stderr, c.rule)
		}
		if after := creates(e.calls()); after != before {
			t.Errorf("docker run %s reached dockerd's containers/create", strings.Join(c.flags, " "))
		}
	}
}

func creates(calls []string) int {
	n := 0
	for _, c := range calls {
		if path, _, _ := strings.Cut(c, "?"); strings.HasSuffix(path, "/containers/create") {
			n++
		}
	}
	return n
}

// privileged is a create request dockerd would run privileged.
const privileged = `{"Image":"busybox:gate","HostConfig":{"Privileged":true,"NetworkMode":"none"}}`

func req(method, target string, headers []string, body string) string {
	h := strings.Join(append([]string{"Host: docker"}, headers...), "\r\n")
	return fmt.Sprintf("%s %s HTTP/1.1\r\n%s\r\n\r\n%s", method, target, h, body)
}

func cl(body string) string { return fmt.Sprintf("Content-Length: %d", len(body)) }

// TestBypassCorpus sends the known authorization-plugin and socket-proxy
// tricks as raw HTTP to the gate and checks from dockerd's debug log that
// none of them reached it (a _ping the gate allows may).
func TestBypassCorpus(t *testing.T) {
	e := startGate(t, nil)
	dup := `{"Image":"busybox:gate","HostConfig":{"Privileged":false,"Privileged":true}}`
	caseKey := `{"Image":"busybox:gate","HostConfig":{"Privileged":false,"privileged":true}}`
	unicodeKey := `{"Image":"busybox:gate","HostConfig":{"SecurityOpt":[],"ſecurityOpt":["seccomp=unconfined"]}}`
	unicodeOnly := `{"Image":"busybox:gate","HostConfig":{"ſecurityOpt":["seccomp=unconfined"],"NetworkMode":"none"}}`
	json := "Content-Type: application/json"
	formRemote := "remote=http://127.0.0.1:9/x.tar&networkmode=host"
	multipart := "--b\r\nContent-Disposition: form-data; name=\"remote\"\r\n\r\nhttp://127.0.0.1:9/x.tar\r\n--b--\r\n"
	etcVolume := `{"Name":"v","DriverOpts":{"type":"none","o":"bind","device":"/etc"}}`
	rootVolume := `{"Name":"v","DriverOpts":{"type":"tmpfs","o":"ro,rbind","device":"/"}}`
	lowerVolume := `{"Name":"v","driveropts":{"type":"none","o":"bind","device":"/etc"}}`
	twiceVolume := `{"Name":"v","DriverOpts":{},"driverOpts":{"type":"none","o":"bind","device":"/etc"}}`
	nfsVolume := `{"Name":"v","DriverOpts":{"type":"nfs","o":"addr=127.0.0.1","device":":/"}}`
	pluginVolume := `{"Name":"v","Driver":"vieux/sshfs"}`
	macvlan := `{"Name":"n","Driver":"macvlan","Options":{"parent":"lo"}}`
	hostBridge := `{"Name":"n","Options":{"com.docker.network.bridge.name":"lo"}}`
	mountEtc := `{"Image":"busybox:gate","HostConfig":{"NetworkMode":"none","Mounts":[{"Type":"volume","Source":"v","Target":"/x",` +
		`"VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/etc"}}}}]}}`
	pluginDriver := `{"Image":"busybox:gate","HostConfig":{"NetworkMode":"none","VolumeDriver":"vieux/sshfs","Binds":["v:/x"]}}`
	updateDevice := `{"Devices":[{"PathOnHost":"/dev/mem","PathInContainer":"/dev/mem","CgroupPermissions":"rwm"}]}`
	corpus := map[string]string{
		"CVE-2024-41110 Content-Length 0 with a body": req("POST", "/v1.41/containers/create", []string{json, "Content-Length: 0"}, privileged),
		"short Content-Length":                        req("POST", "/containers/create", []string{json, "Content-Length: 20"}, privileged),
		"stalled body":                                req("POST", "/containers/create", []string{json, "Content-Length: 400"}, privileged),
		"long Content-Length":                         req("POST", "/containers/create", []string{json, "Content-Length: 400"}, privileged),
		"chunked body": req("POST", "/containers/create", []string{json, "Transfer-Encoding: chunked"},
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(privileged), privileged)),
		"chunked and Content-Length": req("POST", "/containers/create", []string{json, "Transfer-Encoding: chunked", cl(privileged)}, privileged),
		"duplicate key":              req("POST", "/containers/create", []string{json, cl(dup)}, dup),
		"case-variant key":           req("POST", "/containers/create", []string{json, cl(caseKey)}, caseKey),
		"unicode-folded key":         req("POST", "/containers/create", []string{json, cl(unicodeKey)}, unicodeKey),
		"unicode-folded key alone":   req("POST", "/containers/create", []string{json, cl(unicodeOnly)}, unicodeOnly),
		"trailing data":              req("POST", "/containers/create", []string{json, cl(privileged + privileged)}, privileged+privileged),
		"double slash":               req("POST", "//containers/create", []string{json, cl(privileged)}, privileged),
		"double version prefix":      req("POST", "/v1.45/v1.45/containers/create", []string{json, cl(privileged)}, privileged),
		"old API version":            req("POST", "/v1.12/containers/create", []string{json, cl(privileged)}, privileged),
		"percent-encoded letter":     req("POST", "/containers/%63reate", []string{json, cl(privileged)}, privileged),
		"percent-encoded slash":      req("POST", "/containers%2Fcreate", []string{json, cl(privileged)}, privileged),
		"dot-dot":                    req("POST", "/../containers/create", []string{json, cl(privileged)}, privileged),
		"dot-dot inside":             req("POST", "/images/../containers/create", []string{json, cl(privileged)}, privileged),
		"absolute form":              req("POST", "http://docker/containers/create", []string{json, cl(privileged)}, privileged),
		"method override":            req("GET", "/_ping", []string{"X-HTTP-Method-Override: POST"}, ""),
		"method override on create":  req("POST", "/containers/json", []string{json, "X-Method-Override: GET", cl(privileged)}, privileged),
		"upgrade on create":          req("POST", "/containers/create", []string{json, "Connection: Upgrade", "Upgrade: tcp", cl(privileged)}, privileged),
		"HTTP/1.0": strings.Replace(req("POST", "/containers/create", []string{json, cl(privileged)}, privileged),
			"HTTP/1.1", "HTTP/1.0", 1),
		"pipelined hidden create":         req("GET", "/_ping", nil, "") + req("POST", "/containers/create", []string{json, cl(privileged)}, privileged),
		"body on a bodiless operation":    req("POST", "/containers/x/start", []string{json, cl(privileged)}, privileged),
		"unknown operation":               req("POST", "/commit?container=x", []string{json, cl(privileged)}, privileged),
		"import from a URL":               req("POST", "/images/create?fromSrc=http://127.0.0.1:9/x.tar&repo=evil", nil, ""),
		"import and pull":                 req("POST", "/images/create?fromImage=busybox&fromSrc=-", nil, ""),
		"HTTP/2 prior knowledge":          "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"asterisk target":                 req("OPTIONS", "*", nil, ""),
		"expect continue":                 req("POST", "/containers/create", []string{json, "Expect: 100-continue", cl(privileged)}, privileged),
		"build from a URL":                req("POST", "/build?remote=http://127.0.0.1:9/x.tar", []string{"Content-Length: 0"}, ""),
		"build from a URL in a form body": req("POST", "/build", []string{"Content-Type: application/x-www-form-urlencoded", cl(formRemote)}, formRemote),
		"build from a URL in a chunked form body": req("POST", "/build", []string{"Content-Type: application/x-www-form-urlencoded", "Transfer-Encoding: chunked"},
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(formRemote), formRemote)),
		"build from a URL in a multipart body": req("POST", "/build", []string{"Content-Type: multipart/form-data; boundary=b", cl(multipart)}, multipart),
		"build with an unknown parameter":      req("POST", "/build?Remote=http://127.0.0.1:9/x.tar", []string{"Content-Length: 0"}, ""),
		"build on the host network":            req("POST", "/build?networkmode=host", []string{"Content-Type: application/x-tar", "Content-Length: 0"}, ""),
		"build with BuildKit":                  req("POST", "/build?version=2", []string{"Content-Length: 0"}, ""),
		"build in the root cgroup":             req("POST", "/build?cgroupparent=/", []string{"Content-Length: 0"}, ""),
		"chunked body on volume create": req("POST", "/volumes/create", []string{json, "Transfer-Encoding: chunked"},
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(etcVolume), etcVolume)),
		"volume binding /etc":                req("POST", "/volumes/create", []string{json, cl(etcVolume)}, etcVolume),
		"volume binding / by rbind":          req("POST", "/volumes/create", []string{json, cl(rootVolume)}, rootVolume),
		"volume options in a lower-case key": req("POST", "/volumes/create", []string{json, cl(lowerVolume)}, lowerVolume),
		"volume options twice":               req("POST", "/volumes/create", []string{json, cl(twiceVolume)}, twiceVolume),
		"volume from an NFS server":          req("POST", "/volumes/create", []string{json, cl(nfsVolume)}, nfsVolume),
		"volume of a plugin driver":          req("POST", "/volumes/create", []string{json, cl(pluginVolume)}, pluginVolume),
		"macvlan network":                    req("POST", "/networks/create", []string{json, cl(macvlan)}, macvlan),
		"network on a host bridge":           req("POST", "/networks/create", []string{json, cl(hostBridge)}, hostBridge),
		"archive PUT to a relative path":     req("PUT", "/containers/x/archive?path=etc", []string{"Content-Length: 0"}, ""),
		"archive PUT through ..":             req("PUT", "/containers/x/archive?path=/tmp/../../../etc", []string{"Content-Length: 0"}, ""),
		"archive PUT with a NUL":             req("PUT", "/containers/x/archive?path=/tmp%00/../etc", []string{"Content-Length: 0"}, ""),
		"archive PUT with two paths":         req("PUT", "/containers/x/archive?path=/tmp&path=/etc", []string{"Content-Length: 0"}, ""),
		"archive PUT with a form body":       req("PUT", "/containers/x/archive?path=/tmp", []string{"Content-Type: application/x-www-form-urlencoded", "Content-Length: 9"}, "path=/etc"),
		"update adding a device":             req("POST", "/containers/x/update", []string{json, cl(updateDevice)}, updateDevice),
		"chunked body on update":             req("POST", "/containers/x/update", []string{json, "Transfer-Encoding: chunked"}, "2\r\n{}\r\n0\r\n\r\n"),
		"plugin install":                     req("POST", "/plugins/pull?remote=vieux/sshfs", []string{json, "Content-Length: 2"}, "[]"),
		"plugin disable":                     req("POST", "/plugins/authz/disable", nil, ""),
		"plugin remove":                      req("DELETE", "/plugins/authz?force=1", nil, ""),
		"start from a checkpoint directory":  req("POST", "/containers/x/start?checkpoint=c&checkpoint-dir=/etc", nil, ""),
		"create with a volume binding /etc":  req("POST", "/containers/create", []string{json, cl(mountEtc)}, mountEtc),
		"create with a plugin volume driver": req("POST", "/containers/create", []string{json, cl(pluginDriver)}, pluginDriver),
		"BuildKit session":                   req("POST", "/session", []string{"Connection: Upgrade", "Upgrade: h2c"}, ""),
		"oversized header":                   req("GET", "/_ping", []string{"X-Big: " + strings.Repeat("a", 200<<10)}, ""),
		"lower-case method":                  req("post", "/containers/create", []string{json, cl(privileged)}, privileged),
	}
	before := len(e.calls())
	for name, raw := range corpus {
		start := time.Now()
		resp := exchange(t, e.sock, raw, name == "long Content-Length")
		if time.Since(start) > 5*time.Second {
			t.Errorf("%s: the gate took %v to answer", name, time.Since(start))
		}
		if !strings.Contains(resp, " 403 ") && !strings.Contains(resp, " 400 ") && !strings.Contains(resp, " 431 ") {
			t.Errorf("%s: the gate answered %q, want a refusal", name, firstLine(resp))
		}
	}
	if resp := exchange(t, e.sock, corpus["pipelined hidden create"], false); !strings.HasPrefix(resp, "HTTP/1.1 200 OK") ||
		!strings.Contains(resp, "HTTP/1.1 403 Forbidden") {
		t.Errorf("pipelined: the gate answered %q, want 200 for the ping, 403 for the create", resp)
	}
	for _, c := range e.calls()[before:] {
		if !strings.HasSuffix(c, "/_ping") {
			t.Errorf("a request of the corpus reached dockerd: %s", c)
		}
	}
}

// exchange writes raw to the gate, half-closes if asked to (the gate
// closes after every refusal), and reads what comes back.
func exchange(t *testing.T, sock, raw string, halfClose bool) string {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		return "write: " + err.Error()
	}
	if halfClose {
		_ = c.(*net.UnixConn).CloseWrite()
	}
	b, _ := io.ReadAll(bufio.NewReader(c))
	return string(b)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}
