package vercmp

import "testing"

// checkGroups asserts that versions within a group are equal and that each
// group sorts before the next.
func checkGroups(t *testing.T, eco string, groups [][]string) int {
	t.Helper()
	n := 0
	for i, g := range groups {
		for _, a := range g {
			for _, b := range g {
				checkPair(t, eco, pair{a, "=", b})
				n++
			}
			for _, h := range groups[i+1:] {
				for _, b := range h {
					checkPair(t, eco, pair{a, "<", b})
					n++
				}
			}
		}
	}
	return n
}

// semver.org, SemVer 2.0.0, section 11 (precedence examples).
var semverSpecOrder = []string{
	"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
	"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1",
}

func TestSemverSpec(t *testing.T) {
	for _, eco := range []string{"crates.io", "npm", "Go", "NuGet"} {
		checkSorted(t, eco, semverSpecOrder)
	}
	// Build metadata is ignored (section 10).
	checkPairs(t, "crates.io", []pair{
		{"1.0.0+20130313144700", "=", "1.0.0"}, {"1.0.0-beta+exp.sha.5114f85", "=", "1.0.0-beta"},
		{"1.0.0+21AF26D3----117B344092BD", "=", "1.0.0"},
	})
	checkInvalid(t, "crates.io", []string{
		"", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "1.2.3-01", "1.2.3-", "1.2.3+",
		"1.2.3-a..b", "1.2.3+a..b", "v1.2.3", "=1.2.3", " 1.2.3", "1.2.3 ", "1.2.3-a_b", "1.2.3beta",
		"-1.2.3", "1.2.-3", "1.2.3-\xc3\xa9",
	})
}

func TestGoSemver(t *testing.T) {
	// golang.org/x/mod/semver semver_test.go: tests, in order; equal
	// canonical forms grouped. Go also takes each without the "v".
	groups := [][]string{
		{"v1.0.0-alpha"}, {"v1.0.0-alpha.1"}, {"v1.0.0-alpha.beta"}, {"v1.0.0-beta"},
		{"v1.0.0-beta.2"}, {"v1.0.0-beta.11"}, {"v1.0.0-rc.1"},
		{"v1", "v1.0", "v1.0.0", "1.0.0", "1"},
		{"v1.2", "v1.2.0", "1.2"},
		{"v1.2.3-456"}, {"v1.2.3-456.789"}, {"v1.2.3-456-789"}, {"v1.2.3-456a"},
		{"v1.2.3-pre", "v1.2.3-pre+meta"}, {"v1.2.3-pre.1"}, {"v1.2.3-zzz"},
		{"v1.2.3", "v1.2.3+meta", "v1.2.3+meta-pre", "v1.2.3+meta-pre.sha.256a", "1.2.3", "1.2.3+incompatible"},
		{"2.0.0+incompatible", "v2.0.0"},
	}
	t.Logf("%d pairs", checkGroups(t, "Go", groups))
	checkInvalid(t, "Go", []string{
		"bad", "v1-alpha.beta.gamma", "v1-pre", "v1+meta", "v1-pre+meta", "v1.2-pre", "v1.2+meta",
		"v1.2-pre+meta", "vv1.2.3", "v01.2.3", "v1.2.3-01", "=1.2.3", "",
	})
}

func TestNpmSemver(t *testing.T) {
	// node-semver test/fixtures/comparisons.js: first greater than second.
	gt := [][2]string{
		{"0.0.0", "0.0.0-foo"}, {"0.0.1", "0.0.0"}, {"1.0.0", "0.9.9"}, {"0.10.0", "0.9.0"},
		{"0.99.0", "0.10.0"}, {"2.0.0", "1.2.3"}, {"v0.0.0", "0.0.0-foo"}, {"v0.0.1", "0.0.0"},
		{"v1.0.0", "0.9.9"}, {"v0.10.0", "0.9.0"}, {"v0.99.0", "0.10.0"}, {"v2.0.0", "1.2.3"},
		{"0.0.0", "v0.0.0-foo"}, {"0.0.1", "v0.0.0"}, {"1.0.0", "v0.9.9"}, {"0.10.0", "v0.9.0"},
		{"0.99.0", "v0.10.0"}, {"2.0.0", "v1.2.3"}, {"1.2.3", "1.2.3-asdf"}, {"1.2.3", "1.2.3-4"},
		{"1.2.3", "1.2.3-4-foo"}, {"1.2.3-5-foo", "1.2.3-5"}, {"1.2.3-5", "1.2.3-4"},
		{"1.2.3-5-foo", "1.2.3-5-Foo"}, {"3.0.0", "2.7.2+asdf"}, {"1.2.3-a.10", "1.2.3-a.5"},
		{"1.2.3-a.b", "1.2.3-a.5"}, {"1.2.3-a.b", "1.2.3-a"}, {"1.2.3-a.b.c.10.d.5", "1.2.3-a.b.c.5.d.100"},
		{"1.2.3-r2", "1.2.3-r100"}, {"1.2.3-r100", "1.2.3-R2"},
	}
	for _, p := range gt {
		checkPair(t, "npm", pair{p[0], ">", p[1]})
	}
	// equality.js (loose) and compare-loose.js.
	eq := [][2]string{
		{"1.2.3", "v1.2.3"}, {"1.2.3", "=1.2.3"}, {"1.2.3", "v 1.2.3"}, {"1.2.3", "= 1.2.3"},
		{"1.2.3", " v1.2.3"}, {"1.2.3", " =1.2.3"}, {"1.2.3", " v 1.2.3"}, {"1.2.3", " = 1.2.3"},
		{"1.2.3-0", "v1.2.3-0"}, {"1.2.3-0", "=1.2.3-0"}, {"1.2.3-0", "v 1.2.3-0"}, {"1.2.3-0", "= 1.2.3-0"},
		{"1.2.3-0", " v1.2.3-0"}, {"1.2.3-0", " =1.2.3-0"}, {"1.2.3-0", " v 1.2.3-0"}, {"1.2.3-0", " = 1.2.3-0"},
		{"1.2.3-1", "v1.2.3-1"}, {"1.2.3-1", "=1.2.3-1"}, {"1.2.3-1", "v 1.2.3-1"}, {"1.2.3-1", "= 1.2.3-1"},
		{"1.2.3-1", " v1.2.3-1"}, {"1.2.3-1", " =1.2.3-1"}, {"1.2.3-1", " v 1.2.3-1"}, {"1.2.3-1", " = 1.2.3-1"},
		{"1.2.3-beta", "v1.2.3-beta"}, {"1.2.3-beta", "=1.2.3-beta"}, {"1.2.3-beta", "v 1.2.3-beta"},
		{"1.2.3-beta", "= 1.2.3-beta"}, {"1.2.3-beta", " v1.2.3-beta"}, {"1.2.3-beta", " =1.2.3-beta"},
		{"1.2.3-beta", " v 1.2.3-beta"}, {"1.2.3-beta", " = 1.2.3-beta"},
		{"1.2.3-beta+build", " = 1.2.3-beta+otherbuild"}, {"1.2.3+build", " = 1.2.3+otherbuild"},
		{"1.2.3-beta+build", "1.2.3-beta+otherbuild"}, {"1.2.3+build", "1.2.3+otherbuild"},
		{"  v1.2.3+build", "1.2.3+otherbuild"},
		{"=1.2.3", "1.2.3"}, {"01.02.03", "1.2.3"}, {"1.2.3-beta.01", "1.2.3-beta.1"},
		{"   =1.2.3", "1.2.3"}, {"1.2.3foo", "1.2.3-foo"},
	}
	for _, p := range eq {
		checkPair(t, "npm", pair{p[0], "=", p[1]})
	}
	// valid-versions.js parses; invalid-versions.js does not.
	for _, v := range []string{
		"1.0.0", "2.1.0", "3.2.1", "v1.2.3", "1.2.3-0", "1.2.3-123", "1.2.3-1.2.3", "1.2.3-1a", "1.2.3-a1",
		"1.2.3-alpha", "1.2.3-alpha.1", "1.2.3-alpha-1", "1.2.3-alpha-.-beta", "1.2.3+456", "1.2.3+build",
		"1.2.3+new-build", "1.2.3+build.1", "1.2.3+build.1a", "1.2.3+build.a1", "1.2.3+build.alpha",
		"1.2.3+build.alpha.beta", "1.2.3-alpha+build",
	} {
		mustParse(t, "npm", v)
	}
	checkInvalid(t, "npm", []string{
		"90071992547409910.0.0", "0.90071992547409910.0", "0.0.90071992547409910", "hello, world", "xyz",
		"1.2", "1.2.3.4", "1.2.3-", "1.2.3+", "1.2.3-a..b",
	})
	checkPairs(t, "npm", []pair{{"9007199254740991.0.0", ">", "9007199254740990.0.0"}})
}

func TestNuGet(t *testing.T) {
	// NuGet.Client VersionComparerTests.cs.
	checkPairs(t, "NuGet", []pair{
		{"1.0.0", "=", "1.0.0"}, {"1.0.0-BETA", "=", "1.0.0-beta"}, {"1.0.0-BETA+AA", "=", "1.0.0-beta+aa"},
		{"1.0.0-BETA.X.y.5.77.0+AA", "=", "1.0.0-beta.x.y.5.77.0+aa"},
		{"0.0.0", "<", "1.0.0"}, {"1.0.0", "<", "1.1.0"}, {"1.0.0", "<", "1.0.1"}, {"1.999.9999", "<", "2.1.1"},
		{"1.0.0-BETA", "<", "1.0.0-beta2"}, {"1.0.0-beta+AA", "<", "1.0.0+aa"}, {"1.0.0-BETA", "<", "1.0.0-beta.1+AA"},
		{"1.0.0-BETA.X.y.5.77.0+AA", "<", "1.0.0-beta.x.y.5.79.0+aa"},
		{"1.0.0-BETA.X.y.5.79.0+AA", "<", "1.0.0-beta.x.y.5.790.0+abc"},
		// Four-part and short versions (NuGetVersion, System.Version).
		{"1.0", "=", "1.0.0.0"}, {"1", "=", "1.0.0"}, {"1.0.0.1", ">", "1.0.0"}, {"1.0.0.1", "<", "1.0.1"},
		{"1.01.0", "=", "1.1.0"}, {"1.0.0.0-rc.1", "<", "1.0.0"},
	})
	checkInvalid(t, "NuGet", []string{"", "1.0.0.0.0", "a.b.c", "1.0.0-", "1.0.0-beta..1", "1.0.0+", "v1.0.0"})
}
