package gate

// The gate as a Docker authorization plugin. dockerd started with
// --authorization-plugin=NAME finds the plugin's socket as
// /run/docker/plugins/NAME.sock (or a unix:// URL in
// /etc/docker/plugins/NAME.spec), activates it (POST /Plugin.Activate,
// answered {"Implements":["authz"]}), then, before handling each API
// request, POSTs /AuthZPlugin.AuthZReq with the request's method, target,
// headers and body, and after handling it /AuthZPlugin.AuthZRes with the
// response (moby's pkg/authorization and pkg/plugins). A denial reaches
// the client as dockerd's 403 "authorization denied by plugin NAME: MSG".
//
// The plugin runs the gate's own decision (judge) on the request dockerd
// describes. What it cannot do is see everything the gate sees: dockerd
// sends a body only when its Content-Type is application/json, its length
// known (not chunked, before the CVE-2024-41110 fix: 27.1.1 and
// backports) and under a size limit (1 MiB before Docker 29.4, 4 MiB
// since), and the plugin cannot change what dockerd then handles. So the plugin denies an operation whose body the gate
// reads when dockerd sent none (CVE-2024-41110 was a create whose body
// the plugin never saw), refuses to let a check read a body it was not
// sent, and denies a request the gate would forward changed. Responses
// are allowed as they are: the gate judges requests only.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
)

// PluginDir is where dockerd looks for an authorization plugin's socket
// by the plugin's name.
const PluginDir = "/run/docker/plugins"

// pluginMediaType is the plugin protocol's content type.
const pluginMediaType = "application/vnd.docker.plugins.v1.2+json"

// maxAuthZ bounds one AuthZReq the plugin reads: a body of at most
// maxBody bytes, base64 encoded, and the headers (maxHeaderBytes).
const maxAuthZ = 2*maxBody + 2*maxHeaderBytes

// needServe ends a denial for what only hull gate serve can judge.
const needServe = "send it through hull gate serve instead"

// errNotSent is read's error when dockerd sent the plugin no body.
var errNotSent = errors.New("dockerd sent the authorization plugin no body for it (it sends only an application/json body of known length under its size limit), so the plugin cannot judge it: " + needServe)

// AuthZRequest is the request side of what dockerd sends the plugin
// (moby's authorization.Request). RequestBody is base64 in the JSON.
type AuthZRequest struct {
	User            string            `json:"User,omitempty"`
	UserAuthNMethod string            `json:"UserAuthNMethod,omitempty"`
	RequestMethod   string            `json:"RequestMethod,omitempty"`
	RequestURI      string            `json:"RequestUri,omitempty"`
	RequestBody     []byte            `json:"RequestBody,omitempty"`
	RequestHeaders  map[string]string `json:"RequestHeaders,omitempty"`
}

// AuthZResponse is the plugin's answer; dockerd shows Msg with a denial.
type AuthZResponse struct {
	Allow bool   `json:"Allow"`
	Msg   string `json:"Msg,omitempty"`
	Err   string `json:"Err,omitempty"`
}

// Plugin is the http.Handler of the authorization plugin protocol.
type Plugin struct {
	g *Gate
}

// NewPlugin returns the plugin judging with o; o.Engine is the socket
// it asks about images (the trust policy), normally the dockerd that
// calls the plugin: dockerd serves that image inspect while it waits for
// the plugin, and the plugin allows it as it allows any image inspect.
func NewPlugin(o Options) (*Plugin, error) {
	g, err := New(o)
	if err != nil {
		return nil, err
	}
	return &Plugin{g: g}, nil
}

// pluginName is a name dockerd finds as a file in PluginDir.
var pluginName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// PluginSocket returns the socket path dockerd looks up for the plugin
// name, or an error for a name that does not make a plain file name.
func PluginSocket(name string) (string, error) {
	if !pluginName.MatchString(name) {
		return "", fmt.Errorf("gate: the plugin name %q is not a plain name (letters, digits, '_', '.', '-')", name)
	}
	return filepath.Join(PluginDir, name+".sock"), nil
}

// ServePlugin serves the plugin on the unix socket path (mode 0600: only
// dockerd's user connects), creating its directory if need be, until ctx
// ends. It does not ask the engine first: dockerd, which checks that the
// plugin answers before it starts, is not up yet.
func ServePlugin(ctx context.Context, path string, o Options) error {
	p, err := NewPlugin(o)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("gate: plugin directory: %w", err)
	}
	return serve(ctx, Listen{Path: path, Mode: 0o600, GID: -1}, nil, p)
}

// ServeHTTP answers the plugin protocol's three calls.
func (p *Plugin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writePlugin(w, http.StatusMethodNotAllowed, AuthZResponse{Err: "the plugin protocol takes POST"})
		return
	}
	switch r.URL.Path {
	case "/Plugin.Activate":
		writePlugin(w, http.StatusOK, struct{ Implements []string }{[]string{"authz"}})
	case "/AuthZPlugin.AuthZReq":
		var q AuthZRequest
		b, err := io.ReadAll(io.LimitReader(r.Body, maxAuthZ+1))
		switch {
		case err != nil:
			err = fmt.Errorf("read the request: %w", err)
		case len(b) > maxAuthZ:
			err = fmt.Errorf("the request is larger than %d bytes", maxAuthZ)
		default:
			err = json.Unmarshal(b, &q)
		}
		if err != nil {
			msg := "the plugin could not read dockerd's request: " + err.Error()
			writePlugin(w, http.StatusOK, AuthZResponse{Msg: msg, Err: msg})
			return
		}
		writePlugin(w, http.StatusOK, p.Authorize(r.Context(), q))
	case "/AuthZPlugin.AuthZRes":
		// dockerd holds the response until the plugin answers: read all
		// of what it sends (a response body it buffered), keep none.
		_, _ = io.Copy(io.Discard, r.Body)
		writePlugin(w, http.StatusOK, AuthZResponse{Allow: true})
	default:
		writePlugin(w, http.StatusNotFound, AuthZResponse{Err: r.URL.Path + " is not a call of the authorization plugin protocol"})
	}
}

// Authorize decides about the request q describes and logs the decision.
func (p *Plugin) Authorize(ctx context.Context, q AuthZRequest) AuthZResponse {
	d := p.decide(ctx, q)
	attrs := []any{"method", q.RequestMethod, "path", q.RequestURI, "verdict", d.verdict()}
	if q.User != "" {
		attrs = append(attrs, "user", q.User)
	}
	if d.role != "" {
		attrs = append(attrs, "role", d.role)
	}
	p.g.log.Info("decision", append(attrs, d.logAttrs()...)...)
	if d.refusal != "" {
		return AuthZResponse{Msg: d.refusal}
	}
	return AuthZResponse{Allow: true}
}

// decide is the gate's judge on the request q describes, with the body
// dockerd sent and nothing else.
func (p *Plugin) decide(ctx context.Context, q AuthZRequest) decision {
	r, err := q.request(ctx)
	if err != nil {
		return refuse("", "%v", err)
	}
	// dockerd names a client only by its TLS certificate's common name
	// (User); a unix socket client is nobody in particular, and gets the
	// gate section's default role if any.
	c := client{tls: q.User != "", cn: q.User}
	g, ro := p.g.roleGate(c)
	if g == nil {
		return noRole(c)
	}
	body := r.Body
	target, header := r.URL.String(), r.Header.Clone()
	d := g.judge(r, func() ([]byte, error) {
		if len(q.RequestBody) == 0 {
			return nil, errNotSent
		}
		if len(q.RequestBody) > maxBody {
			return nil, fmt.Errorf("the body is larger than %d bytes", maxBody)
		}
		return q.RequestBody, nil
	})
	if ro != nil {
		d.role = ro.name
	}
	if d.status == http.StatusNotFound {
		// The gate's 404 makes docker run pull and create again; dockerd
		// turns any denial into a 403, which makes it give up.
		d.refusal = fmt.Sprintf("%s: %s: pull it first (docker pull), then create", d.op, d.refusal)
	}
	if d.refusal != "" {
		return d
	}
	// dockerd reads a POST's, PUT's or PATCH's parameters from a form body
	// before its query when the first Content-Type says form: a body it
	// did not send the plugin, chunked (Content-Length absent: net/http
	// removes both framing headers before the plugin sees them) or behind
	// a second Content-Type the plugin is shown instead of the first.
	if d.checked && len(q.RequestBody) == 0 && r.Header.Get("Content-Length") != "0" &&
		(r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) {
		return refuse(d.op, "%s: the request may carry a body dockerd does not send the authorization plugin, from which dockerd would read other parameters than the ones judged: %s", d.op, needServe)
	}
	// dockerd creates from the name it was sent, not from the image the
	// gate would pin it to: a re-tag on the engine between this answer
	// and the create is not seen (README: the gate closes that window).
	// Likewise a pull goes to dockerd by the tag the plugin verified the
	// digest of, not pinned to that digest (d.query) and tagged after
	// (d.answer): the create is judged by the digest the image came with;
	// and a start, exec or copy by the container name judged, not pinned
	// to the container's ID (d.path).
	if d.unpinned != nil {
		d.body = d.unpinned
	}
	if d.upload != nil {
		// A build context with its Dockerfile pinned (buildtrust.go).
		d.upload.Close()
		return refuse(d.op, "%s: the gate would send the engine a changed request, which an authorization plugin cannot: %s", d.op, needServe)
	}
	// The gate forwards what its checks leave in r and d.body; dockerd
	// handles the request as the client sent it.
	if r.Body != body || r.URL.String() != target || r.RequestURI != q.RequestURI ||
		!maps.EqualFunc(r.Header, header, slices.Equal) ||
		(d.body != nil && !bytes.Equal(d.body, q.RequestBody)) {
		return refuse(d.op, "%s: the gate would send the engine a changed request, which an authorization plugin cannot: %s", d.op, needServe)
	}
	return d
}

// request rebuilds the client's request as dockerd describes it: its
// method, target and headers, a Content-Length that is the body dockerd
// sent or, with none, the one the client declared, and a body that fails
// to read unless dockerd sent it.
func (q AuthZRequest) request(ctx context.Context) (*http.Request, error) {
	u, err := url.ParseRequestURI(q.RequestURI)
	if err != nil {
		return nil, fmt.Errorf("the request target %q is not a plain path", q.RequestURI)
	}
	r := (&http.Request{
		Method: q.RequestMethod, URL: u, RequestURI: q.RequestURI,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: make(http.Header, len(q.RequestHeaders)), Host: "engine",
	}).WithContext(ctx)
	for k, v := range q.RequestHeaders {
		r.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	if te := r.Header.Get("Transfer-Encoding"); te != "" {
		r.TransferEncoding, r.ContentLength = []string{te}, -1
	} else if v, ok := r.Header["Content-Length"]; ok {
		n, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("the Content-Length %q is not a length", v[0])
		}
		r.ContentLength = n
	}
	if len(q.RequestBody) > 0 {
		if r.ContentLength != int64(len(q.RequestBody)) && r.Header.Get("Content-Length") != "" {
			return nil, fmt.Errorf("the Content-Length %s disagrees with the %d bytes of body dockerd read", r.Header.Get("Content-Length"), len(q.RequestBody))
		}
		r.ContentLength = int64(len(q.RequestBody))
		r.Body = io.NopCloser(bytes.NewReader(q.RequestBody))
	} else {
		r.Body = notSent{}
	}
	return r, nil
}

// notSent is the body of a request whose body dockerd did not send: a
// check that reads it gets errNotSent.
type notSent struct{}

func (notSent) Read([]byte) (int, error) { return 0, errNotSent }
func (notSent) Close() error             { return nil }

// writePlugin answers a plugin call with v as JSON.
func writePlugin(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", pluginMediaType)
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
