package gate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hull-sec/hull/internal/engineapi"
)

// Peer is the identity of the process at the other end of a unix
// socket connection, from SO_PEERCRED.
type Peer struct {
	PID, UID, GID int
}

type peerKey struct{}

// maxHeaderBytes bounds a request's header block.
const maxHeaderBytes = 64 << 10

// Listen holds where the gate listens: a unix socket, a TCP address
// with mutual TLS, or both.
type Listen struct {
	// Path is the socket's path; a stale socket there is replaced, any
	// other file is an error. "" for none.
	Path string
	// Mode is the socket file's mode, set before the first connection is
	// accepted.
	Mode os.FileMode
	// GID is the socket file's group; -1 keeps the process's.
	GID int
	// TCP, when set, is a host:port the gate also listens on, for TLS
	// clients only, each with a certificate the CA of TLS signed.
	TCP string
	// TLS are the files of the TCP listener; all three are required
	// with TCP. There is no TCP without client certificates.
	TLS TLSFiles
}

// TLSFiles are PEM files, as hull tls init writes them.
type TLSFiles struct {
	// Cert and Key are the gate's server certificate and its key.
	Cert, Key string
	// CA is the certificate of the CA whose client certificates the
	// gate accepts (and only those).
	CA string
}

// serverTLS is the TLS configuration of the TCP listener: TLS 1.2 or
// later, HTTP/1.1 (hijacked attach and exec streams need it), and a
// client certificate required and verified against f.CA.
func serverTLS(f TLSFiles) (*tls.Config, error) {
	if f.Cert == "" || f.Key == "" || f.CA == "" {
		return nil, errors.New("gate: a TCP listener needs the server certificate, its key and the CA of the clients' certificates")
	}
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("gate: the server certificate: %w", err)
	}
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("gate: the client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("gate: the client CA %s holds no PEM certificate", f.CA)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}, nil
}

// Serve checks that the engine answers /_ping, listens on l and serves
// the gate until ctx ends, then shuts down, letting open requests
// finish for up to five seconds.
func Serve(ctx context.Context, l Listen, o Options) error {
	g, err := New(o)
	if err != nil {
		return err
	}
	if l.Path == "" && l.TCP == "" {
		return errors.New("gate: nothing to listen on: give a socket path, a TCP address or both")
	}
	var tcfg *tls.Config
	if l.TCP != "" {
		if tcfg, err = serverTLS(l.TLS); err != nil {
			return err
		}
	}
	if err := Ping(ctx, o.Engine); err != nil {
		return err
	}
	return serve(ctx, l, tcfg, g)
}

// serve listens on l (its TCP listener with tcfg) and serves h until ctx
// ends, then shuts down, letting open requests finish for up to five
// seconds.
func serve(ctx context.Context, l Listen, tcfg *tls.Config, h http.Handler) error {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	if l.Path != "" {
		ln, err := listen(l)
		if err != nil {
			return err
		}
		defer os.Remove(l.Path)
		lns = append(lns, ln)
	}
	if l.TCP != "" {
		ln, err := net.Listen("tcp", l.TCP)
		if err != nil {
			return fmt.Errorf("gate: listen: %w", err)
		}
		lns = append(lns, tls.NewListener(ln, tcfg))
	}
	srv := &http.Server{
		Handler:        h,
		MaxHeaderBytes: maxHeaderBytes,
		// OPTIONS * comes to the gate, which refuses it, too.
		DisableGeneralOptionsHandler: true,
		ReadHeaderTimeout:            30 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if p, err := peerOf(c); err == nil {
				return context.WithValue(ctx, peerKey{}, p)
			}
			return ctx
		},
		// The library is silent: malformed requests get their 4xx
		// answer from net/http and nothing on stderr.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	done := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { done <- srv.Serve(ln) }()
	}
	var failed error
	select {
	case err := <-done:
		failed = fmt.Errorf("gate: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Hijacked streams (attach, exec) are not waited for.
		_ = srv.Close()
	}
	if failed != nil {
		return failed
	}
	for range lns {
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("gate: serve: %w", err)
		}
	}
	return nil
}

// listen creates the socket with its mode and group set before any
// client can connect: the umask keeps it private until chmod and chown.
func listen(l Listen) (net.Listener, error) {
	if fi, err := os.Lstat(l.Path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("gate: %s exists and is not a socket", l.Path)
		}
		if err := os.Remove(l.Path); err != nil {
			return nil, fmt.Errorf("gate: remove stale socket: %w", err)
		}
	}
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", l.Path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("gate: listen: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if l.GID >= 0 {
		if err := os.Chown(l.Path, -1, l.GID); err != nil {
			ln.Close()
			return nil, fmt.Errorf("gate: socket group: %w", err)
		}
	}
	if err := os.Chmod(l.Path, l.Mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("gate: socket mode: %w", err)
	}
	return ln, nil
}

func peerOf(c net.Conn) (Peer, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Peer{}, errors.New("not a unix connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Peer{}, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Peer{}, err
	}
	if cerr != nil {
		return Peer{}, cerr
	}
	return Peer{PID: int(cred.Pid), UID: int(cred.Uid), GID: int(cred.Gid)}, nil
}

// Ping returns an error unless the engine at socket answers /_ping with
// 200 within five seconds.
func Ping(ctx context.Context, socket string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c := engineapi.UnixClient(socket)
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://engine/_ping", nil)
	if err != nil {
		return fmt.Errorf("gate: ping the engine: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		// The URL is the gate's own placeholder: say what failed instead.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("gate: the engine at %s does not answer /_ping: %w", socket, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("gate: the engine at %s answered /_ping with %s", socket, resp.Status)
	}
	return nil
}
