package audit

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/workload"
)

// recorder sits between the docker CLI and dockerd on a unix socket and
// keeps the body of every create request the CLI sends.
type recorder struct {
	mu      sync.Mutex
	creates [][]byte
}

func (r *recorder) last(t *testing.T) []byte {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.creates) == 0 {
		t.Fatal("the docker CLI sent no create request")
	}
	return r.creates[len(r.creates)-1]
}

// startRecorder serves a proxy to dockerd's socket at a new socket and
// returns its path.
func startRecorder(t *testing.T, dockerd string) (string, *recorder) {
	t.Helper()
	rec := &recorder{}
	sock := filepath.Join(t.TempDir(), "proxy.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "docker" },
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", dockerd)
		}},
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/containers/create") {
			body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			rec.mu.Lock()
			rec.creates = append(rec.creates, body)
			rec.mu.Unlock()
			req.Body = io.NopCloser(strings.NewReader(string(body)))
			req.ContentLength = int64(len(body))
		}
		proxy.ServeHTTP(w, req)
	})}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return sock, rec
}

// The round trip a container takes: the same settings written as a
// Compose service, sent by `docker create` as a create request, and read
// back from the created container's inspection give every rule the same
// verdict and evidence at each stage it applies to.
func TestComposeRequestInspectionAgree(t *testing.T) {
	d := testenv.StartDockerd(t)
	d.BusyboxImage(t, "hull-test/busybox:1")
	sock, rec := startRecorder(t, d.Socket)
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatalf("%v (apt-get install -y docker.io)", err)
	}
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), docker, args...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+sock, "DOCKER_CONFIG="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, tc := range []struct {
		name, compose string
		flags         []string
		// atLeast is how many of the compared rules must find something.
		atLeast, atMost int
	}{{
		name: "loose",
		compose: `    user: root
    privileged: true
    pid: host
    ipc: host
    uts: host
    network_mode: host
    cap_add: [SYS_ADMIN, net_raw]
    volumes: ["/etc:/host-etc", "/run:/host-run:ro,rslave", "/usr:/u:rshared"]
    security_opt: ["seccomp=unconfined", "no-new-privileges=false", "label=disable"]
    restart: always
    devices: ["/dev/null:/dev/hostnull:rwm"]
    device_cgroup_rules: ["a *:* rwm"]
    cgroup_parent: /hull-test
    healthcheck: {disable: true}
`,
		flags: []string{"--user", "root", "--privileged", "--pid", "host", "--ipc", "host", "--uts", "host", "--network", "host",
			"--cap-add", "SYS_ADMIN", "--cap-add", "net_raw", "-v", "/etc:/host-etc", "-v", "/run:/host-run:ro,rslave", "-v", "/usr:/u:rshared",
			"--security-opt", "seccomp=unconfined", "--security-opt", "no-new-privileges=false", "--security-opt", "label=disable",
			"--restart", "always", "--device", "/dev/null:/dev/hostnull:rwm", "--device-cgroup-rule", "a *:* rwm",
			"--cgroup-parent", "/hull-test", "--no-healthcheck"},
		atLeast: 12, atMost: 100,
	}, {
		name: "ports",
		compose: `    user: "0"
    network_mode: bridge
    ports: ["80:80", "127.0.0.1:8443:8443"]
    expose: ["9000", "53/udp"]
    sysctls: {kernel.msgmax: "65536"}
    extra_hosts: ["db:10.0.0.2"]
    restart: on-failure:9
    healthcheck: {disable: true}
`,
		flags: []string{"--user", "0", "--network", "bridge", "-p", "80:80", "-p", "127.0.0.1:8443:8443",
			"--expose", "9000", "--expose", "53/udp", "--sysctl", "kernel.msgmax=65536", "--add-host", "db:10.0.0.2", "--restart", "on-failure:9", "--no-healthcheck"},
		atLeast: 5, atMost: 100,
	}, {
		name: "hardened",
		compose: `    user: "65534:65534"
    network_mode: none
    cap_drop: [ALL]
    read_only: true
    security_opt: ["no-new-privileges:true"]
    mem_limit: 64m
    pids_limit: 64
    cpus: 0.5
    restart: on-failure:3
    tmpfs: [/tmp]
    healthcheck: {test: ["CMD", "true"]}
`,
		flags: []string{"--user", "65534:65534", "--network", "none", "--cap-drop", "ALL", "--read-only", "--security-opt", "no-new-privileges",
			"--memory", "64m", "--pids-limit", "64", "--cpus", "0.5", "--restart", "on-failure:3", "--tmpfs", "/tmp", "--health-cmd", "true"},
		// A test image has no digest to pin: workload-image-digest warns.
		atLeast: 1, atMost: 1,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "compose.yaml")
			yaml := "services:\n  app:\n    image: hull-test/busybox:1\n    command: [\"true\"]\n" + tc.compose
			if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			services, err := workload.ParseCompose(t.Context(), file, []byte(yaml))
			if err != nil || len(services) != 1 {
				t.Fatalf("compose: %d services, %v", len(services), err)
			}
			id := cli(append(append([]string{"create"}, tc.flags...), "hull-test/busybox:1", "true")...)
			defer cli("rm", id)
			request, err := workload.ParseCreate(rec.last(t))
			if err != nil {
				t.Fatalf("the docker CLI's create request: %v\n%s", err, rec.last(t))
			}
			inspected, err := workload.ParseInspect([]byte(cli("inspect", id)))
			if err != nil || len(inspected) != 1 {
				t.Fatalf("inspection: %d containers, %v", len(inspected), err)
			}
			env := &workload.Env{Engine: "docker"}
			found := 0
			// Each rule judges the forms of the stages it applies at
			// alike: the Compose service (file), the CLI's request and
			// the created container (running).
			forms := []struct {
				stage workload.Stage
				name  string
				w     *workload.Workload
			}{{workload.StageFile, "Compose", &services[0]}, {workload.StageRequest, "create request", &request}, {workload.StageRunning, "inspection", &inspected[0]}}
			for _, r := range workload.Rules() {
				// The inspection names the AppArmor profile the engine
				// applied ("" on a kernel without AppArmor): the audit
				// judges it only where the engine reports AppArmor.
				if r.ID == "container-apparmor" {
					continue
				}
				var first *workload.Verdict
				var firstName string
				for _, f := range forms {
					if r.Stages&f.stage == 0 {
						continue
					}
					v := r.Judge(env, f.w)
					if first == nil {
						first, firstName = &v, f.name
						if v.State != "" {
							found++
							t.Logf("%s: %s %s", r.ID, v.State, v.Evidence)
						}
						continue
					}
					if v.State != first.State || v.Evidence != first.Evidence {
						t.Errorf("%s: %s %q %q; %s %q %q", r.ID, firstName, first.State, first.Evidence, f.name, v.State, v.Evidence)
					}
				}
			}
			if found < tc.atLeast || found > tc.atMost {
				t.Errorf("%d rules found something, want %d to %d", found, tc.atLeast, tc.atMost)
			}
		})
	}
}
