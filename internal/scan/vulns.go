// Package scan finds what is wrong inside an image without running it:
// known vulnerabilities in its packages (OSV records from a local store),
// and, as they are added, secrets and malware.
//
// Data flow: the inventory (one pass over the layers) lists the packages;
// Vulnerabilities first names the packages no record can be matched
// against (a distribution without an OSV ecosystem, an ecosystem the
// store lacks: the check is then undecided, never a pass), then looks
// each up in the vulndb store by ecosystem and name (Debian and Alpine by
// source package, rpm by binary and source package, a Java archive whose
// groupId was guessed under every plausible group too),
// evaluates the version against every entry, merges records that are
// aliases of each other into one finding per package, takes the severity
// from the CVSS vector (base score computed) or the database's own
// rating, and drops what the ignore list or a VEX document suppresses.
package scan

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hull-sec/hull/internal/cvss"
	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/inventory"
	"github.com/hull-sec/hull/internal/vercmp"
	"github.com/hull-sec/hull/internal/vulndb"
)

// VulnOptions tune Vulnerabilities.
type VulnOptions struct {
	// OS is the image's distribution, named when its packages have no
	// OSV ecosystem.
	OS *finding.OS
	// Ignore maps the vulnerability IDs (or aliases) not to report to
	// why ("--ignore", or the policy's reason), which Suppressed repeats.
	Ignore map[string]string
	// VEX suppresses what its statements say does not affect a product.
	VEX *VEX
}

// match is one record that affects one package.
type match struct {
	pkg   *finding.Package
	entry vulndb.Entry
	vuln  vulndb.Vuln
	fixed string
}

// VulnResult is what matching found.
type VulnResult struct {
	Findings []finding.Finding
	// Notes name the ranges of records that were skipped because a
	// version in them does not parse under the ecosystem's rules; the
	// record's other ranges and versions still decided.
	Notes []string
	// Undecided name the packages whose installed version could not be
	// compared with records that name them (the ecosystem's rules reject
	// it): whether those records affect them is not known.
	Undecided []string
	// Unmatched say which packages could not be matched at all: their
	// distribution has no OSV ecosystem, or the store holds no records
	// of their ecosystem. No finding for them is no answer, so a scan
	// with any could not decide.
	Unmatched []string
	// Suppressed says which findings the ignore list or the VEX document
	// took out, and which of the two: "CVE-1 in pkg 1.0: ignored".
	Suppressed []string
}

// Vulnerabilities matches packages against the store.
func Vulnerabilities(db *vulndb.DB, target string, pkgs []finding.Package, o VulnOptions) (VulnResult, error) {
	covered := map[string]bool{}
	covers := func(eco string) bool {
		c, ok := covered[eco]
		if !ok {
			c = db.Covers(eco)
			covered[eco] = c
		}
		return c
	}
	var res VulnResult
	res.Unmatched = unmatched(db, pkgs, o.OS, covers)
	for i := range pkgs {
		p := &pkgs[i]
		if p.Ecosystem == "" || !covers(p.Ecosystem) {
			continue
		}
		entries, version, err := lookup(db, p)
		if err != nil {
			return VulnResult{}, err
		}
		var ms []match
		var undecided []string
		for _, e := range entries {
			affected, fixed, err := e.Affects(version)
			switch {
			case err == nil || affected:
			case errors.Is(err, vulndb.ErrVersion):
				undecided = append(undecided, e.ID)
			default:
				res.Notes = append(res.Notes, fmt.Sprintf("%s %s (%s) against %s: %v", p.Name, p.Version, p.Ecosystem, e.ID, err))
			}
			if !affected {
				continue
			}
			v, _, err := db.Vuln(e.ID)
			if err != nil {
				return VulnResult{}, err
			}
			ms = append(ms, match{pkg: p, entry: e, vuln: v, fixed: fixed})
		}
		if len(undecided) > 0 {
			res.Undecided = append(res.Undecided, fmt.Sprintf("%s %s (%s): version %q cannot be compared under the ecosystem's rules, so %d records naming it were not evaluated (%s)",
				p.Name, p.Version, p.Ecosystem, version, len(undecided), strings.Join(firstN(slices.Compact(slices.Sorted(slices.Values(undecided))), 3), ", ")))
		}
		for _, group := range aliasGroups(ms) {
			f := toFinding(target, group)
			if by := suppressedBy(f, o); by != "" {
				v := f.Vulnerability
				res.Suppressed = append(res.Suppressed, fmt.Sprintf("%s in %s %s: %s", f.ID, v.Package, v.Version, by))
				continue
			}
			res.Findings = append(res.Findings, f)
		}
	}
	finding.Sort(res.Findings)
	slices.Sort(res.Notes)
	res.Notes = slices.Compact(res.Notes)
	return res, nil
}

// lookup returns the store's entries for a package and the version to
// evaluate them at. Debian and Alpine records name source packages. RPM
// distributions differ (Red Hat, SUSE and AlmaLinux name binary
// packages, openEuler and Mageia source packages), so an rpm is looked
// up under both names; a record listing both is one finding. A Java
// archive whose groupId is a guess is looked up under every plausible
// group too (mavenCandidates).
func lookup(db *vulndb.DB, p *finding.Package) ([]vulndb.Entry, string, error) {
	names, version := []string{p.Name}, p.Version
	switch {
	case p.Type == "maven" && slices.Contains(p.Inferred, "groupId"):
		more, err := mavenCandidates(db, p)
		if err != nil {
			return nil, "", err
		}
		names = append(names, more...)
	case p.Source == "" || p.Source == p.Name:
	case p.Type == "deb" || p.Type == "apk":
		names, version = []string{p.Source}, cmp.Or(p.SourceVersion, p.Version)
	case p.Type == "rpm":
		names = append(names, p.Source)
	}
	var out []vulndb.Entry
	for _, n := range names {
		entries, err := db.Lookup(p.Ecosystem, n)
		if err != nil {
			return nil, "", err
		}
		out = append(out, entries...)
	}
	return out, version, nil
}

// mavenCandidates are the other identities of a Java archive whose
// groupId was guessed: the packages of the store with its artifactId
// whose groupId the archive's own names make plausible (Package.Hints:
// the group is one of them, or the start of one, "org.apache.commons"
// for classes in org.apache.commons.text; or one names the start of the
// group, a vendor's "org.apache.logging" for "org.apache.logging.log4j").
// A group that shares nothing with the archive is not tried: the same
// artifactId is published by unrelated groups.
func mavenCandidates(db *vulndb.DB, p *finding.Package) ([]string, error) {
	group, artifact, ok := strings.Cut(p.Name, ":")
	if !ok {
		return nil, nil
	}
	names, err := db.MavenNames(artifact)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		g, _, _ := strings.Cut(n, ":")
		if g == group {
			continue
		}
		if slices.ContainsFunc(p.Hints, func(h string) bool {
			return h == g || strings.HasPrefix(h, g+".") || strings.HasPrefix(g, h+".")
		}) {
			out = append(out, n)
		}
	}
	return out, nil
}

// unmatched names the packages no record could be matched against, by
// ecosystem: those of a distribution OSV has no ecosystem for, and
// those of an ecosystem the store holds no records of (covers says).
func unmatched(db *vulndb.DB, pkgs []finding.Package, osr *finding.OS, covers func(string) bool) []string {
	count := map[string]int{}
	noEco := map[string]int{}
	for _, p := range pkgs {
		switch {
		case p.Ecosystem == "":
			noEco[p.Type]++
		case !covers(p.Ecosystem):
			count[p.Ecosystem]++
		}
	}
	var out []string
	distro := "an unknown distribution (no os-release)"
	if osr != nil {
		distro = cmp.Or(osr.PrettyName, osr.ID+" "+osr.VersionID) + " (ID " + osr.ID + ")"
	}
	for _, typ := range slices.Sorted(maps.Keys(noEco)) {
		out = append(out, fmt.Sprintf("%d %s packages of %s: OSV has no ecosystem for this distribution, so no record can be matched", noEco[typ], typ, distro))
	}
	for _, eco := range slices.Sorted(maps.Keys(count)) {
		base := vulndb.BaseEcosystem(eco)
		why := fmt.Sprintf("'hull db update' fetches %s records (name it in --ecosystems when you list them)", base)
		switch {
		case db.Meta.Records[base] > 0 && eco == base:
			why = fmt.Sprintf("its %s records each name a release, and the image's os-release names none (no VERSION_ID)", base)
		case db.Meta.Records[base] > 0:
			why = fmt.Sprintf("it has %s records of other releases only", base)
		}
		out = append(out, fmt.Sprintf("%d packages of ecosystem %s: the database holds no records for it; %s", count[eco], eco, why))
	}
	return out
}

// aliasGroups joins the matches whose IDs or aliases overlap: GHSA, PYSEC
// and CVE records of one flaw are one finding.
func aliasGroups(ms []match) [][]match {
	parent := make([]int, len(ms))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	for i, m := range ms {
		for _, id := range append([]string{m.vuln.ID, m.entry.ID}, m.vuln.Aliases...) {
			if id == "" {
				continue
			}
			if j, ok := owner[id]; ok {
				parent[find(i)] = find(j)
			} else {
				owner[id] = i
			}
		}
	}
	groups := map[int][]match{}
	var order []int
	for i := range ms {
		r := find(i)
		if _, ok := groups[r]; !ok {
			order = append(order, r)
		}
		groups[r] = append(groups[r], ms[i])
	}
	out := make([][]match, 0, len(order))
	for _, r := range order {
		out = append(out, groups[r])
	}
	return out
}

// toFinding makes one finding of an alias group: named by its CVE when it
// has one, at the highest severity any of its records gives, fixed by
// the highest of their fixed versions.
func toFinding(target string, group []match) finding.Finding {
	p := group[0].pkg
	ids := map[string]bool{}
	var sev finding.Severity
	var score float64
	var vector, summary, url, fixed string
	scheme, _ := vercmp.For(p.Ecosystem)
	for _, m := range group {
		ids[m.entry.ID] = true
		for _, a := range m.vuln.Aliases {
			ids[a] = true
		}
		s, sc, vec := severityOf(m)
		if s > sev || (s == sev && sc > score) {
			sev, score, vector = s, sc, vec
		}
		summary = cmp.Or(summary, m.vuln.Summary)
		url = cmp.Or(url, m.vuln.URL)
		if m.fixed != "" && (fixed == "" || higher(scheme, m.fixed, fixed)) {
			fixed = m.fixed
		}
	}
	all := slices.Sorted(maps.Keys(ids))
	primary := all[0]
	if i := slices.IndexFunc(all, func(id string) bool { return strings.HasPrefix(id, "CVE-") }); i >= 0 {
		primary = all[i]
	}
	aliases := slices.DeleteFunc(slices.Clone(all), func(id string) bool { return id == primary })
	evidence := fmt.Sprintf("%s %s (%s)", p.Name, p.Version, p.Ecosystem)
	matchedAs := ""
	if len(p.Inferred) > 0 {
		// Say which identity the records named: the package's name is
		// hull's guess.
		matchedAs = group[0].entry.Name
		evidence += fmt.Sprintf(", matched as %s (the %s is not stated by the package and was inferred)", matchedAs, strings.Join(p.Inferred, ", "))
	}
	remediation := "No fixed version is known; watch " + primary
	if fixed != "" {
		evidence += ", fixed in " + fixed
		remediation = fmt.Sprintf("Upgrade %s to %s or later", p.Name, fixed)
	}
	f := finding.Finding{ID: primary, Title: cmp.Or(summary, primary), Severity: sev, Target: target,
		Evidence: evidence, Remediation: remediation,
		Vulnerability: &finding.Vulnerability{Package: p.Name, Version: p.Version, Type: p.Type, PURL: p.PURL,
			Ecosystem: p.Ecosystem, Fixed: fixed, Aliases: aliases, Score: score, Vector: vector, MatchedAs: matchedAs}}
	if len(p.Locations) > 0 {
		f.Location = p.Locations[0]
	}
	if url != "" {
		f.References = []string{url}
	}
	return f
}

// higher reports whether fixed version a is above b; versions the scheme
// rejects are not, so the first one found is kept.
func higher(s vercmp.Scheme, a, b string) bool {
	if s == nil {
		return false
	}
	c, err := vercmp.CompareIn(s, a, b)
	return err == nil && c > 0
}

// severityOf rates a match: the CVSS v3 vector for this package, else the
// record's, computed; else the database's own rating (GHSA's "MODERATE").
func severityOf(m match) (finding.Severity, float64, string) {
	for _, list := range [][]vulndb.Severity{m.entry.Severity, m.vuln.Severity} {
		for _, s := range list {
			if s.Type != "CVSS_V3" {
				continue
			}
			score, err := cvss.BaseScore(s.Score)
			if err != nil {
				continue
			}
			return ratingSeverity(cvss.RatingOf(score)), score, s.Score
		}
	}
	switch strings.ToUpper(m.vuln.DBSeverity) {
	case "CRITICAL":
		return finding.SeverityCritical, 0, ""
	case "HIGH", "IMPORTANT":
		return finding.SeverityHigh, 0, ""
	case "MODERATE", "MEDIUM":
		return finding.SeverityMedium, 0, ""
	case "LOW", "NEGLIGIBLE":
		return finding.SeverityLow, 0, ""
	}
	return finding.SeverityUnknown, 0, ""
}

func ratingSeverity(r cvss.Rating) finding.Severity {
	switch r {
	case cvss.Critical:
		return finding.SeverityCritical
	case cvss.High:
		return finding.SeverityHigh
	case cvss.Medium:
		return finding.SeverityMedium
	case cvss.Low:
		return finding.SeverityLow
	}
	return finding.SeverityInfo
}

// suppressedBy says what suppresses f, or "" if nothing does.
func suppressedBy(f finding.Finding, o VulnOptions) string {
	const byVEX = "the VEX document says it does not affect the package"
	ids := append([]string{f.ID}, f.Vulnerability.Aliases...)
	for _, id := range ids {
		if why, ok := o.Ignore[id]; ok {
			if why != "" {
				return "ignored as " + id + " (" + why + ")"
			}
			return "ignored as " + id
		}
	}
	if o.VEX == nil {
		return ""
	}
	if v := f.Vulnerability; v.MatchedAs != "" && v.Type == "maven" && o.VEX.NotAffected(ids, inventory.MavenPURL(v.MatchedAs, v.Version)) {
		// A statement about the identity the records matched, when the
		// package's own name is a guess.
		return byVEX
	}
	if o.VEX.NotAffected(ids, f.Vulnerability.PURL) {
		return byVEX
	}
	return ""
}
