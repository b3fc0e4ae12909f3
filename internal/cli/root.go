// Package cli holds hull's cobra commands. Each verb maps its flags to an
// options struct and calls one library function; no engine logic lives
// here. Errors carry their exit code (see ExitError) for cmd/hull.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// Exit codes, the CLI contract: the same whatever --format.
const (
	ExitPass      = 0 // nothing at or above the threshold
	ExitFail      = 1 // the policy said no
	ExitUndecided = 2 // error, bad input, unreachable: could not decide
)

// ExitError carries an exit code; Err may be nil when the output already
// said everything.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// outcome maps a run to the exit contract, the same for every verb and
// whatever the order of its checks: 2 when anything that applies could
// not be decided (why names it), since the answer is then incomplete even
// where something failed; else 1 when the policy said no; else 0. The
// report still lists every failure.
func outcome(failed bool, why []string) error {
	switch {
	case len(why) > 0 && failed:
		return undecided(fmt.Errorf("could not decide: %s (and the report lists failures)", strings.Join(why, "; ")))
	case len(why) > 0:
		return undecided(fmt.Errorf("could not decide: %s", strings.Join(why, "; ")))
	case failed:
		return &ExitError{Code: ExitFail}
	}
	return nil
}

// Code maps an error from Execute to the process exit code.
func Code(err error) int {
	if err == nil {
		return ExitPass
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitUndecided
}

// BuildInfo is stamped by the linker into cmd/hull.
type BuildInfo struct {
	Version string
	Commit  string
}

// NewRoot builds the hull command tree for the command line args (without
// the program name).
func NewRoot(bi BuildInfo, args []string) *cobra.Command {
	bi = bi.resolved()
	root := &cobra.Command{
		Use:   "hull",
		Short: "Container security from the host to the image to the running container",
		Long: `hull checks containers with one binary and one policy file:

  lint     an image's configuration and files, for security mistakes
  config   Compose files, Kubernetes manifests and OCI configs, before they run
  sbom     the software an image holds (table, CycloneDX, SPDX)
  scan     known vulnerabilities, secrets and malware in an image, offline
  db       the local vulnerability database scan reads
  sign     an image in a registry (simple signing, cosign, Notation)
  verify   whether images are trusted under the policy's trust rules
  key      signing keys for sign
  policy   the policy file: validate it, export its trust rules for podman,
           CRI-O and containerd to enforce, print its schema
  audit    the machine containers run on: host, engines, clients, containers
  tls      certificates for engines that take API clients over TCP
  gate     a fail-closed guard in front of the Docker API socket
  version  hull's version (also hull --version)

lint, config, scan, verify, gate and policy validate/export read the policy file
named by --policy (or the FILE argument), else by $HULL_POLICY, else
./hull.yaml when it exists (named on standard error).
Exit codes, whatever --format: 0 pass; 1 the policy said no (a finding at or
above --fail-on, a rejected image); 2 could not decide.

Images are named the same way by every command:
` + imageRefHelp,
		Example: `  # lint an image in a registry, fail on high or critical findings
  hull lint registry.example.com/team/app:1.4

  # lint a 'docker save' tarball and write SARIF for code scanning
  hull lint docker-archive:app.tar --format sarif --output hull.sarif

  # list every lint check with its ID
  hull lint --list

  # judge deployment files before they run: manifests, charts, Compose
  helm template web ./chart | hull config -

  # sign with a new key, then verify under the trust section of hull.yaml
  hull key generate --type cosign --out ci
  hull sign --key ci.key registry.example.com/team/app:1.4
  hull verify --policy hull.yaml registry.example.com/team/app:1.4

  # let podman enforce the same trust policy
  hull policy export --to containers --out /etc/hull/containers hull.yaml

  # shell completion (bash, zsh, fish, powershell)
  source <(hull completion bash)`,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		SilenceErrors:     true,
		Version:           bi.text(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd); err != nil {
			return err
		}
		return refuseNegative(cmd.Flags())
	}
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return fmt.Errorf("no help for %q: 'hull --help' lists the commands", strings.Join(args, " "))
			}
			return cmd.Help()
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, err := c.Root().Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []cobra.Completion
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name()+"\t"+sub.Short)
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
	})
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w ('%s --help' lists its flags)", err, cmd.CommandPath())
	})
	verbs := []struct {
		name string
		make func() *cobra.Command
	}{
		{"version", func() *cobra.Command { return newVersionCmd(bi) }},
		{"lint", func() *cobra.Command { return newLintCmd(bi) }},
		{"config", func() *cobra.Command { return newConfigCmd(bi) }},
		{"verify", func() *cobra.Command { return newVerifyCmd(bi) }},
		{"sign", newSignCmd},
		{"key", newKeyCmd},
		{"policy", newPolicyCmd},
		{"sbom", func() *cobra.Command { return newSBOMCmd(bi) }},
		{"scan", func() *cobra.Command { return newScanCmd(bi) }},
		{"db", newDBCmd},
		{"tls", newTLSCmd},
		{"gate", newGateCmd},
		{"audit", func() *cobra.Command { return newAuditCmd(bi) }},
		{"completion", newCompletionCmd},
	}
	// Building every verb's flags costs about a millisecond, a few per cent
	// of a cold 'hull verify'; when the first argument names a verb, that
	// verb alone is all cobra will look at.
	if len(args) > 0 {
		for _, v := range verbs {
			if v.name == args[0] {
				root.AddCommand(v.make())
				plainDefaults(root)
				usageErrors(root)
				return root
			}
		}
	}
	for _, v := range verbs {
		root.AddCommand(v.make())
	}
	plainDefaults(root)
	usageErrors(root)
	return root
}

// choices completes flag with exactly values in every shell.
func choices(cmd *cobra.Command, flag string, values ...string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
}

// usageErrors makes every way of calling a command wrongly an error that
// says what to do, exit 2: a command group given an unknown command
// ('hull policy valdate' would otherwise print help and exit 0, a silent
// pass in a script), and a verb given too many or too few arguments.
func usageErrors(c *cobra.Command) {
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.Args = cobra.ArbitraryArgs
		c.SuggestionsMinimumDistance = 2
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %s", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
			}
			return fmt.Errorf("%s: '%s --help' lists its commands", msg, cmd.CommandPath())
		}
	} else if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if check(cmd, args) == nil {
				return nil
			}
			// main prefixes "hull: "; name the verb once.
			verb := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
			return fmt.Errorf("%s: wrong number of arguments (%d); usage: %s", verb, len(args), cmd.UseLine())
		}
	}
	for _, sub := range c.Commands() {
		usageErrors(sub)
	}
}

// requireFlags names a required flag that is missing in plain words,
// before cobra's "required flag(s) ... not set".
func requireFlags(cmd *cobra.Command) error {
	var missing []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if v := f.Annotations[cobra.BashCompOneRequiredFlag]; len(v) > 0 && v[0] == "true" && !f.Changed {
			missing = append(missing, "--"+f.Name)
		}
	})
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%s needs %s; usage: %s", cmd.CommandPath(), strings.Join(missing, " and "), cmd.UseLine())
}

// plainDefaults shows the default of a flag in --help as the value one
// would type: a list as "vuln,secret,malware", not pflag's
// "[vuln,secret,malware]", and a duration as "1m" or "168h", not Go's
// "1m0s" or "168h0m0s".
func plainDefaults(c *cobra.Command) {
	c.LocalFlags().VisitAll(func(f *pflag.Flag) {
		switch t := f.Value.Type(); {
		case (strings.HasSuffix(t, "Slice") || strings.HasSuffix(t, "Array")) && f.DefValue != "[]":
			f.DefValue = strings.TrimSuffix(strings.TrimPrefix(f.DefValue, "["), "]")
		case t == "duration":
			if strings.HasSuffix(f.DefValue, "m0s") {
				f.DefValue = strings.TrimSuffix(f.DefValue, "0s")
			}
			if strings.HasSuffix(f.DefValue, "h0m") {
				f.DefValue = strings.TrimSuffix(f.DefValue, "0m")
			}
		}
	})
	for _, sub := range c.Commands() {
		plainDefaults(sub)
	}
}

// refuseNegative refuses a negative value for any number, size or
// duration flag: none of hull's has a meaning below zero.
func refuseNegative(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		switch f.Value.Type() {
		case "int", "int8", "int16", "int32", "int64", "float32", "float64", "duration":
			if err == nil && strings.HasPrefix(f.Value.String(), "-") {
				err = fmt.Errorf("--%s %s: must not be negative", f.Name, f.Value)
			}
		}
	})
	return err
}

// isTerminal reports whether w is a terminal, for colour and progress.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
