package vercmp

import (
	"regexp"
	"strings"
	"sync"
	"unicode"
)

// pep440: PyPI versions, [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local].
//
// Parse is packaging.version.Version from pypa/packaging: its VERSION_PATTERN
// (case-insensitive, ASCII only, surrounding white space and a leading 'v'
// allowed) and its normalization (alpha/beta/c/pre/preview spellings, implicit
// numbers, "-N" as a post-release). Compare is its _cmpkey: epoch; release
// with trailing zeros dropped; a dev release of a final before any
// pre-release; no pre-release after all pre-releases; post-release; dev
// release before everything else at its level; no local part before any
// local part, local segments numbers after strings.

type pep440Scheme struct{}

var pep440Re = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?i)v?` +
		`(?:([0-9]+)!)?` +
		`([0-9]+(?:\.[0-9]+)*)` +
		`(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?([0-9]+)?)?` +
		`(?:-([0-9]+)|[-_.]?(post|rev|r)[-_.]?([0-9]+)?)?` +
		`(?:[-_.]?(dev)[-_.]?([0-9]+)?)?` +
		`(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$`)
})

type pep440Version struct {
	raw     string
	epoch   string
	release []string // digits without leading zeros, trailing zeros dropped
	preKind int      // see pep440Pre*
	preNum  string
	post    string // "" with hasPost false: none
	hasPost bool
	dev     string
	hasDev  bool
	local   []string // lower case; nil: none
}

// Pre-release ranks: a dev release of a final sorts first, no pre-release
// last.
const (
	pep440PreDevOnly = iota
	pep440PreA
	pep440PreB
	pep440PreRC
	pep440PreNone
)

func (pep440Scheme) Parse(v string) (Version, error) {
	const scheme = "pep440"
	if err := checkLen(scheme, v); err != nil {
		return nil, err
	}
	// str.strip(): Unicode white space, which in Python includes U+001C-U+001F.
	s := strings.TrimFunc(v, func(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) })
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return nil, invalid(scheme, v, "non-ASCII character")
		}
	}
	m := pep440Re().FindStringSubmatch(s)
	if m == nil {
		return nil, invalid(scheme, v, "does not match PEP 440")
	}
	p := pep440Version{raw: s, epoch: strings.TrimLeft(m[1], "0"), preKind: pep440PreNone}
	p.release = strings.Split(m[2], ".")
	for i := range p.release {
		p.release[i] = strings.TrimLeft(p.release[i], "0")
	}
	for len(p.release) > 0 && p.release[len(p.release)-1] == "" {
		p.release = p.release[:len(p.release)-1]
	}
	if m[3] != "" {
		switch strings.ToLower(m[3]) {
		case "a", "alpha":
			p.preKind = pep440PreA
		case "b", "beta":
			p.preKind = pep440PreB
		default: // c, rc, pre, preview
			p.preKind = pep440PreRC
		}
		p.preNum = strings.TrimLeft(m[4], "0")
	}
	switch {
	case m[5] != "":
		p.post, p.hasPost = strings.TrimLeft(m[5], "0"), true
	case m[6] != "":
		p.post, p.hasPost = strings.TrimLeft(m[7], "0"), true
	}
	if m[8] != "" {
		p.dev, p.hasDev = strings.TrimLeft(m[9], "0"), true
	}
	if p.preKind == pep440PreNone && !p.hasPost && p.hasDev {
		p.preKind = pep440PreDevOnly
	}
	if m[10] != "" {
		p.local = strings.FieldsFunc(strings.ToLower(m[10]), func(r rune) bool { return r == '-' || r == '_' || r == '.' })
	}
	return p, nil
}

func (p pep440Version) String() string { return p.raw }

func (p pep440Version) Compare(o Version) int {
	q, ok := o.(pep440Version)
	if !ok {
		return foreign(p, o)
	}
	if c := cmpDigits(p.epoch, q.epoch); c != 0 {
		return c
	}
	for i := 0; i < len(p.release) || i < len(q.release); i++ {
		if i >= len(p.release) {
			return -1
		}
		if i >= len(q.release) {
			return 1
		}
		if c := cmpDigits(p.release[i], q.release[i]); c != 0 {
			return c
		}
	}
	if c := sign(p.preKind - q.preKind); c != 0 {
		return c
	}
	if p.preKind != pep440PreNone && p.preKind != pep440PreDevOnly {
		if c := cmpDigits(p.preNum, q.preNum); c != 0 {
			return c
		}
	}
	// No post-release sorts before any post-release.
	if c := cmpOptional(p.hasPost, p.post, q.hasPost, q.post, -1); c != 0 {
		return c
	}
	// No dev release sorts after any dev release.
	if c := cmpOptional(p.hasDev, p.dev, q.hasDev, q.dev, 1); c != 0 {
		return c
	}
	return pep440LocalCmp(p.local, q.local)
}

// cmpOptional compares two optional numbers; absent sorts as absentSign
// against any present number.
func cmpOptional(hasA bool, a string, hasB bool, b string, absentSign int) int {
	switch {
	case !hasA && !hasB:
		return 0
	case !hasA:
		return absentSign
	case !hasB:
		return -absentSign
	}
	return cmpDigits(a, b)
}

// pep440LocalCmp: no local part first; segment by segment, strings before
// numbers, numbers by value, strings in ASCII order; a prefix first.
func pep440LocalCmp(a, b []string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		na, nb := allDigits(a[i]), allDigits(b[i])
		var c int
		switch {
		case na && nb:
			c = cmpDigits(a[i], b[i])
		case na:
			c = 1
		case nb:
			c = -1
		default:
			c = strings.Compare(a[i], b[i])
		}
		if c != 0 {
			return c
		}
	}
	return sign(len(a) - len(b))
}
