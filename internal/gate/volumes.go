package gate

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/hull-sec/hull/internal/engineapi"
	"github.com/hull-sec/hull/internal/workload"
)

// volumeOps: docker volume, docker network and docker plugin, and what
// docker-compose creates for a project (its default network, its named
// volumes). A volume or network is judged at creation by what it would
// give the containers that use it: a local volume that binds a host path
// is a bind mount in disguise, judged by the container rules' mount
// rules; other volume and network drivers reach the host in ways the
// rules cannot see (a block device, a remote share, the host's network
// interfaces) and are refused. Plugins run as root on the host with the
// privileges they ask for: they may be listed, not installed or changed.
var volumeOps = []op{
	{"volume list", "GET", "/volumes", bodyNone, nil},
	{"volume create", "POST", "/volumes/create", bodyJSON, (*Gate).checkVolumeCreate},
	{"volume prune", "POST", "/volumes/prune", bodyNone, nil},
	{"volume inspect", "GET", "/volumes/{}", bodyNone, nil},
	{"volume remove", "DELETE", "/volumes/{}", bodyNone, nil},
	{"network list", "GET", "/networks", bodyNone, nil},
	{"network create", "POST", "/networks/create", bodyJSON, checkNetworkCreate},
	{"network prune", "POST", "/networks/prune", bodyNone, nil},
	{"network inspect", "GET", "/networks/{}", bodyNone, nil},
	{"network remove", "DELETE", "/networks/{}", bodyNone, nil},
	{"network connect", "POST", "/networks/{}/connect", bodyJSON, (*Gate).checkNetworkConnect},
	{"network disconnect", "POST", "/networks/{}/disconnect", bodyJSON, nil},
	{"plugin list", "GET", "/plugins", bodyNone, nil},
	{"plugin inspect", "GET", "/plugins/{...}/json", bodyNone, nil},
	{"plugin privileges", "GET", "/plugins/privileges", bodyNone, refusePlugin},
	{"plugin install", "POST", "/plugins/pull", bodyStream, refusePlugin},
	{"plugin create", "POST", "/plugins/create", bodyStream, refusePlugin},
	{"plugin enable", "POST", "/plugins/{...}/enable", bodyStream, refusePlugin},
	{"plugin disable", "POST", "/plugins/{...}/disable", bodyStream, refusePlugin},
	{"plugin upgrade", "POST", "/plugins/{...}/upgrade", bodyStream, refusePlugin},
	{"plugin set", "POST", "/plugins/{...}/set", bodyStream, refusePlugin},
	{"plugin push", "POST", "/plugins/{...}/push", bodyStream, refusePlugin},
	{"plugin remove", "DELETE", "/plugins/{...}", bodyStream, refusePlugin},
}

// refusePlugin refuses every change to the engine's plugins.
func refusePlugin(_ *Gate, _ *http.Request, d decision) decision {
	return refuse(d.op, "%s: plugins run as root on the host with the privileges they ask for, and disabling one "+
		"(an authorization plugin) lifts its checks: install, enable, configure and remove plugins on the host, not through the gate", d.op)
}

// volumeCreate is what the gate reads of a volume create request.
type volumeCreate struct {
	Name              string
	Driver            string
	DriverOpts        map[string]string
	ClusterVolumeSpec json.RawMessage
}

// volumeMountRules are the container rules that judge a bind mount's
// host path.
var volumeMountRules = []string{"container-sensitive-mounts", "container-engine-socket", "container-mount-propagation"}

// checkVolumeCreate judges POST /volumes/create (judgeVolume).
func (g *Gate) checkVolumeCreate(_ *http.Request, d decision) decision {
	var v volumeCreate
	if err := json.Unmarshal(d.body, &v); err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	return g.judgeVolume(d, v)
}

// judgeVolume judges a volume by what mounting it gives a
// container. The local driver (dockerd's volume/local) mounts DriverOpts
// device on the volume's directory with type and o: o holding "bind" or
// "rbind" binds the host path device, judged as a bind mount of it by
// volumeMountRules; a tmpfs is the container's own memory; any other type
// mounts a block device, a remote share (nfs, cifs) or an overlay of host
// directories, none of which the rules can judge, so it is refused. Other
// drivers are plugins, and cluster volumes Swarm's: refused.
func (g *Gate) judgeVolume(d decision, v volumeCreate) decision {
	if v.Driver != "" && v.Driver != "local" {
		return refuse(d.op, "%s: the volume driver %q is a plugin the gate cannot judge; only the local driver is allowed", d.op, v.Driver)
	}
	if len(v.ClusterVolumeSpec) > 0 && string(v.ClusterVolumeSpec) != "null" {
		return refuse(d.op, "%s: cluster volumes are not allowed", d.op)
	}
	if len(v.DriverOpts) == 0 {
		return d
	}
	opts := strings.Split(v.DriverOpts["o"], ",")
	device, typ := v.DriverOpts["device"], v.DriverOpts["type"]
	if !slices.Contains(opts, "bind") && !slices.Contains(opts, "rbind") {
		if typ == "tmpfs" {
			return d
		}
		return refuse(d.op, "%s: the local driver would mount %q of type %q: only tmpfs volumes and binds of host paths the container rules accept are allowed, "+
			"as a block device, a remote share or an overlay reaches the host in ways the rules cannot judge", d.op, device, typ)
	}
	if !path.IsAbs(device) {
		return refuse(d.op, "%s: the bind device %q is not an absolute host path", d.op, device)
	}
	m := workload.Mount{Type: "bind", Source: device, Destination: "/" + cmp.Or(v.Name, "volume")}
	for _, o := range opts {
		switch o {
		case "ro":
			m.ReadOnly = true
		case "shared", "rshared", "slave", "rslave":
			m.Propagation = o
		}
	}
	w := workload.Workload{Name: "volume " + v.Name, Stage: workload.StageRequest, Mounts: []workload.Mount{m}}
	w.Source.Kind = "volume create request"
	w.Source.Fields = map[string]workload.Place{workload.SetMounts: {Path: "DriverOpts"}, workload.SetMounts + "[0]": {Path: "DriverOpts"}}
	var rules []workload.Rule
	for _, r := range workload.Rules() {
		if slices.Contains(volumeMountRules, r.ID) {
			rules = append(rules, r)
		}
	}
	return g.judgeRules(d, w, rules)
}

// createRefs is what the gate reads of the volumes and networks a
// container create request names.
type createRefs struct {
	HostConfig struct {
		NetworkMode  string
		Binds        []string
		VolumeDriver string
		Mounts       []struct {
			Type          string
			Source        string
			VolumeOptions *struct {
				DriverConfig *struct {
					Name    string
					Options map[string]string
				}
			}
		}
	}
	NetworkingConfig struct {
		EndpointsConfig map[string]json.RawMessage
	}
}

// judgeCreateRefs judges the volumes and networks a create request
// names, as their creation would be: the engine creates a missing volume
// with the request's driver and options (--mount volume-opt=o=bind,...),
// and uses volumes and networks that exist, which may have been made on
// the engine directly.
func (g *Gate) judgeCreateRefs(ctx context.Context, d decision) decision {
	var c createRefs
	if err := json.Unmarshal(d.body, &c); err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	hc := c.HostConfig
	if hc.VolumeDriver != "" && hc.VolumeDriver != "local" {
		return refuse(d.op, "%s: the volume driver %q is a plugin the gate cannot judge; only the local driver is allowed", d.op, hc.VolumeDriver)
	}
	var names []string
	for _, b := range hc.Binds {
		if m, err := workload.ParseBind(b); err == nil && m.Type == "volume" && m.Source != "" {
			names = append(names, m.Source)
		}
	}
	for _, m := range hc.Mounts {
		if m.Type != "volume" {
			continue
		}
		if m.VolumeOptions != nil && m.VolumeOptions.DriverConfig != nil {
			dc := m.VolumeOptions.DriverConfig
			if d = g.judgeVolume(d, volumeCreate{Name: m.Source, Driver: dc.Name, DriverOpts: dc.Options}); d.refusal != "" {
				return d
			}
		}
		if m.Source != "" {
			names = append(names, m.Source)
		}
	}
	if d = g.judgeVolumes(ctx, d, names); d.refusal != "" {
		return d
	}
	nets := []string{c.HostConfig.NetworkMode}
	for n := range c.NetworkingConfig.EndpointsConfig {
		nets = append(nets, n)
	}
	return g.judgeNetworks(ctx, d, nets)
}

// judgeAttached judges the volumes c mounts and the networks it is on.
func (g *Gate) judgeAttached(ctx context.Context, d decision, c engineapi.ContainerJSON) decision {
	var vols []string
	for _, m := range c.Mounts {
		if m.Type == "volume" && m.Name != "" {
			vols = append(vols, m.Name)
		}
	}
	if d = g.judgeVolumes(ctx, d, vols); d.refusal != "" {
		return d
	}
	nets := []string{c.HostConfig.NetworkMode}
	for n := range c.NetworkSettings.Networks {
		nets = append(nets, n)
	}
	return g.judgeNetworks(ctx, d, nets)
}

// judgeVolumes judges the volumes named that the engine has by the
// driver and options it holds for them (judgeVolume), asking the engine
// once for each (a create may name one in Binds and Mounts both).
func (g *Gate) judgeVolumes(ctx context.Context, d decision, names []string) decision {
	names = firstOfEach(names)
	if len(names) > maxAttached {
		return refuse(d.op, "%s: more than %d volumes named, each of which the engine would be asked about", d.op, maxAttached)
	}
	for _, n := range names {
		var v struct {
			Driver  string
			Options map[string]string
		}
		err := g.engineJSON(ctx, "/volumes/"+n, &v)
		var nf notFound
		if errors.As(err, &nf) {
			continue
		}
		if err != nil {
			return refuse(d.op, "%s: could not decide about the volume %q: %v", d.op, n, err)
		}
		if d = g.judgeVolume(d, volumeCreate{Name: n, Driver: v.Driver, DriverOpts: v.Options}); d.refusal != "" {
			return d
		}
	}
	return d
}

// maxAttached bounds the volumes, and the networks, one request makes
// the gate ask the engine about, one after the other: a create body of
// maxBody bytes could name a hundred thousand.
const maxAttached = 256

// firstOfEach is names without repeats, in the order first named.
func firstOfEach(names []string) []string {
	seen := make(map[string]bool, len(names))
	out := names[:0:0]
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// networkCreate is what the gate reads of a network create request.
type networkCreate struct {
	Driver     string
	Options    map[string]string
	Ingress    bool
	ConfigFrom *struct{ Network string }
	IPAM       *struct{ Driver string }
}

// bridgeOptions are the bridge driver options that change nothing the
// host has: a name would make the network an existing host bridge (one
// joined to the host's LAN), so it is not among them.
var bridgeOptions = []string{
	"com.docker.network.bridge.enable_icc", "com.docker.network.bridge.enable_ip_masquerade",
	"com.docker.network.bridge.host_binding_ipv4", "com.docker.network.driver.mtu",
	"com.docker.network.container_iface_prefix",
}

// checkNetworkCreate judges POST /networks/create (judgeNetwork).
func checkNetworkCreate(_ *Gate, _ *http.Request, d decision) decision {
	var n networkCreate
	if err := json.Unmarshal(d.body, &n); err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	return judgeNetwork(d, n, "")
}

// checkNetworkConnect judges the network a container is connected to by
// what the engine holds for it.
func (g *Gate) checkNetworkConnect(r *http.Request, d decision) decision {
	path, err := Normalise(r.URL.Path)
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	return g.judgeNetworks(r.Context(), d, []string{strings.Split(path, "/")[2]})
}

// builtinNetworks are the network modes the container rules judge
// (host), or that give no network beyond the engine's default bridge.
var builtinNetworks = []string{"", "default", "bridge", "none", "host"}

// judgeNetworks judges the networks named that the engine has, by the
// driver and options it holds for them: one made on the engine directly
// (macvlan, or a bridge on a host bridge) gives a container what a
// create through the gate could not.
//
// The engine is asked once for each (docker compose names a service's
// network in NetworkMode and EndpointsConfig both).
func (g *Gate) judgeNetworks(ctx context.Context, d decision, names []string) decision {
	names = firstOfEach(names)
	if len(names) > maxAttached {
		return refuse(d.op, "%s: more than %d networks named, each of which the engine would be asked about", d.op, maxAttached)
	}
	for _, n := range names {
		if slices.Contains(builtinNetworks, n) || strings.HasPrefix(n, "container:") {
			continue
		}
		var net networkCreate
		err := g.engineJSON(ctx, "/networks/"+n, &net)
		var nf notFound
		if errors.As(err, &nf) {
			continue
		}
		if err != nil {
			return refuse(d.op, "%s: could not decide about the network %q: %v", d.op, n, err)
		}
		if d = judgeNetwork(d, net, "the network "+n+": "); d.refusal != "" {
			return d
		}
	}
	return d
}

// judgeNetwork allows bridge networks the engine makes for itself.
// macvlan and ipvlan put containers on a host interface's LAN, past the
// host's firewall; host and null are singletons; other drivers and IPAM
// drivers are plugins; an ingress network or one configured from another
// network (a config-only network made on the engine directly) is Swarm's
// or unjudged.
// which names the network judged ("" for a network create).
func judgeNetwork(d decision, n networkCreate, which string) decision {
	switch {
	case n.Driver != "" && n.Driver != "bridge":
		return refuse(d.op, "%s: %sthe network driver %q is not allowed: only bridge networks are", d.op, which, n.Driver)
	case n.Ingress:
		return refuse(d.op, "%s: %singress networks are not allowed", d.op, which)
	case n.ConfigFrom != nil && n.ConfigFrom.Network != "":
		return refuse(d.op, "%s: %sa network configured from another one (%s) is not allowed", d.op, which, n.ConfigFrom.Network)
	case n.IPAM != nil && n.IPAM.Driver != "" && n.IPAM.Driver != "default":
		return refuse(d.op, "%s: %sthe IPAM driver %q is a plugin the gate cannot judge", d.op, which, n.IPAM.Driver)
	}
	for k := range n.Options {
		if !slices.Contains(bridgeOptions, k) {
			return refuse(d.op, "%s: %sthe network option %q is not allowed (allowed: %s)", d.op, which, k, strings.Join(bridgeOptions, ", "))
		}
	}
	return d
}
