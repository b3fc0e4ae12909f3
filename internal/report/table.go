package report

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/hull-sec/hull/internal/finding"
)

var severityColor = map[finding.Severity]string{
	finding.SeverityCritical: "\x1b[1;31m",
	finding.SeverityHigh:     "\x1b[31m",
	finding.SeverityMedium:   "\x1b[33m",
	finding.SeverityLow:      "\x1b[36m",
	finding.SeverityInfo:     "\x1b[2m",
}

// EncodeTable writes a human-readable table, coloured when o.Color is set.
func EncodeTable(w io.Writer, r Report, o Options) error {
	r = sorted(r)
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "%s %s: %s\n", r.Tool, r.Command, r.Target)
	if r.ImageID != "" {
		fmt.Fprintf(ew, "image ID: %s\n", r.ImageID)
	}
	fmt.Fprintln(ew)
	if len(r.Findings) > 0 {
		// Lay the table out plain, then colour the severity cells: escape
		// codes of different lengths inside the cells would make tabwriter
		// misalign the columns.
		// A column of "-" says nothing: host audits have no locations.
		located := slices.ContainsFunc(r.Findings, func(f finding.Finding) bool { return location(f.Location) != "-" })
		var table strings.Builder
		tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
		if located {
			fmt.Fprintln(tw, "SEVERITY\tID\tLOCATION\tTITLE")
		} else {
			fmt.Fprintln(tw, "SEVERITY\tID\tTITLE")
		}
		// A warning's finding does not fail the run (hull audit): say so
		// beside its severity, or it reads like a failure.
		warned := map[string]bool{}
		for _, c := range r.Checks {
			warned[c.ID] = c.State == finding.StateWarn
		}
		sevCell := func(f finding.Finding) string {
			if warned[f.ID] {
				return strings.ToUpper(f.Severity.String()) + " (warn)"
			}
			return strings.ToUpper(f.Severity.String())
		}
		for _, f := range r.Findings {
			title := cell(f.Title)
			if f.Evidence != "" {
				title += ": " + cell(fit(f.Evidence, maxEvidence, o.Terminal))
			}
			if !located {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", sevCell(f), cell(f.ID), title)
				continue
			}
			loc := location(f.Location)
			if o.Terminal {
				loc = shorten(loc, maxLocation)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", sevCell(f), cell(f.ID), cell(loc), title)
		}
		tw.Flush()
		rows := strings.SplitAfter(table.String(), "\n")
		for i, f := range r.Findings {
			sev := strings.ToUpper(f.Severity.String())
			if c, ok := severityColor[f.Severity]; ok && o.Color {
				rows[i+1] = c + sev + "\x1b[0m" + strings.TrimPrefix(rows[i+1], sev)
			}
		}
		fmt.Fprint(ew, strings.Join(rows, ""))
		writeFixes(ew, r.Findings)
		fmt.Fprintln(ew)
	}
	if len(r.Verdicts) > 0 || r.Command == "verify" {
		writeVerdicts(ew, r.Verdicts, r.Checks, o)
		if len(r.Findings) == 0 {
			return ew.err
		}
	}
	if r.Packages != nil {
		writePackages(ew, r, o)
		if len(r.Findings) == 0 && len(r.Checks) == 0 {
			return ew.err
		}
	}
	counts := map[finding.Severity]int{}
	for _, f := range r.Findings {
		counts[f.Severity]++
	}
	var parts []string
	for s := finding.SeverityCritical; s >= finding.SeverityUnknown; s-- {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", s, counts[s]))
		}
	}
	summary := Count(len(r.Findings), "finding")
	if len(parts) > 0 {
		summary += " (" + strings.Join(parts, ", ") + ")"
	}
	states := map[finding.State]int{}
	for _, c := range r.Checks {
		states[c.State]++
	}
	warned := ""
	if n := states[finding.StateWarn]; n > 0 {
		warned = fmt.Sprintf(", %d warned", n)
	}
	fmt.Fprintf(ew, "%s; %s: %d passed%s, %d failed, %s, %d skipped\n", summary,
		Count(len(r.Checks), "check"), states[finding.StatePass], warned, states[finding.StateFail], Count(states[finding.StateError], "error"), states[finding.StateSkip])
	if sev, err := finding.ParseSeverity(r.FailOn); r.FailOn != "" && err == nil {
		n := 0
		for _, f := range r.Findings {
			if f.Severity >= sev {
				n++
			}
		}
		fmt.Fprintf(ew, "fail-on %s: %s at or above it\n", sev, Count(n, "finding"))
	}
	// One line per reason: with no engine, dozens of checks share one.
	for _, g := range byReason(r.Checks, finding.StateSkip) {
		fmt.Fprintf(ew, "skipped %s: %s\n", strings.Join(g.ids, ", "), cell(g.reason))
	}
	// A warning is a partial pass (scan's files over an explicit
	// --max-file-size): what was left out must show.
	for _, g := range byReason(r.Checks, finding.StateWarn) {
		if g.reason != "" {
			fmt.Fprintf(ew, "warned %s: %s\n", strings.Join(g.ids, ", "), cell(g.reason))
		}
	}
	for _, s := range r.Suppressed {
		fmt.Fprintf(ew, "suppressed %s\n", cell(s))
	}
	for _, g := range byReason(r.Checks, finding.StateError) {
		word := "check"
		if len(g.ids) > 1 {
			word = "checks"
		}
		fmt.Fprintf(ew, "%s %s could not run: %s\n", word, strings.Join(g.ids, ", "), cell(g.reason))
	}
	return ew.err
}

// reasonGroup is the checks in one state that share a reason.
type reasonGroup struct {
	reason string
	ids    []string
}

// byReason groups the checks in state by their reason, in check order.
func byReason(checks []finding.CheckStatus, state finding.State) []reasonGroup {
	var out []reasonGroup
	at := map[string]int{}
	for _, c := range checks {
		if c.State != state || (c.Reason == "" && state == finding.StateSkip) {
			continue
		}
		i, seen := at[c.Reason]
		if !seen {
			i = len(out)
			at[c.Reason] = i
			out = append(out, reasonGroup{reason: c.Reason})
		}
		out[i].ids = append(out[i].ids, cell(c.ID))
	}
	return out
}

// writeFixes says how to fix what the table shows, once per check and
// remediation: a finding is not explained until its fix is in sight.
func writeFixes(w io.Writer, fs []finding.Finding) {
	seen := map[string]bool{}
	first := true
	for _, f := range fs {
		key := f.ID + "\x00" + f.Remediation
		if f.Remediation == "" || seen[key] {
			continue
		}
		seen[key] = true
		if first {
			fmt.Fprintln(w, "\nHow to fix:")
			first = false
		}
		fmt.Fprintf(w, "  %s: %s\n", cell(f.ID), cell(strings.Join(strings.Fields(f.Remediation), " ")))
	}
}

// writePackages lists the inventory: one row per package, then counts.
func writePackages(w io.Writer, r Report, o Options) {
	if r.OS != nil {
		fmt.Fprintf(w, "OS: %s\n\n", cell(cmp.Or(r.OS.PrettyName, r.OS.ID+" "+r.OS.VersionID)))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tTYPE\tLOCATION")
	types := map[string]int{}
	for _, p := range r.Packages {
		types[p.Type]++
		loc := ""
		if len(p.Locations) > 0 {
			loc = location(p.Locations[0])
		}
		if o.Terminal {
			loc = shorten(loc, maxLocation)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cell(p.Name), cell(p.Version), cell(p.Type), cell(loc))
	}
	tw.Flush()
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(types)) {
		parts = append(parts, fmt.Sprintf("%s: %d", t, types[t]))
	}
	fmt.Fprintf(w, "\n%s", Count(len(r.Packages), "package"))
	if len(parts) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	if len(r.Notes) > 0 {
		fmt.Fprintln(w, "\nIncomplete: these package sources could not be read:")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  %s\n", cell(n))
		}
	}
}

// writeVerdicts prints one block per image: the verdict, the rule and
// why, then each signature found and what became of it; then the images
// that could not be judged (the checks in error), with the reason.
func writeVerdicts(w io.Writer, vs []finding.Verdict, checks []finding.CheckStatus, o Options) {
	accepted := 0
	for _, v := range vs {
		word, colour := "REJECTED", severityColor[finding.SeverityHigh]
		if v.Accepted {
			word, colour = "ACCEPTED", "\x1b[32m"
			accepted++
		}
		if o.Color {
			word = colour + word + "\x1b[0m"
		}
		if v.Cached {
			fmt.Fprintf(w, "%s  %s  (cached: decided by an earlier run; --no-cache decides afresh)\n", word, cell(v.Target))
		} else {
			fmt.Fprintf(w, "%s  %s\n", word, cell(v.Target))
		}
		if v.Reference != "" {
			fmt.Fprintf(w, "  image:  %s@%s\n", cell(strings.SplitN(v.Reference, "@", 2)[0]), cell(v.Digest))
		}
		fmt.Fprintf(w, "  rule:   %s\n  reason: %s\n", cell(v.Rule), cell(v.Reason))
		for _, s := range v.Signatures {
			state := "invalid"
			if s.Valid {
				state = "valid"
			}
			fmt.Fprintf(w, "  - %s %s: %s\n    %s\n", cell(s.Format), state, cell(s.Reason), cell(s.Location))
		}
		if len(v.Signatures) == 0 && v.Rule != "default" {
			fmt.Fprintf(w, "  (no signatures found)\n")
		}
		fmt.Fprintln(w)
	}
	undecided := 0
	for _, c := range checks {
		if c.State != finding.StateError {
			continue
		}
		undecided++
		word := "UNDECIDED"
		if o.Color {
			word = severityColor[finding.SeverityMedium] + word + "\x1b[0m"
		}
		fmt.Fprintf(w, "%s  %s\n\n", word, cell(c.Reason))
	}
	fmt.Fprintf(w, "%s: %d accepted, %d rejected", Count(len(vs)+undecided, "image"), accepted, len(vs)-accepted)
	if undecided > 0 {
		fmt.Fprintf(w, ", %d could not be decided", undecided)
	}
	fmt.Fprintln(w)
}

func location(l finding.Location) string {
	switch {
	case l.Path != "" && l.Layer != "":
		return fmt.Sprintf("%s (layer %d)", l.Path, l.LayerIndex)
	case l.Path != "":
		return l.Path
	case l.File != "":
		return fileLocation(l)
	case l.Field != "":
		return l.Field
	}
	return "-"
}

// fileLocation places a finding in a deployment file as editors and
// compilers do, "deploy.yaml:14 spec.template.spec.hostNetwork"; without a
// line, the document ("deploy.yaml#2") tells apart the manifests of one
// stream.
func fileLocation(l finding.Location) string {
	s := l.File
	switch {
	case l.Line > 0:
		s += fmt.Sprintf(":%d", l.Line)
	case l.Document > 0:
		s += fmt.Sprintf("#%d", l.Document)
	}
	if l.Field != "" {
		s += " " + l.Field
	}
	return s
}

// maxLocation and maxEvidence bound the location column and the evidence
// on a terminal, so one deep path does not push every title off the
// screen; in a file or pipe, and in the JSON and SARIF output, nothing is
// cut.
const (
	maxLocation = 64
	maxEvidence = 100
)

// shorten keeps the end of s, where a path's file name is, in n runes.
func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return "…" + string(r[len(r)-n+1:])
	}
	return s
}

// fit flattens s to a single line, of at most n runes when short is set.
func fit(s string, n int, short bool) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); short && len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// cell makes untrusted text safe for one table cell on a terminal: if s holds
// a control character (a tab or newline would break the table, an escape
// sequence would reach the terminal) or is not UTF-8, it is written as a Go-quoted string
// without its quotes.
func cell(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsGraphic(r) }) {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// errWriter remembers the first write error so encoders can check once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
