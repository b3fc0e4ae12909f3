package audit

import (
	"cmp"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// DaemonConfig is a dockerd's effective configuration as far as its
// command line and daemon.json show it: every setting under its
// daemon.json key ("icc", "hosts", "no-new-privileges"), flags and file
// merged. Settings left at their defaults are absent.
type DaemonConfig struct {
	PID int
	// UID is the user dockerd runs as: 0, or a rootless engine's user.
	UID int
	// Binary is the program dockerd was started as, when its command
	// line names it by absolute path.
	Binary string
	// env is the process's environment (rootless paths depend on it).
	env map[string]string
	// File is the daemon.json read ("" when there was none).
	File     string
	settings map[string][]string
	// Problem says why daemon.json could not be read, if it exists.
	Problem string
}

// dockerdBoolFlags are dockerd's boolean flags: "--flag" alone means
// true and the next argument is not its value.
var dockerdBoolFlags = map[string]bool{
	"icc": true, "iptables": true, "ip6tables": true, "ip-forward": true, "ip-masq": true,
	"userland-proxy": true, "no-new-privileges": true, "live-restore": true, "selinux-enabled": true,
	"tls": true, "tlsverify": true, "experimental": true, "debug": true, "rootless": true, "init": true,
	"raw-logs": true, "validate": true, "help": true, "version": true,
}

// dockerdListKeys maps dockerd's repeatable flags to their (plural)
// daemon.json keys.
var dockerdListKeys = map[string]string{
	"host": "hosts", "authorization-plugin": "authorization-plugins", "insecure-registry": "insecure-registries",
	"default-ulimit": "default-ulimits", "registry-mirror": "registry-mirrors", "label": "labels",
	"dns": "dns", "add-runtime": "runtimes", "log-opt": "log-opts", "storage-opt": "storage-opts",
}

// relativePathFlags are dockerd's flags naming files, which a relative
// path names from dockerd's working directory.
var relativePathFlags = map[string]bool{"tlscacert": true, "tlscert": true, "tlskey": true, "data-root": true, "exec-root": true}

// dockerdShort maps dockerd's short flags to long ones.
var dockerdShort = map[string]string{"H": "host", "D": "debug", "l": "log-level", "G": "group", "p": "pidfile"}

// ParseDaemonConfig reads a dockerd's flags and its daemon.json:
// --config-file, else /etc/docker/daemon.json, or for a rootless dockerd
// (started by rootlesskit) $XDG_CONFIG_HOME/docker/daemon.json of its
// environment, as dockerd itself looks.
func ParseDaemonConfig(p Probe, proc Process) *DaemonConfig {
	env := processEnv(p, proc.PID)
	c := &DaemonConfig{PID: proc.PID, UID: proc.UID, env: env, settings: map[string][]string{}}
	if len(proc.Cmdline) > 0 && filepath.IsAbs(proc.Cmdline[0]) {
		c.Binary = filepath.Clean(proc.Cmdline[0])
	}
	config := "/etc/docker/daemon.json"
	if env["ROOTLESSKIT_STATE_DIR"] != "" {
		dir := env["XDG_CONFIG_HOME"]
		if dir == "" && env["HOME"] != "" {
			dir = filepath.Join(env["HOME"], ".config")
		}
		if dir != "" {
			config = filepath.Join(dir, "docker", "daemon.json")
		}
	}
	args := proc.Cmdline[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		var name string
		switch {
		case strings.HasPrefix(a, "--"):
			name = a[2:]
		case strings.HasPrefix(a, "-") && len(a) >= 2:
			name = a[1:]
			if long, ok := dockerdShort[name[:1]]; ok && (len(name) == 1 || name[1] == '=') {
				name = long + name[1:]
			}
		default:
			continue
		}
		name, val, hasVal := strings.Cut(name, "=")
		if !hasVal {
			if dockerdBoolFlags[name] {
				val = "true"
			} else if i+1 < len(args) {
				i++
				val = args[i]
			}
		}
		if name == "config-file" {
			config = val
			continue
		}
		if relativePathFlags[name] && val != "" && !filepath.IsAbs(val) {
			// Relative to dockerd's working directory, not hull's.
			if cwd, err := p.Readlink(fmt.Sprintf("/proc/%d/cwd", proc.PID)); err == nil && filepath.IsAbs(cwd) {
				val = filepath.Join(cwd, val)
			}
		}
		if key, ok := dockerdListKeys[name]; ok {
			c.settings[key] = append(c.settings[key], val)
			continue
		}
		c.settings[name] = []string{val}
	}
	if !filepath.IsAbs(config) {
		cwd, err := p.Readlink(fmt.Sprintf("/proc/%d/cwd", proc.PID))
		if err != nil || !filepath.IsAbs(cwd) {
			c.File, c.Problem = config, fmt.Sprintf("--config-file %s is relative to dockerd's working directory, which cannot be read", config)
			return c
		}
		config = filepath.Join(cwd, config)
	}
	data, exists, problem := readConfig(p, config)
	if !exists {
		return c
	}
	c.File = config
	if problem != "" {
		c.Problem = problem
		return c
	}
	var file map[string]any
	if err := json.Unmarshal(data, &file); err != nil {
		c.Problem = fmt.Sprintf("%s: %v", config, err)
		return c
	}
	for k, v := range file {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				c.settings[k] = append(c.settings[k], fmt.Sprint(e))
			}
		case map[string]any:
			for name, e := range v {
				b, _ := json.Marshal(e)
				c.settings[k] = append(c.settings[k], name+"="+string(b))
			}
		case nil:
		default:
			c.settings[k] = append(c.settings[k], fmt.Sprint(v))
		}
	}
	return c
}

// Get returns a single-valued setting.
func (c *DaemonConfig) Get(key string) (string, bool) {
	v, ok := c.settings[key]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

// List returns a list setting (hosts, insecure-registries, ...).
func (c *DaemonConfig) List(key string) []string { return c.settings[key] }

// Bool returns a boolean setting, def when unset. dockerd's flags take
// every spelling strconv.ParseBool does (--userland-proxy=T is true);
// dockerd refuses to start with any other, so it cannot be running so.
func (c *DaemonConfig) Bool(key string, def bool) bool {
	v, ok := c.Get(key)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def
	}
	return b
}

// TLSFile is the TLS file dockerd uses for key ("tlscacert", "tlscert",
// "tlskey"): the one its flags or daemon.json name, else, when it serves
// TLS (--tls, --tlsverify or DOCKER_TLS_VERIFY in its environment), name
// ("ca.pem", "cert.pem", "key.pem") in its DOCKER_CERT_PATH, DOCKER_CONFIG
// or ~/.docker, as dockerd defaults them; "" when it uses none.
func (c *DaemonConfig) TLSFile(key, name string) string {
	if v, ok := c.Get(key); ok {
		return v
	}
	if !c.Bool("tls", false) && !c.Bool("tlsverify", false) && c.env["DOCKER_TLS_VERIFY"] == "" {
		return ""
	}
	dir := cmp.Or(c.env["DOCKER_CERT_PATH"], c.env["DOCKER_CONFIG"])
	if dir == "" && c.env["HOME"] != "" {
		dir = filepath.Join(c.env["HOME"], ".docker")
	}
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, name)
}

// socketUnitDirs are where systemd looks for docker.socket, the first
// holding it winning.
var socketUnitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"}

// Listeners are the addresses this dockerd listens on, each as
// unix://PATH or tcp://HOST:PORT: its hosts (-H, "hosts", as dockerd
// reads them: "HOST:PORT" without a scheme is TCP), dockerd's default
// socket when none is set, and for fd:// (systemd socket activation) the
// ListenStream= addresses of docker.socket and its drop-ins. unknown says
// why some could not be known (an fd:// whose socket unit is not found).
func (c *DaemonConfig) Listeners(p Probe) (out []string, unknown string) {
	hosts := c.List("hosts")
	if len(hosts) == 0 {
		switch {
		case c.env["ROOTLESSKIT_STATE_DIR"] == "" && !c.Bool("rootless", false):
			return []string{"unix:///var/run/docker.sock"}, ""
		case c.env["XDG_RUNTIME_DIR"] != "":
			return []string{"unix://" + filepath.Join(c.env["XDG_RUNTIME_DIR"], "docker.sock")}, ""
		}
		return nil, ""
	}
	tls := c.Bool("tls", false) || c.Bool("tlsverify", false)
	for _, h := range hosts {
		proto, addr, ok := strings.Cut(strings.TrimSpace(h), "://")
		if !ok {
			proto, addr = "tcp", proto
		}
		switch proto {
		case "fd":
			ls, why := socketUnitListeners(p)
			if why != "" {
				unknown = fmt.Sprintf("dockerd (pid %d) -H %s: %s", c.PID, h, why)
			}
			out = append(out, ls...)
		case "tcp":
			if addr == "" || strings.HasPrefix(addr, ":") {
				addr = "127.0.0.1" + addr
			}
			out = append(out, "tcp://"+withDefaultPort(addr, tls))
		case "unix":
			out = append(out, "unix://"+cmp.Or(addr, "/var/run/docker.sock"))
		default:
			out = append(out, h)
		}
	}
	return out, unknown
}

// socketUnitListeners reads docker.socket's ListenStream= addresses, as
// systemd does: the first unit file found, then its drop-ins
// (docker.socket.d/*.conf of every unit directory, by name, a name in a
// higher directory hiding the same name in a lower one); an empty
// ListenStream= resets the list.
func socketUnitListeners(p Probe) ([]string, string) {
	var files []string
	for _, d := range socketUnitDirs {
		if _, err := p.Stat(d + "/docker.socket"); err == nil {
			files = append(files, d+"/docker.socket")
			break
		}
	}
	if len(files) == 0 {
		return nil, "no docker.socket unit found to say where it listens"
	}
	var dirs []string
	for _, d := range slices.Backward(socketUnitDirs) {
		dirs = append(dirs, d+"/docker.socket.d")
	}
	files = append(files, dropIns(p, dirs, ".conf")...)
	var out []string
	for _, f := range files {
		data, err := p.ReadFile(f)
		if err != nil {
			return nil, "cannot read " + f + ": " + err.Error()
		}
		for _, line := range strings.Split(string(data), "\n") {
			v, ok := strings.CutPrefix(strings.TrimSpace(line), "ListenStream=")
			if !ok {
				continue
			}
			switch v = strings.TrimSpace(v); {
			case v == "":
				out = nil
			case strings.HasPrefix(v, "/"):
				out = append(out, "unix://"+v)
			case strings.HasPrefix(v, "@"): // abstract socket
			default: // PORT, HOST:PORT, [V6]:PORT
				if _, err := strconv.Atoi(v); err == nil {
					v = "0.0.0.0:" + v
				}
				out = append(out, "tcp://"+v)
			}
		}
	}
	return out, ""
}

// ContainerdSocket is the containerd socket this dockerd uses: --containerd
// ("containerd" in daemon.json), else the one it starts under its exec
// root (--exec-root, by default /var/run/docker, or $XDG_RUNTIME_DIR/docker
// when rootless).
func (c *DaemonConfig) ContainerdSocket() string {
	if s, ok := c.Get("containerd"); ok && s != "" {
		return strings.TrimPrefix(s, "unix://")
	}
	root, ok := c.Get("exec-root")
	if !ok || root == "" {
		root = "/var/run/docker"
		if c.env["ROOTLESSKIT_STATE_DIR"] != "" && c.env["XDG_RUNTIME_DIR"] != "" {
			root = filepath.Join(c.env["XDG_RUNTIME_DIR"], "docker")
		}
	}
	return filepath.Join(root, "containerd", "containerd.sock")
}

// Source names where the configuration came from, for evidence.
func (c *DaemonConfig) Source() string {
	s := fmt.Sprintf("dockerd (pid %d) flags", c.PID)
	if c.File != "" {
		s += " and " + c.File
	}
	return s
}

// unknown says why c's settings are unknown.
func (c *DaemonConfig) unknown() string {
	return fmt.Sprintf("dockerd (pid %d): %s", c.PID, c.Problem)
}

// dockerdConfigs reads the configuration of every dockerd this user can
// see, once for all the checks that ask (the process list and each
// daemon.json are read a single time).
func dockerdConfigs() func(Probe) ([]*DaemonConfig, error) {
	var once sync.Once
	var cs []*DaemonConfig
	var err error
	return func(p Probe) ([]*DaemonConfig, error) {
		once.Do(func() {
			var procs []Process
			if procs, err = p.Processes(); err == nil {
				for _, pr := range dockerds(procs) {
					cs = append(cs, ParseDaemonConfig(p, pr))
				}
			}
		})
		return cs, err
	}
}

// dockerds picks the dockerd processes of a process list.
func dockerds(procs []Process) []Process {
	var out []Process
	for _, pr := range procs {
		if len(pr.Cmdline) > 0 && filepath.Base(pr.Cmdline[0]) == "dockerd" {
			out = append(out, pr)
		}
	}
	return out
}

// processEnv reads a process's environment, empty when it is not visible.
func processEnv(p Probe, pid int) map[string]string {
	env := map[string]string{}
	data, err := p.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return env
	}
	for _, kv := range strings.Split(string(data), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}
