package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/report"
	"github.com/hull-sec/hull/internal/verify"

	"github.com/spf13/cobra"
)

type verifyFlags struct {
	image      imageFlags
	policyFile string
	format     string
	output     string
	noCache    bool
	cacheTTL   time.Duration
}

func newVerifyCmd(bi BuildInfo) *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "verify IMAGE...",
		Short: "Decide whether images are trusted under the policy's trust rules",
		Long: `Verify resolves each registry reference to its manifest digest once, picks the
most specific trust rule for its repository (the repository, then its
namespaces up to the registry, then *.domain scopes, as containers-policy.json
matches them), finds the signatures stored for that
digest and checks each against the signers the rule accepts. It prints every
signature found, whether it counted, and why.

Formats: containers "simple signing" (GPG) signatures in a lookaside store, as
skopeo --sign-by, podman and hull sign write them; cosign signatures, classic
(the image's sha256-<hex>.sig tag, also containers' sigstore attachments) and
sigstore bundles (OCI referrers), signed with a key or keyless (a Fulcio
certificate for an OIDC identity, checked with its Rekor entry and SCT against
a trusted_root.json); and Notation JWS and COSE signatures (notary.x509)
against a trust store and identities, and with a tsaStore their RFC 3161
timestamp countersignatures (the chain is then judged at the stamped time).
Nothing is fetched from a transparency log, TUF repository, OCSP or CRL
server: verification is offline.

IMAGE is name:tag, name@digest, or name:tag@digest (the digest taken as given,
the tag judged with it: a simple signature must name that tag).

Accepted verdicts are cached (in memory and in the user cache directory) by
image repository, tag and digest and a hash of the trust rules with every path
resolved, every key they name and the registry options, for --cache-ttl; a
rejection is never cached.

Exit codes: 0 every image accepted; 1 at least one rejected; 2 could not decide
(registry or signature store unreachable, bad policy or reference).`,
		Example: `  hull verify --policy hull.yaml registry.example.com/team/app:1.4
  hull verify --policy hull.yaml --format json 127.0.0.1:5000/app:1 127.0.0.1:5000/db:2

  # hull.yaml
  apiVersion: hull.dev/v1
  trust:
    default: reject
    lookaside:
      - scope: registry.example.com
        path: /var/lib/containers/sigstore
    rules:
      - scope: registry.example.com/team
        signers:
          - name: release
            gpg:
              keyring: release.pub
              fingerprints: [0123456789ABCDEF0123456789ABCDEF01234567]`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runVerify(cmd, bi, &f, args) },
	}
	fl := cmd.Flags()
	f.image.register(fl, imageUse{policy: true})
	fl.StringVar(&f.policyFile, "policy", "", policyFlagHelp+"; its trust section decides")
	fl.StringVarP(&f.format, "format", "f", "table", "output `FORMAT`: "+strings.Join(report.Formats.Names(), ", "))
	choices(cmd, "format", report.Formats.Names()...)
	fl.StringVarP(&f.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	fl.BoolVar(&f.noCache, "no-cache", false, "decide afresh, neither reading nor writing the verdict cache")
	fl.DurationVar(&f.cacheTTL, "cache-ttl", 10*time.Minute, "how long an accepted verdict is reused, a `DURATION`")
	return cmd
}

func runVerify(cmd *cobra.Command, bi BuildInfo, f *verifyFlags, refs []string) error {
	enc, err := report.Formats.Lookup(f.format)
	if err != nil {
		return undecided(err)
	}
	p, polPath, err := loadPolicy(cmd, f.policyFile, true)
	if err != nil {
		return undecided(err)
	}
	f.image.usePolicy(p)
	opts, err := f.image.options()
	if err != nil {
		return undecided(err)
	}
	vo := verify.Options{Image: opts, Policy: p}
	if !f.noCache {
		vo.CacheTTL = f.cacheTTL
	}
	v, err := verify.Open(polPath, vo)
	if err != nil {
		return undecided(err)
	}
	rep := report.Report{Tool: "hull", Version: bi.Version, Command: "verify", Target: strings.Join(refs, ", ")}
	var why []string
	for _, ref := range refs {
		vd, err := v.Verify(cmd.Context(), ref)
		if err != nil {
			// In the report too, so that no format leaves the image out.
			why = append(why, fmt.Sprintf("verify %s: %v", ref, err))
			rep.Checks = append(rep.Checks, finding.CheckStatus{ID: "trust-policy", State: finding.StateError, Reason: fmt.Sprintf("%s: %v", ref, err)})
			continue
		}
		rep.Verdicts = append(rep.Verdicts, vd)
	}
	if err := writeReport(cmd, enc, rep, f.output); err != nil {
		return undecided(err)
	}
	return outcome(slices.ContainsFunc(rep.Verdicts, func(vd finding.Verdict) bool { return !vd.Accepted }), why)
}

// writeReport encodes rep to --output, or standard output, colouring
// only a terminal.
func writeReport(cmd *cobra.Command, enc report.Encoder, rep report.Report, output string) error {
	return withOutput(cmd, output, func(out io.Writer) error {
		tty := isTerminal(out)
		if err := enc(out, rep, report.Options{Color: tty && os.Getenv("NO_COLOR") == "", Terminal: tty}); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		return nil
	})
}

// withOutput calls write with the --output file (created 0600), or
// standard output when output is "".
func withOutput(cmd *cobra.Command, output string, write func(io.Writer) error) error {
	if output == "" {
		return write(cmd.OutOrStdout())
	}
	file, err := os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = write(file)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	return err
}
