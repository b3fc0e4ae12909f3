package vercmp

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
)

// pair is one expected comparison: a op b, op one of "<", "=", ">".
type pair struct{ a, op, b string }

func opSign(t *testing.T, op string) int {
	t.Helper()
	switch op {
	case "<":
		return -1
	case "=":
		return 0
	case ">":
		return 1
	}
	t.Fatalf("bad op %q", op)
	return 0
}

func mustParse(t *testing.T, eco, v string) Version {
	t.Helper()
	s, ok := For(eco)
	if !ok {
		t.Fatalf("For(%q) not found", eco)
	}
	pv, err := s.Parse(v)
	if err != nil {
		t.Fatalf("%s: Parse(%q): %v", eco, v, err)
	}
	return pv
}

// checkPair asserts a op b and its mirror b -op a, and that both
// compare equal to themselves.
func checkPair(t *testing.T, eco string, p pair) {
	t.Helper()
	want := opSign(t, p.op)
	a, b := mustParse(t, eco, p.a), mustParse(t, eco, p.b)
	if got := a.Compare(b); got != want {
		t.Errorf("%s: %q vs %q = %d, want %d", eco, p.a, p.b, got, want)
	}
	if got := b.Compare(a); got != -want {
		t.Errorf("%s: antisymmetry: %q vs %q = %d, want %d", eco, p.b, p.a, got, -want)
	}
	if a.Compare(a) != 0 || b.Compare(b) != 0 {
		t.Errorf("%s: %q or %q does not equal itself", eco, p.a, p.b)
	}
}

func checkPairs(t *testing.T, eco string, pairs []pair) {
	t.Helper()
	for _, p := range pairs {
		checkPair(t, eco, p)
	}
}

// checkSorted asserts that versions is in strictly increasing order: every
// earlier one is less than every later one.
func checkSorted(t *testing.T, eco string, versions []string) int {
	t.Helper()
	n := 0
	for i := range versions {
		for j := i + 1; j < len(versions); j++ {
			checkPair(t, eco, pair{versions[i], "<", versions[j]})
			n++
		}
	}
	return n
}

func checkInvalid(t *testing.T, eco string, versions []string) {
	t.Helper()
	s, _ := For(eco)
	for _, v := range versions {
		if pv, err := s.Parse(v); err == nil {
			t.Errorf("%s: Parse(%q) = %v, want an error", eco, v, pv)
		} else if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Parse(%q) error %v does not wrap ErrInvalid", eco, v, err)
		}
	}
}

// readPairs reads "a op b" lines of a testdata file; '#' starts a comment.
func readPairs(t testing.TB, name string) []pair {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var pairs []pair
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 3 {
			t.Fatalf("%s: bad line %q", name, sc.Text())
		}
		pairs = append(pairs, pair{fields[0], fields[1], fields[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return pairs
}

// checkFile checks every pair of a testdata file whose versions both parse,
// and that exactly the versions in rejected fail to parse.
func checkFile(t *testing.T, eco, name string, rejected ...string) {
	t.Helper()
	s, _ := For(eco)
	pairs := readPairs(t, name)
	failed := map[string]bool{}
	n := 0
	for _, p := range pairs {
		_, errA := s.Parse(p.a)
		_, errB := s.Parse(p.b)
		if errA != nil {
			failed[p.a] = true
		}
		if errB != nil {
			failed[p.b] = true
		}
		if errA == nil && errB == nil {
			checkPair(t, eco, p)
			n++
		}
	}
	for _, v := range rejected {
		if !failed[v] {
			t.Errorf("%s: %s: %q parsed, want it rejected", eco, name, v)
		}
		delete(failed, v)
	}
	for v := range failed {
		t.Errorf("%s: %s: Parse(%q) failed", eco, name, v)
	}
	if n < len(pairs)-2*len(rejected) || n == 0 {
		t.Errorf("%s: only %d of %d pairs checked", name, n, len(pairs))
	}
	t.Logf("%s: %d pairs checked", name, n)
}

func TestFor(t *testing.T) {
	for eco, want := range map[string]Scheme{
		"Debian":                              dpkgScheme{},
		"Debian:12":                           dpkgScheme{},
		"Ubuntu:22.04:LTS":                    dpkgScheme{},
		"Alpine:v3.20":                        apkScheme{},
		"Wolfi":                               apkScheme{},
		"Chainguard":                          apkScheme{},
		"Red Hat:enterprise_linux:9":          rpmScheme{},
		"AlmaLinux:8":                         rpmScheme{},
		"Rocky Linux:9":                       rpmScheme{},
		"openSUSE:Leap 15.5":                  rpmScheme{},
		"SUSE:Linux Enterprise Server 15 SP5": rpmScheme{},
		"npm":                                 semverScheme{flavor: semverNpm},
		"Go":                                  semverScheme{flavor: semverGo},
		"crates.io":                           semverScheme{flavor: semverStrict},
		"NuGet":                               semverScheme{flavor: semverNuGet},
		"PyPI":                                pep440Scheme{},
		"Maven":                               mavenScheme{},
		"RubyGems":                            gemScheme{},
		"Packagist":                           composerScheme{},
	} {
		got, ok := For(eco)
		if !ok || got != want {
			t.Errorf("For(%q) = %#v, %v; want %#v", eco, got, ok, want)
		}
	}
	for _, eco := range []string{"", "debian", "Debian ", ":Debian", "PyPi", "Hackage", "GIT"} {
		if s, ok := For(eco); ok {
			t.Errorf("For(%q) = %#v, want none", eco, s)
		}
	}
}

func TestCompare(t *testing.T) {
	if c, err := Compare("Debian:12", "1.0-1", "1.0-1+deb12u1"); err != nil || c != -1 {
		t.Errorf("Compare Debian = %d, %v; want -1", c, err)
	}
	if _, err := Compare("Hackage", "1", "2"); !errors.Is(err, ErrUnknownEcosystem) {
		t.Errorf("Compare unknown ecosystem: %v, want ErrUnknownEcosystem", err)
	}
	if _, err := Compare("PyPI", "1.0", "french toast"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Compare invalid b: %v, want ErrInvalid", err)
	}
	if _, err := Compare("PyPI", "french toast", "1.0"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Compare invalid a: %v, want ErrInvalid", err)
	}
}

func TestMaxLen(t *testing.T) {
	long := "1." + strings.Repeat("1", MaxLen)
	for eco := range ecosystems {
		s, _ := For(eco)
		if _, err := s.Parse(long); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "limit") {
			t.Errorf("%s: Parse of %d bytes: %v, want the length error", eco, len(long), err)
		}
		// Just under the limit is fine where the grammar allows it.
		if eco == "Debian" || eco == "PyPI" || eco == "Maven" || eco == "RubyGems" {
			ok := "1." + strings.Repeat("1", MaxLen-2)
			if _, err := s.Parse(ok); err != nil {
				t.Errorf("%s: Parse of %d bytes: %v", eco, len(ok), err)
			}
		}
	}
}

func TestForeignVersionDoesNotPanic(t *testing.T) {
	d := mustParse(t, "Debian", "1.0")
	p := mustParse(t, "PyPI", "1.0")
	n := mustParse(t, "npm", "1.0.0")
	g := mustParse(t, "Go", "1.0.0")
	if d.Compare(p) != -p.Compare(d) {
		t.Error("foreign comparison is not antisymmetric")
	}
	if n.Compare(g) != -g.Compare(n) {
		t.Error("npm vs Go comparison is not antisymmetric")
	}
}

func TestCmpDigits(t *testing.T) {
	for _, p := range []pair{
		{"0", "=", ""}, {"007", "=", "7"}, {"9", "<", "10"}, {"18446744073709551616", ">", "18446744073709551615"},
		{"0000000000000000000000001", "=", "1"}, {"99", ">", "098"},
	} {
		if got := cmpDigits(p.a, p.b); got != opSign(t, p.op) {
			t.Errorf("cmpDigits(%q, %q) = %d, want %s", p.a, p.b, got, p.op)
		}
	}
}

func TestStringIsInput(t *testing.T) {
	for eco, v := range map[string]string{
		"Debian": "1:2.3-4", "Alpine": "1.2_rc1-r0", "Red Hat": "0:1.2-3.el9", "npm": "v1.2.3",
		"PyPI": "1.0.POST1", "Maven": "1.0-SNAPSHOT", "RubyGems": "1.0.a", "Packagist": "v1.0.0-beta2",
		"Go": "v1.2.3+incompatible", "NuGet": "1.0.0.1-Beta",
	} {
		if got := mustParse(t, eco, v).String(); got != v {
			t.Errorf("%s: String() = %q, want %q", eco, got, v)
		}
	}
}
