package clamd

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseScanReply(t *testing.T) {
	tests := []struct {
		reply  string
		st     Status
		detail string
		err    error // errors.Is target; nil: no error
		server bool  // a *ServerError
	}{
		{reply: "stream: OK", st: StatusClean},
		{reply: "stream: Hull.Test.Marker.UNOFFICIAL FOUND", st: StatusFound, detail: "Hull.Test.Marker.UNOFFICIAL"},
		{reply: "stream: Win.Test.EICAR_HDB-1 FOUND", st: StatusFound, detail: "Win.Test.EICAR_HDB-1"},
		{reply: "INSTREAM size limit exceeded. ERROR", st: StatusTooLarge, detail: "INSTREAM size limit exceeded."},
		{reply: "stream: Can't allocate memory ERROR", server: true},
		{reply: "stream: FOUND", err: ErrProtocol},
		{reply: "stream:  FOUND", err: ErrProtocol},
		{reply: "stream: two words FOUND", err: ErrProtocol},
		{reply: "stream: Evil\x1b[31m FOUND", err: ErrProtocol},
		{reply: "stream: Evil\u202e FOUND", err: ErrProtocol},
		{reply: "stream: \xff FOUND", err: ErrProtocol},
		{reply: "stream: OKAY", err: ErrProtocol},
		{reply: "OK", err: ErrProtocol},
		{reply: "", err: ErrProtocol},
		{reply: "1: stream: OK", err: ErrProtocol}, // a session reply: never expected
		{reply: "PONG", err: ErrProtocol},
		{reply: "bad\nline ERROR", err: ErrProtocol},
	}
	for _, tt := range tests {
		st, detail, err := parseScanReply(tt.reply)
		var se *ServerError
		switch {
		case tt.server:
			if !errors.As(err, &se) || se.Message != strings.TrimSuffix(strings.TrimPrefix(tt.reply, "stream: "), " ERROR") {
				t.Errorf("%q: got %v, %q, %v; want a ServerError", tt.reply, st, detail, err)
			}
		case tt.err != nil:
			if !errors.Is(err, tt.err) || st != StatusUnknown {
				t.Errorf("%q: got %v, %q, %v; want %v", tt.reply, st, detail, err, tt.err)
			}
		default:
			if err != nil || st != tt.st || detail != tt.detail {
				t.Errorf("%q: got %v, %q, %v; want %v, %q", tt.reply, st, detail, err, tt.st, tt.detail)
			}
		}
	}
}

func TestParseVersion(t *testing.T) {
	v, err := parseVersion("ClamAV 1.4.6")
	if err != nil || v.Engine != "1.4.6" || v.Database != 0 || !v.DatabaseTime.IsZero() {
		t.Errorf("without database: %+v, %v", v, err)
	}
	v, err = parseVersion("ClamAV 0.103.8/26800/Wed Feb  1 08:25:42 2023")
	want := time.Date(2023, 2, 1, 8, 25, 42, 0, time.UTC)
	if err != nil || v.Engine != "0.103.8" || v.Database != 26800 || !v.DatabaseTime.Equal(want) {
		t.Errorf("with database: %+v, %v", v, err)
	}
	v, err = parseVersion("ClamAV 1.4.6/27460/not a date")
	if err != nil || v.Database != 27460 || !v.DatabaseTime.IsZero() {
		t.Errorf("bad date: %+v, %v", v, err)
	}
	for _, bad := range []string{"", "PONG", "ClamAV ", "ClamAV /1/x", "ClamAV 1.4.6/x/y", "ClamAV 1.4.6/-1", "ClamAV 1.4\x00", "ClamAV a b"} {
		if v, err := parseVersion(bad); !errors.Is(err, ErrProtocol) {
			t.Errorf("%q: got %+v, %v; want ErrProtocol", bad, v, err)
		}
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		target         string
		insecure       bool
		network, addr  string
		errNotLoopback bool
		errOtherwise   bool
	}{
		{target: "/run/clamav/clamd.ctl", network: "unix", addr: "/run/clamav/clamd.ctl"},
		{target: "clamd.sock", network: "unix", addr: "clamd.sock"},
		{target: "unix:///tmp/x.sock", network: "unix", addr: "/tmp/x.sock"},
		{target: "tcp://127.0.0.1:3310", network: "tcp", addr: "127.0.0.1:3310"},
		{target: "tcp://127.1.2.3:3310", network: "tcp", addr: "127.1.2.3:3310"},
		{target: "tcp://[::1]:3310", network: "tcp", addr: "[::1]:3310"},
		{target: "tcp://[::ffff:127.0.0.1]:3310", network: "tcp", addr: "[::ffff:127.0.0.1]:3310"},
		{target: "tcp://localhost:3310", network: "tcp", addr: "127.0.0.1:3310"},
		{target: "tcp://10.0.0.5:3310", errNotLoopback: true},
		{target: "tcp://0.0.0.0:3310", errNotLoopback: true},
		{target: "tcp://clamav.example:3310", errNotLoopback: true},
		{target: "tcp://:3310", errOtherwise: true},
		{target: "tcp://10.0.0.5:3310", insecure: true, network: "tcp", addr: "10.0.0.5:3310"},
		{target: "tcp://clamav.example:3310", insecure: true, network: "tcp", addr: "clamav.example:3310"},
		{target: "tcp://:3310", insecure: true, errOtherwise: true},
		{target: "tcp://127.0.0.1", errOtherwise: true},
		{target: "tcp://127.0.0.1:0", errOtherwise: true},
		{target: "tcp://127.0.0.1:70000", errOtherwise: true},
		{target: "http://127.0.0.1:3310", errOtherwise: true},
		{target: "unix://", errOtherwise: true},
		{target: "", errOtherwise: true},
	}
	for _, tt := range tests {
		network, addr, err := parseTarget(tt.target, tt.insecure)
		switch {
		case tt.errNotLoopback:
			if !errors.Is(err, ErrNotLoopback) {
				t.Errorf("%q: got %s %s, %v; want ErrNotLoopback", tt.target, network, addr, err)
			}
		case tt.errOtherwise:
			if err == nil || errors.Is(err, ErrNotLoopback) {
				t.Errorf("%q: got %s %s, %v; want an error", tt.target, network, addr, err)
			}
		default:
			if err != nil || network != tt.network || addr != tt.addr {
				t.Errorf("%q: got %s %s, %v; want %s %s", tt.target, network, addr, err, tt.network, tt.addr)
			}
		}
	}
}

func TestReadReply(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("stream: OK\x00PONG\x00"))
	if got, err := readReply(r); got != "stream: OK" || err != nil {
		t.Errorf("first: %q, %v", got, err)
	}
	if got, err := readReply(r); got != "PONG" || err != nil {
		t.Errorf("second: %q, %v", got, err)
	}
	if got, err := readReply(r); !errors.Is(err, ErrProtocol) {
		t.Errorf("at EOF: %q, %v; want ErrProtocol", got, err)
	}
	if got, err := readReply(strings.NewReader("stream: O")); !errors.Is(err, ErrProtocol) {
		t.Errorf("truncated: %q, %v; want ErrProtocol", got, err)
	}
	if got, err := readReply(strings.NewReader(strings.Repeat("A", maxReply) + "\x00")); got != strings.Repeat("A", maxReply) || err != nil {
		t.Errorf("maxReply bytes: %d bytes, %v", len(got), err)
	}
	// An endless reply is cut at maxReply+1 bytes read.
	cr := &countingReader{r: bytes.NewReader(bytes.Repeat([]byte("A"), 1<<20))}
	if _, err := readReply(cr); !errors.Is(err, ErrProtocol) || cr.n > maxReply+1 {
		t.Errorf("long reply: %v after reading %d bytes", err, cr.n)
	}
}

type countingReader struct {
	r *bytes.Reader
	n int
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

func TestNewOptions(t *testing.T) {
	c, err := New("/x.sock", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.opts.MaxBytes != DefaultMaxBytes || c.opts.ChunkSize != DefaultChunkSize ||
		c.opts.MaxConcurrent != DefaultMaxConcurrent || c.opts.Timeout != DefaultTimeout || cap(c.sem) != DefaultMaxConcurrent {
		t.Errorf("defaults not applied: %+v", c.opts)
	}
	for _, o := range []Options{{MaxBytes: -1}, {ChunkSize: -1}, {ChunkSize: maxChunkSize + 1}, {MaxConcurrent: -1}, {Timeout: -1}} {
		if _, err := New("/x.sock", o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := New("tcp://192.0.2.1:3310", Options{}); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("remote target: %v", err)
	}
}

func FuzzParseScanReply(f *testing.F) {
	for _, s := range []string{"stream: OK", "stream: A.B FOUND", "INSTREAM size limit exceeded. ERROR",
		"stream: x ERROR", "stream:  FOUND", "stream: \x00 FOUND", "1: stream: OK"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, reply string) {
		st, detail, err := parseScanReply(reply)
		if err != nil {
			if st != StatusUnknown || detail != "" {
				t.Fatalf("error %v with status %v, detail %q", err, st, detail)
			}
			return
		}
		switch st {
		case StatusClean:
			if reply != "stream: OK" {
				t.Fatalf("%q parsed as clean", reply)
			}
		case StatusFound:
			if detail == "" || !printable(detail) || strings.Contains(detail, " ") || !strings.Contains(reply, detail) {
				t.Fatalf("%q: bad signature %q", reply, detail)
			}
		case StatusTooLarge:
			if !strings.HasSuffix(reply, " ERROR") || !printable(detail) {
				t.Fatalf("%q parsed as too large", reply)
			}
		default:
			t.Fatalf("%q: status %v without error", reply, st)
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	f.Add("ClamAV 1.4.6")
	f.Add("ClamAV 0.103.8/26800/Wed Feb  1 08:25:42 2023")
	f.Add("ClamAV 1/2/3/4")
	f.Fuzz(func(t *testing.T, reply string) {
		v, err := parseVersion(reply)
		if err != nil {
			return
		}
		if v.Raw != reply || v.Engine == "" || v.Database < 0 || !printable(v.Engine) {
			t.Fatalf("%q: %+v", reply, v)
		}
	})
}

func FuzzReadReply(f *testing.F) {
	f.Add([]byte("stream: OK\x00"))
	f.Add([]byte("PONG"))
	f.Add(bytes.Repeat([]byte("x"), maxReply+10))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := readReply(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v is not ErrProtocol", err)
			}
			return
		}
		if len(got) > maxReply || strings.Contains(got, "\x00") || !bytes.HasPrefix(b, []byte(got+"\x00")) {
			t.Fatalf("reply %q from %q", got, b)
		}
	})
}
