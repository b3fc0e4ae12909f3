package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/workload"
)

// ImageVerifier is what the gate needs of the trust policy
// (verify.Open's *Verifier).
type ImageVerifier interface {
	// Verify decides about repo@sha256:... .
	Verify(ctx context.Context, ref string) (finding.Verdict, error)
	// Unsigned decides about an image of a repository with no registry
	// digest.
	Unsigned(repository string) finding.Verdict
}

// maxInspect bounds an answer of the engine to the gate's own request.
const maxInspect = 4 << 20

// inspectTimeout bounds the image inspect; verifyTimeout the verification.
const (
	inspectTimeout = 10 * time.Second
	verifyTimeout  = 60 * time.Second
)

// engineImage is what the gate reads of the engine's image inspect.
type engineImage struct {
	ID          string `json:"Id"`
	RepoDigests []string
	RepoTags    []string
}

// judgeImage lets a create (or start) through only when the trust
// policy accepts named, the reference its Image field names, as the
// engine resolves that name now (d.imageID says to which image): one of the image's registry
// digests in the repository named must be accepted, or, with no such
// digest, the policy must accept unsigned images of that repository.
func (g *Gate) judgeImage(ctx context.Context, d decision, named string) decision {
	if isImageID(named) {
		return g.judgeImageID(ctx, d, named)
	}
	ref, err := name.ParseReference(named)
	if err != nil {
		return refuse(d.op, "%s: the image %q is not a reference the gate can judge: %v", d.op, named, err)
	}
	repo := image.CanonicalRepository(ref.Context())
	img, err := g.inspectImage(ctx, named)
	var nf notFound
	if errors.As(err, &nf) {
		// The engine's own answer, so the docker CLI pulls (through the
		// gate) and asks again; the create never reaches the engine.
		return decision{op: d.op, refusal: string(nf), status: http.StatusNotFound}
	}
	if err != nil {
		return refuse(d.op, "%s: the trust policy could not decide about %s: %v", d.op, named, err)
	}
	d.imageID = img.ID
	var digests []string
	for _, rd := range img.RepoDigests {
		r, err := name.NewDigest(rd)
		if err == nil && image.CanonicalRepository(r.Context()) == repo {
			digests = append(digests, repo+"@"+r.DigestStr())
		}
	}
	if len(digests) == 0 {
		vd := g.opts.Verifier.Unsigned(repo)
		if !vd.Accepted {
			return refuse(d.op, "%s: the image %s (%s) has no registry digest in %s, so no verified origin: %s", d.op, named, img.ID, repo, vd.Reason)
		}
		return d
	}
	d, ok, why := g.verifyAny(ctx, d, digests)
	if d.refusal != "" || ok {
		return d
	}
	return refuse(d.op, "%s: the trust policy rejects %s: %s", d.op, named, strings.Join(why, "; "))
}

// verifyAny verifies refs (REPO@sha256:...) in turn, within
// verifyTimeout: d with d.image set to the first the policy accepts and
// ok, or d and the reason of each rejection; a verifier error refuses d.
func (g *Gate) verifyAny(ctx context.Context, d decision, refs []string) (_ decision, ok bool, why []string) {
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	for _, ref := range refs {
		vd, err := g.opts.Verifier.Verify(ctx, ref)
		if err != nil {
			return refuse(d.op, "%s: the trust policy could not decide about %s: %v", d.op, ref, err), false, nil
		}
		if vd.Accepted {
			d.image = ref
			return d, true, nil
		}
		why = append(why, ref+": "+vd.Reason)
	}
	return d, false, why
}

// isImageID reports whether s is a full image ID, as a pinned create
// names its image (pinImage).
func isImageID(s string) bool {
	hex, ok := strings.CutPrefix(s, "sha256:")
	return ok && len(hex) == 64 && strings.Trim(hex, "0123456789abcdef") == ""
}

// judgeImageID judges an image named by its ID, as the gate pins a
// create to (a container started later names no repository): the
// policy must accept one of its registry digests in the repository that
// digest is of, or, with none, accept unsigned images of one of the
// repositories the engine has it tagged in.
func (g *Gate) judgeImageID(ctx context.Context, d decision, id string) decision {
	img, err := g.inspectImage(ctx, id)
	if err != nil {
		return refuse(d.op, "%s: the trust policy could not decide about %s: %v", d.op, id, err)
	}
	d.imageID = img.ID
	var digests []string
	for _, rd := range img.RepoDigests {
		if r, err := name.NewDigest(rd); err == nil {
			digests = append(digests, image.CanonicalRepository(r.Context())+"@"+r.DigestStr())
		}
	}
	d, ok, why := g.verifyAny(ctx, d, digests)
	if d.refusal != "" || ok {
		return d
	}
	if len(why) == 0 {
		for _, t := range img.RepoTags {
			r, err := name.NewTag(t)
			if err != nil {
				continue
			}
			vd := g.opts.Verifier.Unsigned(image.CanonicalRepository(r.Context()))
			if vd.Accepted {
				return d
			}
			why = append(why, t+": "+vd.Reason)
		}
	}
	if len(why) == 0 {
		why = append(why, "it has no registry digest and no name")
	}
	return refuse(d.op, "%s: the trust policy rejects the image %s: %s", d.op, id, strings.Join(why, "; "))
}

// pinImage rewrites the Image of the create body d.body to d.imageID,
// the ID of the image the verdict was about, so the engine creates the
// container from that image and not from whatever the name points to by
// the time the create arrives (a docker tag, load or pull in between).
//
// The ID, not the verified repo@sha256:digest, is what pins: an image ID
// is the digest of the image's configuration, which names its layers'
// digests, so no tag, load or pull can make it mean another image. A
// repo@digest reference is looked up in dockerd's reference store
// instead. Measured on dockerd 20.10: docker tag and docker load refuse
// to set one (TestLoadAndTag), and a pull does not re-point one while
// its image is there ("Cannot overwrite digest"); but once that image is
// removed, a pull of the same index digest for another platform makes
// repo@digest name that platform's image (TestPullIndex). That image is
// covered by the same signature, yet it is not the image judged. The
// cost of the ID is that docker ps shows a short image ID, not the name.
//
// The rules judged the request as the client sent it; the rewritten body
// is parsed again and must be the same workload but for its image.
func pinImage(d decision) decision {
	body, err := setField(d.body, d.imageID, "Image")
	if err != nil {
		return refuse(d.op, "%s: pin the image: %v", d.op, err)
	}
	judged, err1 := workload.ParseCreate(d.body)
	pinned, err2 := workload.ParseCreate(body)
	if err := errors.Join(err1, err2); err != nil {
		return refuse(d.op, "%s: pin the image: %v", d.op, err)
	}
	if !sameBut(judged, pinned) {
		return refuse(d.op, "%s: the request with its image pinned to %s is not the request judged", d.op, d.imageID)
	}
	d.unpinned, d.body = d.body, body
	return d
}

// sameBut reports whether two workloads are the same but for their
// image (and the name that shows it).
func sameBut(judged, pinned workload.Workload) bool {
	pinned.Image, pinned.Name = judged.Image, judged.Name
	return reflect.DeepEqual(judged, pinned)
}

// setField returns the JSON object body with the field at path set to
// value. Each key is matched as dockerd's decoder matches it, ignoring
// case; CheckJSON let at most one such key through per object.
func setField(body []byte, value any, path ...string) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, err
	}
	key := ""
	for k := range fields {
		if strings.EqualFold(k, path[0]) {
			key = k
		}
	}
	if key == "" {
		return nil, fmt.Errorf("the request has no %s", path[0])
	}
	var err error
	if len(path) == 1 {
		fields[key], err = json.Marshal(value)
	} else {
		fields[key], err = setField(fields[key], value, path[1:]...)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(fields)
}

// notFound is the engine's message for an image it does not have.
type notFound string

func (n notFound) Error() string { return string(n) }

// inspectImage asks the engine which image a name resolves to.
func (g *Gate) inspectImage(ctx context.Context, ref string) (engineImage, error) {
	body, err := g.askEngine(ctx, http.MethodGet, "/images/"+ref+"/json", "", ref)
	if err != nil {
		return engineImage{}, err
	}
	var img engineImage
	if err := json.Unmarshal(body, &img); err != nil || img.ID == "" {
		return engineImage{}, errors.New("the engine's answer names no image")
	}
	return img, nil
}

// askEngine makes one bodiless request of the gate's own to the engine
// and returns its answer's body, or an error saying what went wrong: the
// engine's own message when it refused (notFound for a 404). path holds
// ref, the image name from the client, which must leave it the plain
// path it reads as, or "a/../../containers/x" would ask for something
// else.
func (g *Gate) askEngine(ctx context.Context, method, path, query, ref string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, inspectTimeout)
	defer cancel()
	if p, err := Normalise(path); err != nil || p != path {
		return nil, fmt.Errorf("the name %q does not make a plain API path", ref)
	}
	u := "http://engine" + path
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := g.engine.Do(req)
	if err != nil {
		// The URL is the gate's own placeholder: say what failed instead.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("ask the engine: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxInspect+1))
	if err != nil {
		return nil, fmt.Errorf("read the engine's answer: %w", err)
	}
	if len(body) > maxInspect {
		return nil, fmt.Errorf("the engine's answer is larger than %d bytes", maxInspect)
	}
	if resp.StatusCode/100 != 2 {
		var m struct{ Message string }
		if json.Unmarshal(body, &m) == nil && m.Message != "" {
			if resp.StatusCode == http.StatusNotFound {
				return nil, notFound(m.Message)
			}
			return nil, fmt.Errorf("the engine says: %s", m.Message)
		}
		return nil, fmt.Errorf("the engine answered %s", resp.Status)
	}
	return body, nil
}
