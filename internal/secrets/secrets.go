// Package secrets finds credentials in text: cloud keys, private keys,
// tokens of code hosts, chat, payment and package registries, JWTs, and
// high-entropy values assigned to names that say secret.
//
// Data flow: Scan takes a file's bytes (or a string from an image's
// configuration) and runs each rule whose keywords occur in it (a cheap
// substring test) with its regexp, then drops allow-listed values
// (documentation examples, placeholders, low entropy). A Hit carries the
// rule, the line, and the value redacted; the raw value never leaves the
// package. Mask masks every credential in a text (also those found by
// where they stand: URL passwords, Authorization headers, command-line
// passwords, values of secret-named variables) for callers that print it
// as evidence. Which files to scan (text, outside documentation and test
// directories) is Wanted's to say; Stream scans a text too large to hold
// window by window.
package secrets

import (
	"bytes"
	"math"
	"path"
	"regexp"
	"strings"
	"sync"
)

// Rule is one kind of credential.
type Rule struct {
	ID       string
	Title    string
	Severity string // info, low, medium, high, critical
	// Keywords: the rule runs only when one occurs in the text.
	Keywords []string
	pattern  string
	// group is the submatch that is the secret (0: the whole match).
	group int
	// minEntropy, when set, is the least Shannon entropy (bits per
	// character) the value must have.
	minEntropy float64
	// windows, when set, returns the parts of a text, in order and
	// apart, that hold every match of pattern (ok false: search it all).
	windows func(text []byte) (parts [][2]int, ok bool)
}

// Hit is one credential found.
type Hit struct {
	Rule *Rule
	Line int
	// Start and End are the value's byte offsets in the text scanned, so
	// a caller can redact it in place.
	Start, End int
	// Redacted is the value with all but its first 4 characters masked.
	Redacted string
}

var rules = []Rule{
	{ID: "aws-access-key-id", Title: "AWS access key ID", Severity: "high",
		Keywords: []string{"AKIA", "ASIA", "ABIA", "ACCA"}, pattern: `\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b`, group: 1},
	{ID: "aws-secret-access-key", Title: "AWS secret access key", Severity: "critical",
		Keywords: []string{"aws_secret", "AWS_SECRET", "SecretAccessKey", "secret_access_key", "aws-secret"},
		pattern:  `(?i)(?:aws_?secret_?access_?key|secretaccesskey)["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})\b`, group: 1, minEntropy: 3.5},
	{ID: "private-key", Title: "Private key", Severity: "high",
		Keywords: []string{"PRIVATE KEY", "PuTTY-User-Key-File"},
		pattern:  `-----BEGIN ((RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----|PuTTY-User-Key-File-\d: `},
	{ID: "github-token", Title: "GitHub token", Severity: "critical",
		Keywords: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"},
		pattern:  `\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b`},
	{ID: "gitlab-token", Title: "GitLab personal access token", Severity: "critical",
		Keywords: []string{"glpat-"}, pattern: `\bglpat-[A-Za-z0-9_-]{20}\b`},
	{ID: "slack-token", Title: "Slack token", Severity: "high",
		Keywords: []string{"xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"}, pattern: `\bxox[abprs]-[A-Za-z0-9-]{10,72}\b`},
	{ID: "slack-webhook", Title: "Slack incoming webhook", Severity: "medium",
		Keywords: []string{"hooks.slack.com"}, pattern: `https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{24}`},
	{ID: "stripe-key", Title: "Stripe live secret key", Severity: "critical",
		Keywords: []string{"sk_live_", "rk_live_"}, pattern: `\b[sr]k_live_[A-Za-z0-9]{24,99}\b`},
	{ID: "npm-token", Title: "npm access token", Severity: "critical",
		Keywords: []string{"npm_"}, pattern: `\bnpm_[A-Za-z0-9]{36}\b`},
	{ID: "pypi-token", Title: "PyPI upload token", Severity: "critical",
		Keywords: []string{"pypi-AgEIcHlwaS5vcmc"}, pattern: `\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}`},
	{ID: "google-api-key", Title: "Google API key", Severity: "high",
		Keywords: []string{"AIza"}, pattern: `\bAIza[0-9A-Za-z_-]{35}\b`},
	{ID: "jwt", Title: "JSON Web Token", Severity: "medium",
		Keywords: []string{"eyJ"}, pattern: `\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`},
	{ID: "generic-secret", Title: "Secret assigned in configuration", Severity: "medium",
		Keywords: []string{"password", "PASSWORD", "Password", "passwd", "secret", "SECRET", "Secret", "token", "TOKEN", "Token", "api_key", "API_KEY", "apikey", "ApiKey", "apiKey"},
		pattern:  `(?i)\b(?:[a-z0-9_.-]*(?:password|passwd|secret|token|api_?key|access_?key|auth_?key|client_?secret))["']?\s*[:=]\s*["']([^"'\s$<>{}]{12,128})["']`,
		group:    1, minEntropy: 3.5, windows: secretWindows},
}

var compiled = sync.OnceValue(func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(rules))
	for i, r := range rules {
		out[i] = regexp.MustCompile(r.pattern)
	}
	return out
})

// Rules returns the rules, for documentation.
func Rules() []Rule { return rules }

// RuleByID returns a rule, or nil.
func RuleByID(id string) *Rule {
	for i := range rules {
		if rules[i].ID == id {
			return &rules[i]
		}
	}
	return nil
}

// maxHitsPerRule bounds what one file can report per rule.
const maxHitsPerRule = 16

// Scan returns the credentials in text, by rule then position, at most
// maxHitsPerRule of each rule.
func Scan(text []byte) []Hit { return find(text, maxHitsPerRule) }

// find returns up to limit hits of each rule (-1: all of them).
func find(text []byte, limit int) []Hit {
	var hits []Hit
	res := compiled()
	in := rulesIn(text)
	for i := range rules {
		r := &rules[i]
		if in&(1<<i) == 0 {
			continue
		}
		parts := [][2]int{{0, len(text)}}
		if r.windows != nil {
			if ws, ok := r.windows(text); ok {
				parts = ws
			}
		}
		// limit bounds the matches, as over the whole text.
		left := limit
		for _, p := range parts {
			if left == 0 {
				break
			}
			ms := res[i].FindAllSubmatchIndex(text[p[0]:p[1]], left)
			if left > 0 {
				left -= len(ms)
			}
			for _, m := range ms {
				start, end := m[2*r.group], m[2*r.group+1]
				if start < 0 {
					continue
				}
				start, end = p[0]+start, p[0]+end
				value := string(text[start:end])
				if allowed(r, value) {
					continue
				}
				hits = append(hits, Hit{Rule: r, Line: 1 + bytes.Count(text[:start], []byte("\n")), Start: start, End: end, Redacted: Redact(value)})
			}
		}
	}
	return hits
}

// placeholders are values documentation and templates use.
var placeholders = []string{"example", "EXAMPLE", "changeme", "CHANGEME", "xxxx", "XXXX", "****", "dummy", "DUMMY", "placeholder",
	"your_", "YOUR_", "your-", "<", "${", "{{", "%s", "redacted", "REDACTED", "test", "TEST", "sample", "SAMPLE", "fake", "FAKE"}

func allowed(r *Rule, value string) bool {
	if r.ID != "private-key" {
		for _, p := range placeholders {
			if strings.Contains(value, p) {
				return true
			}
		}
	}
	return r.minEntropy > 0 && entropy(value) < r.minEntropy
}

// entropy is the Shannon entropy of s in bits per character.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h := 0.0
	n := float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// Redact keeps the start of a value so a person can find it, no more: at
// most 4 characters and a quarter of it, then a fixed mask that does not
// tell its length.
func Redact(v string) string {
	if len(v) <= 4 {
		return strings.Repeat("*", len(v))
	}
	return v[:min(4, len(v)/4)] + strings.Repeat("*", 8)
}

// Directories whose files are documentation, examples or tests, where
// credential-shaped strings are samples, not secrets.
var skipDirs = []string{"/usr/share/doc/", "/usr/share/man/", "/usr/share/info/", "/usr/share/locale/", "/usr/share/i18n/"}

var skipElems = map[string]bool{"test": true, "tests": true, "testdata": true, "__tests__": true, "fixtures": true,
	"spec": true, "examples": true, "example": true, "docs": true, "doc": true}

// Wanted reports whether a file at path of size bytes is worth scanning:
// not empty, not documentation or tests. The caller checks the file is
// text; a file of any size is scanned (Stream, for one too large to hold).
func Wanted(p string, size int64) bool {
	if size <= 0 {
		return false
	}
	for _, d := range skipDirs {
		if strings.HasPrefix(p, d) {
			return false
		}
	}
	for _, e := range strings.Split(path.Dir(p), "/") {
		if skipElems[strings.ToLower(e)] {
			return false
		}
	}
	switch path.Ext(p) {
	case ".md", ".rst", ".html", ".htm", ".svg", ".map", ".css", ".po", ".mo":
		return false
	}
	return true
}

// ProbeBytes is how much of a file IsText looks at.
const ProbeBytes = 8 << 10

// IsText reports whether data looks like text: no NUL in its first
// ProbeBytes.
func IsText(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), ProbeBytes)], 0) < 0
}
