package cli

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hull-sec/hull/internal/audit"
	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/report"

	"github.com/spf13/cobra"
)

// auditExit maps the checks' states to the exit contract (outcome): an
// error is a check that applies but could not run (an engine found but
// not queried included).
func auditExit(sts []finding.CheckStatus) error {
	var undecidedIDs []string
	failed := false
	for _, s := range sts {
		switch s.State {
		case finding.StateError:
			undecidedIDs = append(undecidedIDs, s.ID)
		case finding.StateFail:
			failed = true
		}
	}
	var why []string
	if len(undecidedIDs) > 0 {
		slices.Sort(undecidedIDs)
		why = append(why, fmt.Sprintf("%s could not run (%s); see the report", report.Count(len(undecidedIDs), "check"), strings.Join(undecidedIDs, ", ")))
	}
	return outcome(failed, why)
}

func newAuditCmd(bi BuildInfo) *cobra.Command {
	var format, output string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "audit [host|engine|client|containers]...",
		Short: "Audit the machine containers run on",
		Long: `Audit checks the machine containers run on, as the user who runs it, and says
for every check pass, warn, fail, skipped (it does not apply here) or error (it
applies but could not run), with the reason, the evidence and the fix, which
names the file, socket, tool or package found. The table titles each finding
as the problem found and lists the fixes below it; it shortens cells only on a
terminal.

host: kernel security features (seccomp filter actions, the active LSMs:
AppArmor, SELinux, Landlock; lockdown; cgroup v2; unprivileged user namespaces
and namespace limits) and rootless readiness (the user's subordinate UID and
GID ranges; newuidmap and newgidmap setuid or with file capabilities). Run it
as the user a rootless engine runs as, or with sudo.

client: how clients reach the engines (DOCKER_HOST, CONTAINER_HOST, docker
contexts, default sockets): engine sockets open to other users (CIS 3.15,
3.16); dockerd listening on TCP without --tlsverify, from its command line and
daemon.json (CIS 2.7); every tcp:// endpoint the client uses or a local dockerd
listens on asked for /_ping without credentials, in plain HTTP and TLS without
a client certificate (loopback only; ssh:// is named); the client certificate in
DOCKER_CERT_PATH or ~/.docker (chain to ca.pem, clientAuth, expiry, key size
or curve, key file mode).

engine: every Docker and Podman engine found through its API socket (the
same places as client, rootless ones included; a tcp:// DOCKER_HOST with the
client certificate of DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set), judged
on what its API, its command line and daemon.json (Podman: containers.conf,
registries.conf, policy.json) say: rootless or userns-remap (CIS 2.1, 2.9),
inter-container traffic, log level, iptables, insecure registries, storage
driver, authorization plugins, remote logging, no-new-privileges, live
restore, userland proxy, seccomp, experimental (CIS 2.2-2.18); file owners
and modes (CIS 3), the data root's partition and mode, docker group members,
auditd rules (CIS 1.1); whether the engine enforces image signatures; and
runc, containerd, Docker and Podman versions against known container escapes
(Debian packages judged by the revision that backports the fix).

containers: every running container of those engines (CIS section 5):
privileged, added capabilities, host network/PID/IPC/UTS/user namespaces,
sensitive host directories and engine sockets mounted, shared mount
propagation, seccomp, AppArmor or SELinux switched off, no-new-privileges,
writable root filesystem, running as root, no memory or PIDs limit, CPU
shares, ports published on all interfaces or below 1024, restart policy,
host devices, cgroup parent, health check, the default bridge. For an engine
on this host each container is also judged by what the kernel shows of it
(seccomp mode, no_new_privs, capability bounding set, namespaces, mounts, cgroup
limits and device rules, UID), since an engine's answers can differ from what
runs.

Every check has a stable ID and names the CIS Docker Benchmark v1.6.0
recommendation it maps to (docs/audit-cis.md has the whole mapping). An
engine whose socket this user cannot open is named with the reason (run as
root or as a member of the socket's group).

With no argument, every group.

Exit codes: 0 nothing failed (warnings do not fail); 1 a check failed; 2 could
not decide: a check could not run where it applies, such as an engine that was
found but did not answer or a container it would not describe (the report
names them), even when other checks, or the same check elsewhere, failed.`,
		Example: `  hull audit
  hull audit host --format json
  DOCKER_HOST=tcp://127.0.0.1:2376 hull audit client
  DOCKER_HOST=unix:///run/user/1000/docker.sock hull audit engine containers
  sudo hull audit containers --format sarif -o audit.sarif`,
		ValidArgs: []string{"host", "engine", "client", "containers"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"host", "engine", "client", "containers"}
			}
			enc, err := report.Formats.Lookup(format)
			if err != nil {
				return undecided(err)
			}
			copts := audit.ClientOptions{Getenv: os.Getenv, Ping: audit.PingEndpoint, Timeout: timeout}
			var found *audit.Discovery
			discover := func() *audit.Discovery {
				if found == nil {
					found = audit.Discover(cmd.Context(), audit.Host{}, copts)
				}
				return found
			}
			var checks []audit.Check
			for _, a := range args {
				switch a {
				case "host":
					checks = append(checks, audit.HostChecks()...)
				case "engine":
					checks = append(checks, audit.EngineChecks(discover())...)
				case "client":
					checks = append(checks, audit.ClientChecks(copts)...)
				case "containers":
					checks = append(checks, audit.ContainerChecks(discover())...)
				default:
					return undecided(fmt.Errorf("audit %q: the groups are host, engine, client and containers", a))
				}
			}
			target, _ := os.Hostname()
			target = "host " + target
			sts, fs := audit.Run(audit.Host{}, target, checks)
			rep := report.Report{Tool: "hull", Version: bi.Version, Command: "audit", Target: target, Checks: sts, Findings: fs}
			for _, c := range checks {
				rep.Rules = append(rep.Rules, c.Rule)
			}
			if err := writeReport(cmd, enc, rep, output); err != nil {
				return undecided(err)
			}
			return auditExit(sts)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output `FORMAT`: "+strings.Join(report.Formats.Names(), ", "))
	choices(cmd, "format", report.Formats.Names()...)
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the report to `FILE` instead of standard output")
	cmd.Flags().DurationVar(&timeout, "timeout", audit.DefaultEngineTimeout, "longest wait for each engine's answers (version, configuration, containers), as a `DURATION`")
	return cmd
}
