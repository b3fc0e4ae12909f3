package cli

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/testenv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// scanFixture is an image with an old lodash and a store with its record.
func scanFixture(t *testing.T) (ref, db string) {
	t.Helper()
	img := it.Image(t, v1.Config{}, nil, it.Layer(t,
		it.File("app/node_modules/lodash/package.json", `{"name":"lodash","version":"4.17.20"}`, 0o644),
		it.File("app/node_modules/left-pad/package.json", `{"name":"left-pad","version":"1.3.0"}`, 0o644)))
	p := filepath.Join(t.TempDir(), "img.tar")
	it.WriteDockerArchive(t, p, "example.com/app:1.0", img)
	osv := filepath.Join(t.TempDir(), "npm")
	if err := os.MkdirAll(osv, 0o755); err != nil {
		t.Fatal(err)
	}
	rec := `{"id":"GHSA-35jh-r3h4-6jhm","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2021-23337"],"summary":"Command Injection in lodash",
	  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],
	  "affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}]}`
	if err := os.WriteFile(filepath.Join(osv, "GHSA-35jh-r3h4-6jhm.json"), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	db = filepath.Join(t.TempDir(), "osv.db")
	if out, stderr, code := hull(t, "db", "update", "--from", filepath.Dir(osv), "--db", db); code != ExitPass || !strings.Contains(out, "npm        1") {
		t.Fatalf("db update: %d\n%s\n%s", code, out, stderr)
	}
	return "docker-archive:" + p, db
}

func TestScanCommands(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the layer cache
	ref, db := scanFixture(t)
	if out, _, code := hull(t, "db", "status", "--db", db); code != ExitPass || !strings.Contains(out, "withdrawn records skipped: 0") {
		t.Errorf("db status: %d\n%s", code, out)
	}
	// No database: db status and scan both could not decide, and say how
	// to get one, online and offline.
	none := filepath.Join(t.TempDir(), "none.db")
	for _, args := range [][]string{{"db", "status", "--db", none}, {"scan", ref, "--db", none}} {
		if _, stderr, code := hull(t, args...); code != ExitUndecided || !strings.Contains(stderr, "hull db update") || !strings.Contains(stderr, "--from DIR") {
			t.Errorf("hull %s without a database: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
	}
	// A source that cannot be reached points to --from DIR.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	if _, stderr, code := hull(t, "db", "update", "--from", closed, "--db", none); code != ExitUndecided || !strings.Contains(stderr, "--from DIR") {
		t.Errorf("db update from an unreachable source: exit %d\n%s", code, stderr)
	}
	// A source that answers and then stops sending is given up on after
	// --timeout, not waited for without end.
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		w.Write([]byte("PK"))
		w.(http.Flusher).Flush()
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(stall)
	start := time.Now()
	if _, stderr, code := hull(t, "db", "update", "--from", srv.URL, "--ecosystems", "npm", "--timeout", "300ms", "--db", none); code != ExitUndecided || !strings.Contains(stderr, "stopped sending") || !strings.Contains(stderr, "--from DIR") {
		t.Errorf("db update from a stalled source: exit %d\n%s", code, stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("db update from a stalled source took %s", d)
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"scan", ref, "--db", db}, ExitFail}, // default threshold high, as lint
		{[]string{"scan", ref, "--db", db, "--fail-on", "high"}, ExitFail},
		{[]string{"scan", ref, "--db", db, "--fail-on", "critical"}, ExitPass}, // 7.2: high
		{[]string{"scan", ref, "--db", db, "--fail-on", "high", "--ignore", "GHSA-35jh-r3h4-6jhm"}, ExitPass},
		{[]string{"scan", ref, "--db", filepath.Join(t.TempDir(), "none.db")}, ExitUndecided},
		{[]string{"scan", ref, "--db", db, "--fail-on", "severe"}, ExitUndecided},
		{[]string{"scan", ref, "--db", db, "-f", "spdx"}, ExitUndecided},
	} {
		for _, format := range []string{"table", "json", "sarif", "cyclonedx"} {
			args := tc.args
			if !strings.Contains(strings.Join(args, " "), "-f ") {
				args = append(append([]string{}, args...), "-f", format)
			}
			if _, stderr, code := hull(t, args...); code != tc.code {
				t.Errorf("hull %s: exit %d, want %d (%s)", strings.Join(args, " "), code, tc.code, stderr)
			}
		}
	}
	out, _, _ := hull(t, "scan", ref, "--db", db, "-f", "json")
	var rep struct {
		Findings []struct {
			ID, Severity  string
			Vulnerability struct{ Package, Version, Fixed string }
		}
		Checks []struct{ ID, State, Reason string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Findings) != 1 {
		t.Fatalf("scan json: %v\n%s", err, out)
	}
	if f := rep.Findings[0]; f.ID != "CVE-2021-23337" || f.Severity != "high" || f.Vulnerability.Fixed != "4.17.21" || f.Vulnerability.Version != "4.17.20" {
		t.Errorf("finding %+v", f)
	}
	// No clamd on the default sockets: the malware check says so.
	states := map[string]string{}
	for _, c := range rep.Checks {
		states[c.ID] = c.State
		if c.ID == "malware" && !strings.Contains(c.Reason, "no clamd found") {
			t.Errorf("malware check reason: %q", c.Reason)
		}
	}
	if states["vulnerabilities"] != "fail" || states["secrets"] != "pass" || states["malware"] != "skipped" {
		t.Errorf("checks: %v", states)
	}
	// A suppressed finding is named with what suppressed it, in the table
	// and the JSON, never dropped without a word.
	table, _, code := hull(t, "scan", ref, "--db", db, "--ignore", "GHSA-35jh-r3h4-6jhm")
	if code != ExitPass || !strings.Contains(table, "suppressed CVE-2021-23337 in lodash 4.17.20: ignored as GHSA-35jh-r3h4-6jhm (--ignore)") {
		t.Errorf("ignored finding (exit %d):\n%s", code, table)
	}
	pol := writePolicy(t, filepath.Join(t.TempDir(), "hull.yaml"), "scan:\n  ignore:\n    - id: CVE-2021-23337\n      reason: the template function is not used\n")
	if table, _, code := hull(t, "scan", ref, "--db", db, "--policy", pol); code != ExitPass || !strings.Contains(table, "ignored as CVE-2021-23337 ("+pol+": the template function is not used)") {
		t.Errorf("finding ignored by the policy (exit %d):\n%s", code, table)
	}
	out, _, _ = hull(t, "scan", ref, "--db", db, "--ignore", "CVE-2021-23337", "-f", "json")
	if !strings.Contains(out, `"suppressed": [`) || !strings.Contains(out, "CVE-2021-23337 in lodash 4.17.20: ignored as CVE-2021-23337 (--ignore)") {
		t.Errorf("ignored finding in json:\n%s", out)
	}
	if _, _, code := hull(t, "scan", ref, "--db", db, "--clamd", filepath.Join(t.TempDir(), "no.sock")); code != ExitUndecided {
		t.Errorf("a named clamd that is not there: exit %d", code)
	}
	if _, _, code := hull(t, "scan", ref, "--db", db, "--scanners", "vuln,viruses"); code != ExitUndecided {
		t.Errorf("an unknown scanner: exit %d", code)
	}
	if out, _, code := hull(t, "sbom", ref, "-f", "spdx"); code != ExitPass || !strings.Contains(out, "pkg:npm/lodash@4.17.20") {
		t.Errorf("sbom spdx: %d\n%s", code, out)
	}
}

// Packages of an ecosystem the database holds no records of make the
// scan undecided, in every format, naming the ecosystem; the report still
// comes out, with the check in error.
func TestScanUnmatchedEcosystem(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	_, db := scanFixture(t) // npm records only
	img := it.Image(t, v1.Config{}, nil, it.Layer(t,
		it.File("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n", 0o644),
		it.File("var/lib/dpkg/status", "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u1\nArchitecture: amd64\n\n", 0o644)))
	p := filepath.Join(t.TempDir(), "deb.tar")
	it.WriteDockerArchive(t, p, "example.com/deb:1", img)
	for _, format := range []string{"table", "json", "sarif", "cyclonedx"} {
		out, stderr, code := hull(t, "scan", "docker-archive:"+p, "--db", db, "-f", format)
		if code != ExitUndecided || !strings.Contains(stderr, "Debian:12") || out == "" {
			t.Errorf("%s: exit %d, stderr %s", format, code, stderr)
		}
		if format != "json" {
			continue
		}
		var rep struct {
			Checks []struct{ ID, State, Reason string }
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(rep.Checks, func(c struct{ ID, State, Reason string }) bool { return c.ID == "vulnerabilities" })
		if i < 0 || rep.Checks[i].State != "error" || !strings.Contains(rep.Checks[i].Reason, "Debian:12") {
			t.Errorf("checks: %+v", rep.Checks)
		}
	}
}

// TestIncompleteInventory: an image whose package files cannot all be
// read (a broken installed package.json; an os-release without its
// package database) yields an SBOM that says it is incomplete, in every
// format, and exit 2; scan's vulnerabilities check is undecided, never a
// pass.
func TestIncompleteInventory(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	_, db := scanFixture(t)
	img := it.Image(t, v1.Config{}, nil, it.Layer(t,
		it.File("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n", 0o644),
		it.File("app/node_modules/left-pad/package.json", `{"name":"left-pad","version":"1.3.0"}`, 0o644),
		it.File("app/node_modules/broken/package.json", `{"name":`, 0o644)))
	p := filepath.Join(t.TempDir(), "img.tar")
	it.WriteDockerArchive(t, p, "example.com/partial:1", img)
	ref := "docker-archive:" + p
	for format, want := range map[string]string{"json": `"notes"`, "cyclonedx": `"incomplete"`, "spdx": "Incomplete", "table": "Incomplete"} {
		out, stderr, code := hull(t, "sbom", ref, "-f", format)
		if code != ExitUndecided || !strings.Contains(out, want) || !strings.Contains(stderr, "could not read 2 package sources") || !strings.Contains(out, "/app/node_modules/broken/package.json") ||
			!strings.Contains(out, "no package database") || !strings.Contains(out, "pkg:npm/left-pad@1.3.0") && format != "table" {
			t.Errorf("sbom %s: exit %d, want 2 and %s\n%s\n%s", format, code, want, out, stderr)
		}
	}
	out, stderr, code := hull(t, "scan", ref, "--db", db, "--scanners", "vuln", "-f", "json")
	var rep struct {
		Checks []struct{ ID, State, Reason string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err, out)
	}
	if code != ExitUndecided || len(rep.Checks) != 1 || rep.Checks[0].State != "error" || !strings.Contains(rep.Checks[0].Reason, "could not read 2 package sources: ") ||
		!strings.Contains(rep.Checks[0].Reason, "/app/node_modules/broken/package.json") {
		t.Errorf("scan: exit %d, checks %+v\n%s", code, rep.Checks, stderr)
	}
}

// scanChecks runs hull scan with a json report and returns the exit code
// and each check's state and reason.
func scanChecks(t *testing.T, args ...string) (int, map[string]string, string) {
	t.Helper()
	out, stderr, code := hull(t, append([]string{"scan", "-f", "json"}, args...)...)
	var rep struct {
		Checks []struct{ ID, State, Reason string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, stderr)
	}
	states := map[string]string{}
	for _, c := range rep.Checks {
		states[c.ID] = c.State + ": " + c.Reason
	}
	return code, states, stderr
}

// TestScanMalwareNotScannedInFull: with a real clamd, a file clamd
// refuses (over its StreamMaxLength) or stops scanning (over its
// MaxFileSize, said with AlertExceedsMax: not malware) makes the malware
// check undecided and the run exit 2; a file over an explicit
// --max-file-size is a partial pass, reported as such.
func TestScanMalwareNotScannedInFull(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	srv := testenv.Clamd(t, testenv.ClamdOptions{StreamMaxLength: "2M", Limits: []string{"MaxFileSize 1M", "AlertExceedsMax yes"}})
	for _, tc := range []struct {
		name, size string
		extra      []string
		code       int
		state      string
	}{
		{"over StreamMaxLength", strings.Repeat("z", 3<<20), nil, ExitUndecided, "error: could not decide"},
		{"over MaxFileSize", strings.Repeat("z", 1536<<10), nil, ExitUndecided, "error: could not decide"},
		{"over an explicit --max-file-size", strings.Repeat("z", 1536<<10), []string{"--max-file-size", "1000000"}, ExitPass, "warn: partial"},
	} {
		img := it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("app/clean.txt", "clean", 0o644),
			it.File("app/big.bin", testenv.ClamdMarker+tc.size, 0o644)))
		p := filepath.Join(t.TempDir(), "img.tar")
		it.WriteDockerArchive(t, p, "example.com/big:1", img)
		code, checks, stderr := scanChecks(t, append([]string{"docker-archive:" + p, "--scanners", "malware", "--clamd", srv.Socket}, tc.extra...)...)
		if code != tc.code || !strings.HasPrefix(checks["malware"], tc.state) || !strings.Contains(checks["malware"], "/app/big.bin") {
			t.Errorf("%s: exit %d, malware check %q; want %d, %s\n%s", tc.name, code, checks["malware"], tc.code, tc.state, stderr)
		}
	}
}

// TestScanVersionNotComparable: a package whose version its ecosystem's
// rules cannot compare with the records naming it is not a pass.
func TestScanVersionNotComparable(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	_, db := scanFixture(t)
	img := it.Image(t, v1.Config{}, nil, it.Layer(t,
		it.File("app/node_modules/lodash/package.json", `{"name":"lodash","version":"latest"}`, 0o644)))
	p := filepath.Join(t.TempDir(), "img.tar")
	it.WriteDockerArchive(t, p, "example.com/odd:1", img)
	code, checks, stderr := scanChecks(t, "docker-archive:"+p, "--db", db, "--scanners", "vuln")
	if code != ExitUndecided || !strings.HasPrefix(checks["vulnerabilities"], "error") || !strings.Contains(checks["vulnerabilities"], "lodash latest") {
		t.Errorf("exit %d, check %q\n%s", code, checks["vulnerabilities"], stderr)
	}
}
