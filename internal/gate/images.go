package gate

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// imageOps: what docker pull, load and tag call. With a trust policy a
// pull by tag is resolved at the registry, verified and sent to the
// engine by digest (pull.go). A loaded or re-tagged image carries no
// registry digest the engine would vouch for (only a pull records one),
// so it is judged when a container is created from it (trust.go).
var imageOps = []op{
	{"image pull", "POST", "/images/create", bodyNone, (*Gate).checkPull},
	{"image load", "POST", "/images/load", bodyStream, nil},
	{"image tag", "POST", "/images/{...}/tag", bodyNone, checkTag},
}

// parseQuery parses the query of r, allowing only the parameters named,
// each at most once, so the gate and the engine read the same values.
func parseQuery(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("the query: %w", err)
	}
	for k, vs := range q {
		switch {
		case len(allowed) == 0:
			return nil, fmt.Errorf("the parameter %q is not allowed: the operation takes none", k)
		case !slices.Contains(allowed, k):
			return nil, fmt.Errorf("the parameter %q is not one the operation takes (%s)", k, strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return nil, fmt.Errorf("the parameter %q is given more than once", k)
		}
	}
	return q, nil
}

// checkTag lets a tag name a repository and a tag only: never a digest,
// which would make the tag pass for what a pull of that digest vouched
// for (dockerd refuses one too; the gate does not rely on the engine).
func checkTag(_ *Gate, r *http.Request, d decision) decision {
	q, err := parseQuery(r, "repo", "tag")
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	repo, tag := q.Get("repo"), q.Get("tag")
	if strings.Contains(repo, "@") {
		return refuse(d.op, "%s: the new name %q holds a digest; a tag cannot", d.op, repo)
	}
	if tag != "" {
		if _, err := name.NewTag("x:" + tag); err != nil {
			return refuse(d.op, "%s: %q is not a tag", d.op, tag)
		}
	}
	return d
}
