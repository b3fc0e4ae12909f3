// Package gate is a fail-closed guard in front of a container engine's
// API socket (dockerd, or Podman's Docker-compatible and libpod APIs). A
// request reaches the engine only when its method and path, after one
// optional version prefix (/vN.NN, or /vN.N.N before Podman's libpod
// tree), match an operation of the allowlist (ops.go, libpod.go), its path is written plainly (no "//", "." or "..",
// no percent escapes), it carries no method override header, and its
// body is what the operation allows: none, or bounded JSON without
// duplicate or case-variant keys or trailing data. A container create
// request (Docker's, or Podman's create spec) is converted into the
// workload model and judged by the container rules at the request stage;
// the engine is sent exactly the bytes that were judged. With a trust
// policy, the image a create names must be one the policy accepts by
// digest (trust.go). Everything else gets a 403 with a JSON message the
// docker CLI and Podman's clients print. Allowed requests, hijacked
// attach and exec streams included, are forwarded by
// httputil.ReverseProxy, but for the streams Podman takes over without
// an upgrade, which the gate forwards itself (rawstream.go).
package gate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hull-sec/hull/internal/engineapi"
	"github.com/hull-sec/hull/internal/finding"
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
	// BodyTimeout bounds the time a client may take to send a body the
	// gate reads; 0 means 10 seconds.
	BodyTimeout time.Duration
}

// Gate is the http.Handler that judges and forwards requests.
type Gate struct {
	opts  Options
	proxy *httputil.ReverseProxy
	// engine asks the engine itself (image inspect).
	engine *http.Client
	log    *slog.Logger
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
	// UnixClient makes a transport of its own for each call.
	tr := engineapi.UnixClient(o.Engine).Transport.(*http.Transport)
	tr.DisableCompression = true
	// One engine behind the gate: keep as many connections to it idle as
	// clients come at once, not net/http's default of two, which made
	// most concurrent requests dial dockerd anew.
	tr.MaxIdleConnsPerHost = 64
	target := &url.URL{Scheme: "http", Host: "engine"}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = "engine"
		},
		Transport: tr,
		// Streams (logs -f, events, attach) go out as they come.
		FlushInterval: -1,
		BufferPool:    copyBuffers{},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeRefusal(w, http.StatusBadGateway, "the engine did not answer")
		},
	}
	return &Gate{opts: o, proxy: p, engine: &http.Client{Transport: tr}, log: log}, nil
}

// ServeHTTP judges r and forwards it or refuses it.
func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := g.decide(w, r)
	attrs := []any{"method", r.Method, "path", r.RequestURI, "verdict", d.verdict()}
	if c, ok := r.Context().Value(peerKey{}).(Peer); ok {
		attrs = append(attrs, "uid", c.UID, "gid", c.GID, "pid", c.PID)
	}
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
	g.log.Info("decision", attrs...)
	if d.refusal != "" {
		code := http.StatusForbidden
		if d.status != 0 {
			code = d.status
		}
		writeRefusal(w, code, d.refusal)
		return
	}
	if d.raw {
		g.forwardRaw(w, r, d.body)
		return
	}
	if d.body != nil {
		r.Body = io.NopCloser(bytes.NewReader(d.body))
		r.ContentLength = int64(len(d.body))
		r.GetBody = nil
	}
	g.proxy.ServeHTTP(w, r)
}

// decision is the verdict on one request.
type decision struct {
	op      string
	refusal string
	rules   []string
	// body is the body to forward, read and judged; nil for none.
	body []byte
	// imageID is the image a create resolved to; image the verified
	// digest reference it was accepted by.
	imageID, image string
	// status answers a refusal instead of 403: 404 for an image the
	// engine does not have.
	status int
	// raw: the engine may take the connection over without an upgrade
	// (rawStream), so the gate forwards it itself (forwardRaw).
	raw bool
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
func (g *Gate) decide(w http.ResponseWriter, r *http.Request) decision {
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
	if len(r.TransferEncoding) > 0 && o.body != bodyStream {
		return refuse(o.name, "%s: a body with Transfer-Encoding %s is not allowed, send Content-Length", o.name, strings.Join(r.TransferEncoding, ", "))
	}
	d := decision{op: o.name}
	switch o.body {
	case bodyNone:
		if r.ContentLength != 0 {
			return refuse(o.name, "%s takes no body", o.name)
		}
	case bodyJSON:
		body, err := g.readBody(w, r)
		if err != nil {
			return refuse(o.name, "%s: %v", o.name, err)
		}
		if err := CheckJSON(body); err != nil {
			return refuse(o.name, "%s: %v", o.name, err)
		}
		d.body = body
	}
	if o.check != nil {
		return o.check(g, r, d)
	}
	return d
}

// overrideHeaders are the headers some servers read a method from.
var overrideHeaders = []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// readBody reads exactly the Content-Length the client declared, at most
// maxBody bytes, within the body timeout.
func (g *Gate) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength <= 0 {
		return nil, errors.New("a JSON body with its Content-Length is required")
	}
	if r.ContentLength > maxBody {
		return nil, fmt.Errorf("the body is larger than %d bytes", maxBody)
	}
	timeout := g.opts.BodyTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
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
	if d = g.judgeWorkload(d, w); d.refusal != "" || g.opts.Verifier == nil {
		return d
	}
	return g.judgeImage(r.Context(), d, w.Image)
}

// judgeWorkload judges the workload of a create request.
func (g *Gate) judgeWorkload(d decision, w workload.Workload) decision {
	j, err := workload.Judge([]workload.Workload{w}, workload.JudgeOptions{
		Stage: workload.StageRequest, Ignore: g.opts.Ignore, Except: g.opts.Except,
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

// checkExec refuses a privileged exec, and one that names root as its
// user, which the container's own judgement cannot see (an exec without
// a user runs as the container's, which its create was judged with).
// Docker's and Podman's exec create bodies share these fields.
func checkExec(_ *Gate, _ *http.Request, d decision) decision {
	var req struct {
		Privileged bool
		User       string
	}
	if err := json.Unmarshal(d.body, &req); err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	if req.Privileged {
		return refuse(d.op, "%s: a privileged exec is not allowed", d.op)
	}
	if u, _, _ := strings.Cut(req.User, ":"); u == "root" || isZero(u) {
		return refuse(d.op, "%s: an exec as root (user %s) is not allowed; leave the user out to run as the container's own", d.op, req.User)
	}
	return d
}

// isZero reports whether s reads as the number 0, as the engines read a
// numeric user ("0", "00", "+0").
func isZero(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n == 0
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

// copyBuffers lends the proxy its 32 KiB copy buffers again instead of
// allocating one per response.
type copyBuffers struct{}

var bufferPool = sync.Pool{New: func() any { return new([32 << 10]byte) }}

func (copyBuffers) Get() []byte  { return bufferPool.Get().(*[32 << 10]byte)[:] }
func (copyBuffers) Put(b []byte) { bufferPool.Put((*[32 << 10]byte)(b)) }
