package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/audit"
	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/lint"
	"github.com/hull-sec/hull/internal/workload"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// walk calls fn for every command of the tree.
func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

// Help texts read as a user's words: no flag shows a Go type name as its
// value ("--name string", "--ecosystems strings", "--timeout duration")
// or a stray backquote, a verb that reads no policy file does not point
// at one, and long descriptions fit 80 columns.
func TestHelpTextsArePlain(t *testing.T) {
	goTypes := map[string]bool{"string": true, "strings": true, "int": true, "int64": true, "uint": true, "duration": true, "float": true, "stringArray": true, "stringToString": true}
	root := NewRoot(BuildInfo{Version: "test"}, nil)
	walk(root, func(c *cobra.Command) {
		readsPolicy := c.Flags().Lookup("policy") != nil
		c.Flags().VisitAll(func(f *pflag.Flag) {
			name, usage := pflag.UnquoteUsage(f)
			if goTypes[name] {
				t.Errorf("%s --%s: value shown as the Go type %q", c.CommandPath(), f.Name, name)
			}
			if f.Value.Type() == "duration" {
				d, err := time.ParseDuration(f.DefValue)
				if strings.Contains(f.DefValue, "m0s") || strings.Contains(f.DefValue, "h0m") || err != nil || d.String() != f.Value.String() {
					t.Errorf("%s --%s: default shown as %q, for %s", c.CommandPath(), f.Name, f.DefValue, f.Value)
				}
			}
			if strings.Contains(usage, "`") {
				t.Errorf("%s --%s: stray backquote in %q", c.CommandPath(), f.Name, usage)
			}
			if !readsPolicy && strings.Contains(usage, "policy's") {
				t.Errorf("%s --%s: %q names a policy setting, but %s reads no policy file", c.CommandPath(), f.Name, usage, c.CommandPath())
			}
		})
		for _, line := range strings.Split(c.Long, "\n") {
			if len(line) > 80 && !strings.Contains(imageRefHelp, line) && c.Parent().Name() != "completion" {
				t.Errorf("%s: help line of %d columns: %q", c.CommandPath(), len(line), line)
			}
		}
	})
}

// Examples can be run in order as written: no two 'hull key generate'
// lines of one example (a command's help, the README) write the same
// files, which the second refuses.
func TestExamplesDoNotOverwriteKeys(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{"README.md": string(readme)}
	walk(NewRoot(BuildInfo{Version: "test"}, nil), func(c *cobra.Command) { texts[c.CommandPath()] = c.Example })
	out := regexp.MustCompile(`hull key generate .*--out (\S+)`)
	for where, text := range texts {
		seen := map[string]bool{}
		for _, m := range out.FindAllStringSubmatch(text, -1) {
			if seen[m[1]] {
				t.Errorf("%s: two key generate examples write --out %s", where, m[1])
			}
			seen[m[1]] = true
		}
	}
}

// Every flag that takes one of a fixed set of values completes them in
// the shell, on every verb that has it, and offers only values the flag
// takes.
func TestChoiceFlagsComplete(t *testing.T) {
	enum := map[string]bool{"format": true, "fail-on": true, "to": true, "type": true, "signature-format": true, "scanners": true}
	walk(NewRoot(BuildInfo{Version: "test"}, nil), func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if !enum[f.Name] {
				return
			}
			fn, ok := c.GetFlagCompletionFunc(f.Name)
			if !ok {
				t.Errorf("%s --%s: no shell completion", c.CommandPath(), f.Name)
				return
			}
			values, _ := fn(c, nil, "")
			if len(values) == 0 {
				t.Errorf("%s --%s: completes nothing", c.CommandPath(), f.Name)
			}
			for _, v := range values {
				if !strings.Contains(f.Usage, v) {
					t.Errorf("%s --%s: completes %q, which its help does not name", c.CommandPath(), f.Name, v)
				}
			}
		})
	})
}

// sign and verify only resolve a reference to its digest (an index's,
// for a multi-platform image): a platform or a layer size limit would be
// flags that change nothing.
func TestNoFlagThatChangesNothing(t *testing.T) {
	for _, verb := range []string{"sign", "verify"} {
		c, _, err := NewRoot(BuildInfo{Version: "test"}, nil).Find([]string{verb})
		if err != nil {
			t.Fatal(err)
		}
		for _, flag := range []string{"max-layer-bytes", "platform"} {
			if c.Flags().Lookup(flag) != nil {
				t.Errorf("hull %s offers --%s", verb, flag)
			}
		}
	}
}

// What hull tells a user to run exists: no check's description or fix
// names a planned verb this hull lacks yet ("hull profile") or the API
// gate still to come.
func TestAdviceNamesOnlyWhatExists(t *testing.T) {
	root := NewRoot(BuildInfo{Version: "test"}, nil)
	verbs := map[string]bool{}
	for _, c := range root.Commands() {
		verbs[c.Name()] = true
	}
	var rules []finding.Rule
	for _, c := range lint.All() {
		rules = append(rules, c.Rule)
	}
	for _, r := range workload.Rules() {
		rules = append(rules, r.Rule)
	}
	d := &audit.Discovery{}
	for _, cs := range [][]audit.Check{audit.HostChecks(), audit.EngineChecks(d), audit.ClientChecks(audit.ClientOptions{}), audit.ContainerChecks(d)} {
		for _, c := range cs {
			rules = append(rules, c.Rule)
		}
	}
	// The verbs the design plans (design.md) that may be named too early.
	verb := regexp.MustCompile(`\bhull (profile|gate|run|check|admission)\b`)
	for _, r := range rules {
		for _, text := range []string{r.Doc, r.Remediation} {
			if strings.Contains(text, "API gate") {
				t.Errorf("%s: %q names the API gate, which hull does not have yet", r.ID, text)
			}
			for _, m := range verb.FindAllStringSubmatch(text, -1) {
				if !verbs[m[1]] {
					t.Errorf("%s: %q names hull %s, which is no command", r.ID, text, m[1])
				}
			}
		}
	}
}
