package cli

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/inventory"
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
	image  imageFlags
	format string
	output string
	failOn string
	ignore []string
	vex    string
	dbPath string
	maxAge time.Duration
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

Suppress findings with --ignore ID (any of a finding's IDs or aliases) or with
a VEX document (--vex: OpenVEX or CycloneDX VEX; not_affected and fixed
statements for the package's PURL suppress).

Exit codes: 0 no finding at or above --fail-on (none by default); 1 at least
one; 2 could not decide (no database, unreadable image).

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
	f.image.register(fl)
	fl.StringVarP(&f.format, "format", "f", "table", "output `FORMAT`: "+strings.Join(scanFormats.Names(), ", "))
	fl.StringVarP(&f.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	fl.StringVar(&f.failOn, "fail-on", "", "exit 1 when a finding has at least this `SEVERITY`: unknown, info, low, medium, high, critical")
	fl.StringSliceVar(&f.ignore, "ignore", nil, "do not report these vulnerability `IDS` (or aliases)")
	fl.StringVar(&f.vex, "vex", "", "suppress what the VEX `FILE` (OpenVEX or CycloneDX) says does not affect a package")
	fl.StringVar(&f.dbPath, "db", defaultDBPath(), "vulnerability database `FILE` (hull db update)")
	fl.DurationVar(&f.maxAge, "db-max-age", 7*24*time.Hour, "warn when the database is older than this `DURATION`")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(scanFormats.Names(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runScan(cmd *cobra.Command, bi BuildInfo, f *scanFlags, ref string) error {
	enc, err := scanFormats.Lookup(f.format)
	if err != nil {
		return undecided(err)
	}
	threshold := finding.Severity(-1) // no threshold: never fail
	if f.failOn != "" {
		if threshold, err = finding.ParseSeverity(f.failOn); err != nil {
			return undecided(fmt.Errorf("--fail-on: %w", err))
		}
	}
	var vo scan.VulnOptions
	vo.Ignore = f.ignore
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
	db, err := vulndb.Open(f.dbPath)
	if err != nil {
		return undecided(err)
	}
	defer db.Close()
	if age := time.Since(db.Meta.Updated); age > f.maxAge {
		fmt.Fprintf(cmd.ErrOrStderr(), "hull: the vulnerability database is %s old; run hull db update\n", age.Round(time.Hour))
	}
	opts, err := f.image.options()
	if err != nil {
		return undecided(err)
	}
	ctx := cmd.Context()
	im, err := image.Open(ctx, ref, opts)
	if err != nil {
		return undecided(err)
	}
	defer im.Close()
	onLayer, done := layerProgress(cmd.ErrOrStderr(), ref)
	inv, err := inventory.Catalog(ctx, im, inventory.Options{OnLayer: onLayer})
	done()
	if err != nil {
		return undecided(fmt.Errorf("scan %s: %w", ref, err))
	}
	target := im.Ref.String()
	findings, notes, err := scan.Vulnerabilities(db, target, inv.Packages, vo)
	if err != nil {
		return undecided(fmt.Errorf("scan %s: %w", ref, err))
	}
	for _, n := range append(slices.Clone(inv.Notes), notes...) {
		fmt.Fprintln(cmd.ErrOrStderr(), "hull: not evaluated:", n)
	}
	state := finding.StatePass
	if len(findings) > 0 {
		state = finding.StateFail
	}
	rep := report.Report{Tool: "hull", Version: bi.Version, Command: "scan", Target: target, Created: time.Now(),
		Findings: findings, OS: inv.OS,
		Checks: []finding.CheckStatus{{ID: "vulnerabilities", State: state,
			Reason: fmt.Sprintf("%d packages against the OSV database of %s", len(inv.Packages), db.Meta.Updated.Format(time.RFC3339))}}}
	if f.format == "cyclonedx" {
		rep.Packages = inv.Packages
	}
	if im.ID.Hex != "" {
		rep.ImageID = im.ID.String()
	}
	if err := writeReport(cmd, enc, rep, f.output); err != nil {
		return undecided(err)
	}
	if threshold >= 0 && finding.AtOrAbove(findings, threshold) {
		return &ExitError{Code: ExitFail}
	}
	return nil
}
