package scan

import (
	"archive/tar"
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/hull-sec/hull/internal/clamd"
	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/inventory"
	"github.com/hull-sec/hull/internal/secrets"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/semaphore"
)

// AnalyzeOptions say which analyzers run over the image's files.
type AnalyzeOptions struct {
	// Secrets looks for credentials in every text file outside
	// documentation and test directories, whatever its size (one too
	// large to buffer is searched as it streams by).
	Secrets bool
	// Malware streams every regular file up to MaxMalwareBytes to clamd;
	// larger files are reported as not scanned.
	Malware         *clamd.Client
	MaxMalwareBytes int64
	// CacheDir, if set, keeps each layer's results by its diff ID, so a
	// layer is analysed once across scans and images.
	CacheDir string
	// Parallel bounds the layers read at once.
	Parallel int
	OnLayer  func(done, count int)
}

// Analysis is what one pass over an image found.
type Analysis struct {
	Inventory *inventory.Result
	// Secrets and Malware are findings ready to report.
	Secrets []finding.Finding
	Malware []finding.Finding
	// Unscanned lists files the malware scanner did not see in full.
	Unscanned []Unscanned
	// CachedLayers counts the layers whose results came from the cache.
	CachedLayers int
}

// Unscanned is a file the malware scanner did not see in full, and why.
type Unscanned struct {
	Path   string
	Reason string
	// OverLimit: the file is larger than AnalyzeOptions.MaxMalwareBytes
	// and was not sent; otherwise clamd refused or cut it short.
	OverLimit bool
}

// fileResult is what the analyzers made of one file; plain data, so that
// a layer's results can be cached.
type fileResult struct {
	Inv     *inventory.FileResult `json:"inv,omitempty"`
	Secrets []secretHit           `json:"sec,omitempty"`
	Malware string                `json:"mal,omitempty"` // signature name
	// Unscanned says why the malware scanner did not see the whole file;
	// OverLimit that it was over MaxMalwareBytes and not sent.
	Unscanned string `json:"uns,omitempty"`
	OverLimit bool   `json:"over,omitempty"`
}

type secretHit struct {
	Rule     string `json:"r"`
	Line     int    `json:"l"`
	Redacted string `json:"v"`
}

// secretHits keeps what the cache needs of the secrets package's hits.
func secretHits(hs []secrets.Hit) []secretHit {
	var out []secretHit
	for _, h := range hs {
		out = append(out, secretHit{Rule: h.Rule.ID, Line: h.Line, Redacted: h.Redacted})
	}
	return out
}

func (r *fileResult) empty() bool {
	return r.Inv == nil && len(r.Secrets) == 0 && r.Malware == "" && r.Unscanned == ""
}

// Bounds and defaults.
const (
	DefaultMaxMalwareBytes = 64 << 20
	// Files up to this size are read into memory once for every analyzer
	// that wants them; larger ones are streamed.
	bufferBytes = 8 << 20
	// cacheVersion changes whenever what the secrets or malware analyzers
	// record changes; the inventory's part is inventory.Version, in the key.
	cacheVersion = "3"
)

// Analyze reads every layer of im once and runs the inventory and the
// analyzers asked for on each file, in parallel across layers; the merged
// filesystem decides which results count.
func Analyze(ctx context.Context, im *image.Image, o AnalyzeOptions) (*Analysis, error) {
	if o.MaxMalwareBytes <= 0 {
		o.MaxMalwareBytes = DefaultMaxMalwareBytes
	}
	a := &analyzer{o: o, pool: sync.Pool{New: func() any { return new(bytes.Buffer) }}, pending: map[v1.Hash]*layerScans{}}
	if o.Malware != nil {
		a.sem = make(chan struct{}, clamd.DefaultMaxConcurrent)
		a.held = semaphore.NewWeighted(inventory.MaxFileBytes)
	}
	// Secrets and malware in files a later layer deleted are still in the
	// image: keep sees hidden entries too, and only the inventory skips them.
	vo := image.VisitOptions{Parallel: o.Parallel, OnLayer: o.OnLayer, LayerDone: a.layerDone, Hidden: true}
	res := &Analysis{}
	if o.CacheDir != "" && im.Ref.Kind != image.KindDir {
		key, err := a.cacheKey(ctx)
		if err != nil {
			return nil, err
		}
		var mu sync.Mutex
		vo.Cached = func(d v1.Hash) ([]image.Record, bool) {
			recs, ok := loadLayer(o.CacheDir, key, d)
			if ok {
				mu.Lock()
				res.CachedLayers++
				mu.Unlock()
			}
			return recs, ok
		}
		vo.Store = func(d v1.Hash, recs []image.Record) { storeLayer(o.CacheDir, key, d, recs) }
	}
	var found []inventory.Found
	keep := func(v image.Visible) error {
		fr := v.Value.(*fileResult)
		loc := finding.Location{Path: v.Path, LayerIndex: v.LayerIndex, Layer: im.DiffIDs[v.LayerIndex].String()}
		target := im.Ref.String()
		if fr.Inv != nil && !v.Hidden {
			found = append(found, inventory.Found{FileResult: fr.Inv, Location: loc})
		}
		hidden := ""
		if v.Hidden {
			hidden = " (deleted by a later layer, still in the image)"
		}
		for _, h := range fr.Secrets {
			f := secretFinding(target, loc, h)
			f.Evidence += hidden
			res.Secrets = append(res.Secrets, f)
		}
		if fr.Malware != "" {
			res.Malware = append(res.Malware, finding.Finding{ID: "malware", Title: "Malware: " + fr.Malware, Severity: finding.SeverityCritical,
				Target: target, Location: loc, Evidence: "clamd: " + fr.Malware + " FOUND" + hidden,
				Remediation: "Find how the file got into the image (base image, dependency, build step), remove it from the layer that added it and rebuild from trusted sources."})
		}
		if fr.Unscanned != "" {
			res.Unscanned = append(res.Unscanned, Unscanned{Path: v.Path + hidden, Reason: fr.Unscanned, OverLimit: fr.OverLimit})
		}
		return nil
	}
	err := im.Visit(ctx, vo, func(f *image.File) (any, error) { return a.file(ctx, f) }, keep)
	a.waitAll()
	if err != nil {
		return nil, err
	}
	res.Inventory = inventory.Assemble(found)
	finding.Sort(res.Secrets)
	finding.Sort(res.Malware)
	return res, nil
}

type analyzer struct {
	o    AnalyzeOptions
	pool sync.Pool
	// sem bounds the scans in flight to clamd, held their bytes (the
	// largest buffered file fits, or many small ones); pending tracks
	// them per layer.
	sem     chan struct{}
	held    *semaphore.Weighted
	mu      sync.Mutex
	pending map[v1.Hash]*layerScans
}

// layerScans are the malware scans in flight for one layer.
type layerScans struct {
	wg  sync.WaitGroup
	mu  sync.Mutex
	err error
}

func (a *analyzer) scans(d v1.Hash) *layerScans {
	a.mu.Lock()
	defer a.mu.Unlock()
	ls := a.pending[d]
	if ls == nil {
		ls = &layerScans{}
		a.pending[d] = ls
	}
	return ls
}

// layerDone waits for a layer's malware scans, so that its results are
// complete before they are cached or merged.
func (a *analyzer) layerDone(d v1.Hash) error {
	ls := a.scans(d)
	ls.wg.Wait()
	return ls.err
}

func (a *analyzer) waitAll() {
	a.mu.Lock()
	all := make([]*layerScans, 0, len(a.pending))
	for _, ls := range a.pending {
		all = append(all, ls)
	}
	a.mu.Unlock()
	for _, ls := range all {
		ls.wg.Wait()
	}
}

// scanAsync sends a buffered file to clamd in the background, so that a
// layer's files overlap their round trips; buf is the scan's to release.
// res must be returned to Visit whatever the scan finds.
func (a *analyzer) scanAsync(ctx context.Context, f *image.File, buf *bytes.Buffer, res *fileResult) {
	ls := a.scans(f.Layer)
	a.sem <- struct{}{}
	ls.wg.Add(1)
	go func() {
		defer func() { a.held.Release(int64(buf.Len())); <-a.sem; buf.Reset(); a.pool.Put(buf); ls.wg.Done() }()
		if err := a.malware(ctx, f.Path, bytes.NewReader(buf.Bytes()), res); err != nil {
			ls.mu.Lock()
			ls.err = cmp.Or(ls.err, err)
			ls.mu.Unlock()
		}
	}()
}

// file runs every analyzer that wants f on it, reading its content once.
// It returns nil (no value, nothing recorded) when nothing came of it.
func (a *analyzer) file(ctx context.Context, f *image.File) (any, error) {
	if f.Header.Typeflag != tar.TypeReg {
		return nil, nil
	}
	size := f.Header.Size
	inv := inventory.Wants(f.Path, f.Header)
	sec := a.o.Secrets && secrets.Wanted(f.Path, size)
	mal := a.o.Malware != nil && size > 0
	if inv == inventory.Skip && !sec && !mal {
		return nil, nil
	}
	res := &fileResult{}
	if mal && size > a.o.MaxMalwareBytes {
		mal = false
		res.Unscanned = fmt.Sprintf("%d bytes, more than --max-file-size %d", size, a.o.MaxMalwareBytes)
		res.OverLimit = true
	}
	// Read into memory once for every analyzer that wants the content:
	// small files, and files the inventory must hold whole (a package
	// database, a binary whose section table it reads) within its bound.
	if size <= bufferBytes || (inv == inventory.Buffer && size <= inventory.MaxFileBytes) {
		buf := a.pool.Get().(*bytes.Buffer)
		content := f.Content()
		if inv == inventory.Skip && !mal {
			// Only the secrets analyzer wants this file, and only if it
			// is text, which its first bytes tell: a binary (an
			// executable, a shared library) is not read further, let
			// alone held.
			if _, err := io.CopyN(buf, content, min(size, secrets.ProbeBytes)); err != nil || !secrets.IsText(buf.Bytes()) {
				buf.Reset()
				a.pool.Put(buf)
				return nil, err
			}
		}
		buf.Grow(int(size) - buf.Len()) // one allocation, not a doubling series up to 64 MiB
		if _, err := io.Copy(buf, content); err != nil {
			buf.Reset()
			a.pool.Put(buf)
			return nil, err
		}
		data := buf.Bytes()
		// (A file the inventory streams is larger than bufferBytes.)
		if inv == inventory.Buffer {
			res.Inv = inventory.Inspect(f.Path, f.Header, data, nil)
		}
		if sec && secrets.IsText(data) {
			res.Secrets = secretHits(secrets.Scan(data))
		}
		if mal {
			// The result is filled in when clamd answers, before the
			// layer is done; it must be kept even if nothing else is.
			// The buffers waiting for clamd hold at most 64 MiB in all.
			if err := a.held.Acquire(ctx, int64(len(data))); err != nil {
				buf.Reset()
				a.pool.Put(buf)
				return nil, err
			}
			a.scanAsync(ctx, f, buf, res)
			return res, nil
		}
		buf.Reset()
		a.pool.Put(buf)
	} else if err := a.large(ctx, f, inv, sec, mal, res); err != nil {
		return nil, err
	}
	if res.empty() {
		return nil, nil
	}
	return res, nil
}

// large streams a file too big to buffer to the analyzers that want it,
// reading it once: a Go binary to the inventory, and at the same time,
// through a tee, its text to the secrets Stream and its bytes to clamd
// (through a pipe).
func (a *analyzer) large(ctx context.Context, f *image.File, inv inventory.Want, sec, mal bool, res *fileResult) error {
	var sinks []io.Writer
	var stream *secrets.Stream
	if sec {
		stream = &secrets.Stream{}
		sinks = append(sinks, stream)
	}
	var pw *io.PipeWriter
	done := make(chan error, 1)
	if mal {
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		go func() {
			err := a.malware(ctx, f.Path, pr, res)
			pr.CloseWithError(err) // unblock the writer if clamd stopped reading
			done <- err
		}()
		sinks = append(sinks, &lenient{w: pw})
	}
	content := f.Content()
	if len(sinks) > 0 {
		content = io.TeeReader(content, io.MultiWriter(sinks...))
	}
	switch inv {
	case inventory.Stream:
		res.Inv = inventory.Inspect(f.Path, f.Header, nil, content)
	case inventory.Buffer:
		res.Inv = inventory.Inspect(f.Path, f.Header, nil, nil) // over MaxFileBytes: noted
	}
	var err error
	if len(sinks) > 0 {
		_, err = io.Copy(io.Discard, content)
	}
	if mal {
		pw.CloseWithError(err)
		if merr := <-done; merr != nil {
			return merr
		}
	}
	if err != nil {
		return err
	}
	if stream != nil {
		res.Secrets = secretHits(stream.Hits())
	}
	return nil
}

// lenient passes writes on until its writer fails, then drops them:
// clamd stops reading a stream over its limit while the other analyzers
// still need the rest of the file (the scan's error says why, if any).
type lenient struct {
	w      io.Writer
	failed bool
}

func (l *lenient) Write(p []byte) (int, error) {
	if !l.failed {
		if _, err := l.w.Write(p); err != nil {
			l.failed = true
		}
	}
	return len(p), nil
}

func (a *analyzer) malware(ctx context.Context, path string, r io.Reader, res *fileResult) error {
	out, err := a.o.Malware.Scan(ctx, r, path)
	if err != nil {
		return fmt.Errorf("clamd: %s: %w", path, err)
	}
	switch out.Status {
	case clamd.StatusFound:
		res.Malware = out.Signature
	case clamd.StatusTooLarge:
		res.Unscanned = out.Reason
	}
	return nil
}

func secretFinding(target string, loc finding.Location, h secretHit) finding.Finding {
	r := secrets.RuleByID(h.Rule)
	sev := finding.SeverityHigh
	title := h.Rule
	if r != nil {
		title = r.Title
		if s, err := finding.ParseSeverity(r.Severity); err == nil {
			sev = s
		}
	}
	return finding.Finding{ID: "secret-" + h.Rule, Title: title, Severity: sev, Target: target, Location: loc,
		Evidence:    "line " + strconv.Itoa(h.Line) + ": " + h.Redacted,
		Remediation: "Remove the credential from every layer (rebuild; deleting it in a later layer leaves it in the earlier one), use build secrets or runtime secrets, and rotate it."}
}

// cacheKey names what the analyzers record: the cache version, the
// options that change results, and clamd's engine and database version.
func (a *analyzer) cacheKey(ctx context.Context) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "v%s inventory=%s secrets=%t rules=%d malware=%t/%d", cacheVersion, inventory.Version(), a.o.Secrets, len(secrets.Rules()), a.o.Malware != nil, a.o.MaxMalwareBytes)
	if a.o.Malware != nil {
		v, err := a.o.Malware.Version(ctx)
		if err != nil {
			return "", fmt.Errorf("clamd: %w", err)
		}
		fmt.Fprintf(h, " clamd=%s", v.Raw)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

func layerCachePath(dir, key string, d v1.Hash) string {
	return filepath.Join(dir, "layers", key, d.Algorithm+"-"+d.Hex+".gz")
}

// A cached layer is, gzip-compressed: the magic line, then per record
// its path (uvarint length and bytes), its kind (one byte) and whether
// it has a value (one byte), then the values in order as one JSON array.
// Most records have none; a JSON document of every path decoded three
// times slower.
const cacheMagic = "hull layer cache " + cacheVersion + "\n"

// Bounds on what a cache file can make hull allocate.
const (
	maxCachedRecords = 16 << 20
	maxCachedPath    = 64 << 10
)

// loadLayer reads a layer's records; anything unreadable is a miss.
func loadLayer(dir, key string, d v1.Hash) ([]image.Record, bool) {
	f, err := os.Open(layerCachePath(dir, key, d))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, false
	}
	br := bufio.NewReaderSize(zr, 64<<10)
	magic := make([]byte, len(cacheMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != cacheMagic {
		return nil, false
	}
	n, err := binary.ReadUvarint(br)
	if err != nil || n > maxCachedRecords {
		return nil, false
	}
	// The count is not trusted for an allocation: records are appended as
	// they are read.
	recs := make([]image.Record, 0, min(n, 1<<12))
	var withValue []int
	for i := range int(n) {
		l, err := binary.ReadUvarint(br)
		if err != nil || l > maxCachedPath {
			return nil, false
		}
		buf := make([]byte, l+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, false
		}
		recs = append(recs, image.Record{Path: string(buf[:l]), Kind: image.EntryKind(buf[l])})
		if buf[l+1] == 1 {
			withValue = append(withValue, i)
		}
	}
	var values []*fileResult
	if err := json.NewDecoder(br).Decode(&values); err != nil || len(values) != len(withValue) {
		return nil, false
	}
	for j, i := range withValue {
		if values[j] == nil {
			return nil, false
		}
		recs[i].Value = values[j]
	}
	return recs, true
}

// storeLayer writes a layer's records (0600, through a temp file and a
// rename, so a reader never sees half a file). Failing to cache is not
// an error of the scan.
func storeLayer(dir, key string, d v1.Hash, recs []image.Record) {
	p := layerCachePath(dir, key, d)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".layer-*")
	if err != nil {
		return
	}
	zw := gzip.NewWriter(tmp)
	bw := bufio.NewWriterSize(zw, 64<<10)
	bw.WriteString(cacheMagic)
	bw.Write(binary.AppendUvarint(nil, uint64(len(recs))))
	values := []*fileResult{}
	for _, r := range recs {
		bw.Write(binary.AppendUvarint(nil, uint64(len(r.Path))))
		bw.WriteString(r.Path)
		has := byte(0)
		if fr, ok := r.Value.(*fileResult); ok && !fr.empty() {
			has = 1
			values = append(values, fr)
		}
		bw.Write([]byte{byte(r.Kind), has})
	}
	werr := json.NewEncoder(bw).Encode(values)
	ferr := bw.Flush()
	zerr := zw.Close()
	cerr := tmp.Close()
	if werr != nil || ferr != nil || zerr != nil || cerr != nil || os.Rename(tmp.Name(), p) != nil {
		os.Remove(tmp.Name())
	}
}
