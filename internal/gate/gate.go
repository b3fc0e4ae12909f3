// Package gate is a fail-closed guard in front of a container engine's
// API socket (dockerd, or Podman's Docker-compatible and libpod APIs). A
// request reaches the engine only when its method and path, after one
// optional version prefix (/vN.NN, or /vN.N.N before Podman's libpod
// tree), match an operation of the allowlist (ops.go, libpod.go), its path is written plainly (no "//", "." or "..",
// no percent escapes), it carries no method override header, and its
// body is what the operation allows: none, bounded JSON without
// duplicate or case-variant keys or trailing data, or an archive
// forwarded unread, and never a form the engine would read as
// parameters. A start, attach, exec, update or copy into a container is
// judged on what the engine says the container is (containers.go,
// exec.go); builds, volumes and networks on the parameters that would
// widen them (build.go, volumes.go). A container create
// request (Docker's, or Podman's create spec) is converted into the workload model and judged by the
// container rules at the request stage; the engine is sent the bytes
// that were judged. With a trust policy, the image a create names must be
// one the policy accepts by digest, and the create is forwarded with its
// image pinned to the ID of the image judged (trust.go); a pull by tag is
// resolved, verified and forwarded by digest (pull.go), and so are the
// base images of a build, in the Dockerfile of the context forwarded
// (buildtrust.go); a service spec is
// judged as its container's create request and pinned to the verified
// digest (services.go). Everything else
// gets a 403 with a JSON message the docker CLI prints. With the
// policy's gate section, each client's role limits what it may call and
// how its requests are judged (roles.go). Allowed requests,
// hijacked attach and exec streams included, are forwarded by the gate's
// own forwarder (forward.go). The same decision (judge) answers dockerd
// as an authorization plugin (authz.go).
package gate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hull-sec/hull/internal/engineapi"
	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/workload"
)

// maxBody bounds a JSON request body the gate reads.
const maxBody = 1 << 20

// Options say how the gate judges requests.
type Options struct {
	// Engine is the path of the engine's unix socket.
	Engine string
	// Ignore maps the IDs of container rules not to run to why.
	Ignore map[string]string
	// Except excepts single findings; nil excepts none.
	Except workload.Exceptions
	// FailOn is the least severity of a finding that refuses a create.
	FailOn finding.Severity
	// Log receives one decision record per request; nil discards.
	Log *slog.Logger
	// Verifier, when set, is the trust policy: a container is created
	// only from an image it accepts (trust.go).
	Verifier ImageVerifier
	// Registry says how the gate reaches registries to resolve the tag
	// of a pull (pull.go), as the verifier does; its Keychain is
	// replaced by the client's X-Registry-Auth.
	Registry image.Options
	// BodyTimeout bounds the time a client may take to send a body the
	// gate reads; 0 means 10 seconds.
	BodyTimeout time.Duration
	// Roles, the policy's gate section, gives each client a role that
	// limits its operations and may set its own FailOn, Ignore, Except
	// and trust requirement (roles.go); nil gives every client all the
	// gate allows, judged by the options above.
	Roles *policy.Gate
}

// Gate is the http.Handler that judges and forwards requests.
type Gate struct {
	opts Options
	fwd  *forwarder
	// rules are the workload rules, made once rather than per create.
	rules []workload.Rule
	// engine asks the engine itself (image inspect).
	engine *http.Client
	log    *slog.Logger
	// roles, with Options.Roles, picks each client's role; role is the
	// role a role's own gate judges for (roles.go).
	roles *roles
	role  *role
}

// New returns a gate forwarding to the engine socket of o. An ignore
// naming no rule makes every create undecided, so refused: callers check
// a policy's rule IDs first (workload.CheckIDs).
func New(o Options) (*Gate, error) {
	if o.Engine == "" {
		return nil, errors.New("gate: no engine socket")
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gate{opts: o, fwd: newForwarder(o.Engine), rules: workload.Rules(), engine: engineapi.UnixClient(o.Engine), log: log}
	if o.Roles != nil {
		rs, err := newRoles(o.Roles, g)
		if err != nil {
			return nil, err
		}
		g.roles = rs
	}
	return g, nil
}

// ServeHTTP judges r and forwards it or refuses it.
func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := g.decideAs(w, r)
	if d.upload != nil {
		defer d.upload.Close()
	}
	attrs := []any{"method", r.Method, "path", r.RequestURI, "verdict", d.verdict(), "identity", d.identity}
	if c, ok := r.Context().Value(peerKey{}).(Peer); ok {
		attrs = append(attrs, "uid", c.UID, "gid", c.GID, "pid", c.PID)
	}
	if d.role != "" {
		attrs = append(attrs, "role", d.role)
	}
	g.log.Info("decision", append(attrs, d.logAttrs()...)...)
	if d.refusal != "" {
		code := http.StatusForbidden
		if d.status != 0 {
			code = d.status
		}
		writeRefusal(w, code, d.refusal)
		return
	}
	g.fwd.forward(w, r, d)
}

// decision is the verdict on one request.
type decision struct {
	op      string
	refusal string
	rules   []string
	// body is the body to forward, read and judged; nil for none.
	body []byte
	// stream forwards the client's body unread (bodyStream), or upload
	// instead when it is set: uploadLen bytes the check wrote (a build
	// context with its Dockerfile pinned), closed after the request.
	stream    bool
	upload    *os.File
	uploadLen int64
	// imageID is the image a create resolved to; image the verified
	// digest reference it was accepted by.
	imageID, image string
	// status answers a refusal instead of 403: 404 for an image the
	// engine does not have.
	status int
	// unpinned is the body as the client sent it when the gate pinned
	// its image (pinImage); an authorization plugin cannot pin.
	unpinned []byte
	// path, when set, is the path to forward instead of the client's (a
	// container's full ID for the name it was judged by).
	path string
	// query, when set, is the query to forward instead of the client's.
	query string
	// answer, when set, is given the engine's response before it is
	// forwarded.
	answer func(*http.Response)
	// identity names who asked; role is the role it was judged as.
	identity, role string
	// checked: the operation's check judged the request, so what it read
	// (the query) must be what the engine reads.
	checked bool
}

// logAttrs are the decision record's attributes that d itself holds.
func (d decision) logAttrs() []any {
	var attrs []any
	if d.op != "" {
		attrs = append(attrs, "operation", d.op)
	}
	if d.imageID != "" {
		attrs = append(attrs, "image_id", d.imageID)
	}
	if d.image != "" {
		attrs = append(attrs, "image", d.image)
	}
	if len(d.rules) > 0 {
		attrs = append(attrs, "rules", d.rules)
	}
	if d.refusal != "" {
		attrs = append(attrs, "reason", d.refusal)
	}
	return attrs
}

func (d decision) verdict() string {
	if d.refusal != "" {
		return "refused"
	}
	return "allowed"
}

func refuse(op, format string, args ...any) decision {
	return decision{op: op, refusal: fmt.Sprintf(format, args...)}
}

// decide judges r without forwarding it; w only bounds the body read.
// The body of a request refused before it was read is read away
// (drain), so the client gets the refusal, not a broken pipe.
func (g *Gate) decide(w http.ResponseWriter, r *http.Request) decision {
	read := false
	d := g.judge(r, func() ([]byte, error) {
		read = true
		return g.readBody(w, r)
	})
	if d.refusal != "" && !read {
		g.drain(w, r)
	}
	return d
}

// maxDrain bounds the body a refused request reads away.
const maxDrain = 64 << 20

// drain reads away the body of a refused request, at most maxDrain
// bytes within the body timeout, so that a client that sends all of it
// before reading the answer (the docker CLI's build and cp, a create
// refused by a role) gets the refusal rather than a broken pipe. The
// body goes nowhere.
func (g *Gate) drain(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(g.bodyTimeout())); err != nil {
		return
	}
	_, _ = io.CopyN(io.Discard, r.Body, maxDrain)
}

// judge is the decision the gate and the authorization plugin (authz.go)
// share: it reads r's method, target (RequestURI), headers, framing
// (ContentLength, TransferEncoding) and context, and calls read for the
// body of an operation that takes JSON. Checks may read r further (its
// query, its context).
func (g *Gate) judge(r *http.Request, read func() ([]byte, error)) decision {
	for _, h := range overrideHeaders {
		if _, ok := r.Header[h]; ok {
			return refuse("", "the %s header is not allowed", h)
		}
	}
	path, err := Normalise(r.RequestURI)
	if err != nil {
		return refuse("", "%v", err)
	}
	o, ok := lookup(r.Method, path)
	if !ok {
		return refuse("", "%s %s is not an operation the gate allows", r.Method, path)
	}
	if !g.allows(o) {
		return g.notAllowed(o)
	}
	if err := formBody(r); err != nil {
		return refuse(o.name, "%s: %v", o.name, err)
	}
	if len(r.TransferEncoding) > 0 && o.body != bodyStream {
		return refuse(o.name, "%s: a body with Transfer-Encoding %s is not allowed, send Content-Length", o.name, strings.Join(r.TransferEncoding, ", "))
	}
	d := decision{op: o.name, stream: o.body == bodyStream}
	switch o.body {
	case bodyNone:
		if r.ContentLength != 0 {
			return refuse(o.name, "%s takes no body", o.name)
		}
	case bodyJSON:
		body, err := read()
		if err != nil {
			return refuse(o.name, "%s: %v", o.name, err)
		}
		if err := CheckJSON(body); err != nil {
			return refuse(o.name, "%s: %v", o.name, err)
		}
		d.body = body
	}
	if o.check != nil {
		d = o.check(g, r, d)
		d.checked = true
	}
	return d
}

// formBody refuses a request whose Content-Type says form: the engine's
// router would read its body as form values (Go's ParseForm), which
// stand beside, and before, the query the gate judged (a build's remote
// or networkmode), and an authorization plugin may not be sent that body
// at all. No Docker API request is a form. A Content-Type the gate
// cannot parse, or more than one, is refused too.
func formBody(r *http.Request) error {
	cts := r.Header.Values("Content-Type")
	if len(cts) > 1 {
		return errors.New("more than one Content-Type header")
	}
	if len(cts) == 0 {
		return nil
	}
	mt, _, err := mime.ParseMediaType(cts[0])
	if err != nil {
		return fmt.Errorf("the Content-Type %q: %w", cts[0], err)
	}
	if mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" {
		return fmt.Errorf("a form body (Content-Type %s) is not allowed: the engine would read it as parameters the gate did not judge", mt)
	}
	return nil
}

// overrideHeaders are the headers some servers read a method from.
var overrideHeaders = []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// bodyTimeout bounds the time a client may take to send a body the gate
// reads.
func (g *Gate) bodyTimeout() time.Duration {
	if g.opts.BodyTimeout == 0 {
		return 10 * time.Second
	}
	return g.opts.BodyTimeout
}

// readBody reads exactly the Content-Length the client declared, at most
// maxBody bytes, within the body timeout.
func (g *Gate) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength <= 0 {
		return nil, errors.New("a JSON body with its Content-Length is required")
	}
	if r.ContentLength > maxBody {
		return nil, fmt.Errorf("the body is larger than %d bytes", maxBody)
	}
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(g.bodyTimeout())); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return nil, fmt.Errorf("bound the body read: %w", err)
	}
	defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	b := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(r.Body, b); err != nil {
		return nil, fmt.Errorf("the body is shorter than its Content-Length: %w", err)
	}
	return b, nil
}

// checkCreate judges a container create request by the container rules
// and, with a trust policy, the image it names.
func (g *Gate) checkCreate(r *http.Request, d decision) decision {
	if err := checkLogPath(d.body); err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	w, err := workload.ParseCreate(d.body)
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	if d = g.judgeWorkload(d, w); d.refusal != "" {
		return d
	}
	if d = g.judgeCreateRefs(r.Context(), d); d.refusal != "" || g.opts.Verifier == nil {
		return d
	}
	if d = g.judgeImage(r.Context(), d, w.Image); d.refusal != "" {
		return d
	}
	return pinImage(d)
}

// judgeWorkload judges the workload of a create request.
func (g *Gate) judgeWorkload(d decision, w workload.Workload) decision {
	return g.judgeRules(d, w, nil)
}

// judgeRules judges w by rules (nil: every rule), with the ignores of the
// policy that name one of them.
func (g *Gate) judgeRules(d decision, w workload.Workload, rules []workload.Rule) decision {
	ignore := g.opts.Ignore
	if rules != nil {
		ignore = map[string]string{}
		for _, r := range rules {
			if why, ok := g.opts.Ignore[r.ID]; ok {
				ignore[r.ID] = why
			}
		}
	}
	j, err := workload.Judge([]workload.Workload{w}, workload.JudgeOptions{
		Stage: workload.StageRequest, Rules: rules, Ignore: ignore, Except: g.opts.Except,
	})
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	for _, c := range j.Checks {
		if c.State == finding.StateError {
			return refuse(d.op, "%s: rule %s could not decide: %s", d.op, c.ID, c.Reason)
		}
	}
	if !j.Failed(g.opts.FailOn) {
		return d
	}
	var why []string
	for _, f := range j.Findings {
		if f.Severity < g.opts.FailOn {
			continue
		}
		d.rules = append(d.rules, f.ID)
		s := fmt.Sprintf("%s (%s) %s", f.ID, f.Severity, f.Title)
		if f.Location.Field != "" {
			s += " [" + f.Location.Field + "]"
		}
		if f.Evidence != "" {
			s += ": " + f.Evidence
		}
		why = append(why, s)
	}
	d.refusal = fmt.Sprintf("%s refused by the policy: %s", d.op, strings.Join(why, "; "))
	return d
}

// writeRefusal answers with the JSON error shape both the docker CLI
// (message) and Podman's clients (cause, message, response) print, and
// closes the connection without reading any more of it: net/http would
// otherwise drain an unread body, waiting on a client that sends none.
func writeRefusal(w http.ResponseWriter, code int, msg string) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	b, _ := json.Marshal(struct {
		Cause    string `json:"cause"`
		Message  string `json:"message"`
		Response int    `json:"response"`
	}{"refused by hull gate", "hull gate: " + msg, code})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Connection", "close")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// bufferPool lends the forwarder its 32 KiB copy buffers again instead
// of allocating one per response.
var bufferPool = sync.Pool{New: func() any { return new([32 << 10]byte) }}
