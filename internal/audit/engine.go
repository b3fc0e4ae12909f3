package audit

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hull-sec/hull/internal/engineapi"
	"github.com/hull-sec/hull/internal/mountinfo"
	"github.com/hull-sec/hull/internal/workload"
)

// Engine is a container engine found through its API socket, with what
// the engine and the files beside it say about its configuration and its
// containers. Checks judge Engines; Discover fills them from the host.
type Engine struct {
	// Kind is "docker" or "podman".
	Kind string
	// Endpoint is the unix:// socket the engine answered on.
	Endpoint string
	Version  engineapi.Version
	Info     engineapi.Info
	// Config is the daemon's configuration from its command line and
	// daemon.json (dockerd), nil when no matching process was visible.
	Config *DaemonConfig
	// Podman is a Podman service's configuration files, nil for Docker or
	// when the service process is not visible.
	Podman *PodmanConfig
	// podmanRootless is Podman's own /libpod/info answer (its
	// Docker-compatible /info does not say whether it is rootless).
	podmanRootless bool
	// BridgeICC is the default bridge's inter-container communication
	// setting ("true", "false"), "" when the engine has no default bridge.
	BridgeICC string
	// bridgeProblem and rootlessProblem say why the default bridge or
	// Podman's /libpod/info could not be read: only the checks that need
	// them are undecided, the engine is still judged.
	bridgeProblem, rootlessProblem string
	// local is set when the engine runs on this host: its containers'
	// PIDs are this host's, so /proc shows their namespaces.
	local      bool
	Containers []Container
}

// Rootless reports whether the engine runs without root on the host.
func (e *Engine) Rootless() bool {
	_, ok := e.Info.SecurityOption("rootless")
	return ok || e.podmanRootless
}

// UsernsRemap reports whether the engine maps container root to an
// unprivileged host user (dockerd --userns-remap).
func (e *Engine) UsernsRemap() bool {
	_, ok := e.Info.SecurityOption("userns")
	return ok
}

// Container is a running container as the audit sees it: what the
// engine's inspection says (Podman's Docker-compatible API answers the
// same) and what the audit read beside it.
type Container struct {
	// ID and Name are the container's, from its inspection or, when the
	// engine would not describe it, from the engine's list (they shadow
	// ContainerJSON's, which stay empty).
	ID   string `json:"Id"`
	Name string `json:"Name"`
	engineapi.ContainerJSON
	// Commands are the command lines running in the container, from the
	// host's /proc or, when its processes are not visible there, the
	// engine's /containers/ID/top.
	Commands []string `json:"-"`
	// status is what the kernel says of the container's first process
	// (/proc/PID/status), nil when it is not visible (a remote engine,
	// hidepid, an ordinary user auditing root's containers).
	status *procStatus
	// mounts are the mounts its first process sees
	// (/proc/PID/mountinfo), nil when not visible.
	mounts []mountinfo.Mount
	// memoryLimit and pidsLimit are the limits the kernel enforces on
	// its cgroup, nil when not visible (a rootless engine on cgroup v1
	// reports limits it cannot apply).
	memoryLimit, pidsLimit *cgroupLimit
	// deviceRules are the device rules its cgroup enforces (Podman's
	// inspect leaves --device-cgroup-rule out), nil when not visible.
	deviceRules []string
	// Problem says why the engine would not inspect the container (only
	// its ID and name are known); no check can judge it.
	Problem string `json:"-"`
	// CommandsProblem says why its processes could not be listed (a
	// restarting container has none: the engine answers 409); checks
	// of its processes cannot judge it.
	CommandsProblem string `json:"-"`
}

// top lists the command lines running in a container.
func top(ctx context.Context, c EngineConn, id string) ([]string, error) {
	var t struct {
		Titles    []string   `json:"Titles"`
		Processes [][]string `json:"Processes"`
	}
	if err := getJSON(ctx, c, "/containers/"+url.PathEscape(id)+"/top", &t); err != nil {
		return nil, err
	}
	cmds, ok := topCommands(t.Titles, t.Processes)
	if !ok {
		return nil, fmt.Errorf("GET /containers/%s/top: no command column in %q", id, t.Titles)
	}
	return cmds, nil
}

// topCommands picks the command column of a /top answer; false when it
// has none. Podman 4 answers each title row and process row as one string
// of space-separated columns.
func topCommands(titles []string, procs [][]string) ([]string, bool) {
	packed := len(titles) == 1
	if packed {
		titles = strings.Fields(titles[0])
	}
	col := slices.IndexFunc(titles, func(s string) bool { return s == "CMD" || s == "COMMAND" })
	if col < 0 {
		return nil, false
	}
	var out []string
	for _, p := range procs {
		if packed && len(p) == 1 {
			p = strings.Fields(p[0])
			if col < len(p) {
				out = append(out, strings.Join(p[col:], " "))
			}
			continue
		}
		if col < len(p) {
			out = append(out, p[col])
		}
	}
	return out, true
}

// Label names the container in evidence.
func (c Container) Label() string { return workload.ContainerLabel(c.Name, c.ID) }

// Limits on what an engine may answer: its API is trusted no more than
// any other input.
const (
	maxAPIResponse = 16 << 20
	maxContainers  = 5000
)

// DefaultEngineTimeout bounds the questions to one engine when
// ClientOptions.Timeout is unset.
const DefaultEngineTimeout = 20 * time.Second

// EngineConn is how to reach an engine's API: a unix socket, or TCP with
// or without TLS.
type EngineConn struct {
	// Endpoint names the engine: unix:///run/docker.sock, tcp://HOST:PORT.
	Endpoint string
	client   *http.Client
	base     string
	// local is set when the engine runs on this host, so its
	// containers' processes are in this host's /proc.
	local bool
}

// UnixConn reaches the engine on a unix socket.
func UnixConn(path string) EngineConn {
	return EngineConn{Endpoint: "unix://" + path, base: "http://engine", local: true, client: engineapi.UnixClient(path)}
}

// TCPConn reaches the engine at HOST:PORT, over TLS when tlsConf is set
// (the client certificate of DOCKER_CERT_PATH), else in plain HTTP.
func TCPConn(addr string, tlsConf *tls.Config) EngineConn {
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	return EngineConn{Endpoint: "tcp://" + addr, base: scheme + "://" + addr, local: isLoopback(addr),
		client: &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf, MaxIdleConnsPerHost: 8}}}
}

func getJSON(ctx context.Context, c EngineConn, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIResponse+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if len(body) > maxAPIResponse {
		return fmt.Errorf("GET %s: answer larger than %d bytes", path, maxAPIResponse)
	}
	if resp.StatusCode != http.StatusOK {
		return &apiError{path: path, status: resp.StatusCode, body: strings.TrimSpace(string(body[:min(len(body), 200)]))}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

type apiError struct {
	path   string
	status int
	body   string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("GET %s: status %d: %s", e.path, e.status, e.body)
}

// QueryEngine asks the engine, all within timeout, for its version, its
// configuration and its running containers (inspected a few at a time); the processes in each
// container are read from p's /proc when the engine is local and they
// are visible, else from the engine.
func QueryEngine(ctx context.Context, p Probe, c EngineConn, timeout time.Duration) (*Engine, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer c.client.CloseIdleConnections()
	e := &Engine{Kind: "docker", Endpoint: c.Endpoint, local: c.local}
	if err := getJSON(ctx, c, "/version", &e.Version); err != nil {
		return nil, err
	}
	if e.Version.Component("Podman Engine") != "" {
		e.Kind = "podman"
		var li struct {
			Host struct {
				Security struct {
					Rootless bool `json:"rootless"`
				} `json:"security"`
			} `json:"host"`
		}
		// Podman's own routes carry a version prefix; its version serves.
		if err := getJSON(ctx, c, "/v"+url.PathEscape(e.Version.Component("Podman Engine"))+"/libpod/info", &li); err != nil {
			e.rootlessProblem = err.Error()
		}
		e.podmanRootless = li.Host.Security.Rootless
	}
	if err := getJSON(ctx, c, "/info", &e.Info); err != nil {
		return nil, err
	}
	if e.Kind == "docker" {
		var bridge struct {
			Options map[string]string `json:"Options"`
		}
		switch err := getJSON(ctx, c, "/networks/bridge", &bridge); {
		case isNotFound(err):
		case err != nil:
			e.bridgeProblem = err.Error()
		default:
			e.BridgeICC = bridge.Options["com.docker.network.bridge.enable_icc"]
			if e.BridgeICC == "" {
				e.BridgeICC = "true"
			}
		}
	}
	var list []struct {
		ID    string   `json:"Id"`
		Names []string `json:"Names"`
	}
	if err := getJSON(ctx, c, "/containers/json", &list); err != nil {
		return nil, err
	}
	if len(list) > maxContainers {
		return nil, fmt.Errorf("the engine lists %d running containers, more than hull inspects (%d)", len(list), maxContainers)
	}
	e.Containers = make([]Container, len(list))
	gone := make([]bool, len(list))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, l := range list {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ct := &e.Containers[i]
			gone[i] = inspect(ctx, p, c, l.ID, ct)
			if ct.ID == "" {
				ct.ID = l.ID
			}
			if ct.Name == "" && len(l.Names) > 0 {
				ct.Name = l.Names[0]
			}
		})
	}
	wg.Wait()
	// A container that stopped between the list and its inspection is
	// gone, not an error; one the engine would not describe is judged
	// by no check, and the checks say so.
	kept := e.Containers[:0]
	for i := range e.Containers {
		if !gone[i] {
			kept = append(kept, e.Containers[i])
		}
	}
	e.Containers = kept
	slices.SortFunc(e.Containers, func(a, b Container) int { return strings.Compare(a.Name, b.Name) })
	return e, nil
}

// inspect fills ct with the engine's description of container id and the
// command lines running in it, container by container: what fails is
// kept in ct.Problem or ct.CommandsProblem, so one container the engine
// will not describe (409 for a restarting one) leaves the others judged.
// It reports whether the container is gone (404).
func inspect(ctx context.Context, p Probe, c EngineConn, id string, ct *Container) (gone bool) {
	if err := getJSON(ctx, c, "/containers/"+url.PathEscape(id)+"/json", ct); err != nil {
		if isNotFound(err) {
			return true
		}
		ct.Problem = "not inspected: " + err.Error()
		return false
	}
	// /top runs ps on the engine's host, tens of milliseconds each;
	// /proc answers the same in microseconds when visible.
	ok := false
	if c.local {
		ct.Commands, ok = procTree(p, ct.State.Pid)
		ct.status = readProcStatus(p, ct.State.Pid)
		if ct.State.Pid > 0 {
			if data, err := p.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", ct.State.Pid)); err == nil {
				ct.mounts = mountinfo.Parse(data)
			}
			if cg, ok := readCgroups(p, ct.State.Pid); ok {
				ct.memoryLimit = cg.limit(p, "memory", "memory.limit_in_bytes", "memory.max")
				ct.pidsLimit = cg.limit(p, "pids", "pids.max", "pids.max")
				ct.deviceRules = cg.deviceRules(p)
			}
		}
	}
	if !ok {
		var err error
		if ct.Commands, err = top(ctx, c, id); err != nil {
			if isNotFound(err) {
				return true
			}
			ct.CommandsProblem = "processes not listed: " + err.Error()
		}
	}
	return false
}

func isNotFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.status == http.StatusNotFound
}

// NoNewPrivilegesDefault reports whether the engine's configuration makes
// no-new-privileges the default for every container.
func (e *Engine) NoNewPrivilegesDefault() bool {
	switch {
	case e.Config != nil:
		return e.Config.Bool("no-new-privileges", false)
	case e.Podman != nil:
		return e.Podman.NoNewPrivileges
	}
	return false
}

// procStatus is what the kernel says of a process's confinement, from
// /proc/PID/status: the truth the engine's inspection only describes
// (a Podman containers.conf can turn seccomp off for every container
// while inspect and /info still say "default").
type procStatus struct {
	// NoNewPrivs is the no_new_privs bit.
	NoNewPrivs bool
	// Seccomp is the mode: 0 none, 1 strict, 2 filter.
	Seccomp int
	// CapBnd is the bounding set: every capability the process or its
	// children can hold.
	CapBnd uint64
	// UID is the effective user ID, as the host sees it.
	UID int
}

// readProcStatus reads a process's confinement; nil when pid is not
// visible or its status lacks a field (a kernel without seccomp).
func readProcStatus(p Probe, pid int) *procStatus {
	if pid <= 0 {
		return nil
	}
	data, err := p.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	var st procStatus
	seen := 0
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		var err error
		switch k {
		case "NoNewPrivs":
			st.NoNewPrivs = v == "1"
		case "Seccomp":
			st.Seccomp, err = strconv.Atoi(v)
		case "CapBnd":
			st.CapBnd, err = strconv.ParseUint(v, 16, 64)
		case "Uid": // real, effective, saved, filesystem
			f := strings.Fields(v)
			if len(f) < 2 {
				return nil
			}
			st.UID, err = strconv.Atoi(f[1])
		default:
			continue
		}
		if err != nil {
			return nil
		}
		seen++
	}
	if seen != 4 {
		return nil
	}
	return &st
}

// withoutNoNewPrivs names the running containers the kernel shows
// without no_new_privs that did not ask to run so
// (--security-opt no-new-privileges=false).
func (e *Engine) withoutNoNewPrivs() []string {
	var out []string
	for _, c := range e.Containers {
		w := workload.FromInspect(&c.ContainerJSON)
		asked := w.NoNewPrivileges
		if c.status != nil && !c.status.NoNewPrivs && (asked == nil || *asked) && !c.HostConfig.Privileged {
			out = append(out, c.Label())
		}
	}
	return out
}

// cgroupLimit is the limit the kernel enforces on a process's own cgroup,
// as the container rules read it.
type cgroupLimit = workload.CgroupLimit

// procCgroups is /proc/PID/cgroup, read once per container: each line's
// hierarchy ID, controllers and path.
type procCgroups [][3]string

// readCgroups reads the cgroups pid is in; false when the file cannot be
// read.
func readCgroups(p Probe, pid int) (procCgroups, bool) {
	data, err := p.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return nil, false
	}
	var cg procCgroups
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 || !path.IsAbs(f[2]) || path.Clean(f[2]) != f[2] {
			continue
		}
		cg = append(cg, [3]string(f))
	}
	return cg, true
}

// of finds the cgroup for controller: the v1 hierarchy holding the
// controller (its mount name, "cpu,cpuacct" for instance, and the path
// in it) and the v2 path.
func (cg procCgroups) of(controller string) (v1Ctrl, v1, v2 string) {
	for _, f := range cg {
		switch {
		case slices.Contains(strings.Split(f[1], ","), controller):
			v1Ctrl, v1 = f[1], f[2]
		case f[0] == "0" && f[1] == "":
			v2 = f[2]
		}
	}
	return v1Ctrl, v1, v2
}

// limit reads the limit of controller on the process's cgroup: cgroup v1
// (/sys/fs/cgroup/CONTROLLER/PATH/v1File) when the controller is mounted
// there, else cgroup v2 (/sys/fs/cgroup/PATH/v2File, or under
// /sys/fs/cgroup/unified in a hybrid layout); nil when it cannot be read.
func (cg procCgroups) limit(p Probe, controller, v1File, v2File string) *cgroupLimit {
	v1Ctrl, v1, v2 := cg.of(controller)
	var files []string
	switch {
	case v1 == "/" || v1 == "" && v2 == "/":
		return &cgroupLimit{Where: "the root " + controller + " cgroup"}
	case v1 != "":
		files = []string{path.Join("/sys/fs/cgroup", v1Ctrl, v1, v1File)}
	case v2 != "":
		files = []string{path.Join("/sys/fs/cgroup", v2, v2File), path.Join("/sys/fs/cgroup/unified", v2, v2File)}
	}
	for _, file := range files {
		v, err := p.ReadFile(file)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(v))
		if s == "max" {
			return &cgroupLimit{Where: file}
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil
		}
		if n >= 1<<62 {
			n = 0
		}
		return &cgroupLimit{Max: n, Where: file}
	}
	return nil
}

// deviceRules lists what the cgroup v1 devices controller lets the
// process open and create (devices.list; the root cgroup allows
// everything); nil when not visible or on cgroup v2, whose device rules
// are eBPF programs.
func (cg procCgroups) deviceRules(p Probe) []string {
	ctrl, v1, _ := cg.of("devices")
	if v1 == "" {
		return nil
	}
	if v1 == "/" {
		return []string{"a *:* rwm (the root devices cgroup)"}
	}
	data, err := p.ReadFile(path.Join("/sys/fs/cgroup", ctrl, v1, "devices.list"))
	if err != nil {
		return nil
	}
	out := []string{}
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// maxContainerProcs bounds the processes read per container.
const maxContainerProcs = 4096

// procTree lists the command lines of pid and its descendants from
// /proc; false when pid is not visible there (another PID namespace or
// host, or hidepid).
func procTree(p Probe, pid int) ([]string, bool) {
	if pid <= 0 {
		return nil, false
	}
	var out []string
	queue := []int{pid}
	for len(queue) > 0 && len(out) < maxContainerProcs {
		cur := queue[0]
		queue = queue[1:]
		cmd, err := p.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cur))
		if err != nil {
			if cur == pid {
				return nil, false
			}
			continue // exited meanwhile
		}
		out = append(out, strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " ")))
		tasks, err := p.ReadDir(fmt.Sprintf("/proc/%d/task", cur))
		if err != nil {
			if cur == pid {
				return nil, false
			}
			continue
		}
		for _, t := range tasks {
			kids, err := p.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", cur, t.Name()))
			if err != nil {
				if cur == pid {
					return nil, false
				}
				continue
			}
			for _, k := range strings.Fields(string(kids)) {
				if n, err := strconv.Atoi(k); err == nil {
					queue = append(queue, n)
				}
			}
		}
	}
	return out, true
}
