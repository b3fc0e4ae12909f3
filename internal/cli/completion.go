package cli

import (
	"io"

	"github.com/spf13/cobra"
)

// newCompletionCmd replaces cobra's default completion command, whose
// scripts go to the standard output it saw when it was built; these write
// to the command's output at run time, and a shell hull does not know is
// an error like any unknown command (usageErrors).
func newCompletionCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "completion",
		Short: "Print the shell completion script for bash, zsh, fish or powershell",
		Long: `Completion prints a script that makes the shell complete hull's commands,
flags, check IDs and formats. Load it in the running shell or from the
shell's start-up file.`,
		Example: `  source <(hull completion bash)
  hull completion zsh > "${fpath[1]}/_hull"
  hull completion fish > ~/.config/fish/completions/hull.fish
  hull completion powershell | Out-String | Invoke-Expression`,
	}
	for _, sh := range []struct {
		name string
		gen  func(root *cobra.Command, w io.Writer) error
	}{
		{"bash", func(r *cobra.Command, w io.Writer) error { return r.GenBashCompletionV2(w, true) }},
		{"zsh", func(r *cobra.Command, w io.Writer) error { return r.GenZshCompletion(w) }},
		{"fish", func(r *cobra.Command, w io.Writer) error { return r.GenFishCompletion(w, true) }},
		{"powershell", func(r *cobra.Command, w io.Writer) error { return r.GenPowerShellCompletionWithDesc(w) }},
	} {
		c.AddCommand(&cobra.Command{
			Use:   sh.name,
			Short: "Print the completion script for " + sh.name,
			Args:  cobra.NoArgs,
			RunE:  func(cmd *cobra.Command, _ []string) error { return sh.gen(cmd.Root(), cmd.OutOrStdout()) },
		})
	}
	return c
}
