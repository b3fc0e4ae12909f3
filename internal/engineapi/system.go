package engineapi

import "strings"

// Version is the engine's GET /version answer, the parts hull reads.
type Version struct {
	Version      string             `json:"Version"`
	Components   []VersionComponent `json:"Components"`
	Experimental bool               `json:"Experimental"`
}

// VersionComponent is one part of the engine /version lists: the engine,
// containerd, runc, docker-init.
type VersionComponent struct {
	Name    string `json:"Name"`
	Version string `json:"Version"`
}

// Component returns the version the engine reports for a component
// ("Engine", "containerd", "runc", "Podman Engine"), "" if it names none.
func (v Version) Component(name string) string {
	for _, c := range v.Components {
		if strings.EqualFold(c.Name, name) {
			return c.Version
		}
	}
	return ""
}

// Info is the part of the engine's GET /info answer hull reads.
type Info struct {
	Driver            string   `json:"Driver"`
	LoggingDriver     string   `json:"LoggingDriver"`
	DockerRootDir     string   `json:"DockerRootDir"`
	Debug             bool     `json:"Debug"`
	ExperimentalBuild bool     `json:"ExperimentalBuild"`
	LiveRestore       bool     `json:"LiveRestoreEnabled"`
	SecurityOptions   []string `json:"SecurityOptions"`
	Plugins           struct {
		Authorization []string `json:"Authorization"`
	} `json:"Plugins"`
	RegistryConfig struct {
		InsecureRegistryCIDRs []string `json:"InsecureRegistryCIDRs"`
		IndexConfigs          map[string]struct {
			Name   string `json:"Name"`
			Secure bool   `json:"Secure"`
		} `json:"IndexConfigs"`
	} `json:"RegistryConfig"`
	Swarm struct {
		LocalNodeState string `json:"LocalNodeState"`
	} `json:"Swarm"`
}

// SwarmActive reports whether the engine is a swarm node.
func (i Info) SwarmActive() bool {
	return i.Swarm.LocalNodeState != "" && i.Swarm.LocalNodeState != "inactive"
}

// SecurityOption reports whether /info lists security option name
// ("seccomp", "userns", "rootless", "apparmor", "selinux") and its
// parameters ("profile=default").
func (i Info) SecurityOption(name string) (params []string, ok bool) {
	for _, o := range i.SecurityOptions {
		fields := strings.Split(o, ",")
		if fields[0] == "name="+name {
			return fields[1:], true
		}
	}
	return nil, false
}
