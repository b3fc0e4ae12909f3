package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// SBOM documents are deterministic: the serial number and namespace are
// derived from the target, the image ID and the packages, and the
// timestamp is Report.Created (the zero time when unset, for tests).

// docDigest names a document by what it describes.
func docDigest(r Report) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", r.Target, r.ImageID)
	for _, p := range r.Packages {
		fmt.Fprintf(h, "%s\x00", p.PURL)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func created(r Report) string {
	return r.Created.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
}

// CycloneDX 1.6 JSON (https://cyclonedx.org/docs/1.6/json/).
type cdxBOM struct {
	BOMFormat       string             `json:"bomFormat"`
	SpecVersion     string             `json:"specVersion"`
	SerialNumber    string             `json:"serialNumber"`
	Version         int                `json:"version"`
	Metadata        cdxMetadata        `json:"metadata"`
	Components      []cdxComponent     `json:"components"`
	Vulnerabilities []cdxVulnerability `json:"vulnerabilities,omitempty"`
	Compositions    []cdxComposition   `json:"compositions,omitempty"`
}

// cdxComposition says how complete the components of an assembly are.
type cdxComposition struct {
	Aggregate  string   `json:"aggregate"`
	Assemblies []string `json:"assemblies"`
}

type cdxVulnerability struct {
	BOMRef         string      `json:"bom-ref"`
	ID             string      `json:"id"`
	Source         *cdxSource  `json:"source,omitempty"`
	References     []cdxVulRef `json:"references,omitempty"`
	Ratings        []cdxRating `json:"ratings,omitempty"`
	Description    string      `json:"description,omitempty"`
	Recommendation string      `json:"recommendation,omitempty"`
	Affects        []struct {
		Ref string `json:"ref"`
	} `json:"affects"`
}

type cdxSource struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

type cdxVulRef struct {
	ID     string    `json:"id"`
	Source cdxSource `json:"source"`
}

type cdxRating struct {
	Score    float64 `json:"score,omitempty"`
	Severity string  `json:"severity"`
	Method   string  `json:"method,omitempty"`
	Vector   string  `json:"vector,omitempty"`
}

type cdxMetadata struct {
	Timestamp string `json:"timestamp"`
	Tools     struct {
		Components []cdxComponent `json:"components"`
	} `json:"tools"`
	Component  *cdxComponent `json:"component,omitempty"`
	Properties []cdxProperty `json:"properties,omitempty"`
}

type cdxComponent struct {
	BOMRef     string        `json:"bom-ref,omitempty"`
	Type       string        `json:"type"`
	Name       string        `json:"name"`
	Version    string        `json:"version,omitempty"`
	PURL       string        `json:"purl,omitempty"`
	Licenses   []cdxLicense  `json:"licenses,omitempty"`
	Properties []cdxProperty `json:"properties,omitempty"`
}

type cdxLicense struct {
	License struct {
		Name string `json:"name"`
	} `json:"license"`
}

type cdxProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// EncodeCycloneDX writes the packages as a CycloneDX 1.6 BOM. Licenses go
// in as names (the text the package declares, which is not always an
// SPDX identifier); where each package was found goes in hull:
// properties.
func EncodeCycloneDX(w io.Writer, r Report, _ Options) error {
	r = sorted(r)
	d := docDigest(r)
	bom := cdxBOM{BOMFormat: "CycloneDX", SpecVersion: "1.6", Version: 1,
		SerialNumber: fmt.Sprintf("urn:uuid:%s-%s-%s-%s-%s", d[0:8], d[8:12], "5"+d[13:16], "8"+d[17:20], d[20:32]),
		Components:   []cdxComponent{}}
	bom.Metadata.Timestamp = created(r)
	bom.Metadata.Tools.Components = []cdxComponent{{Type: "application", Name: cmp.Or(r.Tool, "hull"), Version: r.Version}}
	bom.Metadata.Component = &cdxComponent{BOMRef: "target", Type: "container", Name: r.Target, Version: r.ImageID}
	if r.OS != nil {
		bom.Components = append(bom.Components, cdxComponent{BOMRef: "os:" + r.OS.ID + "@" + r.OS.VersionID, Type: "operating-system",
			Name: r.OS.ID, Version: r.OS.VersionID})
	}
	for _, p := range r.Packages {
		c := cdxComponent{BOMRef: p.PURL, Type: "library", Name: p.Name, Version: p.Version, PURL: p.PURL}
		for _, l := range p.Licenses {
			var cl cdxLicense
			cl.License.Name = l
			c.Licenses = append(c.Licenses, cl)
		}
		c.Properties = append(c.Properties, cdxProperty{"hull:package:type", p.Type})
		if p.Ecosystem != "" {
			c.Properties = append(c.Properties, cdxProperty{"hull:package:ecosystem", p.Ecosystem})
		}
		if p.Source != "" {
			c.Properties = append(c.Properties, cdxProperty{"hull:package:source", p.Source + " " + p.SourceVersion})
		}
		if len(p.Inferred) > 0 {
			// Coordinates hull guessed (a Java archive's groupId).
			c.Properties = append(c.Properties, cdxProperty{"hull:package:inferred", strings.Join(p.Inferred, ",")})
		}
		for i, l := range p.Locations {
			c.Properties = append(c.Properties,
				cdxProperty{"hull:location:" + strconv.Itoa(i) + ":path", l.Path},
				cdxProperty{"hull:location:" + strconv.Itoa(i) + ":layer", l.Layer})
		}
		bom.Components = append(bom.Components, c)
	}
	bom.Vulnerabilities = cdxVulnerabilities(r)
	// What could not be read, and each check's outcome (scan: the
	// secrets and malware checks have no place among vulnerabilities), so
	// a consumer of the BOM alone sees a partial inventory or scan.
	for _, n := range r.Notes {
		bom.Metadata.Properties = append(bom.Metadata.Properties, cdxProperty{"hull:not-read", n})
	}
	for _, c := range r.Checks {
		bom.Metadata.Properties = append(bom.Metadata.Properties, cdxProperty{"hull:check:" + c.ID, strings.TrimSuffix(string(c.State)+": "+c.Reason, ": ")})
	}
	if len(r.Notes) > 0 {
		bom.Compositions = []cdxComposition{{Aggregate: "incomplete", Assemblies: []string{"target"}}}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(bom)
}

// cdxVulnerabilities lists the findings about known vulnerabilities, each
// affecting its package's component (hull scan --format cyclonedx); r is
// sorted.
func cdxVulnerabilities(r Report) []cdxVulnerability {
	var out []cdxVulnerability
	for i, f := range r.Findings {
		v := f.Vulnerability
		if v == nil {
			continue
		}
		cv := cdxVulnerability{BOMRef: "vuln-" + strconv.Itoa(i+1), ID: f.ID, Source: &cdxSource{Name: "OSV"},
			Description: f.Title, Recommendation: f.Remediation}
		if len(f.References) > 0 {
			cv.Source.URL = f.References[0]
		}
		for _, a := range v.Aliases {
			cv.References = append(cv.References, cdxVulRef{ID: a, Source: cdxSource{Name: "OSV"}})
		}
		rating := cdxRating{Severity: f.Severity.String()}
		if v.Vector != "" {
			rating.Score, rating.Vector, rating.Method = v.Score, v.Vector, "CVSSv3"
			if strings.HasPrefix(v.Vector, "CVSS:3.1/") {
				rating.Method = "CVSSv31"
			}
		}
		cv.Ratings = []cdxRating{rating}
		cv.Affects = append(cv.Affects, struct {
			Ref string `json:"ref"`
		}{v.PURL})
		out = append(out, cv)
	}
	return out
}

// SPDX 2.3 JSON (https://spdx.github.io/spdx-spec/v2.3/).
type spdxDoc struct {
	SPDXVersion       string `json:"spdxVersion"`
	DataLicense       string `json:"dataLicense"`
	SPDXID            string `json:"SPDXID"`
	Name              string `json:"name"`
	DocumentNamespace string `json:"documentNamespace"`
	CreationInfo      struct {
		Created  string   `json:"created"`
		Creators []string `json:"creators"`
		Comment  string   `json:"comment,omitempty"`
	} `json:"creationInfo"`
	Packages      []spdxPackage      `json:"packages"`
	Relationships []spdxRelationship `json:"relationships"`
}

type spdxPackage struct {
	SPDXID                string       `json:"SPDXID"`
	Name                  string       `json:"name"`
	VersionInfo           string       `json:"versionInfo,omitempty"`
	DownloadLocation      string       `json:"downloadLocation"`
	FilesAnalyzed         bool         `json:"filesAnalyzed"`
	LicenseConcluded      string       `json:"licenseConcluded"`
	LicenseDeclared       string       `json:"licenseDeclared"`
	CopyrightText         string       `json:"copyrightText"`
	SourceInfo            string       `json:"sourceInfo,omitempty"`
	PrimaryPackagePurpose string       `json:"primaryPackagePurpose,omitempty"`
	ExternalRefs          []spdxExtRef `json:"externalRefs,omitempty"`
}

type spdxExtRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

type spdxRelationship struct {
	Element string `json:"spdxElementId"`
	Related string `json:"relatedSpdxElement"`
	Type    string `json:"relationshipType"`
}

// spdxLicenseID reports whether a declared license is one SPDX identifier
// ([A-Za-z0-9][A-Za-z0-9.+-]*); anything else (free text) is NOASSERTION
// in licenseDeclared.
func spdxLicenseID(s string) bool {
	for i, c := range []byte(s) {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '+' && c != '-')) {
			return false
		}
	}
	return s != ""
}

// EncodeSPDX writes the packages as an SPDX 2.3 document: the image is the
// described package and CONTAINS every other.
func EncodeSPDX(w io.Writer, r Report, _ Options) error {
	r = sorted(r)
	d := docDigest(r)
	doc := spdxDoc{SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT", Name: r.Target,
		DocumentNamespace: "https://hull.dev/spdxdocs/" + d}
	doc.CreationInfo.Created = created(r)
	doc.CreationInfo.Creators = []string{"Tool: " + cmp.Or(r.Tool, "hull") + "-" + cmp.Or(r.Version, "dev")}
	if len(r.Notes) > 0 {
		doc.CreationInfo.Comment = "Incomplete: these package sources could not be read: " + strings.Join(r.Notes, "; ")
	}
	noassert := func(p spdxPackage) spdxPackage {
		p.DownloadLocation, p.LicenseConcluded, p.CopyrightText = "NOASSERTION", "NOASSERTION", "NOASSERTION"
		p.LicenseDeclared = cmp.Or(p.LicenseDeclared, "NOASSERTION")
		return p
	}
	doc.Packages = append(doc.Packages, noassert(spdxPackage{SPDXID: "SPDXRef-Image", Name: r.Target, VersionInfo: r.ImageID, PrimaryPackagePurpose: "CONTAINER"}))
	doc.Relationships = append(doc.Relationships, spdxRelationship{"SPDXRef-DOCUMENT", "SPDXRef-Image", "DESCRIBES"})
	if r.OS != nil {
		doc.Packages = append(doc.Packages, noassert(spdxPackage{SPDXID: "SPDXRef-OS", Name: r.OS.ID, VersionInfo: r.OS.VersionID, PrimaryPackagePurpose: "OPERATING_SYSTEM"}))
		doc.Relationships = append(doc.Relationships, spdxRelationship{"SPDXRef-Image", "SPDXRef-OS", "CONTAINS"})
	}
	for i, p := range r.Packages {
		sp := spdxPackage{SPDXID: "SPDXRef-Package-" + strconv.Itoa(i+1), Name: p.Name, VersionInfo: p.Version, PrimaryPackagePurpose: "LIBRARY",
			ExternalRefs: []spdxExtRef{{"PACKAGE-MANAGER", "purl", p.PURL}}}
		if len(p.Licenses) == 1 && spdxLicenseID(p.Licenses[0]) {
			sp.LicenseDeclared = p.Licenses[0]
		}
		if len(p.Locations) > 0 {
			sp.SourceInfo = "found in " + p.Locations[0].Path + " (layer " + p.Locations[0].Layer + ")"
		}
		if len(p.Inferred) > 0 {
			sp.SourceInfo = strings.TrimPrefix(sp.SourceInfo+"; ", "; ") + "the " + strings.Join(p.Inferred, ", ") + " of its name is inferred, not stated by the package"
		}
		doc.Packages = append(doc.Packages, noassert(sp))
		doc.Relationships = append(doc.Relationships, spdxRelationship{"SPDXRef-Image", sp.SPDXID, "CONTAINS"})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
