package workload

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/finding"
)

// services returns the workloads of services by service name, checking
// how each is labelled.
func services(t *testing.T, ws map[string]Workload) map[string]Workload {
	t.Helper()
	out := map[string]Workload{}
	for path, w := range ws {
		name, ok := strings.CutPrefix(path, "services.")
		if !ok || strings.Contains(name, ".") {
			continue
		}
		if w.Name != "compose.yaml service "+name || w.Source.Kind != "compose service" {
			t.Errorf("%s: workload labelled %q kind %q", name, w.Name, w.Source.Kind)
		}
		out[name] = w
	}
	return out
}

// composeCorpus is every Compose file under testdata/compose.
func composeCorpus(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/compose/*/compose.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no compose corpus: %v", err)
	}
	return files
}

func parseComposeFile(t *testing.T, path string, opts ComposeOptions) map[string]Workload {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Environment == nil {
		opts.Environment = map[string]string{}
	}
	ws, err := ParseComposeWith(context.Background(), path, data, opts)
	if err != nil {
		t.Fatalf("ParseCompose(%s): %v", path, err)
	}
	out := map[string]Workload{}
	for _, w := range ws {
		if w.Stage != StageFile || w.Source.File != path {
			t.Errorf("%s: stage %d file %q", w.Name, w.Stage, w.Source.File)
		}
		out[w.Source.Path] = w
	}
	return out
}

func abs(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func wantPlace(t *testing.T, w Workload, setting string, want Place) {
	t.Helper()
	if got, ok := w.Source.Fields[setting]; !ok || got != want {
		t.Errorf("%s: %s written at %+v, want %+v", w.Name, setting, got, want)
	}
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func ptr[T any](v T) *T { return &v }

func TestParseComposeStack(t *testing.T) {
	const f = "testdata/compose/stack/compose.yaml"
	ws := services(t, parseComposeFile(t, f, ComposeOptions{}))
	wantEqual(t, "services", slices.Sorted(func(y func(string) bool) {
		for k := range ws {
			y(k)
		}
	}), []string{"cache", "db", "web"})

	web := ws["web"]
	// WEB_TAG and WEB_PORT come from the .env beside the file.
	wantEqual(t, "web image", web.Image, "registry.example/shop/web:2.3.1")
	wantEqual(t, "web user", web.User, "10001:10001")
	wantEqual(t, "web capAdd", web.CapAdd, []string{"NET_BIND_SERVICE"})
	wantEqual(t, "web capDrop", web.CapDrop, []string{"ALL"})
	wantEqual(t, "web noNewPrivileges", web.NoNewPrivileges, ptr(true))
	wantEqual(t, "web readOnly", web.ReadOnlyRootfs, true)
	wantEqual(t, "web networks", web.Networks, []string{"shop_back", "shop_front"})
	wantEqual(t, "web ports", web.Ports, []Port{
		{HostPort: "8080", ContainerPort: "8080", Protocol: "tcp"},
		{HostIP: "127.0.0.1", HostPort: "443", ContainerPort: "8443", Protocol: "tcp"},
	})
	wantEqual(t, "web mounts", web.Mounts, []Mount{
		{Type: "bind", Source: abs(t, "testdata/compose/stack/static"), Destination: "/srv/static", ReadOnly: true},
		{Type: "tmpfs", Destination: "/tmp"},
	})
	wantEqual(t, "web resources", web.Resources, Resources{Memory: 512 << 20, NanoCPUs: 1_500_000_000, PidsLimit: ptr(int64(200))})
	wantEqual(t, "web restart", web.Restart, Restart{Policy: "unless-stopped"})
	wantEqual(t, "web healthcheck", web.Healthcheck, ptr(true))
	wantEqual(t, "web line", web.Source.Line, 13)
	// cap_drop comes from the x-hardening anchor merged with <<.
	wantPlace(t, web, SetCapDrop, Place{Path: "services.web.cap_drop", Line: 6})
	wantPlace(t, web, "capDrop[0]", Place{Path: "services.web.cap_drop[0]", Line: 7})
	wantPlace(t, web, SetNoNewPrivileges, Place{Path: "services.web.security_opt[0]", Line: 9})
	wantPlace(t, web, "ports[0]", Place{Path: "services.web.ports[0]", Line: 20})
	wantPlace(t, web, "ports[1]", Place{Path: "services.web.ports[1]", Line: 21})
	wantPlace(t, web, "mounts[1]", Place{Path: "services.web.volumes[1]", Line: 27})
	wantPlace(t, web, SetMemory, Place{Path: "services.web.deploy.resources.limits.memory", Line: 43})
	wantPlace(t, web, SetPidsLimit, Place{Path: "services.web.deploy.resources.limits.pids", Line: 44})

	db := ws["db"]
	wantEqual(t, "db mounts", db.Mounts, []Mount{{Type: "volume", Source: "shop_dbdata", Destination: "/var/lib/postgresql/data"}})
	wantEqual(t, "db resources", db.Resources, Resources{Memory: 1 << 30, NanoCPUs: 2_000_000_000, PidsLimit: ptr(int64(500))})
	wantEqual(t, "db restart", db.Restart, Restart{Policy: "on-failure", MaxRetries: 5})
	wantEqual(t, "db healthcheck", db.Healthcheck, ptr(true))
	wantPlace(t, db, SetMemory, Place{Path: "services.db.mem_limit", Line: 54})

	cache := ws["cache"]
	wantEqual(t, "cache healthcheck", cache.Healthcheck, ptr(false))
	wantEqual(t, "cache restart", cache.Restart, Restart{Policy: "always", MaxRetries: 3})
	wantPlace(t, cache, SetRestart, Place{Path: "services.cache.deploy.restart_policy", Line: 69})

	// The environment wins over .env, as in docker compose.
	ws = services(t, parseComposeFile(t, f, ComposeOptions{Environment: map[string]string{"WEB_TAG": "9.9.9"}}))
	wantEqual(t, "web image from the environment", ws["web"].Image, "registry.example/shop/web:9.9.9")
}

func TestParseComposeExtends(t *testing.T) {
	ws := services(t, parseComposeFile(t, "testdata/compose/extends/compose.yaml", ComposeOptions{}))
	// The extended file is named as the Compose file was: relative here.
	const base = "testdata/compose/extends/lib/base.yaml"

	api := ws["api"]
	wantEqual(t, "api image", api.Image, "registry.example/api:1.0")
	wantEqual(t, "api user", api.User, "1000")
	wantEqual(t, "api caps", [][]string{api.CapAdd, api.CapDrop}, [][]string{{"CHOWN"}, {"ALL"}})
	// A relative bind in the extended file is relative to that file.
	wantEqual(t, "api mounts", api.Mounts, []Mount{{Type: "bind", Source: abs(t, "testdata/compose/extends/lib/conf"), Destination: "/etc/app", ReadOnly: true}})
	wantEqual(t, "api restart", api.Restart, Restart{Policy: "always"})
	wantPlace(t, api, SetUser, Place{Path: "services.app.user", Line: 4, File: base})
	wantPlace(t, api, SetImage, Place{Path: "services.api.image", Line: 7})

	worker := ws["worker"]
	wantEqual(t, "worker user", worker.User, "2000")
	wantEqual(t, "worker caps", [][]string{worker.CapAdd, worker.CapDrop}, [][]string{{"CHOWN"}, {"ALL"}})
	wantEqual(t, "worker mounts", worker.Mounts, []Mount{
		{Type: "bind", Source: abs(t, "testdata/compose/extends/lib/conf"), Destination: "/etc/app", ReadOnly: true},
		{Type: "bind", Source: abs(t, "testdata/compose/extends/spool"), Destination: "/var/spool/worker"},
	})
	wantPlace(t, worker, SetUser, Place{Path: "services.worker.user", Line: 15})
	wantPlace(t, worker, SetCapAdd, Place{Path: "services.api.cap_add", Line: 8})
	wantPlace(t, worker, "mounts[0]", Place{Path: "services.app.volumes[0]", Line: 8, File: base})
	wantPlace(t, worker, "mounts[1]", Place{Path: "services.worker.volumes[0]", Line: 17})

	migrate := ws["migrate"]
	wantEqual(t, "migrate seccomp", migrate.Seccomp, "unconfined")
	wantPlace(t, migrate, SetSeccomp, Place{Path: "services.hardened.security_opt[0]", Line: 15, File: base})
	wantPlace(t, migrate, SetReadOnlyRootfs, Place{Path: "services.app.read_only", Line: 9, File: base})
}

func TestParseComposeProfiles(t *testing.T) {
	const f = "testdata/compose/profiles/compose.yaml"
	for _, tc := range []struct {
		name string
		opts ComposeOptions
		want []string
	}{
		{"default", ComposeOptions{}, []string{"app"}},
		{"COMPOSE_PROFILES", ComposeOptions{Environment: map[string]string{"COMPOSE_PROFILES": "debug"}}, []string{"admin", "app", "debug"}},
		{"COMPOSE_PROFILES list", ComposeOptions{Environment: map[string]string{"COMPOSE_PROFILES": " tools , nope"}}, []string{"admin", "app"}},
		{"given", ComposeOptions{Profiles: []string{"tools"}, Environment: map[string]string{"COMPOSE_PROFILES": "debug"}}, []string{"admin", "app"}},
		{"all", ComposeOptions{Profiles: []string{"*"}}, []string{"admin", "app", "debug"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := services(t, parseComposeFile(t, f, tc.opts))
			var got []string
			for name := range ws {
				got = append(got, name)
			}
			slices.Sort(got)
			wantEqual(t, "services", got, tc.want)
			wantEqual(t, "app healthcheck (the image's)", ws["app"].Healthcheck, (*bool)(nil))
			if d, ok := ws["debug"]; ok {
				wantEqual(t, "debug network", d.Namespaces.Network, "service:app")
				wantEqual(t, "debug caps", d.CapAdd, []string{"NET_ADMIN", "NET_RAW"})
			}
		})
	}
}

func TestParseComposeMonitor(t *testing.T) {
	agent := services(t, parseComposeFile(t, "testdata/compose/monitor/compose.yaml", ComposeOptions{}))["agent"]
	wantEqual(t, "privileged", agent.Privileged, true)
	wantEqual(t, "namespaces", agent.Namespaces, Namespaces{Network: "host", PID: "host", IPC: "host", UTS: "host", User: "host", Cgroup: "host"})
	wantEqual(t, "networks", agent.Networks, []string(nil))
	wantEqual(t, "capAdd", agent.CapAdd, []string{"SYS_ADMIN", "SYS_PTRACE"})
	wantEqual(t, "confinement", []string{agent.Seccomp, agent.AppArmor}, []string{"unconfined", "unconfined"})
	wantEqual(t, "selinux and system paths", []bool{agent.SELinuxDisabled, agent.SystemPathsUnconfined}, []bool{true, true})
	wantEqual(t, "mounts", agent.Mounts, []Mount{
		{Type: "bind", Source: "/var/run/docker.sock", Destination: "/var/run/docker.sock"},
		{Type: "bind", Source: "/", Destination: "/host", ReadOnly: true, Propagation: "rslave"},
		{Type: "bind", Source: "/proc", Destination: "/host/proc", ReadOnly: true},
		{Type: "tmpfs", Destination: "/run"},
	})
	wantEqual(t, "devices", agent.Devices, []Device{
		{PathOnHost: "/dev/kmsg", PathInContainer: "/dev/kmsg", Permissions: "r"},
		{PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", Permissions: "rwm"},
	})
	wantEqual(t, "device rules", agent.DeviceCgroupRules, []string{"c 1:3 mr", "a *:* rwm"})
	wantEqual(t, "cgroup parent", agent.CgroupParent, "/monitoring")
	wantEqual(t, "restart", agent.Restart, Restart{Policy: "no"})
	wantEqual(t, "healthcheck", agent.Healthcheck, (*bool)(nil))
	wantPlace(t, agent, SetPID, Place{Path: "services.agent.pid", Line: 6})
	wantPlace(t, agent, SetNetwork, Place{Path: "services.agent.network_mode", Line: 11})
	wantPlace(t, agent, SetSeccomp, Place{Path: "services.agent.security_opt[1]", Line: 18})
	wantPlace(t, agent, SetSELinux, Place{Path: "services.agent.security_opt[2]", Line: 19})
	wantPlace(t, agent, "mounts[0]", Place{Path: "services.agent.volumes[0]", Line: 22})
	wantPlace(t, agent, "mounts[3]", Place{Path: "services.agent.tmpfs[0]", Line: 39})
	wantPlace(t, agent, "devices[1]", Place{Path: "services.agent.devices[1]", Line: 32})
	wantPlace(t, agent, "capAdd[1]", Place{Path: "services.agent.cap_add[1]", Line: 15})
	wantEqual(t, "sysctls", agent.Sysctls, map[string]string{"kernel.shm_rmid_forced": "1"})
	wantPlace(t, agent, SetSysctls, Place{Path: "services.agent.sysctls", Line: 41})

	sidecar := services(t, parseComposeFile(t, "testdata/compose/monitor/compose.yaml", ComposeOptions{}))["sidecar"]
	wantEqual(t, "volumes_from", sidecar.VolumesFrom, []string{"agent:ro"})
	wantPlace(t, sidecar, SetVolumesFrom, Place{Path: "services.sidecar.volumes_from", Line: 45})
}

func TestParseComposePorts(t *testing.T) {
	edge := services(t, parseComposeFile(t, "testdata/compose/ports/compose.yaml", ComposeOptions{}))["edge"]
	p := func(ip, host, ctr, proto string) Port {
		return Port{HostIP: ip, HostPort: host, ContainerPort: ctr, Protocol: proto}
	}
	wantEqual(t, "ports", edge.Ports, []Port{
		p("", "", "3000", "tcp"),
		p("", "", "3001", "tcp"), p("", "", "3002", "tcp"), p("", "", "3003", "tcp"),
		p("", "8000", "8000", "tcp"),
		p("", "9090", "8080", "tcp"), p("", "9091", "8081", "tcp"),
		p("", "49100", "22", "tcp"),
		p("127.0.0.1", "8001", "8001", "tcp"),
		p("127.0.0.1", "5000", "5000", "tcp"), p("127.0.0.1", "5001", "5001", "tcp"),
		p("::1", "6000", "6000", "tcp"),
		p("::", "6001", "6001", "udp"),
		p("", "6060", "6060", "udp"),
		p("", "53", "53", "udp"),
		p("0.0.0.0", "8080", "80", "tcp"),
		p("", "8443-8444", "443", "tcp"),
	})
	// Each port of a range points at the item that wrote the range.
	for port, item := range map[int][2]int{0: {0, 6}, 2: {1, 7}, 3: {1, 7}, 6: {3, 9}, 10: {6, 12}, 11: {7, 13}, 12: {8, 14}, 15: {11, 17}, 16: {12, 22}} {
		wantPlace(t, edge, "ports["+strconv.Itoa(port)+"]", Place{Path: "services.edge.ports[" + strconv.Itoa(item[0]) + "]", Line: item[1]})
	}
}

// TestParseComposeHooksAndJobs: every container a Compose file runs is a
// workload, not only its services.
func TestParseComposeHooksAndJobs(t *testing.T) {
	ws := parseComposeFile(t, "testdata/compose/hooks/compose.yaml", ComposeOptions{})
	wantEqual(t, "containers", slices.Sorted(maps.Keys(ws)), []string{"jobs.backup", "services.app", "services.app.pre_start[0]"})

	app := ws["services.app"]
	// The privileged post_start hook runs with every capability in app.
	wantEqual(t, "app privileged", app.Privileged, true)
	wantPlace(t, app, SetPrivileged, Place{Path: "services.app.post_start[0].privileged", Line: 19})

	hook := ws["services.app.pre_start[0]"]
	wantEqual(t, "hook", []any{hook.Name, hook.Source.Kind, hook.Image, hook.User, hook.CapAdd}, []any{"compose.yaml service app pre_start[0]", "compose pre_start hook", "busybox:1.36", "root", []string{"CHOWN"}})
	wantPlace(t, hook, SetUser, Place{Path: "services.app.pre_start[0].user", Line: 12})
	wantPlace(t, hook, "mounts[0]", Place{Path: "services.app.pre_start[0].volumes[0]", Line: 16})

	job := ws["jobs.backup"]
	wantEqual(t, "job", []any{job.Name, job.Source.Kind, job.Source.Line, job.Healthcheck}, []any{"compose.yaml job backup", "compose job", 22, ptr(false)})
	wantEqual(t, "job mounts", job.Mounts, []Mount{
		{Type: "volume", Source: "hooks_appdata", Destination: "/data", ReadOnly: true},
		{Type: "bind", Source: "/var/run/docker.sock", Destination: "/var/run/docker.sock"},
	})
	wantPlace(t, job, "mounts[1]", Place{Path: "jobs.backup.volumes[1]", Line: 29})
}

// writeProject writes files (name to content) under a new directory and
// returns it.
func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestParseComposeConfined: a hostile Compose file cannot make hull read a
// file outside its directory, a device, or a FIFO.
func TestParseComposeConfined(t *testing.T) {
	outer := writeProject(t, map[string]string{
		"secret.yaml":          "services:\n  base:\n    image: sentinel-outside\n",
		"proj/link/.keep":      "",
		"proj/inside.yaml":     "services:\n  base:\n    image: inside\n",
		"other/.env":           "TAG=outside\n",
		"envlink/compose.yaml": "services:\n  a:\n    image: x:${TAG}\n",
	})
	proj := filepath.Join(outer, "proj")
	if err := os.Symlink(filepath.Join(outer, "secret.yaml"), filepath.Join(proj, "escape.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outer, "other/.env"), filepath.Join(outer, "envlink/.env")); err != nil {
		t.Fatal(err)
	}
	ext := func(file string) string {
		return "services:\n  a:\n    extends:\n      file: " + file + "\n      service: base\n"
	}
	for _, tc := range []struct {
		name, dir, compose, wantErr string
	}{
		{"parent", proj, ext("../secret.yaml"), "outside the project directory"},
		{"absolute", proj, ext(filepath.Join(outer, "secret.yaml")), "outside the project directory"},
		{"symlink", proj, ext("escape.yaml"), "outside the project directory"},
		{"device", proj, ext("/dev/zero"), "outside the project directory"},
		{"directory", proj, ext("link"), "not a regular file"},
		{"include", proj, "include:\n  - ../secret.yaml\nservices:\n  a:\n    image: x\n", "include is not supported"},
		{"dotenv symlink", filepath.Join(outer, "envlink"), "services:\n  a:\n    image: x:${TAG}\n", "outside the project directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := ParseComposeWith(context.Background(), filepath.Join(tc.dir, "compose.yaml"), []byte(tc.compose), ComposeOptions{Environment: map[string]string{}})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %+v, %v; want an error saying %q", ws, err, tc.wantErr)
			}
		})
	}

	// Inside the directory, extends works; env_file and label_file are
	// not read (a FIFO there would block forever).
	fifo := filepath.Join(proj, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		compose := ext("inside.yaml") + "    env_file: fifo\n    label_file: fifo\n"
		ws, err := ParseComposeWith(context.Background(), filepath.Join(proj, "compose.yaml"), []byte(compose), ComposeOptions{Environment: map[string]string{}})
		if err == nil && (len(ws) != 1 || ws[0].Image != "inside") {
			t.Errorf("got %+v", ws)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ParseCompose blocked on a FIFO named by env_file")
	}
}

func TestParseComposeStdin(t *testing.T) {
	dir := writeProject(t, map[string]string{".env": "TAG=from-dotenv\n"})
	t.Chdir(dir)
	ws, err := ParseComposeWith(context.Background(), "-", []byte("services:\n  web:\n    image: web:${TAG}\n    volumes: [./data:/data]\n"), ComposeOptions{Environment: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 {
		t.Fatalf("got %d workloads", len(ws))
	}
	w := ws[0]
	wantEqual(t, "name", w.Name, "- service web")
	wantEqual(t, "file", w.Source.File, "-")
	wantEqual(t, "image", w.Image, "web:from-dotenv")
	wantEqual(t, "mount source", w.Mounts[0].Source, filepath.Join(dir, "data"))
	// The project is named after the working directory, as docker compose does.
	wantEqual(t, "network", w.Networks, []string{strings.ToLower(filepath.Base(dir)) + "_default"})
}

func TestParseComposeBadInput(t *testing.T) {
	dir := t.TempDir()
	bomb := "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]\nservices:\n  a:\n    image: x\n    labels: *i\n"
	for name, data := range map[string]string{
		"not yaml":      "services: [",
		"not a mapping": "- a\n- b\n",
		"alias bomb":    bomb,
		"too large":     "services: {}\n" + strings.Repeat("#", maxComposeFile),
		"bad service":   "services:\n  a: 3\n",
		"cycle":         "services:\n  a:\n    extends: b\n  b:\n    extends: a\n",
		"missing var":   "services:\n  a:\n    image: ${NOPE:?must be set}\n",
		// compose-go asserts extends.file is a string before validating.
		"number as extends.file": "services:\n  a:\n    extends:\n      file: 00\n      service: a\n",
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			ws, err := ParseComposeWith(context.Background(), filepath.Join(dir, "compose.yaml"), []byte(data), ComposeOptions{Environment: map[string]string{}})
			if err == nil {
				t.Errorf("got %d workloads, want an error", len(ws))
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestParseComposeJoinsOtherServices: a service that joins another
// service's namespace (network_mode, pid, ipc, uts: service:NAME, or
// container:NAME of a container_name), through a chain, is in the host's
// namespace when that one is, and volumes_from gives it the other
// service's mounts (and theirs, read-only with :ro), as docker compose
// starts it; each is judged as if written in the service itself.
func TestParseComposeJoinsOtherServices(t *testing.T) {
	dir := writeProject(t, map[string]string{"compose.yaml": `services:
  agent:
    image: agent:1
    container_name: node-agent
    network_mode: host
    pid: host
    ipc: host
    uts: host
    volumes: [/var/run/docker.sock:/var/run/docker.sock, /:/host]
  sidecar:
    image: side:1
    network_mode: service:agent
    pid: container:node-agent
    ipc: service:agent
    uts: service:agent
  second:
    image: side:1
    network_mode: service:sidecar
    volumes_from: [agent]
  reader:
    image: side:1
    volumes_from: ["second:ro"]
    volumes: [/srv/data:/host]
  outside:
    image: side:1
    network_mode: container:not-in-project
    volumes_from: ["container:not-in-project"]
`})
	ws := services(t, parseComposeFile(t, filepath.Join(dir, "compose.yaml"), ComposeOptions{}))
	for _, name := range []string{"sidecar", "second"} {
		ns := ws[name].Namespaces
		wantEqual(t, name+" network", ns.Network, "host")
		if name == "sidecar" {
			wantEqual(t, name+" namespaces", ns, Namespaces{Network: "host", PID: "host", IPC: "host", UTS: "host"})
		}
	}
	wantEqual(t, "outside network", ws["outside"].Namespaces.Network, "container:not-in-project")
	wantEqual(t, "outside mounts", len(ws["outside"].Mounts), 0)
	wantEqual(t, "second mounts", ws["second"].Mounts, []Mount{
		{Type: "bind", Source: "/var/run/docker.sock", Destination: "/var/run/docker.sock"},
		{Type: "bind", Source: "/", Destination: "/host"},
	})
	wantPlace(t, ws["second"], "mounts[0]", Place{Path: "services.second.volumes_from[0]", Line: 19})
	// reader's own mount on /host wins over the one volumes_from brings.
	wantEqual(t, "reader mounts", ws["reader"].Mounts, []Mount{
		{Type: "bind", Source: "/srv/data", Destination: "/host"},
		{Type: "bind", Source: "/var/run/docker.sock", Destination: "/var/run/docker.sock", ReadOnly: true},
	})

	list := []Workload{ws["sidecar"], ws["second"], ws["reader"]}
	j, err := Judge(list, JudgeOptions{Stage: StageFile})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, f := range j.Findings {
		got[f.Target] = append(got[f.Target], f.ID)
	}
	for target, ids := range map[string][]string{
		"compose.yaml service sidecar": {"container-host-network", "container-host-pid", "container-host-ipc", "container-host-uts"},
		"compose.yaml service second":  {"container-host-network", "container-engine-socket", "container-sensitive-mounts"},
		"compose.yaml service reader":  {"container-engine-socket"},
	} {
		for _, id := range ids {
			if !slices.Contains(got[target], id) {
				t.Errorf("%s: no %s finding; findings %v", target, id, got[target])
			}
		}
	}
}

// TestParseComposeLocalVolumeBinds: a named volume of Docker's local
// driver with a device is that host path mounted (o=bind: a bind; a
// filesystem type: the host disk), and is judged as a bind; an NFS share,
// a tmpfs or another driver stays a volume.
func TestParseComposeLocalVolumeBinds(t *testing.T) {
	dir := writeProject(t, map[string]string{"compose.yaml": `services:
  app:
    image: app:1
    volumes: ["hostroot:/host", "disk:/disk:ro", "share:/share", "mem:/mem", "plugin:/plugin"]
volumes:
  hostroot:
    driver_opts: {type: none, o: bind, device: /}
  disk:
    driver: local
    driver_opts: {type: ext4, device: /dev/sda1}
  share:
    driver_opts: {type: nfs, o: "addr=10.0.0.1", device: ":/export"}
  mem:
    driver_opts: {type: tmpfs, device: tmpfs}
  plugin:
    driver: rexray
    driver_opts: {device: /}
`})
	ws := services(t, parseComposeFile(t, filepath.Join(dir, "compose.yaml"), ComposeOptions{}))
	p := filepath.Base(dir)
	wantEqual(t, "mounts", ws["app"].Mounts, []Mount{
		{Type: "bind", Source: "/", Destination: "/host"},
		{Type: "bind", Source: "/dev/sda1", Destination: "/disk", ReadOnly: true, Driver: "local"},
		{Type: "volume", Source: p + "_share", Destination: "/share"},
		{Type: "volume", Source: p + "_mem", Destination: "/mem"},
		{Type: "volume", Source: p + "_plugin", Destination: "/plugin", Driver: "rexray"},
	})
	j, err := Judge([]Workload{ws["app"]}, JudgeOptions{Stage: StageFile})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(j.Findings, func(f finding.Finding) bool {
		return f.ID == "container-sensitive-mounts" && strings.Contains(f.Evidence, "/ on /host")
	}) {
		t.Errorf("no container-sensitive-mounts finding for the bind volume: %v", j.Findings)
	}
}

// TestParseComposeMergesOverride: the Compose file docker compose finds
// in its directory is merged with the override file beside it, as docker
// compose run there merges them; a directory lists the override as read
// with it. Another file name gets no override.
func TestParseComposeMergesOverride(t *testing.T) {
	t.Setenv("COMPOSE_PROFILES", "")
	dir := writeProject(t, map[string]string{
		"compose.yaml":          "services:\n  web:\n    image: web:1\n",
		"compose.override.yaml": "services:\n  web:\n    privileged: true\n    network_mode: host\n",
		"other.yaml":            "services:\n  web:\n    image: web:1\n",
	})
	ws := services(t, parseComposeFile(t, filepath.Join(dir, "compose.yaml"), ComposeOptions{}))
	if w := ws["web"]; !w.Privileged || w.Namespaces.Network != "host" {
		t.Errorf("compose.yaml: privileged %v network %q, want the override's true and host", w.Privileged, w.Namespaces.Network)
	}
	other, err := ParseComposeWith(context.Background(), filepath.Join(dir, "other.yaml"), []byte("services:\n  web:\n    image: web:1\n"), ComposeOptions{Environment: map[string]string{}})
	if err != nil || len(other) != 1 || other[0].Privileged {
		t.Errorf("other.yaml: %v %+v, want one unprivileged service", err, other)
	}
	got := ReadFiles(context.Background(), []string{dir}, ReadOptions{})
	if len(got.Errs) != 0 || len(got.Workloads) != 2 {
		t.Fatalf("errors %v, %d workloads, want 2", got.Errs, len(got.Workloads))
	}
	if want := []string{filepath.Join(dir, "compose.override.yaml") + ": read with compose.yaml, which it overrides"}; !slices.Equal(got.Skipped, want) {
		t.Errorf("skipped %q, want %q", got.Skipped, want)
	}
}

// TestParseComposeFileFromEnv: COMPOSE_FILE in the .env file beside the
// default Compose file names the files docker compose merges there, in
// order, instead of the override file; a file it names outside the
// directory is an error.
func TestParseComposeFileFromEnv(t *testing.T) {
	dir := writeProject(t, map[string]string{
		".env":                  "COMPOSE_FILE=base.yaml:compose.yaml:prod.yaml\n",
		"base.yaml":             "services:\n  web:\n    image: web:1\n    privileged: true\n",
		"compose.yaml":          "services:\n  web:\n    image: web:2\n    privileged: false\n",
		"prod.yaml":             "services:\n  web:\n    network_mode: host\n",
		"compose.override.yaml": "services:\n  web:\n    pid: host\n",
	})
	ws := services(t, parseComposeFile(t, filepath.Join(dir, "compose.yaml"), ComposeOptions{}))
	w := ws["web"]
	wantEqual(t, "image, privileged, network, pid", []any{w.Image, w.Privileged, w.Namespaces.Network, w.Namespaces.PID}, []any{"web:2", false, "host", ""})

	outside := filepath.Join(t.TempDir(), "outside.yaml")
	if err := os.WriteFile(outside, []byte("services:\n  web:\n    image: outside:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("COMPOSE_FILE=compose.yaml:"+outside+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if _, err := ParseComposeWith(context.Background(), filepath.Join(dir, "compose.yaml"), data, ComposeOptions{Environment: map[string]string{}}); err == nil || !strings.Contains(err.Error(), "outside the project directory") {
		t.Errorf("COMPOSE_FILE outside the directory: %v", err)
	}
}

// TestParseComposeSeccompProfileFile: a seccomp=FILE profile docker
// compose reads and sends is judged by its content: one whose every
// action lets calls run (allow, log) is no filter at all; a real filter
// stays the profile named.
func TestParseComposeSeccompProfileFile(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"allow.json":  `{"defaultAction": "SCMP_ACT_ALLOW"}`,
		"log.json":    `{"defaultAction": "SCMP_ACT_LOG", "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ALLOW"}]}`,
		"filter.json": `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`,
		"compose.yaml": `services:
  allow: {image: "x:1", security_opt: ["seccomp=allow.json"]}
  log: {image: "x:1", security_opt: ["seccomp:./log.json"]}
  filter: {image: "x:1", security_opt: ["seccomp=filter.json"]}
`,
	})
	ws := services(t, parseComposeFile(t, filepath.Join(dir, "compose.yaml"), ComposeOptions{}))
	got := []string{ws["allow"].Seccomp, ws["log"].Seccomp, ws["filter"].Seccomp}
	wantEqual(t, "seccomp", got, []string{"unconfined", "unconfined", "filter.json"})
}

// TestComposeVolumesFromChain: a chain of services each taking the last
// one's volumes three times (volumes_from by service, read-only, by
// container name) gives each one mount, in time linear in the chain: the
// mounts at one destination are not copied down the chain, which grew
// exponentially (3^16 lists at maxJoinDepth).
func TestComposeVolumesFromChain(t *testing.T) {
	var b strings.Builder
	b.WriteString("services:\n  s0:\n    image: a\n    container_name: c0\n    volumes: [\"/x:/x\"]\n")
	const n = 22
	for i := 1; i < n; i++ {
		b.WriteString("  s" + strconv.Itoa(i) + ":\n    image: a\n    container_name: c" + strconv.Itoa(i) + "\n")
		b.WriteString("    volumes_from: [\"s" + strconv.Itoa(i-1) + "\", \"s" + strconv.Itoa(i-1) + ":ro\", \"container:c" + strconv.Itoa(i-1) + "\"]\n")
	}
	path := filepath.Join(t.TempDir(), "compose.yaml")
	writeFile(t, path, b.String())
	type result struct {
		ws  []Workload
		err error
	}
	done := make(chan result, 1)
	go func() {
		ws, err := ParseCompose(context.Background(), path, []byte(b.String()))
		done <- result{ws, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("volumes_from chain: not converted in 30s")
	}
	if r.err != nil || len(r.ws) != n {
		t.Fatalf("got %d workloads, %v", len(r.ws), r.err)
	}
	for _, w := range r.ws {
		if len(w.Mounts) != 1 || w.Mounts[0].Destination != "/x" || w.Mounts[0].ReadOnly {
			t.Errorf("%s: mounts %+v, want /x read-write once", w.Name, w.Mounts)
		}
	}
}
