package workload

import (
	"os"
	"strings"
	"testing"
)

func parseLibpodFile(t *testing.T, name string) Workload {
	t.Helper()
	data, err := os.ReadFile("testdata/libpod/" + name)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ParseLibpodSpec(data)
	if err != nil {
		t.Fatalf("ParseLibpodSpec(%s): %v", name, err)
	}
	if w.Stage != StageRequest || w.Source.Kind != "libpod create spec" {
		t.Errorf("%s: stage %d kind %q", name, w.Stage, w.Source.Kind)
	}
	return w
}

func TestParseLibpodSpecAgent(t *testing.T) {
	w := parseLibpodFile(t, "agent.json")
	wantEqual(t, "name", w.Name, "node-agent")
	wantEqual(t, "image", w.Image, "quay.io/example/agent:2.1")
	wantEqual(t, "privileged", w.Privileged, true)
	wantEqual(t, "user", w.User, "0")
	wantEqual(t, "capAdd", w.CapAdd, []string{"SYS_ADMIN", "NET_ADMIN"})
	wantEqual(t, "namespaces", w.Namespaces, Namespaces{Network: "host", PID: "host", IPC: "container:4f1c9b2e", User: "host", Cgroup: "host"})
	wantEqual(t, "mounts", w.Mounts, []Mount{
		{Type: "bind", Source: "/run/podman/podman.sock", Destination: "/run/podman/podman.sock"},
		{Type: "bind", Source: "/", Destination: "/host", ReadOnly: true, Propagation: "rslave"},
		{Type: "tmpfs", Destination: "/scratch"},
		{Type: "volume", Source: "agent-state", Destination: "/var/lib/agent"},
	})
	wantEqual(t, "devices", w.Devices, []Device{
		{PathOnHost: "/dev/kmsg", PathInContainer: "/dev/kmsg", Permissions: "rwm"},
		{PathOnHost: "/dev/sda", PathInContainer: "/dev/xvda", Permissions: "r"},
	})
	wantEqual(t, "device rules", w.DeviceCgroupRules, []string{"c 1:3 mr", "a *:* rwm"})
	wantEqual(t, "confinement", []string{w.Seccomp, w.AppArmor}, []string{"unconfined", "unconfined"})
	wantEqual(t, "selinux, system paths", []bool{w.SELinuxDisabled, w.SystemPathsUnconfined}, []bool{true, true})
	wantEqual(t, "cgroup parent", w.CgroupParent, "machine.slice")
	wantEqual(t, "ports", w.Ports, []Port{
		{HostIP: "::", HostPort: "9100", ContainerPort: "9100", Protocol: "tcp"},
		{HostPort: "8125", ContainerPort: "8125", Protocol: "tcp"},
		{HostPort: "8126", ContainerPort: "8126", Protocol: "tcp"},
		{HostPort: "8125", ContainerPort: "8125", Protocol: "udp"},
		{HostPort: "8126", ContainerPort: "8126", Protocol: "udp"},
	})
	wantEqual(t, "restart", w.Restart, Restart{Policy: "on-failure", MaxRetries: 4})
	wantEqual(t, "healthcheck", w.Healthcheck, (*bool)(nil))
	for setting, path := range map[string]string{
		SetPrivileged: "privileged", SetPID: "pidns", SetIPC: "ipcns", SetCgroupNS: "cgroupns",
		SetSeccomp: "seccomp_profile_path", SetSELinux: "selinux_opts[0]", SetSystemPaths: "unmask",
		"mounts[1]": "mounts[1]", "mounts[3]": "volumes[0]", "devices[1]": "devices[1]",
		"ports[4]": "portmappings[1]", "capAdd[1]": "cap_add[1]", SetRestart: "restart_policy",
		SetDeviceCgroupRules: "device_cgroup_rule",
	} {
		wantPlace(t, w, setting, Place{Path: path})
	}
	if _, ok := w.Source.Fields[SetUTS]; !ok {
		t.Errorf("utsns written as private: no place recorded")
	}
}

func TestParseLibpodSpecWeb(t *testing.T) {
	w := parseLibpodFile(t, "web.json")
	wantEqual(t, "user, groups", []any{w.User, w.Groups}, []any{"1000:1000", []string{"audio"}})
	wantEqual(t, "caps", [][]string{w.CapAdd, w.CapDrop}, [][]string{{"NET_BIND_SERVICE"}, {"ALL"}})
	wantEqual(t, "noNewPrivileges", w.NoNewPrivileges, ptr(true))
	wantEqual(t, "read only", w.ReadOnlyRootfs, true)
	wantEqual(t, "network", w.Namespaces.Network, "bridge")
	wantEqual(t, "networks", w.Networks, []string{"backend", "frontend"})
	wantEqual(t, "userns", w.Namespaces.User, "keep-id")
	wantEqual(t, "resources", w.Resources, Resources{Memory: 256 << 20, CPUShares: 512, CPUQuota: 150000, NanoCPUs: 1_500_000_000, PidsLimit: ptr(int64(128))})
	wantEqual(t, "ports", w.Ports, []Port{{HostIP: "127.0.0.1", HostPort: "80", ContainerPort: "8080", Protocol: "tcp"}})
	wantEqual(t, "restart", w.Restart, Restart{Policy: "always"})
	wantEqual(t, "healthcheck", w.Healthcheck, ptr(true))
	wantPlace(t, w, SetMemory, Place{Path: "resource_limits.memory.limit"})
	wantPlace(t, w, SetPidsLimit, Place{Path: "resource_limits.pids.limit"})
	wantPlace(t, w, SetHealthcheck, Place{Path: "healthconfig"})

	n := parseLibpodFile(t, "nohealth.json")
	wantEqual(t, "name", n.Name, "libpod create request")
	wantEqual(t, "healthcheck NONE", n.Healthcheck, ptr(false))
	wantEqual(t, "noNewPrivileges false", n.NoNewPrivileges, ptr(false))
	wantEqual(t, "seccomp", n.Seccomp, "/etc/containers/seccomp.json")
	wantEqual(t, "system paths", n.SystemPathsUnconfined, false)
}

func TestParseLibpodSpecBadInput(t *testing.T) {
	for name, data := range map[string]string{
		"empty":         "",
		"not json":      "{",
		"trailing":      `{"image":"a"} {"image":"b"}`,
		"wrong type":    `{"cap_add": "ALL"}`,
		"too large":     `{"image":"` + strings.Repeat("a", maxLibpodSpec) + `"}`,
		"negative port": `{"portmappings":[{"container_port":-1}]}`,
		"range too far": `{"portmappings":[{"container_port":65535,"host_port":65535,"range":2}]}`,
		"too many":      `{"portmappings":[{"container_port":1,"range":65535,"protocol":"tcp,udp,sctp,tcp"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if w, err := ParseLibpodSpec([]byte(data)); err == nil {
				t.Errorf("got %+v, want an error", w)
			}
		})
	}
	// The whole port space of every protocol is a valid request.
	w, err := ParseLibpodSpec([]byte(`{"portmappings":[{"container_port":1,"range":65535,"protocol":"tcp,udp,sctp"}]}`))
	if err != nil || len(w.Ports) != 3*65535 {
		t.Errorf("got %d ports, %v", len(w.Ports), err)
	}
}
