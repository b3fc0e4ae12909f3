package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/hull-sec/hull/internal/audit"
	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/report"

	"github.com/spf13/cobra"
)

func newAuditCmd(bi BuildInfo) *cobra.Command {
	var format, output string
	cmd := &cobra.Command{
		Use:   "audit [host|client]...",
		Short: "Audit the machine containers run on",
		Long: `Audit checks the machine containers run on, as the user who runs it, and says
for every check pass, warn, fail or skipped, with the reason, the evidence and
the fix.

host: kernel security features (seccomp filter actions, the active LSMs:
AppArmor, SELinux, Landlock; lockdown; cgroup v2; unprivileged user namespaces
and namespace limits) and rootless readiness (the user's subordinate UID and
GID ranges; newuidmap and newgidmap setuid or with file capabilities). Run it
as the user a rootless engine runs as, or with sudo.

client: how clients reach the engines (DOCKER_HOST, CONTAINER_HOST, docker
contexts, default sockets): engine sockets open to other users (CIS 3.15,
3.16); dockerd listening on TCP without --tlsverify, from its command line and
daemon.json (CIS 2.6); every tcp:// endpoint the client uses or a local dockerd
listens on asked for /_ping without credentials, in plain HTTP and TLS without
a client certificate (loopback only; ssh:// is named); the client certificate in
DOCKER_CERT_PATH or ~/.docker (chain to ca.pem, clientAuth, expiry, key size
or curve, key file mode).

With no argument, every group. The engine configuration and running-container
checks (Docker and Podman through their API sockets, the rest of the CIS Docker
Benchmark) are not built yet.

Exit codes: 0 nothing failed (warnings do not fail); 1 a check failed; 2 could
not audit.`,
		Example: `  hull audit
  hull audit host --format json
  DOCKER_HOST=tcp://127.0.0.1:2376 hull audit client`,
		ValidArgs: []string{"host", "client"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"host", "client"}
			}
			var checks []audit.Check
			for _, a := range args {
				switch a {
				case "host":
					checks = append(checks, audit.HostChecks()...)
				case "client":
					checks = append(checks, audit.ClientChecks(audit.ClientOptions{Getenv: os.Getenv, Ping: audit.PingEndpoint})...)
				default:
					return undecided(fmt.Errorf("audit %q: the groups built so far are host and client", a))
				}
			}
			enc, err := report.Formats.Lookup(format)
			if err != nil {
				return undecided(err)
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
			for _, s := range sts {
				if s.State == finding.StateFail {
					return &ExitError{Code: ExitFail}
				}
				if s.State == finding.StateError {
					return undecided(fmt.Errorf("check %s could not run", s.ID))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output `FORMAT`: "+strings.Join(report.Formats.Names(), ", "))
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the report to `FILE` instead of standard output")
	return cmd
}
