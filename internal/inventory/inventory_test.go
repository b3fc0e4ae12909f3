package inventory

import (
	"context"
	"debug/buildinfo"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/vercmp"
	"github.com/hull-sec/hull/internal/vulndb"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const dpkgStatus = `Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries.

Package: curl
Status: install ok installed
Architecture: amd64
Source: curl (7.88.1-10+deb12u5)
Version: 7.88.1-10+deb12u5
Conffiles:
 /etc/x 0123

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
`

const apkInstalled = `C:Q1abc=
P:musl
V:1.2.4-r2
A:x86_64
L:MIT
o:musl

P:busybox-binsh
V:1.36.1-r5
A:x86_64
L:GPL-2.0-only
o:busybox
`

func catalog(t *testing.T, layers ...v1.Layer) *Result {
	t.Helper()
	p := filepath.Join(t.TempDir(), "img.tar")
	it.WriteDockerArchive(t, p, "example.com/inv:1", it.Image(t, v1.Config{}, nil, layers...))
	im, err := image.Open(context.Background(), "docker-archive:"+p, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { im.Close() })
	return visit(t, im)
}

// visit reads an image with the inventory alone, as the scan engine does
// with every analyzer.
func visit(t *testing.T, im *image.Image) *Result {
	t.Helper()
	var found []Found
	inspect := func(f *image.File) (any, error) {
		switch Wants(f.Path, f.Header) {
		case Buffer:
			data, err := io.ReadAll(io.LimitReader(f.Content(), MaxFileBytes+1))
			if err != nil {
				return nil, err
			}
			if len(data) > MaxFileBytes {
				data = nil
			}
			return Inspect(f.Path, f.Header, data, nil), nil
		case Stream:
			return Inspect(f.Path, f.Header, nil, f.Content()), nil
		}
		return nil, nil
	}
	keep := func(v image.Visible) error {
		if fr := v.Value.(*FileResult); fr != nil {
			found = append(found, Found{FileResult: fr, Location: finding.Location{Path: v.Path, LayerIndex: v.LayerIndex, Layer: im.DiffIDs[v.LayerIndex].String()}})
		}
		return nil
	}
	if err := im.Visit(context.Background(), image.VisitOptions{}, inspect, keep); err != nil {
		t.Fatal(err)
	}
	return Assemble(found)
}

func purls(res *Result) []string {
	var out []string
	for _, p := range res.Packages {
		out = append(out, p.PURL)
	}
	return out
}

func find(res *Result, purl string) *finding.Package {
	for i := range res.Packages {
		if res.Packages[i].PURL == purl {
			return &res.Packages[i]
		}
	}
	return nil
}

func TestDebian(t *testing.T) {
	base := it.Layer(t,
		it.File("etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n", 0o644),
		it.File("var/lib/dpkg/status", dpkgStatus, 0o644),
	)
	// A distroless layer adds a package the status.d way.
	top := it.Layer(t,
		it.File("var/lib/dpkg/status.d/tzdata", "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n", 0o644),
		it.File("var/lib/dpkg/status.d/tzdata.md5sums", "0123 usr/share/zoneinfo/UTC\n", 0o644),
	)
	res := catalog(t, base, top)
	want := []string{
		"pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12",
		"pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12",
		"pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12",
	}
	if got := purls(res); !slices.Equal(got, want) {
		t.Fatalf("packages:\n%s\nwant:\n%s\nnotes: %v", strings.Join(got, "\n"), strings.Join(want, "\n"), res.Notes)
	}
	libc := find(res, want[1])
	if libc.Source != "glibc" || libc.SourceVersion != "2.36-9+deb12u4" || libc.Ecosystem != "Debian:12" ||
		libc.Locations[0].Path != "/var/lib/dpkg/status" || libc.Locations[0].LayerIndex != 0 {
		t.Errorf("libc6: %+v", libc)
	}
	if tz := find(res, want[2]); tz.Locations[0].LayerIndex != 1 {
		t.Errorf("tzdata layer: %+v", tz)
	}
	if res.OS == nil || res.OS.ID != "debian" || res.OS.VersionID != "12" || res.OS.Codename != "bookworm" {
		t.Errorf("os: %+v", res.OS)
	}
}

// The merged filesystem decides: an upper layer's database replaces a
// lower one's, and a whiteout removes an installed package.
func TestLayersMerge(t *testing.T) {
	base := it.Layer(t,
		it.File("etc/os-release", "ID=alpine\nVERSION_ID=3.18.4\n", 0o644),
		it.File("lib/apk/db/installed", apkInstalled, 0o644),
		it.File("app/node_modules/lodash/package.json", `{"name":"lodash","version":"4.17.20","license":"MIT"}`, 0o644),
		it.File("app/node_modules/left-pad/package.json", `{"name":"left-pad","version":"1.3.0"}`, 0o644),
	)
	top := it.Layer(t,
		it.File("lib/apk/db/installed", strings.Replace(apkInstalled, "1.2.4-r2", "1.2.4-r3", 1), 0o644),
		it.File("app/node_modules/.wh.left-pad", "", 0o644),
	)
	res := catalog(t, base, top)
	want := []string{
		"pkg:apk/alpine/busybox-binsh@1.36.1-r5?arch=x86_64&distro=alpine-3.18.4",
		"pkg:apk/alpine/musl@1.2.4-r3?arch=x86_64&distro=alpine-3.18.4",
		"pkg:npm/lodash@4.17.20",
	}
	if got := purls(res); !slices.Equal(got, want) {
		t.Fatalf("packages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	musl := find(res, want[1])
	if musl.Ecosystem != "Alpine:v3.18" || musl.Source != "musl" || musl.Locations[0].LayerIndex != 1 || musl.Licenses[0] != "MIT" {
		t.Errorf("musl: %+v", musl)
	}
}

func TestNpmAndPython(t *testing.T) {
	lockV3 := `{"name":"app","version":"1.0.0","lockfileVersion":3,"packages":{
	  "":{"name":"app","version":"1.0.0"},
	  "node_modules/express":{"version":"4.17.1","dependencies":{"qs":"6.7.0"}},
	  "node_modules/@babel/core":{"version":"7.20.0","dev":true},
	  "node_modules/express/node_modules/qs":{"version":"6.7.0"},
	  "node_modules/local":{"resolved":"../local","link":true}}}`
	lockV1 := `{"name":"old","lockfileVersion":1,"requires":true,"dependencies":{
	  "minimist":{"version":"0.0.8","dependencies":{"nested":{"version":"1.0.0"}}},
	  "mocha":{"version":"10.0.0","dev":true}}}`
	res := catalog(t, it.Layer(t,
		it.File("srv/app/package.json", `{"name":"app","version":"1.0.0","private":true}`, 0o644),
		it.File("srv/app/package-lock.json", lockV3, 0o644),
		it.File("srv/old/package-lock.json", lockV1, 0o644),
		it.File("srv/app/node_modules/@types/node/package.json", `{"name":"@types/node","version":"20.1.0"}`, 0o644),
		it.File("srv/app/node_modules/x/lib/package.json", `{"type":"module"}`, 0o644),
		it.File("srv/app/test/fixtures/package.json", `not json {`, 0o644),
		it.File("usr/lib/python3/dist-packages/requests-2.25.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: requests\nVersion: 2.25.1\nLicense: Apache 2.0\n\nlong description\nName: not-this\n", 0o644),
		it.File("usr/lib/python3/dist-packages/PyYAML-5.3.1.egg-info/PKG-INFO", "Metadata-Version: 1.1\nName: PyYAML\nVersion: 5.3.1\n", 0o644),
		it.File("usr/lib/python3/dist-packages/six-1.16.0.egg-info", "Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\n", 0o644),
	))
	want := []string{
		"pkg:npm/%40types/node@20.1.0",
		"pkg:npm/app@1.0.0",
		"pkg:npm/express@4.17.1",
		"pkg:npm/minimist@0.0.8",
		"pkg:npm/nested@1.0.0",
		"pkg:npm/qs@6.7.0",
		"pkg:pypi/pyyaml@5.3.1",
		"pkg:pypi/requests@2.25.1",
		"pkg:pypi/six@1.16.0",
	}
	if got := purls(res); !slices.Equal(got, want) {
		t.Fatalf("packages:\n%s\nwant:\n%s\nnotes %v", strings.Join(got, "\n"), strings.Join(want, "\n"), res.Notes)
	}
	if ex := find(res, "pkg:npm/express@4.17.1"); ex.Locations[0].Path != "/srv/app/package-lock.json" {
		t.Errorf("express comes from the lockfile: %+v", ex.Locations)
	}
	if len(res.Notes) != 0 {
		t.Errorf("notes: %v", res.Notes)
	}
}

// Go binaries: hull's streaming reader agrees with debug/buildinfo, the
// standard library's reader of the same data, on binaries linked every
// way the toolchain links them here.
func TestGoBinaries(t *testing.T) {
	builds := map[string][]string{
		"default":  nil,
		"pie":      {"-buildmode=pie"},
		"stripped": {"-ldflags=-s -w"},
	}
	if _, err := exec.LookPath("gcc"); err == nil {
		builds["external"] = []string{"-ldflags=-linkmode=external"}
	}
	dir := t.TempDir()
	var entries []it.Entry
	want := map[string][]string{}
	for name, flags := range builds {
		out := filepath.Join(dir, name)
		args := append(append([]string{"build", "-o", out}, flags...), "./testdata/gobin")
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", name, err, b)
		}
		bi, err := buildinfo.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var w []string
		w = append(w, "stdlib@"+strings.TrimPrefix(bi.GoVersion, "go"))
		w = append(w, bi.Main.Path+"@"+bi.Main.Version)
		for _, d := range bi.Deps {
			w = append(w, d.Path+"@"+d.Version)
		}
		slices.Sort(w)
		want["/bin/"+name] = w
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, it.File("bin/"+name, string(data), 0o755))
	}
	entries = append(entries, it.File("bin/script", "#!/bin/sh\necho \xff Go buildinf: not really\n"+strings.Repeat("x", 2048), 0o755))
	res := catalog(t, it.Layer(t, entries...))
	got := map[string][]string{}
	for _, p := range res.Packages {
		if p.Type != "golang" || p.Ecosystem != "Go" {
			t.Errorf("package %+v", p)
		}
		for _, l := range p.Locations {
			got[l.Path] = append(got[l.Path], p.Name+"@"+p.Version)
		}
	}
	for path, w := range want {
		g := got[path]
		slices.Sort(g)
		if !slices.Equal(g, w) {
			t.Errorf("%s: hull reads %v, debug/buildinfo %v", path, g, w)
		}
	}
	if len(got) != len(want) || len(res.Notes) != 0 {
		t.Errorf("files with Go packages: %v; notes %v", got, res.Notes)
	}
}

func TestPURL(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{purl("npm", "@angular", "core", "16.0.0", nil), "pkg:npm/%40angular/core@16.0.0"},
		{purl("golang", "github.com/gorilla", "mux", "v1.8.0", nil), "pkg:golang/github.com/gorilla/mux@v1.8.0"},
		{purl("deb", "debian", "curl", "7.88.1-10+deb12u5", map[string]string{"distro": "debian-12", "arch": "amd64", "empty": ""}),
			"pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12"},
		{purl("pypi", "", "zope-interface", "1:5.0", nil), "pkg:pypi/zope-interface@1%3A5.0"},
	} {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
	if n := vercmp.NormalizeName("PyPI", "Zope.Interface__x"); n != "zope-interface-x" {
		t.Errorf("NormalizeName: %s", n)
	}
}

// An rpm's epoch goes in the PURL's epoch qualifier; OSV's ecosystem
// comes from the distribution.
func TestRPMPackageURL(t *testing.T) {
	p := finding.Package{Name: "openssl-libs", Version: "1:3.0.7-6.el9", Type: "rpm", Arch: "x86_64"}
	complete(&p, &finding.OS{ID: "rocky", VersionID: "9.3"})
	if p.PURL != "pkg:rpm/rocky/openssl-libs@3.0.7-6.el9?arch=x86_64&distro=rocky-9.3&epoch=1" || p.Ecosystem != "Rocky Linux:9" {
		t.Errorf("%s %s", p.PURL, p.Ecosystem)
	}
	q := finding.Package{Name: "bash", Version: "5.1.8-6.el9", Type: "rpm"}
	complete(&q, &finding.OS{ID: "rhel", VersionID: "9.3"})
	if q.PURL != "pkg:rpm/rhel/bash@5.1.8-6.el9?distro=rhel-9.3" || q.Ecosystem != "Red Hat:enterprise_linux:9" {
		t.Errorf("%s %s", q.PURL, q.Ecosystem)
	}
}

// osEcosystemCases are os-release files of real distributions and the OSV
// ecosystem their packages are filed under ("" where osv.dev has none).
var osEcosystemCases = []struct{ Type, OSRelease, Want string }{
	{"deb", "ID=debian\nVERSION_ID=\"12\"", "Debian:12"},
	{"deb", "ID=debian\nPRETTY_NAME=\"Debian GNU/Linux trixie/sid\"", "Debian"},
	{"deb", "ID=ubuntu\nVERSION_ID=\"22.04\"", "Ubuntu:22.04"},
	{"deb", "ID=kali\nVERSION_ID=\"2024.1\"", ""},
	{"apk", "ID=alpine\nVERSION_ID=3.20.3", "Alpine:v3.20"},
	{"apk", "ID=wolfi", "Wolfi"},
	{"rpm", "ID=\"rhel\"\nVERSION_ID=\"9.3\"\nCPE_NAME=\"cpe:/o:redhat:enterprise_linux:9::baseos\"", "Red Hat:enterprise_linux:9"},
	{"rpm", "ID=\"rhel\"\nVERSION_ID=\"8.10\"", "Red Hat:enterprise_linux:8"},
	{"rpm", "ID=\"almalinux\"\nVERSION_ID=\"9.4\"", "AlmaLinux:9"},
	{"rpm", "ID=\"rocky\"\nVERSION_ID=\"8.9\"", "Rocky Linux:8"},
	{"rpm", "ID=\"sles\"\nVERSION_ID=\"15.5\"", "SUSE:Linux Enterprise Server 15 SP5"},
	{"rpm", "ID=\"sles\"\nVERSION_ID=\"15\"", "SUSE:Linux Enterprise Server 15"},
	{"rpm", "ID=\"sle-micro\"\nVERSION_ID=\"5.5\"", "SUSE:Linux Enterprise Micro 5.5"},
	{"rpm", "ID=\"opensuse-leap\"\nVERSION_ID=\"15.5\"", "openSUSE:Leap 15.5"},
	{"rpm", "ID=\"opensuse-tumbleweed\"\nVERSION_ID=\"20240801\"", "openSUSE:Tumbleweed"},
	{"rpm", "ID=\"mageia\"\nVERSION_ID=\"9\"", "Mageia:9"},
	{"rpm", "ID=\"openEuler\"\nVERSION_ID=\"22.03\"\nPRETTY_NAME=\"openEuler 22.03 (LTS-SP1)\"", "openEuler:22.03-LTS-SP1"},
	{"rpm", "ID=\"openEuler\"\nVERSION_ID=\"24.03\"\nPRETTY_NAME=\"openEuler 24.03 (LTS)\"", "openEuler:24.03-LTS"},
	{"rpm", "ID=azurelinux\nVERSION_ID=\"3.0\"", "Azure Linux:3"},
	{"rpm", "ID=photon\nVERSION_ID=5.0", "Photon OS:5.0"},
	{"rpm", "ID=\"centos\"\nVERSION_ID=\"7\"", ""},
	{"rpm", "ID=fedora\nVERSION_ID=40", ""},
	{"rpm", "ID=\"amzn\"\nVERSION_ID=\"2023\"", ""},
	{"rpm", "ID=\"ol\"\nVERSION_ID=\"9.3\"", ""},
}

func TestOSEcosystem(t *testing.T) {
	for _, c := range osEcosystemCases {
		osr := OSRelease([]byte(c.OSRelease))
		if got := OSEcosystem(c.Type, &osr); got != c.Want {
			t.Errorf("%s packages of %q: ecosystem %q, want %q", c.Type, c.OSRelease, got, c.Want)
		}
		// What the inventory files packages under, an update fetches.
		if c.Want != "" && !slices.Contains(vulndb.DefaultEcosystems, vulndb.BaseEcosystem(c.Want)) {
			t.Errorf("%s is not among the ecosystems hull db update fetches", c.Want)
		}
	}
	for _, typ := range []string{"golang", "npm", "pypi", "cargo", "gem", "composer", "maven"} {
		p := finding.Package{Type: typ, Name: "a:b", Version: "1"}
		complete(&p, nil)
		if !slices.Contains(vulndb.DefaultEcosystems, p.Ecosystem) {
			t.Errorf("%s packages: ecosystem %q is not among the ecosystems hull db update fetches", typ, p.Ecosystem)
		}
	}
}

// TestVersionFollowsCatalogers: scan's layer cache is keyed by Version, so
// adding or removing a cataloger must change it without anyone
// remembering to.
func TestVersionFollowsCatalogers(t *testing.T) {
	all := Version()
	saved := catalogers
	t.Cleanup(func() { catalogers = saved })
	catalogers = saved[:len(saved)-1]
	if Version() == all {
		t.Errorf("Version %q did not change without the %s cataloger", all, saved[len(saved)-1].name)
	}
}

// An image whose os-release names a distribution but holds no package
// database of it: its packages are unknown, and the result says so
// (a note, which makes scan's vulnerabilities check undecided and sbom
// exit 2), instead of reading as "nothing installed".
func TestDistributionWithoutPackageDatabase(t *testing.T) {
	osr := it.File("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n", 0o644)
	for _, tc := range []struct {
		name  string
		files []it.Entry
		note  bool
	}{
		{"no database", []it.Entry{osr, it.File("app/node_modules/x/package.json", `{"name":"x","version":"1.0.0"}`, 0o644)}, true},
		{"empty database", []it.Entry{osr, it.File("var/lib/dpkg/status", "", 0o644)}, true},
		{"unknown format", []it.Entry{it.File("etc/os-release", "ID=arch\nPRETTY_NAME=\"Arch Linux\"\n", 0o644), it.File("var/lib/pacman/local/bash-5.2-1/desc", "%NAME%\nbash\n", 0o644)}, true},
		{"with packages", []it.Entry{osr, it.File("var/lib/dpkg/status", "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nArchitecture: amd64\n\n", 0o644)}, false},
		{"no os-release", []it.Entry{it.File("app/node_modules/x/package.json", `{"name":"x","version":"1.0.0"}`, 0o644)}, false},
	} {
		res := catalog(t, it.Layer(t, tc.files...))
		got := slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "no package database") })
		if got != tc.note {
			t.Errorf("%s: notes %q", tc.name, res.Notes)
		}
	}
}

// Only the package.json of an installed package (or of an application) is
// read: those inside a package (test fixtures, often malformed on
// purpose) are not packages and make no note; a malformed one of an
// installed package does.
func TestNpmInstalledOnly(t *testing.T) {
	res := catalog(t, it.Layer(t,
		it.File("app/node_modules/resolve/package.json", `{"name":"resolve","version":"1.22.8"}`, 0o644),
		it.File("app/node_modules/resolve/test/resolver/malformed_package_json/package.json", `{"name":"x",`, 0o644),
		it.File("app/node_modules/@scope/pkg/package.json", `{"name":"@scope/pkg","version":"2.0.0"}`, 0o644),
		it.File("app/node_modules/@scope/pkg/dist/cjs/package.json", `{"type":"commonjs"}`, 0o644),
		it.File("app/node_modules/a/node_modules/b/package.json", `{"name":"b","version":"3.0.0"}`, 0o644),
		it.File("app/node_modules/broken/package.json", `{"name":`, 0o644),
		it.File("app/package.json", `{"name":"app","version":"0.1.0"}`, 0o644)))
	want := []string{"pkg:npm/%40scope/pkg@2.0.0", "pkg:npm/app@0.1.0", "pkg:npm/b@3.0.0", "pkg:npm/resolve@1.22.8"}
	if got := purls(res); !slices.Equal(got, want) {
		t.Errorf("packages %v, want %v", got, want)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "/app/node_modules/broken/package.json") {
		t.Errorf("notes %q, want one for the broken installed package", res.Notes)
	}
}

// TestNotesAreMasked: a note quoting a line of a package database that
// does not parse masks a credential in it; notes reach SBOM documents,
// reports and the layer cache.
func TestNotesAreMasked(t *testing.T) {
	token := "ghp_" + "Qw3rTy5uI7oP9aS1dF3gH5jK7lZ9xC1vB3nM"
	res := catalog(t, it.Layer(t,
		it.File("var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n"+token+"\n\n", 0o644)))
	if len(res.Notes) != 1 || strings.Contains(res.Notes[0], token) || !strings.Contains(res.Notes[0], "/var/lib/dpkg/status") {
		t.Errorf("notes %q", res.Notes)
	}
}
