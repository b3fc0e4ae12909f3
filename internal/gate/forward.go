package gate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// forwarder relays allowed requests to the engine over a pool of kept-
// alive unix connections. It is the gate's own, rather than
// httputil.ReverseProxy over an http.Transport, for the time a request
// takes: the handler's goroutine writes the request and reads the answer
// itself (a Transport hands each request to a connection's writer and
// reader goroutines and back, which on a busy two-core host is most of
// the gate's added latency), and a streamed answer (logs -f, events) is
// relayed in writes as large as the engine has data ready, not one
// flush per engine write. It also strips what must not reach the engine
// from the request: hop-by-hop headers, Expect (the gate, not the
// engine, answers 100-continue) and Upgrade but on the operations that
// hijack the connection.
type forwarder struct {
	socket string
	idle   chan *engineConn
}

// engineConn is one connection to the engine with its buffers.
type engineConn struct {
	c  *net.UnixConn
	br *bufio.Reader
	bw *bufio.Writer
}

const (
	// maxIdle is how many idle engine connections the gate keeps: as many
	// as clients come at once in the benchmark, so that most requests do
	// not dial the engine.
	maxIdle = 64
	// dialTimeout bounds connecting to the engine.
	dialTimeout = 5 * time.Second
	// engineReadBuffer is the read buffer of an engine connection: a
	// streamed answer is relayed up to this much per client write.
	engineReadBuffer = 32 << 10
)

func newForwarder(socket string) *forwarder {
	return &forwarder{socket: socket, idle: make(chan *engineConn, maxIdle)}
}

// get returns an idle connection the engine has not closed, or a new one.
func (f *forwarder) get(ctx context.Context) (*engineConn, error) {
	for {
		select {
		case ec := <-f.idle:
			if ec.alive() {
				return ec, nil
			}
			ec.c.Close()
			continue
		default:
		}
		d := net.Dialer{Timeout: dialTimeout}
		c, err := d.DialContext(ctx, "unix", f.socket)
		if err != nil {
			return nil, err
		}
		uc := c.(*net.UnixConn)
		return &engineConn{c: uc, br: bufio.NewReaderSize(uc, engineReadBuffer), bw: bufio.NewWriterSize(uc, 4<<10)}, nil
	}
}

// alive reports whether an idle connection is still open: the engine
// closes idle connections (and all of them when it restarts), and a
// request written to such a one would fail half-way. One non-blocking
// peek tells: would block means open, end of stream or data (an idle
// connection has none to read) means not.
func (ec *engineConn) alive() bool {
	if ec.br.Buffered() > 0 {
		return false
	}
	rc, err := ec.c.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var b [1]byte
	if err := rc.Read(func(fd uintptr) bool {
		_, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		open = errors.Is(err, unix.EAGAIN)
		return true
	}); err != nil {
		return false
	}
	return open
}

// put keeps ec for the next request, or closes it when the pool is full.
func (f *forwarder) put(ec *engineConn) {
	select {
	case f.idle <- ec:
	default:
		ec.c.Close()
	}
}

// hopHeaders are the headers of one connection, not of the request
// (RFC 9110 7.6.1), with Expect and the framing headers the forwarder
// writes itself.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect", "Content-Length", "Host"}

// forward sends r to the engine as d says: with d.body as its body when
// it is not nil (already read and judged), r.Body when d.stream is set,
// or no body; with d.path and d.query for the client's when they are set. It
// relays the answer to w, through d.answer when that is set. The
// operations of hijacks let the client's Upgrade request through: the
// engine then hijacks the connection (attach, exec start) and the
// forwarder relays both directions until either ends.
func (f *forwarder) forward(w http.ResponseWriter, r *http.Request, d decision) {
	ec, err := f.get(r.Context())
	if err != nil {
		writeRefusal(w, http.StatusBadGateway, "the engine did not answer")
		return
	}
	hijack := hijacks[d.op]
	upgrade := ""
	if hijack {
		upgrade = upgradeOf(r.Header)
	}
	target := r.RequestURI
	if d.path != "" || d.query != "" {
		path, query, _ := strings.Cut(target, "?")
		if d.path != "" {
			path = d.path
		}
		if d.query != "" {
			query = d.query
		}
		target = path
		if query != "" {
			target += "?" + query
		}
	}
	src, n := io.Reader(r.Body), r.ContentLength
	if d.upload != nil {
		src, n = d.upload, d.uploadLen
	}
	if err := ec.writeRequest(r, target, d.body, d.stream, src, n, upgrade); err != nil {
		ec.c.Close()
		writeRefusal(w, http.StatusBadGateway, "the engine did not answer")
		return
	}
	// A client that goes away ends the engine's side too (logs -f and
	// events would otherwise stream into nothing until the engine ends).
	stop := context.AfterFunc(r.Context(), func() { ec.c.Close() })
	resp, err := http.ReadResponse(ec.br, r)
	if err != nil {
		stop()
		ec.c.Close()
		writeRefusal(w, http.StatusBadGateway, "the engine did not answer")
		return
	}
	if hijack && tookOver(resp, upgrade) {
		stop()
		relayUpgraded(w, resp, ec)
		return
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		stop()
		ec.c.Close()
		writeRefusal(w, http.StatusBadGateway, "the engine switched protocols unasked")
		return
	}
	if d.answer != nil {
		d.answer(resp)
	} else if chunked(resp) && r.ProtoAtLeast(1, 1) {
		// The engine's chunked stream passes as it is, framing included:
		// one read and one write per engine write, no decoding and
		// encoding again.
		if relayChunked(w, resp, ec) && stop() {
			f.put(ec)
		} else {
			ec.c.Close()
		}
		return
	}
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
	if resp.ContentLength >= 0 && bodyAllowed(resp.StatusCode) {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	w.WriteHeader(resp.StatusCode)
	var cerr error
	if resp.ContentLength >= 0 {
		buf := bufferPool.Get().(*[32 << 10]byte)
		_, cerr = io.CopyBuffer(w, resp.Body, buf[:])
		bufferPool.Put(buf)
	} else {
		cerr = relayStream(w, resp.Body, ec.br)
	}
	resp.Body.Close()
	if !stop() || cerr != nil || resp.Close {
		ec.c.Close()
		return
	}
	f.put(ec)
}

// bodyAllowed reports whether an answer of status code may have a body
// (RFC 9110 6.4.1), and so a Content-Length.
func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

// upgradeOf returns the protocol an upgrade in h asks for or agrees to
// (Connection: Upgrade and Upgrade: PROTO), or "".
func upgradeOf(h http.Header) string {
	for _, v := range h.Values("Connection") {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "upgrade") {
				return h.Get("Upgrade")
			}
		}
	}
	return ""
}

// tookOver reports whether the engine's answer hands the connection to
// the stream: the upgrade the client asked for (101), or, as Podman
// answers an exec start and an attach without an upgrade, a 200 stream
// without length or chunking.
func tookOver(resp *http.Response, upgrade string) bool {
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return upgrade != "" && strings.EqualFold(upgradeOf(resp.Header), upgrade)
	}
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	ct = strings.TrimSpace(ct)
	return resp.StatusCode == http.StatusOK && resp.ContentLength == -1 && len(resp.TransferEncoding) == 0 &&
		(ct == "application/vnd.docker.raw-stream" || ct == "application/vnd.docker.multiplexed-stream")
}

// writeRequest writes r in origin form to the engine: target (the
// client's as it sent it, which Normalise accepted as written, or with
// the query a check chose), the end-to-end headers, and the body: body,
// or with stream the n bytes of src (chunked for n < 0).
func (ec *engineConn) writeRequest(r *http.Request, target string, body []byte, stream bool, src io.Reader, n int64, upgrade string) error {
	bw := ec.bw
	h := r.Header.Clone()
	for _, k := range hopHeaders {
		h.Del(k)
	}
	fmt.Fprintf(bw, "%s %s HTTP/1.1\r\nHost: engine\r\n", r.Method, target)
	if upgrade != "" {
		fmt.Fprintf(bw, "Connection: Upgrade\r\nUpgrade: %s\r\n", upgrade)
	}
	chunked := stream && n < 0
	switch {
	case body != nil:
		fmt.Fprintf(bw, "Content-Length: %d\r\n", len(body))
	case stream && n > 0:
		fmt.Fprintf(bw, "Content-Length: %d\r\n", n)
	case chunked:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	case r.Method == http.MethodPost || r.Method == http.MethodPut:
		bw.WriteString("Content-Length: 0\r\n")
	}
	if err := h.Write(bw); err != nil {
		return err
	}
	bw.WriteString("\r\n")
	switch {
	case body != nil:
		bw.Write(body)
	case stream && n > 0:
		if _, err := io.CopyN(bw, src, n); err != nil {
			return err
		}
	case chunked:
		cw := httputil.NewChunkedWriter(bw)
		if _, err := io.Copy(cw, src); err != nil {
			return err
		}
		cw.Close()
		bw.WriteString("\r\n")
	}
	return bw.Flush()
}

// relayStream copies a streamed answer (no length: logs -f, events,
// pull progress) to w, flushing whenever the engine has nothing more
// ready, so a burst goes out in large writes and a trickle at once.
func relayStream(w http.ResponseWriter, body io.Reader, engine *bufio.Reader) error {
	rc := http.NewResponseController(w)
	// The header goes out at once: a client may wait for it before it
	// goes on (docker run's wait, sent before its start).
	if err := rc.Flush(); err != nil {
		return err
	}
	buf := bufferPool.Get().(*[32 << 10]byte)
	defer bufferPool.Put(buf)
	for {
		n, err := body.Read(buf[:])
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if engine.Buffered() == 0 {
				if ferr := rc.Flush(); ferr != nil {
					return ferr
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return rc.Flush()
		}
		if err != nil {
			return err
		}
	}
}

// relayUpgraded answers the client with the engine's answer that took
// the connection over (tookOver) and relays bytes both ways on the two
// connections; the client's bytes only now, so none reached the engine
// as a request before. A direction that ends (the client's stdin closed)
// is closed for writing on the other side, and the relay ends when the
// engine's side does. The stream is read from the engine's connection,
// not from resp.Body.
func relayUpgraded(w http.ResponseWriter, resp *http.Response, ec *engineConn) {
	defer ec.c.Close()
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		writeRefusal(w, http.StatusBadGateway, "the connection cannot be handed over")
		return
	}
	defer conn.Close()
	for _, k := range []string{"Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Trailer"} {
		resp.Header.Del(k)
	}
	fmt.Fprintf(brw, "HTTP/1.1 %s\r\n", resp.Status)
	if resp.Header.Write(brw) != nil {
		return
	}
	brw.WriteString("\r\n")
	if brw.Flush() != nil {
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// What the client sends: whatever net/http read ahead, then the
		// connection.
		_, _ = io.Copy(ec.c, io.MultiReader(io.LimitReader(brw.Reader, int64(brw.Reader.Buffered())), conn))
		_ = ec.c.CloseWrite()
	}()
	_, _ = io.Copy(conn, ec.br)
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	// The engine is done: the client's side need not be read any more.
	_ = conn.SetReadDeadline(time.Now())
	wg.Wait()
}

// chunked reports whether resp's body is chunked and has a body.
func chunked(resp *http.Response) bool {
	return len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] == "chunked" &&
		resp.Request.Method != http.MethodHead && bodyAllowed(resp.StatusCode)
}

// relayChunked takes the client's connection over and copies the
// engine's chunked answer to it byte for byte, its header first, then
// closes it (the answer says "Connection: close"). It reports whether
// the engine's answer ended cleanly, so its connection can serve again.
// A client that goes away ends the relay: a goroutine waits for its
// connection to close and closes the engine's.
func relayChunked(w http.ResponseWriter, resp *http.Response, ec *engineConn) bool {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	defer conn.Close()
	fmt.Fprintf(brw, "HTTP/1.1 %s\r\n", resp.Status)
	h := resp.Header.Clone()
	for _, k := range hopHeaders {
		h.Del(k)
	}
	if err := h.Write(brw); err != nil {
		return false
	}
	brw.WriteString("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
	if brw.Flush() != nil {
		return false
	}
	// over and cut (under mu): the relay ended; the client went away
	// first and the engine's connection was closed.
	var mu sync.Mutex
	over, cut := false, false
	go func() {
		// The client sends nothing more; its read ends when it closes
		// the connection or when the relay closes it.
		var b [1]byte
		_, _ = conn.Read(b[:])
		mu.Lock()
		defer mu.Unlock()
		if !over {
			cut = true
			ec.c.Close()
		}
	}()
	var cs chunkScanner
	for !cs.done {
		if ec.br.Buffered() == 0 {
			if _, err := ec.br.Peek(1); err != nil {
				return false
			}
		}
		b, _ := ec.br.Peek(ec.br.Buffered())
		n, err := cs.scan(b)
		if err != nil {
			return false
		}
		if _, err := conn.Write(b[:n]); err != nil {
			return false
		}
		_, _ = ec.br.Discard(n)
	}
	mu.Lock()
	defer mu.Unlock()
	over = true
	return !cut
}

// chunkScanner follows the framing of a chunked body (RFC 9112 7.1) as
// it passes, to find its end: chunk size lines, chunk data and their
// CRLF, the last chunk and the trailer section.
type chunkScanner struct {
	state int
	// size is the chunk size being read or the data left of a chunk.
	size int64
	// line is the length of the trailer line being read.
	line int
	done bool
}

const (
	csSize = iota
	csExt
	csData
	csDataCR
	csDataLF
	csTrailer
)

// maxChunk bounds a chunk size the scanner accepts.
const maxChunk = 1 << 40

// scan follows b and returns how many of its bytes belong to the body:
// all of them, or up to the end of the body.
func (c *chunkScanner) scan(b []byte) (int, error) {
	for i := 0; i < len(b); i++ {
		ch := b[i]
		switch c.state {
		case csSize:
			switch {
			case ch >= '0' && ch <= '9':
				c.size = c.size<<4 | int64(ch-'0')
			case ch >= 'a' && ch <= 'f':
				c.size = c.size<<4 | int64(ch-'a'+10)
			case ch >= 'A' && ch <= 'F':
				c.size = c.size<<4 | int64(ch-'A'+10)
			case ch == ';' || ch == '\r':
				c.state = csExt
				continue
			case ch == '\n':
				c.endSizeLine()
				continue
			default:
				return 0, errors.New("the engine's chunked answer is malformed")
			}
			if c.size > maxChunk {
				return 0, errors.New("the engine's chunk is too large")
			}
		case csExt:
			if ch == '\n' {
				c.endSizeLine()
			}
		case csData:
			n := min(int64(len(b)-i), c.size)
			c.size -= n
			i += int(n) - 1
			if c.size == 0 {
				c.state = csDataCR
			}
		case csDataCR:
			if ch != '\r' {
				return 0, errors.New("the engine's chunk does not end in CRLF")
			}
			c.state = csDataLF
		case csDataLF:
			if ch != '\n' {
				return 0, errors.New("the engine's chunk does not end in CRLF")
			}
			c.state, c.size = csSize, 0
		case csTrailer:
			switch ch {
			case '\n':
				if c.line == 0 {
					c.done = true
					return i + 1, nil
				}
				c.line = 0
			case '\r':
			default:
				c.line++
			}
		}
	}
	return len(b), nil
}

// endSizeLine starts the chunk whose size line ended, or the trailer
// section after the last chunk.
func (c *chunkScanner) endSizeLine() {
	if c.size == 0 {
		c.state, c.line = csTrailer, 0
		return
	}
	c.state = csData
}
