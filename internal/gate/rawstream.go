package gate

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// rawStream marks an operation whose answer may take the connection
// over without an HTTP upgrade: Podman's exec start, and attach when the
// client sends no Connection: Upgrade, answer "HTTP/1.1 200 OK" and then
// the container's stream, and read its standard input from the same
// connection. httputil.ReverseProxy re-frames such an answer as a
// chunked body and reads the client's input as its next request, so the
// gate forwards these requests itself (forwardRaw).
func rawStream(_ *Gate, _ *http.Request, d decision) decision {
	d.raw = true
	return d
}

// dialTimeout bounds connecting to the engine for a raw stream.
const dialTimeout = 10 * time.Second

// forwardRaw sends r, with body as its body, to the engine on a
// connection of its own and reads the answer. Only when the engine took
// the connection over (101 Switching Protocols, or 200 with a stream
// content type and neither length nor chunking, which ends with the
// connection) are the two connections joined, the client's bytes
// included. Before that, or after any other answer, the engine would
// read the client's next bytes as a request the gate never judged: the
// answer is forwarded and both connections closed.
func (g *Gate) forwardRaw(w http.ResponseWriter, r *http.Request, body []byte) {
	engine, err := net.DialTimeout("unix", g.opts.Engine, dialTimeout)
	if err != nil {
		writeRefusal(w, http.StatusBadGateway, "the engine did not answer")
		return
	}
	defer engine.Close()
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host, out.Host, out.RequestURI = "http", "engine", "engine", ""
	out.Body, out.ContentLength = nil, int64(len(body))
	if len(body) > 0 {
		out.Body = io.NopCloser(bytes.NewReader(body))
	}
	// The gate read the body already: no 100 Continue from the engine.
	// Of the hop-by-hop headers only an upgrade request goes on.
	upgrade := upgradeOf(r.Header)
	for _, h := range []string{"Connection", "Upgrade", "Expect", "Keep-Alive", "Te", "Trailer", "Proxy-Connection"} {
		out.Header.Del(h)
	}
	if upgrade != "" {
		out.Header.Set("Connection", "Upgrade")
		out.Header.Set("Upgrade", upgrade)
	}
	if err := out.Write(engine); err != nil {
		writeRefusal(w, http.StatusBadGateway, "the engine did not answer")
		return
	}
	er := bufio.NewReader(engine)
	resp, err := http.ReadResponse(er, out)
	if err != nil {
		writeRefusal(w, http.StatusBadGateway, "the engine did not answer")
		return
	}
	if !tookOver(resp, upgrade) {
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.Header().Set("Connection", "close")
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	// The stream is read from er, not resp.Body, whose Close would wait
	// for the engine to end it.
	client, cbuf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer client.Close()
	_ = client.SetDeadline(time.Time{})
	var head bytes.Buffer
	fmt.Fprintf(&head, "HTTP/1.1 %s\r\n", resp.Status)
	_ = resp.Header.Write(&head)
	head.WriteString("\r\n")
	if _, err := client.Write(head.Bytes()); err != nil {
		return
	}
	go func() {
		// What the client sent after its request, then the rest.
		_, _ = io.Copy(engine, io.MultiReader(cbuf.Reader, client))
		if c, ok := engine.(interface{ CloseWrite() error }); ok {
			_ = c.CloseWrite()
		}
	}()
	_, _ = io.Copy(client, er)
}

// tookOver reports whether the engine's answer hands the connection to
// the stream: the upgrade the client asked for, or a 200 stream without
// length or chunking.
func tookOver(resp *http.Response, upgrade string) bool {
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return upgrade != "" && strings.EqualFold(upgradeOf(resp.Header), upgrade)
	}
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	ct = strings.TrimSpace(ct)
	return resp.StatusCode == http.StatusOK && resp.ContentLength == -1 && len(resp.TransferEncoding) == 0 &&
		(ct == "application/vnd.docker.raw-stream" || ct == "application/vnd.docker.multiplexed-stream")
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
