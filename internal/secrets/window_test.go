package secrets

import (
	"slices"
	"strings"
	"testing"
)

// wholeText is find with the generic-secret pattern run over all of
// text, as before windows.
func wholeText(text []byte, limit int) []Hit {
	r := RuleByID("generic-secret")
	w := r.windows
	r.windows = nil
	defer func() { r.windows = w }()
	return find(text, limit)
}

// Texts where windows could go wrong: a value after blank lines, names
// that start with '-' or '.', several secret words in a name, anchors in
// long runs, values of multi-byte characters, more matches than the
// limit, and characters that fold to ASCII letters.
var windowCases = []string{
	`password = "s3cr3tV4lue!xyz"`,
	"DB_PASSWORD\n\n\t=\r\n  'Zq8vK2mN5pL0wR7t'",
	`-.-api_key: "Zq8vK2mN5pL0wR7tYb3"` + "\n" + `.secret="Zq8vK2mN5pL0wR7tYb3x"`,
	`my.token.secret.password_api-key = "Zq8vK2mN5pL0wR7tYb3x"`,
	strings.Repeat("keykeykey", 3000) + `_token = "Zq8vK2mN5pL0wR7tYb3x"`,
	`client_secret: "` + strings.Repeat("é", 100) + `Zq8vK2mN5pL0"`,
	`client_secret: "` + strings.Repeat("日", 128) + `"` + ` token="Zq8vK2mN5pL0wR7tYb3x"`,
	strings.Repeat(`x_token="Zq8vK2mN5pL0wR7tYb3x" `, 40),
	strings.Repeat(`x_token="Zq8vK2mN5pL0wR7tYb3x"`, 40),
	"db_password" + strings.Repeat(" ", 600) + "\n=" + strings.Repeat("\t", 600) + `"Zq8vK2mN5pL0wR7tYb3x"`,
	`password: none; paſſword = "Zq8vK2mN5pL0wR7tYb3x"`,
	"token: none; api_\u212aey = \"Zq8vK2mN5pL0wR7tYb3x\"",
	`"token"   :   "Zq8vK2mN5pL0wR7tYb3x", "Secret": 'Zq8vK2mN5pL0wR7tYb3x'`,
	`TOKEN="short" PASSWORD="` + strings.Repeat("a", 200) + `" key="Zq8vK2mN5pL0wR7tYb3x"`,
	"\x00\xff token=\"\xffZq8vK2mN5pL0wR7t\"",
}

func TestSecretWindowsSameMatches(t *testing.T) {
	found := 0
	for _, c := range windowCases {
		found += len(find([]byte(c), -1))
		for _, limit := range []int{-1, maxHitsPerRule, 2 * maxHitsPerRule, 1} {
			want := wholeText([]byte(c), limit)
			got := find([]byte(c), limit)
			if !slices.Equal(got, want) {
				t.Errorf("%.60q limit %d: windows %v, whole text %v", c, limit, got, want)
			}
		}
	}
	// The cases hold credentials to find, so that the comparison means
	// something.
	if found < 60 {
		t.Errorf("%d credentials in the cases, want at least 60", found)
	}
}

// The point of windows: a large text with few secret words is searched
// in a small part of it.
func TestSecretWindowsSmall(t *testing.T) {
	text := []byte(strings.Repeat("const value = compute(input, options);\n", 20000) +
		`auth_token = "Zq8vK2mN5pL0wR7tYb3x"` + "\n" + strings.Repeat("return value;\n", 20000))
	parts, ok := secretWindows(text)
	if !ok {
		t.Fatal("searched whole")
	}
	n := 0
	for _, p := range parts {
		n += p[1] - p[0]
	}
	if n > 1024 {
		t.Errorf("searched %d of %d bytes", n, len(text))
	}
	if hits := Scan(text); len(hits) != 1 || hits[0].Rule.ID != "generic-secret" || hits[0].Line != 20001 {
		t.Errorf("hits %+v, want the token on line 20001", hits)
	}
}

func FuzzSecretWindows(f *testing.F) {
	for _, c := range windowCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		for _, limit := range []int{-1, 2} {
			want := wholeText(text, limit)
			got := find(text, limit)
			if !slices.Equal(got, want) {
				t.Fatalf("%q limit %d: windows %v, whole text %v", text, limit, got, want)
			}
		}
	})
}
