package audit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"syscall"

	"github.com/hull-sec/hull/internal/finding"
)

// Discovery is what Discover found: the engines that answered and the
// sockets that did not, with why.
type Discovery struct {
	Engines     []*Engine
	Unreachable []string
}

// Discover asks every engine socket the client would use or an engine
// listens on by default (see engineSockets) for its configuration and
// running containers, and pairs each dockerd with its process to read its
// flags and daemon.json.
func Discover(ctx context.Context, p Probe, o ClientOptions) *Discovery {
	d := &Discovery{}
	seen := map[string]bool{}
	for _, s := range engineSockets(p, o) {
		fi, err := p.Stat(s)
		if err != nil || fi.Mode()&fs.ModeSocket == 0 {
			continue
		}
		key := sameSocket(s)
		if seen[key] {
			continue
		}
		seen[key] = true
		e, err := QueryEngine(ctx, p, s)
		if err != nil {
			why := err.Error()
			if errors.Is(err, syscall.EACCES) {
				why = "permission denied: run hull as root or as a member of the socket's group"
			}
			d.Unreachable = append(d.Unreachable, "unix://"+s+": "+why)
			continue
		}
		switch e.Kind {
		case "docker":
			e.Config = daemonFor(p, s)
		case "podman":
			e.Podman = podmanFor(p, s)
		}
		d.Engines = append(d.Engines, e)
	}
	return d
}

// sameSocket maps /var/run to /run, where Debian links it.
func sameSocket(s string) string {
	if r, ok := strings.CutPrefix(s, "/var/run/"); ok {
		return "/run/" + r
	}
	return s
}

// daemonFor finds the dockerd listening on socket and reads its
// configuration; nil when no visible dockerd names it.
func daemonFor(p Probe, socket string) *DaemonConfig {
	procs, err := dockerdProcesses(p)
	if err != nil {
		return nil
	}
	for _, pr := range procs {
		c := ParseDaemonConfig(p, pr)
		hosts := c.List("hosts")
		if len(hosts) == 0 && !c.Bool("rootless", false) {
			hosts = []string{"unix:///var/run/docker.sock"}
		}
		for _, h := range hosts {
			if path, ok := strings.CutPrefix(h, "unix://"); ok && sameSocket(path) == sameSocket(socket) {
				return c
			}
		}
	}
	return nil
}

// none says why there is nothing to judge.
func (d *Discovery) none() Outcome {
	if len(d.Unreachable) > 0 {
		return skip("no engine answered: " + strings.Join(d.Unreachable, "; "))
	}
	return skip("no Docker or Podman engine socket found (DOCKER_HOST, CONTAINER_HOST, docker contexts, default paths)")
}

// stateRank orders states for combining several engines' outcomes.
var stateRank = map[finding.State]int{finding.StateSkip: 0, finding.StatePass: 1, finding.StateWarn: 2, finding.StateFail: 3, finding.StateError: 4}

// eachEngine judges every engine of the given kinds (all when none is
// named) and combines the outcomes: the worst state wins and each reason
// names its engine.
func (d *Discovery) eachEngine(kinds []string, f func(e *Engine) Outcome) Outcome {
	var out Outcome
	var reasons, evidence []string
	judged := 0
	for _, e := range d.Engines {
		if len(kinds) > 0 && !slices.Contains(kinds, e.Kind) {
			continue
		}
		judged++
		o := f(e)
		if judged == 1 || stateRank[o.State] > stateRank[out.State] {
			out.State = o.State
		}
		name := e.Kind + " " + e.Endpoint
		reasons = append(reasons, name+": "+o.Reason)
		if o.Evidence != "" {
			evidence = append(evidence, name+": "+o.Evidence)
		}
	}
	if judged == 0 {
		if len(d.Engines) > 0 {
			return skip("applies to " + strings.Join(kinds, ", ") + "; found " + d.kinds())
		}
		return d.none()
	}
	out.Reason = strings.Join(reasons, "; ")
	out.Evidence = strings.Join(evidence, "; ")
	return out
}

func (d *Discovery) kinds() string {
	var k []string
	for _, e := range d.Engines {
		k = append(k, e.Kind)
	}
	return strings.Join(k, ", ")
}

// maxListed bounds how many containers evidence names.
const maxListed = 10

// eachContainer judges every running container of every engine: f
// returns what is wrong with it ("" when nothing is). Any wrong
// container gives the check the state bad (fail or warn).
func (d *Discovery) eachContainer(bad finding.State, f func(e *Engine, c *Container) string) Outcome {
	if len(d.Engines) == 0 {
		return d.none()
	}
	var wrong []string
	total := 0
	for _, e := range d.Engines {
		for i := range e.Containers {
			total++
			if why := f(e, &e.Containers[i]); why != "" {
				wrong = append(wrong, e.Containers[i].Label()+": "+why)
			}
		}
	}
	if total == 0 {
		return skip("no running containers")
	}
	if len(wrong) == 0 {
		return pass(fmt.Sprintf("%d running containers checked", total))
	}
	listed := wrong
	if len(listed) > maxListed {
		listed = append(listed[:maxListed:maxListed], fmt.Sprintf("and %d more", len(wrong)-maxListed))
	}
	reason := fmt.Sprintf("%d of %d running containers", len(wrong), total)
	return Outcome{State: bad, Reason: reason, Evidence: strings.Join(listed, "; ")}
}
