package vulndb

import (
	"archive/zip"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/hull-sec/hull/internal/vercmp"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketPkgs  = []byte("pkgs")
	bucketVulns = []byte("vulns")
	bucketMeta  = []byte("meta")
	// bucketArtifacts indexes Maven package names by artifactId, so that
	// an archive whose groupId is a guess finds the records of every
	// group publishing its artifact.
	bucketArtifacts = []byte("artifacts")
	keyMeta         = []byte("meta")
)

// Format is the layout of the store this hull writes and reads; Open
// refuses a store of another layout (an older hull's), which a new
// update replaces.
const Format = 2

// Bounds on an export.
const (
	maxZipEntries = 2 << 20
	maxZipBytes   = 4 << 30
)

// DefaultEcosystems are fetched by an update from a URL when none are
// named: every ecosystem hull's inventory files packages under (a test
// holds the two lists together).
var DefaultEcosystems = []string{
	"Debian", "Ubuntu", "Alpine", "Wolfi", "Chainguard",
	"Red Hat", "AlmaLinux", "Rocky Linux", "SUSE", "openSUSE", "Mageia", "openEuler", "Azure Linux", "Photon OS",
	"npm", "Go", "PyPI", "Maven", "crates.io", "RubyGems", "Packagist",
}

// DefaultURL is where osv.dev publishes its exports.
const DefaultURL = "https://osv-vulnerabilities.storage.googleapis.com"

// Meta describes a store.
type Meta struct {
	Format  int       `json:"format"`
	Updated time.Time `json:"updated"`
	Source  string    `json:"source"`
	// Records counts the records stored per ecosystem (base name).
	Records map[string]int `json:"records"`
	// Ecosystems counts the records stored per ecosystem as the records
	// name it ("Debian:12", "Red Hat:enterprise_linux:9::baseos").
	Ecosystems map[string]int `json:"ecosystems"`
	Withdrawn  int            `json:"withdrawn"`
	// GitOnly counts package entries bounded by commits only.
	GitOnly int `json:"gitOnly"`
	// Newest is the latest modification time of any record.
	Newest time.Time `json:"newest"`
}

// Vuln is what the store keeps of a record for reports.
type Vuln struct {
	ID         string     `json:"id"`
	Summary    string     `json:"summary,omitempty"`
	Aliases    []string   `json:"aliases,omitempty"`
	Severity   []Severity `json:"severity,omitempty"`
	DBSeverity string     `json:"dbSeverity,omitempty"`
	Published  time.Time  `json:"published"`
	Modified   time.Time  `json:"modified"`
	URL        string     `json:"url,omitempty"`
}

// UpdateOptions tune Update.
type UpdateOptions struct {
	// From is a directory (of <Ecosystem>/all.zip files, other .zip files
	// and loose .json records, walked recursively) or an http(s) URL base
	// serving <Ecosystem>/all.zip. Default DefaultURL.
	From string
	// Ecosystems to fetch from a URL; default DefaultEcosystems.
	Ecosystems []string
	// Client fetches from a URL; default http.DefaultClient.
	Client *http.Client
	// Progress is told what is being read.
	Progress func(msg string)
}

// Update builds a new store at path from OSV exports and replaces the
// old one when it is complete.
func Update(ctx context.Context, path string, o UpdateOptions) (Meta, error) {
	if o.From == "" {
		o.From = DefaultURL
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Meta{}, err
	}
	tmp := path + ".new"
	os.Remove(tmp)
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		return Meta{}, err
	}
	w := &writer{db: db, meta: Meta{Format: Format, Source: o.From, Records: map[string]int{}, Ecosystems: map[string]int{}}}
	err = w.ingest(ctx, o)
	if err == nil {
		w.meta.Updated = time.Now().UTC()
		err = db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucketMeta)
			if err != nil {
				return err
			}
			data, err := json.Marshal(w.meta)
			if err != nil {
				return err
			}
			return b.Put(keyMeta, data)
		})
	}
	if err == nil {
		err = db.Sync()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil && len(w.meta.Records) == 0 {
		err = fmt.Errorf("no OSV records found in %s", o.From)
	}
	if err != nil {
		os.Remove(tmp)
		return Meta{}, err
	}
	return w.meta, os.Rename(tmp, path)
}

type writer struct {
	db   *bolt.DB
	meta Meta
}

func (w *writer) ingest(ctx context.Context, o UpdateOptions) error {
	if strings.HasPrefix(o.From, "http://") || strings.HasPrefix(o.From, "https://") {
		ecos := o.Ecosystems
		if len(ecos) == 0 {
			ecos = DefaultEcosystems
		}
		for _, eco := range ecos {
			if err := w.fetch(ctx, o, eco); err != nil {
				return err
			}
		}
		return nil
	}
	// A directory is read whole: a choice of ecosystems would change
	// nothing, so it is refused rather than ignored.
	if len(o.Ecosystems) > 0 {
		return fmt.Errorf("ecosystems are chosen from a URL; the directory %s is read whole", o.From)
	}
	fi, err := os.Stat(o.From)
	if err != nil {
		return fmt.Errorf("%s is neither a directory nor an http(s) URL: %w", o.From, err)
	}
	if !fi.IsDir() {
		return w.file(ctx, o, o.From)
	}
	return filepath.WalkDir(o.From, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(p); ext == ".zip" || ext == ".json" {
			return w.file(ctx, o, p)
		}
		return nil
	})
}

func (w *writer) file(ctx context.Context, o UpdateOptions, p string) error {
	o.Progress("reading " + p)
	if filepath.Ext(p) == ".zip" {
		return w.zipFile(ctx, p)
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	rec, err := ParseRecord(f)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return w.batch([]*Record{rec})
}

// fetch downloads URL/<eco>/all.zip to a private temp file and ingests it.
func (w *writer) fetch(ctx context.Context, o UpdateOptions, eco string) error {
	client := cmp.Or(o.Client, http.DefaultClient)
	u := strings.TrimSuffix(o.From, "/") + "/" + url.PathEscape(eco) + "/all.zip"
	o.Progress("downloading " + u)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: GET %s: %s", ErrUnreachable, u, resp.Status)
	}
	tmp, err := os.CreateTemp("", "hull-osv-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := io.Copy(tmp, io.LimitReader(resp.Body, maxZipBytes+1))
	if err != nil {
		return fmt.Errorf("%w: GET %s: %w", ErrUnreachable, u, err)
	}
	if n > maxZipBytes {
		return fmt.Errorf("GET %s: more than %d bytes", u, int64(maxZipBytes))
	}
	return w.zipFile(ctx, tmp.Name())
}

// zipFile ingests the JSON records of one export, in batches.
func (w *writer) zipFile(ctx context.Context, p string) error {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	defer zr.Close()
	if len(zr.File) > maxZipEntries {
		return fmt.Errorf("%s: %d entries, more than %d", p, len(zr.File), maxZipEntries)
	}
	var recs []*Record
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !strings.HasSuffix(f.Name, ".json") || f.FileInfo().IsDir() {
			continue
		}
		if f.UncompressedSize64 > MaxRecordBytes {
			return fmt.Errorf("%s: %s is %d bytes, more than %d", p, f.Name, f.UncompressedSize64, MaxRecordBytes)
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("%s: %s: %w", p, f.Name, err)
		}
		rec, err := ParseRecord(rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %s: %w", p, f.Name, err)
		}
		recs = append(recs, rec)
		if len(recs) == 20000 {
			if err := w.batch(recs); err != nil {
				return err
			}
			recs = recs[:0]
		}
	}
	return w.batch(recs)
}

// batch writes records: each record's vuln entry, and its entries under
// every package it affects, deduplicated by (id, ecosystem, name).
func (w *writer) batch(recs []*Record) error {
	pkgs := map[string][]Entry{}
	vulns := map[string]Vuln{}
	artifacts := map[string][]string{}
	for _, rec := range recs {
		if rec.Withdrawn != nil {
			w.meta.Withdrawn++
			continue
		}
		if rec.Modified.After(w.meta.Newest) {
			w.meta.Newest = rec.Modified
		}
		v := Vuln{ID: rec.ID, Summary: rec.Summary, Aliases: rec.Aliases, Severity: rec.Severity, Modified: rec.Modified}
		if rec.Published != nil {
			v.Published = *rec.Published
		}
		if s, ok := rec.DatabaseSpecific["severity"].(string); ok {
			v.DBSeverity = s
		}
		if v.Summary == "" {
			v.Summary = firstLine(rec.Details, 200)
		}
		for _, r := range rec.References {
			if r.Type == "ADVISORY" || v.URL == "" {
				v.URL = r.URL
			}
		}
		vulns[rec.ID] = v
		counted, countedEco := map[string]bool{}, map[string]bool{}
		for _, a := range rec.Affected {
			eco, name := a.Package.Ecosystem, a.Package.Name
			if eco == "" || name == "" {
				continue
			}
			e := Entry{ID: rec.ID, Ecosystem: eco, Name: name, Versions: a.Versions, Severity: a.Severity}
			git := false
			for _, r := range a.Ranges {
				if r.Type == "GIT" {
					git = true
					continue
				}
				e.Ranges = append(e.Ranges, r)
			}
			if git && len(e.Ranges) == 0 && len(e.Versions) == 0 {
				e.GitOnly = true
				w.meta.GitOnly++
			}
			key := BaseEcosystem(eco) + "\x00" + vercmp.NormalizeName(eco, name)
			pkgs[key] = append(pkgs[key], e)
			if base := BaseEcosystem(eco); !counted[base] {
				counted[base] = true
				w.meta.Records[base]++
			}
			if !countedEco[eco] {
				countedEco[eco] = true
				w.meta.Ecosystems[eco]++
			}
			if base := BaseEcosystem(eco); base == "Maven" {
				if _, artifact, ok := strings.Cut(name, ":"); ok {
					k := base + "\x00" + artifact
					if !slices.Contains(artifacts[k], name) {
						artifacts[k] = append(artifacts[k], name)
					}
				}
			}
		}
	}
	return w.db.Update(func(tx *bolt.Tx) error {
		pb, err := tx.CreateBucketIfNotExists(bucketPkgs)
		if err != nil {
			return err
		}
		vb, err := tx.CreateBucketIfNotExists(bucketVulns)
		if err != nil {
			return err
		}
		ab, err := tx.CreateBucketIfNotExists(bucketArtifacts)
		if err != nil {
			return err
		}
		for key, names := range artifacts {
			err := mergeInto(ab, key, names, func(all []string, n string) []string {
				if !slices.Contains(all, n) {
					all = append(all, n)
				}
				return all
			}, slices.Sort)
			if err != nil {
				return err
			}
		}
		for id, v := range vulns {
			data, err := json.Marshal(v)
			if err != nil {
				return err
			}
			if err := vb.Put([]byte(id), data); err != nil {
				return err
			}
		}
		for key, entries := range pkgs {
			if err := mergeInto(pb, key, entries, mergeEntry, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// mergeInto adds items to the JSON list stored at key in b, merging
// each into what is there already (merge), and stores the list again,
// put in order by tidy when not nil.
func mergeInto[T any](b *bolt.Bucket, key string, items []T, merge func([]T, T) []T, tidy func([]T)) error {
	var all []T
	if old := b.Get([]byte(key)); old != nil {
		if err := json.Unmarshal(old, &all); err != nil {
			return err
		}
	}
	for _, it := range items {
		all = merge(all, it)
	}
	if tidy != nil {
		tidy(all)
	}
	data, err := json.Marshal(all)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), data)
}

// mergeEntry adds e to all: one record may list a package twice
// (GHSA-r683-j2x4-v87g has two affected entries for node-fetch), and one
// record comes in every export of an ecosystem it affects, so an entry
// of the same record, ecosystem and name keeps every distinct range and
// version once.
func mergeEntry(all []Entry, e Entry) []Entry {
	i := slices.IndexFunc(all, func(o Entry) bool { return o.ID == e.ID && o.Ecosystem == e.Ecosystem && o.Name == e.Name })
	if i < 0 {
		return append(all, e)
	}
	for _, r := range e.Ranges {
		if !slices.ContainsFunc(all[i].Ranges, func(o Range) bool { return reflect.DeepEqual(o, r) }) {
			all[i].Ranges = append(all[i].Ranges, r)
		}
	}
	for _, v := range e.Versions {
		if !slices.Contains(all[i].Versions, v) {
			all[i].Versions = append(all[i].Versions, v)
		}
	}
	all[i].GitOnly = all[i].GitOnly && e.GitOnly
	return all
}

func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// DB is an open store.
type DB struct {
	db   *bolt.DB
	Meta Meta
}

// ErrNoDB says there is no store yet.
var ErrNoDB = errors.New("no vulnerability database: run 'hull db update' (without internet access: 'hull db update --from DIR' with OSV exports copied from elsewhere)")

// ErrOldFormat says the store was written by a hull that lays it out
// differently.
var ErrOldFormat = errors.New("the vulnerability database was built by another hull version: run 'hull db update' to rebuild it")

// ErrUnreachable says an update could not download from its source.
var ErrUnreachable = errors.New("cannot download from the OSV source")

// Open opens the store read-only.
func Open(path string) (*DB, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (looked in %s)", ErrNoDB, path)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	d := &DB{db: db}
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if b == nil {
			return fmt.Errorf("%s is not a hull vulnerability database", path)
		}
		if err := json.Unmarshal(b.Get(keyMeta), &d.Meta); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if d.Meta.Format != Format {
			return fmt.Errorf("%s: %w", path, ErrOldFormat)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// Close closes the store.
func (d *DB) Close() error { return d.db.Close() }

// Lookup returns the entries stored for a package name in an ecosystem
// ("Debian:12"): those whose ecosystem Applies to it (its release, a
// finer name of it, or no release).
func (d *DB) Lookup(ecosystem, name string) ([]Entry, error) {
	var out []Entry
	key := []byte(BaseEcosystem(ecosystem) + "\x00" + vercmp.NormalizeName(ecosystem, name))
	err := d.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPkgs)
		if b == nil {
			return nil
		}
		data := b.Get(key)
		if data == nil {
			return nil
		}
		var all []Entry
		if err := json.Unmarshal(data, &all); err != nil {
			return err
		}
		for _, e := range all {
			if Applies(ecosystem, e.Ecosystem) {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}

// Covers reports whether the store holds records for packages of the
// ecosystem ("Debian:12"): without them, no match is no answer.
func (d *DB) Covers(ecosystem string) bool {
	for e := range d.Meta.Ecosystems {
		if Applies(ecosystem, e) {
			return true
		}
	}
	return false
}

// MavenNames returns the Maven packages ("groupId:artifactId") the store
// holds records of with this artifactId, sorted.
func (d *DB) MavenNames(artifactID string) ([]string, error) {
	var out []string
	err := d.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketArtifacts)
		if b == nil {
			return nil
		}
		data := b.Get([]byte("Maven\x00" + artifactID))
		if data == nil {
			return nil
		}
		return json.Unmarshal(data, &out)
	})
	return out, err
}

// Vuln returns what the store keeps of a record.
func (d *DB) Vuln(id string) (Vuln, bool, error) {
	var v Vuln
	found := false
	err := d.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketVulns)
		if b == nil {
			return nil
		}
		data := b.Get([]byte(id))
		if data == nil {
			return nil
		}
		found = true
		return json.Unmarshal(data, &v)
	})
	return v, found, err
}
