package cli

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hull-sec/hull/internal/export"
	"github.com/hull-sec/hull/internal/gate"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/report"
	"github.com/hull-sec/hull/internal/verify"
	"github.com/hull-sec/hull/internal/workload"

	"github.com/spf13/cobra"
)

func newPolicyCmd() *cobra.Command {
	p := &cobra.Command{Use: "policy", Short: "Validate hull's policy file, export it for other runtimes, print its schema"}
	validate := &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a policy file: syntax, values, the checks and keys it names",
		Long: `Validate reads the policy strictly (unknown fields and duplicate keys are
errors), checks every value, that every check lint.ignore names and every
rule the workload section names exists, that every operation the gate
section's roles name is one of hull gate's, and loads every keyring the
trust rules name, checking each listed fingerprint is in it. Without FILE it
reads $HULL_POLICY, else ./hull.yaml.

Exit codes: 0 valid; 1 invalid (the policy itself, or a check or key file it
names); 2 could not read the policy file.`,
		Example: `  hull policy validate hull.yaml`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pol, path, err := loadPolicy(cmd, firstArg(args), true)
			if errors.Is(err, policy.ErrInvalid) {
				return &ExitError{Code: ExitFail, Err: err}
			}
			if err != nil {
				return undecided(err)
			}
			if err := checkLintIgnores(pol, path); err != nil {
				return &ExitError{Code: ExitFail, Err: err}
			}
			if err := workload.CheckIDs(pol.WorkloadSection().RuleIDs()); err != nil {
				return &ExitError{Code: ExitFail, Err: fmt.Errorf("%s: workload: %w", path, err)}
			}
			if err := gate.CheckSection(pol.GateSection()); err != nil {
				return &ExitError{Code: ExitFail, Err: fmt.Errorf("%s: %w", path, err)}
			}
			if _, err := verify.Open(path, verify.Options{Policy: pol}); err != nil {
				return &ExitError{Code: ExitFail, Err: err}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%s, %s, %s, %s, %s, %s)\n", path,
				report.Count(len(pol.Lint.Ignore), "lint ignore"), report.Count(len(pol.Scan.Ignore), "scan ignore"),
				report.Count(len(pol.Workload.Ignore), "workload ignore"), report.Count(len(pol.Workload.Exceptions), "workload exception"),
				report.Count(len(pol.Trust.Rules), "trust rule"), report.Count(len(pol.Trust.Lookaside), "lookaside store"))
			return err
		},
	}
	var to, out string
	exp := &cobra.Command{
		Use:   "export [FILE]",
		Short: "Write the trust policy in a runtime's own format, for it to enforce",
		Long: `Export writes the trust section of FILE (default: $HULL_POLICY, else
./hull.yaml) for another runtime to enforce with no hull in the path.

--to containers writes, into --out:
  policy.json            containers-policy.json(5) for Podman, Buildah, skopeo
                         and CRI-O
  registries.d/hull.yaml where each scope's simple signatures are (lookaside)
  keys/rule-N-M.gpg      keyrings holding exactly the keys each rule accepts

Every rule it cannot express is printed as NOT ENFORCED, never dropped
silently; approximations are printed too. Install with, e.g.:
  cp OUT/policy.json /etc/containers/policy.json
  cp OUT/registries.d/hull.yaml /etc/containers/registries.d/`,
		Example: `  hull policy export --to containers --out /tmp/hull-containers hull.yaml
  podman pull --signature-policy /tmp/hull-containers/policy.json registry.example.com/team/app:1.4`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to != "containers" {
				return undecided(fmt.Errorf("--to %q: the only target today is containers", to))
			}
			pol, path, err := loadPolicy(cmd, firstArg(args), true)
			if err != nil {
				return undecided(err)
			}
			res, err := export.Containers(&pol.Trust, filepath.Dir(path), out)
			if err != nil {
				return undecided(err)
			}
			w := cmd.OutOrStdout()
			for _, f := range res.Files {
				fmt.Fprintln(w, "wrote", f)
			}
			for _, n := range res.Notes {
				fmt.Fprintln(w, "note:", n)
			}
			return nil
		},
	}
	exp.Flags().StringVar(&to, "to", "containers", "target `FORMAT`: containers")
	choices(exp, "to", "containers")
	exp.Flags().StringVar(&out, "out", "", "`DIR` to write into (required)")
	_ = exp.MarkFlagRequired("out")
	schema := &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the policy file, for editors and CI linters",
		Example: `  hull policy schema > hull-policy.schema.json
  # VS Code (YAML extension): # yaml-language-server: $schema=./hull-policy.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(policy.Schema)
			return err
		},
	}
	p.AddCommand(validate, exp, schema)
	return p
}

// firstArg is args[0], or "" without arguments.
func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}
