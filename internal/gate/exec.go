package gate

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/hull-sec/hull/internal/engineapi"
	"github.com/hull-sec/hull/internal/workload"
)

// An exec runs a new process in a container: it is judged as the
// container with the exec's privileges and user, by the same rules and
// severities as a create, so the policy's fail-on, ignores and exceptions
// govern it as they govern creates: a privileged exec is
// container-privileged (critical), an exec as root (User "root", "0",
// "0:...", or none in a container whose settings run as root) is
// container-root-user (medium; a warning on a rootless or remapped
// engine). The container itself must pass too: an exec into a container
// created on the engine directly is judged as a start of it would be.
// Both the create (checkExecCreate, the request's own fields) and the
// start (checkExecStart, the engine's record of the exec, which may have
// been created without the gate) are judged.

// execConfig is what the gate reads of an exec create request.
type execConfig struct {
	User       string
	Privileged bool
}

// checkExecCreate judges POST /containers/{id}/exec.
func (g *Gate) checkExecCreate(r *http.Request, d decision) decision {
	var e execConfig
	if err := json.Unmarshal(d.body, &e); err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	c, d := g.pinContainer(r, d)
	if d.refusal != "" {
		return d
	}
	return g.judgeExec(r.Context(), d, c, e.User, e.Privileged, "exec User")
}

// engineExec is what the gate reads of the engine's exec inspection.
type engineExec struct {
	ContainerID   string
	ProcessConfig struct {
		User       string `json:"user"`
		Privileged *bool  `json:"privileged"`
	}
}

// checkExecStart judges POST /exec/{id}/start by what the engine says
// the exec is.
func (g *Gate) checkExecStart(r *http.Request, d decision) decision {
	path, err := Normalise(r.URL.Path)
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	// Podman answers the Docker-compatible exec inspect for its libpod
	// exec sessions too, in the shape engineExec reads.
	path = strings.TrimPrefix(path, "/libpod")
	var e engineExec
	if err := g.engineJSON(r.Context(), strings.TrimSuffix(path, "/start")+"/json", &e); err != nil {
		return engineRefusal(d.op, err)
	}
	var c engineapi.ContainerJSON
	if err := g.engineJSON(r.Context(), "/containers/"+e.ContainerID+"/json", &c); err != nil {
		return engineRefusal(d.op, err)
	}
	return g.judgeExec(r.Context(), d, c, e.ProcessConfig.User, e.ProcessConfig.Privileged != nil && *e.ProcessConfig.Privileged, "exec User")
}

// judgeExec judges a process run in c as user (the container's user
// when empty), privileged or not; userField says where the user was
// given.
func (g *Gate) judgeExec(ctx context.Context, d decision, c engineapi.ContainerJSON, user string, privileged bool, userField string) decision {
	w, d := containerWorkload(d, c)
	if d.refusal != "" {
		return d
	}
	w.Name = "exec in " + w.Name
	if w.Source.Fields == nil {
		w.Source.Fields = map[string]workload.Place{}
	}
	if user != "" {
		w.User = user
		w.Source.Fields[workload.SetUser] = workload.Place{Path: userField}
	}
	if privileged {
		w.Privileged = true
		w.Source.Fields[workload.SetPrivileged] = workload.Place{Path: "exec Privileged"}
	}
	if d = g.judgeWorkload(d, w); d.refusal != "" {
		return d
	}
	return g.judgeAttached(ctx, d, c)
}
