package vercmp

import "strings"

// semver: SemVer 2.0.0 precedence (semver.org section 11) for four flavors.
//
//   - crates.io: the strict grammar of semver.org: MAJOR.MINOR.PATCH, no
//     leading zeros in numbers or numeric pre-release identifiers.
//   - npm: node-semver's loose grammar (SemVer with loose: true), which npm
//     itself uses to read versions: leading white space, 'v' and '=' are
//     dropped, numbers may have leading zeros, the '-' before a pre-release
//     may be left out, numbers are at most 2^53-1.
//   - Go: golang.org/x/mod/semver with the leading "v" optional, as OSV
//     writes Go versions without it: "v1" and "v1.2" are short for v1.0.0
//     and v1.2.0; "+incompatible" is build metadata and ignored.
//   - NuGet: NuGet.Versioning: one to four numbers (missing ones are 0, so
//     1.0 == 1.0.0.0), leading zeros allowed, pre-release labels compared
//     without regard to case.
//
// Build metadata never takes part in comparison. Numbers compare as
// unbounded integers.

type semverFlavor int

const (
	semverStrict semverFlavor = iota
	semverNpm
	semverGo
	semverNuGet
)

type semverScheme struct{ flavor semverFlavor }

type semverVersion struct {
	raw     string
	flavor  semverFlavor
	nums    [4]string // digits without leading zeros; "" means 0
	pre     []string  // pre-release identifiers; nil for a release
	foldPre bool      // compare pre-release identifiers without case
}

// npmMaxSafeInteger is Number.MAX_SAFE_INTEGER, node-semver's bound.
const npmMaxSafeInteger = "9007199254740991"

func (s semverScheme) Parse(v string) (Version, error) {
	scheme := [...]string{"semver", "npm", "go", "nuget"}[s.flavor]
	if err := checkLen(scheme, v); err != nil {
		return nil, err
	}
	str := v
	switch s.flavor {
	case semverNpm:
		str = strings.TrimSpace(str)
		str = strings.TrimLeft(str, "v= \t\n\v\f\r")
	case semverGo:
		str = strings.TrimPrefix(str, "v")
	}
	sv := semverVersion{raw: v, flavor: s.flavor, foldPre: s.flavor == semverNuGet}
	if s.flavor == semverNpm {
		sv.raw = strings.TrimSpace(v)
	}

	// The numeric part.
	core := str
	if i := strings.IndexAny(str, "-+"); i >= 0 {
		core, str = str[:i], str[i:]
	} else {
		str = ""
	}
	if s.flavor == semverNpm {
		// The '-' before a pre-release is optional: 1.2.3beta.
		n := 0
		for dots := 0; n < len(core); n++ {
			if core[n] == '.' {
				dots++
			} else if !isDigit(core[n]) && dots == 2 {
				break
			}
		}
		if n < len(core) {
			core, str = core[:n], "-"+core[n:]+str
		}
	}
	parts := strings.Split(core, ".")
	min, max := 3, 3
	switch s.flavor {
	case semverGo:
		min = 1
	case semverNuGet:
		min, max = 1, 4
	}
	if len(parts) < min || len(parts) > max {
		return nil, invalid(scheme, v, "wrong number of numeric parts")
	}
	for i, p := range parts {
		if !allDigits(p) {
			return nil, invalid(scheme, v, "numeric part is not a number")
		}
		if len(p) > 1 && p[0] == '0' && (s.flavor == semverStrict || s.flavor == semverGo) {
			return nil, invalid(scheme, v, "numeric part has a leading zero")
		}
		p = strings.TrimLeft(p, "0")
		if s.flavor == semverNpm && cmpDigits(p, npmMaxSafeInteger) > 0 {
			return nil, invalid(scheme, v, "number over 2^53-1")
		}
		sv.nums[i] = p
	}
	if s.flavor == semverGo && len(parts) < 3 && str != "" {
		return nil, invalid(scheme, v, "short version with pre-release or build")
	}

	// Pre-release, then build.
	build := ""
	if strings.HasPrefix(str, "-") {
		pre := str[1:]
		if i := strings.IndexByte(pre, '+'); i >= 0 {
			pre, build = pre[:i], pre[i:]
		}
		sv.pre = strings.Split(pre, ".")
		for _, id := range sv.pre {
			if !semverIdent(id) {
				return nil, invalid(scheme, v, "bad pre-release identifier")
			}
			if len(id) > 1 && id[0] == '0' && allDigits(id) && (s.flavor == semverStrict || s.flavor == semverGo) {
				return nil, invalid(scheme, v, "numeric pre-release identifier has a leading zero")
			}
		}
	} else {
		build = str
	}
	if build != "" {
		if build[0] != '+' {
			return nil, invalid(scheme, v, "unexpected text after the version")
		}
		for _, id := range strings.Split(build[1:], ".") {
			if !semverIdent(id) {
				return nil, invalid(scheme, v, "bad build identifier")
			}
		}
	}
	return sv, nil
}

// semverIdent reports whether id is a non-empty run of [0-9A-Za-z-].
func semverIdent(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isAlnum(id[i]) && id[i] != '-' {
			return false
		}
	}
	return true
}

func (a semverVersion) String() string { return a.raw }

func (a semverVersion) Compare(o Version) int {
	b, ok := o.(semverVersion)
	if !ok || a.flavor != b.flavor {
		return foreign(a, o)
	}
	for i := range a.nums {
		if c := cmpDigits(a.nums[i], b.nums[i]); c != 0 {
			return c
		}
	}
	// A release is newer than any of its pre-releases.
	switch {
	case a.pre == nil && b.pre == nil:
		return 0
	case a.pre == nil:
		return 1
	case b.pre == nil:
		return -1
	}
	for i := 0; i < len(a.pre) && i < len(b.pre); i++ {
		if c := semverIdentCmp(a.pre[i], b.pre[i], a.foldPre); c != 0 {
			return c
		}
	}
	return sign(len(a.pre) - len(b.pre))
}

// semverIdentCmp: numbers by value, numbers before text, text in ASCII
// order (NuGet: ignoring case).
func semverIdentCmp(x, y string, fold bool) int {
	nx, ny := allDigits(x), allDigits(y)
	switch {
	case nx && ny:
		return cmpDigits(x, y)
	case nx:
		return -1
	case ny:
		return 1
	case fold:
		return strings.Compare(strings.ToLower(x), strings.ToLower(y))
	}
	return strings.Compare(x, y)
}
