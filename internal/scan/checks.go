package scan

import (
	"fmt"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/inventory"
	"github.com/hull-sec/hull/internal/report"
)

// The statuses of scan's checks. A check passes only when it ran over
// everything it is about: a package no record could be matched against, a
// package database that could not be read, a version that could not be
// compared, a file clamd did not see in full, each makes its check an
// error (could not decide), named in the report, not only on standard
// error. The one partial pass is a limit the user chose: files over an
// explicit --max-file-size are listed in a warning. Peers: trivy's
// maintainers fail a scan when files cannot be read, so that results do
// not depend on what happened to be readable (aquasecurity/trivy#3863),
// and trivy #3487 is the counter-example design.md names, a partial scan
// reported as clean.

// maxListed bounds the items a check's reason names; the rest are counted.
const maxListed = 5

// listed joins items for a reason, naming at most maxListed.
func listed(items []string) string {
	s := strings.Join(firstN(items, maxListed), "; ")
	if n := len(items) - maxListed; n > 0 {
		s += fmt.Sprintf("; and %d more", n)
	}
	return s
}

func firstN(s []string, n int) []string { return s[:min(n, len(s))] }

// VulnCheck is the status of the vulnerabilities check: fail with
// findings, error when any package could not be judged (VulnResult's
// Unmatched and Undecided) or the inventory could not read every file
// that names packages (its Notes: a package missing from the inventory is
// never matched). what says what was matched against.
func VulnCheck(inv *inventory.Result, vr VulnResult, what string) finding.CheckStatus {
	var why []string
	if len(vr.Unmatched) > 0 {
		why = append(why, "packages no record can be matched against: "+listed(vr.Unmatched))
	}
	if len(inv.Notes) > 0 {
		why = append(why, fmt.Sprintf("packages not matched, as the inventory could not read %s: %s", report.Count(len(inv.Notes), "package source"), listed(inv.Notes)))
	}
	if len(vr.Undecided) > 0 {
		why = append(why, fmt.Sprintf("%d packages could not be evaluated: %s", len(vr.Undecided), listed(vr.Undecided)))
	}
	if len(why) > 0 {
		return finding.CheckStatus{ID: "vulnerabilities", State: finding.StateError, Reason: "could not decide: " + strings.Join(why, "; ")}
	}
	reason := fmt.Sprintf("%d packages against %s", len(inv.Packages), what)
	if len(vr.Notes) > 0 {
		reason += fmt.Sprintf("; %d record ranges skipped, each record's other ranges decided: %s", len(vr.Notes), listed(vr.Notes))
	}
	return withFindings(finding.CheckStatus{ID: "vulnerabilities", State: finding.StatePass, Reason: reason}, vr.Findings)
}

// SecretsCheck is the status of the secrets check.
func SecretsCheck(an *Analysis) finding.CheckStatus {
	return withFindings(finding.CheckStatus{ID: "secrets", State: finding.StatePass,
		Reason: "every text file outside documentation and test directories"}, an.Secrets)
}

// MalwareCheck is the status of the malware check. Files clamd did not
// see in full are an error, whatever the reason (clamd's own limits:
// StreamMaxLength refuses the stream, MaxFileSize, MaxScanSize and the
// archive limits make it stop, which it says only with AlertExceedsMax),
// except files over maxBytes when the user chose that bound
// (limitChosen): those are a clearly reported partial pass, a warning
// listing them. Malware found fails the check either way.
func MalwareCheck(an *Analysis, maxBytes int64, limitChosen bool) finding.CheckStatus {
	var over, other []string
	for _, u := range an.Unscanned {
		if u.OverLimit {
			over = append(over, u.Path+": "+u.Reason)
		} else {
			other = append(other, u.Path+": "+u.Reason)
		}
	}
	st := finding.CheckStatus{ID: "malware", State: finding.StatePass, Reason: "every regular file through clamd"}
	switch {
	case len(other) > 0 || len(over) > 0 && !limitChosen:
		all := append(other, over...)
		st.State = finding.StateError
		st.Reason = fmt.Sprintf("could not decide: %d files were not scanned in full: %s. Raise clamd's StreamMaxLength, MaxFileSize and MaxScanSize (and set AlertExceedsMax yes, so clamd says when it stops) to at least --max-file-size %d, or pass --max-file-size explicitly to accept that larger files are not scanned",
			len(all), listed(all), maxBytes)
		// Malware found is still a failure to report.
		return st
	case len(over) > 0:
		st.State = finding.StateWarn
		st.Reason = fmt.Sprintf("partial: %d files over --max-file-size %d were not scanned: %s", len(over), maxBytes, listed(over))
	}
	return withFindings(st, an.Malware)
}

// withFindings fails a check that found something.
func withFindings(st finding.CheckStatus, fs []finding.Finding) finding.CheckStatus {
	if len(fs) > 0 {
		st.State = finding.StateFail
	}
	return st
}
