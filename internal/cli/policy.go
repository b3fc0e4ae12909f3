package cli

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/verify"

	"github.com/spf13/cobra"
)

func newPolicyCmd() *cobra.Command {
	p := &cobra.Command{Use: "policy", Short: "Check hull's policy file"}
	validate := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a policy file: syntax, values, and the keys it names",
		Long: `Validate reads the policy strictly (unknown fields and duplicate keys are
errors), checks every value, and loads every keyring the trust rules name,
checking each listed fingerprint is in it.

Exit codes: 0 valid; 1 invalid; 2 unreadable.`,
		Example: `  hull policy validate hull.yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pol, err := policy.LoadFile(args[0])
			if errors.Is(err, policy.ErrInvalid) {
				return &ExitError{Code: ExitFail, Err: err}
			}
			if err != nil {
				return undecided(err)
			}
			if _, err := verify.New(&pol.Trust, filepath.Dir(args[0]), image.Options{}); err != nil {
				return &ExitError{Code: ExitFail, Err: fmt.Errorf("%s: %w", args[0], err)}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%d lint ignores, %d trust rules, %d lookaside stores)\n",
				args[0], len(pol.Lint.Ignore), len(pol.Trust.Rules), len(pol.Trust.Lookaside))
			return err
		},
	}
	p.AddCommand(validate)
	return p
}
