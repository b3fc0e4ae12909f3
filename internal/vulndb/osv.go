// Package vulndb keeps OSV vulnerability records in a local indexed store
// and says which of them affect a package version.
//
// Data flow: Update reads OSV exports (the layout osv.dev publishes: one
// <Ecosystem>/all.zip of JSON records per ecosystem, from a directory or
// a URL base, or loose .json records), parses every record strictly and
// with bounds, skips withdrawn ones, and writes into a bbolt file, per
// (ecosystem, package name), the compact affected entries, plus each
// record's summary, aliases and severity, and an index of Maven
// artifactIds. The new file replaces the old one atomically. Scans Open
// the file read-only and call Lookup for each package (Applies matches
// the ecosystem the inventory names to the finer ones records use; Covers
// says whether the store holds any record for it; MavenNames which groups
// publish an artifactId); Affects evaluates a version against an entry's
// ranges with the ecosystem's own version rules (vercmp).
package vulndb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// MaxRecordBytes bounds one OSV record.
const MaxRecordBytes = 8 << 20

// Record is an OSV record (https://ossf.github.io/osv-schema/), the
// fields hull uses.
type Record struct {
	SchemaVersion    string         `json:"schema_version"`
	ID               string         `json:"id"`
	Modified         time.Time      `json:"modified"`
	Published        *time.Time     `json:"published"`
	Withdrawn        *time.Time     `json:"withdrawn"`
	Aliases          []string       `json:"aliases"`
	Related          []string       `json:"related"`
	Upstream         []string       `json:"upstream"`
	Summary          string         `json:"summary"`
	Details          string         `json:"details"`
	Severity         []Severity     `json:"severity"`
	Affected         []Affected     `json:"affected"`
	References       []Reference    `json:"references"`
	DatabaseSpecific map[string]any `json:"database_specific"`
}

// Severity is a scoring of a record: a CVSS vector and its type.
type Severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// Affected names a package and the versions of it a record affects.
type Affected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
		PURL      string `json:"purl"`
	} `json:"package"`
	Severity          []Severity     `json:"severity"`
	Ranges            []Range        `json:"ranges"`
	Versions          []string       `json:"versions"`
	EcosystemSpecific map[string]any `json:"ecosystem_specific"`
	DatabaseSpecific  map[string]any `json:"database_specific"`
}

// Range is a list of version events of one type: ECOSYSTEM, SEMVER or GIT.
type Range struct {
	Type   string  `json:"type"`
	Repo   string  `json:"repo,omitempty"`
	Events []Event `json:"events"`
}

// Event is one version boundary; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// Reference is a link of a record.
type Reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// ParseRecord reads one OSV record. It must name an ID, and every range
// event must set exactly one boundary.
func ParseRecord(r io.Reader) (*Record, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxRecordBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxRecordBytes {
		return nil, fmt.Errorf("OSV record larger than %d bytes", MaxRecordBytes)
	}
	var rec Record
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&rec); err != nil {
		return nil, fmt.Errorf("OSV record: %v", err)
	}
	if rec.ID == "" || len(rec.ID) > 256 || strings.ContainsAny(rec.ID, "\x00/\\") {
		return nil, errors.New("OSV record: missing or invalid id")
	}
	for _, a := range rec.Affected {
		for _, rg := range a.Ranges {
			for _, e := range rg.Events {
				set := 0
				for _, s := range []string{e.Introduced, e.Fixed, e.LastAffected, e.Limit} {
					if s != "" {
						set++
					}
				}
				if set != 1 {
					return nil, fmt.Errorf("OSV record %s: a range event sets %d boundaries, want 1", rec.ID, set)
				}
			}
		}
	}
	return &rec, nil
}
