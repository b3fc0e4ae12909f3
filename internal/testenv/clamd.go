package testenv

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clamdPath is where Debian's clamav-daemon installs clamd.
const clamdPath = "/usr/sbin/clamd"

// clamdStartTimeout bounds clamd's start; with a few test signatures it is
// ready in about 2 s.
const clamdStartTimeout = 30 * time.Second

// ClamdMarker is a byte string a test puts in a file to have clamd detect
// ClamdMarkerSignature, which Clamd loads when given no databases. No
// official ClamAV database is available to the tests (and EICAR is not
// detected without one), so detections come from such test signatures.
const (
	ClamdMarker          = "HULL-TEST-MARKER-5b1d0e7c2a94"
	ClamdMarkerSignature = "Hull.Test.Marker"
)

// ClamdUnofficial is the suffix clamd appends to the names of signatures
// from databases other than ClamAV's official ones: a file with ClamdMarker
// is reported as "Hull.Test.Marker.UNOFFICIAL".
const ClamdUnofficial = ".UNOFFICIAL"

// ClamdOptions configures Clamd. The zero value is usable.
type ClamdOptions struct {
	// Databases maps file names in clamd's database directory to their
	// content, e.g. "hull.ndb": ClamdNDB(...), "hull.hdb": ClamdHDB(...).
	// The extension tells clamd the format. Empty: one .ndb with
	// ClamdMarkerSignature for ClamdMarker.
	Databases map[string]string
	// StreamMaxLength is clamd's INSTREAM size limit in clamd.conf syntax
	// ("1M", "512K", "4096"); empty: clamd's default, 25M.
	StreamMaxLength string
	// MaxThreads is clamd's number of scanning threads (0: its default, 10).
	MaxThreads int
	// Limits are further clamd.conf lines about scan limits, e.g.
	// "MaxFileSize 1M", "AlertExceedsMax yes".
	Limits []string
	// TCP also makes clamd listen on 127.0.0.1 with a free port.
	TCP bool
}

// ClamdServer is a running clamd started by Clamd.
type ClamdServer struct {
	Socket  string // unix socket path
	TCPAddr string // "127.0.0.1:PORT" when ClamdOptions.TCP, else ""
	Dir     string // holds clamd.conf, db/, tmp/, clamd.log and the socket
	Version string // "ClamAV 1.4.6" as clamd answered VERSION at start
	srv     *server
}

// Log returns clamd's log file (bounded by LogFileMaxSize 1M) and its
// output.
func (c *ClamdServer) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "clamd.log"))
	return string(b) + c.srv.out.String()
}

// Clamd starts a real clamd (Debian's clamav-daemon, /usr/sbin/clamd) with
// the signature databases of opts in a temporary directory, a unix socket
// there and, if asked, a TCP socket on 127.0.0.1. It returns once clamd
// answers PING. clamd is stopped (SIGTERM) and the directory removed at
// cleanup. clamd needs at least one signature to start.
func Clamd(t testing.TB, opts ClamdOptions) *ClamdServer {
	t.Helper()
	bin := clamdPath
	if _, err := os.Stat(bin); err != nil {
		p, lerr := exec.LookPath("clamd")
		if lerr != nil {
			t.Fatalf("testenv: clamd not found at %s (%v) nor in PATH; integration tests need real components: "+
				"run .ci/run as root (or apt-get install -y clamav-daemon) first", clamdPath, err)
		}
		bin = p
	}
	dbs := opts.Databases
	if len(dbs) == 0 {
		dbs = map[string]string{"hull-test.ndb": ClamdNDB(ClamdMarkerSignature, []byte(ClamdMarker))}
	}

	// Not t.TempDir: the socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp(shortTmpRoot(), "hull-clamd-")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	// Registered first, so it runs after clamd is stopped.
	t.Cleanup(func() { os.RemoveAll(dir) })
	if strings.ContainsAny(dir, " \t\r\n\"") {
		t.Fatalf("testenv: temporary directory %q cannot go in clamd.conf", dir)
	}
	db, tmp := filepath.Join(dir, "db"), filepath.Join(dir, "tmp")
	for _, d := range []string{db, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	for name, content := range dbs {
		if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") || filepath.Ext(name) == "" {
			t.Fatalf("testenv: database file name %q: want NAME.EXT (e.g. test.ndb, test.hdb)", name)
		}
		if err := os.WriteFile(filepath.Join(db, name), []byte(content), 0o644); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	if opts.StreamMaxLength != "" && strings.ContainsAny(opts.StreamMaxLength, " \t\r\n") {
		t.Fatalf("testenv: StreamMaxLength %q", opts.StreamMaxLength)
	}

	c := &ClamdServer{Socket: filepath.Join(dir, "clamd.sock"), Dir: dir}
	var conf strings.Builder
	fmt.Fprintf(&conf, "Foreground yes\nLocalSocket %s\nLocalSocketMode 600\n", c.Socket)
	fmt.Fprintf(&conf, "DatabaseDirectory %s\nTemporaryDirectory %s\n", db, tmp)
	fmt.Fprintf(&conf, "LogFile %s\nLogTime yes\nLogFileMaxSize 1M\nPidFile %s\n",
		filepath.Join(dir, "clamd.log"), filepath.Join(dir, "clamd.pid"))
	if opts.StreamMaxLength != "" {
		fmt.Fprintf(&conf, "StreamMaxLength %s\n", opts.StreamMaxLength)
	}
	if opts.MaxThreads > 0 {
		fmt.Fprintf(&conf, "MaxThreads %d\n", opts.MaxThreads)
	}
	for _, l := range opts.Limits {
		if strings.ContainsAny(l, "\r\n") {
			t.Fatalf("testenv: clamd.conf line %q", l)
		}
		fmt.Fprintln(&conf, l)
	}

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		text := conf.String()
		if opts.TCP {
			addr, err := freeAddr()
			if err != nil {
				t.Fatalf("testenv: pick a free port: %v", err)
			}
			_, port, _ := net.SplitHostPort(addr)
			text += fmt.Sprintf("TCPAddr 127.0.0.1\nTCPSocket %s\n", port)
			c.TCPAddr = addr
		}
		confPath := filepath.Join(dir, "clamd.conf")
		if err := os.WriteFile(confPath, []byte(text), 0o644); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		start := time.Now()
		srv, err := startServer(t, nil, bin, "--config-file="+confPath)
		if err != nil {
			t.Fatalf("testenv: start clamd: %v", err)
		}
		c.srv = srv
		err = srv.waitReady(clamdStartTimeout, func() error {
			reply, err := clamdCommand(c.Socket, "PING")
			if err == nil && reply != "PONG" {
				err = fmt.Errorf("PING: reply %q", reply)
			}
			return err
		})
		if err == nil {
			if c.Version, err = clamdCommand(c.Socket, "VERSION"); err != nil {
				t.Fatalf("testenv: clamd VERSION: %v", err)
			}
			t.Logf("testenv: %s on %s ready in %v", c.Version, c.Socket, time.Since(start).Round(time.Millisecond))
			return c
		}
		log, _ := os.ReadFile(filepath.Join(dir, "clamd.log"))
		srv.stop()
		lastErr = fmt.Errorf("%v\nclamd.log:\n%s", err, log)
		// Another process took the TCP port between our probe and the bind.
		if opts.TCP && strings.Contains(srv.out.String()+string(log), "already in use") {
			continue
		}
		break
	}
	t.Fatalf("testenv: clamd did not start: %v", lastErr)
	return nil
}

// clamdCommand sends one z-command on a new connection to the unix socket
// and returns the reply without its NUL.
func clamdCommand(socket, cmd string) (string, error) {
	conn, err := net.DialTimeout("unix", socket, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("z" + cmd + "\x00")); err != nil {
		return "", err
	}
	b, err := io.ReadAll(io.LimitReader(conn, 4096))
	if err != nil {
		return "", err
	}
	reply, ok := strings.CutSuffix(string(b), "\x00")
	if !ok {
		return "", fmt.Errorf("%s: reply %q not NUL-terminated", cmd, b)
	}
	return reply, nil
}

// ClamdNDB returns an .ndb (extended signature) line that makes clamd
// report name for any file containing body, anywhere, in any file type.
func ClamdNDB(name string, body []byte) string {
	return fmt.Sprintf("%s:0:*:%s\n", name, hex.EncodeToString(body))
}

// ClamdHDB returns an .hdb line (MD5 of a whole file, its size, a name):
// clamd reports name for a file with exactly this content.
func ClamdHDB(name string, content []byte) string {
	sum := md5.Sum(content)
	return fmt.Sprintf("%s:%d:%s\n", hex.EncodeToString(sum[:]), len(content), name)
}

// ClamdHSB is ClamdHDB with SHA-256, for an .hsb file.
func ClamdHSB(name string, content []byte) string {
	sum := sha256.Sum256(content)
	return fmt.Sprintf("%s:%d:%s\n", hex.EncodeToString(sum[:]), len(content), name)
}
