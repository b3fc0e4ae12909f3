package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hull-sec/hull/internal/tlsgen"

	"github.com/spf13/cobra"
)

func newTLSCmd() *cobra.Command {
	tlsCmd := &cobra.Command{
		Use:   "tls",
		Short: "Certificates for engines and hull gate taking API clients over TCP",
	}
	var out string
	var hosts []string
	var days int
	var port int
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Make a CA, a server and a client certificate for a Docker engine's TLS socket",
		Long: `Init makes what dockerd needs to accept API clients over TCP only with mutual
TLS (--tlsverify): a CA, a server certificate for the engine's names and
addresses (--host, repeatable; localhost and 127.0.0.1 are always in it) and a
client certificate, all ECDSA P-256 with the key usages each needs (serverAuth,
clientAuth), valid --days. Files are named as dockerd and the docker CLI expect
(ca.pem, server-cert.pem, server-key.pem, cert.pem, key.pem); keys are written
0600 and nothing that exists is overwritten. It prints the dockerd flags, the
daemon.json lines and the client environment to use them. Keep ca-key.pem
offline once the certificates you need are made.`,
		Example: `  hull tls init --out /etc/docker/tls --host docker.example.com --host 10.0.0.5
  hull tls init --out ~/.docker/engine1 --host engine1.internal --days 90`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if port < 1 || port > 65535 {
				return undecided(fmt.Errorf("--port %d: not a TCP port (1 to 65535)", port))
			}
			dir, err := filepath.Abs(out)
			if err != nil {
				return undecided(err)
			}
			f, err := tlsgen.Generate(dir, tlsgen.Options{Hosts: hosts, Days: days})
			if err != nil {
				return undecided(err)
			}
			host := "localhost"
			if len(hosts) > 0 {
				host = hosts[0]
			}
			listen := fmt.Sprintf("tcp://0.0.0.0:%d", port)
			daemon, err := json.MarshalIndent(map[string]any{
				"tlsverify": true, "tlscacert": f.CA, "tlscert": f.ServerCert, "tlskey": f.ServerKey,
				"hosts": []string{"unix:///var/run/docker.sock", listen},
			}, "", "  ")
			if err != nil {
				return undecided(err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "wrote %s (CA certificate), %s (CA key: keep it offline),\n  %s, %s (server), %s, %s (client)\n\n",
				f.CA, f.CAKey, f.ServerCert, f.ServerKey, f.ClientCert, f.ClientKey)
			fmt.Fprintf(w, "dockerd flags:\n  dockerd --tlsverify --tlscacert %s --tlscert %s --tlskey %s -H unix:///var/run/docker.sock -H %s\n\n",
				f.CA, f.ServerCert, f.ServerKey, listen)
			fmt.Fprintf(w, "or /etc/docker/daemon.json (drop -H from the service's command line then):\n%s\n\n", indent(string(daemon)))
			fmt.Fprintf(w, "clients (copy ca.pem, cert.pem and key.pem to them):\n  export DOCKER_HOST=tcp://%s:%d DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=%s\n", host, port, dir)
			return nil
		},
	}
	initCmd.Flags().StringVar(&out, "out", "docker-tls", "write the certificates and keys into `DIR` (created 0700)")
	initCmd.Flags().StringSliceVar(&hosts, "host", nil, "a `NAME or IP` clients reach the engine by (repeat); the first is used in the printed DOCKER_HOST")
	initCmd.Flags().IntVar(&days, "days", 365, "validity in `DAYS` (at most 3650)")
	initCmd.Flags().IntVar(&port, "port", 2376, "the TCP `PORT` the printed configuration listens on")
	tlsCmd.AddCommand(initCmd, newTLSClientCmd())
	return tlsCmd
}

func newTLSClientCmd() *cobra.Command {
	var ca, cn, out string
	var days int
	c := &cobra.Command{
		Use:   "client",
		Short: "Sign one more client certificate, for a common name, with a hull tls init CA",
		Long: `Client signs a client certificate (ECDSA P-256, clientAuth) for the common name
--cn with the CA hull tls init wrote into --ca (ca.pem and ca-key.pem), valid
--days but never past the CA, and writes it into --out as the docker CLI reads
DOCKER_CERT_PATH: ca.pem, cert.pem and key.pem (0600). Nothing that exists is
overwritten. hull gate gives a TCP client its role by this common name (the
policy's gate identities, cn:).`,
		Example: `  hull tls client --ca /etc/hull/gate-tls --cn ci-runner --out ci-certs
  DOCKER_CERT_PATH=ci-certs docker --tlsverify -H tcp://gate.example.com:2376 ps`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ca == "" || cn == "" {
				return undecided(errors.New("hull tls client needs --ca and --cn"))
			}
			f, err := tlsgen.Client(ca, out, cn, tlsgen.Options{Days: days})
			if err != nil {
				return undecided(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s, %s (client %q), %s (CA)\n", f.Cert, f.Key, cn, f.CA)
			return nil
		},
	}
	c.Flags().StringVar(&ca, "ca", "", "the `DIR` hull tls init wrote the CA into (required)")
	c.Flags().StringVar(&cn, "cn", "", "the certificate's common `NAME` (required)")
	c.Flags().StringVar(&out, "out", "", "write ca.pem, cert.pem and key.pem into `DIR` (created 0700; required)")
	c.Flags().IntVar(&days, "days", 365, "validity in `DAYS`, at most the CA's")
	// --ca and --cn are checked when it runs, after the flags' values.
	_ = c.MarkFlagRequired("out")
	return c
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }
