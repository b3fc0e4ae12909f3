package audit

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/hull-sec/hull/internal/engineapi"
	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/workload"
)

// Discovery is what Discover found: the engines that answered and the
// sockets that did not, with why.
type Discovery struct {
	Engines     []*Engine
	Unreachable []string
}

// Discover asks every engine the client would use or that listens on a
// default socket (see engineSockets), and the tcp:// engines of
// DOCKER_HOST (with the client certificate of DOCKER_CERT_PATH when
// DOCKER_TLS_VERIFY is set, as the docker CLI does) and CONTAINER_HOST,
// for its configuration and running containers; it pairs each local
// dockerd with its process to read its flags and daemon.json, and each
// Podman service with its files.
func Discover(ctx context.Context, p Probe, o ClientOptions) *Discovery {
	d := &Discovery{}
	var conns []EngineConn
	seen := map[string]bool{}
	for _, s := range engineSockets(p, o) {
		fi, err := p.Stat(s)
		if err != nil || fi.Mode()&fs.ModeSocket == 0 || seen[workload.RunPath(s)] {
			continue
		}
		seen[workload.RunPath(s)] = true
		conns = append(conns, UnixConn(s))
	}
	for _, k := range []string{"DOCKER_HOST", "CONTAINER_HOST"} {
		verify := k == "DOCKER_HOST" && o.Getenv("DOCKER_TLS_VERIFY") != ""
		addr, ok := tcpAddr(o.Getenv(k), verify)
		if !ok || seen[addr] {
			continue
		}
		seen[addr] = true
		var tlsConf *tls.Config
		if verify {
			var err error
			if tlsConf, err = clientTLS(p, certPath(o)); err != nil {
				d.Unreachable = append(d.Unreachable, "tcp://"+addr+": "+err.Error())
				continue
			}
		}
		conns = append(conns, TCPConn(addr, tlsConf))
	}
	// The process list, read once, pairs local engines with their
	// processes (flags, environment, configuration files).
	var procs []Process
	if slices.ContainsFunc(conns, func(c EngineConn) bool { return c.local }) {
		procs, _ = p.Processes()
	}
	// Each dockerd's flags and daemon.json are read once, however many
	// endpoints are matched against it.
	configs := map[int]*DaemonConfig{}
	for _, c := range conns {
		e, err := QueryEngine(ctx, p, c, cmp.Or(o.Timeout, DefaultEngineTimeout))
		if err != nil {
			why := err.Error()
			if errors.Is(err, syscall.EACCES) {
				why = "permission denied: run hull as root or as a member of the socket's group"
			}
			d.Unreachable = append(d.Unreachable, c.Endpoint+": "+why)
			continue
		}
		if c.local {
			switch e.Kind {
			case "docker":
				e.Config = daemonFor(p, procs, configs, c.Endpoint)
			case "podman":
				e.Podman = podmanFor(p, procs, c.Endpoint)
			}
		}
		d.Engines = append(d.Engines, e)
	}
	return d
}

// tcpAddr is the HOST:PORT a tcp:// endpoint names, with the docker
// CLI's default port (2376 with TLS, else 2375) when it names none; false
// for other schemes.
func tcpAddr(endpoint string, tls bool) (string, bool) {
	addr, ok := strings.CutPrefix(endpoint, "tcp://")
	if !ok {
		return "", false
	}
	return withDefaultPort(strings.TrimSuffix(addr, "/"), tls), true
}

// withDefaultPort gives a HOST or [IPv6] without a port Docker's default
// one: 2376 with TLS, else 2375.
func withDefaultPort(addr string, tls bool) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	port := "2375"
	if tls {
		port = "2376"
	}
	return net.JoinHostPort(strings.Trim(addr, "[]"), port)
}

// clientTLS is the docker CLI's TLS set-up for DOCKER_TLS_VERIFY, from
// the files in dir.
func clientTLS(p Probe, dir string) (*tls.Config, error) {
	var pems [3][]byte
	for i, name := range []string{"ca.pem", "cert.pem", "key.pem"} {
		b, err := p.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("DOCKER_TLS_VERIFY is set but %w", err)
		}
		pems[i] = b
	}
	cfg, err := engineapi.ClientTLS(pems[0], pems[1], pems[2])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return cfg, nil
}

// sameEndpoint reports whether a listener (unix:///var/run/docker.sock,
// tcp://0.0.0.0:2376) is the endpoint a client reached (unix:///run/...,
// tcp://127.0.0.1:2376).
func sameEndpoint(listener, endpoint string) bool {
	if l, ok := strings.CutPrefix(listener, "unix://"); ok {
		e, ok := strings.CutPrefix(endpoint, "unix://")
		return ok && workload.RunPath(l) == workload.RunPath(e)
	}
	l, ok := strings.CutPrefix(listener, "tcp://")
	e, ok2 := strings.CutPrefix(endpoint, "tcp://")
	if !ok || !ok2 {
		return false
	}
	lh, lp, err := net.SplitHostPort(l)
	eh, ep, err2 := net.SplitHostPort(e)
	if err != nil || err2 != nil || lp != ep {
		return false
	}
	return lh == eh || wildcardHost(lh) || (image.IsLoopbackHost(lh) && image.IsLoopbackHost(eh))
}

// daemonFor finds the dockerd among procs listening on endpoint (unix://
// or a loopback tcp://) and reads its configuration, or takes it from
// configs (by PID), where it keeps what it read; nil when no visible
// dockerd names it.
func daemonFor(p Probe, procs []Process, configs map[int]*DaemonConfig, endpoint string) *DaemonConfig {
	for _, pr := range dockerds(procs) {
		if !mayServe(p, pr, endpoint) {
			continue
		}
		c, ok := configs[pr.PID]
		if !ok {
			c = ParseDaemonConfig(p, pr)
			configs[pr.PID] = c
		}
		hosts, _ := c.Listeners(p)
		for _, h := range hosts {
			if sameEndpoint(h, endpoint) {
				return c
			}
		}
	}
	return nil
}

// mayServe reports whether process pr can be the engine behind endpoint:
// it runs as root, as the owner of the unix socket, or (tcp://) as the
// user the audit is for. Any user may start a process named dockerd with
// the flags of a well set-up engine; it must not stand in for the real one.
func mayServe(p Probe, pr Process, endpoint string) bool {
	if pr.UID == 0 {
		return true
	}
	if sock, ok := strings.CutPrefix(endpoint, "unix://"); ok {
		fi, err := p.Stat(sock)
		if err != nil {
			return false
		}
		uid, _ := ownerOf(fi)
		return uid == pr.UID
	}
	_, uid := p.User()
	return uid == pr.UID
}

// none says why there is nothing to judge: no engine found (the checks
// do not apply), or engines found that did not answer (they could not
// run).
func (d *Discovery) none() Outcome {
	if len(d.Unreachable) > 0 {
		return undecided(d.unanswered())
	}
	return skip("no Docker or Podman engine socket found (DOCKER_HOST, CONTAINER_HOST, docker contexts, default paths)")
}

// unanswered names the engines that were found and did not answer.
func (d *Discovery) unanswered() string {
	return "could not query " + strings.Join(d.Unreachable, "; ")
}

// stateRank orders states for combining several engines' or containers'
// outcomes into one: a failure wins, so its finding is reported; what
// could not be judged outranks a warning and a pass, which it would make
// a lie.
var stateRank = map[finding.State]int{finding.StateSkip: 0, finding.StatePass: 1, finding.StateWarn: 2, finding.StateError: 3, finding.StateFail: 4}

// withUnanswered is o judged over the engines that answered, when others
// did not: a pass or skip over part of the engines is not a pass.
func (d *Discovery) withUnanswered(o Outcome) Outcome {
	if len(d.Unreachable) == 0 {
		return o
	}
	switch o.State {
	case finding.StatePass, finding.StateSkip:
		return undecided(d.unanswered())
	}
	o.Partial = strings.Join(slices.DeleteFunc([]string{o.Partial, d.unanswered()}, func(s string) bool { return s == "" }), "; ")
	return o
}

// eachEngine judges every engine of the given kinds (all when none is
// named) and combines the outcomes: the worst state wins (stateRank) and
// each reason names its engine.
func (d *Discovery) eachEngine(kinds []string, f func(e *Engine) Outcome) Outcome {
	var out Outcome
	var reasons, evidence, fixes, partial []string
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
		if o.State == finding.StateError {
			partial = append(partial, name+": "+o.Reason)
		}
		reasons = append(reasons, name+": "+o.Reason)
		if o.Evidence != "" {
			evidence = append(evidence, name+": "+o.Evidence)
		}
		if o.Fix != "" && !slices.Contains(fixes, o.Fix) {
			fixes = append(fixes, o.Fix)
		}
	}
	if judged == 0 {
		if len(d.Engines) > 0 {
			return d.withUnanswered(skip("applies to " + strings.Join(kinds, ", ") + "; found " + d.kinds()))
		}
		return d.none()
	}
	out.Reason = strings.Join(reasons, "; ")
	out.Evidence = strings.Join(evidence, "; ")
	out.Fix = strings.Join(fixes, " ")
	if out.State == finding.StateFail {
		out.Partial = strings.Join(partial, "; ")
	}
	return d.withUnanswered(out)
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

// listed joins items for evidence, at most maxListed of them.
func listed(items []string) string {
	if len(items) > maxListed {
		items = append(items[:maxListed:maxListed], fmt.Sprintf("and %d more", len(items)-maxListed))
	}
	return strings.Join(items, "; ")
}

// judgeContainers judges every running container of every engine: f
// returns its verdict. Any failed container fails the check, else any
// warned one warns (with failThenWarn, only when every container was
// judged: one not judged might have failed); containers the engine would
// not describe are judged one by one as undecided, never passed, and so
// are all of them when an engine did not answer. With procs, a container
// whose processes could not be listed cannot be judged either.
func (d *Discovery) judgeContainers(procs, failThenWarn bool, f func(e *Engine, c *Container) workload.Verdict) Outcome {
	if len(d.Engines) == 0 {
		return d.none()
	}
	var failed, warned, unjudged []string
	total := 0
	for _, e := range d.Engines {
		for i := range e.Containers {
			total++
			c := &e.Containers[i]
			switch {
			case c.Problem != "":
				unjudged = append(unjudged, e.Kind+" "+e.Endpoint+" container "+c.Label()+": "+c.Problem)
			case procs && c.CommandsProblem != "":
				unjudged = append(unjudged, e.Kind+" "+e.Endpoint+" container "+c.Label()+": "+c.CommandsProblem)
			default:
				switch v := f(e, c); v.State {
				case finding.StateFail:
					failed = append(failed, c.Label()+": "+v.Evidence)
				case finding.StateWarn:
					warned = append(warned, c.Label()+": "+v.Evidence)
				}
			}
		}
	}
	wrong, bad := failed, finding.StateFail
	if len(failed) == 0 && (!failThenWarn || len(unjudged) == 0) {
		wrong, bad = warned, finding.StateWarn
	}
	var out Outcome
	switch {
	case len(wrong) > 0:
		out = Outcome{State: bad, Reason: fmt.Sprintf("%d of %d running containers", len(wrong), total), Evidence: listed(wrong)}
		if len(unjudged) > 0 {
			out.Partial = fmt.Sprintf("%d containers: %s", len(unjudged), listed(unjudged))
		}
	case len(unjudged) > 0:
		out = undecided(fmt.Sprintf("%d of %d running containers could not be judged: %s", len(unjudged), total, listed(unjudged)))
	case total == 0:
		out = skip("no running containers")
	default:
		out = pass(fmt.Sprintf("%d running containers checked", total))
	}
	return d.withUnanswered(out)
}

// gaps lists what the discovery found but could not learn: engines that
// did not answer, containers they would not describe, configuration
// files that could not be read.
func (d *Discovery) gaps() []string {
	out := slices.Clone(d.Unreachable)
	for _, e := range d.Engines {
		name := e.Kind + " " + e.Endpoint
		if e.Config != nil && e.Config.Problem != "" {
			out = append(out, name+": "+e.Config.unknown())
		}
		if e.Podman != nil {
			for _, pr := range e.Podman.Problems {
				out = append(out, name+": "+pr)
			}
		}
		for _, pr := range []string{e.bridgeProblem, e.rootlessProblem} {
			if pr != "" {
				out = append(out, name+": "+pr)
			}
		}
		for _, c := range e.Containers {
			for _, pr := range []string{c.Problem, c.CommandsProblem} {
				if pr != "" {
					out = append(out, name+" container "+c.Label()+": "+pr)
				}
			}
		}
	}
	return out
}

// queryCheck is an error, naming the engine, whenever the discovery
// found an engine it could not query in full: the run then exits 2
// whatever the other checks say and in whatever order they ran.
func queryCheck(d *Discovery) Check {
	return check("engine-query", "", finding.SeverityHigh, "Every engine found answered and described all its containers",
		"An engine that does not answer, a container it will not describe (a restarting one) or a configuration file that cannot be read leaves checks undecided; hull says which, and the audit exits 2 (could not decide) instead of passing what it did not see.",
		"Run hull as root (or as a member of the socket's group) and audit again once the named containers are running or removed.",
		func(Probe) Outcome {
			if g := d.gaps(); len(g) > 0 {
				return undecided("could not query " + strings.Join(g, "; "))
			}
			if len(d.Engines) == 0 {
				return d.none()
			}
			return pass(fmt.Sprintf("%d engines answered, every container described", len(d.Engines)))
		})
}
