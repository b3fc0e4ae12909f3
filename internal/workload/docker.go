package workload

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hull-sec/hull/internal/engineapi"
)

// Docker's two shapes of a container: the inspection of a running one
// (GET /containers/ID/json, `docker inspect`; Podman's Docker-compatible
// API answers the same) and the create request that makes one (POST
// /containers/create). Source.Fields name the JSON field each setting was
// read from ("HostConfig.Privileged", "HostConfig.Binds[1]").

// Limits on what ParseInspect and ParseCreate read: an engine's answer or
// a request is trusted no more than any other input.
const (
	maxDockerJSON       = 16 << 20
	maxInspectedEntries = 5000
)

// ParseInspect reads `docker inspect`'s answer: a JSON array of
// container inspections.
func ParseInspect(data []byte) ([]Workload, error) {
	if len(data) > maxDockerJSON {
		return nil, fmt.Errorf("container inspection: larger than %d bytes", maxDockerJSON)
	}
	var cs []engineapi.ContainerJSON
	if err := json.Unmarshal(data, &cs); err != nil {
		return nil, fmt.Errorf("container inspection: %w", err)
	}
	if len(cs) > maxInspectedEntries {
		return nil, fmt.Errorf("container inspection: %d containers, more than hull reads (%d)", len(cs), maxInspectedEntries)
	}
	out := make([]Workload, len(cs))
	for i := range cs {
		out[i] = FromInspect(&cs[i])
	}
	return out, nil
}

// ParseCreate reads the body of a create request.
func ParseCreate(data []byte) (Workload, error) {
	if len(data) > maxDockerJSON {
		return Workload{}, fmt.Errorf("create request: larger than %d bytes", maxDockerJSON)
	}
	var req engineapi.CreateRequest
	if err := json.Unmarshal(data, &req); err != nil {
		return Workload{}, fmt.Errorf("create request: %w", err)
	}
	return FromCreate(&req)
}

// ContainerLabel names a container in evidence: its name and short ID.
func ContainerLabel(name, id string) string {
	name = strings.TrimPrefix(name, "/")
	if len(id) >= 12 {
		return name + " (" + id[:12] + ")"
	}
	return name
}

// FromInspect converts a running container's inspection (StageRunning;
// the audit adds Commands and Observed).
func FromInspect(c *engineapi.ContainerJSON) Workload {
	w := fromDocker(&c.Config, &c.HostConfig)
	w.Name = ContainerLabel(c.Name, c.ID)
	w.Stage = StageRunning
	w.Source.Kind = "container"
	// The inspection holds the image's health check merged in.
	w.Healthcheck = new(healthcheck(c.Config.Healthcheck) == "set")
	// The profile the engine applied: "" on an engine with AppArmor means
	// none (a privileged container runs unconfined anyway).
	if w.AppArmor != "unconfined" {
		switch {
		case c.AppArmorProfile == "unconfined" || (c.AppArmorProfile == "" && !c.HostConfig.Privileged):
			w.AppArmor = "unconfined"
			w.Source.Fields[SetAppArmor] = Place{Path: "AppArmorProfile"}
		case c.AppArmorProfile != "":
			w.AppArmor = c.AppArmorProfile
			w.Source.Fields[SetAppArmor] = Place{Path: "AppArmorProfile"}
		}
	}
	for i, m := range c.Mounts {
		w.Mounts = append(w.Mounts, Mount{Type: m.Type, Source: m.Source, Destination: m.Destination, ReadOnly: !m.RW, Propagation: m.Propagation})
		w.Source.Fields[itemKey(SetMounts, i)] = Place{Path: itemKey("Mounts", i)}
	}
	if len(c.Mounts) > 0 {
		w.Source.Fields[SetMounts] = Place{Path: "Mounts"}
	}
	sortMounts(&w)
	// Published ports as the engine bound them, beside what was asked.
	for _, k := range slices.Sorted(maps.Keys(c.NetworkSettings.Ports)) {
		for i, b := range c.NetworkSettings.Ports[k] {
			if !slices.ContainsFunc(w.Ports, func(p Port) bool { return p.HostIP == b.HostIP && p.HostPort == b.HostPort }) {
				w.Ports = append(w.Ports, port(k, b))
				w.Source.Fields[itemKey(SetPorts, len(w.Ports)-1)] = Place{Path: fmt.Sprintf("NetworkSettings.Ports[%q][%d]", k, i)}
			}
		}
	}
	sortPorts(&w)
	w.Networks = slices.Sorted(maps.Keys(c.NetworkSettings.Networks))
	return w
}

// FromCreate converts a create request (StageRequest). Its legacy Binds
// are parsed as dockerd parses them; a mount dockerd would refuse, or a
// security option neither dockerd nor Podman knows, is an error (Podman's
// systempaths, mask and unmask are read, though dockerd refuses them). An
// empty NetworkMode is dockerd's "default" (the default bridge).
func FromCreate(req *engineapi.CreateRequest) (Workload, error) {
	w := fromDocker(&req.Config, &req.HostConfig)
	w.Stage = StageRequest
	w.Source.Kind = "create request"
	// A request without a test keeps the image's health check, which the
	// request does not show.
	switch healthcheck(req.Healthcheck) {
	case "set":
		w.Healthcheck = new(true)
	case "disabled":
		w.Healthcheck = new(false)
	}
	w.Name = "create request"
	if w.Image != "" {
		w.Name += " for " + w.Image
	}
	if _, err := securityOpts(req.HostConfig.SecurityOpt); err != nil {
		return Workload{}, err
	}
	if w.Namespaces.Network == "" {
		w.Namespaces.Network = "default"
	}
	for i, b := range req.HostConfig.Binds {
		m, err := ParseBind(b)
		if err != nil {
			return Workload{}, fmt.Errorf("HostConfig.Binds[%d]: %w", i, err)
		}
		w.Source.Fields[itemKey(SetMounts, len(w.Mounts))] = Place{Path: itemKey("HostConfig.Binds", i)}
		w.Mounts = append(w.Mounts, m)
	}
	for i, m := range req.HostConfig.Mounts {
		mt := Mount{Type: m.Type, Source: m.Source, Destination: m.Target, ReadOnly: m.ReadOnly}
		if m.BindOptions != nil {
			mt.Propagation = m.BindOptions.Propagation
		}
		if mt.Type == "bind" && !path.IsAbs(mt.Source) {
			return Workload{}, fmt.Errorf("HostConfig.Mounts[%d]: a bind mount's source must be an absolute path, not %q", i, m.Source)
		}
		w.Source.Fields[itemKey(SetMounts, len(w.Mounts))] = Place{Path: itemKey("HostConfig.Mounts", i)}
		w.Mounts = append(w.Mounts, mt)
	}
	for _, dst := range slices.Sorted(maps.Keys(req.HostConfig.Tmpfs)) {
		w.Source.Fields[itemKey(SetMounts, len(w.Mounts))] = Place{Path: fmt.Sprintf("HostConfig.Tmpfs[%q]", dst)}
		w.Mounts = append(w.Mounts, Mount{Type: "tmpfs", Destination: dst, ReadOnly: slices.Contains(strings.Split(req.HostConfig.Tmpfs[dst], ","), "ro")})
	}
	if len(w.Mounts) > 0 {
		w.Source.Fields[SetMounts] = Place{Path: "HostConfig"}
	}
	sortMounts(&w)
	sortPorts(&w)
	if req.NetworkingConfig != nil {
		w.Networks = slices.Sorted(maps.Keys(req.NetworkingConfig.EndpointsConfig))
	}
	return w, nil
}

// fromDocker reads what the inspection and the create request share.
func fromDocker(cf *engineapi.Config, hc *engineapi.HostConfig) Workload {
	w := Workload{Image: cf.Image, User: cf.User, Groups: hc.GroupAdd, Privileged: hc.Privileged, ReadOnlyRootfs: hc.ReadonlyRootfs,
		Namespaces:        Namespaces{Network: hc.NetworkMode, PID: hc.PidMode, IPC: hc.IpcMode, UTS: hc.UTSMode, User: hc.UsernsMode, Cgroup: hc.CgroupnsMode},
		DeviceCgroupRules: hc.DeviceCgroupRules, MaskedPaths: hc.MaskedPaths, ReadonlyPaths: hc.ReadonlyPaths, CgroupParent: hc.CgroupParent,
		Resources: Resources{Memory: hc.Memory, CPUShares: hc.CPUShares, NanoCPUs: hc.NanoCPUs, CPUQuota: hc.CPUQuota, PidsLimit: hc.PidsLimit},
		Restart:   Restart{Policy: hc.RestartPolicy.Name, MaxRetries: hc.RestartPolicy.MaximumRetryCount},
	}
	f := map[string]Place{
		SetImage: {Path: "Config.Image"}, SetUser: {Path: "Config.User"}, SetPrivileged: {Path: "HostConfig.Privileged"},
		SetReadOnlyRootfs: {Path: "HostConfig.ReadonlyRootfs"}, SetNetwork: {Path: "HostConfig.NetworkMode"},
		SetPID: {Path: "HostConfig.PidMode"}, SetIPC: {Path: "HostConfig.IpcMode"}, SetUTS: {Path: "HostConfig.UTSMode"},
		SetUserNS: {Path: "HostConfig.UsernsMode"}, SetMemory: {Path: "HostConfig.Memory"}, SetCPU: {Path: "HostConfig.CpuShares"},
		SetPidsLimit: {Path: "HostConfig.PidsLimit"}, SetCgroupParent: {Path: "HostConfig.CgroupParent"},
		SetRestart: {Path: "HostConfig.RestartPolicy"}, SetHealthcheck: {Path: "Config.Healthcheck"},
		SetCapAdd: {Path: "HostConfig.CapAdd"}, SetCapDrop: {Path: "HostConfig.CapDrop"}, SetDevices: {Path: "HostConfig.Devices"},
		SetDeviceCgroupRules: {Path: "HostConfig.DeviceCgroupRules"}, SetPorts: {Path: "HostConfig.PortBindings"},
		SetSystemPaths: {Path: "HostConfig.MaskedPaths"}, SetNoNewPrivileges: {Path: "HostConfig.SecurityOpt"},
		SetSeccomp: {Path: "HostConfig.SecurityOpt"}, SetAppArmor: {Path: "HostConfig.SecurityOpt"}, SetSELinux: {Path: "HostConfig.SecurityOpt"},
	}
	w.Source.Fields = f
	// What the peer rules read: the ports the container listens on (the
	// CLI adds every published port to ExposedPorts), /etc/hosts entries
	// and sysctls.
	for _, k := range slices.Sorted(maps.Keys(cf.ExposedPorts)) {
		cp := port(k, engineapi.PortBinding{})
		w.ContainerPorts = append(w.ContainerPorts, Port{ContainerPort: cp.ContainerPort, Protocol: cp.Protocol})
		f[SetContainerPorts] = Place{Path: "Config.ExposedPorts"}
	}
	w.ExtraHosts = slices.Clone(hc.ExtraHosts)
	if len(hc.ExtraHosts) > 0 {
		f[SetExtraHosts] = Place{Path: "HostConfig.ExtraHosts"}
	}
	if len(hc.Sysctls) > 0 {
		w.Sysctls = maps.Clone(hc.Sysctls)
		f[SetSysctls] = Place{Path: "HostConfig.Sysctls"}
	}
	for i, c := range hc.CapAdd {
		w.CapAdd = append(w.CapAdd, capName(c))
		f[itemKey(SetCapAdd, i)] = Place{Path: itemKey("HostConfig.CapAdd", i)}
	}
	for i, c := range hc.CapDrop {
		w.CapDrop = append(w.CapDrop, capName(c))
		f[itemKey(SetCapDrop, i)] = Place{Path: itemKey("HostConfig.CapDrop", i)}
	}
	for i, d := range hc.Devices {
		w.Devices = append(w.Devices, Device{PathOnHost: d.PathOnHost, PathInContainer: d.PathInContainer, Permissions: d.CgroupPermissions})
		f[itemKey(SetDevices, i)] = Place{Path: itemKey("HostConfig.Devices", i)}
	}
	for _, k := range slices.Sorted(maps.Keys(hc.PortBindings)) {
		for i, b := range hc.PortBindings[k] {
			f[itemKey(SetPorts, len(w.Ports))] = Place{Path: fmt.Sprintf("HostConfig.PortBindings[%q][%d]", k, i)}
			w.Ports = append(w.Ports, port(k, b))
		}
	}
	// Security options as dockerd reads them; an option it would refuse
	// is left out here (FromCreate refuses the request).
	opts, _ := securityOpts(hc.SecurityOpt)
	for _, o := range opts {
		if set := o.apply(&w); set != "" {
			f[set] = Place{Path: itemKey("HostConfig.SecurityOpt", o.index)}
		}
	}
	return w
}

// healthcheck says what a health check setting does: "set", "disabled"
// (Test ["NONE"], --no-healthcheck) or "" (none given: the image's
// applies).
func healthcheck(h *engineapi.HealthConfig) string {
	switch {
	case h == nil || len(h.Test) == 0:
		return ""
	case h.Test[0] == "NONE":
		return "disabled"
	}
	return "set"
}

// ParseBind parses a legacy volume string of HostConfig.Binds as dockerd
// does on Linux: "SRC:DST[:OPTIONS]" (or a lone DST, an anonymous
// volume), where SRC is an absolute host path (a bind) or a volume name
// (as the local volume driver names them), and OPTIONS a comma-separated list of at most one of each of ro/rw,
// z/Z, a propagation mode, nocopy and a consistency mode.
func ParseBind(spec string) (Mount, error) {
	parts := strings.SplitN(spec, ":", 4)
	var m Mount
	mode := ""
	switch len(parts) {
	case 1:
		m.Destination = parts[0]
	case 2:
		if validBindMode(parts[1]) {
			return Mount{}, fmt.Errorf("bind %q: a mode without a destination", spec)
		}
		m.Source, m.Destination = parts[0], parts[1]
	case 3:
		m.Source, m.Destination, mode = parts[0], parts[1], parts[2]
	default:
		return Mount{}, fmt.Errorf("bind %q: more than SOURCE:DESTINATION:OPTIONS", spec)
	}
	if parts[0] == "" {
		return Mount{}, fmt.Errorf("bind %q: empty source", spec)
	}
	if !validBindMode(mode) {
		return Mount{}, fmt.Errorf("bind %q: invalid options %q", spec, mode)
	}
	if !path.IsAbs(m.Destination) {
		return Mount{}, fmt.Errorf("bind %q: the destination must be an absolute path", spec)
	}
	m.Type = "volume"
	switch {
	case path.IsAbs(m.Source):
		m.Type = "bind"
	case m.Source != "" && !volumeName.MatchString(m.Source):
		return Mount{}, fmt.Errorf("bind %q: %q is neither an absolute host path nor a volume name", spec, m.Source)
	}
	for _, o := range strings.Split(mode, ",") {
		switch o {
		case "ro":
			m.ReadOnly = true
		case "shared", "rshared", "slave", "rslave", "private", "rprivate":
			if m.Type != "bind" {
				return Mount{}, fmt.Errorf("bind %q: propagation %s applies to host paths only", spec, o)
			}
			m.Propagation = o
		case "nocopy":
			if m.Type != "volume" {
				return Mount{}, fmt.Errorf("bind %q: nocopy applies to volumes only", spec)
			}
		}
	}
	return m, nil
}

// volumeName is what the local volume driver takes as a name.
var volumeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// validBindMode reports whether mode is a valid options list of a bind.
func validBindMode(mode string) bool {
	if mode == "" {
		return true
	}
	groups := map[string]string{"rw": "rw", "ro": "rw", "z": "label", "Z": "label", "shared": "prop", "rshared": "prop",
		"slave": "prop", "rslave": "prop", "private": "prop", "rprivate": "prop", "nocopy": "copy",
		"consistent": "consistency", "cached": "consistency", "delegated": "consistency"}
	seen := map[string]bool{}
	for _, o := range strings.Split(mode, ",") {
		g, ok := groups[o]
		if !ok || seen[g] {
			return false
		}
		seen[g] = true
	}
	return true
}

// port converts a binding of container port key ("80/tcp").
func port(key string, b engineapi.PortBinding) Port {
	cp, proto, ok := strings.Cut(key, "/")
	if !ok {
		proto = "tcp"
	}
	return Port{HostIP: b.HostIP, HostPort: b.HostPort, ContainerPort: cp, Protocol: proto}
}

// sortPlaced orders the items of a list setting by key, stably, keeping
// Source.Fields' SETTING[i] with them.
func sortPlaced[T any](w *Workload, setting string, list []T, key func(T) string) {
	type item struct {
		v  T
		at Place
		ok bool
	}
	if slices.IsSortedFunc(list, func(a, b T) int { return strings.Compare(key(a), key(b)) }) {
		return
	}
	items := make([]item, len(list))
	for i, v := range list {
		at, ok := w.Source.Fields[itemKey(setting, i)]
		items[i] = item{v, at, ok}
	}
	slices.SortStableFunc(items, func(a, b item) int { return strings.Compare(key(a.v), key(b.v)) })
	for i, it := range items {
		list[i] = it.v
		if it.ok {
			w.Source.Fields[itemKey(setting, i)] = it.at
		}
	}
}

// sortPorts orders the ports as the rules list them (byHost).
func sortPorts(w *Workload) {
	sortPlaced(w, SetPorts, w.Ports, hostKey)
}

// sortMounts orders the mounts by destination, as the engine mounts them
// (dockerd's inspection lists them in no fixed order).
func sortMounts(w *Workload) {
	sortPlaced(w, SetMounts, w.Mounts, func(m Mount) string { return m.Destination })
}

// itemKey is the Source.Fields key of item i of a list setting
// ("mounts[2]").
func itemKey(setting string, i int) string { return setting + "[" + strconv.Itoa(i) + "]" }
