package vulndb

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func entry(eco string, versions []string, events ...Event) Entry {
	return Entry{ID: "X", Ecosystem: eco, Name: "p", Versions: versions, Ranges: []Range{{Type: "ECOSYSTEM", Events: events}}}
}

func TestAffects(t *testing.T) {
	intro := func(v string) Event { return Event{Introduced: v} }
	fix := func(v string) Event { return Event{Fixed: v} }
	last := func(v string) Event { return Event{LastAffected: v} }
	limit := func(v string) Event { return Event{Limit: v} }
	for _, c := range []struct {
		e       Entry
		version string
		want    bool
		fixed   string
	}{
		// Debian: epochs, tildes and revisions decide.
		{entry("Debian:12", nil, intro("0"), fix("7.88.1-10+deb12u5")), "7.88.1-10+deb12u4", true, "7.88.1-10+deb12u5"},
		{entry("Debian:12", nil, intro("0"), fix("7.88.1-10+deb12u5")), "7.88.1-10+deb12u5", false, ""},
		{entry("Debian:12", nil, intro("0"), fix("1:2.0-1")), "2.5-1", true, "1:2.0-1"},
		{entry("Debian:12", nil, intro("0"), fix("1.0-1")), "1.0~rc1-1", true, "1.0-1"},
		{entry("Debian:12", nil, intro("0")), "9.9-9", true, ""}, // no fix yet
		// Alpine.
		{entry("Alpine:v3.18", nil, intro("0"), fix("1.2.4-r3")), "1.2.4-r2", true, "1.2.4-r3"},
		{entry("Alpine:v3.18", nil, intro("0"), fix("1.2.4_p1-r0")), "1.2.4-r9", true, "1.2.4_p1-r0"},
		// SemVer, npm: several ranges, pre-releases.
		{entry("npm", nil, intro("4.0.0"), fix("4.17.21")), "4.17.20", true, "4.17.21"},
		{entry("npm", nil, intro("4.0.0"), fix("4.17.21")), "3.10.1", false, ""},
		{entry("npm", nil, intro("0"), fix("1.2.6"), intro("2.0.0"), fix("2.0.3")), "2.0.1", true, "2.0.3"},
		{entry("npm", nil, intro("0"), fix("1.2.6"), intro("2.0.0"), fix("2.0.3")), "1.2.8", false, ""},
		{entry("npm", nil, intro("1.0.0"), fix("1.0.0")), "1.0.0", false, ""},
		{entry("npm", nil, intro("2.0.0-rc.1"), fix("2.0.0")), "2.0.0-rc.2", true, "2.0.0"},
		// last_affected and limit.
		{entry("Go", nil, intro("0"), last("0.3.7")), "v0.3.7", true, ""},
		{entry("Go", nil, intro("0"), last("0.3.7")), "v0.3.8", false, ""},
		{entry("PyPI", nil, intro("0"), limit("2.0")), "1.9", true, ""},
		{entry("PyPI", nil, intro("0"), limit("2.0")), "2.0", false, ""},
		// PEP 440 ordering.
		{entry("PyPI", nil, intro("0"), fix("2.25.0")), "2.25.0rc1", true, "2.25.0"},
		{entry("PyPI", nil, intro("5.1"), fix("5.4")), "5.3.1", true, "5.4"},
		// An explicit version list.
		{entry("PyPI", []string{"1.0", "1.1"}), "1.1", true, ""},
		{entry("PyPI", []string{"1.0", "1.1"}), "1.2", false, ""},
		// Out of order events are sorted first.
		{entry("npm", nil, fix("1.5.0"), intro("1.0.0")), "1.2.0", true, "1.5.0"},
	} {
		got, fixed, err := c.e.Affects(c.version)
		if err != nil || got != c.want || fixed != c.fixed {
			t.Errorf("%s %v: Affects(%s) = %v, %q, %v; want %v, %q", c.e.Ecosystem, c.e.Ranges[0].Events, c.version, got, fixed, err, c.want, c.fixed)
		}
	}
	// GIT ranges are not evaluated; unparseable versions are errors.
	g := Entry{ID: "G", Ecosystem: "npm", Ranges: []Range{{Type: "GIT", Events: []Event{{Introduced: "0"}}}}}
	if a, _, err := g.Affects("1.0.0"); a || err != nil {
		t.Errorf("GIT range: %v %v", a, err)
	}
	if _, _, err := entry("Debian:12", nil, Event{Introduced: "0"}, Event{Fixed: "1.0-1"}).Affects("not a version!"); err == nil {
		t.Error("an invalid installed version gave no error")
	}
	// SEMVER events like "1.0" (GHSA-r683-j2x4-v87g) are padded as
	// osv.dev does; a range with an event the rules still reject is
	// skipped, with a reason, and the others decide.
	pad := Entry{ID: "GHSA-r683-j2x4-v87g", Ecosystem: "npm", Ranges: []Range{{Type: "SEMVER", Events: []Event{{Introduced: "1.0"}, {Fixed: "2.6.1"}}}}}
	if a, fixed, err := pad.Affects("2.6.0"); !a || fixed != "2.6.1" || err != nil {
		t.Errorf("padded SEMVER event: %v %q %v", a, fixed, err)
	}
	two := Entry{ID: "X", Ecosystem: "npm", Ranges: []Range{
		{Type: "SEMVER", Events: []Event{{Introduced: "1.x.y"}, {Fixed: "2.6.1"}}},
		{Type: "SEMVER", Events: []Event{{Introduced: "2.0.0"}, {Fixed: "2.6.1"}}}}}
	if a, fixed, err := two.Affects("2.6.0"); !a || fixed != "2.6.1" || err == nil {
		t.Errorf("a bad range beside a good one: %v %q %v", a, fixed, err)
	}
}

func writeZip(t *testing.T, path string, records map[string]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range records {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

const (
	recLodash = `{"schema_version":"1.6.0","id":"GHSA-35jh-r3h4-6jhm","modified":"2024-01-01T00:00:00Z","published":"2021-05-06T00:00:00Z",
	  "aliases":["CVE-2021-23337"],"summary":"Command Injection in lodash",
	  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],
	  "affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}],
	  "database_specific":{"severity":"HIGH"}}`
	recWithdrawn = `{"id":"GHSA-xxxx-withdrawn","modified":"2024-01-01T00:00:00Z","withdrawn":"2024-02-01T00:00:00Z",
	  "affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`
	recDebian = `{"id":"DEBIAN-CVE-2023-0001","modified":"2024-01-01T00:00:00Z","details":"first line\nmore",
	  "affected":[{"package":{"ecosystem":"Debian:12","name":"curl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"7.88.1-10+deb12u5"}]}]},
	              {"package":{"ecosystem":"Debian:11","name":"curl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"7.74.0-1.3+deb11u9"}]}]}]}`
	recPy = `{"id":"PYSEC-2020-96","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2020-14343"],
	  "affected":[{"package":{"ecosystem":"PyPI","name":"PyYAML"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"5.4"}]},
	   {"type":"GIT","repo":"https://github.com/yaml/pyyaml","events":[{"introduced":"0"},{"fixed":"abc"}]}]}]}`
	recRedHat = `{"id":"RHSA-2024:0001","modified":"2024-01-01T00:00:00Z",
	  "affected":[{"package":{"ecosystem":"Red Hat:enterprise_linux:9::appstream","name":"nodejs"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:18.19.0-1.el9_3"}]}]}]}`
)

func TestUpdateAndLookup(t *testing.T) {
	dir := t.TempDir()
	writeZip(t, filepath.Join(dir, "npm", "all.zip"), map[string]string{"GHSA-35jh-r3h4-6jhm.json": recLodash, "GHSA-xxxx-withdrawn.json": recWithdrawn})
	writeZip(t, filepath.Join(dir, "Debian", "all.zip"), map[string]string{"DEBIAN-CVE-2023-0001.json": recDebian})
	if err := os.WriteFile(filepath.Join(dir, "PYSEC-2020-96.json"), []byte(recPy), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "osv.db")
	meta, err := Update(context.Background(), path, UpdateOptions{From: dir})
	if err != nil {
		t.Fatal(err)
	}
	if meta.Records["npm"] != 1 || meta.Records["Debian"] != 1 || meta.Records["PyPI"] != 1 || meta.Withdrawn != 1 {
		t.Errorf("meta %+v", meta)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("store mode: %v %v", fi, err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	es, err := db.Lookup("npm", "lodash")
	if err != nil || len(es) != 1 || es[0].ID != "GHSA-35jh-r3h4-6jhm" {
		t.Fatalf("lodash: %+v %v", es, err)
	}
	if es, _ := db.Lookup("Debian:12", "curl"); len(es) != 1 || es[0].Ecosystem != "Debian:12" {
		t.Errorf("curl in Debian 12: %+v", es)
	}
	if es, _ := db.Lookup("Debian:13", "curl"); len(es) != 0 {
		t.Errorf("curl in Debian 13: %+v", es)
	}
	if es, _ := db.Lookup("PyPI", "pyyaml"); len(es) != 1 || len(es[0].Ranges) != 1 {
		t.Errorf("PyYAML by its normalized name, GIT range dropped: %+v", es)
	}
	v, ok, err := db.Vuln("DEBIAN-CVE-2023-0001")
	if err != nil || !ok || v.Summary != "first line" {
		t.Errorf("vuln: %+v %v %v", v, ok, err)
	}
	if v, _, _ := db.Vuln("GHSA-35jh-r3h4-6jhm"); v.DBSeverity != "HIGH" || v.Aliases[0] != "CVE-2021-23337" {
		t.Errorf("lodash vuln: %+v", v)
	}
}

func TestUpdateFromURL(t *testing.T) {
	dir := t.TempDir()
	writeZip(t, filepath.Join(dir, "npm", "all.zip"), map[string]string{"a.json": recLodash})
	writeZip(t, filepath.Join(dir, "Red Hat", "all.zip"), map[string]string{"b.json": recRedHat})
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "osv.db")
	var seen []string
	meta, err := Update(context.Background(), path, UpdateOptions{From: srv.URL, Ecosystems: []string{"npm", "Red Hat"}, Progress: func(m string) { seen = append(seen, m) }})
	if err != nil || meta.Records["npm"] != 1 || meta.Ecosystems["Red Hat:enterprise_linux:9::appstream"] != 1 || len(seen) != 2 {
		t.Fatalf("%+v %v %v", meta, err, seen)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if !db.Covers("Red Hat:enterprise_linux:9") || db.Covers("Red Hat:enterprise_linux:8") || !db.Covers("npm") || db.Covers("Debian:12") {
		t.Errorf("covers: %v", db.Meta.Ecosystems)
	}
	db.Close()
	// A missing export is an error, and the old store stays.
	if _, err := Update(context.Background(), path, UpdateOptions{From: srv.URL, Ecosystems: []string{"npm", "PyPI"}}); err == nil || !strings.Contains(err.Error(), "404") || !errors.Is(err, ErrUnreachable) {
		t.Errorf("missing export: %v", err)
	}
	// So is a source that does not answer.
	srv.Close()
	if _, err := Update(context.Background(), path, UpdateOptions{From: srv.URL, Ecosystems: []string{"npm"}}); !errors.Is(err, ErrUnreachable) {
		t.Errorf("unreachable source: %v", err)
	}
	if db, err := Open(path); err != nil {
		t.Errorf("the old store is gone: %v", err)
	} else {
		db.Close()
	}
}

func TestUpdateRejects(t *testing.T) {
	for name, records := range map[string]map[string]string{
		"not json":   {"a.json": "{"},
		"no id":      {"a.json": `{"affected":[]}`},
		"two bounds": {"a.json": `{"id":"X","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1"}]}]}]}`},
		"path in id": {"a.json": `{"id":"../x"}`},
		"no records": {"README": "x"},
	} {
		dir := t.TempDir()
		writeZip(t, filepath.Join(dir, "npm", "all.zip"), records)
		if _, err := Update(context.Background(), filepath.Join(t.TempDir(), "osv.db"), UpdateOptions{From: dir}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "none.db")); !errors.Is(err, ErrNoDB) {
		t.Errorf("no store: %v", err)
	}
	// A directory is read whole: a choice of ecosystems is refused, not
	// silently ignored; a source that is neither says what it should be.
	dir := t.TempDir()
	writeZip(t, filepath.Join(dir, "npm", "all.zip"), map[string]string{"a.json": recLodash})
	if _, err := Update(context.Background(), filepath.Join(t.TempDir(), "osv.db"), UpdateOptions{From: dir, Ecosystems: []string{"npm"}}); err == nil || !strings.Contains(err.Error(), "ecosystems are chosen from a URL") {
		t.Errorf("ecosystems with a directory: %v", err)
	}
	if _, err := Update(context.Background(), filepath.Join(t.TempDir(), "osv.db"), UpdateOptions{From: filepath.Join(dir, "nope")}); err == nil || !strings.Contains(err.Error(), "is neither a directory nor an http(s) URL") {
		t.Errorf("missing source: %v", err)
	}
}

func FuzzParseRecord(f *testing.F) {
	for _, r := range []string{recLodash, recWithdrawn, recDebian, recPy} {
		f.Add([]byte(r))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := ParseRecord(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		for _, a := range rec.Affected {
			e := Entry{ID: rec.ID, Ecosystem: a.Package.Ecosystem, Ranges: a.Ranges, Versions: a.Versions}
			for _, v := range []string{"0", "1.0.0", "1:2.3-4", "v1.2.3"} {
				_, _, _ = e.Affects(v)
			}
		}
		if _, err := json.Marshal(rec); err != nil {
			t.Fatal(err)
		}
	})
}
