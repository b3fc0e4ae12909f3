// Package cvss computes the base score of a CVSS v3.0 or v3.1 vector, as
// the specification's equations define it, and its qualitative rating.
// OSV records carry vectors, not scores; a scanner needs the score to
// rank and gate.
package cvss

import (
	"fmt"
	"math"
	"strings"
)

// Rating is the qualitative severity of a score.
type Rating string

// The ratings of CVSS v3.
const (
	None     Rating = "none"
	Low      Rating = "low"
	Medium   Rating = "medium"
	High     Rating = "high"
	Critical Rating = "critical"
)

// RatingOf maps a score to its rating.
func RatingOf(score float64) Rating {
	switch {
	case score >= 9:
		return Critical
	case score >= 7:
		return High
	case score >= 4:
		return Medium
	case score > 0:
		return Low
	}
	return None
}

var weights = map[string]map[string]float64{
	"AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
	"AC": {"L": 0.77, "H": 0.44},
	"PR": {"N": 0.85, "L": 0.62, "H": 0.27},
	"UI": {"N": 0.85, "R": 0.62},
	"S":  {"U": 0, "C": 0},
	"C":  {"H": 0.56, "L": 0.22, "N": 0},
	"I":  {"H": 0.56, "L": 0.22, "N": 0},
	"A":  {"H": 0.56, "L": 0.22, "N": 0},
}

// BaseScore parses "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" (3.0 or
// 3.1; temporal and environmental metrics may follow and are ignored) and
// returns its base score.
func BaseScore(vector string) (float64, error) {
	parts := strings.Split(strings.TrimSpace(vector), "/")
	ver := parts[0]
	if ver != "CVSS:3.0" && ver != "CVSS:3.1" {
		return 0, fmt.Errorf("cvss: %q is not a CVSS v3.0 or v3.1 vector", truncate(vector))
	}
	m := map[string]string{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, ":")
		if !ok {
			return 0, fmt.Errorf("cvss: malformed metric %q", truncate(p))
		}
		if _, dup := m[k]; dup {
			return 0, fmt.Errorf("cvss: metric %s given twice", truncate(k))
		}
		m[k] = v
	}
	w := map[string]float64{}
	for k, vals := range weights {
		x, ok := vals[m[k]]
		if !ok {
			return 0, fmt.Errorf("cvss: base metric %s is missing or has an unknown value %q", k, truncate(m[k]))
		}
		w[k] = x
	}
	changed := m["S"] == "C"
	if changed && m["PR"] == "L" {
		w["PR"] = 0.68
	} else if changed && m["PR"] == "H" {
		w["PR"] = 0.5
	}
	iss := 1 - (1-w["C"])*(1-w["I"])*(1-w["A"])
	impact := 6.42 * iss
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	}
	expl := 8.22 * w["AV"] * w["AC"] * w["PR"] * w["UI"]
	if impact <= 0 {
		return 0, nil
	}
	up := roundup31
	if ver == "CVSS:3.0" {
		up = func(x float64) float64 { return math.Ceil(x*10) / 10 }
	}
	if changed {
		return up(math.Min(1.08*(impact+expl), 10)), nil
	}
	return up(math.Min(impact+expl, 10)), nil
}

// roundup31 is CVSS v3.1's Roundup: the smallest number with one decimal
// place at least x, computed in integers to avoid floating-point error.
func roundup31(x float64) float64 {
	i := int64(math.Round(x * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000
	}
	return float64(i/10000+1) / 10
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
