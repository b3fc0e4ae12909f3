package vercmp

import (
	"strconv"
	"strings"
)

// apk: Alpine, Wolfi, Chainguard and MinimOS,
// digit{.digit}...{letter}{_suffix{digits}}...{~hash}{-r#}.
//
// This is src/version.c of apk-tools v3 (the tokenizer of
// apk_version_validate and apk_version_compare): Parse accepts exactly what
// apk_version_validate accepts, and Compare walks both token streams as
// apk_version_compare does. Two choices differ from the C code only where it
// is not a total order: numbers compare as unbounded integers (apk parses
// them into a uint64 that silently wraps past 20 digits), and versions apk
// calls invalid never reach Compare (apk orders them by the position of the
// first bad token).

type apkScheme struct{}

// apk token kinds, in apk's order: a version whose next token kind is
// greater sorts first, unless the other's next token is a pre-release suffix.
const (
	apkInitialDigit = iota
	apkDigit
	apkLetter
	apkSuffix
	apkSuffixNo
	apkCommitHash
	apkRevisionNo
	apkEnd
)

// apkSuffixes in order; apkSuffixNone is the rank of "no suffix".
var apkSuffixes = []string{"alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg", "p"}

const apkSuffixNone = 4

type apkToken struct {
	kind   int
	suffix int    // index into apkSuffixes, for apkSuffix
	value  string // the token's text (digits, letter, suffix or hash)
}

type apkVersion struct {
	raw    string
	tokens []apkToken // ends with an apkEnd token
}

func (apkScheme) Parse(v string) (Version, error) {
	const scheme = "apk"
	if err := checkLen(scheme, v); err != nil {
		return nil, err
	}
	if v == "" {
		return nil, invalid(scheme, v, "empty version")
	}
	var toks []apkToken
	s := v
	digits := func() string {
		n := 0
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		d := s[:n]
		s = s[n:]
		return d
	}
	d := digits()
	if d == "" {
		return nil, invalid(scheme, v, "does not start with a digit")
	}
	toks = append(toks, apkToken{kind: apkInitialDigit, value: d})
	prev := apkInitialDigit
	for s != "" {
		var t apkToken
		c := s[0]
		switch {
		case isLower(c):
			if prev > apkDigit {
				return nil, invalid(scheme, v, "letter after "+apkKindName(prev))
			}
			t = apkToken{kind: apkLetter, value: s[:1]}
			s = s[1:]
		case c == '.' || isDigit(c):
			if c == '.' {
				if prev > apkDigit {
					return nil, invalid(scheme, v, "'.' after "+apkKindName(prev))
				}
				s = s[1:]
			}
			switch prev {
			case apkInitialDigit, apkDigit:
				t.kind = apkDigit
			case apkSuffix:
				t.kind = apkSuffixNo
			default:
				return nil, invalid(scheme, v, "number after "+apkKindName(prev))
			}
			if t.value = digits(); t.value == "" {
				return nil, invalid(scheme, v, "'.' not followed by a number")
			}
		case c == '_':
			if prev > apkSuffixNo {
				return nil, invalid(scheme, v, "suffix after "+apkKindName(prev))
			}
			s = s[1:]
			n := 0
			for n < len(s) && isLower(s[n]) {
				n++
			}
			t = apkToken{kind: apkSuffix, value: s[:n], suffix: -1}
			s = s[n:]
			for i, name := range apkSuffixes {
				if name != "" && name == t.value {
					t.suffix = i
				}
			}
			if t.suffix < 0 {
				return nil, invalid(scheme, v, "unknown suffix _"+t.value)
			}
		case c == '~':
			if prev >= apkCommitHash {
				return nil, invalid(scheme, v, "'~' after "+apkKindName(prev))
			}
			s = s[1:]
			n := 0
			for n < len(s) && (isDigit(s[n]) || (s[n] >= 'a' && s[n] <= 'f')) {
				n++
			}
			if n == 0 {
				return nil, invalid(scheme, v, "'~' not followed by a lower-case hex commit hash")
			}
			t = apkToken{kind: apkCommitHash, value: s[:n]}
			s = s[n:]
		case c == '-':
			if prev >= apkRevisionNo {
				return nil, invalid(scheme, v, "second revision")
			}
			if !strings.HasPrefix(s, "-r") {
				return nil, invalid(scheme, v, "'-' not followed by r and a revision number")
			}
			s = s[2:]
			t.kind = apkRevisionNo
			if t.value = digits(); t.value == "" {
				return nil, invalid(scheme, v, "-r not followed by a number")
			}
		default:
			return nil, invalid(scheme, v, "unexpected character "+strconv.Quote(s[:1]))
		}
		toks = append(toks, t)
		prev = t.kind
	}
	toks = append(toks, apkToken{kind: apkEnd})
	return apkVersion{raw: v, tokens: toks}, nil
}

func apkKindName(k int) string {
	return [...]string{"the first number", "a number", "a letter", "a suffix", "a suffix number", "a commit hash", "the revision", "the end"}[k]
}

func (a apkVersion) String() string { return a.raw }

func (a apkVersion) Compare(o Version) int {
	b, ok := o.(apkVersion)
	if !ok {
		return foreign(a, o)
	}
	i := 0
	for ; a.tokens[i].kind == b.tokens[i].kind && a.tokens[i].kind < apkEnd; i++ {
		if c := apkTokenCmp(a.tokens[i], b.tokens[i]); c != 0 {
			return c
		}
	}
	ta, tb := a.tokens[i], b.tokens[i]
	if ta.kind == tb.kind {
		return 0
	}
	// Equal so far: the one that goes on is greater, unless it goes on
	// with a pre-release suffix.
	if ta.kind == apkSuffix && ta.suffix < apkSuffixNone {
		return -1
	}
	if tb.kind == apkSuffix && tb.suffix < apkSuffixNone {
		return 1
	}
	if ta.kind > tb.kind {
		return -1
	}
	return 1
}

// apkTokenCmp is token_cmp: a number after a '.' with a leading zero compares
// as a string ("1.02" < "1.1"), other numbers by value, a commit hash as a
// string.
func apkTokenCmp(a, b apkToken) int {
	switch a.kind {
	case apkDigit:
		if a.value[0] == '0' || b.value[0] == '0' {
			return strings.Compare(a.value, b.value)
		}
		return cmpDigits(a.value, b.value)
	case apkInitialDigit, apkSuffixNo, apkRevisionNo:
		return cmpDigits(a.value, b.value)
	case apkSuffix:
		return sign(a.suffix - b.suffix)
	}
	// apkLetter, apkCommitHash: apk_blob_sort, a byte-wise compare where a
	// prefix sorts first, which is strings.Compare.
	return strings.Compare(a.value, b.value)
}
