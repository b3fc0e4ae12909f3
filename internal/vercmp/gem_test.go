package vercmp

import "testing"

// rubygems test/rubygems/test_gem_version.rb.
func TestGemVersion(t *testing.T) {
	checkPairs(t, "RubyGems", []pair{
		// test_spaceship
		{"1.0", "=", "1.0.0"}, {"1.0", ">", "1.0.a"}, {"1.8.2", ">", "0.0.0"}, {"1.8.2", ">", "1.8.2.a"},
		{"1.8.2.b", ">", "1.8.2.a"}, {"1.8.2.a", "<", "1.8.2"}, {"1.8.2.a10", ">", "1.8.2.a9"}, {"", "=", "0"},
		{"0.beta.1", "=", "0.0.beta.1"}, {"0.0.beta", "<", "0.0.beta.1"}, {"0.0.beta", "<", "0.beta.1"},
		{"5.a", "<", "5.0.0.rc2"}, {"5.x", ">", "5.0.0.rc2"},
		{"1.9.3", "=", "1.9.3"}, {"1.9.3", ">", "1.9.2.99"}, {"1.9.3", "<", "1.9.3.1"},
		// test_equals2, test_initialize, test_empty_version, test_hash
		{"1.2", "=", "1.2"}, {"1.2", "<", "1.3"}, {"1.2.b1", "=", "1.2.b.1"},
		{"1.0", "=", "1.0 "}, {"1.0", "=", " 1.0 "}, {"1.0", "=", "1.0\n"}, {"1.0", "=", "\n1.0\n"},
		{"0", "=", "   "}, {"0", "=", " "}, {"1.2.pre.1", "=", "1.2.0.pre.1.0"},
		// test_semver
		{"1.0.0-alpha", "<", "1.0.0-alpha.1"}, {"1.0.0-alpha.1", "<", "1.0.0-beta.2"},
		{"1.0.0-beta.2", "<", "1.0.0-beta.11"}, {"1.0.0-beta.11", "<", "1.0.0-rc.1"}, {"1.0.0-rc1", "<", "1.0.0"},
		{"1.0.0-1", "<", "1"},
		// test_hyphen_and_dot_prerelease_are_the_same_version (the part
		// released rubygems agrees with), test_frozen_version
		{"1.0.0-1", "=", "1.0.0.pre.1"}, {"1.0.0.1", ">", "1.0.0-1"}, {"1.freeze.test", "<", "1"},
		// test_sort_key_*
		{"1.0.0", ">", "0.0.1.20220404083012"}, {"0.7.0", ">", "0.6.63000"}, {"18.0.1", "<", "18.0.2"},
		{"9.8.7", "<", "9.8.8"},
		// Strings compare byte-wise, so upper case sorts first.
		{"1.A", "<", "1.a"},
	})
	// test_initialize_invalid, test_class_correct
	checkInvalid(t, "RubyGems", []string{
		"junk", "1.0\n2.0", "1..2", "1.2 3.4", "2.3422222.222.222222222.22222.ads0as.dasd0.ddd2222.2.qd3e.",
		"an incorrect version", "a", ".1", "1.", "1.0-", "1-a.", "v1.0", "1_0",
	})
}
