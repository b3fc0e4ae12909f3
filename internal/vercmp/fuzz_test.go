package vercmp

import (
	"errors"
	"testing"
)

// fuzzScheme checks, for any three strings: Parse never panics and fails
// only with ErrInvalid; every parsed version equals itself and a second
// parse of the same string; Compare is antisymmetric on every pair and
// transitive on the triple.
func fuzzScheme(f *testing.F, eco string, seeds []string) {
	s, ok := For(eco)
	if !ok {
		f.Fatalf("For(%q) not found", eco)
	}
	for i := range seeds {
		f.Add(seeds[i], seeds[(i+1)%len(seeds)], seeds[(i+2)%len(seeds)])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		in := []string{a, b, c}
		var vs []Version
		for _, v := range in {
			pv, err := s.Parse(v)
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Parse(%q): error %v does not wrap ErrInvalid", v, err)
				}
				continue
			}
			again, err := s.Parse(v)
			if err != nil {
				t.Fatalf("Parse(%q) succeeded, then failed: %v", v, err)
			}
			if pv.Compare(pv) != 0 || pv.Compare(again) != 0 {
				t.Fatalf("%q does not equal itself", v)
			}
			vs = append(vs, pv)
		}
		for i := range vs {
			for j := range vs {
				x, y := vs[i].Compare(vs[j]), vs[j].Compare(vs[i])
				if x < -1 || x > 1 || x != -y {
					t.Fatalf("antisymmetry: %q vs %q = %d, reverse %d", vs[i], vs[j], x, y)
				}
			}
		}
		// Transitivity over every ordering of the triple.
		for _, p := range [][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
			if len(vs) < 3 {
				break
			}
			x, y, z := vs[p[0]], vs[p[1]], vs[p[2]]
			xy, yz, xz := x.Compare(y), y.Compare(z), x.Compare(z)
			if xy > 0 || yz > 0 {
				continue // another ordering covers it
			}
			strict := xy < 0 || yz < 0
			if strict && xz >= 0 || !strict && xz != 0 {
				t.Fatalf("transitivity: %q vs %q = %d, %q vs %q = %d, but %q vs %q = %d", x, y, xy, y, z, yz, x, z, xz)
			}
		}
	})
}

func FuzzDpkg(f *testing.F) {
	fuzzScheme(f, "Debian", pairSeeds(f, "dpkg-version.data"))
}

func FuzzApk(f *testing.F) {
	fuzzScheme(f, "Alpine", append(pairSeeds(f, "apk-version.data"), "1.0~abc-r1", "1.0_alpha_p2", "1.02.1a_rc1~ff-r3"))
}

func FuzzRpm(f *testing.F) {
	fuzzScheme(f, "Red Hat", append(pairSeeds(f, "rpm-vercmp.data"), "1:2.3-4.el9", "0:1.0^git1~rc-1", "1.0-1-2"))
}

func FuzzSemver(f *testing.F) {
	fuzzScheme(f, "crates.io", append(semverSpecOrder, "1.2.3-a.b-c.0+build.007"))
}

func FuzzNpm(f *testing.F) {
	fuzzScheme(f, "npm", append(semverSpecOrder, " =v1.2.3", "01.02.03beta.01", "1.2.3-a.b+c", "9007199254740991.0.0"))
}

func FuzzGo(f *testing.F) {
	fuzzScheme(f, "Go", append(semverSpecOrder, "v1", "v1.2", "v2.0.0+incompatible", "v0.0.0-20210101000000-abcdef123456"))
}

func FuzzNuGet(f *testing.F) {
	fuzzScheme(f, "NuGet", append(semverSpecOrder, "1.0", "1.0.0.1", "1.0.0-BETA.X.y.5.77.0+AA", "01.2"))
}

func FuzzPEP440(f *testing.F) {
	fuzzScheme(f, "PyPI", append(pep440Versions, "1!2.0rc1.post2.dev3+ubuntu.1", " v1.0-5 ", "1.0-a_1"))
}

func FuzzMaven(f *testing.F) {
	fuzzScheme(f, "Maven", append(append(mavenVersionsQualifier, mavenVersionsNumber...),
		"1.0.0.RC1", "1.0-sp-1-redhat", "1-0.alpha", "6.1H.5-beta", "1.0.final-redhat", "1.x-2"))
}

func FuzzGem(f *testing.F) {
	fuzzScheme(f, "RubyGems", []string{"1.0", "1.0.0.a", "1.8.2.a10", "0.beta.1", "1.0.0-beta.1", "5.x", " 1.2 ", "", "1.A"})
}

func FuzzComposer(f *testing.F) {
	fuzzScheme(f, "Packagist", []string{
		"1.0.0", "v1.0.0-beta.5+foo", "1.0.0RC1dev", "2010-01-02-10-20-30.5", "20100102-203040-p1",
		"1.x-dev", "1.0.0-stable", "1.0.0@dev", "1.0.0+foo as 2.0", "1.0.0-patch1", "041.x-dev",
	})
}

// pairSeeds returns every version named in a testdata pair file.
func pairSeeds(f *testing.F, name string) []string {
	var seeds []string
	for _, p := range readPairs(f, name) {
		seeds = append(seeds, p.a, p.b)
	}
	if len(seeds) == 0 {
		f.Fatalf("no seeds in %s", name)
	}
	return seeds
}
