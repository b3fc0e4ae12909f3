package policy

import (
	"fmt"
	"time"
)

// Registry says how hull talks to registries and engines.
type Registry struct {
	// Timeout bounds each network operation: a registry or engine that
	// has not answered (or, for a layer, sent more bytes) within it
	// makes the run undecided. A Go duration such as "30s"; "" keeps the
	// CLI's default (--timeout).
	Timeout string `yaml:"timeout"`
}

// Bounds on registry.timeout: below a second every real registry
// fails; above an hour a hung registry is no longer noticed.
const (
	minTimeout = time.Second
	maxTimeout = time.Hour
)

// TimeoutDuration is the parsed timeout, 0 when the policy sets none.
// Validate has checked it.
func (r Registry) TimeoutDuration() time.Duration {
	d, _ := time.ParseDuration(r.Timeout)
	return d
}

func (r Registry) validate() []string {
	if r.Timeout == "" {
		return nil
	}
	d, err := time.ParseDuration(r.Timeout)
	switch {
	case err != nil:
		return []string{fmt.Sprintf("registry.timeout: %q is not a duration such as 30s or 2m", r.Timeout)}
	case d < minTimeout || d > maxTimeout:
		return []string{fmt.Sprintf("registry.timeout: %s is outside 1s to 1h", r.Timeout)}
	}
	return nil
}
