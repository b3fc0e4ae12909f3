package gate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hull-sec/hull/internal/engineapi"
	"github.com/hull-sec/hull/internal/workload"
)

// serviceOps: what docker service create, update, inspect, ls and rm
// call. The engine creates a service's containers itself, past the
// gate's container create, so a service spec is judged as the create
// request of its container would be, and with a trust policy its image
// is verified and pinned to the verified digest (checkService).
var serviceOps = []op{
	{"service create", "POST", "/services/create", bodyJSON, func(g *Gate, r *http.Request, d decision) decision {
		return g.checkService(r, d)
	}},
	{"service update", "POST", "/services/{}/update", bodyJSON, func(g *Gate, r *http.Request, d decision) decision {
		return g.checkService(r, d, "version", "registryAuthFrom", "rollback")
	}},
	{"service list", "GET", "/services", bodyNone, nil},
	{"service inspect", "GET", "/services/{}", bodyNone, nil},
	{"service remove", "DELETE", "/services/{}", bodyNone, nil},
	{"task list", "GET", "/tasks", bodyNone, nil},
}

// serviceSpec is the part of a swarm service spec the gate lets
// through: a field it does not know (networks, plugin tasks, volume
// driver options, and any field a later API adds) refuses the request,
// as the gate cannot tell what it would do. Fields that only schedule
// or label are taken as they are.
type serviceSpec struct {
	Name         string
	Labels       map[string]string
	TaskTemplate struct {
		ContainerSpec *containerSpec
		Resources     *struct {
			Limits       *struct{ NanoCPUs, MemoryBytes, Pids int64 }
			Reservations *struct{ NanoCPUs, MemoryBytes int64 }
		}
		RestartPolicy json.RawMessage
		Placement     json.RawMessage
		LogDriver     json.RawMessage
		ForceUpdate   uint64
		Runtime       string
	}
	Mode           json.RawMessage
	UpdateConfig   json.RawMessage
	RollbackConfig json.RawMessage
	EndpointSpec   *struct {
		Mode  string
		Ports []struct {
			Name, Protocol, PublishMode string
			TargetPort, PublishedPort   uint32
		}
	}
}

// containerSpec is a service's container as the gate judges it.
type containerSpec struct {
	Image                                      string
	Labels                                     map[string]string
	Command, Args, Env, Groups, Hosts          []string
	CapabilityAdd, CapabilityDrop              []string
	Hostname, Dir, User, StopSignal, Isolation string
	Init                                       *bool
	TTY, OpenStdin, ReadOnly                   bool
	StopGracePeriod                            *int64
	Healthcheck                                *engineapi.HealthConfig
	DNSConfig, Secrets, Configs, Ulimits       json.RawMessage
	Sysctls                                    map[string]string
	Mounts                                     []serviceMount
	Privileges                                 *struct {
		CredentialSpec json.RawMessage
		SELinuxContext *struct {
			Disable                 bool
			User, Role, Type, Level string
		}
		Seccomp *struct {
			Mode    string
			Profile []byte
		}
		AppArmor *struct{ Mode string }
		// NoNewPrivileges is read but not counted: older engines
		// (dockerd 20.10) ignore it, so the gate judges the service
		// without it. Seccomp and AppArmor count only to refuse.
		NoNewPrivileges bool
	}
}

// serviceMount is a mount of a service's container.
type serviceMount struct {
	Type, Source, Target, Consistency string
	ReadOnly                          bool
	BindOptions                       *engineapi.BindOptions
	VolumeOptions                     *struct {
		NoCopy bool
		Labels map[string]string
	}
	TmpfsOptions *struct{ SizeBytes, Mode int64 }
}

// checkService judges a service spec (checkCreate's rules, on the create
// request its container would be) and, with a trust policy, verifies its
// image and pins it to the verified repo@digest, which every node pulls.
// The digest, not an image ID, pins here: the nodes pull the image
// themselves, and a pull by digest gets the content the digest names.
// params are the query parameters the operation takes.
func (g *Gate) checkService(r *http.Request, d decision, params ...string) decision {
	if _, err := parseQuery(r, params...); err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	spec, err := parseService(d.body)
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	judged, err := workload.FromCreate(spec.createRequest())
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	if d = g.judgeWorkload(d, judged); d.refusal != "" || g.opts.Verifier == nil {
		return d
	}
	p, err := serviceImage(spec.TaskTemplate.ContainerSpec.Image)
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	kc, err := clientKeychain(r.Header.Values("X-Registry-Auth"))
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	if d = g.verifyRef(r.Context(), d, p, kc); d.refusal != "" {
		return d
	}
	body, err := setField(d.body, d.image, "TaskTemplate", "ContainerSpec", "Image")
	if err != nil {
		return refuse(d.op, "%s: pin the image: %v", d.op, err)
	}
	spec, err = parseService(body)
	if err != nil {
		return refuse(d.op, "%s: pin the image: %v", d.op, err)
	}
	if pinned, err := workload.FromCreate(spec.createRequest()); err != nil || !sameBut(judged, pinned) {
		return refuse(d.op, "%s: the service with its image pinned to %s is not the service judged", d.op, d.image)
	}
	d.body = body
	return d
}

// parseService reads a service spec, refusing fields the gate does not
// judge and a spec with no container (a plugin service).
func parseService(body []byte) (serviceSpec, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var spec serviceSpec
	if err := dec.Decode(&spec); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return serviceSpec{}, fmt.Errorf("the service spec has the field %s, which the gate does not judge", f)
		}
		return serviceSpec{}, fmt.Errorf("the service spec: %w", err)
	}
	cs := spec.TaskTemplate.ContainerSpec
	if cs == nil || cs.Image == "" {
		return serviceSpec{}, errors.New("the service spec names no container image")
	}
	if rt := spec.TaskTemplate.Runtime; rt != "" && rt != "container" {
		return serviceSpec{}, fmt.Errorf("the service runtime %q is not a container", rt)
	}
	return spec, nil
}

// serviceImage reads a service's image: repo, repo:tag (latest when
// none), repo@digest, or repo:tag@digest as docker service create pins
// it, whose digest is what the nodes pull.
func serviceImage(s string) (pullRef, error) {
	base, dig, hasDig := strings.Cut(s, "@")
	t, err := name.NewTag(base)
	if err != nil {
		return pullRef{}, fmt.Errorf("the image %q is not a reference the gate can judge: %v", s, err)
	}
	if !hasDig {
		return parsePull(t.Context().String(), t.TagStr())
	}
	return parsePull(t.Context().String()+"@"+dig, "")
}

// createRequest is the create request of the service's container: what
// the container rules judge.
func (s serviceSpec) createRequest() *engineapi.CreateRequest {
	cs := s.TaskTemplate.ContainerSpec
	req := &engineapi.CreateRequest{Config: engineapi.Config{User: cs.User, Image: cs.Image, Healthcheck: cs.Healthcheck}}
	h := &req.HostConfig
	h.CapAdd, h.CapDrop, h.GroupAdd = cs.CapabilityAdd, cs.CapabilityDrop, cs.Groups
	h.ReadonlyRootfs, h.Sysctls = cs.ReadOnly, cs.Sysctls
	for _, m := range cs.Mounts {
		em := engineapi.Mount{Type: m.Type, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly, BindOptions: m.BindOptions}
		if m.VolumeOptions != nil {
			em.VolumeOptions = &engineapi.VolumeOptions{NoCopy: m.VolumeOptions.NoCopy}
		}
		h.Mounts = append(h.Mounts, em)
	}
	if res := s.TaskTemplate.Resources; res != nil && res.Limits != nil {
		h.Memory, h.NanoCPUs = res.Limits.MemoryBytes, res.Limits.NanoCPUs
		if res.Limits.Pids != 0 {
			h.PidsLimit = &res.Limits.Pids
		}
	}
	if pr := cs.Privileges; pr != nil {
		if pr.SELinuxContext != nil && pr.SELinuxContext.Disable {
			h.SecurityOpt = append(h.SecurityOpt, "label=disable")
		}
		if pr.Seccomp != nil {
			switch pr.Seccomp.Mode {
			case "unconfined":
				h.SecurityOpt = append(h.SecurityOpt, "seccomp=unconfined")
			case "custom":
				h.SecurityOpt = append(h.SecurityOpt, "seccomp="+string(pr.Seccomp.Profile))
			}
		}
		if pr.AppArmor != nil && pr.AppArmor.Mode == "disabled" {
			h.SecurityOpt = append(h.SecurityOpt, "apparmor=unconfined")
		}
	}
	// A published port listens on every interface of every node, in
	// ingress and host mode alike.
	if s.EndpointSpec != nil {
		for _, p := range s.EndpointSpec.Ports {
			if p.PublishedPort == 0 {
				continue
			}
			proto := p.Protocol
			if proto == "" {
				proto = "tcp"
			}
			if h.PortBindings == nil {
				h.PortBindings = map[string][]engineapi.PortBinding{}
			}
			k := strconv.Itoa(int(p.TargetPort)) + "/" + proto
			h.PortBindings[k] = append(h.PortBindings[k], engineapi.PortBinding{HostPort: strconv.Itoa(int(p.PublishedPort))})
		}
	}
	return req
}
