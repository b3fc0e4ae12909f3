package report

import (
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
)

// A failed check reads as the problem, with its fix in sight and its
// evidence whole when the table goes to a file or pipe; skipped and
// undecided checks say why, once per reason, for every command.
func TestTableExplainsEveryVerdict(t *testing.T) {
	long := "bad (0123456789ab): privileged; " + strings.Repeat("worse (ba9876543210): privileged; ", 5) + "last (ffffffffffff): privileged"
	r := Report{Tool: "hull", Command: "audit", Target: "host h",
		Findings: []finding.Finding{{ID: "container-privileged", Title: "A container runs privileged", Severity: finding.SeverityCritical,
			Evidence: long, Remediation: "Run without --privileged."},
			{ID: "files-daemon-json", Title: "The daemon's configuration file is not root-owned or is writable by others", Severity: finding.SeverityMedium,
				Evidence: "/srv/d.json 0666", Remediation: "chown root:root /srv/d.json && chmod 0644 /srv/d.json"}},
		Checks: []finding.CheckStatus{
			{ID: "container-privileged", State: finding.StateFail},
			{ID: "files-daemon-json", State: finding.StateFail},
			{ID: "container-sshd", State: finding.StateError, Reason: "could not query unix:///d.sock: 409"},
			{ID: "engine-query", State: finding.StateError, Reason: "could not query unix:///d.sock: 409"},
			{ID: "files-tls-ca", State: finding.StateSkip, Reason: "not present on this host"},
			{ID: "malware", State: finding.StateWarn, Reason: "partial: 1 files over --max-file-size 10 were not scanned: /big"},
		}}
	file := string(encode(t, EncodeTable, r, Options{}))
	for _, want := range []string{
		"A container runs privileged: " + long,
		"How to fix:\n  container-privileged: Run without --privileged.\n  files-daemon-json: chown root:root /srv/d.json && chmod 0644 /srv/d.json\n",
		"checks container-sshd, engine-query could not run: could not query unix:///d.sock: 409\n",
		"skipped files-tls-ca: not present on this host\n",
		"warned malware: partial: 1 files over --max-file-size 10 were not scanned: /big\n",
	} {
		if !strings.Contains(file, want) {
			t.Errorf("table lacks %q:\n%s", want, file)
		}
	}
	if tty := string(encode(t, EncodeTable, r, Options{Terminal: true})); strings.Contains(tty, long) || !strings.Contains(tty, "…") {
		t.Errorf("on a terminal the evidence is shortened:\n%s", tty)
	}

	scan := Report{Tool: "hull", Command: "scan", Target: "img", Checks: []finding.CheckStatus{
		{ID: "malware", State: finding.StateSkip, Reason: "no clamd configured"},
		{ID: "vulnerabilities", State: finding.StatePass},
	}}
	if out := string(encode(t, EncodeTable, scan, Options{})); !strings.Contains(out, "skipped malware: no clamd configured\n") {
		t.Errorf("scan table does not say why a check was skipped:\n%s", out)
	}
}
