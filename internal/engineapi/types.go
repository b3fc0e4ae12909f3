package engineapi

// The Docker Engine API's container types, the parts hull reads: the
// answer of GET /containers/ID/json (`docker inspect`) and the body of
// POST /containers/create. Field names are Docker's JSON names (moby's
// api/types/container); Podman's Docker-compatible API answers the same
// shapes. encoding/json matches names without regard to case, as dockerd
// does.

// ContainerJSON is what GET /containers/ID/json says of a container.
type ContainerJSON struct {
	ID              string          `json:"Id"`
	Name            string          `json:"Name"`
	Image           string          `json:"Image"`
	AppArmorProfile string          `json:"AppArmorProfile"`
	State           ContainerState  `json:"State"`
	Config          Config          `json:"Config"`
	HostConfig      HostConfig      `json:"HostConfig"`
	Mounts          []MountPoint    `json:"Mounts"`
	NetworkSettings NetworkSettings `json:"NetworkSettings"`
}

// ContainerState is a container's run state.
type ContainerState struct {
	Status  string `json:"Status"`
	Running bool   `json:"Running"`
	// Pid is its first process on the engine's host, 0 when not running.
	Pid int `json:"Pid"`
}

// Config is a container's portable configuration (inspect's Config, and
// the top level of a create request).
type Config struct {
	User  string `json:"User"`
	Image string `json:"Image"`
	// ExposedPorts are "PORT/PROTO" keys with empty objects.
	ExposedPorts map[string]struct{} `json:"ExposedPorts"`
	Healthcheck  *HealthConfig       `json:"Healthcheck"`
}

// HealthConfig is a health check; Test ["NONE"] disables the image's.
type HealthConfig struct {
	Test []string `json:"Test"`
	// Interval, Timeout and StartPeriod are nanoseconds.
	Interval    int64 `json:"Interval"`
	Timeout     int64 `json:"Timeout"`
	StartPeriod int64 `json:"StartPeriod"`
	Retries     int   `json:"Retries"`
}

// HostConfig is a container's host-dependent configuration.
type HostConfig struct {
	// Binds are legacy volume strings: "SRC:DST[:OPTIONS]" where SRC is an
	// absolute host path or a volume name.
	Binds           []string                 `json:"Binds"`
	NetworkMode     string                   `json:"NetworkMode"`
	PortBindings    map[string][]PortBinding `json:"PortBindings"`
	RestartPolicy   RestartPolicy            `json:"RestartPolicy"`
	CapAdd          []string                 `json:"CapAdd"`
	CapDrop         []string                 `json:"CapDrop"`
	CgroupnsMode    string                   `json:"CgroupnsMode"`
	GroupAdd        []string                 `json:"GroupAdd"`
	IpcMode         string                   `json:"IpcMode"`
	PidMode         string                   `json:"PidMode"`
	Privileged      bool                     `json:"Privileged"`
	PublishAllPorts bool                     `json:"PublishAllPorts"`
	ReadonlyRootfs  bool                     `json:"ReadonlyRootfs"`
	SecurityOpt     []string                 `json:"SecurityOpt"`
	// Tmpfs maps a container path to its mount options.
	Tmpfs      map[string]string `json:"Tmpfs"`
	UTSMode    string            `json:"UTSMode"`
	UsernsMode string            `json:"UsernsMode"`
	Resources
	Mounts []Mount `json:"Mounts"`
	// MaskedPaths and ReadonlyPaths replace the engine's defaults when
	// set; inspect shows an empty MaskedPaths with --security-opt
	// systempaths=unconfined (or --privileged).
	MaskedPaths   []string `json:"MaskedPaths"`
	ReadonlyPaths []string `json:"ReadonlyPaths"`
	// ExtraHosts are "HOST:IP" entries added to /etc/hosts.
	ExtraHosts []string `json:"ExtraHosts"`
	// Sysctls are namespaced kernel parameters set in the container.
	Sysctls map[string]string `json:"Sysctls"`
}

// Resources are a container's cgroup limits.
type Resources struct {
	CPUShares         int64           `json:"CpuShares"`
	Memory            int64           `json:"Memory"`
	NanoCPUs          int64           `json:"NanoCpus"`
	CgroupParent      string          `json:"CgroupParent"`
	CPUPeriod         int64           `json:"CpuPeriod"`
	CPUQuota          int64           `json:"CpuQuota"`
	Devices           []DeviceMapping `json:"Devices"`
	DeviceCgroupRules []string        `json:"DeviceCgroupRules"`
	MemoryReservation int64           `json:"MemoryReservation"`
	MemorySwap        int64           `json:"MemorySwap"`
	// PidsLimit is nil when unset; 0 or -1 is unlimited.
	PidsLimit *int64 `json:"PidsLimit"`
}

// DeviceMapping is a host device passed into a container.
type DeviceMapping struct {
	PathOnHost        string `json:"PathOnHost"`
	PathInContainer   string `json:"PathInContainer"`
	CgroupPermissions string `json:"CgroupPermissions"`
}

// RestartPolicy is "no", "always", "unless-stopped" or "on-failure" ("" is
// no).
type RestartPolicy struct {
	Name              string `json:"Name"`
	MaximumRetryCount int    `json:"MaximumRetryCount"`
}

// PortBinding is a published port.
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// Mount is a mount a create request asks for (--mount).
type Mount struct {
	// Type is "bind", "volume", "tmpfs", "npipe", "cluster" or "image".
	Type          string         `json:"Type"`
	Source        string         `json:"Source"`
	Target        string         `json:"Target"`
	ReadOnly      bool           `json:"ReadOnly"`
	BindOptions   *BindOptions   `json:"BindOptions"`
	VolumeOptions *VolumeOptions `json:"VolumeOptions"`
}

// BindOptions are a bind mount's options.
type BindOptions struct {
	// Propagation is "private", "rprivate", "shared", "rshared", "slave"
	// or "rslave".
	Propagation string `json:"Propagation"`
}

// VolumeOptions are a volume mount's options.
type VolumeOptions struct {
	NoCopy bool `json:"NoCopy"`
}

// MountPoint is a mount of a container as inspect shows it: binds,
// volumes and --mount mounts alike.
type MountPoint struct {
	Type        string `json:"Type"`
	Name        string `json:"Name"`
	Source      string `json:"Source"`
	Destination string `json:"Destination"`
	Mode        string `json:"Mode"`
	RW          bool   `json:"RW"`
	Propagation string `json:"Propagation"`
}

// NetworkSettings are a container's networks and the ports published on
// them.
type NetworkSettings struct {
	Ports    map[string][]PortBinding    `json:"Ports"`
	Networks map[string]EndpointSettings `json:"Networks"`
}

// EndpointSettings is a container's attachment to one network.
type EndpointSettings struct {
	NetworkID string   `json:"NetworkID"`
	Aliases   []string `json:"Aliases"`
}

// CreateRequest is the body of POST /containers/create: the container's
// Config at the top level, its HostConfig and the networks it joins.
type CreateRequest struct {
	Config
	HostConfig       HostConfig        `json:"HostConfig"`
	NetworkingConfig *NetworkingConfig `json:"NetworkingConfig"`
}

// NetworkingConfig names the networks a new container joins.
type NetworkingConfig struct {
	EndpointsConfig map[string]*EndpointSettings `json:"EndpointsConfig"`
}
