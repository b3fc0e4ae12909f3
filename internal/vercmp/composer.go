package vercmp

import (
	"regexp"
	"strings"
	"sync"
)

// composer: Packagist versions, as composer/semver sorts them: normalize
// with VersionParser::normalize, then compare the normalized strings with
// PHP's version_compare.
//
// normalize: strip a leading 'v', "+build" metadata, an " as alias" and an
// "@stability" flag; pad classical versions to four numbers
// (1.2 -> 1.2.0.0) or keep date versions (2010-01-02 -> 2010.01.02); spell
// the stability suffix out (a -> alpha, b -> beta, rc -> RC, p/pl -> patch,
// stable -> nothing) with its number, then "-dev"; "1.x-dev" style branch
// versions become 1.9999999.9999999.9999999-dev. Named branches
// ("dev-main") are not ordered by Composer and are rejected.
//
// version_compare (ext/standard/versioning.c): split at '.', '-', '_', '+'
// and digit/letter transitions; numbers by value; special words
// dev < alpha = a < beta = b < RC = rc < (a number) < pl = p, matched by
// prefix, other words before all of them; a missing part sorts after
// dev/alpha/beta/RC and before numbers and patch. Numbers compare as
// unbounded integers where PHP's strtol saturates at 2^63-1.

type composerScheme struct{}

const composerModifier = `[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?`

// composerRE holds the normalizer's regexps, compiled on first use: every
// hull command would pay for them at start-up otherwise.
var composerRE = sync.OnceValue(func() (r struct {
	alias, stability, build, classical, date, branch, devSuffix, nonDigit *regexp.Regexp
}) {
	mod := strings.ReplaceAll(composerModifier, "*+", "*")
	r.alias = regexp.MustCompile(`^([^, \t\n\v\f\r]+) +as +([^, \t\n\v\f\r]+)$`)
	r.stability = regexp.MustCompile(`(?i)@(?:stable|RC|beta|alpha|dev)$`)
	r.build = regexp.MustCompile(`^([^, \t\n\v\f\r+]+)\+[^ \t\n\v\f\r]+$`)
	r.classical = regexp.MustCompile(`(?i)^v?(\d{1,5})(\.\d+)?(\.\d+)?(\.\d+)?` + mod + `$`)
	r.date = regexp.MustCompile(`(?i)^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})` + mod + `$`)
	r.branch = regexp.MustCompile(`(?i)^v?(\d+)(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?$`)
	r.devSuffix = regexp.MustCompile(`(?i)(.*?)[.-]?dev$`)
	r.nonDigit = regexp.MustCompile(`\D`)
	return r
})

type composerVersion struct {
	raw   string
	parts []string // canonical version_compare parts of the normalized form
}

func (composerScheme) Parse(v string) (Version, error) {
	const scheme = "composer"
	if err := checkLen(scheme, v); err != nil {
		return nil, err
	}
	n, err := composerNormalize(v)
	if err != nil {
		return nil, invalid(scheme, v, err.Error())
	}
	return composerVersion{raw: strings.TrimSpace(v), parts: phpCanonicalParts(n)}, nil
}

type composerError string

func (e composerError) Error() string { return string(e) }

// composerNormalize is VersionParser::normalize (composer/semver 3.x) for
// the inputs it can order.
func composerNormalize(v string) (string, error) {
	v = strings.Trim(v, " \t\n\r\x00\x0b") // PHP trim()
	if m := composerRE().alias.FindStringSubmatch(v); m != nil {
		v = m[1]
	}
	if m := composerRE().stability.FindString(v); m != "" {
		v = v[:len(v)-len(m)]
	}
	if v == "master" || v == "trunk" || v == "default" || len(v) >= 4 && strings.EqualFold(v[:4], "dev-") {
		return "", composerError("a named branch has no order")
	}
	if m := composerRE().build.FindStringSubmatch(v); m != nil {
		v = m[1]
	}
	var out string
	var mod []string // stability, its number, "dev"
	if m := composerRE().classical.FindStringSubmatch(v); m != nil {
		out = m[1]
		for _, p := range m[2:5] {
			if p == "" {
				p = ".0"
			}
			out += p
		}
		mod = m[5:8]
	} else if m := composerRE().date.FindStringSubmatch(v); m != nil {
		out = composerRE().nonDigit.ReplaceAllString(m[1], ".")
		mod = m[2:5]
	}
	if mod != nil {
		if mod[0] != "" {
			if mod[0] == "stable" {
				return out, nil
			}
			out += "-" + composerExpandStability(mod[0]) + strings.TrimLeft(mod[1], ".-")
		}
		if mod[2] != "" {
			out += "-dev"
		}
		return out, nil
	}
	if m := composerRE().devSuffix.FindStringSubmatch(v); m != nil {
		if b, ok := composerNormalizeBranch(m[1]); ok {
			return b, nil
		}
	}
	return "", composerError("not a Composer version")
}

func composerExpandStability(s string) string {
	switch s = strings.ToLower(s); s {
	case "a":
		return "alpha"
	case "b":
		return "beta"
	case "p", "pl":
		return "patch"
	case "rc":
		return "RC"
	}
	return s
}

// composerNormalizeBranch is VersionParser::normalizeBranch for numeric
// branches; ok is false for named ones.
func composerNormalizeBranch(name string) (string, bool) {
	m := composerRE().branch.FindStringSubmatch(strings.Trim(name, " \t\n\r\x00\x0b"))
	if m == nil {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < 5; i++ {
		p := m[i]
		if p == "" {
			p = ".x"
		}
		b.WriteString(strings.NewReplacer("*", "x", "X", "x").Replace(p))
	}
	return strings.ReplaceAll(b.String(), "x", "9999999") + "-dev", true
}

// phpCanonicalParts is php_canonicalize_version followed by the split at
// '.' that php_version_compare walks.
func phpCanonicalParts(v string) []string {
	if v == "" {
		return nil
	}
	special := func(c byte) bool { return c == '-' || c == '_' || c == '+' }
	dig := func(c byte) bool { return isDigit(c) }
	ndig := func(c byte) bool { return !isDigit(c) && c != '.' }
	buf := []byte{v[0]}
	lp := v[0]
	for i := 1; i < len(v); i++ {
		c := v[i]
		last := buf[len(buf)-1]
		switch {
		case special(c):
			if last != '.' {
				buf = append(buf, '.')
			}
		case (ndig(lp) && dig(c)) || (dig(lp) && ndig(c)):
			if last != '.' {
				buf = append(buf, '.')
			}
			buf = append(buf, c)
		case !isAlnum(c):
			if last != '.' {
				buf = append(buf, '.')
			}
		default:
			buf = append(buf, c)
		}
		lp = c
	}
	return strings.Split(string(buf), ".")
}

// phpSpecialOrder is compare_special_version_forms' order of a part, by
// prefix; -1 for words it does not know.
func phpSpecialOrder(s string) int {
	for _, f := range []struct {
		name  string
		order int
	}{{"dev", 0}, {"alpha", 1}, {"a", 1}, {"beta", 2}, {"b", 2}, {"RC", 3}, {"rc", 3}, {"#", 4}, {"pl", 5}, {"p", 5}} {
		if strings.HasPrefix(s, f.name) {
			return f.order
		}
	}
	return -1
}

// phpNumber stands for any number, as "#N#" does in versioning.c.
const phpNumber = "#"

// phpPartCmp compares one part of each: numbers by value, words by special
// order, a number as "#" against a word.
func phpPartCmp(a, b string) int {
	da, db := a != "" && isDigit(a[0]), b != "" && isDigit(b[0])
	switch {
	case da && db:
		return cmpDigits(phpLeadingDigits(a), phpLeadingDigits(b))
	case da:
		a = phpNumber
	case db:
		b = phpNumber
	}
	return sign(phpSpecialOrder(a) - phpSpecialOrder(b))
}

// phpLeadingDigits is the part strtol reads.
func phpLeadingDigits(s string) string {
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	return s[:n]
}

func (c composerVersion) String() string { return c.raw }

func (c composerVersion) Compare(o Version) int {
	d, ok := o.(composerVersion)
	if !ok {
		return foreign(c, o)
	}
	a, b := c.parts, d.parts
	i := 0
	for ; i < len(a) && i < len(b); i++ {
		if r := phpPartCmp(a[i], b[i]); r != 0 {
			return r
		}
	}
	// One ran out: the rest of the longer one against "a number".
	switch {
	case i < len(a):
		if a[i] != "" && isDigit(a[i][0]) {
			return 1
		}
		return phpPartCmp(a[i], phpNumber)
	case i < len(b):
		if b[i] != "" && isDigit(b[i][0]) {
			return -1
		}
		return phpPartCmp(phpNumber, b[i])
	}
	return 0
}
