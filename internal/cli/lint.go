package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/lint"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/report"

	"github.com/spf13/cobra"
)

type lintFlags struct {
	image      imageFlags
	format     string
	output     string
	failOn     string
	ignore     []string
	policyFile string
	list       bool
}

func newLintCmd(bi BuildInfo) *cobra.Command {
	var f lintFlags
	cmd := &cobra.Command{
		Use:   "lint IMAGE",
		Short: "Check an image's configuration and files for security mistakes",
		Long: `Lint checks an image's configuration and files, reading every layer once:
running as root, setuid/setgid files, file capabilities, world-writable paths,
secrets in ENV, labels and history, private keys and credential files, remote
ADD and curl | sh in history, latest tag, missing HEALTHCHECK, package caches,
sudo, SSH port, sensitive VOLUMEs, and more. 'hull lint --list' lists every
check with its ID; suppress one with --ignore ID or in a policy file.

Exit codes: 0 no finding at or above --fail-on; 1 at least one; 2 could not
decide (bad reference, unreadable image, a check that failed to run).

IMAGE is one of:
` + imageRefHelp,
		Example: `  hull lint alpine:3.20
  hull lint docker-archive:app.tar --fail-on medium
  hull lint oci:./layout:1.0 --format json --output lint.json
  hull lint podman:localhost/app:dev --ignore no-healthcheck,latest-tag
  hull lint dir:/srv/rootfs --format sarif
  hull lint 127.0.0.1:5000/app:1 --policy hull.yaml`,
		Args: func(cmd *cobra.Command, args []string) error {
			if f.list {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.list {
				var rules []finding.Rule
				for _, c := range lint.All() {
					rules = append(rules, c.Rule)
				}
				return listRules(cmd, rules, f.format, f.output)
			}
			return runLint(cmd, bi, &f, args[0])
		},
	}
	fl := cmd.Flags()
	f.image.register(fl, imageUse{policy: true, opens: true})
	fl.StringVarP(&f.format, "format", "f", "table", "output `FORMAT`: "+strings.Join(report.Formats.Names(), ", "))
	fl.StringVarP(&f.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	registerFailOn(cmd, &f.failOn)
	fl.StringSliceVar(&f.ignore, "ignore", nil, "skip the checks with these `IDS` (repeat or comma-separate)")
	fl.StringVar(&f.policyFile, "policy", "", policyFlagHelp)
	fl.BoolVar(&f.list, "list", false, "list every check with its ID, severity and what it looks for")
	choices(cmd, "format", report.Formats.Names()...)
	_ = cmd.RegisterFlagCompletionFunc("ignore", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var ids []string
		for _, c := range lint.All() {
			ids = append(ids, c.ID+"\t"+c.Title)
		}
		return ids, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// listRules writes the checks of a verb (hull lint --list, hull config
// --list) to --output or standard output: a table with each check's
// description and fix, or with --format json the list of rules as reports
// carry them.
func listRules(cmd *cobra.Command, rules []finding.Rule, format, output string) error {
	var write func(io.Writer) error
	switch format {
	case "table":
		write = func(w io.Writer) error { return checkTable(w, rules) }
	case "json":
		write = func(w io.Writer) error {
			e := json.NewEncoder(w)
			e.SetIndent("", "  ")
			e.SetEscapeHTML(false)
			return e.Encode(rules)
		}
	default:
		return undecided(fmt.Errorf("--list writes a table or json, not %s", format))
	}
	if err := withOutput(cmd, output, write); err != nil {
		return undecided(err)
	}
	return nil
}

// ignoreReasons maps each ID that --ignore (flagged) or the policy file
// at polPath ignores to who ignored it, and the policy's reason, which a
// skipped check or a suppressed finding repeats. The policy's entry wins.
func ignoreReasons(flagged []string, pol []policy.Ignore, polPath string) map[string]string {
	why := map[string]string{}
	for _, id := range flagged {
		why[id] = "--ignore"
	}
	for _, ig := range pol {
		why[ig.ID] = polPath + ": " + ig.Reason
	}
	return why
}

func checkTable(w io.Writer, rules []finding.Rule) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tTITLE")
	for _, c := range rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.ID, c.Severity, c.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, c := range rules {
		if _, err := fmt.Fprintf(w, "%s\n  %s\n  Fix: %s\n", c.ID, c.Doc, c.Remediation); err != nil {
			return err
		}
	}
	return nil
}

func undecided(err error) error { return &ExitError{Code: ExitUndecided, Err: err} }

func runLint(cmd *cobra.Command, bi BuildInfo, f *lintFlags, ref string) error {
	enc, err := report.Formats.Lookup(f.format)
	if err != nil {
		return undecided(err)
	}
	pol, polPath, err := loadPolicy(cmd, f.policyFile, false)
	if err != nil {
		return undecided(err)
	}
	if err := checkLintIgnores(pol, polPath); err != nil {
		return undecided(err)
	}
	f.image.usePolicy(pol)
	var polIgnore []policy.Ignore
	failOn := ""
	if pol != nil {
		polIgnore, failOn = pol.Lint.Ignore, pol.Lint.FailOn
	}
	ignore := ignoreReasons(f.ignore, polIgnore, polPath)
	threshold, err := failThreshold(f.failOn, failOn)
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
	res, err := lint.Run(ctx, im, lint.Options{Ignore: ignore, OnLayer: onLayer})
	done()
	if err != nil {
		return undecided(fmt.Errorf("lint %s: %w", ref, err))
	}
	rep := report.Report{FailOn: threshold.String(),
		Tool: "hull", Version: bi.Version, Command: "lint", Target: im.Ref.String(),
		Rules: res.Rules, Checks: res.Checks, Findings: res.Findings,
	}
	if im.ID.Hex != "" {
		rep.ImageID = im.ID.String()
	}
	if err := writeReport(cmd, enc, rep, f.output); err != nil {
		return undecided(err)
	}
	var why []string
	for _, c := range res.Checks {
		if c.State == finding.StateError {
			why = append(why, "check "+c.ID+" could not run; see the report")
		}
	}
	return outcome(finding.AtOrAbove(res.Findings, threshold), why)
}
