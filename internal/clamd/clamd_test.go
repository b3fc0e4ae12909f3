package clamd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/clamd"
	"github.com/hull-sec/hull/internal/testenv"
)

const (
	markerSig = testenv.ClamdMarkerSignature + testenv.ClamdUnofficial
	hashSig   = "Hull.Test.Hash"
	sha256Sig = "Hull.Test.Sha256"
)

var (
	// hashed and hashed256 are detected only as whole files (.hdb, .hsb).
	hashed    = bytes.Repeat([]byte("whole-file md5 signature "), 400)
	hashed256 = bytes.Repeat([]byte("whole-file sha256 signature "), 300)
)

// startClamd starts clamd with the marker .ndb, an .hdb and an .hsb and a
// 1 MiB StreamMaxLength.
func startClamd(t *testing.T, tcp bool) *testenv.ClamdServer {
	return testenv.Clamd(t, testenv.ClamdOptions{
		Databases: map[string]string{
			"marker.ndb": testenv.ClamdNDB(testenv.ClamdMarkerSignature, []byte(testenv.ClamdMarker)),
			"hash.hdb":   testenv.ClamdHDB(hashSig, hashed),
			"hash.hsb":   testenv.ClamdHSB(sha256Sig, hashed256),
		},
		StreamMaxLength: "1M",
		TCP:             tcp,
	})
}

// filler returns n bytes of clean text.
func filler(n int) []byte {
	b := bytes.Repeat([]byte("clean text for clamd, nothing to see here.\n"), n/43+1)
	return b[:n]
}

// withMarker returns n bytes of filler with the marker at offset at.
func withMarker(n, at int) []byte {
	b := filler(n)
	copy(b[at:], testenv.ClamdMarker)
	return b
}

func dial(t *testing.T, target string, opts clamd.Options) *clamd.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := clamd.Dial(ctx, target, opts)
	if err != nil {
		t.Fatalf("Dial(%s): %v", target, err)
	}
	return c
}

func scan(t *testing.T, c *clamd.Client, data []byte, name string) clamd.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.Scan(ctx, bytes.NewReader(data), name)
	if err != nil {
		t.Fatalf("Scan(%s): %v", name, err)
	}
	if res.Name != name {
		t.Errorf("Scan(%s): Result.Name %q", name, res.Name)
	}
	return res
}

func wantResult(t *testing.T, res clamd.Result, st clamd.Status, sig string, bytes int64, truncated bool) {
	t.Helper()
	if res.Status != st || res.Signature != sig || res.Bytes != bytes || res.Truncated != truncated {
		t.Errorf("%s: got %+v; want status %v, signature %q, %d bytes, truncated %v", res.Name, res, st, sig, bytes, truncated)
	}
	if (st == clamd.StatusTooLarge) != (res.Reason != "") {
		t.Errorf("%s: status %v with reason %q", res.Name, res.Status, res.Reason)
	}
}

func TestClamd(t *testing.T) {
	srv := startClamd(t, false)
	c := dial(t, srv.Socket, clamd.Options{})
	ctx := context.Background()

	t.Run("Ping", func(t *testing.T) {
		if err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Version", func(t *testing.T) {
		v, err := c.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// No official database here: no database part.
		if v.Raw != srv.Version || !strings.HasPrefix(srv.Version, "ClamAV "+v.Engine) || v.Engine == "" ||
			v.Engine[0] < '0' || v.Engine[0] > '9' || v.Database != 0 || !v.DatabaseTime.IsZero() {
			t.Errorf("Version: %+v (clamd said %q)", v, srv.Version)
		}
		t.Logf("clamd version %q", v.Raw)
	})
	t.Run("Found", func(t *testing.T) {
		// The marker straddles the boundary of the first 64 KiB chunk.
		data := withMarker(200<<10, clamd.DefaultChunkSize-7)
		wantResult(t, scan(t, c, data, "straddling"), clamd.StatusFound, markerSig, int64(len(data)), false)
		small := []byte("xx" + testenv.ClamdMarker + "yy")
		wantResult(t, scan(t, c, small, "small"), clamd.StatusFound, markerSig, int64(len(small)), false)
	})
	t.Run("Clean", func(t *testing.T) {
		// Everything but the marker's last byte.
		data := filler(200 << 10)
		copy(data[1000:], testenv.ClamdMarker[:len(testenv.ClamdMarker)-1])
		wantResult(t, scan(t, c, data, "clean"), clamd.StatusClean, "", int64(len(data)), false)
		wantResult(t, scan(t, c, nil, "empty"), clamd.StatusClean, "", 0, false)
	})
	t.Run("WholeFileHash", func(t *testing.T) {
		wantResult(t, scan(t, c, hashed, "md5"), clamd.StatusFound, hashSig+testenv.ClamdUnofficial, int64(len(hashed)), false)
		wantResult(t, scan(t, c, hashed256, "sha256"), clamd.StatusFound, sha256Sig+testenv.ClamdUnofficial, int64(len(hashed256)), false)
		// One byte more is another file.
		longer := append(append([]byte{}, hashed...), '\n')
		wantResult(t, scan(t, c, longer, "md5+1"), clamd.StatusClean, "", int64(len(longer)), false)
	})
	t.Run("StreamMaxLength", func(t *testing.T) {
		testStreamMaxLength(t, c)
	})
	t.Run("ClientMaxBytes", func(t *testing.T) {
		const max = 100 << 10
		small := dial(t, srv.Socket, clamd.Options{MaxBytes: max, ChunkSize: 16 << 10})
		wantResult(t, scan(t, small, filler(max), "exactly max"), clamd.StatusClean, "", max, false)
		res := scan(t, small, filler(300<<10), "over max")
		wantResult(t, res, clamd.StatusTooLarge, "", max, true)
		if !strings.Contains(res.Reason, "102400") {
			t.Errorf("reason %q does not give the limit", res.Reason)
		}
		// A signature in the part that was sent is still found.
		wantResult(t, scan(t, small, withMarker(300<<10, 50<<10), "marker early"), clamd.StatusFound, markerSig, max, true)
		wantResult(t, scan(t, small, withMarker(300<<10, 200<<10), "marker late"), clamd.StatusTooLarge, "", max, true)
		// Scan reads at most MaxBytes+1 bytes of the reader.
		r := bytes.NewReader(filler(300 << 10))
		if _, err := small.Scan(ctx, r, "read bound"); err != nil {
			t.Fatal(err)
		}
		if read := int64(300<<10) - int64(r.Len()); read != max+1 {
			t.Errorf("read %d bytes of the reader, want %d", read, max+1)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		cc := dial(t, srv.Socket, clamd.Options{MaxConcurrent: 4})
		var wg sync.WaitGroup
		errs := make(chan error, 16*25)
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 25; i++ {
					size := 1000 + (g*25+i)*97
					data, want := filler(size), clamd.StatusClean
					if (g+i)%2 == 0 {
						data, want = withMarker(size, size/2), clamd.StatusFound
					}
					name := fmt.Sprintf("g%d-%d", g, i)
					res, err := cc.Scan(ctx, bytes.NewReader(data), name)
					switch {
					case err != nil:
						errs <- err
					case res.Status != want || res.Name != name || res.Bytes != int64(size):
						errs <- fmt.Errorf("%s: got %+v, want %v", name, res, want)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
	t.Run("Cancel", func(t *testing.T) {
		// A reader that never ends, slowly: only the context stops the scan.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		res, err := c.Scan(ctx, &slowReader{}, "endless")
		if !errors.Is(err, context.DeadlineExceeded) || res.Status != clamd.StatusUnknown {
			t.Errorf("got %+v, %v; want context.DeadlineExceeded", res, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("returned after %v", d)
		}
		// Already cancelled: no connection at all.
		ctx, cancel = context.WithCancel(context.Background())
		cancel()
		if _, err := c.Scan(ctx, bytes.NewReader(filler(10)), "cancelled"); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled context: %v", err)
		}
		if err := c.Ping(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Ping with a cancelled context: %v", err)
		}
	})
	t.Run("ReaderError", func(t *testing.T) {
		boom := errors.New("boom")
		r := io.MultiReader(bytes.NewReader(filler(100<<10)), &errReader{boom})
		if _, err := c.Scan(ctx, r, "broken"); !errors.Is(err, boom) || !strings.Contains(err.Error(), "broken") {
			t.Errorf("got %v, want the reader's error naming the file", err)
		}
	})
	// clamd is still well after all of the above.
	wantResult(t, scan(t, c, []byte(testenv.ClamdMarker), "after"), clamd.StatusFound, markerSig, int64(len(testenv.ClamdMarker)), false)
}

// testStreamMaxLength checks clamd's own limit (1M): the stream is refused
// with a clear Result and clamd keeps serving.
func testStreamMaxLength(t *testing.T, c *clamd.Client) {
	wantResult(t, scan(t, c, filler(1<<20), "exactly 1M"), clamd.StatusClean, "", 1<<20, false)
	for _, size := range []int{1<<20 + 1, 2 << 20, 20 << 20} {
		res := scan(t, c, withMarker(size, 10), fmt.Sprintf("%d bytes", size))
		if res.Status != clamd.StatusTooLarge || !res.Truncated || res.Signature != "" ||
			!strings.Contains(res.Reason, "size limit exceeded") || res.Bytes > int64(size) {
			t.Errorf("%d bytes: got %+v; want StatusTooLarge from clamd", size, res)
		}
	}
	wantResult(t, scan(t, c, []byte(testenv.ClamdMarker), "after"), clamd.StatusFound, markerSig, int64(len(testenv.ClamdMarker)), false)
}

func TestClamdTCP(t *testing.T) {
	srv := startClamd(t, true)
	t.Logf("clamd on %s", srv.TCPAddr)
	c := dial(t, "tcp://"+srv.TCPAddr, clamd.Options{})
	data := withMarker(300<<10, 123456)
	wantResult(t, scan(t, c, data, "tcp"), clamd.StatusFound, markerSig, int64(len(data)), false)
	testStreamMaxLength(t, c)

	// The same port under a non-loopback name is refused before any traffic.
	_, port, _ := net.SplitHostPort(srv.TCPAddr)
	if _, err := clamd.Dial(context.Background(), "tcp://192.0.2.1:"+port, clamd.Options{}); !errors.Is(err, clamd.ErrNotLoopback) {
		t.Errorf("non-loopback target: %v", err)
	}
}

func TestClamdAbsent(t *testing.T) {
	ctx := context.Background()
	sock := filepath.Join(t.TempDir(), "no-clamd.sock")
	_, err := clamd.Dial(ctx, sock, clamd.Options{})
	if !errors.Is(err, clamd.ErrUnreachable) || !errors.Is(err, syscall.ENOENT) ||
		!strings.HasPrefix(err.Error(), "clamd not reachable at "+sock+": ") {
		t.Errorf("missing socket: %v", err)
	}
	t.Logf("missing socket: %v", err)

	// A closed port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if _, err := clamd.Dial(ctx, "tcp://"+addr, clamd.Options{}); !errors.Is(err, clamd.ErrUnreachable) ||
		!strings.HasPrefix(err.Error(), "clamd not reachable at tcp://"+addr+": ") {
		t.Errorf("closed port: %v", err)
	}

	// Scan on a Client made without Dial fails the same way.
	c, err := clamd.New(sock, clamd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Scan(ctx, bytes.NewReader(filler(10)), "f"); !errors.Is(err, clamd.ErrUnreachable) {
		t.Errorf("Scan: %v", err)
	}
}

// TestHostilePeer runs the client against a unix socket server that is not
// a well-behaved clamd: it stalls, floods, hangs up or talks nonsense.
func TestHostilePeer(t *testing.T) {
	tests := []struct {
		name    string
		serve   func(conn net.Conn)
		opts    clamd.Options
		timeout time.Duration // context timeout
		cancel  time.Duration // cancel the context (no deadline) after this
		want    error
		within  time.Duration
	}{
		{name: "stalls, context deadline", serve: stall, timeout: 300 * time.Millisecond,
			want: context.DeadlineExceeded, within: 2 * time.Second},
		{name: "stalls, cancelled", serve: stall, cancel: 300 * time.Millisecond,
			want: context.Canceled, within: 2 * time.Second},
		{name: "stalls, client timeout", serve: stall, opts: clamd.Options{Timeout: 300 * time.Millisecond},
			want: os.ErrDeadlineExceeded, within: 2 * time.Second},
		{name: "endless reply", serve: func(conn net.Conn) {
			drainCommand(conn)
			b := bytes.Repeat([]byte("A"), 64<<10)
			for {
				if _, err := conn.Write(b); err != nil {
					return
				}
			}
		}, want: clamd.ErrProtocol, within: 5 * time.Second},
		{name: "hangs up", serve: func(conn net.Conn) { drainCommand(conn) }, want: clamd.ErrProtocol, within: 5 * time.Second},
		{name: "nonsense", serve: reply("HELLO\x00"), want: clamd.ErrProtocol, within: 5 * time.Second},
		{name: "terminal escapes", serve: reply("stream: \x1b]0;pwned\x07 FOUND\x00"), want: clamd.ErrProtocol, within: 5 * time.Second},
		{name: "no terminator", serve: reply("stream: OK"), want: clamd.ErrProtocol, within: 5 * time.Second},
		{name: "scan error", serve: reply("stream: Can't create temporary file ERROR\x00"), within: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock := servePeer(t, tt.serve)
			c, err := clamd.New(sock, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			if tt.cancel > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer time.AfterFunc(tt.cancel, cancel).Stop()
			}
			start := time.Now()
			res, err := c.Scan(ctx, bytes.NewReader(filler(200<<10)), "f")
			if d := time.Since(start); d > tt.within {
				t.Errorf("returned after %v", d)
			}
			if res.Status != clamd.StatusUnknown {
				t.Errorf("verdict %+v from a broken peer", res)
			}
			if tt.want == nil {
				var se *clamd.ServerError
				if !errors.As(err, &se) || se.Message != "Can't create temporary file" {
					t.Errorf("got %v, want a ServerError", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			t.Logf("%v", err)
		})
	}
}

// servePeer serves each connection on a new unix socket with serve.
func servePeer(t *testing.T, serve func(net.Conn)) string {
	sock := filepath.Join(t.TempDir(), "peer.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				serve(conn)
			}()
		}
	}()
	return sock
}

// drainCommand reads an INSTREAM command and its chunks.
func drainCommand(conn net.Conn) {
	cmd := make([]byte, len("zINSTREAM\x00"))
	if _, err := io.ReadFull(conn, cmd); err != nil {
		return
	}
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			return
		}
		n := int64(hdr[0])<<24 | int64(hdr[1])<<16 | int64(hdr[2])<<8 | int64(hdr[3])
		if n == 0 {
			return
		}
		if _, err := io.CopyN(io.Discard, conn, n); err != nil {
			return
		}
	}
}

func reply(s string) func(net.Conn) {
	return func(conn net.Conn) {
		drainCommand(conn)
		_, _ = conn.Write([]byte(s))
	}
}

// stall reads everything and never answers.
func stall(conn net.Conn) { _, _ = io.Copy(io.Discard, conn) }

// slowReader yields 100 bytes every 10 ms, forever.
type slowReader struct{}

func (slowReader) Read(p []byte) (int, error) {
	time.Sleep(10 * time.Millisecond)
	return copy(p, filler(100)), nil
}

type errReader struct{ err error }

func (r *errReader) Read([]byte) (int, error) { return 0, r.err }

// TestClamdScanLimits: a file over clamd's MaxFileSize, with a signature
// at its start, is not scanned. Without AlertExceedsMax clamd answers OK
// (nothing a client can see); with it, clamd names the limit, and that is
// a file not scanned in full, not malware.
func TestClamdScanLimits(t *testing.T) {
	big := withMarker(3<<20, 0)
	for _, alert := range []bool{false, true} {
		limits := []string{"MaxFileSize 1M", "MaxScanSize 2M"}
		if alert {
			limits = append(limits, "AlertExceedsMax yes")
		}
		srv := testenv.Clamd(t, testenv.ClamdOptions{StreamMaxLength: "10M", Limits: limits})
		c := dial(t, srv.Socket, clamd.Options{MaxBytes: 10 << 20})
		wantResult(t, scan(t, c, withMarker(100<<10, 10), "small"), clamd.StatusFound, markerSig, 100<<10, false)
		res := scan(t, c, big, "over MaxFileSize")
		if !alert {
			// clamd's silent pass, measured: documented in the README.
			wantResult(t, res, clamd.StatusClean, "", int64(len(big)), false)
			continue
		}
		if res.Status != clamd.StatusTooLarge || res.Signature != "" || !res.Truncated || !strings.Contains(res.Reason, "MaxFileSize") {
			t.Errorf("with AlertExceedsMax: got %+v; want StatusTooLarge naming MaxFileSize", res)
		}
	}
}
