package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/gate"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/verify"
)

type gateFlags struct {
	listen, engine, policyFile, failOn, mode, group, log string
	tcp, tlsCert, tlsKey, tlsCA                          string
}

func newGateCmd() *cobra.Command {
	gateCmd := &cobra.Command{
		Use:   "gate",
		Short: "A fail-closed guard in front of the Docker API socket",
	}
	var f gateFlags
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve the gate on a unix socket or TCP with mutual TLS, forwarding allowed requests to the engine",
		Long: `Serve listens on the unix socket --listen, on TCP --listen-tcp, or both, and
forwards to the engine socket --engine only the API operations it allows
(README: hull gate), refusing everything else with a 403 the docker CLI prints.
On TCP every client must present a certificate the CA --tls-ca signed (TLS 1.2
or later; hull tls init makes the CA and certificates); there is no plain TCP.

Container create requests are judged by the container rules (hull config
--list) as hull audit containers judges running containers: a finding at or
above --fail-on (default high, or the policy's workload failOn) refuses the
create; the policy's workload section ignores and excepts rules. When the
policy has a trust section, a container is created only from an image the
trust policy accepts by its registry digest (as hull verify judges it); an
image with no registry digest (built, loaded or re-tagged locally) only where
the policy accepts unsigned images. It refuses to start when the engine does
not answer /_ping.

The policy's gate section gives clients roles: a unix client by its uid or
gid, a TCP client by its certificate's common name (cn). A role may call only
its operations (or, with readOnly, every GET and HEAD but attach), and judges
creates with its own failOn, ignore and exceptions where it gives them and,
with trust: signed, only signed images. A client no identity names gets the
default role, or is refused everything:
  gate:
    roles:
      - {name: ci, operations: [ping, version, "container *", "image *"],
         failOn: medium, trust: signed}
      - {name: monitor, readOnly: true}
    identities:
      - {cn: ci-runner, role: ci}
      - {uid: 1001, role: monitor}
    default: deny

Every decision is one JSON line on standard error (or --log FILE) with the
client (uid, gid and pid, or the certificate's cn), its role, and a create's
image ID and verified digest. SIGINT or SIGTERM stops it.

Operations (names for roles; * in a name stands for any characters):
` + wrapList(gate.OperationNames(), 78, "  "),
		Example: `  hull gate serve --listen /run/hull-gate.sock --engine /var/run/docker.sock --socket-group docker
  DOCKER_HOST=unix:///run/hull-gate.sock docker run --rm busybox echo hi

  hull tls init --out /etc/hull/gate-tls --host gate.example.com
  hull gate serve --listen-tcp 0.0.0.0:2376 --tls-ca /etc/hull/gate-tls/ca.pem \
    --tls-cert /etc/hull/gate-tls/server-cert.pem --tls-key /etc/hull/gate-tls/server-key.pem
  docker --tlsverify -H tcp://gate.example.com:2376 ps   # with DOCKER_CERT_PATH`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runGate(cmd, &f) },
	}
	fl := serve.Flags()
	fl.StringVar(&f.listen, "listen", "", "the gate's unix socket `PATH` (this, --listen-tcp or both)")
	fl.StringVar(&f.tcp, "listen-tcp", "", "also listen on TCP `HOST:PORT`, for clients with a certificate --tls-ca signed")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "the gate's TLS server certificate `FILE` (PEM; with --listen-tcp)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "the key `FILE` of --tls-cert (PEM; with --listen-tcp)")
	fl.StringVar(&f.tlsCA, "tls-ca", "", "the CA certificate `FILE` whose client certificates are accepted (PEM; with --listen-tcp)")
	fl.StringVar(&f.engine, "engine", "/var/run/docker.sock", "the engine's unix socket `PATH`")
	fl.StringVar(&f.policyFile, "policy", "", policyFlagHelp+"; its workload section ignores and excepts container rules")
	fl.StringVar(&f.failOn, "fail-on", "", "refuse a create with a finding of at least this `SEVERITY`: "+strings.Join(finding.SeverityNames(), ", ")+" (default "+defaultFailOn+", or the policy's workload failOn)")
	choices(serve, "fail-on", finding.SeverityNames()...)
	fl.StringVar(&f.mode, "socket-mode", "0660", "the gate socket's octal `MODE`")
	fl.StringVar(&f.group, "socket-group", "", "the gate socket's `GROUP` (name or number; default the process's)")
	fl.StringVar(&f.log, "log", "", "append the JSON-lines decision log to `FILE` instead of standard error")
	serve.MarkFlagsOneRequired("listen", "listen-tcp")
	serve.MarkFlagsRequiredTogether("listen-tcp", "tls-cert", "tls-key", "tls-ca")
	gateCmd.AddCommand(serve)
	gateCmd.AddCommand(newGatePluginCmd())
	return gateCmd
}

func runGate(cmd *cobra.Command, f *gateFlags) error {
	mode, err := strconv.ParseUint(f.mode, 8, 32)
	if err != nil || mode > 0o777 {
		return undecided(fmt.Errorf("--socket-mode %q: not an octal file mode such as 0660", f.mode))
	}
	gid := -1
	if f.group != "" {
		if gid, err = groupID(f.group); err != nil {
			return undecided(fmt.Errorf("--socket-group: %w", err))
		}
	}
	o, closeLog, err := gateOptions(cmd, f.engine, f.policyFile, f.failOn, f.log)
	if err != nil {
		return undecided(err)
	}
	defer closeLog()
	err = gate.Serve(cmd.Context(), gate.Listen{Path: f.listen, Mode: os.FileMode(mode), GID: gid,
		TCP: f.tcp, TLS: gate.TLSFiles{Cert: f.tlsCert, Key: f.tlsKey, CA: f.tlsCA}}, o)
	if err != nil {
		return undecided(err)
	}
	return nil
}

// wrapList joins items with commas into lines of at most width columns
// (but for an item longer than that), each after indent, never breaking
// an item.
func wrapList(items []string, width int, indent string) string {
	var b strings.Builder
	line := indent
	for i, it := range items {
		if i < len(items)-1 {
			it += ","
		}
		if len(line) > len(indent) && len(line)+1+len(it) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += it
	}
	b.WriteString(line)
	return b.String()
}

// groupID resolves a group name or number.
func groupID(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}

type gatePluginFlags struct {
	name, socket, engine, policyFile, failOn, log string
}

func newGatePluginCmd() *cobra.Command {
	var f gatePluginFlags
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Serve the gate's decisions as a Docker authorization plugin",
		Long: `Plugin serves the gate's decisions to dockerd as an authorization plugin, for
hosts where the engine's own socket must stay the entry point. It listens on
` + gate.PluginDir + `/NAME.sock (--name, default hull; --socket another path,
which dockerd then finds through a /etc/docker/plugins/NAME.spec file holding
unix://PATH) and must be running before dockerd starts with

  dockerd --authorization-plugin=NAME

dockerd then asks it about every API request: the allowlist, the container
rules (--fail-on, the policy's workload section) and the trust section judge
as hull gate serve judges. The plugin asks the engine (--engine) about the
image a create names; dockerd serves that while it waits for the plugin.

dockerd does not send a plugin every request body: only an application/json
body of known length under its size limit (1 MiB before Docker 29.4). Where the
gate would read a body dockerd did not send (a container or exec create
without one, chunked, not JSON or too large), or would forward a changed
request, the plugin denies and says to use hull gate serve instead; the README
lists those operations. With a trust policy it denies a create of an image
the engine lacks, where the gate lets docker run pull it: pull it first.
Responses are allowed as they are. Every decision is one JSON line on
standard error (or --log FILE). If the plugin is down, dockerd refuses every
request. SIGINT or SIGTERM stops it.`,
		Example: `  hull gate plugin --name hull --policy /etc/hull/hull.yaml
  dockerd --authorization-plugin=hull
  docker run --rm --privileged busybox true   # denied by plugin hull`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runGatePlugin(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "hull", "the plugin's `NAME`, as dockerd's --authorization-plugin names it")
	fl.StringVar(&f.socket, "socket", "", "listen on this unix socket `PATH` instead of "+gate.PluginDir+"/NAME.sock")
	fl.StringVar(&f.engine, "engine", "/var/run/docker.sock", "the engine's unix socket `PATH`, asked about the image a create names")
	fl.StringVar(&f.policyFile, "policy", "", policyFlagHelp+"; its workload section ignores and excepts container rules")
	fl.StringVar(&f.failOn, "fail-on", "", "deny a create with a finding of at least this `SEVERITY`: "+strings.Join(finding.SeverityNames(), ", ")+" (default "+defaultFailOn+", or the policy's workload failOn)")
	choices(cmd, "fail-on", finding.SeverityNames()...)
	fl.StringVar(&f.log, "log", "", "append the JSON-lines decision log to `FILE` instead of standard error")
	return cmd
}

func runGatePlugin(cmd *cobra.Command, f *gatePluginFlags) error {
	sock, err := gate.PluginSocket(f.name)
	if err != nil {
		return undecided(fmt.Errorf("--name: %w", err))
	}
	if f.socket != "" {
		sock = f.socket
	}
	o, closeLog, err := gateOptions(cmd, f.engine, f.policyFile, f.failOn, f.log)
	if err != nil {
		return undecided(err)
	}
	defer closeLog()
	if err := gate.ServePlugin(cmd.Context(), sock, o); err != nil {
		return undecided(err)
	}
	return nil
}

// gateOptions builds the gate's options from the flags both gate commands
// take: the engine socket, the policy (workload rules and trust), --fail-on
// and --log; closeLog closes the log file.
func gateOptions(cmd *cobra.Command, engine, policyFile, failOn, logFile string) (o gate.Options, closeLog func(), err error) {
	pol, polPath, err := loadPolicy(cmd, policyFile, false)
	if err != nil {
		return o, nil, err
	}
	wr, err := loadWorkloadRules(pol, polPath, failOn)
	if err != nil {
		return o, nil, err
	}
	if err := gate.CheckSection(pol.GateSection()); err != nil {
		return o, nil, fmt.Errorf("%s: %w", polPath, err)
	}
	var verifier gate.ImageVerifier
	var registry image.Options
	if pol != nil && pol.Trust.Given() {
		registry.Timeout = pol.Registry.TimeoutDuration()
		v, err := verify.Open(polPath, verify.Options{Policy: pol, CacheTTL: 10 * time.Minute})
		if err != nil {
			return o, nil, err
		}
		verifier = v
	}
	var logw io.Writer = cmd.ErrOrStderr()
	closeLog = func() {}
	if logFile != "" {
		lf, err := os.OpenFile(logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return o, nil, fmt.Errorf("--log: %w", err)
		}
		logw, closeLog = lf, func() { lf.Close() }
	}
	return gate.Options{
		Engine: engine, Ignore: wr.ignore, Except: wr.section, FailOn: wr.failOn,
		Verifier: verifier, Registry: registry, Roles: pol.GateSection(),
		Log: slog.New(slog.NewJSONHandler(logw, nil)),
	}, closeLog, nil
}
