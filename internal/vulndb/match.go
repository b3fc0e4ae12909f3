package vulndb

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hull-sec/hull/internal/vercmp"
)

// Entry is what the store keeps of one record for one package: the
// ranges and versions it affects.
type Entry struct {
	ID        string   `json:"id"`
	Ecosystem string   `json:"eco"`
	Name      string   `json:"name"`
	Ranges    []Range  `json:"ranges,omitempty"`
	Versions  []string `json:"versions,omitempty"`
	// Severity is the CVSS vector the record gives for this package
	// only, if any.
	Severity []Severity `json:"sev,omitempty"`
	// GitOnly is set when the record bounds this package by commits only
	// (GIT ranges), which no installed version can be compared with.
	GitOnly bool `json:"git,omitempty"`
}

// ErrVersion marks an error of Affects that decided nothing: the
// installed version cannot be parsed under the ecosystem's rules, or the
// ecosystem has none. Other errors name a range that was skipped while
// the rest decided.
var ErrVersion = errors.New("version cannot be evaluated")

// Affects reports whether version is affected, by OSV's evaluation (a
// range event like npm's "1.0" is padded to "1.0.0" first, as osv.dev
// does): in
// the explicit versions list, or inside an ECOSYSTEM or SEMVER range
// (at or after an introduced event and before the next fixed, at or
// before a last_affected, and below any limit). fixed is the lowest fix
// above version, when one is known. An error says a version could not
// be parsed under the ecosystem's rules: the installed version (then
// nothing is decided), or a range event (then that range is skipped and
// the others decide).
func (e Entry) Affects(version string) (affected bool, fixed string, err error) {
	if slices.Contains(e.Versions, version) {
		affected = true
	}
	scheme, ok := vercmp.For(e.Ecosystem)
	if !ok {
		if affected || len(e.Ranges) == 0 {
			return affected, "", nil
		}
		return false, "", fmt.Errorf("%w: no version rules for ecosystem %s", ErrVersion, e.Ecosystem)
	}
	v, err := scheme.Parse(version)
	if err != nil {
		return affected, "", fmt.Errorf("%w: %v", ErrVersion, err)
	}
	var rangeErr error
	for _, r := range e.Ranges {
		in, fix, err := inRange(scheme, v, r)
		if err != nil {
			// A range with an event the ecosystem's rules reject is
			// skipped; the others still decide (GHSA records carry an
			// npm "introduced": "1.0" next to valid ranges).
			rangeErr = fmt.Errorf("%s: a range skipped: %v", e.ID, err)
			continue
		}
		if in {
			affected = true
			// The earliest fix wins; fixes the scheme rejects keep the first.
			switch {
			case fix == "":
			case fixed == "":
				fixed = fix
			default:
				if c, err := vercmp.CompareIn(scheme, fix, fixed); err == nil && c < 0 {
					fixed = fix
				}
			}
		}
	}
	return affected, fixed, rangeErr
}

type bound struct {
	kind int // 0 introduced, 1 fixed, 2 last_affected, 3 limit
	raw  string
	v    vercmp.Version // nil for introduced "0"
}

func inRange(s vercmp.Scheme, v vercmp.Version, r Range) (bool, string, error) {
	if r.Type != "ECOSYSTEM" && r.Type != "SEMVER" {
		return false, "", nil
	}
	var events []bound
	var limits []vercmp.Version
	for _, e := range r.Events {
		b := bound{}
		switch {
		case e.Introduced != "":
			b.kind, b.raw = 0, e.Introduced
		case e.Fixed != "":
			b.kind, b.raw = 1, e.Fixed
		case e.LastAffected != "":
			b.kind, b.raw = 2, e.LastAffected
		default:
			b.kind, b.raw = 3, e.Limit
		}
		if b.raw == "0" && b.kind == 0 {
			events = append(events, b)
			continue
		}
		if b.raw == "*" && b.kind == 3 {
			continue // no limit
		}
		pv, err := s.Parse(b.raw)
		if err != nil {
			// Records write "1.0" for 1.0.0 in npm and Go ranges; osv.dev
			// pads such versions, and so does hull.
			if padded, ok := padSemver(b.raw); ok {
				pv, err = s.Parse(padded)
			}
		}
		if err != nil {
			return false, "", fmt.Errorf("range event %q: %v", b.raw, err)
		}
		b.v = pv
		if b.kind == 3 {
			limits = append(limits, pv)
			continue
		}
		events = append(events, b)
	}
	// Sort by version, "0" first; at equal versions introduced before the
	// others, so that [introduced X, fixed X) is empty.
	slices.SortStableFunc(events, func(a, b bound) int {
		switch {
		case a.v == nil && b.v == nil:
			return 0
		case a.v == nil:
			return -1
		case b.v == nil:
			return 1
		}
		return cmp.Or(a.v.Compare(b.v), cmp.Compare(a.kind, b.kind))
	})
	affected, fixed := false, ""
	for _, b := range events {
		switch b.kind {
		case 0:
			if b.v == nil || v.Compare(b.v) >= 0 {
				affected = true
			}
		case 1:
			if v.Compare(b.v) >= 0 {
				affected = false
			} else if affected && fixed == "" {
				fixed = b.raw
			}
		case 2:
			if v.Compare(b.v) > 0 {
				affected = false
			}
		}
	}
	if affected && len(limits) > 0 && !slices.ContainsFunc(limits, func(l vercmp.Version) bool { return v.Compare(l) < 0 }) {
		affected = false
	}
	if !affected {
		fixed = ""
	}
	return affected, fixed, nil
}

// padSemver completes "1" or "1.2" to "1.0.0" or "1.2.0".
func padSemver(v string) (string, bool) {
	parts := strings.Split(v, ".")
	if len(parts) > 2 {
		return "", false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return "", false
		}
	}
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	return strings.Join(parts, "."), true
}
