package vercmp

import "testing"

func TestRpmVectors(t *testing.T) {
	// rpm tests/rpmvercmp.at.
	checkFile(t, "Red Hat", "rpm-vercmp.data")
}

func TestRpmEVR(t *testing.T) {
	checkPairs(t, "AlmaLinux:9", []pair{
		{"1.0-1", "=", "0:1.0-1"},
		{"1:1.0-1", ">", "9.9-9"},
		{"1:1.0-1", "<", "2:0.1-1"},
		{"10:1.0", ">", "9:1.0"},
		{"1.0-1.el8", "<", "1.0-1.el9"},
		{"1.0-1.el8_4", ">", "1.0-1.el8"},
		{"1.0-10", ">", "1.0-9"},
		{"1.0-1", ">", "1.0"},       // a missing release sorts first,
		{"1", "<", "1-~"},           // even before "~" (lib/rpmver.c rpmverCmp),
		{"..00", "<", "0-+"},        // and before a release with no segment
		{"1.0-1-2", ">", "1.0-1-1"}, // the release follows the last '-'
		{"1.0-1-2", "<", "1.0-2-1"}, // version "1.0-1" < "1.0-2"
		{"a:1.0", "=", "a.1.0"},     // not an epoch: the ':' is a separator
		{":1.0", "=", "0:1.0"},      // parseEVR: an empty epoch is 0
		{"2.5.1-3.fc38", "<", "2.5.1-3.fc39"},
		{"3.0.7-16.el9_2", "<", "3.0.7-18.el9_2"},
		{"0:4.18.0-477.10.1.el8_8", ">", "4.18.0-425.3.1.el8"},
		{"1.0~rc1-1", "<", "1.0-1"},
		{"1.0^git1-1", ">", "1.0-1"},
	})
	checkInvalid(t, "Rocky Linux", []string{"", "1.0-", "-1", "1:", "1: 0", "1.0\t", "1.\xce\xb1", "1:-1"})
}
