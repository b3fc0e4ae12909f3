package gate

import (
	"bufio"
	"bytes"
	"github.com/hull-sec/hull/internal/engineapi"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// unixEngine serves h on a unix socket in a temp dir as a stand-in for
// the engine's answers the real engines cannot be made to give on cue.
// It counts the connections it accepts in accepted.
func unixEngine(t testing.TB, h http.Handler, accepted *atomic.Int32) (string, *httptest.Server) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "engine.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = countingListener{ln, accepted}
	srv.Start()
	t.Cleanup(srv.Close)
	return sock, srv
}

// gateOn serves a gate of the engine at engine on a unix socket in a
// temp dir until the test ends, and returns the socket's path.
func gateOn(tb testing.TB, engine string) string {
	tb.Helper()
	g, err := New(Options{Engine: engine})
	if err != nil {
		tb.Fatal(err)
	}
	gsock := filepath.Join(tb.TempDir(), "gate.sock")
	ln, err := net.Listen("unix", gsock)
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: g}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { srv.Close() })
	return gsock
}

type countingListener struct {
	net.Listener
	n *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// TestForwardReplacesClosedConnections: an engine that closed the gate's
// kept-alive connections (it restarted, or timed them out) still gets the
// next requests, on new connections, and none is answered 502.
func TestForwardReplacesClosedConnections(t *testing.T) {
	var conns atomic.Int32
	sock, srv := unixEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"ok":true}`)
	}), &conns)
	g, err := New(Options{Engine: sock})
	if err != nil {
		t.Fatal(err)
	}
	get := func() int {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", "/v1.41/containers/json", nil))
		return rec.Code
	}
	for range 3 {
		if c := get(); c != http.StatusOK {
			t.Fatalf("first requests: %d", c)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("three requests in a row used %d engine connections, want 1 kept alive", n)
	}
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	for range 3 {
		if c := get(); c != http.StatusOK {
			t.Fatalf("after the engine closed its connections: %d", c)
		}
	}
}

// TestForwardStreamsHeaderFirst: a streamed answer's header reaches the
// client before any of its body, as docker run needs of /wait, and each
// part of a slow stream arrives without waiting for the next.
func TestForwardStreamsHeaderFirst(t *testing.T) {
	release := make(chan struct{})
	sock, _ := unixEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "one\n")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "two\n")
	}), new(atomic.Int32))
	gsock := gateOn(t, sock)
	c, err := net.Dial("unix", gsock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "POST /v1.41/containers/x/wait HTTP/1.1\r\nHost: d\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no header before the body: %v", err)
	}
	body := bufio.NewReader(resp.Body)
	for _, want := range []string{"one\n", "two\n"} {
		release <- struct{}{}
		line, err := body.ReadString('\n')
		if err != nil || line != want {
			t.Fatalf("stream: %q %v, want %q", line, err, want)
		}
	}
}

// BenchmarkForwardStream relays a logs-like stream (1000-byte frames,
// each flushed by the engine, as dockerd writes logs -f) through the gate
// to a client reading it to the end; direct reads the engine itself.
func BenchmarkForwardStream(b *testing.B) {
	const frames, size = 10000, 1000
	frame := bytes.Repeat([]byte("x"), size)
	sock, _ := unixEngine(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := w.(http.Flusher)
		for range frames {
			_, _ = w.Write(frame)
			f.Flush()
		}
	}), new(atomic.Int32))
	gsock := gateOn(b, sock)
	for _, s := range []struct{ name, sock string }{{"direct", sock}, {"gate", gsock}} {
		b.Run(s.name, func(b *testing.B) {
			c := engineapi.UnixClient(s.sock)
			b.SetBytes(frames * size)
			for b.Loop() {
				resp, err := c.Get("http://engine/v1.41/containers/x/logs?follow=1&stdout=1")
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n != frames*size {
					b.Fatalf("read %d: %v", n, err)
				}
			}
		})
	}
}

// TestChunkScanner: the scanner finds the end of a chunked body, with
// extensions and trailers, wherever the reads split it, and nothing of
// what follows; malformed framing is an error.
func TestChunkScanner(t *testing.T) {
	body := "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: x\r\n\r\n"
	next := "HTTP/1.1 200 OK\r\n"
	in := body + next
	for split := 0; split <= len(in); split++ {
		var cs chunkScanner
		n1, err := cs.scan([]byte(in[:split]))
		if err != nil {
			t.Fatalf("split %d: %v", split, err)
		}
		n := n1
		if !cs.done {
			n2, err := cs.scan([]byte(in[split:]))
			if err != nil {
				t.Fatalf("split %d: %v", split, err)
			}
			n += n2
		}
		if !cs.done || n != len(body) {
			t.Fatalf("split %d: done %v after %d bytes, want the body's %d", split, cs.done, n, len(body))
		}
	}
	for _, bad := range []string{"zz\r\n", "3\r\nabcXY", "ffffffffffffffff\r\n"} {
		var cs chunkScanner
		if _, err := cs.scan([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzChunkScanner(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), 3)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		if split < 0 || split > len(in) {
			return
		}
		var cs chunkScanner
		n, err := cs.scan(in[:split])
		if err != nil || cs.done {
			if n > split {
				t.Fatalf("consumed %d of %d", n, split)
			}
			return
		}
		if n != split {
			t.Fatalf("not done, consumed %d of %d", n, split)
		}
		if m, err := cs.scan(in[split:]); err == nil && m > len(in)-split {
			t.Fatalf("consumed %d of %d", m, len(in)-split)
		}
	})
}

// TestForwardEndsStreamOfGoneClient: a client that closes its connection
// during a stream (docker logs -f, events, then Ctrl-C) ends the
// engine's side of it too.
func TestForwardEndsStreamOfGoneClient(t *testing.T) {
	ended := make(chan struct{})
	sock, _ := unixEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(ended)
	}), new(atomic.Int32))
	gsock := gateOn(t, sock)
	c := engineapi.UnixClient(gsock)
	resp, err := c.Get("http://engine/v1.41/containers/x/logs?follow=1&stdout=1")
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("stream: %q %v", line, err)
	}
	resp.Body.Close()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the engine's stream went on after its client left")
	}
}
