package report

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hull-sec/hull/internal/finding"
)

// The official OASIS SARIF 2.1.0 JSON schema (errata01, draft-04), as
// shipped in a Go module's test data (see schemaFile).
var sarifSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	return compileSchema(schemaFile{
		module: "github.com/securego/gosec/v2", version: "v2.30.0",
		path:   "report/sarif/testdata/sarif-schema-2.1.0.json",
		sha256: "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e",
		id:     "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
	})
})

func loadSARIFSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	sch, err := sarifSchema()
	if err != nil {
		t.Fatalf("load the SARIF 2.1.0 schema: %v", err)
	}
	return sch
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	return v
}

func TestSARIFValidatesAgainstSchema(t *testing.T) {
	sch := loadSARIFSchema(t)
	for _, rc := range reportCases {
		t.Run(rc.name, func(t *testing.T) {
			out := encode(t, EncodeSARIF, rc.report(), Options{})
			if err := sch.Validate(decodeJSON(t, out)); err != nil {
				t.Errorf("SARIF output does not validate against the SARIF 2.1.0 schema:\n%v\n--- output\n%s", err, out)
			}
		})
	}
}

// TestSARIFEdgeCasesValidate covers inputs a real engine may produce that
// once made the encoder write invalid SARIF.
func TestSARIFEdgeCasesValidate(t *testing.T) {
	sch := loadSARIFSchema(t)
	tests := map[string]Report{
		// Tags must be unique.
		"command named security": {Tool: "hull", Command: "security", Target: "x",
			Findings: []finding.Finding{{ID: "A", Title: "a", Severity: finding.SeverityLow}}},
		"no command, no tool name": {Findings: []finding.Finding{{ID: "A", Title: "a"}}},
		// Paths from an image may hold anything a file name may.
		"hostile paths": {Tool: "hull", Command: "scan", Target: "x", Findings: []finding.Finding{
			{ID: "A", Title: "a", Location: finding.Location{Path: `/a\b c/%zz/?q=1#frag`}},
			{ID: "B", Title: "b", Location: finding.Location{Path: "/C:/windows:stream"}},
			{ID: "C", Title: "c", Location: finding.Location{Path: "/bad\xffutf8/\x00nul/\u00e9t\u00e9"}},
			{ID: "D", Title: "d", Location: finding.Location{Path: "/"}},
		}},
		"audit states": {Tool: "hull", Command: "audit", Target: "host x", Checks: []finding.CheckStatus{
			{ID: "a", State: finding.StateWarn, Reason: "w"}, {ID: "b", State: finding.StateSkip, Reason: "s"},
			{ID: "c", State: finding.StateError, Reason: "e"}, {ID: "d", State: finding.StatePass}},
			Findings: []finding.Finding{{ID: "a", Title: "a", Severity: finding.SeverityLow}}},
		"references that are not URIs": {Tool: "hull", Rules: []finding.Rule{
			{ID: "R", Title: "r", References: []string{"", "CIS 4.1", "/relative/doc", "https://example.invalid/doc"}},
			{ID: "S", Title: "s", References: []string{"see the README"}},
		}},
	}
	for name, r := range tests {
		t.Run(name, func(t *testing.T) {
			out := encode(t, EncodeSARIF, r, Options{})
			if err := sch.Validate(decodeJSON(t, out)); err != nil {
				t.Errorf("invalid SARIF:\n%v\n--- output\n%s", err, out)
			}
		})
	}
}

func TestArtifactURI(t *testing.T) {
	for path, want := range map[string]string{
		"/usr/bin/passwd":              "usr/bin/passwd",
		"/opt/vendor tools/100%/run#1": "opt/vendor%20tools/100%25/run%231",
		"/C:/x":                        "./C:/x",
		"relative/p?q":                 "relative/p%3Fq",
	} {
		if got := artifactURI(path); got != want {
			t.Errorf("artifactURI(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestSARIFSchemaRejectsBrokenLogs is the negative control: the schema and
// validator must reject documents that break SARIF, each at the place that
// breaks it, or the test above proves nothing.
func TestSARIFSchemaRejectsBrokenLogs(t *testing.T) {
	sch := loadSARIFSchema(t)
	valid := encode(t, EncodeSARIF, findingsReport(), Options{})
	if err := sch.Validate(decodeJSON(t, valid)); err != nil {
		t.Fatalf("the log to break is invalid already: %v", err)
	}
	tests := []struct {
		name   string
		at     string // instance location the validator must blame
		mutate func(log map[string]any)
	}{
		{"level severe", "/runs/0/results/0/level", func(log map[string]any) {
			resultOf(log, 0)["level"] = "severe"
		}},
		{"result without message", "/runs/0/results/1", func(log map[string]any) {
			delete(resultOf(log, 1), "message")
		}},
		{"version 2.2.0", "/version", func(log map[string]any) {
			log["version"] = "2.2.0"
		}},
		{"ruleIndex below -1", "/runs/0/results/2/ruleIndex", func(log map[string]any) {
			resultOf(log, 2)["ruleIndex"] = -2
		}},
		{"unknown result property", "/runs/0/results/0", func(log map[string]any) {
			resultOf(log, 0)["severity"] = "high"
		}},
		{"helpUri not a URI", "/runs/0/tool/driver/rules/0/helpUri", func(log map[string]any) {
			runOf(log)["tool"].(map[string]any)["driver"].(map[string]any)["rules"].([]any)[0].(map[string]any)["helpUri"] = "CIS Docker Benchmark 4.1"
		}},
		{"artifact uri with a bare percent", "/runs/0/results/0/locations/0/physicalLocation/artifactLocation/uri", func(log map[string]any) {
			resultOf(log, 0)["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)["artifactLocation"].(map[string]any)["uri"] = "opt/vendor tools/100%/run"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := decodeJSON(t, valid).(map[string]any)
			tt.mutate(log)
			err := sch.Validate(log)
			var verr *jsonschema.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("broken log validated (err = %v)", err)
			}
			if locs := leafLocations(verr); !slices.Contains(locs, tt.at) {
				t.Errorf("validator blamed %q, want %q among them:\n%v", locs, tt.at, err)
			}
		})
	}
}

func runOf(log map[string]any) map[string]any {
	return log["runs"].([]any)[0].(map[string]any)
}

func resultOf(log map[string]any, i int) map[string]any {
	return runOf(log)["results"].([]any)[i].(map[string]any)
}

// leafLocations returns the instance locations of the innermost causes of a
// validation error, as JSON pointers.
func leafLocations(e *jsonschema.ValidationError) []string {
	if len(e.Causes) == 0 {
		return []string{"/" + strings.Join(e.InstanceLocation, "/")}
	}
	var locs []string
	for _, c := range e.Causes {
		locs = append(locs, leafLocations(c)...)
	}
	return locs
}
