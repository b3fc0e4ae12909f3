package report

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
)

// fileReport is what hull config reports: findings placed in deployment
// files by file, document, field path and line.
func fileReport() Report {
	return Report{Tool: "hull", Version: "test", Command: "config", Target: "k8s/web.yaml",
		Checks: []finding.CheckStatus{{ID: "container-privileged", State: finding.StateFail}},
		Findings: []finding.Finding{
			{ID: "container-privileged", Title: "Privileged container", Severity: finding.SeverityHigh,
				Target:   "Deployment shop/web container app",
				Location: finding.Location{LayerIndex: -1, File: "k8s/web.yaml", Document: 2, Line: 14, Field: "spec.template.spec.containers[0].securityContext.privileged"}},
			{ID: "container-privileged", Title: "Privileged container", Severity: finding.SeverityHigh,
				Target:   "Deployment shop/api container api",
				Location: finding.Location{LayerIndex: -1, File: "-", Document: 3, Field: "spec.template.spec.containers[0]"}},
		}}
}

func TestSARIFPlacesFileFindingsOnTheirLine(t *testing.T) {
	out := encode(t, EncodeSARIF, fileReport(), Options{})
	if err := loadSARIFSchema(t).Validate(decodeJSON(t, out)); err != nil {
		t.Fatalf("SARIF does not validate: %v\n%s", err, out)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
						Region           *struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
					LogicalLocations []struct {
						FullyQualifiedName string `json:"fullyQualifiedName"`
					} `json:"logicalLocations"`
				} `json:"locations"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out, &log); err != nil {
		t.Fatal(err)
	}
	res := log.Runs[0].Results
	if len(res) != 2 {
		t.Fatalf("%d results, want 2", len(res))
	}
	byURI := map[string]int{}
	for i, r := range res {
		byURI[r.Locations[0].PhysicalLocation.ArtifactLocation.URI] = i
	}
	web, ok := byURI["k8s/web.yaml"]
	if !ok {
		t.Fatalf("no result on k8s/web.yaml: %s", out)
	}
	loc := res[web].Locations[0]
	if loc.PhysicalLocation.Region == nil || loc.PhysicalLocation.Region.StartLine != 14 {
		t.Errorf("region of the web finding = %+v, want startLine 14", loc.PhysicalLocation.Region)
	}
	if got := loc.LogicalLocations[0].FullyQualifiedName; got != "k8s/web.yaml#spec.template.spec.containers[0].securityContext.privileged" {
		t.Errorf("fully qualified name %q", got)
	}
	if res[byURI["-"]].Locations[0].PhysicalLocation.Region != nil {
		t.Error("a finding without a line has a region")
	}
	if res[0].PartialFingerprints["hullFinding/v1"] == res[1].PartialFingerprints["hullFinding/v1"] {
		t.Error("two findings in different files share a fingerprint")
	}
	// A line moves with every edit above it: it is not part of the
	// fingerprint.
	moved := fileReport()
	moved.Findings[0].Location.Line = 40
	if fingerprint(moved.Findings[0]) != fingerprint(fileReport().Findings[0]) {
		t.Error("the fingerprint changes with the line")
	}
}

func TestTableShowsFileAndLine(t *testing.T) {
	out := string(encode(t, EncodeTable, fileReport(), Options{}))
	for _, want := range []string{
		"k8s/web.yaml:14 spec.template.spec.containers[0].securityContext.privileged",
		"-#3 spec.template.spec.containers[0]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestJSONLocationOmitsUnsetFileFields(t *testing.T) {
	b, err := json.Marshal(finding.Location{LayerIndex: -1, Field: "Config.User"})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"layerIndex":-1,"field":"Config.User"}` {
		t.Errorf("an image finding's location is %s: the file fields must stay out of it", got)
	}
}
