package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/hull-sec/hull/internal/engineapi"
	"github.com/hull-sec/hull/internal/workload"
)

// containerOps: what docker cp, top, stats, diff, rename, pause, unpause,
// restart, update, export, rmi, history, the prunes, events and system df
// call beyond coreOps. Reading a container (top, stats, changes, export,
// archive GET) and stopping or removing things change no confinement.
// What makes a container run, or writes into it, is judged by the
// container rules on what the engine says the container is (checkStart,
// checkContainer, checkUpdate, checkArchivePut, exec.go), as it may have
// been created without the gate.
var containerOps = []op{
	{"events", "GET", "/events", bodyNone, nil},
	{"system df", "GET", "/system/df", bodyNone, nil},
	{"container top", "GET", "/containers/{}/top", bodyNone, nil},
	{"container stats", "GET", "/containers/{}/stats", bodyNone, nil},
	{"container changes", "GET", "/containers/{}/changes", bodyNone, nil},
	{"container export", "GET", "/containers/{}/export", bodyNone, nil},
	{"container rename", "POST", "/containers/{}/rename", bodyNone, nil},
	{"container pause", "POST", "/containers/{}/pause", bodyNone, nil},
	{"container unpause", "POST", "/containers/{}/unpause", bodyNone, nil},
	{"container restart", "POST", "/containers/{}/restart", bodyNone, (*Gate).checkStart},
	{"container update", "POST", "/containers/{}/update", bodyJSON, (*Gate).checkUpdate},
	{"container prune", "POST", "/containers/prune", bodyNone, nil},
	{"archive stat", "HEAD", "/containers/{}/archive", bodyNone, nil},
	{"archive get", "GET", "/containers/{}/archive", bodyNone, nil},
	{"archive put", "PUT", "/containers/{}/archive", bodyStream, (*Gate).checkArchivePut},
	{"image remove", "DELETE", "/images/{...}", bodyNone, nil},
	{"image history", "GET", "/images/{...}/history", bodyNone, nil},
	{"image prune", "POST", "/images/prune", bodyNone, nil},
}

// startParams are the parameters of a start and a restart: not a
// checkpoint to restore, or the host directory it is in.
var startParams = []string{"detachKeys", "t", "signal"}

// attachParams are the parameters of an attach.
var attachParams = []string{"stream", "stdin", "stdout", "stderr", "logs", "detachKeys"}

// checkStart judges a container about to start (or restart) as a create
// request of its settings would be judged, and, with a trust policy, the
// image it runs: the container may have been created on the engine
// directly, or its image re-tagged since.
func (g *Gate) checkStart(r *http.Request, d decision) decision {
	if _, err := plainQuery(r, startParams); err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	return g.judgeStart(r, d)
}

// checkLibpodStart is checkStart for Podman's libpod start, whose
// recursive (podman run always sends true) also starts the containers
// this one depends on (--requires, a pod's infra container): those are
// not judged here (README: Not done).
func (g *Gate) checkLibpodStart(r *http.Request, d decision) decision {
	if _, err := plainQuery(r, []string{"detachKeys", "recursive"}); err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	return g.judgeStart(r, d)
}

// judgeStart judges the container a start names (checkStart).
func (g *Gate) judgeStart(r *http.Request, d decision) decision {
	c, d := g.pinContainer(r, d)
	if d.refusal != "" {
		return d
	}
	if d = g.judgeContainer(r.Context(), d, c); d.refusal != "" || g.opts.Verifier == nil {
		return d
	}
	// The name it was created from must still resolve to the image it
	// runs, and the policy accept that image.
	named := d
	if named = g.judgeImage(r.Context(), named, c.Config.Image); named.refusal != "" {
		named.status = 0
		return named
	}
	if named.imageID != c.Image {
		return refuse(d.op, "%s: the container runs the image %s, but %s names %s now, so the trust policy cannot judge the image it runs",
			d.op, c.Image, c.Config.Image, named.imageID)
	}
	return named
}

// checkContainer judges the container a request reaches into (attach)
// by the container rules.
func (g *Gate) checkContainer(r *http.Request, d decision) decision {
	if _, err := plainQuery(r, attachParams); err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	c, d := g.pinContainer(r, d)
	if d.refusal != "" {
		return d
	}
	return g.judgeContainer(r.Context(), d, c)
}

// judgeContainer judges c's settings by the container rules, and the
// volumes and networks it uses as their creation would be.
func (g *Gate) judgeContainer(ctx context.Context, d decision, c engineapi.ContainerJSON) decision {
	w, d := containerWorkload(d, c)
	if d.refusal != "" {
		return d
	}
	if d = g.judgeWorkload(d, w); d.refusal != "" {
		return d
	}
	return g.judgeAttached(ctx, d, c)
}

// containerWorkload reads a container's settings as the create request
// that would make it, so a container is judged the same whether it was
// created through the gate or not (the inspection's observations, such as
// no AppArmor profile on a kernel without AppArmor, are the audit's
// business). The settings hold the image's user merged in, so an empty
// user is root. A setting the rules cannot read refuses d.
func containerWorkload(d decision, c engineapi.ContainerJSON) (workload.Workload, decision) {
	w, err := workload.FromCreate(&engineapi.CreateRequest{Config: c.Config, HostConfig: c.HostConfig})
	if err != nil {
		return w, refuse(d.op, "%s: the settings of %s: %v", d.op, workload.ContainerLabel(c.Name, c.ID), err)
	}
	w.Stage = workload.StageRunning
	w.Name = workload.ContainerLabel(c.Name, c.ID)
	return w, d
}

// pinContainer asks the engine about the container r names and points
// the forwarded request at its full ID (d.path), so the request reaches the container that was judged
// even if names change between the judgement and the request.
func (g *Gate) pinContainer(r *http.Request, d decision) (engineapi.ContainerJSON, decision) {
	segs := strings.Split(r.URL.Path, "/")
	i := 1
	if isVersion(segs[1]) {
		i = 2
	}
	if len(segs) > i && segs[i] == "libpod" {
		i++
	}
	if len(segs) <= i+1 || segs[i] != "containers" {
		return engineapi.ContainerJSON{}, refuse(d.op, "%s: the path names no container", d.op)
	}
	var c engineapi.ContainerJSON
	if err := g.engineJSON(r.Context(), "/containers/"+segs[i+1]+"/json", &c); err != nil {
		return c, engineRefusal(d.op, err)
	}
	if c.ID == "" || strings.Trim(c.ID, "0123456789abcdef") != "" {
		return c, refuse(d.op, "%s: the engine's answer names no container", d.op)
	}
	segs[i+1] = c.ID
	d.path = strings.Join(segs, "/")
	return c, d
}

// engineRefusal refuses d.op for an engine's answer: the engine's own
// words and status for a thing it does not have, so the docker CLI says
// "No such container".
func engineRefusal(op string, err error) decision {
	var nf notFound
	if errors.As(err, &nf) {
		return decision{op: op, refusal: string(nf), status: http.StatusNotFound}
	}
	return refuse(op, "%s: could not decide: %v", op, err)
}

// engineJSON decodes the engine's answer to GET path (a plain API path
// the gate builds from a normalised one) into v.
func (g *Gate) engineJSON(ctx context.Context, path string, v any) error {
	body, err := g.askEngine(ctx, http.MethodGet, path, "", path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("the engine's answer: %w", err)
	}
	return nil
}

// containerUpdate is what an update request may change (dockerd's
// UpdateConfig): resources and the restart policy. A zero value, or a
// null PidsLimit, leaves the setting as it is.
type containerUpdate struct {
	engineapi.Resources
	RestartPolicy engineapi.RestartPolicy
}

// checkUpdate merges an update into the container's settings as dockerd
// does and judges the result: an update may not take a container where a
// create could not (a PIDs limit removed, a memory limit of -1).
func (g *Gate) checkUpdate(r *http.Request, d decision) decision {
	var u containerUpdate
	if err := json.Unmarshal(d.body, &u); err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	if len(u.Devices) > 0 || len(u.DeviceCgroupRules) > 0 || u.CgroupParent != "" {
		return refuse(d.op, "%s: devices, device rules and the cgroup parent are set at create, not by an update", d.op)
	}
	c, d := g.pinContainer(r, d)
	if d.refusal != "" {
		return d
	}
	mergeUpdate(&c.HostConfig, u)
	return g.judgeContainer(r.Context(), d, c)
}

// mergeUpdate applies u to hc as dockerd's container update does.
func mergeUpdate(hc *engineapi.HostConfig, u containerUpdate) {
	r := &hc.Resources
	for _, f := range []struct {
		to   *int64
		from int64
	}{
		{&r.CPUShares, u.CPUShares}, {&r.Memory, u.Memory}, {&r.NanoCPUs, u.NanoCPUs},
		{&r.CPUPeriod, u.CPUPeriod}, {&r.CPUQuota, u.CPUQuota},
		{&r.MemoryReservation, u.MemoryReservation}, {&r.MemorySwap, u.MemorySwap},
	} {
		if f.from != 0 {
			*f.to = f.from
		}
	}
	if u.PidsLimit != nil {
		r.PidsLimit = u.PidsLimit
	}
	if u.RestartPolicy.Name != "" {
		hc.RestartPolicy = u.RestartPolicy
	}
}

// archivePutParams are the query parameters of PUT .../archive.
var archivePutParams = []string{"path", "noOverwriteDirNonDir", "copyUIDGID"}

// checkArchivePut judges a copy into a container (docker cp SRC
// CONTAINER:DST). The engine extracts the archive as root into the
// container's root filesystem, which is as good as a root exec in it
// (a setuid binary, /etc/passwd, a script the container runs): it is
// judged as an exec by root, the container's rules included. Resolving
// DST inside the container without following links out of it is the
// engine's (CVE-2018-15664, fixed in dockerd 19.03.1 by pausing the
// container); the gate asks for an absolute, plain DST.
func (g *Gate) checkArchivePut(r *http.Request, d decision) decision {
	q, err := plainQuery(r, archivePutParams)
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	dst := q.Get("path")
	if len(q["path"]) != 1 || !path.IsAbs(dst) || strings.ContainsFunc(dst, func(c rune) bool { return c < ' ' || c == 0x7f }) ||
		slices.Contains(strings.Split(dst, "/"), "..") {
		return refuse(d.op, "%s: the destination %q is not one absolute path without \"..\" or control characters", d.op, dst)
	}
	c, d := g.pinContainer(r, d)
	if d.refusal != "" {
		return d
	}
	return g.judgeExec(r.Context(), d, c, "0", false, "archive PUT (the engine writes as root)")
}

// plainQuery parses r's query and refuses a parameter not in known, so a
// parameter a newer engine reads cannot pass unjudged.
func plainQuery(r *http.Request, known []string) (url.Values, error) {
	if strings.Contains(r.URL.Path, "/libpod/") {
		return libpodQuery(r.URL.RawQuery, known)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("the query: %w", err)
	}
	for k := range q {
		if !slices.Contains(known, k) {
			return nil, fmt.Errorf("the parameter %q is not one the gate knows (%s)", k, strings.Join(known, ", "))
		}
	}
	return q, nil
}

// libpodQuery is plainQuery for Podman's libpod API, which reads query
// keys in any case (podman --remote sends both detachKeys and
// detachkeys): keys known but for case, a key given more than once (in
// any case) only with one value; the values are returned under the known
// keys' names.
func libpodQuery(raw string, known []string) (url.Values, error) {
	pq, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("the query: %w", err)
	}
	q := url.Values{}
	for k, vs := range pq {
		i := slices.IndexFunc(known, func(n string) bool { return lowerFold(n) == lowerFold(k) })
		if i < 0 {
			return nil, fmt.Errorf("the parameter %q is not one the gate knows (%s)", k, strings.Join(known, ", "))
		}
		for _, v := range vs {
			if prev, ok := q[known[i]]; ok && prev[0] != v {
				return nil, fmt.Errorf("the query gives %q twice with different values", known[i])
			}
			q.Set(known[i], v)
		}
	}
	return q, nil
}
