package scan

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/vulndb"
)

// The realistic image (real Debian packages, npm packages from the
// registry, a Go binary with an old dependency, Debian's Python
// distributions) against real OSV records: testdata/osv/EXPECTED.md says
// what must and must not match, and why.
func TestScanImage(t *testing.T) {
	info := testenv.ScanImage(t)
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "osv.db")
	meta, err := vulndb.Update(ctx, dbPath, vulndb.UpdateOptions{From: "testdata/osv"})
	if err != nil {
		t.Fatal(err)
	}
	if meta.Withdrawn != 1 {
		t.Errorf("withdrawn records: %d, want PYSEC-2021-63", meta.Withdrawn)
	}
	db, err := vulndb.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	im, err := image.Open(ctx, "docker-archive:"+info.Archive, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	cache := t.TempDir()
	an, err := Analyze(ctx, im, AnalyzeOptions{Secrets: true, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	inv := an.Inventory

	// Recall: every package put in is found, where it was put.
	for _, want := range info.Packages {
		i := slices.IndexFunc(inv.Packages, func(p finding.Package) bool {
			return p.Type == want.Type && p.Name == want.Name && p.Version == want.Version && p.Ecosystem == want.Ecosystem &&
				slices.ContainsFunc(p.Locations, func(l finding.Location) bool { return l.Path == want.Path })
		})
		if i < 0 {
			t.Errorf("not found: %s %s %s (%s) at %s", want.Type, want.Name, want.Version, want.Ecosystem, want.Path)
			continue
		}
		if got := inv.Packages[i]; want.Type == "deb" && (got.Source != want.Source || got.SourceVersion != want.SourceVersion) {
			t.Errorf("%s: source %s %s, want %s %s", want.Name, got.Source, got.SourceVersion, want.Source, want.SourceVersion)
		}
	}
	if inv.OS == nil || "Debian:"+inv.OS.VersionID != info.OS {
		t.Errorf("OS %+v, want %s", inv.OS, info.OS)
	}
	if len(inv.Notes) != 0 {
		t.Errorf("notes: %v", inv.Notes)
	}

	vr, err := Vulnerabilities(db, im.Ref.String(), inv.Packages, VulnOptions{OS: inv.OS})
	if err != nil {
		t.Fatal(err)
	}
	if len(vr.Unmatched) != 0 {
		t.Errorf("unmatched: %v", vr.Unmatched)
	}
	// An ordinary image is judged, not undecided: its findings fail the
	// check, nothing leaves it in error.
	if st := VulnCheck(inv, vr, "the test records"); st.State != finding.StateFail {
		t.Errorf("vulnerabilities check: %+v", st)
	}
	findings, notes := vr.Findings, vr.Notes
	version := func(name string) string {
		for _, p := range info.Packages {
			if p.Name == name {
				return p.Version
			}
		}
		t.Fatalf("no %s in the image", name)
		return ""
	}
	// (package, version, records that are one finding)
	expected := []struct {
		pkg, version string
		records      []string
	}{
		{"tar", version("tar"), []string{"DEBIAN-CVE-2005-2541"}},
		{"apt", version("apt"), []string{"DEBIAN-CVE-2011-3374"}},
		{"zlib1g", version("zlib1g"), []string{"DEBIAN-CVE-2023-45853"}},
		{"lodash", "4.17.20", []string{"GHSA-35jh-r3h4-6jhm"}},
		{"minimist", "1.2.5", []string{"GHSA-xvch-5gv4-984h"}},
		{"minimist", "0.0.8", []string{"GHSA-xvch-5gv4-984h"}},
		{"minimist", "0.0.8", []string{"GHSA-vh95-rmgr-6w4m"}},
		{"node-fetch", "2.6.0", []string{"GHSA-r683-j2x4-v87g"}},
		{"node-fetch", "2.6.0", []string{"GHSA-w7rc-rwvf-8q5r"}},
		{"@babel/traverse", "7.22.0", []string{"GHSA-67hx-6x53-jw92"}},
		{"golang.org/x/text", "v0.3.5", []string{"GO-2021-0113"}},
		{"golang.org/x/text", "v0.3.5", []string{"GO-2022-1059"}},
		{"requests", "2.28.1", []string{"PYSEC-2023-74", "GHSA-j8r2-6x86-q33q"}},
		{"requests", "2.28.1", []string{"GHSA-9wx4-h78v-vm56"}},
		{"urllib3", "1.26.12", []string{"PYSEC-2023-192"}},
	}
	var got, want []string
	for _, f := range findings {
		ids := append([]string{f.ID}, f.Vulnerability.Aliases...)
		var recs []string
		for _, e := range expected {
			for _, r := range e.records {
				if slices.Contains(ids, r) && !slices.Contains(recs, r) {
					recs = append(recs, r)
				}
			}
		}
		sort.Strings(recs)
		got = append(got, fmt.Sprintf("%s %s %v", f.Vulnerability.Package, f.Vulnerability.Version, recs))
	}
	for _, e := range expected {
		r := slices.Clone(e.records)
		sort.Strings(r)
		want = append(want, fmt.Sprintf("%s %s %v", e.pkg, e.version, r))
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s\nnotes: %v", strings.Join(got, "\n"), strings.Join(want, "\n"), notes)
	}
	for _, f := range findings {
		if f.Location.Path == "" || f.Location.Layer == "" {
			t.Errorf("%s without a location", f.ID)
		}
	}

	// A rescan reads every layer from the cache and finds the same.
	again, err := Analyze(ctx, im, AnalyzeOptions{Secrets: true, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if again.CachedLayers != len(im.DiffIDs) {
		t.Errorf("rescan: %d of %d layers from the cache", again.CachedLayers, len(im.DiffIDs))
	}
	if fmt.Sprint(again.Inventory.Packages) != fmt.Sprint(inv.Packages) || len(again.Secrets) != len(an.Secrets) {
		t.Error("the rescan from the cache differs from the scan")
	}
}
