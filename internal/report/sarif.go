package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
)

// The subset of SARIF 2.1.0 that hull writes. Field names follow the
// specification (OASIS SARIF v2.1.0, section 3).
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
	Properties  map[string]string `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string            `json:"id"`
	Name                 string            `json:"name,omitempty"`
	ShortDescription     sarifText         `json:"shortDescription"`
	FullDescription      sarifText         `json:"fullDescription"`
	Help                 sarifText         `json:"help"`
	HelpURI              string            `json:"helpUri,omitempty"`
	DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
	Properties           sarifRuleProperty `json:"properties"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifRuleProperty struct {
	SecuritySeverity string   `json:"security-severity"`
	Tags             []string `json:"tags"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level      string              `json:"level"`
	Message    sarifText           `json:"message"`
	Descriptor *sarifDescriptorRef `json:"descriptor,omitempty"`
}

type sarifDescriptorRef struct {
	ID string `json:"id"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]string `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	Message          *sarifText     `json:"message,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
	Kind               string `json:"kind,omitempty"`
}

func sarifLevel(s finding.Severity) string {
	switch {
	case s >= finding.SeverityHigh:
		return "error"
	case s == finding.SeverityMedium:
		return "warning"
	}
	return "note"
}

// securitySeverity maps to the CVSS-like score GitHub code scanning reads.
var securitySeverity = map[finding.Severity]string{
	finding.SeverityCritical: "9.5",
	finding.SeverityHigh:     "7.5",
	finding.SeverityMedium:   "5.0",
	finding.SeverityLow:      "2.0",
	finding.SeverityInfo:     "0.0",
	finding.SeverityUnknown:  "0.0",
}

// EncodeSARIF writes a SARIF 2.1.0 log with one run.
func EncodeSARIF(w io.Writer, r Report, _ Options) error {
	r = sorted(r)
	index := map[string]int{}
	// Tags must be unique: the command goes in once, if named.
	tags := []string{"security"}
	if r.Command != "" && r.Command != "security" {
		tags = append(tags, r.Command)
	}
	driver := sarifDriver{Name: r.Tool, Version: r.Version, InformationURI: "https://github.com/hull-sec/hull", Rules: []sarifRule{}}
	addRule := func(ru finding.Rule) {
		if _, ok := index[ru.ID]; ok {
			return
		}
		index[ru.ID] = len(driver.Rules)
		help := ru.Doc
		if ru.Remediation != "" {
			help += "\n\nRemediation: " + ru.Remediation
		}
		sr := sarifRule{
			ID: ru.ID, Name: ru.ID,
			ShortDescription:     sarifText{ru.Title},
			FullDescription:      sarifText{ru.Doc},
			Help:                 sarifText{help},
			DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(ru.Severity)},
			Properties:           sarifRuleProperty{SecuritySeverity: securitySeverity[ru.Severity], Tags: tags},
		}
		sr.HelpURI = firstURI(ru.References)
		driver.Rules = append(driver.Rules, sr)
	}
	for _, ru := range r.Rules {
		addRule(ru)
	}
	inv := sarifInvocation{ExecutionSuccessful: true}
	for _, c := range r.Checks {
		if c.State == finding.StateError {
			inv.ExecutionSuccessful = false
			inv.Notifications = append(inv.Notifications, sarifNotification{
				Level: "error", Message: sarifText{c.Reason}, Descriptor: &sarifDescriptorRef{ID: c.ID}})
		}
	}
	for _, s := range r.Suppressed {
		inv.Notifications = append(inv.Notifications, sarifNotification{Level: "note", Message: sarifText{"suppressed " + s}})
	}
	results := make([]sarifResult, 0, len(r.Findings))
	for _, f := range r.Findings {
		addRule(finding.Rule{ID: f.ID, Title: f.Title, Severity: f.Severity, Doc: f.Title, Remediation: f.Remediation, References: f.References})
		msg := f.Title
		if f.Evidence != "" {
			msg += ": " + f.Evidence
		}
		loc := sarifLocation{}
		switch {
		case f.Location.Path != "":
			loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: artifactURI(f.Location.Path)}}
		case f.Location.File != "":
			// A deployment file, relative to where hull ran: code
			// scanning places the result on its line.
			loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: artifactURI(f.Location.File)}}
			if f.Location.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Location.Line}
			}
		}
		if f.Location.Field != "" {
			scope := r.Target
			if f.Location.File != "" {
				scope = f.Location.File
			}
			loc.LogicalLocations = []sarifLogical{{Name: f.Location.Field, FullyQualifiedName: scope + "#" + f.Location.Field, Kind: "member"}}
		}
		if f.Location.Layer != "" {
			loc.Message = &sarifText{fmt.Sprintf("layer %d (%s)", f.Location.LayerIndex, f.Location.Layer)}
		}
		res := sarifResult{
			RuleID: f.ID, RuleIndex: index[f.ID], Level: sarifLevel(f.Severity),
			Message:             sarifText{msg},
			PartialFingerprints: map[string]string{"hullFinding/v1": fingerprint(f)},
		}
		if loc.PhysicalLocation != nil || loc.LogicalLocations != nil {
			res.Locations = []sarifLocation{loc}
		}
		if f.Location.Layer != "" {
			res.Properties = map[string]string{"layer": f.Location.Layer}
		}
		results = append(results, res)
	}
	if len(r.Verdicts) > 0 {
		addRule(trustRule)
	}
	for _, v := range r.Verdicts {
		if v.Accepted {
			continue
		}
		results = append(results, sarifResult{
			RuleID: trustRule.ID, RuleIndex: index[trustRule.ID], Level: "error",
			Message:             sarifText{v.Target + ": " + v.Reason},
			Locations:           []sarifLocation{{LogicalLocations: []sarifLogical{{Name: v.Target, FullyQualifiedName: v.Reference + "@" + v.Digest, Kind: "resource"}}}},
			PartialFingerprints: map[string]string{"hullFinding/v1": fingerprint(finding.Finding{ID: trustRule.ID, Location: finding.Location{Field: v.Reference + "@" + v.Digest}, Evidence: v.Reason})},
		})
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Invocations: []sarifInvocation{inv}, Results: results,
		Properties: map[string]string{"target": r.Target}}
	if r.FailOn != "" {
		run.Properties["failOn"] = r.FailOn
	}
	if r.ImageID != "" {
		run.Properties["imageID"] = r.ImageID
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

// trustRule is the SARIF rule behind every rejected verdict.
var trustRule = finding.Rule{
	ID: "trust-policy", Title: "Image not trusted", Severity: finding.SeverityHigh,
	Doc:         "The image has no signature that the trust policy accepts, or a rule rejects it.",
	Remediation: "Sign the image with a key the policy names, or fix the policy's scope.",
}

// artifactURI turns a path inside the image into the relative URI reference
// SARIF requires, escaping what a file name may hold and a URI may
// not: spaces, '%', '#', '?', backslashes, non-ASCII bytes.
func artifactURI(path string) string {
	return (&url.URL{Path: strings.TrimPrefix(path, "/")}).String()
}

// firstURI returns the first reference that is an absolute URI, as helpUri
// must be, or "" if none is; references such as "CIS Docker
// Benchmark 4.1" stay out of it.
func firstURI(refs []string) string {
	for _, ref := range refs {
		if u, err := url.Parse(ref); err == nil && u.IsAbs() {
			return ref
		}
	}
	return ""
}

// fingerprint identifies a finding across runs independently of its
// position in the output and of the tag the image was reached by.
func fingerprint(f finding.Finding) string {
	h := sha256.New()
	for _, s := range []string{f.ID, f.Location.Path, f.Location.Field, f.Evidence} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	// A deployment file's findings differ by file and document, not by
	// line: a line moves with every edit above it. Written only for them,
	// so that the fingerprints of image findings stay what they were.
	if f.Location.File != "" {
		fmt.Fprintf(h, "%s\x00%d\x00", f.Location.File, f.Location.Document)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}
