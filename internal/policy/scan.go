package policy

import (
	"fmt"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
)

// Scan says how hull scan judges what it finds.
type Scan struct {
	// FailOn is the least severity that fails the run ("" = the CLI default).
	FailOn string `yaml:"failOn"`
	// Ignore suppresses vulnerabilities by ID or alias, each with the
	// reason why.
	Ignore []Ignore `yaml:"ignore"`
}

// ScanSection returns the scan section; the zero one for no policy.
func (p *Policy) ScanSection() Scan {
	if p == nil {
		return Scan{}
	}
	return p.Scan
}

// ScanIgnoredIDs returns the vulnerability IDs the policy suppresses.
func (p *Policy) ScanIgnoredIDs() []string { return ids(p.ScanSection().Ignore) }

// validateSection checks a failOn and an ignore list of the section
// named section.
func validateSection(section, failOn string, ignore []Ignore) []string {
	var errs []string
	if failOn != "" {
		if _, err := finding.ParseSeverity(failOn); err != nil {
			errs = append(errs, section+".failOn: "+err.Error())
		}
	}
	seen := map[string]bool{}
	for i, ig := range ignore {
		switch {
		case ig.ID == "":
			errs = append(errs, fmt.Sprintf("%s.ignore[%d]: id is empty", section, i))
		case seen[ig.ID]:
			errs = append(errs, fmt.Sprintf("%s.ignore[%d]: %s is listed twice", section, i, ig.ID))
		case strings.TrimSpace(ig.Reason) == "":
			errs = append(errs, fmt.Sprintf("%s.ignore[%d]: %s needs a reason", section, i, ig.ID))
		}
		seen[ig.ID] = true
	}
	return errs
}

func ids(ignore []Ignore) []string {
	out := make([]string, len(ignore))
	for i, ig := range ignore {
		out[i] = ig.ID
	}
	return out
}
