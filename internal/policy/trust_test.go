package policy

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestCheckScope(t *testing.T) {
	for _, ok := range []string{
		"registry.example.com", "registry.example.com:5000", "registry.example.com/team", "registry.example.com/team/app",
		"localhost", "localhost:5000/a", "127.0.0.1:5000/team/app", "docker.io/library", "docker.io/library/busybox",
		"a.b/c__d/e-f.g/h--i", "*.example.com", "*.com", "*.a-b.example",
	} {
		if err := CheckScope(ok); err != nil {
			t.Errorf("CheckScope(%q): %v", ok, err)
		}
	}
	for scope, why := range map[string]string{
		"":                                "empty",
		"*":                               "trust.default",
		"registry.example.com/team/*":     `write "registry.example.com/team"`,
		"registry.example.com/*":          `write "registry.example.com"`,
		"registry.example.com/team/app-*": "leading labels of a host",
		"*.example.com/team":              "without a port or path",
		"*.example.com:5000":              "without a port or path",
		"*example.com":                    "leading labels",
		"a.*.example.com":                 "leading labels",
		"registry.example.com/app:1":      "not a tag or digest",
		"registry.example.com/app@sha256:" + strings.Repeat("0", 64): "not a tag or digest",
		"Registry.example.com/app":                                   "lower case",
		"registry.example.com/App":                                   "lower case",
		"index.docker.io/library/busybox":                            `write "docker.io/library/busybox"`,
		"busybox":                                                    "docker.io/library/busybox",
		"library/busybox":                                            "docker.io/library/busybox",
		"registry.example.com/team/":                                 "not host[:port]",
		"registry.example.com//app":                                  "not host[:port]",
		"registry.example.com/a_-b":                                  "not host[:port]",
		"-registry.example.com":                                      "not host[:port]",
		"registry.example.com:port":                                  "not host[:port]",
		"registry.example.com/" + strings.Repeat("a", 250):           "longer than 255",
	} {
		err := CheckScope(scope)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("CheckScope(%q) = %v, want an error saying %q", scope, err, why)
		}
	}
}

// TestScopePatternIsTheSchemas: the JSON Schema refuses what Load refuses.
func TestScopePatternIsTheSchemas(t *testing.T) {
	quoted := strings.ReplaceAll(ScopePattern, `\`, `\\`)
	if !strings.Contains(string(Schema), `"pattern": "`+quoted+`"`) {
		t.Errorf("schema.json's scope pattern is not ScopePattern %s", quoted)
	}
	if !regexp.MustCompile(ScopePattern).MatchString("*.example.com") {
		t.Error("ScopePattern refuses a domain wildcard")
	}
}

func TestNamespaces(t *testing.T) {
	for repo, want := range map[string][]string{
		"registry.example.com:5000/team/app": {"registry.example.com:5000/team/app", "registry.example.com:5000/team", "registry.example.com:5000", "*.example.com", "*.com"},
		"docker.io/library/busybox":          {"docker.io/library/busybox", "docker.io/library", "docker.io", "*.io"},
		"localhost:5000/app":                 {"localhost:5000/app", "localhost:5000"},
	} {
		if got := Namespaces(repo); !slices.Equal(got, want) {
			t.Errorf("Namespaces(%s) = %q, want %q", repo, got, want)
		}
	}
}

// TestMostSpecificScopeWins: the repository beats its namespaces, a
// longer namespace a shorter one, the host any domain wildcard, a
// longer wildcard a shorter one, whatever the order of the rules.
func TestMostSpecificScopeWins(t *testing.T) {
	scopes := []string{"*.com", "*.example.com", "r.example.com", "r.example.com/team", "r.example.com/team/app"}
	for _, order := range [][]int{{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 4, 0, 3, 1}} {
		var tr Trust
		for _, i := range order {
			tr.Rules = append(tr.Rules, TrustRule{Scope: scopes[i], Reject: true})
			tr.Lookaside = append(tr.Lookaside, Lookaside{Scope: scopes[i], Path: scopes[i]})
		}
		for repo, want := range map[string]string{
			"r.example.com/team/app":     "r.example.com/team/app",
			"r.example.com/team/app/sub": "r.example.com/team/app",
			"r.example.com/team/other":   "r.example.com/team",
			"r.example.com/x":            "r.example.com",
			"s.example.com/team/app":     "*.example.com",
			"a.b.example.com/x":          "*.example.com",
			"example.com/x":              "*.com",
			"r.example.com:5000/x":       "*.example.com",
			"r.example.org/x":            "",
			"r.example.com.evil.org/x":   "",
		} {
			got := ""
			if r := tr.RuleFor(repo); r != nil {
				got = r.Scope
			}
			if got != want {
				t.Errorf("rules %v: RuleFor(%s) = %q, want %q", order, repo, got, want)
			}
			got = ""
			if l := tr.LookasideFor(repo); l != nil {
				got = l.Scope
			}
			if got != want {
				t.Errorf("stores %v: LookasideFor(%s) = %q, want %q", order, repo, got, want)
			}
		}
	}
}

// FuzzCheckScope: no scope panics, and every scope accepted can match:
// a repository below it lists it among its namespaces.
func FuzzCheckScope(f *testing.F) {
	for _, s := range []string{"registry.example.com/team", "*.example.com", "localhost:5000", "a/*", "*", "R.example", "x.example/a:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, scope string) {
		if CheckScope(scope) != nil {
			return
		}
		if !regexp.MustCompile(ScopePattern).MatchString(scope) {
			t.Fatalf("%q accepted but not ScopePattern", scope)
		}
		repo := scope + "/fuzz"
		if rest, ok := strings.CutPrefix(scope, "*."); ok {
			repo = "host." + rest + ":5000/fuzz"
		}
		if !slices.Contains(Namespaces(repo), scope) {
			t.Fatalf("%q accepted but covers no repository (%s: %q)", scope, repo, Namespaces(repo))
		}
	})
}

func TestCheckRepository(t *testing.T) {
	for _, ok := range []string{"docker.io/library/busybox", "localhost/a", "127.0.0.1:5000/team/app", "r.example.com/a__b/c-d.e"} {
		if err := CheckRepository(ok); err != nil {
			t.Errorf("CheckRepository(%q): %v", ok, err)
		}
	}
	for repo, why := range map[string]string{
		"R.example.com/a":                           "lower case",
		"r.example.com./a":                          "not an image name",
		"r.example.com/team/../x":                   "not an image name",
		"r.example.com/team/./x":                    "not an image name",
		"r.example.com//x":                          "not an image name",
		"r_x.example.com/a":                         "not an image name",
		"r.example.com":                             "not an image name",
		"busybox/x":                                 "not an image name",
		"r.example.com/" + strings.Repeat("a", 250): "not an image name",
	} {
		if err := CheckRepository(repo); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("CheckRepository(%q) = %v, want an error saying %q", repo, err, why)
		}
	}
}
