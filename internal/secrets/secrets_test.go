package secrets

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Each rule finds its credential and only it; the values are built from
// parts so that this file does not itself hold credential-shaped strings
// a scanner of the repository would flag.
func TestRules(t *testing.T) {
	j := strings.Join
	cases := map[string]string{
		"aws-access-key-id":     "aws_access_key_id = " + j([]string{"AKIA", "Z7Q2W4E6R3T5Y7U2"}, ""),
		"aws-secret-access-key": "aws_secret_access_key=" + j([]string{"wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYzQ8uK9e2Lm"}, ""),
		"private-key":           "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n",
		"github-token":          "token: " + "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A",
		"gitlab-token":          "GITLAB=" + "glpat-" + "x1Y2z3A4b5C6d7E8f9G0",
		"slack-token":           "SLACK=" + "xoxb-" + "123456789012-123456789012-aBcDeFgHiJkLmNoPqRsTuVwX",
		"slack-webhook":         "url: https://hooks.slack.com/services/" + "T0A1B2C3D/B0A1B2C3D/" + "aB1cD2eF3gH4iJ5kL6mN7oP8",
		"stripe-key":            "STRIPE=" + "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
		"npm-token":             "//registry.npmjs.org/:_authToken=" + "npm_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A",
		"pypi-token":            "password = " + "pypi-AgEIcHlwaS5vcmc" + "CJDQ5ZTVhNmYxLTk2YjAtNGM2ZC05MTdlLWE3NjU3NmQwNmM4Mg",
		"google-api-key":        "key=" + "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
		"jwt":                   "Authorization: Bearer " + "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0." + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
		"generic-secret":        `DB_PASSWORD="` + "q8Zr2!vLm#4Tx9Kp" + `"`,
	}
	for id, text := range cases {
		hits := Scan([]byte("first line\n" + text + "\n"))
		var ids []string
		for _, h := range hits {
			ids = append(ids, h.Rule.ID)
		}
		// The private key rule and the generic one may both see a PyPI
		// token assigned to "password"; the specific rule must be there.
		found := false
		for _, h := range hits {
			if h.Rule.ID == id {
				found = true
				if h.Line != 2 {
					t.Errorf("%s: line %d, want 2", id, h.Line)
				}
				if id != "private-key" && strings.Count(h.Redacted, "*") < 4 {
					t.Errorf("%s: value not redacted: %q", id, h.Redacted)
				}
			}
		}
		if !found {
			t.Errorf("%s: not found in %q (hits %v)", id, text, ids)
		}
	}
}

// What must not count: documentation examples, placeholders, templates,
// low-entropy values, names that only point at a secret.
func TestFalsePositives(t *testing.T) {
	for _, text := range []string{
		"aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
		`password = "changeme-changeme"`,
		`password: "${DB_PASSWORD}"`,
		`api_key = "<your-api-key-here>"`,
		`password = "aaaaaaaaaaaaaaaaaaaa"`,
		`password_file = "/run/secrets/db_password_location"`,
		`token = "xxxxxxxxxxxxxxxxxxxx"`,
		"ghp_short",
		"sk_test_4eC39HqLyjWDarjtT1zdp7dc",
	} {
		if hits := Scan([]byte(text)); len(hits) != 0 {
			t.Errorf("%q: %d hits, first %s", text, len(hits), hits[0].Rule.ID)
		}
	}
}

func TestWanted(t *testing.T) {
	for p, want := range map[string]bool{
		"/etc/app/config.yaml":                        true,
		"/root/.aws/credentials":                      true,
		"/usr/share/doc/curl/README":                  false,
		"/usr/lib/python3/dist-packages/x/tests/k.py": false,
		"/app/node_modules/jws/test/fixtures/key.pem": false,
		"/app/README.md":                              false,
	} {
		if got := Wanted(p, 100); got != want {
			t.Errorf("Wanted(%s) = %v", p, got)
		}
	}
	// A large file is scanned (as a Stream), an empty one is not.
	if !Wanted("/etc/x", 1<<40) || Wanted("/etc/x", 0) {
		t.Error("sizes")
	}
	if IsText([]byte("a\x00b")) || !IsText([]byte("plain")) {
		t.Error("IsText")
	}
}

func FuzzScan(f *testing.F) {
	f.Add([]byte("password = \"q8Zr2!vLm#4Tx9Kp\"\nAKIAZ7Q2W4E6R3T5Y7U2"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, h := range Scan(data) {
			if h.Line < 1 || h.Rule == nil {
				t.Fatalf("bad hit %+v", h)
			}
		}
	})
}

// TestStreamFindsWhatScanFinds: a text scanned window by window yields
// the hits of Scan over the whole text, a credential cut by a window's
// end included, once, with its line in the whole text.
func TestStreamFindsWhatScanFinds(t *testing.T) {
	token := strings.Join([]string{"ghp_", "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"}, "")
	key := strings.Join([]string{"-----BEGIN OPENSSH", " PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"}, "")
	var text strings.Builder
	line := strings.Repeat("x", 99) + "\n"
	for text.Len() < streamWindow-200 {
		text.WriteString(line)
	}
	// A token across the first window's end, then one deep in the next
	// window and a key in the last.
	text.WriteString(strings.Repeat("y", streamWindow-10-text.Len()) + " " + token + "\n")
	text.WriteString("token: " + token + "\n")
	for text.Len() < 3*streamWindow {
		text.WriteString(line)
	}
	text.WriteString(key)
	data := []byte(text.String())
	want := Scan(data)
	if len(want) < 2 {
		t.Fatalf("the fixture has %d hits", len(want))
	}
	for _, chunk := range []int{1 << 10, 64 << 10, 5 << 20} {
		var s Stream
		for b := data; len(b) > 0; {
			n := min(chunk, len(b))
			s.Write(b[:n])
			b = b[n:]
		}
		got := s.Hits()
		key := func(h Hit) string { return fmt.Sprintf("%s %d %d %s", h.Rule.ID, h.Line, h.Start, h.Redacted) }
		var gs, ws []string
		for _, h := range got {
			gs = append(gs, key(h))
		}
		for _, h := range want {
			ws = append(ws, key(h))
		}
		slices.Sort(gs)
		slices.Sort(ws)
		if !slices.Equal(gs, ws) {
			t.Errorf("chunks of %d: %v, want %v", chunk, gs, ws)
		}
	}
	var bin Stream
	bin.Write(append([]byte{0}, data...))
	if h := bin.Hits(); len(h) != 0 {
		t.Errorf("binary: %v", h)
	}
}
