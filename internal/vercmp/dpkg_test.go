package vercmp

import "testing"

func TestDpkgVectors(t *testing.T) {
	// scripts/t/Dpkg_Version.t and lib/dpkg/t/t-version.c (see the file).
	checkFile(t, "Debian", "dpkg-version.data", "0foo-", "-0.6.5")
}

func TestDpkgInvalid(t *testing.T) {
	// lib/dpkg/t/t-version.c test_version_parse: each must fail.
	bad := []string{
		"", "  ", "0:", "0:0 0-1", "-1:0-1", "999999999999999999999999:0-1",
		"a:0-0", "A:0-0", "-0", "0:-0", "0:abc3-0", "0:0-0:0",
		// parsehelp.c errors not in t-version.c (dpkg-deb refuses them).
		":1.0", "2147483648:1", "1.0-", "2:-1",
	}
	for _, c := range "!#@$%&/|\\<>()[]{};,_=*^'" {
		bad = append(bad, "0:0"+string(c)+"-0") // invalid character in version
	}
	for _, c := range "!#@$%&/|\\<>()[]{}:;,_=*^'" {
		bad = append(bad, "0:0-"+string(c)) // invalid character in revision
	}
	checkInvalid(t, "Debian", bad)

	// Surrounding blanks are trimmed (t-version.c); the largest epoch fits.
	checkPairs(t, "Debian", []pair{
		{"  \t0:0-1", "=", "0-1"}, {"0:0-1\t  ", "=", "0-1"}, {"\t  0:0-1  \t", "=", "0-1"},
		{"2147483647:1", ">", "2147483646:9"},
	})
}

func TestDpkgOrder(t *testing.T) {
	// deb-version(5): '~' sorts before anything, even the end; letters
	// before non-letters; numbers by value.
	n := checkSorted(t, "Ubuntu", []string{
		"1.0~~", "1.0~~a", "1.0~", "1.0~beta1", "1.0", "1.0-0ubuntu1", "1.0-1", "1.0-1ubuntu0.1",
		"1.0-1+deb12u1", "1.0a", "1.0+b1", "1.0.1", "1.1", "1:0.1",
	})
	t.Logf("%d ordered pairs", n)
}
