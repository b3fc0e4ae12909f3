package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hull-sec/hull/internal/clamd"
	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/report"
	"github.com/hull-sec/hull/internal/scan"
	"github.com/hull-sec/hull/internal/vulndb"

	"github.com/spf13/cobra"
)

// scanFormats are the findings formats and CycloneDX, which carries the
// vulnerabilities with the components they affect.
var scanFormats = report.Registry{
	"table":     report.EncodeTable,
	"json":      report.EncodeJSON,
	"sarif":     report.EncodeSARIF,
	"cyclonedx": report.EncodeCycloneDX,
}

type scanFlags struct {
	image       imageFlags
	format      string
	output      string
	failOn      string
	policyFile  string
	ignore      []string
	vex         string
	dbPath      string
	maxAge      time.Duration
	scanners    []string
	clamd       string
	maxFileSize int64
	parallel    int
	noCache     bool
}

// defaultClamdSockets are where Debian's and Fedora's clamd listen.
var defaultClamdSockets = []string{"/run/clamav/clamd.ctl", "/run/clamd.scan/clamd.sock", "/var/run/clamav/clamd.ctl"}

// layerCacheDir is where per-layer results are kept, or "" without a cache.
func layerCacheDir(off bool) string {
	if off {
		return ""
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "hull", "scan")
}

func newScanCmd(bi BuildInfo) *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan IMAGE",
		Short: "Find known vulnerabilities in an image's packages, offline",
		Long: `Scan lists the image's packages as 'hull sbom' does (one pass over the layers,
nothing run) and matches them against the OSV records of the local database
('hull db update' first). Each ecosystem's own version rules decide (Debian and
Alpine packages by their source package, as their records name them); records
that are aliases of each other (a GHSA, a PYSEC and their CVE) are one finding,
named by the CVE; the severity is the CVSS v3 base score computed from the
record's vector, else the database's own rating; the fixed version is shown.

Secrets (--scanners secret): AWS keys, private keys, GitHub, GitLab, Slack,
Stripe, npm, PyPI and Google tokens, JWTs and high-entropy values assigned to
secret names, in text files of any size outside documentation and test
directories; values are redacted in every output.

Malware (--scanners malware): every regular file of every layer, up to
--max-file-size, is streamed once to ClamAV's clamd (INSTREAM, several files in
flight); hull never runs anything. Without a reachable clamd the check is
skipped and the report says why; naming --clamd makes it required. A file clamd
did not scan in full (over its StreamMaxLength, or MaxFileSize and MaxScanSize
when clamd has AlertExceedsMax yes; without it clamd answers OK unscanned) or
over the default --max-file-size makes the check an error; over an explicit
--max-file-size, a partial pass listing the files.

Each layer's results are cached by its digest (in the user cache directory,
keyed by the scanners, limits and clamd's version), so rescans and images that
share base layers read only what is new. Vulnerabilities are always matched
afresh against the database.

Suppress findings with --ignore ID (any of a finding's IDs or aliases) or with
a VEX document (--vex: OpenVEX or CycloneDX VEX; not_affected and fixed
statements for the package's PURL suppress).

Packages are matched in the OSV ecosystem of their distribution or language
(Red Hat, SUSE, AlmaLinux, Rocky Linux... as osv.dev files them). A
distribution OSV has no records of (CentOS, Fedora, Amazon Linux), or an
ecosystem the database holds no records of, cannot be matched: the check is
an error naming it, never a pass.

The policy file (--policy, $HULL_POLICY or ./hull.yaml) may set failOn and
ignore vulnerabilities (scan.ignore, each with a reason).

Exit codes: 0 no finding at or above --fail-on (default high); 1 at least
one; 2 could not decide (no database, unreadable image, packages that cannot
be matched, versions that cannot be compared, package files that cannot be
read, files clamd did not scan in full).

IMAGE is one of:
` + imageRefHelp,
		Example: `  hull db update && hull scan debian:12
  hull scan docker-archive:app.tar --fail-on high
  hull scan oci:./layout:1.0 --format sarif --output scan.sarif
  hull scan podman:localhost/app:dev --vex app.openvex.json --ignore CVE-2023-1234
  hull scan registry.example.com/app:1 --format cyclonedx -o app.vdr.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runScan(cmd, bi, &f, args[0]) },
	}
	fl := cmd.Flags()
	f.image.register(fl, imageUse{policy: true, opens: true})
	fl.StringVarP(&f.format, "format", "f", "table", "output `FORMAT`: "+strings.Join(scanFormats.Names(), ", "))
	fl.StringVarP(&f.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	registerFailOn(cmd, &f.failOn)
	fl.StringVar(&f.policyFile, "policy", "", policyFlagHelp)
	fl.StringSliceVar(&f.ignore, "ignore", nil, "do not report these vulnerability `IDS` (or aliases)")
	fl.StringVar(&f.vex, "vex", "", "suppress what the VEX `FILE` (OpenVEX or CycloneDX) says does not affect a package")
	fl.StringVar(&f.dbPath, "db", defaultDBPath(), "vulnerability database `FILE` (hull db update)")
	fl.DurationVar(&f.maxAge, "db-max-age", 7*24*time.Hour, "warn when the database is older than this `DURATION`")
	fl.StringSliceVar(&f.scanners, "scanners", []string{"vuln", "secret", "malware"}, "what to look for: `vuln,secret,malware`")
	fl.StringVar(&f.clamd, "clamd", "", "clamd `SOCKET` path or tcp://127.0.0.1:PORT (default: the distribution's socket if it exists; without clamd the malware check is skipped, with a reason)")
	fl.Int64Var(&f.maxFileSize, "max-file-size", scan.DefaultMaxMalwareBytes, "send files up to `N` bytes to clamd; larger ones are listed as not scanned")
	fl.IntVar(&f.parallel, "parallel", 0, "read at most `N` layers at once (default: the number of CPUs)")
	fl.BoolVar(&f.noCache, "no-cache", false, "read every layer, ignoring and not filling the layer cache")
	choices(cmd, "format", scanFormats.Names()...)
	choices(cmd, "scanners", "vuln", "secret", "malware")
	return cmd
}

func runScan(cmd *cobra.Command, bi BuildInfo, f *scanFlags, ref string) error {
	enc, err := scanFormats.Lookup(f.format)
	if err != nil {
		return undecided(err)
	}
	pol, polPath, err := loadPolicy(cmd, f.policyFile, false)
	if err != nil {
		return undecided(err)
	}
	f.image.usePolicy(pol)
	threshold, err := failThreshold(f.failOn, pol.ScanSection().FailOn)
	if err != nil {
		return undecided(err)
	}
	want := map[string]bool{}
	for _, sc := range f.scanners {
		switch sc {
		case "vuln", "secret", "malware":
			want[sc] = true
		default:
			return undecided(fmt.Errorf("--scanners: unknown scanner %q (want vuln, secret, malware)", sc))
		}
	}
	// A flag of a scanner not asked for would change nothing: refuse it.
	for _, fs := range []struct{ flag, scanner string }{
		{"vex", "vuln"}, {"ignore", "vuln"}, {"db", "vuln"}, {"db-max-age", "vuln"},
		{"clamd", "malware"}, {"max-file-size", "malware"},
	} {
		if cmd.Flags().Changed(fs.flag) && !want[fs.scanner] {
			return undecided(fmt.Errorf("--%s is for the %s scanner, which --scanners leaves out", fs.flag, fs.scanner))
		}
	}
	vo := scan.VulnOptions{Ignore: ignoreReasons(f.ignore, pol.ScanSection().Ignore, polPath)}
	if f.vex != "" {
		file, err := os.Open(f.vex)
		if err != nil {
			return undecided(err)
		}
		vo.VEX, err = scan.ParseVEX(file)
		file.Close()
		if err != nil {
			return undecided(fmt.Errorf("%s: %w", f.vex, err))
		}
	}
	ctx := cmd.Context()
	var db *vulndb.DB
	if want["vuln"] {
		if db, err = vulndb.Open(f.dbPath); err != nil {
			return undecided(err)
		}
		defer db.Close()
		if age := time.Since(db.Meta.Updated); age > f.maxAge {
			fmt.Fprintf(cmd.ErrOrStderr(), "hull: the vulnerability database is %s old; run hull db update\n", age.Round(time.Hour))
		}
	}
	ao := scan.AnalyzeOptions{Secrets: want["secret"], MaxMalwareBytes: f.maxFileSize, Parallel: f.parallel, CacheDir: layerCacheDir(f.noCache)}
	var checks []finding.CheckStatus
	if want["malware"] {
		c, why, err := connectClamd(ctx, f.clamd, f.maxFileSize)
		if err != nil {
			return undecided(err)
		}
		if c == nil {
			checks = append(checks, finding.CheckStatus{ID: "malware", State: finding.StateSkip, Reason: why})
		}
		ao.Malware = c
	}
	im, err := f.image.open(ctx, ref)
	if err != nil {
		return undecided(err)
	}
	defer im.Close()
	onLayer, done := layerProgress(cmd.ErrOrStderr(), ref)
	ao.OnLayer = onLayer
	an, err := scan.Analyze(ctx, im, ao)
	done()
	if err != nil {
		return undecided(fmt.Errorf("scan %s: %w", ref, err))
	}
	inv := an.Inventory
	target := im.Ref.String()
	var findings []finding.Finding
	var suppressed []string
	if db != nil {
		vo.OS = inv.OS
		vr, err := scan.Vulnerabilities(db, target, inv.Packages, vo)
		if err != nil {
			return undecided(fmt.Errorf("scan %s: %w", ref, err))
		}
		findings = append(findings, vr.Findings...)
		suppressed = vr.Suppressed
		checks = append(checks, scan.VulnCheck(inv, vr, "the OSV database of "+db.Meta.Updated.Format(time.RFC3339)))
		// The report names the first few; standard error lists them all.
		for _, n := range slices.Concat(vr.Unmatched, inv.Notes, vr.Undecided, vr.Notes) {
			fmt.Fprintln(cmd.ErrOrStderr(), "hull: vulnerabilities:", n)
		}
	}
	if want["secret"] {
		findings = append(findings, an.Secrets...)
		checks = append(checks, scan.SecretsCheck(an))
	}
	if ao.Malware != nil {
		findings = append(findings, an.Malware...)
		checks = append(checks, scan.MalwareCheck(an, f.maxFileSize, cmd.Flags().Changed("max-file-size")))
		for _, u := range an.Unscanned {
			fmt.Fprintf(cmd.ErrOrStderr(), "hull: malware: not scanned in full: %s: %s\n", u.Path, u.Reason)
		}
	}
	finding.Sort(findings)
	// In the report's order, so that the reasons below read the same.
	slices.SortFunc(checks, func(a, b finding.CheckStatus) int { return strings.Compare(a.ID, b.ID) })
	rep := report.Report{Tool: "hull", Version: bi.Version, Command: "scan", Target: target, Created: time.Now(), FailOn: threshold.String(),
		Findings: findings, Suppressed: suppressed, OS: inv.OS, Notes: inv.Notes, Checks: checks}
	if f.format == "cyclonedx" {
		rep.Packages = inv.Packages
	}
	if im.ID.Hex != "" {
		rep.ImageID = im.ID.String()
	}
	if err := writeReport(cmd, enc, rep, f.output); err != nil {
		return undecided(err)
	}
	var why []string
	for _, c := range checks {
		if c.State == finding.StateError {
			why = append(why, c.ID+": "+c.Reason)
		}
	}
	return outcome(finding.AtOrAbove(findings, threshold), why)
}

// connectClamd reaches clamd at target, or at a distribution's default
// socket when target is empty. A named target must answer; without one,
// no clamd is a reason to skip, returned as why.
func connectClamd(ctx context.Context, target string, maxBytes int64) (c *clamd.Client, why string, err error) {
	opts := clamd.Options{MaxBytes: maxBytes}
	if target != "" {
		c, err := clamd.Dial(ctx, target, opts)
		if err != nil {
			return nil, "", fmt.Errorf("--clamd: %w", err)
		}
		return c, "", nil
	}
	for _, s := range defaultClamdSockets {
		if _, err := os.Stat(s); err != nil {
			continue
		}
		if c, err := clamd.Dial(ctx, s, opts); err == nil {
			return c, "", nil
		}
	}
	return nil, "no clamd found (looked for " + strings.Join(defaultClamdSockets, ", ") + "); name one with --clamd", nil
}
