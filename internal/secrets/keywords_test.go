package secrets

import (
	"bytes"
	"strings"
	"testing"
)

// containsKeyword is the rule gate as one bytes.Contains per keyword.
func containsKeyword(r *Rule, text []byte) bool {
	for _, k := range r.Keywords {
		if bytes.Contains(text, []byte(k)) {
			return true
		}
	}
	return false
}

func checkRulesIn(t *testing.T, text []byte) {
	t.Helper()
	in := rulesIn(text)
	for i := range rules {
		if got, want := in&(1<<i) != 0, containsKeyword(&rules[i], text); got != want {
			t.Errorf("%.60q: rule %s gated %t, a keyword occurs: %t", text, rules[i].ID, got, want)
		}
	}
}

var keywordCases = []string{
	"", "a", "AKIA", "xAKI", "eyJ", "ey", "pypi-AgEIcHlwaS5vcmc", "pypi-AgEIcHlwaS5vcm",
	"the token ends the text: token", "PuTTY-User-Key-File-2: ssh-rsa",
	"hooks.slack.com xoxb- ghp_ glpat- sk_live_ npm_ AIza ASIA aws_secret PRIVATE KEY apiKey",
	"ApiKey", "apikey", "ssecret", "ppassword", "tokeN", "Secret", "SECRET",
}

func TestRulesIn(t *testing.T) {
	if len(rules) > 64 {
		t.Fatalf("%d rules do not fit rulesIn's bit set", len(rules))
	}
	for _, c := range keywordCases {
		checkRulesIn(t, []byte(c))
	}
	all := []string{}
	for _, r := range rules {
		all = append(all, r.Keywords...)
	}
	// Every keyword, alone, at the start and at the end of a text.
	for _, k := range all {
		checkRulesIn(t, []byte(k))
		checkRulesIn(t, []byte("x"+k))
		checkRulesIn(t, []byte(k[:len(k)-1]))
		checkRulesIn(t, []byte(strings.Repeat("secre toke ", 50)+k))
	}
}

func FuzzRulesIn(f *testing.F) {
	for _, c := range keywordCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkRulesIn)
}
