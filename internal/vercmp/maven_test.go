package vercmp

import (
	"strings"
	"testing"
)

// apache/maven compat/maven-artifact/src/test/java/org/apache/maven/artifact/
// versioning/ComparableVersionTest.java.
var (
	mavenVersionsQualifier = []string{
		"1-alpha2snapshot", "1-alpha2", "1-alpha-123", "1-beta-2", "1-beta123", "1-m2", "1-m11", "1-rc",
		"1-cr2", "1-rc123", "1-SNAPSHOT", "1", "1-sp", "1-sp2", "1-sp123", "1-abc", "1-def", "1-pom-1",
		"1-1-snapshot", "1-1", "1-2", "1-123",
	}
	mavenVersionsNumber = []string{
		"2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1", "2.1.0.1",
		"2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11", "11", "11.a", "11b", "11c",
		"11m",
	}
)

func TestMavenOrder(t *testing.T) {
	n := checkSorted(t, "Maven", mavenVersionsQualifier)
	n += checkSorted(t, "Maven", mavenVersionsNumber)
	t.Logf("%d ordered pairs", n)
}

func TestMavenEqual(t *testing.T) {
	eq := [][2]string{
		// testVersionsEqual
		{"1", "1"}, {"1", "1.0"}, {"1", "1.0.0"}, {"1.0", "1.0.0"}, {"1", "1-0"}, {"1", "1.0-0"}, {"1.0", "1.0-0"},
		{"1a", "1-a"}, {"1a", "1.0-a"}, {"1a", "1.0.0-a"}, {"1.0a", "1-a"}, {"1.0.0a", "1-a"}, {"1x", "1-x"},
		{"1x", "1.0-x"}, {"1x", "1.0.0-x"}, {"1.0x", "1-x"}, {"1.0.0x", "1-x"}, {"1cr", "1rc"},
		{"1a1", "1-alpha-1"}, {"1b2", "1-beta-2"}, {"1m3", "1-milestone-3"},
		{"1X", "1x"}, {"1A", "1a"}, {"1B", "1b"}, {"1M", "1m"}, {"1Cr", "1Rc"}, {"1cR", "1rC"},
		{"1m3", "1Milestone3"}, {"1m3", "1MileStone3"}, {"1m3", "1MILESTONE3"},
		// testVersionsHaveSameOrderButAreNotEqual
		{"1ga", "1"}, {"1release", "1"}, {"1final", "1"}, {"1Ga", "1"}, {"1GA", "1"}, {"1RELEASE", "1"},
		{"1RELeaSE", "1"}, {"1Final", "1"}, {"1FinaL", "1"}, {"1FINAL", "1"},
		// testLexicographicASCIISortOrder, testCompareLowerCaseToUpperCaseASCII, testLocaleIndependent
		{"1.0.0-alpha1", "1.0.0-ALPHA1"}, {"1.a", "1.A"}, {"1-abcdefghijklmnopqrstuvwxyz", "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
	}
	for _, p := range eq {
		checkPair(t, "Maven", pair{p[0], "=", p[1]})
	}
	// testVersionEqualWithLeadingZeroes, testVersionZeroEqualWithLeadingZeroes
	var ones, zeros []string
	for n := 1; n <= 19; n++ {
		ones = append(ones, strings.Repeat("0", n-1)+"1")
		zeros = append(zeros, strings.Repeat("0", n))
	}
	checkGroups(t, "Maven", [][]string{zeros, ones})
}

func TestMavenComparing(t *testing.T) {
	lt := [][2]string{
		// testVersionComparing
		{"1", "2"}, {"1.5", "2"}, {"1", "2.5"}, {"1.0", "1.1"}, {"1.1", "1.2"}, {"1.0.0", "1.1"}, {"1.0.1", "1.1"},
		{"1.1", "1.2.0"}, {"1.0-alpha-1", "1.0"}, {"1.0-alpha-1", "1.0-alpha-2"}, {"1.0-alpha-1", "1.0-beta-1"},
		{"1.0-beta-1", "1.0-SNAPSHOT"}, {"1.0-SNAPSHOT", "1.0"}, {"1.0-alpha-1-SNAPSHOT", "1.0-alpha-1"},
		{"1.0", "1.0-1"}, {"1.0-1", "1.0-2"}, {"1.0.0", "1.0-1"}, {"2.0-1", "2.0.1"}, {"2.0.1-klm", "2.0.1-lmn"},
		{"2.0.1", "2.0.1-xyz"}, {"2.0.1", "2.0.1-123"}, {"2.0.1-xyz", "2.0.1-123"},
		// testLeadingZeroes
		{"0.7", "2"}, {"0.2", "1.0.7"},
		// testCompareDigitToLetter, testLexicographicOrder
		{"J", "7"}, {"c", "7"}, {"aardvark", "zebra"},
		// testMng5568
		{"6.1.0rc3", "6.1.0"}, {"6.1.0rc3", "6.1H.5-beta"}, {"6.1.0", "6.1H.5-beta"},
		// testMng6572
		{"20190126.230843", "1234567890.12345"}, {"1234567890.12345", "123456789012345.1H.5-beta"},
		{"20190126.230843", "123456789012345.1H.5-beta"}, {"123456789012345.1H.5-beta", "12345678901234567890.1H.5-beta"},
		{"1234567890.12345", "12345678901234567890.1H.5-beta"}, {"20190126.230843", "12345678901234567890.1H.5-beta"},
		// testMng6964
		{"1-0.alpha", "1"}, {"1-0.beta", "1"}, {"1-0.alpha", "1-0.beta"},
		// testMng7714
		{"1.0.final-redhat", "1.0-sp1-redhat"}, {"1.0.final-redhat", "1.0-sp-1-redhat"},
		{"1.0.final-redhat", "1.0-sp.1-redhat"},
	}
	for _, p := range lt {
		checkPair(t, "Maven", pair{p[0], "<", p[1]})
	}
	// testMng7644: 1.0.0.X1 < 1.0.0-X2 and 2-X == 2.0.X == 2.0.0.X.
	for _, x := range []string{"abc", "alpha", "a", "beta", "b", "def", "milestone", "m", "RC"} {
		checkPair(t, "Maven", pair{"1.0.0." + x + "1", "<", "1.0.0-" + x + "2"})
		checkPair(t, "Maven", pair{"2-" + x, "=", "2.0." + x})
		checkPair(t, "Maven", pair{"2-" + x, "=", "2.0.0." + x})
		checkPair(t, "Maven", pair{"2.0." + x, "=", "2.0.0." + x})
	}
}

func TestMavenInvalid(t *testing.T) {
	// Maven takes any string; Parse refuses the empty one and non-ASCII
	// (ComparableVersionTest's "é", "ζέβρα" and non-BMP digit cases).
	checkInvalid(t, "Maven", []string{"", "\u00e9", "1.\u00e9", "\U0001d7e4", "\u0668", "1\x00"})
}
