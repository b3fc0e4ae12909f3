package scan

import (
	"archive/zip"
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	it "github.com/hull-sec/hull/internal/imagetest"
)

// A Java archive without pom.properties whose manifest misleads the
// groupId guess (Apache's parent POMs wrote Implementation-Vendor-Id
// "org.apache"): the guess is marked as such, and the advisory filed
// under the real group, which the archive's own class packages make
// plausible, is found and says which identity matched. A record of an
// unrelated group with the same artifactId is not.
func TestScanInferredJavaGroup(t *testing.T) {
	jar := func(files map[string]string) string {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, body := range files {
			w, err := zw.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte(body)); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	im := openArchive(t, it.Layer(t,
		it.File("app/lib/commons-text-1.9.jar", jar(map[string]string{
			"META-INF/MANIFEST.MF":                              "Manifest-Version: 1.0\r\nImplementation-Title: Apache Commons Text\r\nImplementation-Version: 1.9\r\nImplementation-Vendor-Id: org.apache\r\n\r\n",
			"org/apache/commons/text/StringSubstitutor.class":   "\xca\xfe\xba\xbe",
			"org/apache/commons/text/lookup/StringLookup.class": "\xca\xfe\xba\xbe",
		}), 0o644),
		// With pom.properties the name is stated, not inferred.
		it.File("app/lib/guava-31.1-jre.jar", jar(map[string]string{
			"META-INF/MANIFEST.MF":                                 "Manifest-Version: 1.0\r\n\r\n",
			"META-INF/maven/com.google.guava/guava/pom.properties": "groupId=com.google.guava\nartifactId=guava\nversion=31.1-jre\n",
		}), 0o644)))
	an, err := Analyze(context.Background(), im, AnalyzeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pkgs := an.Inventory.Packages
	if len(pkgs) != 2 || pkgs[1].Name != "org.apache:commons-text" || !slices.Equal(pkgs[1].Inferred, []string{"groupId"}) ||
		!slices.Contains(pkgs[1].Hints, "org.apache.commons.text") || pkgs[0].Name != "com.google.guava:guava" || pkgs[0].Inferred != nil {
		t.Fatalf("packages: %+v", pkgs)
	}

	db := osvStore(t,
		`{"id":"GHSA-599f-7c49-w659","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2022-42889"],"summary":"Arbitrary code execution in Apache Commons Text",
		  "affected":[{"package":{"ecosystem":"Maven","name":"org.apache.commons:commons-text"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.5"},{"fixed":"1.10.0"}]}]}]}`,
		`{"id":"GHSA-0000-unrelated","modified":"2024-01-01T00:00:00Z","summary":"another group's commons-text",
		  "affected":[{"package":{"ecosystem":"Maven","name":"com.unrelated:commons-text"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}`)
	vr, err := Vulnerabilities(db, "img", pkgs, VulnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(vr.Findings) != 1 || len(vr.Unmatched) != 0 {
		t.Fatalf("findings %+v, unmatched %q", vr.Findings, vr.Unmatched)
	}
	f := vr.Findings[0]
	if f.ID != "CVE-2022-42889" || f.Vulnerability.MatchedAs != "org.apache.commons:commons-text" || f.Vulnerability.Fixed != "1.10.0" ||
		!strings.Contains(f.Evidence, "matched as org.apache.commons:commons-text") || !strings.Contains(f.Evidence, "inferred") {
		t.Errorf("finding: %+v %+v", f, f.Vulnerability)
	}
	// A VEX statement about the identity that matched suppresses it.
	vex, err := ParseVEX(strings.NewReader(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[
	  {"vulnerability":{"name":"CVE-2022-42889"},"products":[{"@id":"pkg:maven/org.apache.commons/commons-text@1.9"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if vr, err := Vulnerabilities(db, "img", pkgs, VulnOptions{VEX: vex}); err != nil || len(vr.Findings) != 0 {
		t.Errorf("VEX for org.apache.commons:commons-text: %v %+v", err, vr.Findings)
	}
}
