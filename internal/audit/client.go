package audit

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hull-sec/hull/internal/engineapi"
	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/workload"
)

// Process is a running program, as client checks see engines.
type Process struct {
	PID int
	// UID is the user the process runs as (the owner of /proc/PID).
	UID     int
	Cmdline []string
}

// ownerOf is a file's owner and group, -1 when the probe cannot say.
func ownerOf(fi fs.FileInfo) (uid, gid int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}

// ClientOptions are what the client-access checks need besides the host.
type ClientOptions struct {
	// Getenv reads the client's environment (DOCKER_HOST, DOCKER_CERT_PATH,
	// DOCKER_TLS_VERIFY, XDG_RUNTIME_DIR, HOME).
	Getenv func(string) string
	// Ping asks an engine endpoint (tcp://HOST:PORT) for /_ping without a
	// client certificate: plain HTTP, then TLS. Only loopback endpoints
	// are probed.
	Ping func(ctx context.Context, addr string) PingResult
	// Now is the time certificates are judged at.
	Now func() time.Time
	// Timeout bounds the questions to each engine found (default
	// DefaultEngineTimeout).
	Timeout time.Duration
}

// PingResult says how an endpoint answered a client without credentials.
type PingResult struct {
	// PlainHTTP and TLSNoCert are set when /_ping answered 200 that way.
	PlainHTTP, TLSNoCert bool
	// Refused is why TLS without a client certificate did not get in.
	Refused string
}

// ClientChecks are the checks of how clients reach the engines.
func ClientChecks(o ClientOptions) []Check {
	configs := dockerdConfigs()
	return []Check{
		check("client-socket-perms", "3.15, 3.16", finding.SeverityHigh, "Engine sockets are not open to every user",
			"Whoever can write the Docker or rootful Podman socket is root on the host. The socket must belong to root (or the rootless user) with group docker at most, mode 0660 or tighter. CIS Docker 3.15, 3.16.",
			"chown root:docker /var/run/docker.sock && chmod 0660 /var/run/docker.sock (dockerd sets this unless -G or the socket unit says otherwise).",
			func(p Probe) Outcome { return socketCheck(p, o, configs) }),
		check("client-daemon-tcp", "2.7", finding.SeverityCritical, "Engines listen on TCP only with mutual TLS",
			"dockerd's -H tcp://... without --tlsverify (or daemon.json hosts without tlsverify) gives root on the host to anyone who reaches the port. CIS Docker 2.7.",
			"Add --tlsverify with --tlscacert/--tlscert/--tlskey (hull tls init makes them), or listen on the unix socket only and use ssh:// for remote clients.",
			func(p Probe) Outcome { return daemonTCPCheck(p, configs) }),
		check("client-endpoint-auth", "", finding.SeverityCritical, "TCP endpoints refuse clients without a certificate",
			"Every tcp:// endpoint the client is set to use, and every loopback TCP endpoint an engine on this host listens on, is asked for /_ping without credentials, in plain HTTP and in TLS without a client certificate. An answer means anyone who reaches it controls the engine.",
			"Start the engine with --tlsverify and the CA that signs client certificates.",
			func(p Probe) Outcome { return endpointCheck(p, o, configs) }),
		check("client-tls-material", "", finding.SeverityMedium, "Client TLS material is sound",
			"The client certificate in DOCKER_CERT_PATH (or ~/.docker) must chain to ca.pem, be valid for client authentication and not expire within 30 days, use RSA of 2048 bits or more or ECDSA P-256 or stronger, and its key must be readable by its owner only.",
			"Renew or regenerate the client certificate (hull tls init), chmod 0600 key.pem.",
			func(p Probe) Outcome { return tlsMaterialCheck(p, o) }),
	}
}

// engineSockets are where Docker and Podman listen by default, for this
// user and for root.
func engineSockets(p Probe, o ClientOptions) []string {
	out := append(engineapi.DefaultSockets(false, o.Getenv), engineapi.DefaultSockets(true, o.Getenv)...)
	out = append(out, "/run/docker.sock") // /var/run's target on Debian
	for _, e := range clientEndpoints(p, o) {
		if u, err := url.Parse(e); err == nil && u.Scheme == "unix" {
			out = append(out, u.Path)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// clientEndpoints are the engine endpoints the client is set to use:
// DOCKER_HOST, CONTAINER_HOST (Podman's remote client) and the endpoint
// of every docker context (~/.docker/contexts/meta/*/meta.json, which
// name them under Endpoints.docker.Host).
func clientEndpoints(p Probe, o ClientOptions) []string {
	var out []string
	for _, k := range []string{"DOCKER_HOST", "CONTAINER_HOST"} {
		if v := o.Getenv(k); v != "" {
			out = append(out, v)
		}
	}
	dir := o.Getenv("DOCKER_CONFIG")
	if dir == "" && o.Getenv("HOME") != "" {
		dir = filepath.Join(o.Getenv("HOME"), ".docker")
	}
	if dir == "" {
		return out
	}
	metas, err := fs.Glob(probeFS{p}, strings.TrimPrefix(filepath.Join(dir, "contexts", "meta", "*", "meta.json"), "/"))
	if err != nil {
		return out
	}
	for _, m := range metas {
		data, err := p.ReadFile("/" + m)
		if err != nil || len(data) > 1<<20 {
			continue
		}
		var meta struct {
			Endpoints struct {
				Docker struct {
					Host string `json:"Host"`
				} `json:"docker"`
			} `json:"Endpoints"`
		}
		if json.Unmarshal(data, &meta) == nil && meta.Endpoints.Docker.Host != "" {
			out = append(out, meta.Endpoints.Docker.Host)
		}
	}
	return out
}

// probeFS is a Probe as an fs.FS rooted at /, for globbing.
type probeFS struct{ p Probe }

func (f probeFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
}

func (f probeFS) ReadDir(name string) ([]fs.DirEntry, error) { return f.p.ReadDir("/" + name) }

// socketCheck judges the engine sockets the client may use and every unix
// socket a visible dockerd listens on (-H, "hosts", its socket unit),
// wherever it is.
func socketCheck(p Probe, o ClientOptions, configs func(Probe) ([]*DaemonConfig, error)) Outcome {
	socks := engineSockets(p, o)
	cs, _ := configs(p)
	for _, c := range cs {
		ls, _ := c.Listeners(p)
		for _, h := range ls {
			if s, ok := strings.CutPrefix(h, "unix://"); ok && !slices.ContainsFunc(socks, func(x string) bool { return workload.RunPath(x) == workload.RunPath(s) }) {
				socks = append(socks, s)
			}
		}
	}
	var bad, good, fixes []string
	for _, s := range socks {
		fi, err := p.Stat(s)
		if err != nil || fi.Mode()&fs.ModeSocket == 0 {
			continue
		}
		mode := fi.Mode().Perm()
		uid, gid := ownerOf(fi)
		desc := fmt.Sprintf("%s %04o uid %d gid %d", s, mode, uid, gid)
		if mode&0o007 != 0 {
			bad = append(bad, desc+": other users may connect")
			fixes = append(fixes, fmt.Sprintf("chmod %04o %s", mode&0o770, s))
			continue
		}
		good = append(good, desc)
	}
	switch {
	case len(bad) > 0:
		o := fail(strings.Join(bad, "; "), strings.Join(append(bad, good...), "; "))
		o.Fix = strings.Join(fixes, "; ") + " (the engine sets its socket's mode when it starts: fix its -G option or socket unit too)"
		return o
	case len(good) == 0:
		return skip("no engine socket found at " + strings.Join(engineSockets(p, o), ", "))
	}
	return pass(strings.Join(good, "; "))
}

func daemonTCPCheck(p Probe, configs func(Probe) ([]*DaemonConfig, error)) Outcome {
	cs, err := configs(p)
	if err != nil {
		return undecided("cannot list processes: " + err.Error())
	}
	if len(cs) == 0 {
		if !seesOthers(p) {
			return undecided(hiddenProcesses + ", so whether a dockerd listens on TCP is unknown")
		}
		return skip("no dockerd is running")
	}
	var bad, ok, unknown []string
	for _, c := range cs {
		if c.Problem != "" {
			unknown = append(unknown, c.unknown())
			continue
		}
		verify := c.Bool("tlsverify", false)
		ls, why := c.Listeners(p)
		if why != "" {
			unknown = append(unknown, why)
		}
		for _, h := range ls {
			if !strings.HasPrefix(h, "tcp://") {
				continue
			}
			if verify {
				ok = append(ok, fmt.Sprintf("dockerd (pid %d) %s with --tlsverify", c.PID, h))
			} else {
				bad = append(bad, fmt.Sprintf("dockerd (pid %d) listens on %s without --tlsverify", c.PID, h))
			}
		}
	}
	switch {
	case len(bad) > 0:
		return fail(strings.Join(bad, "; "), strings.Join(bad, "; "))
	case len(unknown) > 0:
		return undecided("the TCP listeners are unknown: " + strings.Join(unknown, "; "))
	case len(ok) > 0:
		return pass(strings.Join(ok, "; "))
	}
	return pass("no dockerd listens on TCP")
}

// hiddenProcesses says why the process list cannot show every engine.
const hiddenProcesses = "other users' processes are hidden from this user (/proc mounted with hidepid, or the audit runs in a PID namespace of its own): run hull as root on the host"

// seesOthers reports whether this user sees other users' processes: with
// /proc mounted hidepid, a dockerd run by root is not in the process
// list, and its absence says nothing. PID 1 (init, root's) stands for
// them.
func seesOthers(p Probe) bool {
	_, err := p.ReadFile("/proc/1/cmdline")
	return err == nil
}

// isLoopback reports whether HOST or HOST:PORT names this machine.
func isLoopback(addr string) bool {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		addr = h
	}
	return image.IsLoopbackHost(addr)
}

func endpointCheck(p Probe, o ClientOptions, configs func(Probe) ([]*DaemonConfig, error)) Outcome {
	var targets, overSSH []string
	for _, e := range clientEndpoints(p, o) {
		u, err := url.Parse(e)
		switch {
		case err != nil:
		case u.Scheme == "tcp":
			targets = append(targets, u.Host)
		case u.Scheme == "ssh":
			overSSH = append(overSSH, e+" (over SSH: the remote account's keys decide)")
		}
	}
	var unknown []string
	if cs, err := configs(p); err == nil {
		for _, c := range cs {
			if c.Problem != "" {
				unknown = append(unknown, c.unknown())
			}
			ls, why := c.Listeners(p)
			if why != "" {
				unknown = append(unknown, why)
			}
			for _, h := range ls {
				if a, ok := strings.CutPrefix(h, "tcp://"); ok {
					targets = append(targets, probeAddr(a))
				}
			}
		}
	}
	slices.Sort(targets)
	targets = slices.Compact(targets)
	if len(targets) == 0 {
		if len(unknown) > 0 {
			return undecided("the TCP listeners are unknown: " + strings.Join(unknown, "; "))
		}
		if !seesOthers(p) {
			return undecided(hiddenProcesses + ", so which TCP endpoints local engines listen on is unknown")
		}
		if len(overSSH) > 0 {
			return pass(strings.Join(overSSH, "; "))
		}
		return skip("no tcp:// engine endpoint is configured or listening")
	}
	var bad, ok, skipped []string
	for _, t := range targets {
		if !isLoopback(t) {
			skipped = append(skipped, t+" (not loopback: not probed)")
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r := o.Ping(ctx, t)
		cancel()
		switch {
		case r.PlainHTTP:
			bad = append(bad, t+" answers plain HTTP without credentials")
		case r.TLSNoCert:
			bad = append(bad, t+" answers TLS without a client certificate")
		default:
			ok = append(ok, t+" refused a client without a certificate ("+r.Refused+")")
		}
	}
	switch {
	case len(bad) > 0:
		return fail(strings.Join(bad, "; "), strings.Join(append(bad, ok...), "; "))
	case len(unknown) > 0:
		return undecided("some listeners are unknown: " + strings.Join(append(unknown, ok...), "; "))
	case len(ok) == 0:
		return skip(strings.Join(skipped, "; "))
	}
	return pass(strings.Join(append(append(ok, skipped...), overSSH...), "; "))
}

// dockerdDefaultTCPPort is dockerd's port for a tcp:// host without one.
const dockerdDefaultTCPPort = "2375"

// probeAddr turns a dockerd tcp:// listen address into one to probe: a
// wildcard host (0.0.0.0, ::, none) is reached on loopback, a missing
// port is dockerd's default.
func probeAddr(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		host, port = strings.Trim(a, "[]"), dockerdDefaultTCPPort
	}
	if wildcardHost(host) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// wildcardHost reports whether a listen host means every interface.
func wildcardHost(h string) bool {
	ip := net.ParseIP(h)
	return h == "" || ip != nil && ip.IsUnspecified()
}

// PingEndpoint asks addr for /_ping in plain HTTP, then in TLS without a
// client certificate and without checking the server's (the question is
// whether the engine lets anyone in, not who it is).
func PingEndpoint(ctx context.Context, addr string) PingResult {
	var r PingResult
	get := func(scheme string, tr *http.Transport) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+"/_ping", nil)
		if err != nil {
			return err
		}
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	}
	r.PlainHTTP = get("http", &http.Transport{}) == nil
	err := get("https", &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}}) //nolint:gosec // probing, not trusting
	r.TLSNoCert = err == nil
	if err != nil {
		r.Refused = err.Error()
	}
	return r
}

func certPath(o ClientOptions) string {
	if p := o.Getenv("DOCKER_CERT_PATH"); p != "" {
		return p
	}
	if h := o.Getenv("HOME"); h != "" {
		return filepath.Join(h, ".docker")
	}
	return ""
}

func parsePEMCert(data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("not a PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

func tlsMaterialCheck(p Probe, o ClientOptions) Outcome {
	dir := certPath(o)
	certPEM, err := p.ReadFile(filepath.Join(dir, "cert.pem"))
	if dir == "" || err != nil {
		return skip("no client certificate (cert.pem) in " + dir)
	}
	var problems []string
	cert, err := parsePEMCert(certPEM)
	if err != nil {
		return fail("cert.pem: "+err.Error(), filepath.Join(dir, "cert.pem"))
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	switch left := cert.NotAfter.Sub(now()); {
	case left < 0:
		problems = append(problems, "the client certificate expired on "+cert.NotAfter.Format("2006-01-02"))
	case left < 30*24*time.Hour:
		problems = append(problems, "the client certificate expires on "+cert.NotAfter.Format("2006-01-02"))
	}
	if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) && !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageAny) && len(cert.ExtKeyUsage) > 0 {
		problems = append(problems, "the certificate is not valid for client authentication")
	}
	switch k := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			problems = append(problems, fmt.Sprintf("RSA key of %d bits", k.N.BitLen()))
		}
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize < 256 {
			problems = append(problems, "ECDSA key on "+k.Curve.Params().Name)
		}
	}
	if caPEM, err := p.ReadFile(filepath.Join(dir, "ca.pem")); err == nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			problems = append(problems, "ca.pem holds no certificate")
		} else if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			problems = append(problems, "the certificate does not chain to ca.pem: "+err.Error())
		}
	}
	if fi, err := p.Stat(filepath.Join(dir, "key.pem")); err == nil && fi.Mode().Perm()&0o077 != 0 {
		problems = append(problems, fmt.Sprintf("key.pem is mode %04o, readable by others", fi.Mode().Perm()))
	}
	if len(problems) > 0 {
		o := fail(strings.Join(problems, "; "), dir)
		o.Fix = "Renew or regenerate the client certificate in " + dir + " (hull tls init)"
		if fi, err := p.Stat(filepath.Join(dir, "key.pem")); err == nil && fi.Mode().Perm()&0o077 != 0 {
			o.Fix += "; chmod 0600 " + filepath.Join(dir, "key.pem")
		}
		o.Fix += "."
		return o
	}
	return pass(fmt.Sprintf("%s: client certificate for %q until %s, chains to ca.pem, key 0600", dir, cert.Subject.CommonName, cert.NotAfter.Format("2006-01-02")))
}
