package vercmp

import "strings"

// maven: Maven versions, by ComparableVersion of maven-artifact (the Maven 4
// line, compat/maven-artifact, which also implements the POM reference's
// "version order specification").
//
// A version is a list of items split at '.', '-' and digit/letter
// transitions; a '-' (or a letter/digit transition) opens a sub-list.
// Numbers compare by value, known qualifiers in the order
// alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release
// < sp, then unknown qualifiers in lexical order; "a1", "b1", "m1" mean
// alpha-1, beta-1, milestone-1; "X1" and "X-1" are one combination item;
// trailing and zero items that carry no weight are dropped, so 1 == 1.0 ==
// 1-0 and 2-X == 2.0.X. Parse, the items and their compare rules follow
// ComparableVersion.parseVersion and its Item classes. Unlike Maven, Parse
// rejects non-ASCII input (Maven lower-cases it with Java's rules and takes
// Unicode digits inside combination items), and numbers compare by value
// whatever their length.

type mavenScheme struct{}

// Item kinds.
const (
	mvNum = iota
	mvString
	mvList
	mvCombo
)

type mvItem struct {
	kind  int
	num   string    // mvNum: digits without leading zeros, "" is 0
	str   string    // mvString: lower-cased, aliases applied
	list  []*mvItem // mvList
	sPart *mvItem   // mvCombo: its string part
	dPart *mvItem   // mvCombo: its number part
}

type mavenVersion struct {
	raw   string
	items *mvItem
}

func (mavenScheme) Parse(v string) (Version, error) {
	const scheme = "maven"
	if err := checkLen(scheme, v); err != nil {
		return nil, err
	}
	if v == "" {
		return nil, invalid(scheme, v, "empty version")
	}
	for i := 0; i < len(v); i++ {
		if v[i] < ' ' || v[i] > '~' {
			return nil, invalid(scheme, v, "byte outside printable ASCII")
		}
	}
	return mavenVersion{raw: v, items: mavenParse(strings.ToLower(v))}, nil
}

func mvNumber(s string) *mvItem {
	return &mvItem{kind: mvNum, num: strings.TrimLeft(s, "0")}
}

func mvStr(s string, followedByDigit bool) *mvItem {
	if followedByDigit && len(s) == 1 {
		switch s {
		case "a":
			s = "alpha"
		case "b":
			s = "beta"
		case "m":
			s = "milestone"
		}
	}
	if s == "cr" {
		s = "rc"
	}
	return &mvItem{kind: mvString, str: s}
}

// mvParseItem builds one item from a token of the version string.
func mvParseItem(combination, digit bool, buf string) *mvItem {
	switch {
	case combination:
		buf = strings.ReplaceAll(buf, "-", "")
		i := strings.IndexAny(buf, "0123456789")
		if i < 0 { // cannot happen: a combination ends in digits
			i = len(buf)
		}
		return &mvItem{kind: mvCombo, sPart: mvStr(buf[:i], true), dPart: mvNumber(buf[i:])}
	case digit:
		return mvNumber(buf)
	}
	return mvStr(buf, false)
}

// mavenParse is ComparableVersion.parseVersion on a lower-cased string.
func mavenParse(v string) *mvItem {
	root := &mvItem{kind: mvList}
	list := root
	stack := []*mvItem{root}
	push := func() {
		l := &mvItem{kind: mvList}
		list.list = append(list.list, l)
		list = l
		stack = append(stack, l)
	}
	add := func(it *mvItem) { list.list = append(list.list, it) }
	zero := func() *mvItem { return &mvItem{kind: mvNum} }

	isDig, isCombo := false, false
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '.':
			if i == start {
				add(zero())
			} else {
				add(mvParseItem(isCombo, isDig, v[start:i]))
			}
			isCombo = false
			start = i + 1
		case c == '-':
			if i == start {
				add(zero())
			} else {
				// X-1 is read as X1.
				if !isDig && i != len(v)-1 && isDigit(v[i+1]) {
					isCombo = true
					continue
				}
				add(mvParseItem(isCombo, isDig, v[start:i]))
			}
			start = i + 1
			if len(list.list) > 0 {
				push()
			}
			isCombo = false
		case isDigit(c):
			if !isDig && i > start {
				// X1
				isCombo = true
				if len(list.list) > 0 {
					push()
				}
			}
			isDig = true
		default:
			if isDig && i > start {
				add(mvParseItem(isCombo, true, v[start:i]))
				start = i
				push()
				isCombo = false
			}
			isDig = false
		}
	}
	if len(v) > start {
		// 1.0.0.X1 < 1.0.0-X2: treat .X as -X for any qualifier X.
		if !isDig && len(list.list) > 0 {
			push()
		}
		add(mvParseItem(isCombo, isDig, v[start:]))
	}
	for i := len(stack) - 1; i >= 0; i-- {
		stack[i].normalize()
	}
	return root
}

func (it *mvItem) isNull() bool {
	switch it.kind {
	case mvNum:
		return it.num == ""
	case mvString:
		return it.str == ""
	case mvList:
		return len(it.list) == 0
	}
	return false
}

// normalize drops null items that carry no weight: trailing ones, and those
// before a qualifier (directly or opening the next sub-list).
func (it *mvItem) normalize() {
	for i := len(it.list) - 1; i >= 0; i-- {
		if !it.list[i].isNull() {
			continue
		}
		if i == len(it.list)-1 {
			it.list = append(it.list[:i], it.list[i+1:]...)
			continue
		}
		next := it.list[i+1]
		switch {
		case next.kind == mvString:
			it.list = append(it.list[:i], it.list[i+1:]...)
		case next.kind == mvList && len(next.list) > 0 &&
			(next.list[0].kind == mvCombo || next.list[0].kind == mvString):
			it.list = append(it.list[:i], it.list[i+1:]...)
		}
	}
	if len(it.list) == 1 && it.list[0].kind == mvList {
		// Removing a zero prefix must not leave an extra nesting level.
		it.list = it.list[0].list
	}
}

// mvQualifierRank orders qualifiers: known ones by position, "" and the
// release aliases at 5, unknown ones after all (and then lexically).
func mvQualifierRank(q string) int {
	switch q {
	case "alpha":
		return 0
	case "beta":
		return 1
	case "milestone":
		return 2
	case "rc":
		return 3
	case "snapshot":
		return 4
	case "", "ga", "final", "release":
		return 5
	case "sp":
		return 6
	}
	return 7
}

func mvQualifierCmp(a, b string) int {
	ra, rb := mvQualifierRank(a), mvQualifierRank(b)
	if ra != rb {
		return sign(ra - rb)
	}
	if ra == 7 {
		return strings.Compare(a, b)
	}
	return 0
}

// cmp compares it with o; o == nil stands for a missing item (padding).
func (it *mvItem) cmp(o *mvItem) int {
	switch it.kind {
	case mvNum:
		if o == nil {
			if it.num == "" {
				return 0
			}
			return 1
		}
		if o.kind == mvNum {
			return cmpDigits(it.num, o.num)
		}
		return 1 // 1.1 > 1-sp, 1.1 > 1-1
	case mvString:
		if o == nil {
			return mvQualifierCmp(it.str, "") // 1-rc < 1, 1-sp > 1
		}
		switch o.kind {
		case mvNum:
			return -1
		case mvString:
			return mvQualifierCmp(it.str, o.str)
		case mvCombo:
			if c := it.cmp(o.sPart); c != 0 {
				return c
			}
			if it.cmp(nil) == 0 {
				return -o.dPart.cmp(nil)
			}
			return -1
		}
		return -o.cmp(it)
	case mvCombo:
		if o == nil {
			// 1-rc1 < 1, 1-ga1 > 1
			if c := it.sPart.cmp(nil); c != 0 {
				return c
			}
			return it.dPart.cmp(nil)
		}
		switch o.kind {
		case mvNum:
			return -1
		case mvString:
			if c := it.sPart.cmp(o); c != 0 {
				return c
			}
			if it.sPart.cmp(nil) == 0 {
				return it.dPart.cmp(nil)
			}
			return 1 // X1 > X
		case mvCombo:
			if c := it.sPart.cmp(o.sPart); c != 0 {
				return c
			}
			return it.dPart.cmp(o.dPart)
		}
		return -o.cmp(it)
	}
	// mvList
	if o == nil {
		for _, x := range it.list {
			if c := x.cmp(nil); c != 0 {
				return c
			}
		}
		return 0
	}
	switch o.kind {
	case mvNum:
		return -1 // 1-1 < 1.0.x
	case mvString, mvCombo:
		var c int
		if len(it.list) == 0 {
			c = -o.cmp(nil)
		} else {
			c = it.list[0].cmp(o)
		}
		for i := 1; c == 0 && i < len(it.list); i++ {
			c = it.list[i].cmp(nil)
		}
		return c
	}
	for i := 0; i < len(it.list) || i < len(o.list); i++ {
		var c int
		switch {
		case i >= len(it.list):
			c = -o.list[i].cmp(nil)
		case i >= len(o.list):
			c = it.list[i].cmp(nil)
		default:
			c = it.list[i].cmp(o.list[i])
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func (m mavenVersion) String() string { return m.raw }

func (m mavenVersion) Compare(o Version) int {
	n, ok := o.(mavenVersion)
	if !ok {
		return foreign(m, o)
	}
	return m.items.cmp(n.items)
}
