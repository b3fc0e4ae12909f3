package secrets

import (
	"bytes"
	"sync"
)

// keywordIndex says which rules have a keyword in a text in one pass
// over it, where a bytes.Contains per keyword made 45 passes (most
// keywords occur in no text): a bit set of the keywords' first two bytes
// tells the few places to compare.
type keywordIndex struct {
	pairs  [1 << 16 / 64]uint64
	byPair map[uint16][]ruleKeyword
}

type ruleKeyword struct {
	kw   []byte
	rule int
}

func pair(a, b byte) uint16 { return uint16(a)<<8 | uint16(b) }

var keywords = sync.OnceValue(func() *keywordIndex {
	x := &keywordIndex{byPair: map[uint16][]ruleKeyword{}}
	for i, r := range rules {
		for _, k := range r.Keywords {
			p := pair(k[0], k[1]) // every keyword has two bytes at least
			x.pairs[p/64] |= 1 << (p % 64)
			x.byPair[p] = append(x.byPair[p], ruleKeyword{[]byte(k), i})
		}
	}
	return x
})

// rulesIn returns the rules with a keyword in text, as a bit set by
// their index.
func rulesIn(text []byte) uint64 {
	x := keywords()
	all := uint64(1)<<len(rules) - 1
	var in uint64
	for i := 0; i+1 < len(text); i++ {
		p := pair(text[i], text[i+1])
		if x.pairs[p/64]&(1<<(p%64)) == 0 {
			continue
		}
		for _, rk := range x.byPair[p] {
			if in&(1<<rk.rule) == 0 && bytes.HasPrefix(text[i:], rk.kw) {
				in |= 1 << rk.rule
			}
		}
		if in == all {
			break
		}
	}
	return in
}
