package vercmp

import "strings"

// rpm: Red Hat, AlmaLinux, Rocky Linux, openSUSE, SUSE, Mageia, openEuler,
// [epoch:]version[-release].
//
// The split is rpm's parseEVR (lib/rpmver.c): leading digits followed by ':'
// are the epoch (none means 0), the release follows the last '-'. Each part
// compares with rpmvercmp (rpmio/rpmvercmp.c): alphanumeric segments, digits
// newer than letters, numbers by value, '~' sorts before anything (even the
// end), '^' after the end but before anything else. As in rpmverCmp
// (lib/rpmver.c, what rpm.vercmp in rpm's Lua calls), a missing release
// sorts before any release, even "~1" (rpm's dependency matching instead
// skips the release when a range leaves it out; that is not an order).
// Parse rejects what rpm itself would not put in a version tag: empty
// parts, bytes outside printable ASCII.

type rpmScheme struct{}

type rpmVersion struct {
	raw                     string
	epoch, version, release string
	hasRelease              bool
}

func (rpmScheme) Parse(v string) (Version, error) {
	const scheme = "rpm"
	if err := checkLen(scheme, v); err != nil {
		return nil, err
	}
	if v == "" {
		return nil, invalid(scheme, v, "empty version")
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return nil, invalid(scheme, v, "byte outside printable ASCII")
		}
	}
	r := rpmVersion{raw: v, epoch: "0"}
	n := 0
	for n < len(v) && isDigit(v[n]) {
		n++
	}
	rest := v
	if n < len(v) && v[n] == ':' {
		if n > 0 {
			r.epoch = v[:n]
		}
		rest = v[n+1:]
	}
	r.version = rest
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		r.version, r.release, r.hasRelease = rest[:i], rest[i+1:], true
		if r.release == "" {
			return nil, invalid(scheme, v, "empty release after '-'")
		}
	}
	if r.version == "" {
		return nil, invalid(scheme, v, "empty version part")
	}
	return r, nil
}

func (r rpmVersion) String() string { return r.raw }

func (r rpmVersion) Compare(o Version) int {
	s, ok := o.(rpmVersion)
	if !ok {
		return foreign(r, o)
	}
	if c := rpmvercmp(r.epoch, s.epoch); c != 0 {
		return c
	}
	if c := rpmvercmp(r.version, s.version); c != 0 {
		return c
	}
	switch {
	case r.hasRelease && s.hasRelease:
		return rpmvercmp(r.release, s.release)
	case r.hasRelease:
		return 1
	case s.hasRelease:
		return -1
	}
	return 0
}

// rpmvercmp compares two version or release strings segment by segment.
func rpmvercmp(a, b string) int {
	if a == b {
		return 0
	}
	sep := func(c byte) bool { return !isAlnum(c) && c != '~' && c != '^' }
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && sep(a[i]) {
			i++
		}
		for j < len(b) && sep(b[j]) {
			j++
		}
		ca, cb := byte(0), byte(0)
		if i < len(a) {
			ca = a[i]
		}
		if j < len(b) {
			cb = b[j]
		}
		// '~' sorts before everything, the end included.
		if ca == '~' || cb == '~' {
			if ca != '~' {
				return 1
			}
			if cb != '~' {
				return -1
			}
			i++
			j++
			continue
		}
		// '^' sorts after the end but before anything else.
		if ca == '^' || cb == '^' {
			if ca == 0 {
				return -1
			}
			if cb == 0 {
				return 1
			}
			if ca != '^' {
				return 1
			}
			if cb != '^' {
				return -1
			}
			i++
			j++
			continue
		}
		if ca == 0 || cb == 0 {
			break
		}
		// One segment: all digits or all letters, typed by a's.
		class := isAlpha
		num := isDigit(ca)
		if num {
			class = isDigit
		}
		si, sj := i, j
		for i < len(a) && class(a[i]) {
			i++
		}
		for j < len(b) && class(b[j]) {
			j++
		}
		segA, segB := a[si:i], b[sj:j]
		if segB == "" {
			// Different types: numbers are newer than letters.
			if num {
				return 1
			}
			return -1
		}
		if num {
			if c := cmpDigits(segA, segB); c != 0 {
				return c
			}
		} else if c := strings.Compare(segA, segB); c != 0 {
			return c
		}
	}
	switch {
	case i >= len(a) && j >= len(b):
		return 0
	case i >= len(a):
		return -1
	}
	return 1
}
