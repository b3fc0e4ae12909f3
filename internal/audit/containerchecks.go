package audit

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"syscall"

	"github.com/hull-sec/hull/internal/workload"
)

// ContainerChecks judge every running container of the engines d found:
// CIS section 5 as far as `docker inspect` and the kernel show it. The
// rules live in internal/workload (ContainerRules), which the gate, the
// launcher and `hull config` share; here each container is converted
// (workload.FromInspect, with the processes and the kernel's view the
// audit read) and judged with its engine's Env, and the verdicts are
// gathered per check as every container check reports them.
func ContainerChecks(d *Discovery) []Check {
	j := &judging{d: d, workloads: map[*Container]*workload.Workload{}, envs: map[*Engine]*workload.Env{}}
	checks := []Check{queryCheck(d)}
	for _, r := range workload.ContainerRules() {
		run := func(p Probe) Outcome { return j.rule(p, r, nil) }
		switch r.ID {
		case "container-apparmor":
			run = j.underLSM(r, "apparmor", "AppArmor")
		case "container-selinux":
			run = j.underLSM(r, "selinux", "SELinux")
		}
		checks = append(checks, Check{Rule: r.Rule, Problem: problems[r.ID], CIS: r.CIS, Run: run})
	}
	return checks
}

// judging is what the container checks of one audit share: each
// container converted once and each engine's Env built once, from the
// probe the first check runs with (Run gives every check the same).
type judging struct {
	d         *Discovery
	workloads map[*Container]*workload.Workload
	envs      map[*Engine]*workload.Env
}

// failThenWarn are the rules that fail some containers and warn about
// others: any failure is the check's outcome, and only when every
// container was judged and none failed are the warnings.
var failThenWarn = []string{"container-capabilities", "container-root-user"}

// rule judges every container of the engines only admits (every engine
// when nil) with rule r. A rule that applies to running containers only
// judges their processes: a container whose processes could not be
// listed is not judged.
func (j *judging) rule(p Probe, r workload.Rule, only func(e *Engine) bool) Outcome {
	return j.d.judgeContainers(r.Stages == workload.StageRunning, slices.Contains(failThenWarn, r.ID), func(e *Engine, c *Container) workload.Verdict {
		if only != nil && !only(e) {
			return workload.Verdict{}
		}
		return r.Judge(j.env(p, e), j.workload(e, c))
	})
}

// underLSM judges with rule r the containers of the engines that report
// LSM name (AppArmor, SELinux); skipped when no engine uses it.
func (j *judging) underLSM(r workload.Rule, name, display string) func(Probe) Outcome {
	uses := func(e *Engine) bool { _, ok := e.Info.SecurityOption(name); return ok }
	return func(p Probe) Outcome {
		if len(j.d.Engines) == 0 {
			return j.d.none()
		}
		if !slices.ContainsFunc(j.d.Engines, uses) {
			return j.d.withUnanswered(skip("no engine reports " + display + " support (the kernel has none or the engine does not use it)"))
		}
		return j.rule(p, r, uses)
	}
}

// workload converts a container of engine e for the rules: its
// inspection, the processes running in it and what the kernel shows of
// it (its first process, when the engine runs on this host).
func (j *judging) workload(e *Engine, c *Container) *workload.Workload {
	if w, ok := j.workloads[c]; ok {
		return w
	}
	cj := c.ContainerJSON
	cj.ID, cj.Name = c.ID, c.Name
	w := workload.FromInspect(&cj)
	w.Commands = c.Commands
	if (e.local && c.State.Pid > 0) || c.status != nil || c.mounts != nil || c.memoryLimit != nil || c.pidsLimit != nil || c.deviceRules != nil {
		o := &workload.Observed{PID: c.State.Pid, Mounts: c.mounts, MemoryLimit: c.memoryLimit, PidsLimit: c.pidsLimit, DeviceRules: c.deviceRules}
		if s := c.status; s != nil {
			o.StatusKnown, o.UID, o.CapBnd, o.Seccomp, o.NoNewPrivs = true, s.UID, s.CapBnd, s.Seccomp, s.NoNewPrivs
		}
		w.Observed = o
	}
	j.workloads[c] = &w
	return &w
}

// env is what the rules need to know of engine e's host.
func (j *judging) env(p Probe, e *Engine) *workload.Env {
	if env, ok := j.envs[e]; ok {
		return env
	}
	d := j.d
	env := &workload.Env{Engine: e.Kind, Rootless: e.Rootless(), UsernsRemap: e.UsernsRemap(),
		NoNewPrivilegesDefault: e.NoNewPrivilegesDefault(), EngineSockets: d.engineSocketPaths(p),
		HostPaths: func(src string) []string { return e.hostPaths(p, src) },
		Joined: func(ref string) *workload.Workload {
			if c := e.container(ref); c != nil {
				return j.workload(e, c)
			}
			return nil
		},
		InHostNamespace: func(w *workload.Workload, ns string) (string, bool) {
			if !e.local || w.Observed == nil || w.Observed.PID <= 0 {
				return "", false
			}
			own := fmt.Sprintf("/proc/%d/ns/%s", w.Observed.PID, ns)
			return own, sameFile(p, own, "/proc/self/ns/"+ns)
		},
	}
	for _, x := range d.Engines {
		env.DataRoots = append(env.DataRoots, x.Info.DockerRootDir)
	}
	// The paths both engines mask that this kernel has.
	for _, m := range workload.EngineMaskedPaths() {
		if _, err := p.Stat(m); err == nil {
			env.MaskedSystemPaths = append(env.MaskedSystemPaths, m)
		}
	}
	j.envs[e] = env
	return env
}

// wellKnownSockets are where engines put their sockets by default; a
// mounted directory holding one that exists hands the engine over even
// when hull found no engine there.
var wellKnownSockets = []string{"/run/docker.sock", "/run/podman/podman.sock", "/run/containerd/containerd.sock",
	"/run/crio/crio.sock", "/run/dockershim.sock", "/run/docker/containerd/containerd.sock"}

// engineSocketPaths are the sockets of the engines found, whatever their
// names (each engine's unix endpoint and each dockerd's containerd
// socket), and the well-known sockets that exist on this host.
func (d *Discovery) engineSocketPaths(p Probe) []string {
	var out []string
	for _, e := range d.Engines {
		if s, ok := strings.CutPrefix(e.Endpoint, "unix://"); ok {
			out = append(out, workload.RunPath(path.Clean(s)))
		}
		if e.Config != nil {
			out = append(out, workload.RunPath(path.Clean(e.Config.ContainerdSocket())))
		}
	}
	for _, s := range wellKnownSockets {
		if fi, err := p.Stat(s); err == nil && fi.Mode()&fs.ModeSocket != 0 && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// hostPaths are the paths a mount source names on the host: as given,
// and, for an engine on this host, with its symbolic links resolved as
// the mount resolves them (-v /srv/link:/x where /srv/link points at
// /etc mounts /etc).
func (e *Engine) hostPaths(p Probe, src string) []string {
	out := []string{path.Clean(src)}
	if e.local {
		if real, ok := realPath(p, src); ok && real != out[0] {
			out = append(out, real)
		}
	}
	return out
}

// sameFile reports whether two paths are the same file (for namespaces:
// the same namespace); false when either cannot be seen.
func sameFile(p Probe, a, b string) bool {
	fa, err := p.Stat(a)
	if err != nil {
		return false
	}
	fb, err := p.Stat(b)
	if err != nil {
		return false
	}
	sa, ok := fa.Sys().(*syscall.Stat_t)
	sb, ok2 := fb.Sys().(*syscall.Stat_t)
	return ok && ok2 && sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// container finds a running container of e by ID, unique ID prefix or
// name, as --pid=container:NAME names it; nil when there is none.
func (e *Engine) container(ref string) *Container {
	name := strings.TrimPrefix(ref, "/")
	if i := slices.IndexFunc(e.Containers, func(c Container) bool { return c.ID == ref || strings.TrimPrefix(c.Name, "/") == name }); i >= 0 {
		return &e.Containers[i]
	}
	var found *Container
	for i := range e.Containers {
		if len(ref) >= 4 && strings.HasPrefix(e.Containers[i].ID, ref) {
			if found != nil {
				return nil // ambiguous
			}
			found = &e.Containers[i]
		}
	}
	return found
}
