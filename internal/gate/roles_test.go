package gate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/tlsgen"
)

func gateSection(t *testing.T, doc string) *policy.Gate {
	t.Helper()
	p, err := policy.Load(strings.NewReader("apiVersion: hull.dev/v1\n" + doc))
	if err != nil {
		t.Fatal(err)
	}
	return p.GateSection()
}

const rolesDoc = `gate:
  roles:
    - name: ci
      operations: [ping, version, "container *", image inspect]
      failOn: critical
    - name: monitor
      readOnly: true
  identities:
    - {cn: ci-runner, role: ci}
    - {cn: monitor-bot, role: monitor}
    - {uid: 65534, role: monitor}
    - {gid: 4242, role: ci}
`

func TestOperationNames(t *testing.T) {
	names := OperationNames()
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("%s listed twice", n)
		}
		seen[n] = true
	}
	for _, o := range ops {
		if !seen[o.name] {
			t.Errorf("%s is missing", o.name)
		}
	}
	sec := gateSection(t, "gate:\n  roles:\n    - {name: a, operations: [\"container *\", ping, contianer create], ignore: [{id: container-privileged, reason: r}, {id: container-privilegd, reason: r}]}\n  default: a\n")
	err := CheckSection(sec)
	for _, want := range []string{`gate.roles[0].operations[2]: "contianer create" names no operation`, `gate.roles[0].ignore[1]: unknown workload rule "container-privilegd"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckSection: %v, want %q", err, want)
		}
	}
	if err != nil && (strings.Contains(err.Error(), "operations[0]") || strings.Contains(err.Error(), "ignore[0]")) {
		t.Errorf("CheckSection refuses a good name: %v", err)
	}
	if _, err := New(Options{Engine: "/x", Roles: sec}); err == nil {
		t.Error("New accepted unknown names")
	}
}

// TestRolePick: the first identity that matches decides, a unix peer by
// uid or gid, a TLS client by its verified certificate's cn, and a
// client no identity names gets the default role or none.
func TestRolePick(t *testing.T) {
	g, err := New(Options{Engine: "/nonexistent", FailOn: finding.SeverityHigh, Roles: gateSection(t, rolesDoc)})
	if err != nil {
		t.Fatal(err)
	}
	peer := func(uid, gid int) client { return client{peer: &Peer{UID: uid, GID: gid}} }
	for _, tc := range []struct {
		c    client
		want string
	}{
		{client{tls: true, cn: "ci-runner"}, "ci"},
		{client{tls: true, cn: "monitor-bot"}, "monitor"},
		{client{tls: true, cn: "CI-runner"}, ""},
		{client{tls: true}, ""},
		{peer(65534, 65534), "monitor"},
		{peer(1000, 4242), "ci"},
		{peer(65534, 4242), "monitor"},
		{peer(0, 0), ""},
		// A cn is never a unix peer's, a uid never a TLS client's.
		{client{}, ""},
	} {
		r := g.roles.pick(tc.c)
		if got := ""; r != nil {
			got = r.name
			if got != tc.want {
				t.Errorf("%s: role %s, want %q", tc.c, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("%s: no role, want %s", tc.c, tc.want)
		}
	}
	ci, mon := g.roles.byName["ci"], g.roles.byName["monitor"]
	if ci.gate.opts.FailOn != finding.SeverityCritical || mon.gate.opts.FailOn != finding.SeverityHigh {
		t.Errorf("thresholds: ci %v, monitor %v", ci.gate.opts.FailOn, mon.gate.opts.FailOn)
	}
	for op, want := range map[string]bool{"container create": true, "container remove": true, "image inspect": true, "image pull": false, "info": false} {
		if ci.ops[op] != want {
			t.Errorf("ci may call %s: %v, want %v", op, ci.ops[op], want)
		}
	}
	for _, o := range ops {
		if want := o.method == "GET" || o.method == "HEAD"; mon.ops[o.name] != want {
			t.Errorf("readOnly role may call %s %s: %v", o.method, o.name, mon.ops[o.name])
		}
	}
	if reads(op{method: "GET", pattern: "/containers/{}/attach/ws"}) {
		t.Error("a websocket attach counts as a read")
	}
	def, err := New(Options{Engine: "/nonexistent", Roles: gateSection(t, strings.Replace(rolesDoc, "    - {gid: 4242, role: ci}\n", "    - {gid: 4242, role: ci}\n  default: monitor\n", 1))})
	if err != nil {
		t.Fatal(err)
	}
	if r := def.roles.pick(peer(0, 0)); r == nil || r.name != "monitor" {
		t.Errorf("default role: %v", r)
	}
	// New refuses what policy validation refuses, and operations the
	// gate does not have.
	for _, doc := range []string{
		"gate:\n  roles:\n    - {name: a, operations: [contianer create]}\n  default: a\n",
		"trust:\n  default: reject\ngate:\n  roles:\n    - {name: a, readOnly: true, trust: signed}\n  default: a\n",
	} {
		if _, err := New(Options{Engine: "/x", Roles: gateSection(t, doc)}); err == nil {
			t.Errorf("New accepted %q", doc)
		}
	}
	if _, err := New(Options{Engine: "/x", Roles: &policy.Gate{Roles: []policy.Role{{Name: "a", ReadOnly: true}}, Identities: []policy.Identity{{CN: "x", Role: "b"}}}}); err == nil {
		t.Error("New accepted an identity of a role that does not exist")
	}
}

// fakeEngine serves 200 to everything on a unix socket and counts the
// requests it gets.
func fakeEngine(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	asked := new(atomic.Int32)
	sock, _ := unixEngine(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		asked.Add(1)
	}), new(atomic.Int32))
	return sock, asked
}

// TestRoleRules: a role's ignore and exceptions replace the workload
// section's for its creates only; a role that gives none keeps them, and
// "ignore: []" ignores nothing.
func TestRoleRules(t *testing.T) {
	sock, asked := fakeEngine(t)
	sec := gateSection(t, `gate:
  roles:
    - {name: strict, operations: [container create]}
    - name: debug
      operations: [container create]
      ignore: [{id: container-host-pid, reason: debuggers see every process}]
    - name: ops
      operations: [container create]
      ignore: []
      exceptions: [{rule: container-host-pid, workloads: ["create request for busybox:debug"], reason: the debug image}]
    - {name: bare, operations: [container create], ignore: []}
  identities:
    - {uid: 1, role: strict}
    - {uid: 2, role: debug}
    - {uid: 3, role: ops}
    - {uid: 4, role: bare}
`)
	// The workload section's ignore, for roles that give none.
	g, err := New(Options{Engine: sock, FailOn: finding.SeverityHigh, Roles: sec, Ignore: map[string]string{"container-host-pid": "hull.yaml: r"}})
	if err != nil {
		t.Fatal(err)
	}
	create := func(uid int, image string) int {
		body := `{"Image":"` + image + `","HostConfig":{"PidMode":"host","NetworkMode":"none"}}`
		r := httptest.NewRequest("POST", "/containers/create", strings.NewReader(body))
		r = r.WithContext(context.WithValue(r.Context(), peerKey{}, Peer{UID: uid}))
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		return w.Code
	}
	for _, tc := range []struct {
		uid   int
		image string
		want  int
	}{{1, "busybox", 200}, {2, "busybox:debug", 200}, {2, "busybox", 200}, {3, "busybox:debug", 200}, {3, "busybox", 403}, {4, "busybox", 403}} {
		if got := create(tc.uid, tc.image); got != tc.want {
			t.Errorf("uid %d, %s with --pid host: %d, want %d", tc.uid, tc.image, got, tc.want)
		}
	}
	if asked.Load() != 4 {
		t.Errorf("the engine got %d creates, want 4", asked.Load())
	}
}

// TestRoleRefusesBeforeTheBody: an operation the role may not call is
// refused before the gate judges its body, naming the role; a client
// with no role is refused everything. The engine is never asked.
func TestRoleRefusesBeforeTheBody(t *testing.T) {
	sock, asked := fakeEngine(t)
	g, err := New(Options{Engine: sock, FailOn: finding.SeverityHigh, Roles: gateSection(t, rolesDoc)})
	if err != nil {
		t.Fatal(err)
	}
	as := func(uid int, method, target string, body io.Reader) (int, string) {
		r := httptest.NewRequest(method, target, body)
		if method == "POST" {
			r.ContentLength = int64(len(privileged))
		}
		r = r.WithContext(context.WithValue(r.Context(), peerKey{}, Peer{UID: uid, GID: uid}))
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	code, msg := as(65534, "POST", "/v1.41/containers/create", strings.NewReader(privileged))
	if code != 403 || !strings.Contains(msg, "role monitor (uid 65534 gid 65534): container create is not one of the role's operations") || strings.Contains(msg, "container-privileged") {
		t.Errorf("monitor create: %d %s", code, msg)
	}
	code, msg = as(0, "GET", "/_ping", strings.NewReader(""))
	if code != 403 || !strings.Contains(msg, "uid 0 gid 0 has no role") {
		t.Errorf("root ping: %d %s", code, msg)
	}
	code, msg = as(1000, "POST", "/containers/create", strings.NewReader(privileged))
	if code != 403 || !strings.Contains(msg, "has no role") {
		t.Errorf("uid 1000 create: %d %s", code, msg)
	}
	if asked.Load() != 0 {
		t.Error("a refused request reached the engine")
	}
	if code, msg = as(65534, "GET", "/_ping", strings.NewReader("")); code != 200 || asked.Load() != 1 {
		t.Errorf("monitor ping: %d %s", code, msg)
	}
}

// fakeVerifier accepts everything, with a valid signature or without.
type fakeVerifier struct{ signed bool }

func (f fakeVerifier) Verify(_ context.Context, ref string) (finding.Verdict, error) {
	vd := finding.Verdict{Target: ref, Accepted: true, Reason: "accepted"}
	vd.Signatures = []finding.SignatureCheck{{Format: "cosign", Valid: f.signed}}
	return vd, nil
}

func (fakeVerifier) Unsigned(repo string) finding.Verdict {
	return finding.Verdict{Target: repo, Accepted: true, Reason: "trust.default is insecureAcceptAnything"}
}

func TestSignedOnly(t *testing.T) {
	for _, signed := range []bool{true, false} {
		v := signedOnly{fakeVerifier{signed}, "ci"}
		vd, err := v.Verify(context.Background(), "r.example/a@sha256:00")
		if err != nil || vd.Accepted != signed {
			t.Errorf("signed %v: accepted %v (%s) %v", signed, vd.Accepted, vd.Reason, err)
		}
		if !signed && !strings.Contains(vd.Reason, "the role ci runs only signed images") {
			t.Errorf("reason: %s", vd.Reason)
		}
	}
	if vd := (signedOnly{fakeVerifier{true}, "ci"}).Unsigned("r.example/a"); vd.Accepted || !strings.Contains(vd.Reason, "no registry digest") {
		t.Errorf("unsigned: %+v", vd)
	}
	g, err := New(Options{Engine: "/x", Verifier: fakeVerifier{}, Roles: gateSection(t,
		"trust:\n  default: insecureAcceptAnything\ngate:\n  roles:\n    - {name: a, readOnly: true, trust: signed}\n    - {name: b, readOnly: true}\n  identities:\n    - {uid: 1, role: b}\n  default: a\n")})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g.roles.byName["a"].gate.opts.Verifier.(signedOnly); !ok {
		t.Error("role a does not require signatures")
	}
	if _, ok := g.roles.byName["b"].gate.opts.Verifier.(fakeVerifier); !ok {
		t.Error("role b does not use the policy's verifier")
	}
}

func TestServeRefusesTCPWithoutClientCA(t *testing.T) {
	dir := t.TempDir()
	f, err := tlsgen.Generate(filepath.Join(dir, "tls"), tlsgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, files := range []TLSFiles{{}, {Cert: f.ServerCert, Key: f.ServerKey}, {Cert: f.ServerCert, Key: f.ServerKey, CA: f.ServerKey}} {
		err := Serve(context.Background(), Listen{TCP: "127.0.0.1:0", TLS: files}, Options{Engine: "/x"})
		if err == nil || !strings.Contains(err.Error(), "gate: ") {
			t.Errorf("%+v: %v", files, err)
		}
	}
	if err := Serve(context.Background(), Listen{}, Options{Engine: "/x"}); err == nil || !strings.Contains(err.Error(), "nothing to listen on") {
		t.Errorf("no listener: %v", err)
	}
}

// syncBuffer is a log the gate writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePort is a TCP port of 127.0.0.1 nobody listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestRolesWithDockerCLI: a real dockerd behind a gate listening on a
// unix socket and on TCP with mutual TLS, with roles: Debian's docker
// CLI with a ci certificate runs a plain container and is refused
// --privileged; with a monitor certificate it lists containers and is
// refused docker run, naming the role; a certificate of another CA and
// no certificate fail the TLS handshake; the user nobody on the unix
// socket is a monitor, root (named by no identity) is refused. No
// refused create reaches dockerd, and the log names client and role.
func TestRolesWithDockerCLI(t *testing.T) {
	d := testenv.StartDockerd(t, "--log-level", "debug")
	d.BusyboxImage(t, "busybox:gate")
	e := &gateEnv{d: d}
	// nobody must reach the socket: a directory it may traverse.
	dir, err := os.MkdirTemp("", "hull-gate-roles")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	e.dir, e.sock = dir, filepath.Join(dir, "gate.sock")
	tlsDir := filepath.Join(d.Dir, "tls")
	f, err := tlsgen.Generate(filepath.Join(tlsDir, "ca"), tlsgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tlsgen.Generate(filepath.Join(tlsDir, "other"), tlsgen.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ ca, cn, dir string }{{"ca", "ci-runner", "ci"}, {"ca", "monitor-bot", "monitor"}, {"other", "ci-runner", "forged"}} {
		if _, err := tlsgen.Client(filepath.Join(tlsDir, c.ca), filepath.Join(tlsDir, c.dir), c.cn, tlsgen.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	addr := "127.0.0.1:" + freePort(t)
	var logBuf syncBuffer
	t.Cleanup(serveInBackground(t, "gate", func(ctx context.Context) error {
		return Serve(ctx, Listen{Path: e.sock, Mode: 0o660, GID: 65534, TCP: addr,
			TLS: TLSFiles{Cert: f.ServerCert, Key: f.ServerKey, CA: f.CA}},
			Options{Engine: d.Socket, FailOn: finding.SeverityHigh, BodyTimeout: 2 * time.Second,
				Roles: gateSection(t, rolesDoc), Log: slog.New(slog.NewJSONHandler(&logBuf, nil))})
	}, "unix", e.sock, "tcp", addr))
	docker := func(cred *syscall.Credential, args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "docker", args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "DOCKER_CONFIG=" + filepath.Join(dir, "client")}
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		var o, er strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &er
		err := cmd.Run()
		return o.String(), er.String(), err
	}
	tlsArgs := func(certDir string, args ...string) []string {
		return append([]string{"--tlsverify", "--tlscacert", f.CA, "--tlscert", filepath.Join(certDir, "cert.pem"),
			"--tlskey", filepath.Join(certDir, "key.pem"), "-H", "tcp://" + addr}, args...)
	}
	ci, mon := filepath.Join(tlsDir, "ci"), filepath.Join(tlsDir, "monitor")

	if out, stderr, err := docker(nil, tlsArgs(ci, "run", "--rm", "--network", "none", "busybox:gate", "echo", "ci ran")...); err != nil || out != "ci ran\n" {
		t.Fatalf("ci docker run: %v %q %s", err, out, stderr)
	}
	before := creates(e.calls())
	if _, stderr, err := docker(nil, tlsArgs(ci, "run", "--rm", "--network", "none", "--privileged", "busybox:gate", "true")...); err == nil ||
		!strings.Contains(stderr, `hull gate: role ci (cn "ci-runner"): container create refused by the policy: container-privileged`) {
		t.Errorf("ci docker run --privileged: %v %s", err, stderr)
	}
	if _, stderr, err := docker(nil, tlsArgs(ci, "pull", "busybox")...); err == nil || !strings.Contains(stderr, "image pull is not one of the role's operations") {
		t.Errorf("ci docker pull: %v %s", err, stderr)
	}
	if out, stderr, err := docker(nil, tlsArgs(mon, "ps", "-a")...); err != nil || !strings.Contains(out, "CONTAINER ID") {
		t.Errorf("monitor docker ps: %v %q %s", err, out, stderr)
	}
	if _, stderr, err := docker(nil, tlsArgs(mon, "run", "--rm", "--network", "none", "busybox:gate", "true")...); err == nil ||
		!strings.Contains(stderr, `hull gate: role monitor (cn "monitor-bot"): container create is not one of the role's operations`) {
		t.Errorf("monitor docker run: %v %s", err, stderr)
	}
	// Another CA's certificate for the same cn, and none at all: the
	// handshake fails. With TLS 1.3 the client learns it from the
	// server's alert ("bad certificate") or, when it has already sent its
	// request, from the connection being reset: either way no answer.
	refusedTLS := func(stderr string) bool {
		return strings.Contains(stderr, "certificate") || strings.Contains(stderr, "connection reset by peer")
	}
	if out, stderr, err := docker(nil, tlsArgs(filepath.Join(tlsDir, "forged"), "ps")...); err == nil || out != "" || !refusedTLS(stderr) {
		t.Errorf("docker ps with another CA's certificate: %v %q %s", err, out, stderr)
	}
	if out, stderr, err := docker(nil, "--tls", "--tlscacert", f.CA, "-H", "tcp://"+addr, "ps"); err == nil || out != "" || !refusedTLS(stderr) {
		t.Errorf("docker ps without a certificate: %v %q %s", err, out, stderr)
	}
	// A create pipelined behind a ping on one TLS connection is judged
	// on its own, as the role of the connection's certificate.
	pair, err := tls.LoadX509KeyPair(filepath.Join(mon, "cert.pem"), filepath.Join(mon, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	caPEM, err := os.ReadFile(f.CA)
	if err != nil || !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("CA: %v", err)
	}
	tc, err := tls.Dial("tcp", addr, &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	body := `{"Image":"busybox:gate","HostConfig":{"NetworkMode":"none"}}`
	if _, err := io.WriteString(tc, req("GET", "/_ping", nil, "")+req("POST", "/containers/create", []string{cl(body)}, body)); err != nil {
		t.Fatal(err)
	}
	resp, _ := io.ReadAll(tc)
	tc.Close()
	if !strings.HasPrefix(string(resp), "HTTP/1.1 200 OK") || !strings.Contains(string(resp), `role monitor (cn \"monitor-bot\"): container create is not one of`) {
		t.Errorf("pipelined create as a monitor: %q", resp)
	}
	old := &tls.Config{MaxVersion: tls.VersionTLS11, InsecureSkipVerify: true}
	if c, err := tls.Dial("tcp", addr, old); err == nil {
		c.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}
	// The unix socket: nobody is a monitor, root has no role.
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	if out, stderr, err := docker(nobody, "-H", "unix://"+e.sock, "ps"); err != nil || !strings.Contains(out, "CONTAINER ID") {
		t.Errorf("nobody docker ps: %v %q %s", err, out, stderr)
	}
	if _, stderr, err := docker(nobody, "-H", "unix://"+e.sock, "run", "--rm", "--network", "none", "busybox:gate", "true"); err == nil ||
		!strings.Contains(stderr, "hull gate: role monitor (uid 65534 gid 65534): container create is not one of the role's operations") {
		t.Errorf("nobody docker run: %v %s", err, stderr)
	}
	if _, stderr, err := docker(nil, "-H", "unix://"+e.sock, "ps"); err == nil || !strings.Contains(stderr, "hull gate: uid 0 gid 0 has no role") {
		t.Errorf("root docker ps: %v %s", err, stderr)
	}
	if after := creates(e.calls()); after != before {
		t.Errorf("%d refused creates reached dockerd", after-before)
	}
	roles := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(logBuf.String()), "\n") {
		var rec struct{ Identity, Role, Verdict string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Identity == "" {
			t.Errorf("decision line %q: %v", line, err)
		}
		roles[rec.Role+" "+rec.Identity+" "+rec.Verdict]++
	}
	for _, want := range []string{`ci cn "ci-runner" allowed`, `ci cn "ci-runner" refused`, `monitor cn "monitor-bot" allowed`,
		`monitor cn "monitor-bot" refused`, "monitor uid 65534 gid 65534 allowed", "monitor uid 65534 gid 65534 refused", " uid 0 gid 0 refused"} {
		if roles[want] == 0 {
			t.Errorf("no decision %q logged: %v", want, roles)
		}
	}
	if roles[" uid 0 gid 0 allowed"] != 0 {
		t.Error("root was allowed something")
	}
}

// TestPluginRoles: as an authorization plugin the gate gives roles by the
// certificate name dockerd reports (User); a client dockerd names not
// (a unix socket client) gets the default role or nothing, never the
// gate without roles.
func TestPluginRoles(t *testing.T) {
	p, err := NewPlugin(Options{Engine: "/nonexistent", FailOn: finding.SeverityHigh, Roles: gateSection(t, rolesDoc)})
	if err != nil {
		t.Fatal(err)
	}
	list := func(user string) AuthZResponse {
		return p.Authorize(context.Background(), AuthZRequest{User: user, RequestMethod: "GET", RequestURI: "/v1.41/containers/json"})
	}
	if r := list("monitor-bot"); !r.Allow {
		t.Errorf("monitor lists containers: %+v", r)
	}
	for _, user := range []string{"", "someone"} {
		if r := list(user); r.Allow || !strings.Contains(r.Msg, "has no role") {
			t.Errorf("user %q without a role: %+v", user, r)
		}
	}
	create := AuthZRequest{User: "monitor-bot", RequestMethod: "POST", RequestURI: "/v1.41/containers/create",
		RequestHeaders: map[string]string{"Content-Type": "application/json"}, RequestBody: []byte(`{"Image":"busybox"}`)}
	if r := p.Authorize(context.Background(), create); r.Allow || !strings.Contains(r.Msg, "not one of the role's operations") {
		t.Errorf("monitor creates: %+v", r)
	}
}
