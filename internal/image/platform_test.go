package image

import (
	"strings"
	"testing"
)

func TestParsePlatform(t *testing.T) {
	for s, want := range map[string]string{"linux/amd64": "linux/amd64", "linux/arm/v7": "linux/arm/v7", "windows/amd64": "windows/amd64"} {
		p, err := ParsePlatform(s)
		if err != nil || platformName(*p) != want {
			t.Errorf("ParsePlatform(%q) = %v, %v", s, p, err)
		}
	}
	for _, s := range []string{"", "linux", "linux/", "/amd64", "linux/amd64/", "Linux/amd64", "linux/amd64/v8/x", "linux/amd64:10.0", "linux amd64"} {
		if _, err := ParsePlatform(s); err == nil {
			t.Errorf("ParsePlatform(%q) accepted", s)
		}
	}
}

func FuzzParsePlatform(f *testing.F) {
	f.Add("linux/arm/v7")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePlatform(s)
		if err == nil && platformName(*p) != s {
			t.Fatalf("%q read as %q", s, platformName(*p))
		}
		if err != nil && strings.Contains(err.Error(), "{") {
			t.Fatalf("message %q", err)
		}
	})
}
