package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/lint"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/report"
	"github.com/hull-sec/hull/internal/verify"
	"github.com/hull-sec/hull/internal/workload"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
)

type configFlags struct {
	image      imageFlags
	format     string
	output     string
	failOn     string
	policyFile string
	images     bool
	list       bool
}

func newConfigCmd(bi BuildInfo) *cobra.Command {
	var f configFlags
	cmd := &cobra.Command{
		Use:   "config PATH...",
		Short: "Check Compose files, Kubernetes manifests and OCI configs before they run",
		Long: `Config judges the containers that deployment files describe, with the rules
'hull audit containers' applies to running ones (privileged, capabilities, host
namespaces, sensitive mounts, seccomp, AppArmor, no-new-privileges, read-only
root, limits, ports, ...) and what manifests add (runAsNonRoot,
allowPrivilegeEscalation, service account tokens, host ports, images not
pinned by digest). A rule about a running process does not fire on a file.
'hull config --list' lists every rule with its ID.

PATH is a file, a directory (every *.yaml, *.yml and *.json under it,
recursively; files of no known format there are listed as skipped), or - for
standard input. The format is recognised per file:
  Compose file          a services key (docker compose's defaults, extends
                        and profiles resolved as 'docker compose config' does)
  Kubernetes manifests  documents with apiVersion and kind: Pod, Deployment,
                        StatefulSet, DaemonSet, Job, CronJob, ReplicaSet, List
                        kinds; one or many documents (helm template,
                        kustomize build)
  OCI runtime config    an ociVersion (config.json, as runc and crun run it: a
                        setting left out is the runtime's least confined
                        behaviour, e.g. no seccomp section is no filter)
A file named on the command line of none of these formats is an error.

Each finding points at the file, the document and the field path, with the
line where the file gives it (file:line in the table, a region in SARIF for
code scanning).

The policy's workload section ignores rules and excepts workloads by name or
file, each with a reason; --fail-on (else workload.failOn) sets the threshold.
With --images, every image the files name is also verified against the
policy's trust section (as hull verify) and linted (as hull lint, with the
lint section's ignores and failOn).

Exit codes: 0 no finding at or above --fail-on (warnings never fail); 1 at
least one, or an image rejected or failing lint; 2 could not decide: a file
that could not be read or parsed, of no known format, a bad policy, an
image that could not be verified or linted.`,
		Example: `  # a directory of manifests, and a Compose file
  hull config k8s/ compose.yaml

  # what a chart or an overlay renders, from standard input
  helm template web ./chart | hull config -
  kustomize build overlays/prod | hull config -

  # what docker compose resolves (profiles, extends, .env)
  docker compose --profile prod config | hull config -

  # the config.json a runtime will run
  hull config bundle/config.json

  # code scanning: SARIF with file and line
  hull config --format sarif --output hull.sarif deploy/

  # also verify and lint every image the manifests name
  hull config --images --policy hull.yaml k8s/

  # hull.yaml
  apiVersion: hull.dev/v1
  workload:
    failOn: medium
    ignore:
      - id: container-healthcheck
        reason: probes are added by the chart
    exceptions:
      - rule: container-privileged
        workloads: ["DaemonSet kube-system/node-agent*"]
        reason: the agent loads eBPF programs`,
		Args: func(cmd *cobra.Command, args []string) error {
			if f.list {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.MinimumNArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.list {
				var rules []finding.Rule
				for _, r := range workload.Rules() {
					rules = append(rules, r.Rule)
				}
				return listRules(cmd, rules, f.format, f.output)
			}
			return runConfig(cmd, bi, &f, args)
		},
	}
	fl := cmd.Flags()
	f.image.register(fl, imageUse{policy: true, opens: true})
	fl.StringVarP(&f.format, "format", "f", "table", "output `FORMAT`: "+strings.Join(report.Formats.Names(), ", "))
	choices(cmd, "format", report.Formats.Names()...)
	fl.StringVarP(&f.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	registerFailOn(cmd, &f.failOn)
	fl.StringVar(&f.policyFile, "policy", "", policyFlagHelp+"; its workload section ignores and excepts, with --images its trust and lint sections apply")
	fl.BoolVar(&f.images, "images", false, "also verify (trust section) and lint every image the files name; needs a policy")
	fl.BoolVar(&f.list, "list", false, "list every rule with its ID, severity and what it looks for")
	return cmd
}

// imageVerifier is what hull config needs of a verifier.
type imageVerifier interface {
	Verify(ctx context.Context, ref string) (finding.Verdict, error)
}

func runConfig(cmd *cobra.Command, bi BuildInfo, f *configFlags, paths []string) error {
	enc, err := report.Formats.Lookup(f.format)
	if err != nil {
		return undecided(err)
	}
	pol, polPath, err := loadPolicy(cmd, f.policyFile, f.images)
	if err != nil {
		return undecided(err)
	}
	wr, err := loadWorkloadRules(pol, polPath, f.failOn)
	if err != nil {
		return undecided(err)
	}
	threshold := wr.failOn
	ctx := cmd.Context()
	// compose-go warns (an unset variable, an obsolete key) through
	// logrus's global logger: say it as hull says warnings.
	logrus.SetOutput(cmd.ErrOrStderr())
	logrus.SetFormatter(warningFormatter{})
	files := workload.ReadFiles(ctx, paths, workload.ReadOptions{Stdin: cmd.InOrStdin()})
	j, err := workload.Judge(files.Workloads, workload.JudgeOptions{
		Stage: workload.StageFile, Ignore: wr.ignore, Except: wr.section,
	})
	if err != nil {
		return undecided(fmt.Errorf("%s: workload.ignore: %w", polPath, err))
	}
	rep := report.Report{Tool: "hull", Version: bi.Version, Command: "config", Target: strings.Join(paths, ", "),
		FailOn: threshold.String(), Rules: j.Rules, Checks: j.Checks, Findings: j.Findings, Suppressed: j.Excepted}
	rep.Suppressed = append(rep.Suppressed, files.Skipped...)
	for _, w := range files.Workloads {
		rep.Suppressed = append(rep.Suppressed, w.Notes...)
	}
	failed := j.Failed(threshold)
	var why []string
	for _, e := range files.Errs {
		why = append(why, e.Error())
		rep.Checks = append(rep.Checks, finding.CheckStatus{ID: "read-files", State: finding.StateError, Reason: e.Error()})
	}
	for _, c := range j.Checks {
		if c.State == finding.StateError {
			why = append(why, "rule "+c.ID+" could not run; see the report")
		}
	}
	if f.images {
		imgFailed, imgWhy, err := checkImages(cmd, f, pol, polPath, files.Images(), &rep)
		if err != nil {
			return undecided(err)
		}
		failed = failed || imgFailed
		why = append(why, imgWhy...)
	}
	if err := writeReport(cmd, enc, rep, f.output); err != nil {
		return undecided(err)
	}
	return outcome(failed, why)
}

// checkImages verifies and lints each image, as hull verify and hull
// lint do, adding to rep; it reports whether one was rejected or failed
// lint, and what could not be decided.
func checkImages(cmd *cobra.Command, f *configFlags, pol *policy.Policy, polPath string, refs []string, rep *report.Report) (bool, []string, error) {
	if err := checkLintIgnores(pol, polPath); err != nil {
		return false, nil, err
	}
	lintThreshold, err := failThreshold(f.failOn, pol.Lint.FailOn)
	if err != nil {
		return false, nil, err
	}
	f.image.usePolicy(pol)
	opts, err := f.image.options()
	if err != nil {
		return false, nil, err
	}
	v, err := verify.Open(polPath, verify.Options{Image: opts, Policy: pol, CacheTTL: 10 * time.Minute})
	if err != nil {
		return false, nil, err
	}
	ignore := ignoreReasons(nil, pol.Lint.Ignore, polPath)
	ctx := cmd.Context()
	failed, why := false, []string(nil)
	for _, ref := range refs {
		vd, err := verifyImage(ctx, v, ref)
		if err != nil {
			why = append(why, err.Error())
			rep.Checks = append(rep.Checks, finding.CheckStatus{ID: "trust-policy", State: finding.StateError, Reason: err.Error()})
		} else {
			rep.Verdicts = append(rep.Verdicts, vd)
			failed = failed || !vd.Accepted
		}
		res, err := lintImage(ctx, f, ref, ignore)
		if err != nil {
			why = append(why, err.Error())
			rep.Checks = append(rep.Checks, finding.CheckStatus{ID: "lint", State: finding.StateError, Reason: err.Error()})
			continue
		}
		rep.Rules = append(rep.Rules, res.Rules...)
		rep.Findings = append(rep.Findings, res.Findings...)
		for _, c := range res.Checks {
			if c.State == finding.StateError {
				c.Reason = ref + ": " + c.Reason
				why = append(why, "lint check "+c.ID+" could not run on "+ref+"; see the report")
			}
			rep.Checks = append(rep.Checks, c)
		}
		failed = failed || finding.AtOrAbove(res.Findings, lintThreshold)
	}
	return failed, why, nil
}

func verifyImage(ctx context.Context, v imageVerifier, ref string) (finding.Verdict, error) {
	vd, err := v.Verify(ctx, ref)
	if err != nil {
		return vd, fmt.Errorf("verify %s: %w", ref, err)
	}
	return vd, nil
}

func lintImage(ctx context.Context, f *configFlags, ref string, ignore map[string]string) (*lint.Result, error) {
	im, err := f.image.open(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("lint %s: %w", ref, err)
	}
	defer im.Close()
	res, err := lint.Run(ctx, im, lint.Options{Ignore: ignore})
	if err != nil {
		return nil, fmt.Errorf("lint %s: %w", ref, err)
	}
	return res, nil
}

// warningFormatter writes a library's log entry as one plain line.
type warningFormatter struct{}

func (warningFormatter) Format(e *logrus.Entry) ([]byte, error) {
	return []byte("hull config: " + e.Level.String() + ": " + e.Message + "\n"), nil
}
