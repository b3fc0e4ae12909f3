package gate

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hull-sec/hull/internal/image"
)

// checkPull keeps POST /images/create a pull (fromImage; fromSrc would
// import a tarball from a URL or the body instead). With a trust policy
// only a verified digest reaches the engine: a tag is resolved at the
// registry (with the client's X-Registry-Auth credentials), the digest
// it names now is verified, and the engine is asked to pull that digest,
// under the repository name the gate judged, not the client's spelling
// of it. So what the engine pulls is what was verified, whatever the tag
// points to by then; the tag is set on the engine once the pull has
// succeeded (tagAfterPull). For an index (a multi-platform image), the
// index digest is verified, as cosign signs it, and the engine records
// it as the pulled image's registry digest, which the create judges.
func (g *Gate) checkPull(r *http.Request, d decision) decision {
	if g.opts.Verifier == nil {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return refuse(d.op, "%s: the query: %v", d.op, err)
		}
		if q.Has("fromSrc") || !q.Has("fromImage") {
			return refuse(d.op, "%s: only a pull (fromImage, no fromSrc) is allowed", d.op)
		}
		return d
	}
	q, err := parseQuery(r, "fromImage", "tag", "platform")
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	p, err := parsePull(q.Get("fromImage"), q.Get("tag"))
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
	repo, digest, _ := strings.Cut(d.image, "@")
	fwd := url.Values{"fromImage": {repo}, "tag": {digest}}
	if q.Has("platform") {
		fwd.Set("platform", q.Get("platform"))
	}
	d.query = fwd.Encode()
	if p.tag != "" {
		d.answer = g.tagAfterPull(r.Context(), d.image, repo, p.tag, dockerProgress)
	}
	return d
}

// verifyRef resolves the tag of p at the registry with the credentials
// of kc, unless p names a digest, and asks the trust policy about the
// digest: d with d.image set to the accepted repo@digest, or refused.
func (g *Gate) verifyRef(ctx context.Context, d decision, p pullRef, kc authn.Keychain) decision {
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	digest := p.digest
	if digest == "" {
		o := g.opts.Registry
		o.Keychain = kc
		res, err := image.Resolve(ctx, p.repo+":"+p.tag, o)
		if err != nil {
			return refuse(d.op, "%s: the trust policy could not decide about %s: %v", d.op, p, err)
		}
		digest = res.Digest.String()
	}
	ref := p.repo + "@" + digest
	vd, err := g.opts.Verifier.Verify(ctx, ref)
	if err != nil {
		return refuse(d.op, "%s: the trust policy could not decide about %s: %v", d.op, ref, err)
	}
	if !vd.Accepted {
		return refuse(d.op, "%s: the trust policy rejects %s (%s): %s", d.op, p, ref, vd.Reason)
	}
	d.image = ref
	return d
}

// pullRef is what a pull names: a repository as hull names it
// (docker.io/library/busybox) and a tag or a digest.
type pullRef struct{ repo, tag, digest string }

func (p pullRef) String() string {
	if p.digest != "" {
		return p.repo + "@" + p.digest
	}
	return p.repo + ":" + p.tag
}

// parsePull reads fromImage and tag as dockerd does (tag may hold a
// digest; fromImage may carry its own tag or digest), refusing what it
// could read two ways: a tag and a digest at once, two tags, or no tag
// at all, which pulls every tag of the repository.
func parsePull(fromImage, tag string) (pullRef, error) {
	base, dig, hasDig := strings.Cut(fromImage, "@")
	t, err := name.NewTag(base, name.WithDefaultTag(""))
	if err != nil {
		return pullRef{}, fmt.Errorf("the image %q is not a reference the gate can judge: %v", fromImage, err)
	}
	p := pullRef{repo: image.CanonicalRepository(t.Context())}
	own := t.TagStr()
	switch {
	case hasDig && (own != "" || tag != ""):
		return pullRef{}, fmt.Errorf("the pull of %q (tag %q) names a tag and a digest at once: name one", fromImage, tag)
	case own != "" && tag != "":
		return pullRef{}, fmt.Errorf("the pull of %q names a second tag %q: name one", fromImage, tag)
	case hasDig:
		p.digest = dig
	case own != "":
		p.tag = own
	case tag == "":
		return pullRef{}, fmt.Errorf("a pull of every tag of %s is not allowed with a trust policy: name a tag or a digest", p.repo)
	case strings.Contains(tag, ":"):
		p.digest = tag
	default:
		p.tag = tag
	}
	if p.digest != "" {
		h, err := v1.NewHash(p.digest)
		if err != nil {
			return pullRef{}, fmt.Errorf("%q is not a digest: %v", p.digest, err)
		}
		p.digest = h.String()
	} else if _, err := name.NewTag(p.repo + ":" + p.tag); err != nil {
		return pullRef{}, fmt.Errorf("%q is not a tag: %v", p.tag, err)
	}
	return p, nil
}

// clientKeychain reads the client's registry credentials from the
// values of its X-Registry-Auth header (base64url JSON, as the docker CLI
// sends it): none means anonymous, never the gate's own credentials; more
// than one, which the gate and the engine could read differently, is an
// error.
func clientKeychain(values []string) (authn.Keychain, error) {
	if len(values) > 1 {
		return nil, errors.New("the X-Registry-Auth header is given more than once")
	}
	var a registryAuth
	if len(values) == 1 && values[0] != "" {
		if err := decodeAuthHeader("X-Registry-Auth", values[0], &a); err != nil {
			return nil, err
		}
	}
	return a.keychain(), nil
}

// registryAuth is one registry's credentials as the docker CLI sends
// them (X-Registry-Auth, and each entry of X-Registry-Config).
type registryAuth struct {
	Username, Password, Auth, IdentityToken, RegistryToken string
}

// authenticator is a, or anonymous for no credentials.
func (a registryAuth) authenticator() authn.Authenticator {
	cfg := authn.AuthConfig{Username: a.Username, Password: a.Password, Auth: a.Auth,
		IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
	if cfg == (authn.AuthConfig{}) {
		return authn.Anonymous
	}
	return authn.FromConfig(cfg)
}

// decodeAuthHeader reads the value of the credentials header name
// (base64url JSON, padded or not) into v.
func decodeAuthHeader(name, header string, v any) error {
	raw, err := base64.URLEncoding.DecodeString(header)
	if err != nil {
		if raw, err = base64.RawURLEncoding.DecodeString(header); err != nil {
			return fmt.Errorf("the %s header is not base64url", name)
		}
	}
	if err := CheckJSON(raw); err != nil {
		return fmt.Errorf("the %s header: %w", name, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("the %s header: %w", name, err)
	}
	return nil
}

// keychain answers every registry with a, or anonymously when a is
// empty.
func (a registryAuth) keychain() authn.Keychain { return staticKeychain{a.authenticator()} }

// staticKeychain answers every registry with one authenticator: the
// gate asks only the registry of the pull.
type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }

// tagAfterPull returns the answer func of a pull of ref: when the
// engine's progress stream (read as f says) ends with a message telling
// success and none telling an error, it tags ref as repo:tag on the
// engine, so a pull or run of a tag leaves the tag as it does without
// the gate. A failed tag is told to the client as one more error
// message of the stream. Podman's libpod tag (/libpod/images/{name}/tag)
// is the handler of its Docker-compatible tag, which the gate asks.
func (g *Gate) tagAfterPull(ctx context.Context, ref, repo, tag string, f progressFormat) func(*http.Response) {
	return func(resp *http.Response) {
		if resp.StatusCode != http.StatusOK {
			return
		}
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
		resp.Body = &pullStream{body: resp.Body, format: f, done: func() error {
			_, err := g.askEngine(ctx, http.MethodPost, "/images/"+ref+"/tag", url.Values{"repo": {repo}, "tag": {tag}}.Encode(), ref)
			if err != nil {
				return fmt.Errorf("tag %s as %s:%s after the pull: %w", ref, repo, tag, err)
			}
			return nil
		}}
	}
}

// progress is what one message of a pull's progress stream tells.
type progress int

const (
	progressFailed    progress = iota // an error, or not a message the gate can read
	progressRunning                   // the pull goes on
	progressSucceeded                 // the pull succeeded, if the stream ends here
)

// progressFormat is how an engine's pull progress stream reads.
type progressFormat struct {
	// read judges one message (one line).
	read func(line []byte) progress
	// errorMessage is a message telling the client msg as an error.
	errorMessage func(msg string) any
}

// dockerProgress: dockerd's pull stream, {"status":...} messages and
// {"error":...,"errorDetail":{...}} on an error; it has no message that
// ends a pull, so any message read without an error may be the last.
var dockerProgress = progressFormat{
	read: func(line []byte) progress {
		var m struct {
			Error       string
			ErrorDetail *json.RawMessage
		}
		if json.Unmarshal(line, &m) != nil || m.Error != "" || m.ErrorDetail != nil {
			return progressFailed
		}
		return progressSucceeded
	},
	errorMessage: func(msg string) any {
		return map[string]any{"errorDetail": map[string]string{"message": msg}, "error": msg}
	},
}

// libpodProgress: Podman's libpod pull stream (entities.ImagePullReport
// a line): {"stream":...} messages, then one with "images" and "id" for
// a pull that succeeded, or with "error". Podman's client fails on any
// other message, and so does the gate.
var libpodProgress = progressFormat{
	read: func(line []byte) progress {
		var m struct {
			Stream, Error, ID string
			Images            []string
		}
		switch {
		case json.Unmarshal(line, &m) != nil || m.Error != "":
			return progressFailed
		case m.Stream != "":
			return progressRunning
		case len(m.Images) > 0 || m.ID != "":
			return progressSucceeded
		}
		return progressFailed
	},
	errorMessage: func(msg string) any { return map[string]string{"error": msg} },
}

// maxMessage bounds one message of the engine's progress stream.
const maxMessage = 1 << 20

// pullStream passes the engine's pull progress (JSON messages, one a
// line) through, watching for an error message; at its end, if there
// was none and the last message told success, it calls done and
// appends done's error as a message.
type pullStream struct {
	body   io.ReadCloser
	format progressFormat
	done   func() error
	// line is the unfinished last line read.
	line []byte
	// failed: the stream held an error or could not be read.
	failed bool
	// succeeded: the last message read told success.
	succeeded bool
	// tail is what follows the engine's stream, set at its end.
	tail *bytes.Reader
}

func (s *pullStream) Read(p []byte) (int, error) {
	if s.tail != nil {
		return s.tail.Read(p)
	}
	n, err := s.body.Read(p)
	s.scan(p[:n])
	if !errors.Is(err, io.EOF) {
		return n, err
	}
	if n > 0 {
		// The body answers io.EOF again on the next call.
		return n, nil
	}
	s.scan([]byte{'\n'})
	s.tail = bytes.NewReader(nil)
	if !s.failed && s.succeeded {
		if err := s.done(); err != nil {
			b, _ := json.Marshal(s.format.errorMessage("hull gate: " + err.Error()))
			s.tail = bytes.NewReader(append(b, '\r', '\n'))
		}
	}
	return s.tail.Read(p)
}

// scan reads the complete lines of b (after what came before) as the
// engine's progress messages.
func (s *pullStream) scan(b []byte) {
	for !s.failed && len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			s.line = append(s.line, b...)
			if len(s.line) > maxMessage {
				s.failed, s.line = true, nil
			}
			return
		}
		line := bytes.TrimSpace(append(s.line, b[:i]...))
		s.line, b = s.line[:0], b[i+1:]
		if len(line) == 0 {
			continue
		}
		switch s.format.read(line) {
		case progressFailed:
			s.failed = true
		case progressRunning:
			s.succeeded = false
		case progressSucceeded:
			s.succeeded = true
		}
	}
}

func (s *pullStream) Close() error { return s.body.Close() }
