package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func newVersionCmd(bi BuildInfo) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print hull's version, commit and Go version (as hull --version does)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), bi.text())
			return err
		},
	}
}

// resolved fills what the linker did not stamp (-X main.version=...)
// from the build information Go records in the binary: 'go install' and
// 'go build' in a git checkout record the module's version (a tag, or a
// pseudo-version such as v0.0.0-20261207203452-c2ee605a1b2c) and the
// commit. Every verb, report and --version use the result.
func (bi BuildInfo) resolved() BuildInfo {
	info, _ := debug.ReadBuildInfo()
	return bi.from(info)
}

func (bi BuildInfo) from(info *debug.BuildInfo) BuildInfo {
	stamped := bi.Version != "" && bi.Version != "dev"
	var rev string
	modified := false
	if info != nil {
		if mv := info.Main.Version; !stamped && mv != "" && mv != "(devel)" {
			bi.Version, stamped = mv, true
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if bi.Commit == "" {
		bi.Commit = rev
	}
	if !stamped {
		bi.Version = "dev"
		if rev != "" {
			bi.Version += "-" + rev[:min(12, len(rev))]
			if modified {
				bi.Version += "-dirty"
			}
		}
	}
	return bi
}

// text is what hull version and hull --version print.
func (bi BuildInfo) text() string {
	commit := bi.Commit
	if commit == "" {
		commit = "unknown"
	}
	return strings.Join([]string{
		"hull " + bi.Version,
		"commit: " + commit,
		"go: " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
	}, "\n")
}
