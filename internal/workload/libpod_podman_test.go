package workload

import (
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
)

// capturePodmanCreate runs the real podman client (`podman --remote create
// ARGS`) against a stand-in for Podman's API on a unix socket and returns
// the create spec it sent: Podman's own CLI is the oracle of what the
// libpod create body holds for each flag.
func capturePodmanCreate(t *testing.T, args ...string) []byte {
	t.Helper()
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Fatalf("podman is needed (apt-get install -y podman, as .ci/install-deps does): %v", err)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "libpod.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	bodies := make(chan []byte, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Libpod-API-Version", "4.3.1")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			io.WriteString(w, "OK")
		case strings.HasSuffix(r.URL.Path, "/images/pull"):
			id := strings.Repeat("a", 64)
			io.WriteString(w, `{"id":"`+id+`","images":["`+id+`"]}`+"\n")
		case strings.HasSuffix(r.URL.Path, "/containers/create"):
			body, err := io.ReadAll(io.LimitReader(r.Body, maxLibpodSpec+1))
			if err == nil {
				select {
				case bodies <- body:
				default:
				}
			}
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"cause":"captured","message":"captured by the test","response":500}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"cause":"not found","message":"not served by the test","response":404}`)
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, podman, append([]string{"--remote", "--url", "unix://" + sock, "create", "--pull", "never"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_RUNTIME_DIR=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config")}
	out, _ := cmd.CombinedOutput()
	select {
	case body := <-bodies:
		return body
	default:
		t.Fatalf("podman sent no create request: %s", out)
		return nil
	}
}

func TestParseLibpodSpecFromPodman(t *testing.T) {
	body := capturePodmanCreate(t,
		"--name", "agent",
		"--cap-add", "SYS_ADMIN", "--cap-add", "net_raw", "--cap-drop", "ALL",
		"--privileged", "--user", "1000:1000", "--group-add", "audio",
		"--pid", "host", "--ipc", "host", "--network", "host", "--uts", "host",
		"--userns", "host", "--cgroupns", "host",
		"--read-only",
		"--security-opt", "no-new-privileges",
		"--security-opt", "seccomp=unconfined",
		"--security-opt", "apparmor=unconfined",
		"--security-opt", "label=disable",
		"--security-opt", "unmask=ALL",
		"-v", "/var/run/docker.sock:/var/run/docker.sock:ro",
		"-v", "data:/data",
		"--mount", "type=bind,source=/,destination=/host,ro=true,bind-propagation=rslave",
		"--device", "/dev/kmsg:/dev/kmsg:r",
		"--device-cgroup-rule", "c 1:3 mr",
		"--memory", "256m", "--cpus", "1.5", "--cpu-shares", "512", "--pids-limit", "100",
		"--cgroup-parent", "/monitoring",
		"-p", "127.0.0.1:8080:80", "-p", "9000-9001:9000-9001/udp",
		"--restart", "on-failure:3",
		"--health-cmd", "true",
		"--sysctl", "kernel.msgmax=65536",
		"--volumes-from", "other:ro",
		"localhost/agent:1",
	)
	w, err := ParseLibpodSpec(body)
	if err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	wantEqual(t, "name", w.Name, "agent")
	wantEqual(t, "image", w.Image, "localhost/agent:1")
	wantEqual(t, "caps", [][]string{w.CapAdd, w.CapDrop}, [][]string{{"SYS_ADMIN", "NET_RAW"}, {"ALL"}})
	wantEqual(t, "privileged", w.Privileged, true)
	wantEqual(t, "user, groups", []any{w.User, w.Groups}, []any{"1000:1000", []string{"audio"}})
	wantEqual(t, "namespaces", w.Namespaces, Namespaces{Network: "host", PID: "host", IPC: "host", UTS: "host", User: "host", Cgroup: "host"})
	wantEqual(t, "read only", w.ReadOnlyRootfs, true)
	wantEqual(t, "noNewPrivileges", w.NoNewPrivileges, ptr(true))
	wantEqual(t, "confinement", []string{w.Seccomp, w.AppArmor}, []string{"unconfined", "unconfined"})
	wantEqual(t, "selinux, system paths", []bool{w.SELinuxDisabled, w.SystemPathsUnconfined}, []bool{true, true})
	// Podman adds tmpfs mounts of its own to a read-only container, and
	// the order of the binds it sends varies from run to run: compared by
	// destination.
	var mounts []Mount
	for _, m := range w.Mounts {
		if m.Type != "tmpfs" {
			mounts = append(mounts, m)
		}
	}
	slices.SortFunc(mounts, func(a, b Mount) int { return strings.Compare(a.Destination, b.Destination) })
	wantEqual(t, "mounts", mounts, []Mount{
		{Type: "volume", Source: "data", Destination: "/data"},
		{Type: "bind", Source: "/", Destination: "/host", ReadOnly: true, Propagation: "rslave"},
		{Type: "bind", Source: "/var/run/docker.sock", Destination: "/var/run/docker.sock", ReadOnly: true},
	})
	wantEqual(t, "devices", w.Devices, []Device{{PathOnHost: "/dev/kmsg", PathInContainer: "/dev/kmsg", Permissions: "r"}})
	wantEqual(t, "device rules", w.DeviceCgroupRules, []string{"c 1:3 mr"})
	wantEqual(t, "resources", w.Resources, Resources{Memory: 256 << 20, CPUShares: 512, CPUQuota: 150000, NanoCPUs: 1_500_000_000, PidsLimit: ptr(int64(100))})
	wantEqual(t, "cgroup parent", w.CgroupParent, "/monitoring")
	wantEqual(t, "ports", w.Ports, []Port{
		{HostIP: "127.0.0.1", HostPort: "8080", ContainerPort: "80", Protocol: "tcp"},
		{HostPort: "9000", ContainerPort: "9000", Protocol: "udp"},
		{HostPort: "9001", ContainerPort: "9001", Protocol: "udp"},
	})
	wantEqual(t, "restart", w.Restart, Restart{Policy: "on-failure", MaxRetries: 3})
	wantEqual(t, "healthcheck", w.Healthcheck, ptr(true))
	wantEqual(t, "sysctls", w.Sysctls, map[string]string{"kernel.msgmax": "65536"})
	wantEqual(t, "volumes from", w.VolumesFrom, []string{"other:ro"})

	// What podman sends by default: nothing the model would flag.
	d, err := ParseLibpodSpec(capturePodmanCreate(t, "localhost/app:1"))
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "default privileged, caps", []any{d.Privileged, d.CapAdd, d.NoNewPrivileges}, []any{false, []string(nil), (*bool)(nil)})
	wantEqual(t, "default namespaces", []string{d.Namespaces.PID, d.Namespaces.IPC, d.Namespaces.UTS}, []string{"", "", ""})
	wantEqual(t, "default healthcheck", d.Healthcheck, (*bool)(nil))
}

// TestParseLibpodSpecRootfsFromPodman: --rootfs runs a host directory as
// the container's root, a bind of it on / (read-only as an overlay, :O),
// which the mount rules judge: --rootfs / is the host's root file system.
func TestParseLibpodSpecRootfsFromPodman(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		want Mount
	}{
		{"/", Mount{Type: "bind", Source: "/", Destination: "/"}},
		{"/srv/root:O", Mount{Type: "bind", Source: "/srv/root", Destination: "/", ReadOnly: true}},
	} {
		w, err := ParseLibpodSpec(capturePodmanCreate(t, "--rootfs", tc.arg))
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, tc.arg+" mounts", w.Mounts, []Mount{tc.want})
		wantEqual(t, tc.arg+" place", w.Source.Fields["mounts[0]"], Place{Path: "rootfs"})
	}
	w, err := ParseLibpodSpec(capturePodmanCreate(t, "--rootfs", "/"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := Judge([]Workload{w}, JudgeOptions{Stage: StageRequest})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(j.Findings, func(f finding.Finding) bool { return f.ID == "container-sensitive-mounts" }) {
		t.Errorf("--rootfs / gives no container-sensitive-mounts finding: %v", j.Findings)
	}
}
