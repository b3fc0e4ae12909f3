package image

import (
	"regexp"
	"testing"
)

// The hand-written matchers must agree with the grammar they replace.
func FuzzEngineName(f *testing.F) {
	nameRE := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:@-]*$`)
	idRE := regexp.MustCompile(`^(sha256:)?[0-9a-f]{12,64}$`)
	for _, s := range []string{"", "a", "-a", "alpine:3.20", "reg.io/x/y@sha256:ab", "a b", "ä", "0123456789ab",
		"sha256:0123456789abcdef", "sha256:", "0123456789AB", "sha256:" + string(make([]byte, 65))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := engineName(s), nameRE.MatchString(s); got != want {
			t.Errorf("engineName(%q) = %v, regexp says %v", s, got, want)
		}
		if got, want := engineID(s), idRE.MatchString(s); got != want {
			t.Errorf("engineID(%q) = %v, regexp says %v", s, got, want)
		}
	})
}
