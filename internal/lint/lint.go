// Package lint judges an image's configuration and files against a list
// of checks, in the class of Dockle and section 4 of the CIS Docker
// Benchmark.
//
// Data flow: Run takes an opened image. Its configuration is masked once
// (secrets.Mask: every credential in ENV, labels, history, CMD...) before
// any check sees it, so no check can quote a secret as evidence; what was
// masked is in Subject.Found for the secret checks. Config checks read that
// masked configuration once; file checks are asked, per merged file, whether they
// want it (Match) and, if so, are handed its header and, when they asked
// for it, its first bytes. The image is walked once for all checks; checks
// never walk. Checks are plain values in the list All returns.
package lint

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sync"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/secrets"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Subject is what config checks see of an image.
type Subject struct {
	// Kind is the source the image came from.
	Kind image.Kind
	// Tag is the tag the image was reached by, "" if by digest or none.
	Tag string
	// ByDigest is true when the reference pinned a digest.
	ByDigest bool
	// Config is the image configuration with every credential masked:
	// checks may quote it as evidence.
	Config *v1.ConfigFile
	// Found lists the credentials masked out of a field of Config, by
	// field: "config.Env[2]", "config.Labels[KEY]", "history[3]".
	Found map[string][]secrets.Found
}

// Hit is one thing a check found: where, and what it saw.
type Hit struct {
	Path     string // set by file checks
	Field    string // set by config checks
	Evidence string
}

// Want says what a file check needs of a file.
type Want int

// What a file check can ask for.
const (
	Skip    Want = iota // not interested
	Header              // the tar header is enough
	Content             // also the content, if at most MaxContent bytes (a larger file is the check's error)
	Text                // the content, if the file looks like text (no NUL in its first 512 bytes)
)

// Check is one lint rule. A check sets Config, or Match and File.
type Check struct {
	finding.Rule
	// Config judges the image configuration.
	Config func(s *Subject) []Hit
	// Match is asked for every merged file; it must be cheap.
	Match func(f *image.File) Want
	// File judges a file Match wanted; data is nil unless Match said
	// Content, and is the whole file: one over Options.MaxContent is not
	// judged, and the check reports an error naming it.
	File func(f *image.File, data []byte) []Hit
	// Collapse merges this check's hits that share a Path into one
	// finding that counts them (e.g. one per cache directory).
	Collapse bool
}

// All returns every check, config checks first.
func All() []Check {
	return append(configChecks(), fileChecks()...)
}

// Options tune Run.
type Options struct {
	// Checks to run; default All().
	Checks []Check
	// Ignore maps the IDs of checks to skip to why ("--ignore", or the
	// policy's reason), which the skipped check's reason repeats.
	Ignore map[string]string
	// MaxContent bounds the bytes read of one file for content checks
	// (default 1 MiB); a larger file leaves its check in error.
	MaxContent int64
	// OnLayer reports progress; see image.VisitOptions.
	OnLayer func(done, count int)
}

// Result is what Run found.
type Result struct {
	Rules    []finding.Rule
	Checks   []finding.CheckStatus
	Findings []finding.Finding
}

// ErrUnknownCheck is wrapped when an ignore list names no check.
var ErrUnknownCheck = fmt.Errorf("unknown check ID")

// CheckIDs returns an error wrapping ErrUnknownCheck when ids name a
// check that is not in All, as Run does for its ignore list.
func CheckIDs(ids []string) error { return knownIDs(All(), ids) }

func knownIDs(checks []Check, ids []string) error {
	for _, id := range ids {
		if !slices.ContainsFunc(checks, func(c Check) bool { return c.ID == id }) {
			return fmt.Errorf("%w %q (see hull lint --list)", ErrUnknownCheck, id)
		}
	}
	return nil
}

// Run lints an opened image. A check that panics or errs is reported with
// state error; Run's own error means the image could not be read.
func Run(ctx context.Context, im *image.Image, o Options) (*Result, error) {
	checks := o.Checks
	if checks == nil {
		checks = All()
	}
	if o.MaxContent <= 0 {
		o.MaxContent = 1 << 20
	}
	res := &Result{}
	var active []Check
	if err := knownIDs(checks, slices.Sorted(maps.Keys(o.Ignore))); err != nil {
		return nil, err
	}
	for _, c := range checks {
		res.Rules = append(res.Rules, c.Rule)
		if why, ok := o.Ignore[c.ID]; ok {
			reason := "ignored"
			if why != "" {
				reason += " (" + why + ")"
			}
			res.Checks = append(res.Checks, finding.CheckStatus{ID: c.ID, State: finding.StateSkip, Reason: reason})
			continue
		}
		if c.Config != nil && im.Ref.Kind == image.KindDir {
			res.Checks = append(res.Checks, finding.CheckStatus{ID: c.ID, State: finding.StateSkip, Reason: "a dir: source has no image configuration"})
			continue
		}
		active = append(active, c)
	}
	st := make([]checkState, len(active))
	target := im.Ref.String()
	subj := subject(im)
	for i, c := range active {
		if c.Config != nil {
			st[i].err = guard(c.ID, func() {
				for _, h := range c.Config(subj) {
					st[i].add(c, target, h, finding.Location{LayerIndex: -1})
				}
			})
		}
	}
	bufs := sync.Pool{New: func() any { b := make([]byte, o.MaxContent); return &b }}
	var mu sync.Mutex // guards st[i].err from concurrent layers
	// judge runs the file checks on one file of one layer; the merge
	// later keeps its hits only if the file shows in the merged image.
	judge := func(f *image.File) (any, error) {
		var hits []pending
		data := fileData{f: f, pool: &bufs}
		defer data.release()
		for i, c := range active {
			if c.Match == nil {
				continue
			}
			var readErr error
			var tooLarge string
			err := guard(c.ID, func() {
				want := c.Match(f)
				var d []byte
				switch want {
				case Skip:
					return
				case Text:
					text, err := data.isText()
					if err != nil || !text {
						readErr = err
						return
					}
					fallthrough
				case Content:
					if f.Header.Size > o.MaxContent {
						// Judging the first MaxContent bytes would pass
						// a file padded to hide its end.
						tooLarge = fmt.Sprintf("%s is %d bytes, more than the %d read for content checks: not judged", f.Path, f.Header.Size, o.MaxContent)
						return
					}
					if d, readErr = data.all(); readErr != nil {
						return
					}
				}
				for _, h := range c.File(f, d) {
					if h.Path == "" {
						h.Path = f.Path
					}
					hits = append(hits, pending{check: i, hit: h, loc: fileLocation(f)})
				}
			})
			if readErr != nil {
				return nil, readErr
			}
			if err = cmp.Or(err, tooLarge); err != "" {
				mu.Lock()
				st[i].err = err
				mu.Unlock()
			}
		}
		if hits == nil {
			return nil, nil
		}
		return hits, nil
	}
	err := im.Visit(ctx, image.VisitOptions{OnLayer: o.OnLayer}, judge, func(v image.Visible) error {
		for _, p := range v.Value.([]pending) {
			st[p.check].add(active[p.check], target, p.hit, p.loc)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, c := range active {
		res.Checks = append(res.Checks, st[i].status(c.ID))
		res.Findings = append(res.Findings, st[i].findings(c)...)
	}
	finding.Sort(res.Findings)
	return res, nil
}

// checkState gathers one check's findings and whether it broke.
type checkState struct {
	hits  []finding.Finding
	count map[string]int // Collapse: hits per path
	err   string
}

// fileLocation says where a file finding was seen; a dir: source has no
// layer digest.
func fileLocation(f *image.File) finding.Location {
	loc := finding.Location{LayerIndex: f.LayerIndex}
	if f.Layer.Hex != "" {
		loc.Layer = f.Layer.String()
	}
	return loc
}

// fileData loads one file's bytes for the checks: once, and only as far
// as they ask.
type fileData struct {
	f    *image.File
	pool *sync.Pool
	buf  *[]byte
	n    int
	eof  bool
}

// textProbe is how much of a file decides whether it is text.
const textProbe = 512

func (d *fileData) fill(upto int) error {
	if d.buf == nil {
		d.buf = d.pool.Get().(*[]byte)
	}
	upto = min(upto, len(*d.buf))
	for d.n < upto && !d.eof {
		n, err := d.f.Content().Read((*d.buf)[d.n:upto])
		d.n += n
		if err == io.EOF {
			d.eof = true
		} else if err != nil {
			return fmt.Errorf("read %s: %w", d.f.Path, err)
		}
	}
	return nil
}

func (d *fileData) isText() (bool, error) {
	if err := d.fill(textProbe); err != nil {
		return false, err
	}
	return bytes.IndexByte((*d.buf)[:min(d.n, textProbe)], 0) < 0, nil
}

func (d *fileData) all() ([]byte, error) {
	if err := d.fill(math.MaxInt); err != nil {
		return nil, err
	}
	return (*d.buf)[:d.n:d.n], nil
}

func (d *fileData) release() {
	if d.buf != nil {
		d.pool.Put(d.buf)
	}
}

// pending is a file check's hit waiting for the merge to keep its file.
type pending struct {
	check int
	hit   Hit
	loc   finding.Location
}

// guard runs fn and turns a panic into a check error message, so one
// broken check is reported instead of taking the whole run down.
func guard(id string, fn func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprintf("check %s failed: %v", id, r)
		}
	}()
	fn()
	return ""
}

func (s *checkState) add(c Check, target string, h Hit, loc finding.Location) {
	if c.Collapse {
		if s.count == nil {
			s.count = map[string]int{}
		}
		s.count[h.Path]++
		if s.count[h.Path] > 1 {
			return
		}
	}
	loc.Path, loc.Field = h.Path, h.Field
	s.hits = append(s.hits, finding.Finding{
		ID: c.ID, Title: c.Title, Severity: c.Severity, Target: target,
		Location: loc, Evidence: h.Evidence, Remediation: c.Remediation, References: c.References,
	})
}

func (s *checkState) findings(c Check) []finding.Finding {
	if c.Collapse {
		for i := range s.hits {
			if n := s.count[s.hits[i].Location.Path]; n > 1 {
				s.hits[i].Evidence = fmt.Sprintf("%d files, e.g. %s", n, s.hits[i].Evidence)
			}
		}
	}
	return s.hits
}

func (s *checkState) status(id string) finding.CheckStatus {
	switch {
	case s.err != "":
		return finding.CheckStatus{ID: id, State: finding.StateError, Reason: s.err}
	case len(s.hits) > 0:
		return finding.CheckStatus{ID: id, State: finding.StateFail}
	}
	return finding.CheckStatus{ID: id, State: finding.StatePass}
}
