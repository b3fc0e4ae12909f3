// Package vercmp owns version comparison under each package ecosystem's own
// rules, as matching installed packages against OSV records needs.
//
// Data flows one way: a version string from an SBOM, a package database or an
// OSV range goes to For(ecosystem).Parse, which checks it against that
// ecosystem's grammar and returns a Version (or an error saying why the
// string is not a version there); two Versions of the same Scheme then compare
// with Compare. Nothing here does I/O, allocates in proportion to more than
// the input, or panics: every string is bounded by MaxLen before it is looked
// at, so comparison time is bounded too.
//
// Each scheme follows one reference implementation, named in its file and
// tested with that implementation's own test vectors:
//
//	dpkg     Debian, Ubuntu                      dpkg lib/dpkg/version.c, parsehelp.c
//	apk      Alpine, Wolfi, Chainguard, MinimOS  apk-tools src/version.c
//	rpm      Red Hat, AlmaLinux, Rocky Linux,    rpm rpmio/rpmvercmp.c, lib/rpmver.c
//	         openSUSE, SUSE, Mageia, openEuler
//	semver   crates.io (SemVer 2.0.0), npm (node-semver loose), Go
//	         (golang.org/x/mod/semver, "v" optional), NuGet (NuGet.Versioning)
//	pep440   PyPI                                pypa/packaging version.py
//	maven    Maven                               maven-artifact ComparableVersion
//	gem      RubyGems                            rubygems Gem::Version
//	composer Packagist                           composer/semver VersionParser::normalize
//	                                             then PHP version_compare
//
// Every Compare is a total order on the versions its Parse accepts (fuzz
// tests check reflexivity, antisymmetry and transitivity). Where the reference
// is not a total order, or depends on machine word size, the scheme's file
// says what was chosen instead.
package vercmp

import (
	"errors"
	"fmt"
	"strings"
)

// MaxLen is the longest version string any Scheme accepts, in bytes.
// Longer input is rejected before it is parsed, so hostile input cannot make
// parsing or comparison slow (node-semver and Maven use the same bound).
const MaxLen = 256

// ErrInvalid is wrapped by every Parse error: the string is not a version
// under that ecosystem's rules.
var ErrInvalid = errors.New("invalid version")

// ErrUnknownEcosystem is wrapped by Compare when For does not know the
// ecosystem.
var ErrUnknownEcosystem = errors.New("unknown ecosystem")

// Scheme compares versions of one ecosystem.
type Scheme interface {
	// Parse checks v; an error says why it is not a valid version here.
	Parse(v string) (Version, error)
}

// Version is one parsed version. Compare returns -1, 0 or +1 as the receiver
// sorts before, equal to or after o. o must come from the same Scheme; a
// Version of another scheme is not comparable, and Compare then orders by
// String only so that it never panics. String returns the input as given to
// Parse (less surrounding white space where the scheme ignores it).
type Version interface {
	Compare(o Version) int
	String() string
}

// ecosystems maps OSV ecosystem names (the part before any ':') to schemes.
var ecosystems = map[string]Scheme{
	"Debian": dpkgScheme{},
	"Ubuntu": dpkgScheme{},

	"Alpine":     apkScheme{},
	"Wolfi":      apkScheme{},
	"Chainguard": apkScheme{},
	"MinimOS":    apkScheme{},

	"Red Hat":     rpmScheme{},
	"AlmaLinux":   rpmScheme{},
	"Rocky Linux": rpmScheme{},
	"openSUSE":    rpmScheme{},
	"SUSE":        rpmScheme{},
	"Mageia":      rpmScheme{},
	"openEuler":   rpmScheme{},
	"Azure Linux": rpmScheme{},
	"Photon OS":   rpmScheme{},

	"crates.io": semverScheme{flavor: semverStrict},
	"npm":       semverScheme{flavor: semverNpm},
	"Go":        semverScheme{flavor: semverGo},
	"NuGet":     semverScheme{flavor: semverNuGet},

	"PyPI":      pep440Scheme{},
	"Maven":     mavenScheme{},
	"RubyGems":  gemScheme{},
	"Packagist": composerScheme{},
}

// For returns the Scheme of an OSV ecosystem name. A release suffix after the
// first ':' ("Debian:12", "Alpine:v3.20", "Red Hat:enterprise_linux:9") maps
// to its base ecosystem. Names are matched exactly, as OSV spells them.
func For(ecosystem string) (Scheme, bool) {
	base, _, _ := strings.Cut(ecosystem, ":")
	s, ok := ecosystems[base]
	return s, ok
}

// Compare parses a and b under ecosystem's rules and compares them: -1, 0
// or +1 as a sorts before, equal to or after b.
func Compare(ecosystem, a, b string) (int, error) {
	s, ok := For(ecosystem)
	if !ok {
		return 0, fmt.Errorf("%w %q", ErrUnknownEcosystem, truncate(ecosystem))
	}
	return CompareIn(s, a, b)
}

// CompareIn is Compare under a Scheme already looked up.
func CompareIn(s Scheme, a, b string) (int, error) {
	va, err := s.Parse(a)
	if err != nil {
		return 0, err
	}
	vb, err := s.Parse(b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

// invalid builds a Parse error naming the scheme, the input and the reason.
func invalid(scheme, v, reason string) error {
	return fmt.Errorf("%w: %s %q: %s", ErrInvalid, scheme, truncate(v), reason)
}

// checkLen rejects input over MaxLen before anything else looks at it.
func checkLen(scheme, v string) error {
	if len(v) > MaxLen {
		return fmt.Errorf("%w: %s version of %d bytes is over the %d-byte limit", ErrInvalid, scheme, len(v), MaxLen)
	}
	return nil
}

// truncate keeps error messages short whatever the input.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// foreign orders a Version against one of another scheme: by String only,
// never meaningfully (see Version).
func foreign(a, b Version) int {
	return strings.Compare(a.String(), b.String())
}

// sign maps any int to -1, 0 or +1.
func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// cmpDigits compares two strings of ASCII digits as unbounded non-negative
// integers, so no scheme depends on a word size.
func cmpDigits(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isAlpha(c byte) bool { return isLower(c) || isUpper(c) }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

// allDigits reports whether s is a non-empty run of ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// NormalizeName is the name a package goes by in its ecosystem, for
// comparing names: PyPI's as PEP 503 normalizes them (lower case, runs of
// "-", "_" and "." as one "-"), others as they are.
func NormalizeName(ecosystem, name string) string {
	base, _, _ := strings.Cut(ecosystem, ":")
	if base != "PyPI" {
		return name
	}
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if c == '-' || c == '_' || c == '.' {
			if !dash {
				b.WriteByte('-')
			}
			dash = true
			continue
		}
		dash = false
		b.WriteRune(c)
	}
	return b.String()
}
