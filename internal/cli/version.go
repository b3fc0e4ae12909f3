package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCmd(bi BuildInfo) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print hull's version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, commit := bi.Version, bi.Commit
			if info, ok := debug.ReadBuildInfo(); ok {
				if v == "" || v == "dev" {
					if mv := info.Main.Version; mv != "" && mv != "(devel)" {
						v = mv
					}
				}
				for _, s := range info.Settings {
					if s.Key == "vcs.revision" && commit == "" {
						commit = s.Value
					}
				}
			}
			if v == "" {
				v = "dev"
			}
			if commit == "" {
				commit = "unknown"
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "hull %s\ncommit: %s\ngo: %s %s/%s\n", v, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
