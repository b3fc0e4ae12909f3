package gate

import (
	"net/http"
	"slices"
)

// buildOps: docker build with the classic builder, whose context archive
// the client uploads (chunked by the docker CLI). The build's RUN steps
// run in containers dockerd creates with the build's parameters, so the
// parameters that would widen them, or make dockerd fetch the context
// itself, are refused; BuildKit (version=2) needs a hijacked session the
// gate does not judge. With a trust policy, the base images the
// Dockerfile names are verified and pinned to their digests before the
// context reaches the engine (buildtrust.go). The image built has no
// registry digest: a trust policy judges a container of it as unsigned
// (trust.go).
var buildOps = []op{
	{"image build", "POST", "/build", bodyStream, checkBuild},
	{"build cache prune", "POST", "/build/prune", bodyNone, nil},
}

// buildParams are the parameters of POST /build the gate knows; a
// parameter it does not know is refused.
var buildParams = []string{
	"t", "dockerfile", "q", "nocache", "rm", "forcerm", "pull", "squash", "target", "platform",
	"memory", "memswap", "cpushares", "cpuperiod", "cpuquota", "cpusetcpus", "cpusetmems", "shmsize",
	"ulimits", "buildargs", "labels", "cachefrom", "extrahosts", "buildid", "session",
	"networkmode", "isolation", "cgroupparent", "securityopt", "remote", "outputs", "version",
}

// buildRefused are parameters that must be absent or empty, and why.
var buildRefused = []struct{ param, why string }{
	{"remote", "a remote context makes the engine fetch a URL or git repository itself, from the host's network"},
	{"cgroupparent", "a cgroup parent puts the build's containers outside the engine's cgroups"},
	{"securityopt", "security options for build containers are not judged"},
	{"outputs", "build outputs are BuildKit's, which the gate does not judge"},
}

// buildAllowed are parameters whose values are limited to a few.
var buildAllowed = []struct {
	param  string
	values []string
	why    string
}{
	{"networkmode", []string{"", "default", "bridge", "none"}, "the build's containers may use the default bridge or no network, not the host's or another container's"},
	{"isolation", []string{"", "default"}, "isolation modes are Windows'"},
	{"version", []string{"", "1"}, "BuildKit (version 2) runs through a session the gate does not judge; use the classic builder (DOCKER_BUILDKIT=0)"},
}

// checkBuild judges the parameters of POST /build.
func checkBuild(g *Gate, r *http.Request, d decision) decision {
	q, err := plainQuery(r, buildParams)
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	for _, b := range buildRefused {
		for _, v := range q[b.param] {
			if v != "" {
				return refuse(d.op, "%s: %s=%q is not allowed: %s", d.op, b.param, v, b.why)
			}
		}
	}
	for _, b := range buildAllowed {
		for _, v := range q[b.param] {
			if !slices.Contains(b.values, v) {
				return refuse(d.op, "%s: %s=%q is not allowed: %s", d.op, b.param, v, b.why)
			}
		}
	}
	if g.opts.Verifier == nil {
		return d
	}
	return g.pinBuild(r, d, q)
}
