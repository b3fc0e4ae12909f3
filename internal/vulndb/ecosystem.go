package vulndb

import (
	"strings"
)

// BaseEcosystem is an OSV ecosystem without its release: "Debian" for
// "Debian:12", "Alpine" for "Alpine:v3.20", "Red Hat" for
// "Red Hat:enterprise_linux:9::baseos".
func BaseEcosystem(e string) string {
	base, _, _ := strings.Cut(e, ":")
	return base
}

// Applies reports whether records filed under ecosystem rec concern a
// package of ecosystem pkg, as the inventory names it (see
// inventory's package doc). OSV names a distribution's releases more
// finely than os-release does, so beyond the same ecosystem and a record
// that names no release:
//
//   - a record whose ecosystem extends the package's by ':' applies:
//     "Ubuntu:22.04:LTS" to "Ubuntu:22.04", and every repository of a
//     RHEL release to "Red Hat:enterprise_linux:9" (":baseos",
//     ":appstream", ":crb": Red Hat files each package under the CPE of
//     the repository that ships it, and an image mixes them);
//   - SUSE files a package under every product of a code stream that
//     ships it, and under the support phase ("SUSE:Linux Enterprise
//     Module for Basesystem 15 SP5", "SUSE:Linux Enterprise Server 15
//     SP5-LTSS"): a record applies to every SUSE Linux Enterprise
//     product of the same stream ("15 SP5").
func Applies(pkg, rec string) bool {
	if rec == pkg || rec == BaseEcosystem(pkg) {
		return true
	}
	if !strings.Contains(pkg, ":") {
		// A package of no known release ("Debian" for sid) takes only
		// the records that name none: another release's fixes are not
		// its own.
		return false
	}
	if strings.HasPrefix(rec, pkg+":") {
		return true
	}
	if BaseEcosystem(pkg) != "SUSE" || BaseEcosystem(rec) != "SUSE" {
		return false
	}
	ps, ok := suseStream(pkg)
	rs, rok := suseStream(rec)
	return ok && rok && ps == rs
}

// suseStream is the code stream of a SUSE Linux Enterprise ecosystem:
// "15 SP5" for "SUSE:Linux Enterprise Server 15 SP5-LTSS", "5.5" for
// "SUSE:Linux Enterprise Micro 5.5"; false for other SUSE products
// (SUSE Manager, CaaS Platform), which ship their own streams.
func suseStream(eco string) (string, bool) {
	product, ok := strings.CutPrefix(eco, "SUSE:Linux Enterprise ")
	if !ok {
		return "", false
	}
	// The support phase: "-LTSS", "-ESPOS", "-TERADATA", "-BCL".
	if i := strings.LastIndexByte(product, '-'); i >= 0 && strings.Trim(product[i+1:], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
		product = product[:i]
	}
	words := strings.Fields(product)
	n := len(words)
	if n < 2 {
		return "", false
	}
	last := words[n-1]
	if sp, ok := strings.CutPrefix(last, "SP"); ok && sp != "" && strings.Trim(sp, "0123456789") == "" && n >= 3 && startsWithDigit(words[n-2]) {
		return words[n-2] + " " + last, true
	}
	if startsWithDigit(last) {
		return last, true
	}
	return "", false
}

func startsWithDigit(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }
