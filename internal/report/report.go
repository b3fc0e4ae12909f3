// Package report encodes the findings of any hull engine.
//
// An engine fills a Report; the CLI picks an Encoder by name and writes it.
// Every encoder is deterministic (findings are sorted first), so its output
// can be compared with golden files.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
)

// Report is what an engine hands to an encoder.
type Report struct {
	Tool     string                `json:"tool"`
	Version  string                `json:"version"`
	Command  string                `json:"command"`
	Target   string                `json:"target"`
	ImageID  string                `json:"imageID,omitempty"`
	Rules    []finding.Rule        `json:"-"`
	Checks   []finding.CheckStatus `json:"checks"`
	Findings []finding.Finding     `json:"findings"`
	// Verdicts are trust decisions, one per image (hull verify).
	Verdicts []finding.Verdict `json:"verdicts,omitempty"`
}

// Options tune encoders that have a choice to make.
type Options struct {
	// Color enables ANSI colour in the table encoder.
	Color bool
}

// Encoder writes a report in one format.
type Encoder func(w io.Writer, r Report, o Options) error

// Formats lists the encoders by name.
var Formats = map[string]Encoder{
	"table": EncodeTable,
	"json":  EncodeJSON,
	"sarif": EncodeSARIF,
}

// FormatNames returns the encoder names, sorted.
func FormatNames() []string {
	names := make([]string, 0, len(Formats))
	for n := range Formats {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Lookup returns the encoder for a format name.
func Lookup(name string) (Encoder, error) {
	e, ok := Formats[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("unknown format %q (want one of %s)", name, strings.Join(FormatNames(), ", "))
	}
	return e, nil
}

// sorted returns a copy of r with findings and checks in a stable order.
func sorted(r Report) Report {
	r.Findings = slices.Clone(r.Findings)
	finding.Sort(r.Findings)
	r.Checks = slices.Clone(r.Checks)
	slices.SortFunc(r.Checks, func(a, b finding.CheckStatus) int { return strings.Compare(a.ID, b.ID) })
	if r.Findings == nil {
		r.Findings = []finding.Finding{}
	}
	if r.Checks == nil {
		r.Checks = []finding.CheckStatus{}
	}
	r.Verdicts = slices.Clone(r.Verdicts)
	slices.SortStableFunc(r.Verdicts, func(a, b finding.Verdict) int { return strings.Compare(a.Target, b.Target) })
	return r
}
