package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds each network operation when Options.Timeout is
// zero: long enough for a slow registry's token service, short enough
// that a registry that never answers is noticed.
const DefaultTimeout = 60 * time.Second

// ErrTimeout is wrapped when a registry or engine does not answer, or
// stops sending, within the timeout.
var ErrTimeout = errors.New("no answer in time")

// timeoutError names who did not answer, and to what.
type timeoutError struct {
	peer  string // "registry HOST" or "engine API at ..."
	op    string // "GET /v2/..."
	after time.Duration
	// began: the answer began, but did not arrive whole in time, or (a
	// streamed answer) stalled for longer than the timeout.
	began, stalled bool
}

func (e *timeoutError) Error() string {
	switch {
	case e.stalled:
		return fmt.Sprintf("%s stopped sending its answer to %s for %s", e.peer, e.op, e.after)
	case e.began:
		return fmt.Sprintf("%s did not finish its answer to %s within %s", e.peer, e.op, e.after)
	}
	return fmt.Sprintf("%s did not answer %s within %s", e.peer, e.op, e.after)
}

func (e *timeoutError) Is(target error) bool { return target == ErrTimeout }

// metadataKey marks a request context whose answer is metadata: it must
// arrive whole within the timeout, however the server frames it.
type metadataKey struct{}

// asMetadata marks ctx for deadlineTransport.
func asMetadata(ctx context.Context) context.Context {
	return context.WithValue(ctx, metadataKey{}, true)
}

// deadlineTransport gives every request a timeout and bounds what it
// reads. An answer must start within the timeout. A streamed answer (a
// layer) may take longer as long as no read waits more than the timeout
// for its next bytes; any other answer must arrive whole within the
// timeout and be at most maxBody bytes (0: unbounded, the caller bounds).
type deadlineTransport struct {
	base     http.RoundTripper
	timeout  time.Duration
	peer     func(*http.Request) string
	streamed func(*http.Request) bool
	maxBody  int64
}

func (t *deadlineTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	terr := &timeoutError{peer: t.peer(req), op: req.Method + " " + req.URL.Path, after: t.timeout}
	timer := time.AfterFunc(t.timeout, func() { cancel(terr) })
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		timer.Stop()
		if context.Cause(ctx) == terr {
			err = terr
		}
		cancel(nil)
		return nil, err
	}
	b := &deadlineBody{rc: resp.Body, ctx: ctx, cancel: cancel, timer: timer, terr: terr}
	if t.streamed(req) && req.Context().Value(metadataKey{}) == nil {
		// From here the timer runs only while a read waits on the peer:
		// a reader that pauses (a slow check, a full read-ahead) is not
		// the peer's stall.
		b.idle = t.timeout
		timer.Stop()
	} else {
		b.max = t.maxBody
	}
	resp.Body = b
	return resp, nil
}

// deadlineBody is an answer's body under its request's timer: with idle
// set, the timer runs during each read only; with max set, reading more
// than max bytes fails.
type deadlineBody struct {
	rc     io.ReadCloser
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	terr   *timeoutError
	idle   time.Duration
	max    int64
	read   int64
	once   sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.max > 0 && int64(len(p)) > b.max-b.read+1 {
		p = p[:b.max-b.read+1] // one byte past the bound shows it is passed
	}
	if b.idle > 0 {
		b.timer.Reset(b.idle)
	}
	n, err := b.rc.Read(p)
	if b.idle > 0 {
		b.timer.Stop()
	}
	b.read += int64(n)
	if b.max > 0 && b.read > b.max {
		return n, fmt.Errorf("%w: %s sent more than %d bytes in answer to %s", ErrTooLarge, b.terr.peer, b.max, b.terr.op)
	}
	if err != nil && context.Cause(b.ctx) == b.terr {
		late := *b.terr
		late.began, late.stalled = true, b.idle > 0
		err = &late
	}
	return n, err
}

func (b *deadlineBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() {
		b.timer.Stop()
		b.cancel(nil)
	})
	return err
}

// registryPeer names the registry a request goes to.
func registryPeer(req *http.Request) string { return "registry " + req.URL.Host }

// isBlobGet reports whether req, or the request it was redirected from,
// reads a blob: a registry answers those from elsewhere (a CDN), so the
// first request's path decides.
func isBlobGet(req *http.Request) bool {
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	return req.Method == http.MethodGet && strings.Contains(first.URL.Path, "/blobs/")
}

// DownloadTransport bounds the requests of a long download (hull db
// update's exports) as layers are bounded: each answer must begin within
// timeout, and may then take as long as it needs but never wait more
// than timeout for its next bytes.
func DownloadTransport(base http.RoundTripper, timeout time.Duration) http.RoundTripper {
	return &deadlineTransport{base: base, timeout: timeout,
		peer:     func(req *http.Request) string { return req.URL.Host },
		streamed: func(*http.Request) bool { return true }}
}
