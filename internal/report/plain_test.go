package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
)

// A reason or evidence that carries encoding/json's Go type names is
// printed plainly by every encoder, and the caller's report is unchanged.
func TestEncodersWordReasonsPlainly(t *testing.T) {
	goMsg := "payload: json: cannot unmarshal string into Go struct field Payload.critical of type cosign.Critical"
	r := Report{Tool: "hull", Command: "verify",
		Findings: []finding.Finding{{ID: "x", Title: "x", Evidence: goMsg}},
		Checks:   []finding.CheckStatus{{ID: "x", State: finding.StateError, Reason: goMsg}},
		Verdicts: []finding.Verdict{{Target: "a", Reason: goMsg, Signatures: []finding.SignatureCheck{{Format: "cosign", Reason: goMsg}}}},
	}
	for name, enc := range map[string]Encoder{"table": EncodeTable, "json": EncodeJSON, "sarif": EncodeSARIF, "cyclonedx": EncodeCycloneDX} {
		var b bytes.Buffer
		if err := enc(&b, r, Options{}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "Go struct") || strings.Contains(b.String(), "cosign.Critical") {
			t.Errorf("%s shows Go syntax:\n%s", name, b.String())
		}
	}
	if r.Verdicts[0].Signatures[0].Reason != goMsg || r.Findings[0].Evidence != goMsg {
		t.Error("the caller's report was changed")
	}
	for in, want := range map[string]string{
		goMsg: "payload: json: a string where another kind of value is expected (at critical)",
		"json: cannot unmarshal number 5 into Go value of type []string": "json: a number where a list is expected",
		"plain words": "plain words",
	} {
		if got := Plain(in); got != want {
			t.Errorf("Plain(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzPlain(f *testing.F) {
	f.Add("json: cannot unmarshal string into Go struct field A.b of type []int")
	f.Fuzz(func(t *testing.T, s string) { _ = Plain(s) })
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 findings", 1: "1 finding", 2: "2 findings"} {
		if got := Count(n, "finding"); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

// A report of one of each reads in the singular: "1 finding", not "1
// findings".
func TestTableSummarySingular(t *testing.T) {
	var b strings.Builder
	r := Report{Tool: "hull", Command: "lint", Target: "x",
		Findings: []finding.Finding{{ID: "root-user", Severity: finding.SeverityMedium, Title: "Image runs as root"}},
		Checks:   []finding.CheckStatus{{ID: "root-user", State: finding.StateFail}},
		Verdicts: []finding.Verdict{{Target: "a", Rule: "default", Accepted: true}},
	}
	if err := EncodeTable(&b, r, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 finding (medium: 1); 1 check: 0 passed, 1 failed, 0 errors", "1 image: 1 accepted"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

// go-containerregistry's registry errors read without Go map syntax or
// advice meant for its own callers.
func TestPlainRegistryErrors(t *testing.T) {
	for in, want := range map[string]string{
		`open image "r/app:nope": GET http://r/v2/app/manifests/nope: MANIFEST_UNKNOWN: manifest unknown; map[Tag:nope]`:                                   `open image "r/app:nope": GET http://r/v2/app/manifests/nope: MANIFEST_UNKNOWN: manifest unknown (Tag:nope)`,
		`open image "r:9/a:1": Get "https://r:9/v2/": dial tcp r:9: connect: connection refused`:                                                           `open image "r:9/a:1": GET https://r:9/v2/: dial tcp r:9: connect: connection refused`,
		`resolve r/app:nope: HEAD http://r/v2/app/manifests/nope: unexpected status code 404 Not Found (HEAD responses have no body, use GET for details)`: `resolve r/app:nope: HEAD http://r/v2/app/manifests/nope: the registry answered 404 Not Found`,
	} {
		if got := Plain(in); got != want {
			t.Errorf("Plain(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}

// A table whose findings have no location (a host audit) has no column
// of dashes.
func TestTableWithoutLocations(t *testing.T) {
	var b strings.Builder
	r := Report{Tool: "hull", Command: "audit", Target: "host h",
		Findings: []finding.Finding{{ID: "engine-live-restore", Severity: finding.SeverityLow, Title: "Live restore is disabled", Location: finding.Location{LayerIndex: -1}}}}
	if err := EncodeTable(&b, r, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "SEVERITY  ID                   TITLE\nLOW       engine-live-restore  Live restore is disabled\n") {
		t.Errorf("table:\n%s", b.String())
	}
}

// In an audit, a warning's finding says it is one: only failures fail the
// run, and the table must not make a warning look like a failure.
func TestTableMarksWarnings(t *testing.T) {
	var b strings.Builder
	r := Report{Tool: "hull", Command: "audit", Target: "host h",
		Findings: []finding.Finding{
			{ID: "engine-live-restore", Severity: finding.SeverityLow, Title: "Live restore is disabled", Location: finding.Location{LayerIndex: -1}},
			{ID: "engine-icc", Severity: finding.SeverityMedium, Title: "Containers talk to each other", Location: finding.Location{LayerIndex: -1}},
		},
		Checks: []finding.CheckStatus{{ID: "engine-live-restore", State: finding.StateWarn}, {ID: "engine-icc", State: finding.StateFail}},
	}
	if err := EncodeTable(&b, r, Options{Color: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\x1b[33mMEDIUM\x1b[0m      engine-icc ", "\x1b[36mLOW\x1b[0m (warn)  engine-live-restore "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%q", want, b.String())
		}
	}
}

// A lint or scan report says its threshold and how many findings reach
// it, so that "2 failed" beside exit 0 explains itself.
func TestReportSaysItsThreshold(t *testing.T) {
	r := Report{Tool: "hull", Command: "lint", Target: "x", FailOn: "medium",
		Findings: []finding.Finding{{ID: "a", Severity: finding.SeverityHigh, Title: "A"}, {ID: "b", Severity: finding.SeverityLow, Title: "B"}}}
	var table, js, sarif strings.Builder
	if err := EncodeTable(&table, r, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "\nfail-on medium: 1 finding at or above it\n") {
		t.Errorf("table:\n%s", table.String())
	}
	if err := EncodeJSON(&js, r, Options{}); err != nil || !strings.Contains(js.String(), `"failOn": "medium"`) {
		t.Errorf("json (%v):\n%s", err, js.String())
	}
	if err := EncodeSARIF(&sarif, r, Options{}); err != nil || !strings.Contains(sarif.String(), `"failOn": "medium"`) {
		t.Errorf("sarif (%v)", err)
	}
}

// A verdict from the cache says so in the table, as it does in JSON.
func TestTableSaysCached(t *testing.T) {
	var b strings.Builder
	r := Report{Tool: "hull", Command: "verify", Target: "r/a:1",
		Verdicts: []finding.Verdict{{Target: "r/a:1", Rule: "r", Accepted: true, Cached: true, Reason: "ok"}}}
	if err := EncodeTable(&b, r, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "ACCEPTED  r/a:1  (cached: decided by an earlier run; --no-cache decides afresh)\n") {
		t.Errorf("table:\n%s", b.String())
	}
}
