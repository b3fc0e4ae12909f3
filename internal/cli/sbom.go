package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/report"
	"github.com/hull-sec/hull/internal/scan"

	"github.com/spf13/cobra"
)

type sbomFlags struct {
	image   imageFlags
	format  string
	output  string
	noCache bool
}

func newSBOMCmd(bi BuildInfo) *cobra.Command {
	var f sbomFlags
	cmd := &cobra.Command{
		Use:   "sbom IMAGE",
		Short: "List the software in an image, as a table or a CycloneDX or SPDX SBOM",
		Long: `Sbom reads every layer of an image once, from the outside (nothing runs), and
lists the packages its merged filesystem holds: Debian packages (dpkg status and
distroless status.d), Alpine packages (apk), RPM packages (rpm database), Go
binaries (the modules of their build info and the Go version, as "stdlib"), Rust
binaries (cargo-auditable), Java archives, npm packages (package.json files and
package-lock.json without dev dependencies), Python distributions (dist-info,
egg-info), Ruby gems and PHP Composer packages. Each has a package URL, the OSV
ecosystem hull scan matches it in (none for a distribution OSV has no records
of, such as CentOS or Fedora), and the layer and file it was found in. The OS
comes from os-release. A name hull had to guess is marked so: a Java archive
without pom.properties is named from its manifest, and its groupId is listed
as inferred (json "inferred", CycloneDX property hull:package:inferred, SPDX
sourceInfo).

Formats: table (default), json (hull's own), cyclonedx (CycloneDX 1.6 JSON),
spdx (SPDX 2.3 JSON). Each layer's results are cached by its digest (in the
user cache directory), so a layer shared by many images is read once. Files
that look like package metadata but cannot be read are listed in the SBOM,
which then says it is incomplete (CycloneDX composition "incomplete" and
hull:not-read properties, SPDX creation comment, json "notes"), and on
standard error; so is an image whose os-release names a distribution without
its package database (deleted, or a format hull does not read).

Exit codes: 0 listed; 2 could not read the image, or the SBOM is incomplete
(it is still written).

IMAGE is one of:
` + imageRefHelp,
		Example: `  hull sbom alpine:3.20
  hull sbom docker-archive:app.tar --format cyclonedx --output app.cdx.json
  hull sbom podman:localhost/app:dev --format spdx
  hull sbom dir:/srv/rootfs --format json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runSBOM(cmd, bi, &f, args[0]) },
	}
	fl := cmd.Flags()
	f.image.register(fl, imageUse{opens: true})
	fl.StringVarP(&f.format, "format", "f", "table", "output `FORMAT`: "+strings.Join(report.SBOMFormats.Names(), ", "))
	fl.StringVarP(&f.output, "output", "o", "", "write the SBOM to `FILE` instead of standard output")
	fl.BoolVar(&f.noCache, "no-cache", false, "read every layer, ignoring and not filling the layer cache")
	choices(cmd, "format", report.SBOMFormats.Names()...)
	return cmd
}

func runSBOM(cmd *cobra.Command, bi BuildInfo, f *sbomFlags, ref string) error {
	enc, err := report.SBOMFormats.Lookup(f.format)
	if err != nil {
		return undecided(err)
	}
	ctx := cmd.Context()
	im, err := f.image.open(ctx, ref)
	if err != nil {
		return undecided(err)
	}
	defer im.Close()
	onLayer, done := layerProgress(cmd.ErrOrStderr(), ref)
	an, err := scan.Analyze(ctx, im, scan.AnalyzeOptions{OnLayer: onLayer, CacheDir: layerCacheDir(f.noCache)})
	done()
	if err != nil {
		return undecided(fmt.Errorf("sbom %s: %w", ref, err))
	}
	res := an.Inventory
	for _, n := range res.Notes {
		fmt.Fprintln(cmd.ErrOrStderr(), "hull: not read:", n)
	}
	rep := report.Report{Tool: "hull", Version: bi.Version, Command: "sbom", Target: im.Ref.String(),
		OS: res.OS, Packages: res.Packages, Notes: res.Notes, Created: time.Now()}
	if rep.Packages == nil {
		rep.Packages = []finding.Package{}
	}
	if im.ID.Hex != "" {
		rep.ImageID = im.ID.String()
	}
	if err := writeReport(cmd, enc, rep, f.output); err != nil {
		return undecided(err)
	}
	if len(res.Notes) > 0 {
		// The document is written, and says it is incomplete; a pipeline
		// must not take it for the whole inventory.
		return undecided(fmt.Errorf("the inventory is incomplete: it could not read %s (listed in the SBOM)", report.Count(len(res.Notes), "package source")))
	}
	return nil
}
