package scan

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/inventory"
	"github.com/hull-sec/hull/internal/vulndb"
)

// records are shaped as the real ones are: a GHSA and a PYSEC record of
// one CVE, a Debian record by source package, a record of another release.
var records = map[string]string{
	"GHSA-8q59-q68h-6hv4.json": `{"id":"GHSA-8q59-q68h-6hv4","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2020-14343"],
	  "summary":"Improper Input Validation in PyYAML","database_specific":{"severity":"CRITICAL"},
	  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
	  "affected":[{"package":{"ecosystem":"PyPI","name":"pyyaml"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"5.4"}]}]}]}`,
	"PYSEC-2021-142.json": `{"id":"PYSEC-2021-142","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2020-14343","GHSA-8q59-q68h-6hv4"],
	  "details":"A vulnerability was discovered in the PyYAML library in versions before 5.4.",
	  "affected":[{"package":{"ecosystem":"PyPI","name":"PyYAML"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"5.4.1"}]}]}]}`,
	"DEBIAN-CVE-2023-38545.json": `{"id":"DEBIAN-CVE-2023-38545","modified":"2024-01-01T00:00:00Z","upstream":["CVE-2023-38545"],
	  "details":"SOCKS5 heap buffer overflow",
	  "affected":[{"package":{"ecosystem":"Debian:12","name":"curl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"7.88.1-10+deb12u4"}]}]},
	              {"package":{"ecosystem":"Debian:11","name":"curl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"7.74.0-1.3+deb11u10"}]}]}]}`,
	"DEBIAN-CVE-2021-0001.json": `{"id":"DEBIAN-CVE-2021-0001","modified":"2024-01-01T00:00:00Z",
	  "affected":[{"package":{"ecosystem":"Debian:12","name":"curl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"7.50.0-1"}]}]}]}`,
	"GHSA-lodash.json": `{"id":"GHSA-35jh-r3h4-6jhm","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2021-23337"],"summary":"Command Injection in lodash",
	  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],
	  "affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}]}`,
}

func testDB(t *testing.T) *vulndb.DB {
	t.Helper()
	return osvStore(t, slices.Collect(maps.Values(records))...)
}

var pkgs = []finding.Package{
	{Name: "libcurl4", Version: "7.88.1-10+deb12u3", Type: "deb", Source: "curl", SourceVersion: "7.88.1-10+deb12u3", Ecosystem: "Debian:12",
		PURL: "pkg:deb/debian/libcurl4@7.88.1-10%2Bdeb12u3?distro=debian-12", Locations: []finding.Location{{Path: "/var/lib/dpkg/status"}}},
	{Name: "PyYAML", Version: "5.3.1", Type: "pypi", Ecosystem: "PyPI", PURL: "pkg:pypi/pyyaml@5.3.1"},
	{Name: "lodash", Version: "4.17.21", Type: "npm", Ecosystem: "npm", PURL: "pkg:npm/lodash@4.17.21"},
	{Name: "left-pad", Version: "1.3.0", Type: "npm", Ecosystem: "npm", PURL: "pkg:npm/left-pad@1.3.0"},
}

func TestVulnerabilities(t *testing.T) {
	db := testDB(t)
	vr, err := Vulnerabilities(db, "img", pkgs, VulnOptions{})
	if err != nil || len(vr.Notes) != 0 || len(vr.Unmatched) != 0 {
		t.Fatal(err, vr.Notes, vr.Unmatched)
	}
	fs := vr.Findings
	var got []string
	for _, f := range fs {
		got = append(got, f.ID+" "+f.Vulnerability.Package+" "+f.Vulnerability.Fixed+" "+f.Severity.String())
	}
	want := []string{
		// One finding for the GHSA and PYSEC records of one CVE, named by
		// it, fixed by the higher fix, rated by the computed CVSS score.
		"CVE-2020-14343 PyYAML 5.4.1 critical",
		// Debian's record, matched by source package and version.
		"DEBIAN-CVE-2023-38545 libcurl4 7.88.1-10+deb12u4 unknown",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	py := fs[0].Vulnerability
	if !slices.Equal(py.Aliases, []string{"GHSA-8q59-q68h-6hv4", "PYSEC-2021-142"}) || py.Score != 9.8 || fs[0].Remediation != "Upgrade PyYAML to 5.4.1 or later" {
		t.Errorf("PyYAML finding: %+v %+v", fs[0], py)
	}
	if fs[1].Location.Path != "/var/lib/dpkg/status" || fs[1].Title != "SOCKS5 heap buffer overflow" {
		t.Errorf("curl finding: %+v", fs[1])
	}
}

// A Debian without a release (sid: no VERSION_ID) takes no release's
// records, and says why nothing was matched.
func TestUnmatchedWithoutRelease(t *testing.T) {
	db := testDB(t)
	sid := []finding.Package{{Name: "curl", Version: "7.0-1", Type: "deb", Ecosystem: "Debian", PURL: "pkg:deb/debian/curl@7.0-1"}}
	vr, err := Vulnerabilities(db, "img", sid, VulnOptions{})
	if err != nil || len(vr.Findings) != 0 || len(vr.Unmatched) != 1 || !strings.Contains(vr.Unmatched[0], "no VERSION_ID") {
		t.Errorf("%v %+v", err, vr)
	}
}

func TestSuppression(t *testing.T) {
	db := testDB(t)
	count := func(o VulnOptions) int {
		vr, err := Vulnerabilities(db, "img", pkgs, o)
		if err != nil {
			t.Fatal(err)
		}
		return len(vr.Findings)
	}
	if n := count(VulnOptions{Ignore: map[string]string{"PYSEC-2021-142": ""}}); n != 1 {
		t.Errorf("ignore by alias: %d findings", n)
	}
	openvex := `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[
	  {"vulnerability":{"name":"CVE-2020-14343"},"products":[{"@id":"pkg:pypi/pyyaml"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"},
	  {"vulnerability":{"name":"DEBIAN-CVE-2023-38545"},"products":[{"@id":"pkg:deb/debian/libcurl4@7.88.1-10%2Bdeb12u3"}],"status":"under_investigation"}]}`
	vex, err := ParseVEX(strings.NewReader(openvex))
	if err != nil {
		t.Fatal(err)
	}
	if n := count(VulnOptions{VEX: vex}); n != 1 {
		t.Errorf("OpenVEX not_affected: %d findings", n)
	}
	// What was suppressed is said, with what suppressed it.
	for _, tc := range []struct {
		o    VulnOptions
		want string
	}{
		{VulnOptions{VEX: vex}, "CVE-2020-14343 in PyYAML 5.3.1: the VEX document says it does not affect the package"},
		{VulnOptions{Ignore: map[string]string{"PYSEC-2021-142": "--ignore"}}, "CVE-2020-14343 in PyYAML 5.3.1: ignored as PYSEC-2021-142 (--ignore)"},
	} {
		vr, err := Vulnerabilities(db, "img", pkgs, tc.o)
		if err != nil {
			t.Fatal(err)
		}
		if len(vr.Suppressed) != 1 || vr.Suppressed[0] != tc.want {
			t.Errorf("suppressed: %q, want %q", vr.Suppressed, tc.want)
		}
	}
	cdx := `{"bomFormat":"CycloneDX","specVersion":"1.6","vulnerabilities":[
	  {"id":"DEBIAN-CVE-2023-38545","analysis":{"state":"not_affected"},"affects":[{"ref":"pkg:deb/debian/libcurl4@7.88.1-10%2Bdeb12u3?distro=debian-12"}]},
	  {"id":"CVE-2020-14343","analysis":{"state":"exploitable"},"affects":[{"ref":"pkg:pypi/pyyaml@5.3.1"}]}]}`
	if vex, err = ParseVEX(strings.NewReader(cdx)); err != nil {
		t.Fatal(err)
	}
	if n := count(VulnOptions{VEX: vex}); n != 1 {
		t.Errorf("CycloneDX VEX: %d findings", n)
	}
	for _, bad := range []string{"{", `{"@context":"x"}`, `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":"CVE-1","products":["p"],"status":"maybe"}]}`} {
		if _, err := ParseVEX(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseVEX(%q) accepted", bad)
		}
	}
}

func FuzzParseVEX(f *testing.F) {
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1","aliases":["GHSA-x"]},"products":[{"@id":"pkg:npm/a"}],"status":"fixed"}]}`))
	f.Add([]byte(`{"@context":"https://openvex.dev/ns","statements":[{"vulnerability":"CVE-1","products":["pkg:npm/a@1"],"status":"not_affected"}]}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","vulnerabilities":[{"id":"CVE-1","analysis":{"state":"resolved"},"affects":[{"ref":"pkg:npm/a@1"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseVEX(strings.NewReader(string(data)))
		if err == nil {
			_ = v.NotAffected([]string{"CVE-1"}, "pkg:npm/a@1?x=y")
		}
	})
}

// TestVulnCheckUndecided: the vulnerabilities check passes only when
// every package was judged. A version the ecosystem's rules cannot
// compare with the records naming its package, and a file naming
// packages that could not be read, leave it undecided, in the report's
// reason; a range skipped in a record whose other ranges decided does
// not, but is named.
func TestVulnCheckUndecided(t *testing.T) {
	db := osvStore(t, records["GHSA-lodash.json"],
		`{"id":"GHSA-odd","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"left-pad"},
		  "ranges":[{"type":"SEMVER","events":[{"introduced":"not a version"},{"fixed":"1.0.0"}]},{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.1.0"}]}]}]}`)
	bad := finding.Package{Name: "lodash", Version: "latest", Type: "npm", Ecosystem: "npm", PURL: "pkg:npm/lodash@latest"}
	good := finding.Package{Name: "left-pad", Version: "1.3.0", Type: "npm", Ecosystem: "npm", PURL: "pkg:npm/left-pad@1.3.0"}
	for _, tc := range []struct {
		name  string
		pkgs  []finding.Package
		notes []string
		state finding.State
		want  string
	}{
		{"version not comparable", []finding.Package{bad, good}, nil, finding.StateError, `lodash latest (npm): version "latest" cannot be compared`},
		{"package file not read", []finding.Package{good}, []string{"/app/node_modules/x/package.json (npm): bad JSON"}, finding.StateError, "could not read 1 package source: /app/node_modules/x/package.json"},
		// Not every note is a file: a package database that is not there.
		{"package database missing", []finding.Package{good}, []string{"os-release names debian (ID debian) but no package database of it was found"}, finding.StateError, "could not read 1 package source: os-release names debian"},
		{"a range skipped", []finding.Package{good}, nil, finding.StatePass, "GHSA-odd: a range skipped"},
	} {
		vr, err := Vulnerabilities(db, "img", tc.pkgs, VulnOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st := VulnCheck(&inventory.Result{Packages: tc.pkgs, Notes: tc.notes}, vr, "the test store")
		if st.State != tc.state || !strings.Contains(st.Reason, tc.want) {
			t.Errorf("%s: %+v; want %s naming %q", tc.name, st, tc.state, tc.want)
		}
	}
}
