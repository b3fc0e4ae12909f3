package secrets

import "bytes"

// Window and overlap of a Stream: text is scanned in windows of
// streamWindow bytes, each starting streamOverlap bytes before the end of
// the last, so that a credential cut by a window's end (a private key
// block is a few KiB) is whole in the next.
const (
	streamWindow  = 4 << 20
	streamOverlap = 64 << 10
)

// Stream finds the credentials in a text too large to hold at once, as
// it is written: the same hits Scan would return for the whole text (up
// to maxHitsPerRule of each rule), with their lines in the whole text
// and their offsets in it. Memory is bounded by one window. A text whose
// first ProbeBytes are not text (IsText) is not searched, as for Scan's
// callers.
type Stream struct {
	buf    []byte
	off    int // offset in the whole text of buf[0]
	line   int // lines before buf[0]
	binary bool
	probed bool
	seen   map[seenHit]bool
	count  map[*Rule]int
	hits   []Hit
}

// Write takes the next bytes of the text; it never fails.
func (s *Stream) Write(p []byte) (int, error) {
	if s.binary {
		return len(p), nil
	}
	s.buf = append(s.buf, p...)
	if !s.probed && len(s.buf) >= ProbeBytes {
		s.probe()
	}
	for !s.binary && len(s.buf) >= streamWindow {
		s.scan(len(s.buf) - streamOverlap)
	}
	return len(p), nil
}

func (s *Stream) probe() {
	s.probed = true
	if !IsText(s.buf) {
		s.binary, s.buf = true, nil
	}
}

// scan searches the buffered window and keeps what follows keep.
func (s *Stream) scan(keep int) {
	if s.seen == nil {
		s.seen, s.count = map[seenHit]bool{}, map[*Rule]int{}
	}
	// Up to maxHitsPerRule of a rule were seen in the overlap already;
	// as many again may be new.
	for _, h := range find(s.buf, 2*maxHitsPerRule) {
		k := seenHit{h.Rule, s.off + h.Start}
		if s.seen[k] || s.count[h.Rule] >= maxHitsPerRule {
			continue
		}
		s.seen[k] = true
		s.count[h.Rule]++
		h.Line += s.line
		h.Start += s.off
		h.End += s.off
		s.hits = append(s.hits, h)
	}
	s.line += bytes.Count(s.buf[:keep], []byte("\n"))
	s.off += keep
	s.buf = append(s.buf[:0], s.buf[keep:]...)
}

// Hits ends the text and returns what was found in it.
func (s *Stream) Hits() []Hit {
	if !s.probed {
		s.probe()
	}
	if !s.binary && len(s.buf) > 0 {
		s.scan(len(s.buf))
	}
	return s.hits
}

// seenHit names a hit in the whole text: the overlap of two windows
// finds it twice (a value cut by a window's end, shorter, at the same
// start).
type seenHit struct {
	rule  *Rule
	start int
}
