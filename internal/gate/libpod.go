package gate

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hull-sec/hull/internal/workload"
)

// libpodOps: what podman --remote (Podman 4's libpod API, paths
// /vN.N.N/libpod/..., Normalise) calls for ps, run, create, start,
// stop, kill, logs -f, exec, attach, inspect, rm, pull, images, version
// and info. podman run --rm asks shouldrestart, which Podman 4.3 itself
// answers 404.
var libpodOps = []op{
	{"libpod ping", "GET", "/libpod/_ping", bodyNone, nil},
	{"libpod ping", "HEAD", "/libpod/_ping", bodyNone, nil},
	{"libpod version", "GET", "/libpod/version", bodyNone, nil},
	{"libpod info", "GET", "/libpod/info", bodyNone, nil},
	{"libpod container list", "GET", "/libpod/containers/json", bodyNone, nil},
	{"libpod container create", "POST", "/libpod/containers/create", bodyJSON, (*Gate).checkLibpodCreate},
	{"libpod container inspect", "GET", "/libpod/containers/{}/json", bodyNone, nil},
	{"libpod container exists", "GET", "/libpod/containers/{}/exists", bodyNone, nil},
	{"libpod container start", "POST", "/libpod/containers/{}/start", bodyNone, nil},
	{"libpod container stop", "POST", "/libpod/containers/{}/stop", bodyNone, nil},
	{"libpod container kill", "POST", "/libpod/containers/{}/kill", bodyNone, nil},
	{"libpod container wait", "POST", "/libpod/containers/{}/wait", bodyNone, nil},
	{"libpod container should restart", "POST", "/libpod/containers/{}/shouldrestart", bodyNone, nil},
	{"libpod container attach", "POST", "/libpod/containers/{}/attach", bodyNone, rawStream},
	{"libpod container resize", "POST", "/libpod/containers/{}/resize", bodyNone, nil},
	{"libpod container logs", "GET", "/libpod/containers/{}/logs", bodyNone, nil},
	{"libpod container remove", "DELETE", "/libpod/containers/{}", bodyNone, nil},
	{"libpod exec create", "POST", "/libpod/containers/{}/exec", bodyJSON, checkExec},
	{"libpod exec start", "POST", "/libpod/exec/{}/start", bodyJSON, rawStream},
	{"libpod exec resize", "POST", "/libpod/exec/{}/resize", bodyNone, nil},
	{"libpod exec inspect", "GET", "/libpod/exec/{}/json", bodyNone, nil},
	{"libpod image list", "GET", "/libpod/images/json", bodyNone, nil},
	{"libpod image pull", "POST", "/libpod/images/pull", bodyNone, (*Gate).checkLibpodPull},
	{"libpod image inspect", "GET", "/libpod/images/{...}/json", bodyNone, nil},
}

// checkLibpodCreate judges a libpod create request (Podman's
// SpecGenerator) by the container rules, converted by the workload
// model's libpod converter, and, with a trust policy, the image it
// names, pinned to the image the verdict was about.
func (g *Gate) checkLibpodCreate(r *http.Request, d decision) decision {
	w, err := workload.ParseLibpodSpec(d.body)
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	if d = g.judgeWorkload(d, w); d.refusal != "" || g.opts.Verifier == nil {
		return d
	}
	body := d.body
	if d = g.judgeImage(r.Context(), d, w.Image); d.refusal != "" {
		return d
	}
	return pinLibpodImage(d, body)
}

// pinLibpodImage forwards the judged spec body with its image field set
// to d.imageID, the ID of the image the trust verdict was about, so a
// re-tag or pull between the judgement and Podman's create cannot swap
// the image (Podman looks an image up by its ID as by a name). The
// rewritten spec must convert to the workload judged but for its image.
func pinLibpodImage(d decision, body []byte) decision {
	if d.imageID == "" {
		return refuse(d.op, "%s: the engine named no image ID to pin", d.op)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	// CheckJSON let through at most one key of each name, case folded;
	// Podman reads image, and raw_image_name only without it.
	key := "image"
	for k := range fields {
		if strings.EqualFold(k, key) {
			key = k
		}
	}
	fields[key], _ = json.Marshal(d.imageID)
	pinned, err := json.Marshal(fields)
	if err != nil {
		return refuse(d.op, "%s: pin the image: %v", d.op, err)
	}
	w, err := workload.ParseLibpodSpec(pinned)
	if err != nil {
		return refuse(d.op, "%s: pin the image: %v", d.op, err)
	}
	if w.Image != d.imageID {
		return refuse(d.op, "%s: the request with its image pinned to %s names %s", d.op, d.imageID, w.Image)
	}
	d.body = pinned
	return d
}

// checkLibpodPull lets a libpod pull through with one reference and,
// with a trust policy, only when what it pulls is pinned: a digest
// reference, or policy=never (no registry is asked). A pull by tag is
// refused there: the gate does not yet resolve and verify a tag before
// the pull.
//
// Podman reads query keys in any case and, of repeated ones, any: the
// gate refuses a key given twice in any case rather than guess which.
func (g *Gate) checkLibpodPull(r *http.Request, d decision) decision {
	q, err := foldedQuery(r.URL.RawQuery)
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	ref := q["reference"]
	if ref == "" {
		return refuse(d.op, "%s: the pull names no reference", d.op)
	}
	if g.opts.Verifier == nil {
		return d
	}
	if v := q["alltags"]; v != "" {
		if all, err := strconv.ParseBool(v); err != nil || all {
			return refuse(d.op, "%s: with a trust policy, a pull of all tags is not allowed", d.op)
		}
	}
	if q["policy"] == "never" {
		return d
	}
	if _, err := name.NewDigest(ref); err != nil {
		return refuse(d.op, "%s: with a trust policy, a pull must name its image by digest (name@sha256:...) or use --pull never: %s names none", d.op, ref)
	}
	return d
}

// foldedQuery reads a query string into one value per key, the keys
// lower case, and refuses a key given twice, in any case.
func foldedQuery(raw string) (map[string]string, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("the query: %w", err)
	}
	out := make(map[string]string, len(q))
	for k, v := range q {
		f := strings.ToLower(foldKey(k))
		if _, ok := out[f]; ok || len(v) != 1 {
			return nil, fmt.Errorf("the query gives %q more than once", k)
		}
		out[f] = v[0]
	}
	return out, nil
}
