package audit

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/inventory"
	"github.com/hull-sec/hull/internal/vercmp"
)

//go:embed data/escapes.json
var escapesJSON []byte

// Advisory is a runtime or engine vulnerability that breaks isolation.
type Advisory struct {
	ID        string `json:"id"`
	GHSA      string `json:"ghsa"`
	Component string `json:"component"` // runc, containerd, docker, podman
	Kind      string `json:"kind"`      // escape or bypass
	Summary   string `json:"summary"`
	// Introduced is the first affected upstream version, "" for all.
	Introduced string `json:"introduced"`
	// Fixed are the first fixed upstream versions, one per release line.
	Fixed []string `json:"fixed"`
	// Debian maps a Debian release (VERSION_ID) to the package revision
	// whose changelog says it carries the fix.
	Debian map[string]string `json:"debian"`
}

type advisoryFile struct {
	About      string     `json:"about"`
	Advisories []Advisory `json:"advisories"`
}

// Advisories returns the embedded advisory data, checked once.
var Advisories = sync.OnceValues(func() ([]Advisory, error) {
	var f advisoryFile
	dec := json.NewDecoder(bytes.NewReader(escapesJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("escapes data: %w", err)
	}
	for _, a := range f.Advisories {
		if a.ID == "" || a.Summary == "" || len(a.Fixed) == 0 || debianPackages[a.Component] == "" {
			return nil, fmt.Errorf("escapes data: incomplete advisory %q", a.ID)
		}
		for _, v := range append(slices.Clone(a.Fixed), a.Introduced) {
			if v == "" {
				continue
			}
			if _, err := dpkgScheme().Parse(upstreamVersion(v)); err != nil {
				return nil, fmt.Errorf("escapes data: %s: %w", a.ID, err)
			}
		}
	}
	return f.Advisories, nil
})

// debianPackages are the components advisories name, with the Debian
// package each ships in.
var debianPackages = map[string]string{"runc": "runc", "containerd": "containerd", "docker": "docker.io", "podman": "podman"}

func dpkgScheme() vercmp.Scheme {
	s, _ := vercmp.For("Debian")
	return s
}

// distroSuffix is the repackaging mark Debian adds to upstream versions
// (20.10.24+dfsg1, 1.1.5+ds1, 1.6.20~ds1).
var distroSuffix = regexp.MustCompile(`[+~](dfsg|ds)[0-9]*.*$`)

// upstreamVersion turns a version as an engine reports it (v1.1.12,
// 1.0.0-rc95, 20.10.24+dfsg1) into one dpkg ordering compares correctly:
// no "v", no repackaging suffix, pre-releases with "~".
func upstreamVersion(v string) string {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	v = distroSuffix.ReplaceAllString(v, "")
	if i := strings.IndexByte(v, '+'); i >= 0 {
		v = v[:i]
	}
	return strings.Replace(v, "-", "~", 1)
}

// debianUpstream is the upstream part of a Debian package version
// (epoch and revision removed), as upstreamVersion normalizes it.
func debianUpstream(v string) string {
	if _, rest, ok := strings.Cut(v, ":"); ok {
		v = rest
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		v = v[:i]
	}
	return upstreamVersion(v)
}

// releaseLine is "MAJOR.MINOR" of a normalized version.
func releaseLine(v string) string {
	parts := strings.SplitN(strings.SplitN(v, "~", 2)[0], ".", 3)
	if len(parts) < 2 {
		return parts[0]
	}
	return parts[0] + "." + parts[1]
}

func less(a, b string) bool {
	c, err := vercmp.CompareIn(dpkgScheme(), a, b)
	return err == nil && c < 0
}

// affectedUpstream reports whether upstream version v (normalized) has
// the vulnerability: it is at or after Introduced, and below the fix of
// its own release line, or on a line older than or between the fixed
// ones that never got a fix.
func (a Advisory) affectedUpstream(v string) bool {
	if a.Introduced != "" && less(v, upstreamVersion(a.Introduced)) {
		return false
	}
	line := releaseLine(v)
	newest := ""
	for _, f := range a.Fixed {
		f = upstreamVersion(f)
		if releaseLine(f) == line {
			return less(v, f)
		}
		if newest == "" || less(newest, f) {
			newest = f
		}
	}
	return less(v, newest)
}

// Installed is a runtime or engine version found on the host.
type Installed struct {
	Component string
	// Version is what the engine reports or the package's version.
	Version string
	// Package is the Debian package it came from ("" when an engine
	// reported it), with the Debian release it is for.
	Package, DebianRelease string
	Source                 string
}

// comparable reports whether the version judge compares parses as a
// Debian version: one that does not ("dev", a nightly's name) would
// otherwise compare as "not affected" with every advisory.
func (in Installed) comparable() bool {
	v := in.Version
	if in.Package == "" {
		v = upstreamVersion(v)
	}
	_, err := dpkgScheme().Parse(v)
	return err == nil
}

// judge says whether advisory a applies to this installation, and why.
func (a Advisory) judge(in Installed) (affected bool, why string) {
	if in.Package != "" {
		if fix, ok := a.Debian[in.DebianRelease]; ok {
			if less(in.Version, fix) {
				return true, fmt.Sprintf("%s %s is older than Debian %s's fix %s", in.Package, in.Version, in.DebianRelease, fix)
			}
			return false, ""
		}
		up := debianUpstream(in.Version)
		if a.affectedUpstream(up) {
			return true, fmt.Sprintf("%s %s (upstream %s) is affected; fixed upstream in %s, and no Debian %s changelog entry names the fix",
				in.Package, in.Version, up, strings.Join(a.Fixed, ", "), cmp.Or(in.DebianRelease, "release"))
		}
		return false, ""
	}
	up := upstreamVersion(in.Version)
	if a.affectedUpstream(up) {
		return true, fmt.Sprintf("%s %s is affected; fixed in %s", in.Component, in.Version, strings.Join(a.Fixed, ", "))
	}
	return false, ""
}

// installedVersions are the runtime and engine versions on the host:
// Debian packages (judged with Debian's backports) and what each engine
// reports for itself and its runtime (judged on upstream versions when
// no package owns them).
func installedVersions(p Probe, d *Discovery) []Installed {
	var out []Installed
	osr := finding.OS{}
	if data, err := p.ReadFile("/etc/os-release"); err == nil {
		osr = inventory.OSRelease(data)
	}
	packaged := map[string][]string{} // component: upstream versions dpkg has
	if f, err := p.ReadFile("/var/lib/dpkg/status"); err == nil {
		pkgs, _ := inventory.DpkgStatus(bytes.NewReader(f))
		for _, c := range slices.Sorted(maps.Keys(debianPackages)) {
			for _, pk := range pkgs {
				if pk.Name != debianPackages[c] {
					continue
				}
				rel := ""
				if osr.ID == "debian" {
					rel = osr.VersionID
				}
				out = append(out, Installed{Component: c, Version: pk.Version, Package: pk.Name, DebianRelease: rel, Source: "dpkg"})
				packaged[c] = append(packaged[c], debianUpstream(pk.Version))
			}
		}
	}
	for _, e := range d.Engines {
		for _, c := range []struct{ component, name string }{
			{"docker", "Engine"}, {"containerd", "containerd"}, {"runc", "runc"}, {"podman", "Podman Engine"},
		} {
			v := e.Version.Component(c.name)
			// The package already stands for the binary the engine runs.
			if v == "" || slices.Contains(packaged[c.component], upstreamVersion(v)) {
				continue
			}
			out = append(out, Installed{Component: c.component, Version: v, Source: e.Kind + " " + e.Endpoint})
		}
	}
	return out
}

// EscapeCheck judges the runtime and engine versions on the host against
// the known escapes and bypasses (CIS 1.2.2 asks for an up-to-date
// engine; this says which known escapes it still has).
func EscapeCheck(d *Discovery) Check {
	return check("engine-known-escapes", "1.2.2", finding.SeverityCritical, "Runtimes and engines have no known container escape",
		"runc, containerd, Docker and Podman versions are compared with hull's list of isolation-breaking vulnerabilities (CVE-2019-5736, CVE-2024-21626, CVE-2020-15257, CVE-2024-41110 and the rest in internal/audit/data/escapes.json). Debian packages are judged by the revision that backports the fix, as their changelogs say, so a patched 1.1.5+ds1-1+deb12u1 is not reported for a fix upstream made in 1.1.12.",
		"Upgrade the named package (apt-get install --only-upgrade runc containerd docker.io) or the engine to a fixed version.",
		func(p Probe) Outcome {
			advs, err := Advisories()
			if err != nil {
				return undecided(err.Error())
			}
			ins := installedVersions(p, d)
			if len(ins) == 0 {
				return skip("no runc, containerd, Docker or Podman found (dpkg status or an engine's /version)")
			}
			var summary, details, checked, unjudged, upgrade []string
			n := 0
			for _, in := range ins {
				name := in.Component + " " + in.Version + " (" + in.Source + ")"
				if !in.comparable() {
					unjudged = append(unjudged, name)
					continue
				}
				checked = append(checked, name)
				var ids []string
				for _, a := range advs {
					if a.Component != in.Component {
						continue
					}
					if hit, why := a.judge(in); hit {
						ids = append(ids, a.ID)
						details = append(details, fmt.Sprintf("%s (%s: %s): %s", a.ID, a.Kind, a.Summary, why))
					}
				}
				if len(ids) > 0 {
					n += len(ids)
					summary = append(summary, name+": "+strings.Join(ids, ", "))
					if in.Package != "" {
						upgrade = append(upgrade, "apt-get install --only-upgrade "+in.Package+" (now "+in.Version+")")
					} else {
						upgrade = append(upgrade, "upgrade "+in.Component+" "+in.Version+" ("+in.Source+") to a fixed version")
					}
				}
			}
			cannot := ""
			if len(unjudged) > 0 {
				cannot = "cannot compare the version of " + strings.Join(unjudged, ", ")
			}
			switch {
			case n > 0:
				// The IDs first: a one-line report shows the start.
				o := fail(fmt.Sprintf("%d known escapes or bypasses apply: %s", n, strings.Join(summary, "; ")),
					strings.Join(summary, "; ")+". "+strings.Join(details, "; ")+". "+cannot)
				o.Fix = strings.Join(slices.Compact(upgrade), "; ") + "; the advisories name the fixed versions."
				return o
			case cannot != "":
				return warn(cannot+" with the advisories; check it by hand", cannot)
			}
			return pass("no known escape applies to " + strings.Join(checked, ", "))
		})
}
