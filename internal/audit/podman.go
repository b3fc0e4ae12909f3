package audit

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// PodmanConfig is what the files of a Podman service say: containers.conf,
// registries.conf and policy.json, found as the service finds them (see
// containersConfReadings, registriesConfFiles and policyFiles): its
// environment (CONTAINERS_CONF, CONTAINERS_CONF_OVERRIDE,
// CONTAINERS_REGISTRIES_CONF), the drop-in directories, and the user's
// ~/.config/containers when it runs rootless.
type PodmanConfig struct {
	// Files are the configuration files read, for evidence.
	Files []string
	// NoNewPrivileges is containers.conf's [containers] no_new_privileges.
	NoNewPrivileges bool
	// noNewPrivilegesFrom is the file that set it last.
	noNewPrivilegesFrom string
	// seccompUnconfinedFrom is the file whose seccomp_profile =
	// "unconfined" turns seccomp off for every container ("" when none
	// does): Podman's /info still reports profile=default then.
	seccompUnconfinedFrom string
	// InsecureRegistries are registries.conf's registries and mirrors
	// with insecure = true.
	InsecureRegistries []string
	// PolicyFile and PolicyDefault are policy.json and the type of the
	// requirement that judges images pulled from registries (the docker
	// transport's own default when it has one, else the global default):
	// "insecureAcceptAnything", "reject", "signedBy", ...
	PolicyFile, PolicyDefault string
	// AcceptAnything are the policy.json scopes of the docker transport
	// that accept any image.
	AcceptAnything []string
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
		return readPodmanConfig(p, pr)
	}
	return nil
}

// podmanFiles says where a Podman service looks for its files: its
// environment, whether it is rootless (not root), and its user's
// configuration directory.
type podmanFiles struct {
	env      map[string]string
	uid      int
	userDir  string
	rootless bool
}

func newPodmanFiles(p Probe, pr Process) podmanFiles {
	f := podmanFiles{env: processEnv(p, pr.PID), uid: pr.UID, rootless: pr.UID != 0}
	if f.rootless {
		switch {
		case f.env["XDG_CONFIG_HOME"] != "":
			f.userDir = filepath.Join(f.env["XDG_CONFIG_HOME"], "containers")
		case f.env["HOME"] != "":
			f.userDir = filepath.Join(f.env["HOME"], ".config", "containers")
		}
	}
	return f
}

// containersConfReadings are the orders in which Podman releases apply
// containers.conf files, each file overriding the ones before; which one
// a service uses depends on its release, so a setting counts only when
// every reading gives it.
//
//   - Podman 4.3 and older: CONTAINERS_CONF alone; else
//     /usr/share/containers, /etc/containers, the drop-ins of
//     /etc/containers/containers.conf.d, then (rootless) the user's
//     containers.conf and its containers.conf.d.
//   - Podman 4.4 to 5: CONTAINERS_CONF alone, or every main file
//     (/usr/share, /etc, the user's), then the drop-ins (*.conf in
//     containers.conf.d, containers.rootful.conf.d or
//     containers.rootless.conf.d[/UID] under each), sorted by name, a
//     name in a higher directory hiding the same name in a lower one;
//     last CONTAINERS_CONF_OVERRIDE.
//   - later releases: as 4.4, but only the first main file that exists
//     (the user's, /etc's, /usr/share's).
func (f podmanFiles) containersConfReadings(p Probe) [][]string {
	override := func(files []string) []string {
		if o := f.env["CONTAINERS_CONF_OVERRIDE"]; o != "" {
			return append(files, o)
		}
		return files
	}
	if c := f.env["CONTAINERS_CONF"]; c != "" {
		return [][]string{{c}, override([]string{c})}
	}
	mains := []string{"/usr/share/containers/containers.conf", "/etc/containers/containers.conf"}
	var user string
	if f.userDir != "" {
		user = filepath.Join(f.userDir, "containers.conf")
	}
	legacy := append(slices.Clone(mains), dropIns(p, []string{"/etc/containers/containers.conf.d"}, ".conf")...)
	if user != "" {
		legacy = append(legacy, user)
		legacy = append(legacy, dropIns(p, []string{user + ".d"}, ".conf")...)
	}
	// Drop-in directories, lowest priority first.
	var dirs []string
	for _, m := range mains {
		base := strings.TrimSuffix(m, ".conf")
		dirs = append(dirs, m+".d")
		if f.rootless {
			dirs = append(dirs, base+".rootless.conf.d", filepath.Join(base+".rootless.conf.d", strconv.Itoa(f.uid)))
		} else {
			dirs = append(dirs, base+".rootful.conf.d")
		}
	}
	if user != "" {
		mains = append(mains, user)
		dirs = append(dirs, user+".d")
	}
	drop := dropIns(p, dirs, ".conf")
	allMains := override(append(slices.Clone(mains), drop...))
	var first []string
	for _, m := range slices.Backward(mains) {
		if _, err := p.Stat(m); err == nil {
			first = []string{m}
			break
		}
	}
	return [][]string{legacy, allMains, override(append(first, drop...))}
}

// registriesConfFiles are the registries.conf files in the order they
// apply: CONTAINERS_REGISTRIES_CONF, else the user's (rootless) if it
// exists, else /etc/containers/registries.conf; then the drop-ins of
// /etc/containers/registries.conf.d and (rootless) the user's, which
// Podman reads whichever main file it used.
func (f podmanFiles) registriesConfFiles(p Probe) []string {
	main := f.env["CONTAINERS_REGISTRIES_CONF"]
	if main == "" {
		main = "/etc/containers/registries.conf"
		if f.userDir != "" {
			if _, err := p.Stat(filepath.Join(f.userDir, "registries.conf")); err == nil {
				main = filepath.Join(f.userDir, "registries.conf")
			}
		}
	}
	dirs := []string{"/etc/containers/registries.conf.d"}
	if f.userDir != "" {
		dirs = append(dirs, filepath.Join(f.userDir, "registries.conf.d"))
	}
	return append([]string{main}, dropIns(p, dirs, ".conf")...)
}

// policyFiles are where policy.json is looked for: the user's (rootless)
// first, then /etc/containers/policy.json; the first that exists rules.
func (f podmanFiles) policyFiles() []string {
	if f.userDir != "" {
		return []string{filepath.Join(f.userDir, "policy.json"), "/etc/containers/policy.json"}
	}
	return []string{"/etc/containers/policy.json"}
}

// dropIns lists the files named *suffix in dirs (lowest priority first),
// sorted by name; a name found in a later directory replaces the same
// name in an earlier one.
func dropIns(p Probe, dirs []string, suffix string) []string {
	byName := map[string]string{}
	for _, d := range dirs {
		ents, err := p.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !e.IsDir() && strings.HasSuffix(e.Name(), suffix) {
				byName[e.Name()] = filepath.Join(d, e.Name())
			}
		}
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, byName[name])
	}
	return out
}

// policyRequirement is one requirement of policy.json.
type policyRequirement struct {
	Type string `json:"type"`
}

// acceptsAnything reports whether a requirement list lets every image in:
// every requirement must hold, so one that verifies something is enough
// to refuse unsigned images.
func acceptsAnything(reqs []policyRequirement) bool {
	return len(reqs) > 0 && !slices.ContainsFunc(reqs, func(r policyRequirement) bool { return r.Type != "insecureAcceptAnything" })
}

func readPodmanConfig(p Probe, pr Process) *PodmanConfig {
	c := &PodmanConfig{}
	f := newPodmanFiles(p, pr)
	// no_new_privileges holds only when every reading sets it, and
	// seccomp is off when any reading turns it off.
	c.NoNewPrivileges = true
	type containersConf struct {
		Containers struct {
			NoNewPrivileges *bool   `toml:"no_new_privileges"`
			SeccompProfile  *string `toml:"seccomp_profile"`
		} `toml:"containers"`
	}
	// The readings share most files: each is read and decoded once.
	parsed := map[string]*containersConf{}
	for _, files := range f.containersConfReadings(p) {
		on, from := false, ""
		seccomp, seccompFrom := "", ""
		for _, file := range files {
			cc, seen := parsed[file]
			if !seen {
				cc = &containersConf{}
				if !c.readTOML(p, file, cc) {
					cc = nil
				}
				parsed[file] = cc
			}
			if cc == nil {
				continue
			}
			if v := cc.Containers.NoNewPrivileges; v != nil {
				on, from = *v, file
			}
			if v := cc.Containers.SeccompProfile; v != nil {
				seccomp, seccompFrom = *v, file
			}
		}
		if !on && c.NoNewPrivileges {
			c.NoNewPrivileges, c.noNewPrivilegesFrom = false, from
		}
		if seccomp == "unconfined" && c.seccompUnconfinedFrom == "" {
			c.seccompUnconfinedFrom = seccompFrom
		}
	}
	// registries.conf: a registry's later entry (same prefix) replaces
	// its earlier one.
	insecure := map[string]bool{}
	for _, file := range f.registriesConfFiles(p) {
		type endpoint struct {
			Location string `toml:"location"`
			Insecure bool   `toml:"insecure"`
		}
		var rc struct {
			Registry []struct {
				endpoint
				Prefix string     `toml:"prefix"`
				Mirror []endpoint `toml:"mirror"`
			} `toml:"registry"`
			Registries struct {
				Insecure struct {
					Registries []string `toml:"registries"`
				} `toml:"insecure"`
			} `toml:"registries"`
		}
		if !c.readTOML(p, file, &rc) {
			continue
		}
		for _, r := range rc.Registry {
			insecure[cmp.Or(r.Prefix, r.Location)] = r.Insecure
			for _, m := range r.Mirror {
				if m.Insecure {
					insecure[m.Location+" (mirror of "+cmp.Or(r.Prefix, r.Location)+")"] = true
				}
			}
		}
		for _, r := range rc.Registries.Insecure.Registries {
			insecure[r] = true
		}
	}
	for _, r := range slices.Sorted(maps.Keys(insecure)) {
		if insecure[r] {
			c.InsecureRegistries = append(c.InsecureRegistries, r)
		}
	}
	for _, file := range f.policyFiles() {
		data, exists, problem := readConfig(p, file)
		if !exists {
			continue
		}
		c.Files = append(c.Files, file)
		if problem != "" {
			c.Problems = append(c.Problems, problem)
			break
		}
		var pol struct {
			Default    []policyRequirement                       `json:"default"`
			Transports map[string]map[string][]policyRequirement `json:"transports"`
		}
		if json.Unmarshal(data, &pol) != nil || len(pol.Default) == 0 {
			c.Problems = append(c.Problems, file+": not a policy.json with a default requirement")
			break
		}
		// Images pulled from registries are judged by the docker
		// transport's scopes; its "" scope replaces the global default.
		reqs := pol.Default
		docker := pol.Transports["docker"]
		if r, ok := docker[""]; ok {
			reqs = r
		}
		if len(reqs) == 0 {
			c.Problems = append(c.Problems, file+`: the docker transport's "" scope has no requirement`)
			break
		}
		c.PolicyFile, c.PolicyDefault = file, reqs[0].Type
		if acceptsAnything(reqs) {
			c.PolicyDefault = "insecureAcceptAnything"
		}
		for _, scope := range slices.Sorted(maps.Keys(docker)) {
			if scope != "" && acceptsAnything(docker[scope]) {
				c.AcceptAnything = append(c.AcceptAnything, scope)
			}
		}
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
	add := func(list *[]string, s string) {
		if !slices.Contains(*list, s) {
			*list = append(*list, s)
		}
	}
	add(&c.Files, path)
	if problem != "" {
		add(&c.Problems, problem)
		return false
	}
	if err := toml.Unmarshal(data, v); err != nil {
		add(&c.Problems, path+": "+err.Error())
		return false
	}
	return true
}
