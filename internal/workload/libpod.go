package workload

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// maxLibpodSpec bounds a libpod create request body.
const maxLibpodSpec = 4 << 20

// maxPorts bounds the published ports of one request: every port of
// every protocol Podman knows (tcp, udp, sctp).
const maxPorts = 3 << 16

// libpodSpec is the part of Podman's create request (the JSON body of
// POST /libpod/containers/create, specgen.SpecGenerator) that the model
// reads, with Podman's JSON names.
type libpodSpec struct {
	Name               string                    `json:"name"`
	Image              string                    `json:"image"`
	RawImageName       string                    `json:"raw_image_name"`
	User               string                    `json:"user"`
	Groups             []string                  `json:"groups"`
	CapAdd             []string                  `json:"cap_add"`
	CapDrop            []string                  `json:"cap_drop"`
	Privileged         *bool                     `json:"privileged"`
	NoNewPrivileges    *bool                     `json:"no_new_privileges"`
	SeccompProfilePath string                    `json:"seccomp_profile_path"`
	ApparmorProfile    string                    `json:"apparmor_profile"`
	SelinuxOpts        []string                  `json:"selinux_opts"`
	ReadOnlyFilesystem *bool                     `json:"read_only_filesystem"`
	Mask               []string                  `json:"mask"`
	Unmask             []string                  `json:"unmask"`
	NetNS              libpodNamespace           `json:"netns"`
	PidNS              libpodNamespace           `json:"pidns"`
	IpcNS              libpodNamespace           `json:"ipcns"`
	UtsNS              libpodNamespace           `json:"utsns"`
	UserNS             libpodNamespace           `json:"userns"`
	CgroupNS           libpodNamespace           `json:"cgroupns"`
	Networks           map[string]any            `json:"Networks"`
	CNINetworks        []string                  `json:"cni_networks"`
	Mounts             []specs.Mount             `json:"mounts"`
	Volumes            []libpodVolume            `json:"volumes"`
	OverlayVolumes     []libpodOverlay           `json:"overlay_volumes"`
	ImageVolumes       []libpodImageVol          `json:"image_volumes"`
	Devices            []specs.LinuxDevice       `json:"devices"`
	DeviceCgroupRule   []specs.LinuxDeviceCgroup `json:"device_cgroup_rule"`
	ResourceLimits     *specs.LinuxResources     `json:"resource_limits"`
	CgroupParent       string                    `json:"cgroup_parent"`
	Sysctl             map[string]string         `json:"sysctl"`
	VolumesFrom        []string                  `json:"volumes_from"`
	PortMappings       []libpodPort              `json:"portmappings"`
	RestartPolicy      string                    `json:"restart_policy"`
	RestartTries       *uint                     `json:"restart_tries"`
	HealthConfig       *struct {
		Test []string `json:"Test"`
	} `json:"healthconfig"`
	HostAdd []string          `json:"hostadd"`
	Expose  map[uint16]string `json:"expose"`
	// Rootfs is a host directory run as the container's root file
	// system (--rootfs), RootfsOverlay its ":O" (writes go to an upper
	// layer).
	Rootfs        string `json:"rootfs"`
	RootfsOverlay *bool  `json:"rootfs_overlay"`
}

// libpodNamespace is specgen.Namespace.
type libpodNamespace struct {
	NSMode string `json:"nsmode"`
	Value  string `json:"value"`
}

// libpodVolume is specgen.NamedVolume (no JSON tags: Go's field names).
type libpodVolume struct {
	Name    string   `json:"Name"`
	Dest    string   `json:"Dest"`
	Options []string `json:"Options"`
}

// libpodOverlay is specgen.OverlayVolume: a host directory as the lower
// layer of an overlay.
type libpodOverlay struct {
	Destination string `json:"destination"`
	Source      string `json:"source"`
}

// libpodImageVol is specgen.ImageVolume.
type libpodImageVol struct {
	Source      string `json:"Source"`
	Destination string `json:"Destination"`
	ReadWrite   bool   `json:"ReadWrite"`
}

// libpodPort is Podman's types.PortMapping.
type libpodPort struct {
	HostIP        string `json:"host_ip"`
	ContainerPort uint16 `json:"container_port"`
	HostPort      uint16 `json:"host_port"`
	Range         uint16 `json:"range"`
	Protocol      string `json:"protocol"`
}

// ParseLibpodSpec reads Podman's libpod create spec (the JSON body of
// POST /libpod/containers/create) as a request about to run.
func ParseLibpodSpec(data []byte) (Workload, error) {
	if len(data) > maxLibpodSpec {
		return Workload{}, fmt.Errorf("libpod create spec: larger than %d bytes", maxLibpodSpec)
	}
	var s libpodSpec
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return Workload{}, fmt.Errorf("libpod create spec: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Workload{}, fmt.Errorf("libpod create spec: data after the JSON object")
	}
	name := s.Name
	if name == "" {
		name = "libpod create request"
	}
	image := s.Image
	if image == "" {
		image = s.RawImageName
	}
	w := Workload{
		Name:   name,
		Stage:  StageRequest,
		Source: Source{Kind: "libpod create spec", Fields: map[string]Place{}},
		Image:  image,
		User:   s.User,
		Groups: s.Groups,
		// Podman's capabilities are written as Docker's: normalize alike.
		CapAdd:          normalizeCaps(s.CapAdd),
		CapDrop:         normalizeCaps(s.CapDrop),
		Privileged:      s.Privileged != nil && *s.Privileged,
		NoNewPrivileges: s.NoNewPrivileges,
		Seccomp:         s.SeccompProfilePath,
		AppArmor:        s.ApparmorProfile,
		ReadOnlyRootfs:  s.ReadOnlyFilesystem != nil && *s.ReadOnlyFilesystem,
		CgroupParent:    s.CgroupParent,
		Sysctls:         s.Sysctl,
		VolumesFrom:     s.VolumesFrom,
		Namespaces: Namespaces{
			Network: s.NetNS.mode(),
			PID:     s.PidNS.mode(),
			IPC:     s.IpcNS.mode(),
			UTS:     s.UtsNS.mode(),
			User:    s.UserNS.mode(),
			Cgroup:  s.CgroupNS.mode(),
		},
	}
	f := w.Source.Fields
	at := func(setting, path string, set bool) {
		if set {
			f[setting] = Place{Path: path}
		}
	}
	at(SetImage, "image", s.Image != "")
	at(SetImage, "raw_image_name", s.Image == "" && s.RawImageName != "")
	at(SetUser, "user", s.User != "")
	at(SetCapAdd, "cap_add", s.CapAdd != nil)
	at(SetCapDrop, "cap_drop", s.CapDrop != nil)
	for i := range s.CapAdd {
		f["capAdd["+strconv.Itoa(i)+"]"] = Place{Path: "cap_add[" + strconv.Itoa(i) + "]"}
	}
	for i := range s.CapDrop {
		f["capDrop["+strconv.Itoa(i)+"]"] = Place{Path: "cap_drop[" + strconv.Itoa(i) + "]"}
	}
	at(SetPrivileged, "privileged", s.Privileged != nil)
	at(SetNoNewPrivileges, "no_new_privileges", s.NoNewPrivileges != nil)
	at(SetSeccomp, "seccomp_profile_path", s.SeccompProfilePath != "")
	at(SetAppArmor, "apparmor_profile", s.ApparmorProfile != "")
	at(SetReadOnlyRootfs, "read_only_filesystem", s.ReadOnlyFilesystem != nil)
	at(SetCgroupParent, "cgroup_parent", s.CgroupParent != "")
	at(SetSysctls, "sysctl", len(s.Sysctl) > 0)
	at(SetVolumesFrom, "volumes_from", len(s.VolumesFrom) > 0)
	at(SetNetwork, "netns", s.NetNS.NSMode != "")
	at(SetPID, "pidns", s.PidNS.NSMode != "")
	at(SetIPC, "ipcns", s.IpcNS.NSMode != "")
	at(SetUTS, "utsns", s.UtsNS.NSMode != "")
	at(SetUserNS, "userns", s.UserNS.NSMode != "")
	at(SetCgroupNS, "cgroupns", s.CgroupNS.NSMode != "")

	for i, o := range s.SelinuxOpts {
		if o == "disable" || o == "type:spc_t" {
			w.SELinuxDisabled = true
			f[SetSELinux] = Place{Path: "selinux_opts[" + strconv.Itoa(i) + "]"}
		}
		w.SELinuxLabel.set(o)
	}
	if _, ok := f[SetSELinux]; !ok && w.SELinuxLabel != (SELinuxLabel{}) {
		f[SetSELinux] = Place{Path: "selinux_opts"}
	}
	w.ExtraHosts = s.HostAdd
	at(SetExtraHosts, "hostadd", len(s.HostAdd) > 0)
	for _, port := range slices.Sorted(maps.Keys(s.Expose)) {
		w.ContainerPorts = append(w.ContainerPorts, Port{ContainerPort: strconv.Itoa(int(port)), Protocol: cmp.Or(s.Expose[port], "tcp")})
	}
	at(SetContainerPorts, "expose", len(s.Expose) > 0)
	// Podman masks its default paths plus mask; unmask lifts the
	// masking of the paths it names, ALL of every one.
	if len(s.Unmask) > 0 {
		w.SystemPathsUnconfined = true
		f[SetSystemPaths] = Place{Path: "unmask"}
	}

	w.Networks = append(w.Networks, slices.Sorted(maps.Keys(s.Networks))...)
	w.Networks = append(w.Networks, s.CNINetworks...)

	libpodMounts(&w, &s)
	libpodDevices(&w, &s)
	libpodResources(&w, s.ResourceLimits)
	if err := libpodPorts(&w, s.PortMappings); err != nil {
		return Workload{}, err
	}
	for _, p := range w.Ports {
		w.ContainerPorts = append(w.ContainerPorts, Port{ContainerPort: p.ContainerPort, Protocol: p.Protocol})
	}

	if s.RestartPolicy != "" {
		w.Restart.Policy = s.RestartPolicy
		if s.RestartTries != nil {
			w.Restart.MaxRetries = int(min(*s.RestartTries, 1<<31-1))
		}
		f[SetRestart] = Place{Path: "restart_policy"}
	}
	if hc := s.HealthConfig; hc != nil {
		if w.Healthcheck = healthcheckOn(false, true, hc.Test); w.Healthcheck != nil {
			f[SetHealthcheck] = Place{Path: "healthconfig"}
		}
	}
	return w, nil
}

// mode writes a namespace as the model does: "host" (also for the path of
// the host's namespace: nsPathMode), "container:ID", "ns:PATH", "" for the container's own, else Podman's mode ("bridge",
// "none", "slirp4netns", "pasta", "keep-id", ...).
func (n libpodNamespace) mode() string {
	switch n.NSMode {
	case "", "default", "private":
		return ""
	case "container", "from_container":
		return "container:" + n.Value
	case "path":
		return nsPathMode(n.Value)
	}
	return n.NSMode
}

func libpodMounts(w *Workload, s *libpodSpec) {
	f := w.Source.Fields
	add := func(m Mount, path string) {
		f["mounts["+strconv.Itoa(len(w.Mounts))+"]"] = Place{Path: path}
		w.Mounts = append(w.Mounts, m)
	}
	for i, m := range s.Mounts {
		mt := Mount{Type: m.Type, Source: m.Source, Destination: m.Destination}
		for _, o := range m.Options {
			switch o {
			case "ro":
				mt.ReadOnly = true
			case "bind", "rbind":
				mt.Type = "bind"
			case "private", "rprivate", "shared", "rshared", "slave", "rslave":
				mt.Propagation = o
			}
		}
		if mt.Type == "tmpfs" || mt.Type == "devpts" || mt.Type == "mqueue" {
			mt.Source = ""
		}
		add(mt, "mounts["+strconv.Itoa(i)+"]")
	}
	for i, v := range s.Volumes {
		add(Mount{Type: "volume", Source: v.Name, Destination: v.Dest, ReadOnly: slices.Contains(v.Options, "ro")}, "volumes["+strconv.Itoa(i)+"]")
	}
	// An overlay volume shows a host directory read-write in the
	// container while its writes go to an upper layer: the host's files
	// are exposed, not changed.
	for i, v := range s.OverlayVolumes {
		add(Mount{Type: "bind", Source: v.Source, Destination: v.Destination, ReadOnly: true}, "overlay_volumes["+strconv.Itoa(i)+"]")
	}
	for i, v := range s.ImageVolumes {
		add(Mount{Type: "image", Source: v.Source, Destination: v.Destination, ReadOnly: !v.ReadWrite}, "image_volumes["+strconv.Itoa(i)+"]")
	}
	// --rootfs runs a host directory as the container's root: a bind of
	// it on /, which the container writes unless it is read-only or an
	// overlay.
	if s.Rootfs != "" {
		ro := w.ReadOnlyRootfs || (s.RootfsOverlay != nil && *s.RootfsOverlay)
		add(Mount{Type: "bind", Source: s.Rootfs, Destination: "/", ReadOnly: ro}, "rootfs")
	}
	switch {
	case len(s.Mounts) > 0:
		f[SetMounts] = Place{Path: "mounts"}
	case len(s.Volumes) > 0:
		f[SetMounts] = Place{Path: "volumes"}
	case len(s.OverlayVolumes) > 0:
		f[SetMounts] = Place{Path: "overlay_volumes"}
	case len(s.ImageVolumes) > 0:
		f[SetMounts] = Place{Path: "image_volumes"}
	case s.Rootfs != "":
		f[SetMounts] = Place{Path: "rootfs"}
	}
}

// libpodDevices reads devices as Podman's CLI sends them: the --device
// argument ("/dev/sda:/dev/xvda:rwm") in path.
func libpodDevices(w *Workload, s *libpodSpec) {
	f := w.Source.Fields
	for i, d := range s.Devices {
		parts := strings.SplitN(d.Path, ":", 3)
		dev := Device{PathOnHost: parts[0], PathInContainer: parts[0], Permissions: "rwm"}
		if len(parts) > 1 && parts[1] != "" {
			dev.PathInContainer = parts[1]
		}
		if len(parts) > 2 {
			dev.Permissions = parts[2]
		}
		w.Devices = append(w.Devices, dev)
		f["devices["+strconv.Itoa(i)+"]"] = Place{Path: "devices[" + strconv.Itoa(i) + "]"}
	}
	if len(s.Devices) > 0 {
		f[SetDevices] = Place{Path: "devices"}
	}
	for _, r := range s.DeviceCgroupRule {
		w.DeviceCgroupRules = append(w.DeviceCgroupRules, deviceCgroupRule(r))
	}
	if len(s.DeviceCgroupRule) > 0 {
		f[SetDeviceCgroupRules] = Place{Path: "device_cgroup_rule"}
	}
}

// deviceCgroupRule writes a cgroup device rule as --device-cgroup-rule
// does ("c 1:3 rwm", "a *:* rwm").
func deviceCgroupRule(r specs.LinuxDeviceCgroup) string {
	num := func(n *int64) string {
		if n == nil || *n < 0 {
			return "*"
		}
		return strconv.FormatInt(*n, 10)
	}
	typ := r.Type
	if typ == "" {
		typ = "a"
	}
	rule := typ + " " + num(r.Major) + ":" + num(r.Minor) + " " + r.Access
	if !r.Allow {
		rule = "deny " + rule
	}
	return rule
}

func libpodResources(w *Workload, r *specs.LinuxResources) {
	if r == nil {
		return
	}
	f := w.Source.Fields
	if m := r.Memory; m != nil && m.Limit != nil {
		w.Resources.Memory = *m.Limit
		f[SetMemory] = Place{Path: "resource_limits.memory.limit"}
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil {
			w.Resources.CPUShares = int64(min(*c.Shares, 1<<62))
			f[SetCPU] = Place{Path: "resource_limits.cpu.shares"}
		}
		if c.Quota != nil {
			w.Resources.CPUQuota = *c.Quota
			if c.Period != nil && *c.Period > 0 && *c.Quota > 0 {
				w.Resources.NanoCPUs = int64(float64(*c.Quota) / float64(*c.Period) * 1e9)
			}
			f[SetCPU] = Place{Path: "resource_limits.cpu.quota"}
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		limit := *p.Limit
		w.Resources.PidsLimit = &limit
		f[SetPidsLimit] = Place{Path: "resource_limits.pids.limit"}
	}
}

// libpodPorts expands each mapping's range into one published port each,
// as Podman publishes them.
func libpodPorts(w *Workload, ports []libpodPort) error {
	f := w.Source.Fields
	for i, p := range ports {
		n := max(int(p.Range), 1)
		if int(p.ContainerPort)+n-1 > 65535 || int(p.HostPort)+n-1 > 65535 {
			return fmt.Errorf("libpod create spec: portmappings[%d]: range goes past port 65535", i)
		}
		for _, proto := range strings.Split(p.Protocol, ",") {
			if proto == "" {
				proto = "tcp"
			}
			if len(w.Ports)+n > maxPorts {
				return fmt.Errorf("libpod create spec: more than %d published ports", maxPorts)
			}
			for j := range n {
				port := Port{HostIP: p.HostIP, ContainerPort: strconv.Itoa(int(p.ContainerPort) + j), Protocol: proto}
				if p.HostPort != 0 {
					port.HostPort = strconv.Itoa(int(p.HostPort) + j)
				}
				f["ports["+strconv.Itoa(len(w.Ports))+"]"] = Place{Path: "portmappings[" + strconv.Itoa(i) + "]"}
				w.Ports = append(w.Ports, port)
			}
		}
	}
	if len(ports) > 0 {
		f[SetPorts] = Place{Path: "portmappings"}
	}
	return nil
}
