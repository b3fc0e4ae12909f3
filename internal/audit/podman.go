package audit

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// PodmanConfig is what the files of a Podman service say: containers.conf,
// registries.conf and policy.json, found as the service finds them (the
// CONTAINERS_CONF and CONTAINERS_REGISTRIES_CONF of its environment,
// the user's ~/.config/containers when rootless, then /etc/containers).
type PodmanConfig struct {
	// Files are the configuration files read, for evidence.
	Files []string
	// NoNewPrivileges is containers.conf's [containers] no_new_privileges.
	NoNewPrivileges bool
	// InsecureRegistries are registries.conf's registries with insecure = true.
	InsecureRegistries []string
	// PolicyFile and PolicyDefault are policy.json and its default
	// requirement type ("insecureAcceptAnything", "reject", ...).
	PolicyFile, PolicyDefault string
	// Problems are files that exist but could not be read or parsed.
	Problems []string
}

// maxConfigFile bounds the configuration files read (daemon.json,
// containers.conf, registries.conf, policy.json).
const maxConfigFile = 4 << 20

// podmanFor finds the `podman system service` among procs serving
// endpoint and reads its configuration; nil when no such process is
// visible.
func podmanFor(p Probe, procs []Process, endpoint string) *PodmanConfig {
	for _, pr := range procs {
		if len(pr.Cmdline) < 3 || filepath.Base(pr.Cmdline[0]) != "podman" || !slices.Contains(pr.Cmdline, "service") || !mayServe(p, pr, endpoint) {
			continue
		}
		uri := "unix:///run/podman/podman.sock"
		for _, a := range pr.Cmdline[1:] {
			if strings.HasPrefix(a, "unix://") || strings.HasPrefix(a, "tcp://") {
				uri = a
			}
		}
		if !sameEndpoint(uri, endpoint) {
			continue
		}
		return readPodmanConfig(p, pr.PID)
	}
	return nil
}

func readPodmanConfig(p Probe, pid int) *PodmanConfig {
	c := &PodmanConfig{}
	env := processEnv(p, pid)
	userDir := ""
	if home := env["HOME"]; home != "" && home != "/root" {
		userDir = filepath.Join(home, ".config", "containers")
	}
	pick := func(envKey, name string) []string {
		if f := env[envKey]; f != "" {
			return []string{f}
		}
		var out []string
		if userDir != "" {
			out = append(out, filepath.Join(userDir, name))
		}
		return append(out, "/etc/containers/"+name, "/usr/share/containers/"+name)
	}
	// containers.conf: later files override earlier ones, so read the
	// system files first.
	confs := pick("CONTAINERS_CONF", "containers.conf")
	slices.Reverse(confs)
	for _, f := range confs {
		var cc struct {
			Containers struct {
				NoNewPrivileges *bool `toml:"no_new_privileges"`
			} `toml:"containers"`
		}
		if !c.readTOML(p, f, &cc) {
			continue
		}
		if cc.Containers.NoNewPrivileges != nil {
			c.NoNewPrivileges = *cc.Containers.NoNewPrivileges
		}
	}
	// registries.conf: the first that exists.
	for _, f := range pick("CONTAINERS_REGISTRIES_CONF", "registries.conf") {
		var rc struct {
			Registry []struct {
				Location string `toml:"location"`
				Prefix   string `toml:"prefix"`
				Insecure bool   `toml:"insecure"`
			} `toml:"registry"`
			Registries struct {
				Insecure struct {
					Registries []string `toml:"registries"`
				} `toml:"insecure"`
			} `toml:"registries"`
		}
		if !c.readTOML(p, f, &rc) {
			continue
		}
		for _, r := range rc.Registry {
			if r.Insecure {
				c.InsecureRegistries = append(c.InsecureRegistries, cmp.Or(r.Location, r.Prefix))
			}
		}
		c.InsecureRegistries = append(c.InsecureRegistries, rc.Registries.Insecure.Registries...)
		break
	}
	policies := []string{"/etc/containers/policy.json"}
	if userDir != "" {
		policies = []string{filepath.Join(userDir, "policy.json"), "/etc/containers/policy.json"}
	}
	for _, f := range policies {
		data, exists, problem := readConfig(p, f)
		if !exists {
			continue
		}
		c.Files = append(c.Files, f)
		if problem != "" {
			c.Problems = append(c.Problems, problem)
			break
		}
		var pol struct {
			Default []struct {
				Type string `json:"type"`
			} `json:"default"`
		}
		if json.Unmarshal(data, &pol) != nil || len(pol.Default) == 0 {
			c.Problems = append(c.Problems, f+": not a policy.json with a default requirement")
			break
		}
		c.PolicyFile, c.PolicyDefault = f, pol.Default[0].Type
		break
	}
	return c
}

// readConfig reads a configuration file an engine would read: exists is
// false when there is none; problem says why one that exists cannot be
// used (unreadable, for instance to a user outside root: its settings
// are then unknown, not absent, or larger than maxConfigFile).
func readConfig(p Probe, path string) (data []byte, exists bool, problem string) {
	data, err := p.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, ""
	case err != nil:
		return nil, true, path + ": cannot read: " + err.Error()
	case len(data) > maxConfigFile:
		return nil, true, fmt.Sprintf("%s: larger than %d bytes", path, maxConfigFile)
	}
	return data, true, ""
}

// readTOML decodes a configuration file that exists; false when it does
// not or cannot be used (then a problem is recorded).
func (c *PodmanConfig) readTOML(p Probe, path string, v any) bool {
	data, exists, problem := readConfig(p, path)
	if !exists {
		return false
	}
	c.Files = append(c.Files, path)
	if problem != "" {
		c.Problems = append(c.Problems, problem)
		return false
	}
	if err := toml.Unmarshal(data, v); err != nil {
		c.Problems = append(c.Problems, path+": "+err.Error())
		return false
	}
	return true
}
