package scan

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/vulndb"
)

// rpmDatabase builds packages with rpmbuild and records them in an
// rpmdb.sqlite with the real rpm, as an image's package manager would:
// openssl-libs 1:3.0.7-16.el9 from source openssl, and bash.
func rpmDatabase(t *testing.T) []byte {
	t.Helper()
	specs := []string{`Name: openssl
Version: 3.0.7
Release: 16.el9
Epoch: 1
License: ASL 2.0
Summary: test
BuildArch: noarch
%description
test
%package libs
Summary: libs
%description libs
libs
%files libs
`, `Name: bash
Version: 5.1.8
Release: 9.el9
License: GPLv3+
Summary: test
BuildArch: noarch
%description
test
%files
`}
	dir, _ := testenv.RPMDatabase(t, specs)
	data, err := os.ReadFile(filepath.Join(dir, "rpmdb.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// osvStore writes OSV records to a directory and builds a store of them.
func osvStore(t *testing.T, recs ...string) *vulndb.DB {
	t.Helper()
	dir := t.TempDir()
	for i, r := range recs {
		if err := os.WriteFile(filepath.Join(dir, "r"+string(rune('a'+i))+".json"), []byte(r), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "osv.db")
	if _, err := vulndb.Update(context.Background(), path, vulndb.UpdateOptions{From: dir}); err != nil {
		t.Fatal(err)
	}
	db, err := vulndb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Records as osv.dev publishes them: Red Hat's under the CPE of the
// repository, SUSE's under the module that ships the package, each
// naming binary packages.
const (
	rhsaOpenSSL = `{"id":"RHSA-2023:3722","modified":"2024-01-01T00:00:00Z","upstream":["CVE-2023-0464"],"summary":"openssl security update",
	  "affected":[{"package":{"ecosystem":"Red Hat:enterprise_linux:9::baseos","name":"openssl-libs","purl":"pkg:rpm/redhat/openssl-libs"},
	    "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:3.0.7-16.el9_2"}]}]},
	   {"package":{"ecosystem":"Red Hat:enterprise_linux:8::baseos","name":"openssl-libs"},
	    "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:1.1.1k-9.el8_7"}]}]}]}`
	// Fixed in an older release than installed: must not match.
	rhsaBash = `{"id":"RHSA-2022:0001","modified":"2024-01-01T00:00:00Z","summary":"bash update",
	  "affected":[{"package":{"ecosystem":"Red Hat:enterprise_linux:9::baseos","name":"bash"},
	    "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"0:5.1.8-6.el9"}]}]}]}`
	suseOpenSSL = `{"id":"SUSE-SU-2023:2222-1","modified":"2024-01-01T00:00:00Z","summary":"openssl-3 security update",
	  "affected":[{"package":{"ecosystem":"SUSE:Linux Enterprise Module for Basesystem 15 SP5","name":"openssl-libs"},
	    "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:3.0.8-150500.1.1"}]}]}]}`
	npmOnly = `{"id":"GHSA-35jh-r3h4-6jhm","modified":"2024-01-01T00:00:00Z",
	  "affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}]}`
)

// An RPM image is matched in its distribution's OSV ecosystem; one whose
// distribution OSV has no records of, or whose ecosystem the store lacks,
// cannot be decided and says which.
func TestScanRPMDistributions(t *testing.T) {
	rpmdb := rpmDatabase(t)
	scanWith := func(osRelease string, db *vulndb.DB) VulnResult {
		t.Helper()
		im := openArchive(t, it.Layer(t,
			it.File("etc/os-release", osRelease, 0o644),
			it.File("var/lib/rpm/rpmdb.sqlite", string(rpmdb), 0o644)))
		an, err := Analyze(context.Background(), im, AnalyzeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(an.Inventory.Packages) != 2 {
			t.Fatalf("packages: %+v", an.Inventory.Packages)
		}
		vr, err := Vulnerabilities(db, "img", an.Inventory.Packages, VulnOptions{OS: an.Inventory.OS})
		if err != nil {
			t.Fatal(err)
		}
		return vr
	}
	ids := func(fs []finding.Finding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.ID+" "+f.Vulnerability.Package+" "+f.Vulnerability.Ecosystem+" fixed "+f.Vulnerability.Fixed)
		}
		return out
	}
	rhel := "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nVERSION_ID=\"9.2\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.2 (Plow)\"\nCPE_NAME=\"cpe:/o:redhat:enterprise_linux:9::baseos\"\n"
	db := osvStore(t, rhsaOpenSSL, rhsaBash, suseOpenSSL)

	vr := scanWith(rhel, db)
	if want := []string{"RHSA-2023:3722 openssl-libs Red Hat:enterprise_linux:9 fixed 1:3.0.7-16.el9_2"}; !slices.Equal(ids(vr.Findings), want) || len(vr.Unmatched) != 0 {
		t.Errorf("RHEL 9: findings %q, unmatched %q; want %q", ids(vr.Findings), vr.Unmatched, want)
	}
	sles := "NAME=\"SLES\"\nVERSION=\"15-SP5\"\nVERSION_ID=\"15.5\"\nPRETTY_NAME=\"SUSE Linux Enterprise Server 15 SP5\"\nID=\"sles\"\n"
	vr = scanWith(sles, db)
	if want := []string{"SUSE-SU-2023:2222-1 openssl-libs SUSE:Linux Enterprise Server 15 SP5 fixed 1:3.0.8-150500.1.1"}; !slices.Equal(ids(vr.Findings), want) || len(vr.Unmatched) != 0 {
		t.Errorf("SLES 15 SP5: findings %q, unmatched %q; want %q", ids(vr.Findings), vr.Unmatched, want)
	}

	// CentOS: OSV has no ecosystem for it.
	vr = scanWith("NAME=\"CentOS Linux\"\nID=\"centos\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n", db)
	if len(vr.Findings) != 0 || len(vr.Unmatched) != 1 || !strings.Contains(vr.Unmatched[0], "CentOS Linux 7") || !strings.Contains(vr.Unmatched[0], "no ecosystem") {
		t.Errorf("CentOS 7: findings %q, unmatched %q", ids(vr.Findings), vr.Unmatched)
	}
	// RHEL 8 and a store of RHEL 9 records only, then a store with no
	// Red Hat record at all.
	rhel8 := strings.ReplaceAll(rhel, "9.2", "8.8")
	for db, why := range map[*vulndb.DB]string{osvStore(t, rhsaBash): "other releases only", osvStore(t, npmOnly): "'hull db update' fetches Red Hat records"} {
		vr = scanWith(rhel8, db)
		if len(vr.Findings) != 0 || len(vr.Unmatched) != 1 || !strings.Contains(vr.Unmatched[0], "Red Hat:enterprise_linux:8") || !strings.Contains(vr.Unmatched[0], why) {
			t.Errorf("RHEL 8 against %v: findings %q, unmatched %q", db.Meta.Ecosystems, ids(vr.Findings), vr.Unmatched)
		}
	}
}
