package vercmp

import "strings"

// dpkg: Debian and Ubuntu, [epoch:]upstream[-revision].
//
// Parse follows parseversion in dpkg's lib/dpkg/parsehelp.c and rejects what
// it rejects, errors and warnings alike (a warning there is a version
// dpkg-deb refuses to build: not starting with a digit, a character outside
// [A-Za-z0-9.+~-:] upstream or [A-Za-z0-9.+~] in the revision). The epoch is
// digits only; parsehelp.c's strtol would also take a sign or leading white
// space. Compare is dpkg_version_compare and verrevcmp from lib/dpkg/version.c.

type dpkgScheme struct{}

type dpkgVersion struct {
	raw      string
	epoch    string // digits, no sign
	upstream string
	revision string
}

const dpkgMaxEpoch = "2147483647" // INT_MAX, parseversion's limit

func (dpkgScheme) Parse(v string) (Version, error) {
	const scheme = "dpkg"
	if err := checkLen(scheme, v); err != nil {
		return nil, err
	}
	s := strings.Trim(v, " \t")
	if s == "" {
		return nil, invalid(scheme, v, "version string is empty")
	}
	if strings.ContainsAny(s, " \t") {
		return nil, invalid(scheme, v, "version string has embedded spaces")
	}
	d := dpkgVersion{raw: s, epoch: "0"}
	rest := s
	if e, after, ok := strings.Cut(s, ":"); ok {
		switch {
		case e == "":
			return nil, invalid(scheme, v, "epoch in version is empty")
		case e[0] == '-' && allDigits(e[1:]):
			return nil, invalid(scheme, v, "epoch in version is negative")
		case !allDigits(e):
			return nil, invalid(scheme, v, "epoch in version is not number")
		case cmpDigits(e, dpkgMaxEpoch) > 0:
			return nil, invalid(scheme, v, "epoch in version is too big")
		case after == "":
			return nil, invalid(scheme, v, "nothing after colon in version number")
		}
		d.epoch, rest = e, after
	}
	d.upstream = rest
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		d.upstream, d.revision = rest[:i], rest[i+1:]
		if d.revision == "" {
			return nil, invalid(scheme, v, "revision number is empty")
		}
	}
	if d.upstream == "" {
		return nil, invalid(scheme, v, "version number is empty")
	}
	if !isDigit(d.upstream[0]) {
		return nil, invalid(scheme, v, "version number does not start with digit")
	}
	for i := 0; i < len(d.upstream); i++ {
		if c := d.upstream[i]; !isAlnum(c) && !strings.ContainsRune(".-+~:", rune(c)) {
			return nil, invalid(scheme, v, "invalid character in version number")
		}
	}
	for i := 0; i < len(d.revision); i++ {
		if c := d.revision[i]; !isAlnum(c) && !strings.ContainsRune(".+~", rune(c)) {
			return nil, invalid(scheme, v, "invalid character in revision number")
		}
	}
	return d, nil
}

func (d dpkgVersion) String() string { return d.raw }

func (d dpkgVersion) Compare(o Version) int {
	e, ok := o.(dpkgVersion)
	if !ok {
		return foreign(d, o)
	}
	if c := cmpDigits(d.epoch, e.epoch); c != 0 {
		return c
	}
	if c := verrevcmp(d.upstream, e.upstream); c != 0 {
		return c
	}
	return verrevcmp(d.revision, e.revision)
}

// dpkgOrder weighs one character of a non-digit run: '~' before the end of
// the string, the end before letters, letters before everything else.
func dpkgOrder(c byte) int {
	switch {
	case isDigit(c):
		return 0
	case isAlpha(c):
		return int(c)
	case c == '~':
		return -1
	case c != 0:
		return int(c) + 256
	}
	return 0
}

// verrevcmp compares alternating non-digit and digit runs of a and b.
// Reading past the end yields 0, as the NUL terminator does in C.
func verrevcmp(a, b string) int {
	at := func(s string, i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := dpkgOrder(at(a, i)), dpkgOrder(at(b, j))
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		firstDiff := 0
		for i < len(a) && j < len(b) && isDigit(a[i]) && isDigit(b[j]) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if firstDiff != 0 {
			return sign(firstDiff)
		}
	}
	return 0
}
