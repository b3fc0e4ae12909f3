package secrets

import (
	"bytes"
	"slices"
	"sync"
)

// The generic-secret pattern has no literal to start from and folds case,
// so Go's regexp steps through every byte of a text with a dozen threads
// alive: it was nearly all of the time of a secrets scan. secretWindows
// finds, cheaply, the few parts of a text where it can match, so that it
// runs only there, with the same matches as over the whole text.
//
// Why the parts hold every match, and only whole-text matches: a match is
// a name ([a-z0-9_.-]*, case folded) ending with its secret word, which
// contains one of secretAnchors; the word ends the run of name characters
// it is in, since separators (quotes, blanks, ':' or '=') follow it; then
// the value, at most 128 characters without a blank or a quote, and its
// closing quote. The opening quote is among the separators, so the
// closing one is the first blank or quote from the end of the
// separators on (or within them). So a match lies between the start of
// the run of name characters holding an anchor and that blank or quote,
// at most valueBytes past the separators. The character
// before a run is neither a name nor a word character, so \b and the
// start of a part agree; the pattern looks at nothing past what it
// matches. Parts that overlap are merged, so that matches are found left
// to right as over the whole text.

// secretAnchors: every secret word of the generic-secret pattern
// (password, passwd, secret, token, api_key, access_key, auth_key,
// client_secret) contains one, in lower case.
var secretAnchors = [][]byte{[]byte("passw"), []byte("secret"), []byte("token"), []byte("key")}

// valueBytes bounds a value and its closing quote: 128 characters of up
// to 4 bytes, and one.
const valueBytes = 128*4 + 1

// foldsToASCII are the non-ASCII characters that case folding matches
// with an ASCII letter of a name (ſ with s, the Kelvin sign with k): a
// text with one is searched whole.
var foldsToASCII = [][]byte{[]byte("\u017f"), []byte("\u212a")}

var lowerPool = sync.Pool{New: func() any { return new([]byte) }}

// secretWindows returns the parts of text, in order and apart, that hold
// every generic-secret match; ok is false when text must be searched
// whole.
func secretWindows(text []byte) (parts [][2]int, ok bool) {
	for _, f := range foldsToASCII {
		if bytes.Contains(text, f) {
			return nil, false
		}
	}
	lp := lowerPool.Get().(*[]byte)
	defer lowerPool.Put(lp)
	lower := append((*lp)[:0], text...)
	for i, c := range lower {
		if 'A' <= c && c <= 'Z' {
			lower[i] = c + 'a' - 'A'
		}
	}
	*lp = lower
	var at []int
	for _, a := range secretAnchors {
		for i := 0; ; i += len(a) {
			j := bytes.Index(lower[i:], a)
			if j < 0 {
				break
			}
			at = append(at, i+j)
			i += j
		}
	}
	slices.Sort(at)
	runEnd := -1
	for _, k := range at {
		if k < runEnd {
			continue // in the run of the last anchor: the same part
		}
		start := k
		for start > 0 && nameByte(text[start-1]) {
			start--
		}
		runEnd = k
		for runEnd < len(text) && nameByte(text[runEnd]) {
			runEnd++
		}
		sepEnd := runEnd
		for sepEnd < len(text) && sepByte(text[sepEnd]) {
			sepEnd++
		}
		end := sepEnd
		for end < min(len(text), sepEnd+valueBytes) && !valueEnd(text[end]) {
			end++
		}
		end = min(len(text), end+1)
		if n := len(parts); n > 0 && start <= parts[n-1][1] {
			parts[n-1][1] = max(parts[n-1][1], end)
		} else {
			parts = append(parts, [2]int{start, end})
		}
	}
	return parts, true
}

// nameByte: [a-z0-9_.-] folding case, in ASCII.
func nameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-'
}

// valueEnd: what ends a value (\s and quotes; the closing quote is the
// first of them after the opening one).
func valueEnd(c byte) bool {
	switch c {
	case '"', '\'', ' ', '\t', '\n', '\f', '\r':
		return true
	}
	return false
}

// sepByte: what stands between a secret word and its value: quotes,
// blanks (\s), ':' and '='.
func sepByte(c byte) bool {
	switch c {
	case '"', '\'', ':', '=', ' ', '\t', '\n', '\f', '\r':
		return true
	}
	return false
}
