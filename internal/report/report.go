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
	"time"

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
	// FailOn is the least severity that fails the run (lint, scan), so
	// that the report says why it passed or failed.
	FailOn string `json:"failOn,omitempty"`
	// Suppressed names what an ignore list or a VEX document took out of
	// Findings, and why, so that no finding disappears unexplained.
	Suppressed []string `json:"suppressed,omitempty"`
	// Verdicts are trust decisions, one per image (hull verify).
	Verdicts []finding.Verdict `json:"verdicts,omitempty"`
	// OS and Packages are the image's software (hull sbom, hull scan).
	OS       *finding.OS       `json:"os,omitempty"`
	Packages []finding.Package `json:"packages,omitempty"`
	// Notes say what the inventory could not read: Packages is then
	// incomplete, and every SBOM format says so.
	Notes []string `json:"notes,omitempty"`
	// Created is when the report was made; SBOM formats record it.
	Created time.Time `json:"-"`
}

// Options tune encoders that have a choice to make.
type Options struct {
	// Color enables ANSI colour in the table encoder.
	Color bool
	// Terminal says the output is a terminal: the table encoder then
	// shortens long cells to fit; in a file or pipe nothing is cut.
	Terminal bool
}

// Encoder writes a report in one format.
type Encoder func(w io.Writer, r Report, o Options) error

// Registry names the encoders a command offers.
type Registry map[string]Encoder

// Formats are the encoders of findings and verdicts (lint, verify, scan).
var Formats = Registry{
	"table": EncodeTable,
	"json":  EncodeJSON,
	"sarif": EncodeSARIF,
}

// SBOMFormats are the encoders of a software inventory (hull sbom).
var SBOMFormats = Registry{
	"table":     EncodeTable,
	"json":      EncodeJSON,
	"cyclonedx": EncodeCycloneDX,
	"spdx":      EncodeSPDX,
}

// Names returns the encoder names, sorted.
func (r Registry) Names() []string {
	names := make([]string, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Lookup returns the encoder for a format name.
func (r Registry) Lookup(name string) (Encoder, error) {
	e, ok := r[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("unknown format %q (want one of %s)", name, strings.Join(r.Names(), ", "))
	}
	return e, nil
}

// sorted returns a copy of r with findings and checks in a stable order,
// its reasons and evidence worded plainly (Plain).
func sorted(r Report) Report {
	r = plain(r)
	finding.Sort(r.Findings)
	slices.SortFunc(r.Checks, func(a, b finding.CheckStatus) int { return strings.Compare(a.ID, b.ID) })
	if r.Findings == nil {
		r.Findings = []finding.Finding{}
	}
	if r.Checks == nil {
		r.Checks = []finding.CheckStatus{}
	}
	slices.SortStableFunc(r.Verdicts, func(a, b finding.Verdict) int { return strings.Compare(a.Target, b.Target) })
	return r
}
