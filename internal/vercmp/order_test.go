package vercmp

import (
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// orderTokens are per-ecosystem building blocks for generated versions:
// numbers, separators and the words each scheme gives meaning to.
var orderTokens = map[string][]string{
	"Debian":    {"0", "1", "2", "10", "01", "9", ".", ".", "-", "~", "+", ":", "a", "b", "z", "A", "rc", "deb12u1", "ubuntu"},
	"Alpine":    {"0", "1", "2", "10", "01", "00", ".", ".", "_", "-r", "-r1", "~", "~ab", "a", "b", "alpha", "beta", "pre", "rc", "cvs", "git", "p"},
	"Red Hat":   {"0", "1", "2", "10", "01", "9", ".", ".", "-", "~", "^", "_", "+", ":", "a", "b", "Z", "rc", "el9", "git"},
	"crates.io": {"0", "1", "2", "10", ".", ".", "-", "+", "a", "b", "alpha", "rc", "A", "x-y", "01"},
	"npm":       {"0", "1", "2", "10", "01", ".", ".", "-", "+", "v", "=", " ", "a", "b", "alpha", "rc", "A"},
	"Go":        {"0", "1", "2", "10", ".", ".", "-", "+", "v", "a", "b", "alpha", "rc", "incompatible", "A"},
	"NuGet":     {"0", "1", "2", "10", "01", ".", ".", "-", "+", "a", "B", "alpha", "RC", "rc"},
	"PyPI":      {"0", "1", "2", "10", "01", ".", ".", "-", "_", "+", "!", "a", "b", "c", "rc", "alpha", "pre", "post", "r", "dev", "v", "x", "A"},
	"Maven":     {"0", "1", "2", "10", "01", ".", ".", "-", "-", "a", "b", "m", "alpha", "beta", "rc", "cr", "snapshot", "ga", "final", "release", "sp", "x", "abc"},
	"RubyGems":  {"0", "1", "2", "10", "01", ".", ".", "-", "a", "b", "pre", "rc", "A", "Z", "x"},
	"Packagist": {"0", "1", "2", "10", "01", "2010", "20100102", ".", ".", "-", "_", "+", "v", "a", "b", "RC", "alpha", "beta", "patch", "pl", "p", "dev", "stable", "x", "@dev"},
}

// TestTotalOrder sorts a few hundred generated versions per ecosystem and
// checks every pair of the result: a comparison that is not a total order
// leaves some earlier element greater than a later one, or splits a class
// of equal versions.
func TestTotalOrder(t *testing.T) {
	for eco, toks := range orderTokens {
		s, _ := For(eco)
		r := rand.New(rand.NewSource(1))
		var vs []Version
		seen := map[string]bool{}
		for tries := 0; len(vs) < 300 && tries < 200000; tries++ {
			var b strings.Builder
			b.WriteString(toks[r.Intn(5)])
			for i, n := 0, r.Intn(7); i < n; i++ {
				b.WriteString(toks[r.Intn(len(toks))])
			}
			if seen[b.String()] {
				continue
			}
			seen[b.String()] = true
			if v, err := s.Parse(b.String()); err == nil {
				vs = append(vs, v)
			}
		}
		if len(vs) < 50 {
			t.Errorf("%s: only %d generated versions parse", eco, len(vs))
		}
		slices.SortFunc(vs, func(a, b Version) int { return a.Compare(b) })
		for i := range vs {
			for j := i + 1; j < len(vs); j++ {
				if c := vs[i].Compare(vs[j]); c > 0 || c == 0 && vs[j-1].Compare(vs[j]) != 0 {
					t.Fatalf("%s: not a total order: after sorting, %q (#%d) vs %q (#%d) = %d", eco, vs[i], i, vs[j], j, c)
				}
			}
		}
	}
}
