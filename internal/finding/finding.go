// Package finding owns the one result type every hull engine produces.
//
// Engines (lint, scan, verify, audit) emit []Finding plus a CheckStatus per
// check they ran; the report package encodes them; cmd/hull maps them to an
// exit code. Nothing here does I/O.
package finding

import (
	"fmt"
	"slices"
	"strings"
)

// Severity orders findings. The zero value is SeverityUnknown.
type Severity int

// Severities from least to most severe.
const (
	SeverityUnknown Severity = iota
	SeverityInfo
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = []string{"unknown", "info", "low", "medium", "high", "critical"}

// String returns the lower-case name of s.
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// SeverityNames lists the severities ParseSeverity takes, lowest first.
func SeverityNames() []string { return slices.Clone(severityNames) }

// ParseSeverity reads a severity name, case-insensitively.
func ParseSeverity(name string) (Severity, error) {
	i := slices.Index(severityNames, strings.ToLower(strings.TrimSpace(name)))
	if i < 0 {
		return SeverityUnknown, fmt.Errorf("unknown severity %q (want one of %s)", name, strings.Join(severityNames, ", "))
	}
	return Severity(i), nil
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Location says where in the target a finding was seen.
type Location struct {
	// Layer is the diff ID (digest of the uncompressed layer) that last
	// wrote Path; empty for findings about the image configuration.
	Layer string `json:"layer,omitempty"`
	// LayerIndex is the 0-based position of Layer in the image; -1 if none.
	LayerIndex int `json:"layerIndex"`
	// Path is an absolute path inside the image filesystem, or empty.
	Path string `json:"path,omitempty"`
	// Field names a configuration field such as "Config.Env" or "history[3]",
	// or a field path in File ("spec.template.spec.hostNetwork").
	Field string `json:"field,omitempty"`
	// File is the deployment file a finding about a workload was read
	// from ("-" for standard input), empty for images and engines.
	File string `json:"file,omitempty"`
	// Document is the 1-based YAML document of File that holds Field, 0
	// for single-document files.
	Document int `json:"document,omitempty"`
	// Line is the line of Field in File, 0 when unknown.
	Line int `json:"line,omitempty"`
}

// Finding is one thing an engine wants a person to look at.
type Finding struct {
	// ID is the stable check identifier, e.g. "HULL-L-ROOT-USER".
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Severity    Severity `json:"severity"`
	Target      string   `json:"target"`
	Location    Location `json:"location"`
	Evidence    string   `json:"evidence,omitempty"`
	Remediation string   `json:"remediation,omitempty"`
	References  []string `json:"references,omitempty"`
	// Vulnerability is set on findings of known vulnerabilities.
	Vulnerability *Vulnerability `json:"vulnerability,omitempty"`
}

// Vulnerability details a finding about a known vulnerability in a
// package (hull scan): which package, which fix, which other names.
type Vulnerability struct {
	Package   string   `json:"package"`
	Version   string   `json:"version"`
	Type      string   `json:"type"`
	PURL      string   `json:"purl"`
	Ecosystem string   `json:"ecosystem"`
	Fixed     string   `json:"fixed,omitempty"`
	Aliases   []string `json:"aliases,omitempty"`
	// MatchedAs is the package name the records matched, when the
	// package's own name is a guess (Package.Inferred): a Java archive
	// matched under another groupId than hull's guess.
	MatchedAs string `json:"matchedAs,omitempty"`
	// Score and Vector are the CVSS v3 base score and vector, if known.
	Score  float64 `json:"score,omitempty"`
	Vector string  `json:"vector,omitempty"`
}

// State is the outcome of one check.
type State string

// Check states. Error means the check could not decide.
const (
	StatePass  State = "pass"
	StateWarn  State = "warn"
	StateFail  State = "fail"
	StateError State = "error"
	StateSkip  State = "skipped"
)

// CheckStatus records what happened to one check, so a partial failure is
// visible instead of looking like a pass.
type CheckStatus struct {
	ID     string `json:"id"`
	State  State  `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// Sort orders findings by descending severity, then ID, path and evidence,
// so that output is deterministic.
func Sort(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if a.Severity != b.Severity {
			return int(b.Severity - a.Severity)
		}
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		if c := strings.Compare(a.Location.Path, b.Location.Path); c != 0 {
			return c
		}
		if c := strings.Compare(a.Location.Field, b.Location.Field); c != 0 {
			return c
		}
		return strings.Compare(a.Evidence, b.Evidence)
	})
}

// AtOrAbove reports whether any finding has severity >= min.
func AtOrAbove(fs []Finding, min Severity) bool {
	for _, f := range fs {
		if f.Severity >= min {
			return true
		}
	}
	return false
}

// Rule describes a check: what it looks for and how to fix what it finds.
type Rule struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Severity    Severity `json:"severity"`
	Doc         string   `json:"doc"`
	Remediation string   `json:"remediation,omitempty"`
	References  []string `json:"references,omitempty"`
}
