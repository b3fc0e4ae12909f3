// Package inventory lists the software installed in an image or a
// directory tree: OS packages (dpkg, including distroless status.d; apk;
// rpm: SQLite, Berkeley DB and ndb databases), Go binaries (build info), Rust binaries (cargo-auditable), Java
// archives (pom.properties, manifests, nested jars), npm packages
// (node_modules and lockfiles), Python distributions (dist-info,
// egg-info), Ruby gems and PHP Composer packages, each with a package
// URL, the OSV ecosystem it is matched in, and the layer and file that
// say it is installed.
//
// Data flow: the caller (the scan engine, which reads each layer once for
// every analyzer) asks Wants about each file by path and header (cheap
// string tests) and hands the content of the wanted ones to Inspect, which
// runs the cataloger that recognises the file and returns its packages as
// plain data (cacheable per layer). Assemble takes the results of the
// files the merged filesystem shows: os-release completes what depends on
// the distribution (the OS packages' PURL namespace and distro qualifier,
// and their OSV ecosystem, OSEcosystem: "Debian:12", "Alpine:v3.20",
// "Red Hat:enterprise_linux:9", or none where OSV has no records of the
// distribution), and packages found in several files are merged into one
// with every location. A name the package's own metadata does not state
// (a Java archive's groupId without pom.properties) is marked Inferred,
// with the archive's own names as Hints for matching.
package inventory

import (
	"archive/tar"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/secrets"
	"github.com/hull-sec/hull/internal/vercmp"
)

// MaxFileBytes is the default bound on what is read of one package
// database or manifest; a larger file is noted, not read.
const MaxFileBytes = 64 << 20

// Result is what the inventory of an image found.
type Result struct {
	OS       *finding.OS       `json:"os,omitempty"`
	Packages []finding.Package `json:"packages"`
	// Notes name the files that looked like package metadata but could
	// not be read, and why.
	Notes []string `json:"notes,omitempty"`
}

// cataloger reads packages from the files it recognises.
type cataloger struct {
	name string
	// match reports, from the path and header of a regular file, whether
	// the cataloger reads it.
	match func(path string, h *tar.Header) bool
	// parse reads the content, the whole file, from memory.
	parse func(path string, data []byte) ([]finding.Package, error)
	// stream, with streamAbove, reads a file larger than streamAbove as it
	// streams by instead.
	stream      func(path string, r io.Reader) ([]finding.Package, error)
	streamAbove int64
}

var catalogers = []cataloger{
	{name: "dpkg", match: matchDpkg, parse: fromReader(parseDpkg)},
	{name: "apk", match: matchApk, parse: fromReader(parseApk)},
	{name: "rpm", match: matchRpm, parse: parseRpm},
	// Java first: an executable app.jar is an archive, not a binary.
	{name: "java", match: matchJava, parse: parseJava},
	{name: "binary", match: matchBinary, parse: parseBinary, stream: parseGoBinary, streamAbove: maxBufferedBinary},
	{name: "npm", match: matchNpm, parse: fromReader(parseNpm)},
	{name: "python", match: matchPython, parse: fromReader(parsePython)},
	{name: "ruby", match: matchRuby, parse: fromReader(parseRuby)},
	{name: "php", match: matchPHP, parse: parsePHP},
}

// fromReader adapts a parser of text formats, which reads as it scans, to
// content in memory.
func fromReader(f func(string, io.Reader) ([]finding.Package, error)) func(string, []byte) ([]finding.Package, error) {
	return func(p string, data []byte) ([]finding.Package, error) { return f(p, bytes.NewReader(data)) }
}

// formatVersion changes whenever a cataloger reads differently what it
// already read (new fields, bounds, fixes); adding or removing a cataloger
// changes Version by itself.
const formatVersion = "3"

// Version names what the inventory records for a file: caches of its
// results (scan's layer cache) are keyed by it, so that a layer read by an
// older hull, before a cataloger existed, is read again.
func Version() string {
	v := formatVersion
	for _, c := range catalogers {
		v += "+" + c.name
	}
	return v
}

// FileResult is what one file yielded. It is plain data, so a layer's
// results can be cached.
type FileResult struct {
	Packages []finding.Package `json:"pkgs,omitempty"`
	OS       *finding.OS       `json:"os,omitempty"`
	// OSRelease is the os-release file OS came from.
	OSRelease string `json:"osr,omitempty"`
	Note      string `json:"note,omitempty"`
}

// Want says how a file must be read for the inventory.
type Want int

// What Wants answers.
const (
	Skip   Want = iota
	Buffer      // the content, at most MaxFileBytes
	Stream      // the content as it streams by, unbounded (a Go binary)
)

func isOSRelease(p string) bool { return p == "/etc/os-release" || p == "/usr/lib/os-release" }

// Wants says whether and how the inventory reads the file at path.
func Wants(path string, h *tar.Header) Want {
	if h.Typeflag != tar.TypeReg {
		return Skip
	}
	if isOSRelease(path) {
		return Buffer
	}
	for _, c := range catalogers {
		if c.match(path, h) {
			if c.streamAbove > 0 && h.Size > c.streamAbove {
				return Stream
			}
			return Buffer
		}
	}
	return Skip
}

// Inspect reads one file that Wants asked for: data is its whole content
// when it wanted Buffer (nil if the file was larger than MaxFileBytes),
// r its content when it wanted Stream. It returns nil when the file holds
// no package.
func Inspect(path string, h *tar.Header, data []byte, r io.Reader) *FileResult {
	if isOSRelease(path) {
		if data == nil {
			return &FileResult{Note: fmt.Sprintf("%s: %v: more than %d bytes", path, errTooLarge, MaxFileBytes)}
		}
		osr := parseOSRelease(data)
		return &FileResult{OS: &osr, OSRelease: path}
	}
	for _, c := range catalogers {
		if !c.match(path, h) {
			continue
		}
		var pkgs []finding.Package
		var err error
		switch {
		case r != nil && c.stream != nil:
			pkgs, err = safeParse(c.name, func() ([]finding.Package, error) { return c.stream(path, r) })
		case data != nil:
			pkgs, err = safeParse(c.name, func() ([]finding.Package, error) { return c.parse(path, data) })
		default:
			return &FileResult{Note: fmt.Sprintf("%s (%s): %v: more than %d bytes", path, c.name, errTooLarge, MaxFileBytes)}
		}
		if err != nil {
			// A parser's error may quote the file (a line that is not a
			// field): masked before it reaches any report or cache.
			return &FileResult{Note: secrets.Mask(fmt.Sprintf("%s (%s): %v", path, c.name, err)).Text}
		}
		if len(pkgs) == 0 {
			return nil
		}
		return &FileResult{Packages: pkgs}
	}
	return nil
}

// errTooLarge marks a file over MaxFileBytes.
var errTooLarge = errors.New("file too large")

// Found is a FileResult where the merged filesystem shows it.
type Found struct {
	*FileResult
	Location finding.Location
}

// Assemble makes the inventory of an image from what its visible files
// yielded: the OS from /etc/os-release (else /usr/lib/os-release), every
// package with its location, merged by package URL and sorted.
func Assemble(found []Found) *Result {
	res := &Result{}
	var osRel, usrOSRel *finding.OS
	var pkgs []finding.Package
	for _, f := range found {
		switch {
		case f.Note != "":
			res.Notes = append(res.Notes, f.Note)
		case f.OS != nil && f.OSRelease == "/etc/os-release":
			osRel = f.OS
		case f.OS != nil:
			usrOSRel = f.OS
		}
		for _, p := range f.Packages {
			p.Locations = []finding.Location{f.Location}
			pkgs = append(pkgs, p)
		}
	}
	res.OS = cmp.Or(osRel, usrOSRel)
	res.Packages = merge(pkgs, res.OS)
	if res.OS != nil && res.OS.ID != "" && !slices.ContainsFunc(res.Packages, isOSPackage) {
		// A distribution without its package database: what it installed
		// is unknown, which is not the same as nothing installed.
		res.Notes = append(res.Notes, fmt.Sprintf("os-release names %s (ID %s) but no package database of it was found (deleted, or a format hull does not read): its installed packages are unknown",
			cmp.Or(res.OS.PrettyName, res.OS.ID), res.OS.ID))
	}
	slices.Sort(res.Notes)
	return res
}

// isOSPackage reports whether a package came from a distribution's
// package database.
func isOSPackage(p finding.Package) bool {
	return p.Type == "deb" || p.Type == "apk" || p.Type == "rpm"
}

// safeParse runs a parser on hostile content: a panic is a bug, but it
// becomes an error for this one file, not a crash of the scan.
func safeParse(name string, parse func() ([]finding.Package, error)) (pkgs []finding.Package, err error) {
	defer func() {
		if p := recover(); p != nil {
			pkgs, err = nil, fmt.Errorf("%s cataloger failed: %v", name, p)
		}
	}()
	return parse()
}

// merge completes the distribution-dependent fields, then folds packages
// with the same PURL into one that lists every location, and sorts.
func merge(pkgs []finding.Package, osr *finding.OS) []finding.Package {
	byPURL := map[string]int{}
	var out []finding.Package
	for _, p := range pkgs {
		complete(&p, osr)
		if i, ok := byPURL[p.PURL]; ok {
			out[i].Locations = append(out[i].Locations, p.Locations...)
			continue
		}
		byPURL[p.PURL] = len(out)
		out = append(out, p)
	}
	for i := range out {
		slices.SortStableFunc(out[i].Locations, func(a, b finding.Location) int {
			return cmp.Or(cmp.Compare(b.LayerIndex, a.LayerIndex), cmp.Compare(a.Path, b.Path))
		})
	}
	slices.SortFunc(out, func(a, b finding.Package) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version), cmp.Compare(a.PURL, b.PURL))
	})
	return out
}

// complete sets the PURL and OSV ecosystem of a package, which for OS
// packages depend on the distribution.
func complete(p *finding.Package, osr *finding.OS) {
	distro, osID, eco := "", "", ""
	if osr != nil {
		osID = osr.ID
		distro = osr.ID + "-" + osr.VersionID
	}
	switch p.Type {
	case "deb":
		eco = OSEcosystem(p.Type, osr)
		p.PURL = purl("deb", cmp.Or(osID, "debian"), p.Name, p.Version, map[string]string{"arch": p.Arch, "distro": distro})
	case "apk":
		eco = OSEcosystem(p.Type, osr)
		p.PURL = purl("apk", cmp.Or(osID, "alpine"), p.Name, p.Version, map[string]string{"arch": p.Arch, "distro": distro})
	case "golang":
		ns, name := "", p.Name
		if i := strings.LastIndexByte(p.Name, '/'); i >= 0 {
			ns, name = p.Name[:i], p.Name[i+1:]
		}
		eco = "Go"
		p.PURL = purl("golang", ns, name, p.Version, nil)
	case "npm":
		ns, name := "", p.Name
		if strings.HasPrefix(p.Name, "@") {
			if i := strings.IndexByte(p.Name, '/'); i > 0 {
				ns, name = p.Name[:i], p.Name[i+1:]
			}
		}
		eco = "npm"
		p.PURL = purl("npm", ns, name, p.Version, nil)
	case "pypi":
		eco = "PyPI"
		p.PURL = purl("pypi", "", vercmp.NormalizeName("PyPI", p.Name), p.Version, nil)
	case "cargo":
		eco = "crates.io"
		p.PURL = purl("cargo", "", p.Name, p.Version, nil)
	case "gem":
		eco = "RubyGems"
		p.PURL = purl("gem", "", p.Name, p.Version, nil)
	case "composer":
		ns, name, _ := strings.Cut(p.Name, "/")
		eco = "Packagist"
		p.PURL = purl("composer", ns, name, p.Version, nil)
	case "maven":
		eco = "Maven"
		p.PURL = MavenPURL(p.Name, p.Version)
	case "rpm":
		// The PURL spec puts an rpm's epoch in a qualifier.
		ns := cmp.Or(osID, "rpm")
		eco = OSEcosystem(p.Type, osr)
		epoch, version, ok := strings.Cut(p.Version, ":")
		if !ok {
			epoch, version = "", p.Version
		}
		p.PURL = purl("rpm", ns, p.Name, version, map[string]string{"arch": p.Arch, "distro": distro, "epoch": epoch})
	}
	p.Ecosystem = eco
}

// OSEcosystem is the OSV ecosystem the packages of a distribution's
// package format (deb, apk, rpm) are filed under at osv.dev, named as
// the records name the distribution's release, or "" for a
// distribution OSV has no records of (CentOS, Fedora, Amazon Linux,
// Oracle Linux...: then nothing can be matched, and scan says so).
// Where OSV splits a release further than os-release says (Ubuntu's
// ":LTS", Red Hat's repositories, SUSE's products and support phases),
// vulndb.Applies matches the finer names to this one.
func OSEcosystem(typ string, osr *finding.OS) string {
	id, version := "", ""
	if osr != nil {
		id, version = osr.ID, osr.VersionID
	}
	major, _, _ := strings.Cut(version, ".")
	// release names a release of a family, or the family alone when
	// os-release gives no version.
	release := func(family, rel string) string {
		if version == "" {
			return family
		}
		return family + ":" + rel
	}
	switch typ {
	case "deb":
		switch cmp.Or(id, "debian") {
		case "debian":
			return release("Debian", major)
		case "ubuntu":
			return release("Ubuntu", version)
		}
	case "apk":
		switch cmp.Or(id, "alpine") {
		case "alpine":
			if v := strings.SplitN(version, ".", 3); len(v) >= 2 {
				return "Alpine:v" + v[0] + "." + v[1]
			}
			return "Alpine"
		case "wolfi":
			return "Wolfi"
		case "chainguard":
			return "Chainguard"
		}
	case "rpm":
		switch id {
		case "rhel":
			// Red Hat files packages under the CPE of each repository of
			// a major release: "Red Hat:enterprise_linux:9::baseos".
			return release("Red Hat", "enterprise_linux:"+major)
		case "almalinux":
			return release("AlmaLinux", major)
		case "rocky":
			return release("Rocky Linux", major)
		case "sles", "sled", "sles_sap":
			product := map[string]string{"sles": "Server", "sled": "Desktop", "sles_sap": "Server for SAP Applications"}[id]
			return release("SUSE", "Linux Enterprise "+product+" "+suseRelease(version))
		case "sle-micro", "sl-micro":
			return release("SUSE", "Linux Enterprise Micro "+version)
		case "opensuse-leap":
			return release("openSUSE", "Leap "+version)
		case "opensuse-leap-micro":
			return release("openSUSE", "Leap Micro "+version)
		case "opensuse-tumbleweed":
			return "openSUSE:Tumbleweed"
		case "mageia":
			return release("Mageia", version)
		case "openeuler":
			return release("openEuler", openEulerRelease(osr))
		case "azurelinux", "mariner":
			return release("Azure Linux", major)
		case "photon":
			return release("Photon OS", version)
		}
	}
	return ""
}

// suseRelease writes os-release's "15.5" as SUSE's "15 SP5" ("15.0" and
// "15" are "15").
func suseRelease(v string) string {
	major, sp, ok := strings.Cut(v, ".")
	if !ok || sp == "0" || sp == "" {
		return major
	}
	return major + " SP" + sp
}

// openEulerRelease is "22.03-LTS-SP1" for PRETTY_NAME "openEuler 22.03
// (LTS-SP1)", "24.03-LTS" for "openEuler 24.03 (LTS)", else VERSION_ID.
func openEulerRelease(osr *finding.OS) string {
	rest, ok := strings.CutPrefix(osr.PrettyName, "openEuler ")
	if !ok {
		return osr.VersionID
	}
	version, qual, ok := strings.Cut(rest, " (")
	qual, closed := strings.CutSuffix(qual, ")")
	if !ok || !closed || qual == "" {
		return strings.TrimSpace(version)
	}
	return strings.TrimSpace(version) + "-" + strings.ReplaceAll(strings.TrimSpace(qual), " ", "-")
}
