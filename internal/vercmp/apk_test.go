package vercmp

import "testing"

func TestApkVectors(t *testing.T) {
	// apk-tools test/version.data. "23_foo" has an unknown suffix and
	// "1.0bc" two letters: apk_version_validate rejects both.
	checkFile(t, "Alpine", "apk-version.data", "23_foo", "1.0bc")
}

func TestApkRules(t *testing.T) {
	// Token rules of src/version.c (apk-tools v3) beyond version.data:
	// suffix order, commit hashes, revisions, leading zeros.
	n := checkSorted(t, "Wolfi", []string{
		"1.0_alpha", "1.0_alpha1", "1.0_beta", "1.0_pre", "1.0_rc", "1.0_rc1",
		"1.0", "1.0-r1", "1.0~abc", "1.0_cvs", "1.0_svn", "1.0_git", "1.0_hg", "1.0_p", "1.0_p1",
		"1.0a", "1.0b", "1.0.1",
	})
	t.Logf("%d ordered pairs", n)
	checkPairs(t, "Alpine", []pair{
		{"1.0~abc", "<", "1.0~abd"},
		{"1.0~ab", "<", "1.0~abc"},
		{"1.0~abc-r1", "<", "1.0~abc-r2"},
		{"1.02", "<", "1.1"},    // leading zero: string compare
		{"1.02", "<", "1.02.1"}, // prefix
		{"1.010", "<", "1.02"},  // "010" < "02" as strings
		{"01.0", "=", "1.0"},    // the first number compares by value
		{"1.0-r01", "=", "1.0-r1"},
		{"1.0_rc01", "=", "1.0_rc1"},
		{"1.0_alpha_beta", "<", "1.0_alpha"},
		{"1.2.3", ">", "1.2_p9"},
		{"99999999999999999999999", ">", "99999999999999999999998"}, // beyond uint64
	})
	checkInvalid(t, "Alpine", []string{
		"", "a1", ".1", "1.", "1..2", "1a2", "1ab", "1.0a.1", "1_foo", "1_", "1_alpha.1",
		"1-1", "1-r", "1-r1-r2", "1-r1a", "1~", "1~ABC", "1~abc~def", "1-r1~abc", "1.0 ", " 1.0",
		"1.0_ALPHA", "1.0A", "v1.0",
	})
}
