package vercmp

import (
	"regexp"
	"strings"
	"sync"
)

// gem: RubyGems versions, Gem::Version of rubygems (lib/rubygems/version.rb).
//
// Parse takes what Gem::Version.correct? takes: white space around, a
// number first, '.'-separated alphanumerics, an optional '-' tail that
// becomes ".pre." (so 1.0.0-1 is the pre-release 1.0.0.pre.1); an empty or
// all-blank string is "0". Compare is Gem::Version#<=> on canonical segments:
// runs of digits (numbers) and of letters (strings) with trailing zeros of
// the release part and of the pre-release part dropped; a missing segment is
// 0, strings sort before numbers, strings compare byte-wise (case counts).
// rubygems' development branch now reads "1.0.0-beta.1" as "1.0.0.beta.1";
// this follows the released behaviour (Ruby 3.x's rubygems).

type gemScheme struct{}

var gemRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$`)
})

// gemSeg is one segment: a number (digits, no leading zeros) or a string.
type gemSeg struct {
	str   string
	num   string
	isStr bool
}

type gemVersion struct {
	raw  string
	segs []gemSeg // canonical segments
}

func (gemScheme) Parse(v string) (Version, error) {
	const scheme = "rubygems"
	if err := checkLen(scheme, v); err != nil {
		return nil, err
	}
	// Ruby's \s is [ \t\r\n\f\v].
	s := strings.Trim(v, " \t\r\n\f\v")
	if s == "" {
		s = "0"
	} else if !gemRe().MatchString(s) {
		return nil, invalid(scheme, v, "malformed version number string")
	}
	g := gemVersion{raw: s}
	norm := strings.ReplaceAll(s, "-", ".pre.")
	var segs []gemSeg
	for i := 0; i < len(norm); {
		j := i
		switch {
		case isDigit(norm[i]):
			for j < len(norm) && isDigit(norm[j]) {
				j++
			}
			segs = append(segs, gemSeg{num: strings.TrimLeft(norm[i:j], "0")})
		case isAlpha(norm[i]):
			for j < len(norm) && isAlpha(norm[j]) {
				j++
			}
			segs = append(segs, gemSeg{str: norm[i:j], isStr: true})
		default:
			j++
		}
		i = j
	}
	// canonical_segments: split at the first string, drop trailing zeros of
	// each half.
	split := len(segs)
	for i, sg := range segs {
		if sg.isStr {
			split = i
			break
		}
	}
	g.segs = append(gemTrimZeros(segs[:split]), gemTrimZeros(segs[split:])...)
	return g, nil
}

func gemTrimZeros(segs []gemSeg) []gemSeg {
	for len(segs) > 0 && !segs[len(segs)-1].isStr && segs[len(segs)-1].num == "" {
		segs = segs[:len(segs)-1]
	}
	return segs
}

func (g gemVersion) String() string { return g.raw }

func (g gemVersion) Compare(o Version) int {
	h, ok := o.(gemVersion)
	if !ok {
		return foreign(g, o)
	}
	zero := gemSeg{}
	for i := 0; i < len(g.segs) || i < len(h.segs); i++ {
		l, r := zero, zero
		if i < len(g.segs) {
			l = g.segs[i]
		}
		if i < len(h.segs) {
			r = h.segs[i]
		}
		switch {
		case l.isStr && r.isStr:
			if c := strings.Compare(l.str, r.str); c != 0 {
				return c
			}
		case l.isStr:
			return -1
		case r.isStr:
			return 1
		default:
			if c := cmpDigits(l.num, r.num); c != 0 {
				return c
			}
		}
	}
	return 0
}
