package report

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hull-sec/hull/internal/finding"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the encoders' output")

const (
	layer0 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	layer2 = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
	layer3 = "sha256:4444444444444444444444444444444444444444444444444444444444444444"
)

// testRules is the rule set both reports declare: the SARIF encoder lists
// every rule, including those no finding refers to.
func testRules() []finding.Rule {
	return []finding.Rule{
		{ID: "HULL-L-ROOT-USER", Title: "Image runs as root", Severity: finding.SeverityHigh,
			Doc:         "The image configuration sets no user, or user 0, so the container process runs as root.",
			Remediation: "Add a USER instruction with a non-root UID.",
			References:  []string{"https://docs.docker.com/build/building/best-practices/#user", "CIS Docker Benchmark 4.1"}},
		{ID: "HULL-L-SECRET-FILE", Title: "Private key or credential file in the image", Severity: finding.SeverityCritical,
			Doc:         "A layer adds a file that holds a private key or credential.",
			Remediation: "Remove the file in the layer that adds it; deleting it in a later layer leaves it readable.",
			// Not a URI: the SARIF encoder must not put it in helpUri.
			References: []string{"CIS Docker Benchmark 4.10"}},
		{ID: "HULL-L-SETUID", Title: "Set-user-ID binary", Severity: finding.SeverityMedium,
			Doc: "A file has the set-user-ID bit, which lets an unprivileged process gain its owner's rights."},
		{ID: "HULL-L-NO-HEALTHCHECK", Title: "No health check", Severity: finding.SeverityInfo,
			Doc: "The image configuration declares no HEALTHCHECK."},
	}
}

// findingsReport has findings of every severity, with configuration-field
// and file locations, and checks in every state.
func findingsReport() Report {
	return Report{
		Tool:    "hull",
		Version: "0.0.0-test",
		Command: "lint",
		Target:  "registry.example/team/app:1.4",
		ImageID: "sha256:9999999999999999999999999999999999999999999999999999999999999999",
		Rules:   testRules(),
		Checks: []finding.CheckStatus{
			{ID: "HULL-L-SETUID", State: finding.StateFail},
			{ID: "HULL-L-ROOT-USER", State: finding.StateFail},
			{ID: "HULL-L-MALWARE", State: finding.StateError, Reason: "clamd: dial unix /run/clamav/clamd.ctl: connect: no such file or directory"},
			{ID: "HULL-L-SECRET-FILE", State: finding.StateFail},
			{ID: "HULL-L-NO-HEALTHCHECK", State: finding.StateFail},
			{ID: "HULL-L-SIGNED", State: finding.StateSkip, Reason: "no signature policy given"},
			{ID: "HULL-L-HISTORY-SECRET", State: finding.StateFail},
			{ID: "HULL-L-ADD-URL", State: finding.StatePass},
		},
		Findings: []finding.Finding{
			{ID: "HULL-L-NO-HEALTHCHECK", Title: "No health check", Severity: finding.SeverityInfo,
				Target: "registry.example/team/app:1.4", Location: finding.Location{LayerIndex: -1, Field: "Config.Healthcheck"}},
			{ID: "HULL-L-SECRET-FILE", Title: "Private key or credential file in the image", Severity: finding.SeverityCritical,
				Target:   "registry.example/team/app:1.4",
				Location: finding.Location{Layer: layer2, LayerIndex: 2, Path: "/root/.ssh/id_rsa"},
				Evidence: "-----BEGIN OPENSSH PRIVATE KEY-----", Remediation: "Remove the file in the layer that adds it."},
			{ID: "HULL-L-ROOT-USER", Title: "Image runs as root", Severity: finding.SeverityHigh,
				Target: "registry.example/team/app:1.4", Location: finding.Location{LayerIndex: -1, Field: "Config.User"},
				Evidence: `User is ""`, Remediation: "Add a USER instruction with a non-root UID.",
				References: []string{"https://docs.docker.com/build/building/best-practices/#user"}},
			{ID: "HULL-L-SETUID", Title: "Set-user-ID binary", Severity: finding.SeverityMedium,
				Target:   "registry.example/team/app:1.4",
				Location: finding.Location{Layer: layer0, LayerIndex: 0, Path: "/usr/bin/passwd"}, Evidence: "mode -rwsr-xr-x"},
			// A path that is not a valid URI reference as it stands: a space,
			// a percent sign and a '#'.
			{ID: "HULL-L-SETUID", Title: "Set-user-ID binary", Severity: finding.SeverityMedium,
				Target:   "registry.example/team/app:1.4",
				Location: finding.Location{Layer: layer3, LayerIndex: 3, Path: "/opt/vendor tools/100%/run#1"}, Evidence: "mode -rwsr-x---"},
			{ID: "HULL-L-HISTORY-SECRET", Title: "Secret in build history", Severity: finding.SeverityLow,
				Target:   "registry.example/team/app:1.4",
				Location: finding.Location{LayerIndex: -1, Field: "history[3].created_by"},
				// Multi-line and long: the table shows one shortened line.
				Evidence: "RUN curl -H 'Authorization: token ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX'\n    https://example.invalid/download/tool-v1.2.3-linux-amd64.tar.gz | tar -xz -C /usr/local/bin"},
			{ID: "HULL-L-HISTORY-SECRET", Title: "Secret in build history", Severity: finding.SeverityLow,
				Target:   "registry.example/team/app:1.4",
				Location: finding.Location{LayerIndex: -1, Field: "history[1].created_by"}, Evidence: "ENV API_KEY=<redacted>"},
			{ID: "HULL-L-EXPERIMENTAL", Title: "Check without a severity", Severity: finding.SeverityUnknown,
				Target: "registry.example/team/app:1.4", Location: finding.Location{LayerIndex: -1}},
			{ID: "HULL-L-ROOT-USER", Title: "Image runs as root", Severity: finding.SeverityHigh,
				Target:   "registry.example/team/app:1.4",
				Location: finding.Location{Layer: layer2, LayerIndex: 2, Path: "/etc/sudoers.d/app"}, Evidence: "app ALL=(ALL) NOPASSWD: ALL"},
		},
	}
}

// cleanReport has no findings and every check passed.
func cleanReport() Report {
	return Report{
		Tool:    "hull",
		Version: "0.0.0-test",
		Command: "lint",
		Target:  "registry.example/team/app@sha256:8888888888888888888888888888888888888888888888888888888888888888",
		Rules:   testRules(),
		Checks: []finding.CheckStatus{
			{ID: "HULL-L-SETUID", State: finding.StatePass},
			{ID: "HULL-L-ROOT-USER", State: finding.StatePass},
			{ID: "HULL-L-SECRET-FILE", State: finding.StatePass},
			{ID: "HULL-L-NO-HEALTHCHECK", State: finding.StatePass},
		},
	}
}

type encoderCase struct {
	name string // golden file suffix
	enc  Encoder
	opts Options
}

var encoderCases = []encoderCase{
	{"table", EncodeTable, Options{}},
	{"table-color", EncodeTable, Options{Color: true}},
	{"json", EncodeJSON, Options{}},
	{"sarif", EncodeSARIF, Options{}},
}

var reportCases = []struct {
	name   string
	report func() Report
}{
	{"findings", findingsReport},
	{"clean", cleanReport},
	{"verdicts", verdictsReport},
}

// verdictsReport is what hull verify reports: an accepted image, one
// rejected for a bad signature, one no rule covers.
func verdictsReport() Report {
	const d = "sha256:9999999999999999999999999999999999999999999999999999999999999999"
	return Report{
		Tool: "hull", Version: "0.0.0-test", Command: "verify", Target: "3 images",
		Verdicts: []finding.Verdict{
			{Target: "registry.example/team/b:1", Reference: "registry.example/team/b:1", Digest: d, Rule: "registry.example/team",
				Reason: "rule registry.example/team: no valid signature by any accepted signer",
				Signatures: []finding.SignatureCheck{{Format: "simple-signing", Location: "/sigs/team/b@sha256=99/signature-1",
					Reason: "release: signature does not match the image: it signs digest sha256:1, the image is " + d}}},
			{Target: "registry.example/team/a:1", Reference: "registry.example/team/a:1", Digest: d, Rule: "registry.example/team", Accepted: true,
				Reason: "rule registry.example/team: valid signature by release",
				Signatures: []finding.SignatureCheck{{Format: "simple-signing", Location: "/sigs/team/a@sha256=99/signature-1", Valid: true,
					Signer: "0123456789ABCDEF0123456789ABCDEF01234567", Reason: "signed by release (0123456789ABCDEF0123456789ABCDEF01234567)"}}},
			{Target: "other.example/x:2", Reference: "other.example/x:2", Digest: d, Rule: "default",
				Reason: "no rule covers other.example/x and trust.default rejects", Signatures: []finding.SignatureCheck{}},
		},
	}
}

func encode(t *testing.T, e Encoder, r Report, o Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := e(&buf, r, o); err != nil {
		t.Fatalf("encode: %v", err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	for _, rc := range reportCases {
		for _, ec := range encoderCases {
			name := rc.name + "-" + ec.name
			t.Run(name, func(t *testing.T) { checkGolden(t, name, encode(t, ec.enc, rc.report(), ec.opts)) })
		}
	}
}

// checkGolden compares got with testdata/NAME.golden, or rewrites it
// under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update if the change is intended)\n--- got\n%s\n--- want\n%s", golden, got, want)
	}
}

// TestColorOnlyInColorTable guards the golden files: only the coloured table
// may carry ANSI escapes, and it must reset every colour it sets.
func TestColorOnlyInColorTable(t *testing.T) {
	r := findingsReport()
	for _, ec := range encoderCases {
		out := string(encode(t, ec.enc, r, ec.opts))
		hasEsc := strings.Contains(out, "\x1b[")
		if ec.opts.Color != hasEsc {
			t.Errorf("%s: contains ANSI escapes = %v, want %v", ec.name, hasEsc, ec.opts.Color)
		}
		if ec.opts.Color {
			if all, reset := strings.Count(out, "\x1b["), strings.Count(out, "\x1b[0m"); all != 2*reset {
				t.Errorf("%s: %d escapes, %d of them resets: colours and resets do not pair up", ec.name, all, reset)
			}
		}
	}
}

// TestTableColumnsAligned checks that colouring does not shift columns: with
// the escapes removed, the coloured table is the plain one.
func TestTableColumnsAligned(t *testing.T) {
	r := findingsReport()
	plain := encode(t, EncodeTable, r, Options{})
	colored := encode(t, EncodeTable, r, Options{Color: true})
	if got := stripANSI(string(colored)); got != string(plain) {
		t.Errorf("coloured table without escapes differs from plain table\n--- coloured, stripped\n%s\n--- plain\n%s", got, plain)
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "\x1b[")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i+2:]
		j := strings.IndexByte(s, 'm')
		if j < 0 {
			return b.String()
		}
		s = s[j+1:]
	}
}

// TestTableNeutralisesHostileText feeds the table text from an image that
// tries to break rows or reach the terminal: every finding stays one row and
// no raw control character gets through.
func TestTableNeutralisesHostileText(t *testing.T) {
	r := Report{Tool: "hull", Command: "lint", Target: "x",
		Checks: []finding.CheckStatus{{ID: "C", State: finding.StateError, Reason: "line one\nline two \x1b]0;pwned\x07"}},
		Findings: []finding.Finding{
			{ID: "A", Title: "tab\tin title", Severity: finding.SeverityHigh, Location: finding.Location{LayerIndex: 1, Path: "/tmp/\x1b[2Jclear\nfake row"}},
			{ID: "B", Title: "bidi \u202e override", Severity: finding.SeverityLow, Location: finding.Location{LayerIndex: -1, Field: "bad\xffutf8"},
				Evidence: "esc \x1b[31m red"},
		}}
	for _, o := range []Options{{}, {Color: true}} {
		out := string(encode(t, EncodeTable, r, o))
		if o.Color {
			out = stripANSI(out)
		}
		if i := strings.IndexFunc(out, func(r rune) bool { return r != '\n' && (r < ' ' || r == 0x7f || r == '\u202e') }); i >= 0 {
			t.Errorf("color=%v: raw control character %q in table:\n%q", o.Color, out[i], out)
		}
		if !utf8.ValidString(out) {
			t.Errorf("color=%v: table is not UTF-8:\n%q", o.Color, out)
		}
		lines := strings.Split(out, "\n")
		// header, blank, column titles, 2 rows, blank, summary, error line, "".
		if len(lines) != 9 {
			t.Errorf("color=%v: %d lines, want 9:\n%s", o.Color, len(lines), out)
		}
	}
}

// TestInputOrderIrrelevant encodes permutations of the findings and checks
// and expects byte-identical output, without reordering the caller's slices.
func TestInputOrderIrrelevant(t *testing.T) {
	base := findingsReport()
	perms := map[string]func(Report) Report{
		"reversed": func(r Report) Report {
			slices.Reverse(r.Findings)
			slices.Reverse(r.Checks)
			return r
		},
		"rotated": func(r Report) Report {
			r.Findings = append(r.Findings[3:], r.Findings[:3]...)
			r.Checks = append(r.Checks[5:], r.Checks[:5]...)
			return r
		},
		"by-path-desc": func(r Report) Report {
			slices.SortFunc(r.Findings, func(a, b finding.Finding) int {
				return strings.Compare(b.Location.Path+b.Location.Field, a.Location.Path+a.Location.Field)
			})
			return r
		},
		"by-severity-asc": func(r Report) Report {
			slices.SortStableFunc(r.Findings, func(a, b finding.Finding) int { return int(a.Severity - b.Severity) })
			return r
		},
	}
	for _, ec := range encoderCases {
		want := encode(t, ec.enc, base, ec.opts)
		for name, perm := range perms {
			r := perm(findingsReport())
			before := slices.Clone(r.Findings)
			got := encode(t, ec.enc, r, ec.opts)
			if !bytes.Equal(got, want) {
				t.Errorf("%s, %s input: output depends on input order\n--- got\n%s\n--- want\n%s", ec.name, name, got, want)
			}
			if !slicesEqualFindings(before, r.Findings) {
				t.Errorf("%s, %s input: encoder reordered the caller's findings", ec.name, name)
			}
		}
	}
}

func slicesEqualFindings(a, b []finding.Finding) bool {
	return slices.EqualFunc(a, b, func(x, y finding.Finding) bool {
		return x.ID == y.ID && x.Location == y.Location && x.Evidence == y.Evidence
	})
}

func TestLookup(t *testing.T) {
	for _, name := range Formats.Names() {
		if _, err := Formats.Lookup(name); err != nil {
			t.Errorf("Formats.Lookup(%q): %v", name, err)
		}
	}
	if _, err := Formats.Lookup("SARIF"); err != nil {
		t.Errorf("Lookup is case-insensitive, but Formats.Lookup(%q): %v", "SARIF", err)
	}
	if got, want := Formats.Names(), []string{"json", "sarif", "table"}; !slices.Equal(got, want) {
		t.Errorf("Formats.Names() = %v, want %v", got, want)
	}
	for _, name := range []string{"", "xml", "cyclonedx", "json "} {
		e, err := Formats.Lookup(name)
		if err == nil || e != nil {
			t.Errorf("Formats.Lookup(%q) = %v, %v; want nil and an error", name, e, err)
			continue
		}
		if !strings.Contains(err.Error(), "json, sarif, table") {
			t.Errorf("Formats.Lookup(%q) error %q does not list the formats", name, err)
		}
	}
}

func TestTableSummary(t *testing.T) {
	sev := func(ss ...finding.Severity) []finding.Finding {
		var fs []finding.Finding
		for i, s := range ss {
			fs = append(fs, finding.Finding{ID: "ID-" + string(rune('A'+i)), Title: "t", Severity: s, Location: finding.Location{LayerIndex: -1}})
		}
		return fs
	}
	checks := func(states ...finding.State) []finding.CheckStatus {
		var cs []finding.CheckStatus
		for i, s := range states {
			cs = append(cs, finding.CheckStatus{ID: "C-" + string(rune('A'+i)), State: s, Reason: "reason " + string(rune('A'+i))})
		}
		return cs
	}
	tests := []struct {
		name     string
		findings []finding.Finding
		checks   []finding.CheckStatus
		want     []string // the lines after the findings table
	}{
		{"empty", nil, nil, []string{"0 findings; 0 checks: 0 passed, 0 failed, 0 errors, 0 skipped"}},
		{"all pass", nil, checks(finding.StatePass, finding.StatePass, finding.StatePass),
			[]string{"0 findings; 3 checks: 3 passed, 0 failed, 0 errors, 0 skipped"}},
		{"one of each",
			sev(finding.SeverityCritical, finding.SeverityHigh, finding.SeverityMedium, finding.SeverityLow, finding.SeverityInfo, finding.SeverityUnknown),
			checks(finding.StateFail, finding.StatePass, finding.StateError, finding.StateSkip),
			[]string{
				"6 findings (critical: 1, high: 1, medium: 1, low: 1, info: 1, unknown: 1); 4 checks: 1 passed, 1 failed, 1 error, 1 skipped",
				"skipped C-D: reason D", // every command says why a check was skipped
				"check C-C could not run: reason C",
			}},
		{"counts add up",
			sev(finding.SeverityLow, finding.SeverityHigh, finding.SeverityLow, finding.SeverityHigh, finding.SeverityLow),
			checks(finding.StateFail, finding.StateFail, finding.StateError, finding.StateError),
			[]string{
				"5 findings (high: 2, low: 3); 4 checks: 0 passed, 2 failed, 2 errors, 0 skipped",
				"check C-C could not run: reason C",
				"check C-D could not run: reason D",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Report{Tool: "hull", Command: "lint", Target: "x", Findings: tt.findings, Checks: tt.checks}
			out := strings.TrimSuffix(string(encode(t, EncodeTable, r, Options{})), "\n")
			lines := strings.Split(out, "\n")
			if len(lines) < len(tt.want) {
				t.Fatalf("table has %d lines, want at least %d:\n%s", len(lines), len(tt.want), out)
			}
			got := lines[len(lines)-len(tt.want):]
			if !slices.Equal(got, tt.want) {
				t.Errorf("summary\n got %q\nwant %q", got, tt.want)
			}
			if rows := strings.Count(out, "\n"+"CRITICAL") + strings.Count(out, "\nHIGH") + strings.Count(out, "\nMEDIUM") +
				strings.Count(out, "\nLOW") + strings.Count(out, "\nINFO") + strings.Count(out, "\nUNKNOWN"); rows != len(tt.findings) {
				t.Errorf("table has %d finding rows, want %d:\n%s", rows, len(tt.findings), out)
			}
		})
	}
}

// TestSummaryOfGoldenReport checks the summary of the big report against
// counts computed here, independently of the encoder.
func TestSummaryOfGoldenReport(t *testing.T) {
	r := findingsReport()
	out := string(encode(t, EncodeTable, r, Options{}))
	want := "9 findings (critical: 1, high: 2, medium: 2, low: 2, info: 1, unknown: 1); 8 checks: 1 passed, 5 failed, 1 error, 1 skipped\n" +
		"skipped HULL-L-SIGNED: no signature policy given\n" +
		"check HULL-L-MALWARE could not run: clamd: dial unix /run/clamav/clamd.ctl: connect: no such file or directory\n"
	if !strings.HasSuffix(out, want) {
		t.Errorf("table does not end with\n%s\ngot\n%s", want, out)
	}
}

// failWriter accepts n writes, then fails every write.
type failWriter struct{ n, writes int }

var errWrite = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes > w.n {
		return 0, errWrite
	}
	return len(p), nil
}

// TestEncodersReportWriteErrors fails the writer at every write an encoder
// makes and expects the encoder to return that error.
func TestEncodersReportWriteErrors(t *testing.T) {
	for _, ec := range encoderCases {
		count := &failWriter{n: 1 << 30}
		if err := ec.enc(count, findingsReport(), ec.opts); err != nil {
			t.Fatalf("%s: %v", ec.name, err)
		}
		for n := 0; n < count.writes; n++ {
			if err := ec.enc(&failWriter{n: n}, findingsReport(), ec.opts); !errors.Is(err, errWrite) {
				t.Errorf("%s, write %d of %d fails: err = %v, want %v", ec.name, n+1, count.writes, err, errWrite)
			}
		}
	}
}

func TestTableShortensDeepPaths(t *testing.T) {
	deep := "/" + strings.Repeat("very-long-directory/", 10) + "id_rsa"
	r := Report{Tool: "hull", Command: "lint", Target: "x", Findings: []finding.Finding{{
		ID: "private-key", Title: "Private key", Severity: finding.SeverityHigh,
		Location: finding.Location{Path: deep, Layer: "sha256:ab", LayerIndex: 2},
	}}}
	var table, js, file bytes.Buffer
	if err := EncodeTable(&table, r, Options{Terminal: true}); err != nil {
		t.Fatal(err)
	}
	if err := EncodeTable(&file, r, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(file.String(), deep+" (layer 2)") || strings.Contains(file.String(), "…") {
		t.Errorf("a table that is not on a terminal must not be cut:\n%s", file.String())
	}
	if err := EncodeJSON(&js, r, Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(table.String(), deep) || !strings.Contains(table.String(), "…") || !strings.Contains(table.String(), "id_rsa (layer 2)") {
		t.Errorf("table should shorten the path and keep its end:\n%s", table.String())
	}
	if !strings.Contains(js.String(), deep) {
		t.Error("JSON lost the full path")
	}
}
