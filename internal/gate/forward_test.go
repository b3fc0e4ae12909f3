package gate

import (
	"bufio"
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
func unixEngine(t *testing.T, h http.Handler, accepted *atomic.Int32) (string, *httptest.Server) {
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
	gsock := filepath.Join(t.TempDir(), "gate.sock")
	ln, err := net.Listen("unix", gsock)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Options{Engine: sock})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: g}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
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
