package cvss

import "testing"

// Scores as NVD and FIRST's calculator give them.
func TestBaseScore(t *testing.T) {
	for vec, want := range map[string]float64{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H":          9.8,  // CVE-2021-44228 is 10.0 with S:C
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H":          10.0, // Log4Shell
		"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N":          5.9,
		"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H":          7.8,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N":          6.1, // typical XSS
		"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H":          9.9,
		"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N":          1.6,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N":          0,
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H":          9.8,
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H":          7.5,
		"CVSS:3.1/AV:N/AC:L/PR:H/UI:R/S:C/C:L/I:L/A:N":          4.8, // stored XSS by an admin
		"CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N/E:P/RL:O": 6.5, // temporal metrics ignored
	} {
		got, err := BaseScore(vec)
		if err != nil || got != want {
			t.Errorf("BaseScore(%s) = %v, %v; want %v", vec, got, err, want)
		}
	}
	for _, bad := range []string{"", "CVSS:2.0/AV:N", "AV:N/AC:L/Au:N/C:P/I:P/A:P", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
		"CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AVN"} {
		if _, err := BaseScore(bad); err == nil {
			t.Errorf("BaseScore(%q) accepted", bad)
		}
	}
	for s, r := range map[float64]Rating{0: None, 0.1: Low, 3.9: Low, 4: Medium, 6.9: Medium, 7: High, 8.9: High, 9: Critical, 10: Critical} {
		if RatingOf(s) != r {
			t.Errorf("RatingOf(%v) = %s, want %s", s, RatingOf(s), r)
		}
	}
}

func FuzzBaseScore(f *testing.F) {
	f.Add("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")
	f.Fuzz(func(t *testing.T, v string) {
		s, err := BaseScore(v)
		if err == nil && (s < 0 || s > 10) {
			t.Fatalf("score %v out of range for %q", s, v)
		}
	})
}
