package report

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/finding"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// CycloneDX 1.6 as cyclonedx-go ships it: the BOM schema $refs the SPDX
// license list and JSF schemas by relative URL.
var cycloneDXSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	const mod, ver = "github.com/CycloneDX/cyclonedx-go", "v0.9.2"
	return compileSchema(
		schemaFile{mod, ver, "schema/bom-1.6.schema.json", "3e92dddbc30cf7f6a02b80f0942b1a4cfd4fb1c26f1dfc4310afa9d613cafb93", "http://cyclonedx.org/schema/bom-1.6.schema.json"},
		schemaFile{mod, ver, "schema/spdx.schema.json", "669315cee4265ad6d742e92d7afb062fb4847abe754d3ade544b7c40482d0a48", "http://cyclonedx.org/schema/spdx.schema.json"},
		schemaFile{mod, ver, "schema/jsf-0.82.schemax.json", "a517f9e483e2252debd23d5c62edb72805b6d3932935a6ebb8196745052d2dc3", "http://cyclonedx.org/schema/jsf-0.82.schema.json"},
	)
})

// SPDX 2.3 as syft ships it. It differs from spdx-spec's v2.3 file in
// that documentNamespace is required (as the specification says) and
// PACKAGE_MANAGER and PERSISTENT_ID are accepted besides the hyphenated
// categories; TestSPDXValidates checks hull writes the hyphenated ones.
var spdxSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	return compileSchema(schemaFile{"github.com/anchore/syft", "v1.57.1", "schema/spdx-json/spdx-schema-2.3.json",
		"c2e139546ef93597d3b1214d1d452369d0b536af6c6d6500dbd25c582034aa7c", "http://spdx.org/rdf/terms/2.3"})
})

func sbomReport() Report {
	layer := "sha256:" + strings.Repeat("ab", 32)
	return Report{Tool: "hull", Version: "1.2.3", Command: "sbom", Target: "registry.example/app:1",
		ImageID: "sha256:" + strings.Repeat("cd", 32), Created: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC),
		OS: &finding.OS{ID: "debian", VersionID: "12", Codename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"},
		Packages: []finding.Package{
			{Name: "curl", Version: "7.88.1-10+deb12u5", Type: "deb", PURL: "pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12",
				Ecosystem: "Debian:12", Source: "curl", SourceVersion: "7.88.1-10+deb12u5", Arch: "amd64",
				Locations: []finding.Location{{Path: "/var/lib/dpkg/status", Layer: layer}}},
			{Name: "@types/node", Version: "20.1.0", Type: "npm", PURL: "pkg:npm/%40types/node@20.1.0", Ecosystem: "npm", Licenses: []string{"MIT"},
				Locations: []finding.Location{{Path: "/app/node_modules/@types/node/package.json", Layer: layer, LayerIndex: 1}}},
			{Name: "requests", Version: "2.25.1", Type: "pypi", PURL: "pkg:pypi/requests@2.25.1", Ecosystem: "PyPI", Licenses: []string{"Apache 2.0"},
				Locations: []finding.Location{{Path: "/usr/lib/python3/dist-packages/requests-2.25.1.dist-info/METADATA", Layer: layer}}},
		},
	}
}

// scanReport is a scan's report in CycloneDX: components and the
// vulnerabilities that affect them.
func scanReport() Report {
	r := sbomReport()
	r.Command = "scan"
	r.Findings = []finding.Finding{{ID: "CVE-2023-38545", Title: "SOCKS5 heap buffer overflow", Severity: finding.SeverityCritical,
		Remediation: "Upgrade curl to 7.88.1-10+deb12u6 or later", References: []string{"https://security-tracker.debian.org/tracker/CVE-2023-38545"},
		Vulnerability: &finding.Vulnerability{Package: "curl", Version: "7.88.1-10+deb12u5", Type: "deb", PURL: r.Packages[0].PURL, Ecosystem: "Debian:12",
			Fixed: "7.88.1-10+deb12u6", Aliases: []string{"DEBIAN-CVE-2023-38545"}, Score: 9.8, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
		{ID: "GHSA-x", Title: "no score", Severity: finding.SeverityUnknown, Vulnerability: &finding.Vulnerability{Package: "requests", PURL: r.Packages[2].PURL}}}
	return r
}

func TestSBOMGolden(t *testing.T) {
	t.Run("scan-cyclonedx", func(t *testing.T) {
		checkGolden(t, "scan-cyclonedx", encode(t, EncodeCycloneDX, scanReport(), Options{}))
	})
	for name, enc := range SBOMFormats {
		t.Run(name, func(t *testing.T) { checkGolden(t, "sbom-"+name, encode(t, enc, sbomReport(), Options{})) })
	}
}

func TestSBOMValidates(t *testing.T) {
	hostile := sbomReport()
	hostile.Target = "dir:/tmp/\"quoted\" \u00e9\xff"
	hostile.OS = nil
	hostile.Packages = append(hostile.Packages, finding.Package{Name: "we<ird>\"name\"", Version: "", Type: "npm",
		PURL: "pkg:npm/we%3Cird%3E%22name%22", Licenses: []string{"GPL-2.0+ WITH x", ""}})
	// An incomplete inventory and a scan's check statuses: the document
	// says so and still validates.
	partial := scanReport()
	partial.Notes = []string{"/var/lib/rpm/rpmdb.sqlite (rpm): file too large", "os-release names \"x\"\x01 but no package database"}
	partial.Checks = []finding.CheckStatus{{ID: "vulnerabilities", State: finding.StateError, Reason: "could not decide"}, {ID: "secrets", State: finding.StatePass}}
	// An os-release without its database is no file: the table says
	// package sources, not files.
	if out := encode(t, EncodeTable, Report{Command: "sbom", Target: partial.Target, Packages: partial.Packages, Notes: partial.Notes}, Options{}); !strings.Contains(string(out), "Incomplete: these package sources could not be read:\n") {
		t.Errorf("the table does not say package sources were not read:\n%s", out)
	}
	for _, c := range []struct {
		name   string
		enc    Encoder
		schema func() (*jsonschema.Schema, error)
	}{{"cyclonedx", EncodeCycloneDX, cycloneDXSchema}, {"spdx", EncodeSPDX, spdxSchema}} {
		sch, err := c.schema()
		if err != nil {
			t.Fatalf("load the %s schema: %v", c.name, err)
		}
		for rname, r := range map[string]Report{"inventory": sbomReport(), "hostile": hostile, "empty": {Packages: []finding.Package{}}, "scan": scanReport(), "partial": partial} {
			out := encode(t, c.enc, r, Options{})
			if err := sch.Validate(decodeJSON(t, out)); err != nil {
				t.Errorf("%s %s does not validate:\n%v\n--- output\n%s", c.name, rname, err, out)
			}
			if rname == "partial" && (!strings.Contains(string(out), "rpmdb.sqlite") ||
				c.name == "cyclonedx" && (!strings.Contains(string(out), `"incomplete"`) || !strings.Contains(string(out), "hull:check:vulnerabilities"))) {
				t.Errorf("%s: the partial report does not say what was not read:\n%s", c.name, out)
			}
			if rname == "partial" && c.name == "spdx" && !strings.Contains(string(out), "Incomplete: these package sources could not be read: ") {
				t.Errorf("spdx: the comment does not say package sources were not read:\n%s", out)
			}
			if c.name == "spdx" && strings.Contains(string(out), "PACKAGE_MANAGER") {
				t.Errorf("SPDX 2.3 spells the category PACKAGE-MANAGER")
			}
		}
	}
}
