package workload

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
)

// The oracle for ParseCompose would be `docker compose config --format
// json`, but the Compose plugin is not packaged for this Debian release
// (apt offers docker-compose 1.29, the retired Python implementation, and
// neither docker-compose-plugin nor docker-compose-v2). The oracle is
// therefore what docker compose itself runs to load a project: compose-go's
// cli.ProjectOptions with docker compose's options (environment, .env,
// COMPOSE_PROFILES, project name), rendered as the JSON `docker compose
// config --format json` prints. ParseCompose loads through its own
// options and maps the typed model; this test checks both the loading and
// every mapped field against that rendering.

// composeConfig is the part of `docker compose config --format json` the
// test compares.
type composeConfig struct {
	Services map[string]composeContainerJSON `json:"services"`
	Jobs     map[string]composeContainerJSON `json:"jobs"`
	Networks map[string]struct {
		Name string `json:"name"`
	} `json:"networks"`
	Volumes map[string]struct {
		Name string `json:"name"`
	} `json:"volumes"`
}

// composeContainerJSON is one service, job or pre_start hook as compose
// renders it.
type composeContainerJSON struct {
	Image        string   `json:"image"`
	User         string   `json:"user"`
	CapAdd       []string `json:"cap_add"`
	CapDrop      []string `json:"cap_drop"`
	Privileged   bool     `json:"privileged"`
	ReadOnly     bool     `json:"read_only"`
	NetworkMode  string   `json:"network_mode"`
	Pid          string   `json:"pid"`
	Ipc          string   `json:"ipc"`
	Uts          string   `json:"uts"`
	UsernsMode   string   `json:"userns_mode"`
	Cgroup       string   `json:"cgroup"`
	CgroupParent string   `json:"cgroup_parent"`
	SecurityOpt  []string `json:"security_opt"`
	Networks     map[string]any
	Volumes      []struct {
		Type     string `json:"type"`
		Source   string `json:"source"`
		Target   string `json:"target"`
		ReadOnly bool   `json:"read_only"`
		Bind     *struct {
			Propagation string `json:"propagation"`
		} `json:"bind"`
	} `json:"volumes"`
	Tmpfs   []string `json:"tmpfs"`
	Devices []struct {
		Source      string `json:"source"`
		Target      string `json:"target"`
		Permissions string `json:"permissions"`
	} `json:"devices"`
	DeviceCgroupRules []string `json:"device_cgroup_rules"`
	Ports             []struct {
		Target    uint32 `json:"target"`
		Published string `json:"published"`
		HostIP    string `json:"host_ip"`
		Protocol  string `json:"protocol"`
	} `json:"ports"`
	MemLimit  string  `json:"mem_limit"`
	CPUs      float64 `json:"cpus"`
	PidsLimit int64   `json:"pids_limit"`
	Restart   string  `json:"restart"`
	Deploy    *struct {
		Resources struct {
			Limits *struct {
				Memory string  `json:"memory"`
				CPUs   float64 `json:"cpus"`
				Pids   int64   `json:"pids"`
			} `json:"limits"`
		} `json:"resources"`
		RestartPolicy *struct {
			Condition   string  `json:"condition"`
			MaxAttempts *uint64 `json:"max_attempts"`
		} `json:"restart_policy"`
	} `json:"deploy"`
	Healthcheck *struct {
		Test    []string `json:"test"`
		Disable bool     `json:"disable"`
	} `json:"healthcheck"`
	Sysctls     map[string]string      `json:"sysctls"`
	VolumesFrom []string               `json:"volumes_from"`
	PreStart    []composeContainerJSON `json:"pre_start"`
	PostStart   []composeHookJSON      `json:"post_start"`
	PreStop     []composeHookJSON      `json:"pre_stop"`
}

// composeHookJSON is a post_start or pre_stop hook as compose renders it.
type composeHookJSON struct {
	Privileged bool `json:"privileged"`
}

// dockerComposeConfig loads path as docker compose's config command does.
func dockerComposeConfig(t *testing.T, path string, env map[string]string) composeConfig {
	t.Helper()
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{path},
		cli.WithEnv(environ),
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(),
	)
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose-go: %v", err)
	}
	data, err := project.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var c composeConfig
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// bytesOf reads the byte counts compose renders as decimal strings.
func bytesOf(t *testing.T, s string) int64 {
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("byte count %q: %v", s, err)
	}
	return n
}

func TestParseComposeMatchesDockerComposeConfig(t *testing.T) {
	envs := []map[string]string{
		{},
		{"COMPOSE_PROFILES": "debug"},
		{"WEB_TAG": "4.0", "COMPOSE_PROJECT_NAME": "renamed"},
	}
	for _, file := range composeCorpus(t) {
		for _, env := range envs {
			t.Run(fmt.Sprintf("%s %v", filepath.Base(filepath.Dir(file)), env), func(t *testing.T) {
				want := dockerComposeConfig(t, file, env)
				got := parseComposeFile(t, file, ComposeOptions{Environment: env})
				wantC := map[string]composeContainerJSON{}
				for name, svc := range want.Services {
					wantC["services."+name] = svc
					for i, h := range svc.PreStart {
						wantC["services."+name+".pre_start["+strconv.Itoa(i)+"]"] = h
					}
				}
				for name, job := range want.Jobs {
					wantC["jobs."+name] = job
				}
				names := slices.Sorted(maps.Keys(wantC))
				wantEqual(t, "containers", slices.Sorted(maps.Keys(got)), names)

				for _, name := range names {
					s, w := wantC[name], got[name]
					cmpField := func(what string, got, want any) {
						t.Helper()
						wantEqual(t, name+" "+what, got, want)
					}
					cmpField("image", w.Image, s.Image)
					cmpField("user", w.User, s.User)
					cmpField("cap_add", w.CapAdd, normalizeCaps(s.CapAdd))
					cmpField("cap_drop", w.CapDrop, normalizeCaps(s.CapDrop))
					// A privileged post_start or pre_stop hook makes the
					// container's workload privileged.
					privileged := s.Privileged
					for _, h := range append(s.PostStart, s.PreStop...) {
						privileged = privileged || h.Privileged
					}
					cmpField("privileged", w.Privileged, privileged)
					cmpField("read_only", w.ReadOnlyRootfs, s.ReadOnly)
					cmpField("namespaces", []string{w.Namespaces.PID, w.Namespaces.IPC, w.Namespaces.UTS, w.Namespaces.User, w.Namespaces.Cgroup}, []string{s.Pid, s.Ipc, s.Uts, s.UsernsMode, s.Cgroup})
					cmpField("cgroup_parent", w.CgroupParent, s.CgroupParent)
					cmpField("device_cgroup_rules", w.DeviceCgroupRules, s.DeviceCgroupRules)
					cmpField("sysctls", w.Sysctls, s.Sysctls)
					cmpField("volumes_from", w.VolumesFrom, s.VolumesFrom)

					var nets []string
					for n := range s.Networks {
						nets = append(nets, want.Networks[n].Name)
					}
					slices.Sort(nets)
					gotNets := slices.Sorted(slices.Values(w.Networks))
					cmpField("networks", gotNets, nets)
					switch {
					case s.NetworkMode != "":
						cmpField("network_mode", w.Namespaces.Network, s.NetworkMode)
					case len(nets) > 0:
						cmpField("network_mode", slices.Contains(nets, w.Namespaces.Network), true)
					}

					for _, o := range s.SecurityOpt {
						so, err := parseSecurityOpt(0, o)
						if err != nil {
							continue
						}
						k, v := so.key, so.value
						switch k {
						case "seccomp":
							cmpField("seccomp", w.Seccomp, v)
						case "apparmor":
							cmpField("apparmor", w.AppArmor, v)
						case "label":
							cmpField("label", w.SELinuxDisabled, v == "disable")
						case "no-new-privileges":
							cmpField("no-new-privileges", w.NoNewPrivileges != nil && *w.NoNewPrivileges, v == "" || v == "true")
						case "systempaths":
							cmpField("systempaths", w.SystemPathsUnconfined, v == "unconfined")
						}
					}

					var mounts []Mount
					for _, v := range s.Volumes {
						m := Mount{Type: v.Type, Source: v.Source, Destination: v.Target, ReadOnly: v.ReadOnly}
						if v.Type == "volume" && v.Source != "" {
							m.Source = want.Volumes[v.Source].Name
						}
						if v.Bind != nil {
							m.Propagation = v.Bind.Propagation
						}
						mounts = append(mounts, m)
					}
					for _, tm := range s.Tmpfs {
						mounts = append(mounts, Mount{Type: "tmpfs", Destination: strings.SplitN(tm, ":", 2)[0]})
					}
					// The mounts volumes_from brings follow the service's own
					// (docker compose config lists only these); a service
					// without volumes_from has no others.
					own := w.Mounts
					if len(s.VolumesFrom) > 0 && len(own) > len(mounts) {
						own = own[:len(mounts)]
						if len(mounts) == 0 {
							own = nil
						}
					}
					cmpField("volumes", own, mounts)

					var devices []Device
					for _, d := range s.Devices {
						devices = append(devices, Device{PathOnHost: d.Source, PathInContainer: d.Target, Permissions: d.Permissions})
					}
					cmpField("devices", w.Devices, devices)

					var ports []Port
					for _, p := range s.Ports {
						ports = append(ports, Port{HostIP: p.HostIP, HostPort: p.Published, ContainerPort: strconv.FormatUint(uint64(p.Target), 10), Protocol: p.Protocol})
					}
					cmpField("ports", w.Ports, ports)

					mem, cpus, pids := bytesOf(t, s.MemLimit), s.CPUs, s.PidsLimit
					restart := s.Restart
					var retries int
					if r, n, ok := strings.Cut(restart, ":"); ok {
						restart = r
						retries, _ = strconv.Atoi(n)
					}
					if d := s.Deploy; d != nil {
						if l := d.Resources.Limits; l != nil {
							if l.Memory != "" {
								mem = bytesOf(t, l.Memory)
							}
							if l.CPUs != 0 {
								cpus = l.CPUs
							}
							if l.Pids > 0 {
								pids = l.Pids
							}
						}
						if rp := d.RestartPolicy; rp != nil {
							restart, retries = rp.Condition, 0
							if rp.MaxAttempts != nil {
								retries = int(*rp.MaxAttempts)
							}
						}
					}
					cmpField("memory", w.Resources.Memory, mem)
					cmpField("cpus", float64(w.Resources.NanoCPUs)/1e9, float64(float32(cpus)))
					var gotPids int64
					if w.Resources.PidsLimit != nil {
						gotPids = *w.Resources.PidsLimit
					}
					cmpField("pids", gotPids, pids)
					cmpField("restart", w.Restart, Restart{Policy: composeRestartPolicy(restart), MaxRetries: retries})

					var health *bool
					if hc := s.Healthcheck; hc != nil {
						switch {
						case hc.Disable || len(hc.Test) > 0 && hc.Test[0] == "NONE":
							health = ptr(false)
						case len(hc.Test) > 0:
							health = ptr(true)
						}
					}
					cmpField("healthcheck", w.Healthcheck, health)
				}
			})
		}
	}
}
