package inventory

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hull-sec/hull/internal/finding"
)

// Java archives (.jar, .war, .ear, .jpi, .hpi, .par, .sar, .nar) name
// Maven packages: Type "maven", Name "groupId:artifactId" (as OSV's Maven
// ecosystem names them), read much as syft's java cataloger reads them:
//
//  1. Every META-INF/maven/**/pom.properties (at any depth, so
//     BOOT-INF/classes too) with a well-formed groupId, artifactId and
//     version is a package: authoritative, and a shaded or fat jar holds
//     several. The licence names of a pom.xml beside it are its licences.
//  2. The archive itself is a package named by its MANIFEST.MF and file
//     name, unless one of the pom.properties is the archive (see
//     javaOwnPom: same artifactId, syft's prefix and suffix match, the
//     Implementation-Title, else the only one at the archive's version).
//     An archive without a MANIFEST.MF is not a package itself (as in
//     syft), nor is one whose manifest has Weave-Classes (New Relic's
//     instrumentation, named after what it instruments). It takes:
//     - artifactId: the file name without version and extension
//     ("spring-core-5.3.20.jar": spring-core, by syft's pattern), but
//     when the file name carries no version (a local name: Debian's
//     /usr/share/java, Tomcat's lib/catalina.jar, app.jar) the first of
//     Implementation-Title, Bundle-Name, Short-Name, Extension-Name that
//     looks like an artifactId (lower case, Maven's characters; not
//     "Apache Tomcat") comes first;
//     - version: the first well-formed of Implementation-Version,
//     Plugin-Version, the file name's version, Bundle-Version,
//     Specification-Version (syft tries the file name first; a file is
//     renamed more often than its manifest is wrong);
//     - groupId (javaGroup): javaKnownGroups for the families built
//     without pom.properties (Spring, Tomcat, Bouncy Castle, Kafka,
//     Groovy...; an abridged syft table), else Group-Id or
//     Implementation-Vendor-Id (Maven's archiver wrote the groupId
//     there), else Bundle-SymbolicName, then Automatic-Module-Name, read
//     backwards through the Maven Bundle Plugin's default (bundleGroup),
//     else either whole when it starts with com., org., net., io. or be.
//     (syft's test), else the artifactId (syft's default). A guess, so
//     the package is marked Inferred ("groupId"), and keeps as Hints the
//     archive's own dotted names (javaHints: manifest names, the
//     packages of its classes) for matching to try other groups.
//     Its licence is Bundle-License, else Plugin-License-Name; the same
//     goes to the pom.properties that is the archive, over its pom.xml's
//     (syft prefers the manifest too).
//     So a manifest that names nothing leaves the file name
//     ("aopalliance-1.0.jar": aopalliance:aopalliance 1.0) as the last
//     resort; a package needs a version from somewhere.
//  3. Archives inside (WEB-INF/lib, BOOT-INF/lib, lib/, Jenkins plugins:
//     any entry with a Java archive extension) are read the same way,
//     javaMaxDepth levels down; one that is not a readable zip, or is
//     hostile, is skipped.
//
// Packages are deduplicated by groupId:artifactId@version within a file.
//
// The archive comes from an image's author. Entry names that are not
// clean relative paths are ignored; an entry the reader needs (manifest,
// pom.properties, pom.xml, nested archive) present twice makes the
// archive an error (which copy Java reads is not the point: a scanner
// must not be shown one while the other runs); and the work is bounded.
// Per file, nested archives included: at most javaMaxBytes read (inflated
// entries, and nested archives, stored ones viewed in place but counted
// too, so overlapping entries cannot multiply the work) and at most
// javaMaxEntries central directory records, counted before archive/zip
// allocates them. Sizes are checked as declared before a byte is
// inflated, ratios beyond what deflate can do are refused, and no more
// is read of an entry than it declares. A file over either bound is an
// error, not a partial list.
//
// Not read, unlike syft: pom.xml without pom.properties, parent POMs and
// Maven Central (syft fetches licences), licence files, version.properties.
func matchJava(p string, h *tar.Header) bool {
	return h.Typeflag == tar.TypeReg && isJavaArchive(p)
}

// javaArchiveExts are the zip-based Java archive formats read.
var javaArchiveExts = []string{".jar", ".war", ".ear", ".jpi", ".hpi", ".par", ".sar", ".nar"}

func isJavaArchive(name string) bool {
	for _, ext := range javaArchiveExts {
		if len(name) >= len(ext) && strings.EqualFold(name[len(name)-len(ext):], ext) {
			return true
		}
	}
	return false
}

const (
	// javaMaxDepth is how many levels of nested archives are read.
	javaMaxDepth = 3
	// javaMaxBytes bounds what one file costs: entry content inflated
	// and nested archives opened, in bytes.
	javaMaxBytes = 64 << 20
	// javaMaxEntries bounds the central directory records (about 250
	// bytes of memory each once read) of one file and its nested archives.
	javaMaxEntries = 1 << 18
	// Per entry: the manifest (its main section is read, up to this
	// much of it), a pom.properties, a pom.xml.
	javaMaxManifest  = 1 << 20
	javaMaxPomProps  = 64 << 10
	javaMaxPomXML    = 1 << 20
	javaMaxLicense   = 200
	javaMaxVersion   = 128
	javaMaxID        = 200
	javaMaxDeflation = 1100 // deflate cannot do better than about 1032:1
)

var (
	errJavaBudget        = fmt.Errorf("java archive: more than %d MiB to read inside", javaMaxBytes>>20)
	errJavaEntries       = fmt.Errorf("java archive: more than %d entries, nested archives included", javaMaxEntries)
	errJavaDuplicate     = errors.New("java archive: duplicate entry")
	errJavaEntryTooLarge = errors.New("java archive: entry too large")
)

// javaWalk is the state of reading one file: what is left of the
// bounds, and the packages found so far.
type javaWalk struct {
	bytesLeft   int64
	entriesLeft int64
	byKey       map[string]int
	pkgs        []finding.Package
	buf         []byte // for counting central directory records
}

// parseJava reads a Java archive in memory.
func parseJava(p string, data []byte) ([]finding.Package, error) {
	w := &javaWalk{bytesLeft: javaMaxBytes, entriesLeft: javaMaxEntries, byKey: map[string]int{}}
	if err := w.archive(bytes.NewReader(data), int64(len(data)), path.Base(p), 0); err != nil {
		return nil, err
	}
	slices.SortFunc(w.pkgs, func(a, b finding.Package) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version))
	})
	return w.pkgs, nil
}

// javaID is a Maven artifact as an archive names it.
type javaID struct {
	group, artifact, version string
	licenses                 []string
	// inferred is set when the name comes from the manifest or file
	// name: the groupId is a guess, and hints are the archive's own
	// names that could be its groupId's start.
	inferred bool
	hints    []string
}

func (w *javaWalk) add(id javaID) {
	key := id.group + ":" + id.artifact + "@" + id.version
	if i, ok := w.byKey[key]; ok {
		if len(w.pkgs[i].Licenses) == 0 {
			w.pkgs[i].Licenses = id.licenses
		}
		return
	}
	w.byKey[key] = len(w.pkgs)
	p := finding.Package{Type: "maven", Name: id.group + ":" + id.artifact, Version: id.version, Licenses: id.licenses}
	if id.inferred {
		p.Inferred, p.Hints = []string{"groupId"}, id.hints
	}
	w.pkgs = append(w.pkgs, p)
}

// archive reads one zip archive named name (its base name) at the given
// nesting depth.
func (w *javaWalk) archive(ra io.ReaderAt, size int64, name string, depth int) error {
	n, err := w.countRecords(ra, size)
	if err != nil {
		return err
	}
	if n > w.entriesLeft {
		return errJavaEntries
	}
	w.entriesLeft -= n
	zr, err := zip.NewReader(ra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fmt.Errorf("%s: %w", name, err)
	}

	var manifest *zip.File
	type pom struct{ props, xml *zip.File }
	poms := map[string]*pom{} // by directory
	var nested []*zip.File
	var classPkgs []string
	seen := map[string]bool{}
	for _, f := range zr.File {
		if !javaLocalName(f.Name) || strings.HasSuffix(f.Name, "/") {
			continue
		}
		dir, base := path.Split(f.Name)
		inMaven := strings.HasPrefix(dir, "META-INF/maven/") || strings.Contains(dir, "/META-INF/maven/")
		key := f.Name
		switch {
		case strings.HasSuffix(base, ".class"):
			if p := javaClassPackage(dir); p != "" && len(classPkgs) < javaMaxHints && !slices.Contains(classPkgs, p) {
				classPkgs = append(classPkgs, p)
			}
			continue
		case strings.EqualFold(f.Name, "META-INF/MANIFEST.MF"):
			key = "META-INF/MANIFEST.MF" // Java finds it in any case
			manifest = f
		case inMaven && base == "pom.properties":
			if poms[dir] == nil {
				poms[dir] = &pom{}
			}
			poms[dir].props = f
		case inMaven && base == "pom.xml":
			if poms[dir] == nil {
				poms[dir] = &pom{}
			}
			poms[dir].xml = f
		case isJavaArchive(base) && depth < javaMaxDepth:
			nested = append(nested, f)
		default:
			continue
		}
		if seen[key] {
			return fmt.Errorf("%s: %w %q", name, errJavaDuplicate, f.Name)
		}
		seen[key] = true
	}

	var attrs map[string]string
	if manifest != nil {
		data, err := w.read(manifest, size, javaMaxManifest, true)
		if errors.Is(err, errJavaBudget) {
			return err
		}
		attrs = parseManifest(data) // a manifest that does not inflate says nothing
	}
	fileArtifact, fileVersion := javaFileName(name)

	var found []javaID
	dirs := make([]string, 0, len(poms))
	for dir, p := range poms {
		if p.props != nil {
			dirs = append(dirs, dir)
		}
	}
	slices.Sort(dirs)
	for _, dir := range dirs {
		p := poms[dir]
		data, err := w.read(p.props, size, javaMaxPomProps, false)
		if err != nil {
			if errors.Is(err, errJavaBudget) {
				return err
			}
			continue
		}
		id, ok := parsePomProperties(data)
		if !ok {
			continue
		}
		if p.xml != nil {
			data, err := w.read(p.xml, size, javaMaxPomXML, false)
			if errors.Is(err, errJavaBudget) {
				return err
			}
			if err == nil {
				id.licenses = pomLicenses(data)
			}
		}
		found = append(found, id)
	}

	// Which pom.properties, if any, is the archive itself.
	var mid javaID
	haveMID := false
	if manifest != nil {
		mid, haveMID = manifestID(attrs, fileArtifact, fileVersion)
	}
	own := javaOwnPom(found, fileArtifact, mid, attrs["implementation-title"])
	manifestLicenses := javaManifestLicenses(attrs)
	if own >= 0 {
		if manifestLicenses != nil {
			found[own].licenses = manifestLicenses // as syft prefers them
		}
	} else if haveMID {
		mid.licenses = manifestLicenses
		mid.inferred = true
		mid.hints = javaHints(attrs, classPkgs)
		found = append(found, mid)
	}
	for _, id := range found {
		w.add(id)
	}

	for _, f := range nested {
		sub, n, err := w.open(f, ra, size)
		if err != nil {
			if errors.Is(err, errJavaBudget) {
				return err
			}
			continue
		}
		if err := w.archive(sub, n, path.Base(f.Name), depth+1); err != nil {
			if errors.Is(err, errJavaBudget) || errors.Is(err, errJavaEntries) {
				return err
			}
			// Not a zip, or a broken or hostile one: skipped, as syft
			// skips what it cannot unzip; the rest of the file stands.
			continue
		}
	}
	return nil
}

// javaOwnPom returns the index of the pom.properties that is the archive
// itself, or -1: the one whose artifactId is the archive's (from its file
// name or manifest), else, as syft matches, one that starts with the file
// name's or ends it, else the Implementation-Title, else the only one with
// the archive's version ("maven3-core.jar" is Debian's name for
// maven-core).
func javaOwnPom(found []javaID, fileArtifact string, mid javaID, title string) int {
	match := func(f func(javaID) bool) int { return slices.IndexFunc(found, f) }
	if i := match(func(id javaID) bool { return id.artifact == fileArtifact || id.artifact == mid.artifact }); i >= 0 {
		return i
	}
	if fileArtifact != "" {
		if i := match(func(id javaID) bool {
			return strings.HasPrefix(id.artifact, fileArtifact) || strings.HasSuffix(fileArtifact, id.artifact)
		}); i >= 0 {
			return i
		}
	}
	if i := match(func(id javaID) bool { return id.artifact == title }); i >= 0 {
		return i
	}
	own := -1
	for i, id := range found {
		if id.version == mid.version {
			if own >= 0 {
				return -1
			}
			own = i
		}
	}
	return own
}

// javaLocalName reports whether an entry name is a clean relative path:
// no leading slash, no backslash, no "." or ".." or empty element (a
// trailing slash aside), no NUL.
func javaLocalName(n string) bool {
	if n == "" || n[0] == '/' || strings.ContainsAny(n, "\\\x00") {
		return false
	}
	for _, el := range strings.Split(strings.TrimSuffix(n, "/"), "/") {
		if el == "" || el == "." || el == ".." {
			return false
		}
	}
	return true
}

// countRecords counts the central directory header signatures in an
// archive, an upper bound on the records archive/zip will read and
// allocate (it reads until a record does not parse).
func (w *javaWalk) countRecords(ra io.ReaderAt, size int64) (int64, error) {
	sig := []byte("PK\x01\x02")
	if w.buf == nil {
		w.buf = make([]byte, 64<<10)
	}
	var n int64
	carry := 0 // the last bytes of the previous chunk, too few to hold a signature
	for off := int64(0); off < size; {
		k, err := ra.ReadAt(w.buf[carry:carry+int(min(int64(len(w.buf)-carry), size-off))], off)
		if k == 0 {
			return 0, cmp.Or(err, io.ErrUnexpectedEOF)
		}
		chunk := w.buf[:carry+k]
		n += int64(bytes.Count(chunk, sig))
		off += int64(k)
		carry = min(len(sig)-1, len(chunk))
		copy(w.buf, chunk[len(chunk)-carry:])
	}
	return n, nil
}

// read returns the content of an entry, counted against the file's
// budget: at most limit bytes, the first limit bytes when head is set,
// else errJavaEntryTooLarge for a larger entry.
func (w *javaWalk) read(f *zip.File, archiveSize, limit int64, head bool) ([]byte, error) {
	want := f.UncompressedSize64
	if want > uint64(limit) {
		if !head {
			return nil, errJavaEntryTooLarge
		}
		want = uint64(limit)
	}
	if want > uint64(w.bytesLeft) {
		return nil, errJavaBudget
	}
	if err := javaPlausible(f, archiveSize); err != nil {
		return nil, err
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data := make([]byte, want)
	w.bytesLeft -= int64(want)
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return data, nil
}

// javaPlausible rejects an entry whose declared sizes no compressor
// produces, or which the archive (of size archiveSize) cannot hold: a
// bomb, or a lie.
func javaPlausible(f *zip.File, archiveSize int64) error {
	if f.CompressedSize64 > uint64(archiveSize) {
		return fmt.Errorf("%s: %d bytes in an archive of %d", f.Name, f.CompressedSize64, archiveSize)
	}
	switch f.Method {
	case zip.Store:
		if f.CompressedSize64 != f.UncompressedSize64 {
			return fmt.Errorf("%s: stored with %d bytes for %d", f.Name, f.CompressedSize64, f.UncompressedSize64)
		}
	case zip.Deflate:
		if f.UncompressedSize64 > 0 && f.UncompressedSize64/max(f.CompressedSize64, 1) > javaMaxDeflation {
			return fmt.Errorf("%s: deflated %d bytes to %d", f.Name, f.UncompressedSize64, f.CompressedSize64)
		}
	}
	return nil
}

// open returns a nested archive: a view of the parent's bytes when it is
// stored (as Spring Boot stores BOOT-INF/lib), else its content inflated
// into memory. Either way its size counts against the budget.
func (w *javaWalk) open(f *zip.File, parent io.ReaderAt, parentSize int64) (io.ReaderAt, int64, error) {
	if f.UncompressedSize64 > uint64(w.bytesLeft) {
		return nil, 0, errJavaBudget
	}
	if err := javaPlausible(f, parentSize); err != nil {
		return nil, 0, err
	}
	n := int64(f.UncompressedSize64)
	if f.Method == zip.Store {
		off, err := f.DataOffset()
		if err != nil {
			return nil, 0, err
		}
		if off < 0 || off > parentSize || n > parentSize-off {
			return nil, 0, fmt.Errorf("%s: data outside the archive", f.Name)
		}
		w.bytesLeft -= n
		return io.NewSectionReader(parent, off, n), n, nil
	}
	data, err := w.read(f, parentSize, n, false)
	if err != nil {
		return nil, 0, err
	}
	return bytes.NewReader(data), int64(len(data)), nil
}

// parseManifest returns the main section of a MANIFEST.MF: attribute
// names in lower case (they are case-insensitive), the first of a
// repeated one, continuation lines joined.
func parseManifest(data []byte) map[string]string {
	attrs := map[string]string{}
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	last := ""
	for line := range strings.SplitSeq(s, "\n") {
		if line == "" {
			break // the end of the main section
		}
		if line[0] == ' ' {
			if last != "" {
				attrs[last] += line[1:]
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		k = strings.ToLower(strings.TrimSpace(k))
		if _, dup := attrs[k]; !ok || k == "" || dup {
			last = ""
			continue
		}
		attrs[k] = strings.TrimLeft(v, " ")
		last = k
	}
	for k, v := range attrs {
		attrs[k] = strings.TrimSpace(v)
	}
	return attrs
}

// parsePomProperties reads the groupId, artifactId and version Maven
// writes (Java properties: "key=value" or "key:value", "#" and "!"
// comments).
func parsePomProperties(data []byte) (javaID, bool) {
	var id javaID
	for line := range strings.SplitSeq(strings.ReplaceAll(string(data), "\r", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			continue
		}
		k, v := strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:])
		switch k {
		case "groupId":
			id.group = v
		case "artifactId":
			id.artifact = v
		case "version":
			id.version = v
		}
	}
	return id, validMavenID(id.group) && validMavenID(id.artifact) && validJavaVersion(id.version)
}

// pomLicenses returns the names (else URLs) of a pom.xml's licences.
func pomLicenses(data []byte) []string {
	var project struct {
		Licenses []struct {
			Name string `xml:"name"`
			URL  string `xml:"url"`
		} `xml:"licenses>license"`
	}
	if xml.Unmarshal(data, &project) != nil {
		return nil
	}
	var out []string
	for _, l := range project.Licenses {
		if v := strings.Join(strings.Fields(cmp.Or(l.Name, l.URL)), " "); v != "" && len(v) <= javaMaxLicense && !strings.Contains(v, "${") {
			out = append(out, v)
		}
	}
	return out
}

func javaManifestLicenses(attrs map[string]string) []string {
	for _, k := range []string{"bundle-license", "plugin-license-name"} {
		if v := attrs[k]; v != "" && len(v) <= javaMaxLicense {
			return []string{v}
		}
	}
	return nil
}

// manifestID names an archive from its manifest and file name (see the
// comment at the top).
func manifestID(attrs map[string]string, fileArtifact, fileVersion string) (javaID, bool) {
	if _, ok := attrs["weave-classes"]; ok {
		return javaID{}, false
	}
	// A manifest name must look like an artifactId: lower case, no
	// space ("Apache Tomcat" and "Jython" are display names).
	var id javaID
	var fromManifest string
	for _, k := range []string{"implementation-title", "bundle-name", "short-name", "extension-name"} {
		if n := attrs[k]; validMavenID(n) && strings.ToLower(n) == n {
			fromManifest = n
			break
		}
	}
	id.artifact = cmp.Or(fileArtifact, fromManifest)
	if fileVersion == "" && fromManifest != "" {
		// A file name without a version is a local name (Debian's
		// /usr/share/java, Tomcat's lib/catalina.jar, app.jar): the
		// manifest's is better.
		id.artifact = fromManifest
	}
	for _, v := range []string{attrs["implementation-version"], attrs["plugin-version"], fileVersion, attrs["bundle-version"], attrs["specification-version"]} {
		if validJavaVersion(v) {
			id.version = v
			break
		}
	}
	if id.artifact == "" || id.version == "" {
		return javaID{}, false
	}
	id.group = javaGroup(id.artifact, id.version, attrs)
	return id, true
}

// javaGroup is the groupId of an archive without pom.properties.
func javaGroup(artifact, version string, attrs map[string]string) string {
	if g := knownJavaGroup(artifact, version); g != "" {
		return g
	}
	for _, k := range []string{"group-id", "implementation-vendor-id"} {
		if validMavenID(attrs[k]) {
			return attrs[k]
		}
	}
	for _, n := range []string{osgiName(attrs["bundle-symbolicname"]), osgiName(attrs["automatic-module-name"])} {
		if g := bundleGroup(n, artifact); g != "" {
			return g
		}
		if validMavenID(n) && javaDomain(n) {
			return n
		}
	}
	return artifact
}

// javaMaxHints bounds the class packages an archive's hints keep.
const javaMaxHints = 16

// javaClassPackage is the Java package of a class in directory dir of an
// archive, cut to its first four names (a groupId's usual depth), or ""
// for the default package and classes of nested metadata.
func javaClassPackage(dir string) string {
	for _, root := range []string{"BOOT-INF/classes/", "WEB-INF/classes/"} {
		dir = strings.TrimPrefix(dir, root)
	}
	if dir == "" || strings.HasPrefix(dir, "META-INF/") {
		return ""
	}
	parts := strings.Split(strings.TrimSuffix(dir, "/"), "/")
	if len(parts) > 4 {
		parts = parts[:4]
	}
	n := strings.Join(parts, ".")
	if !validMavenID(n) {
		return ""
	}
	return n
}

// javaHints are the dotted names an archive without pom.properties
// gives for its groupId's start: its manifest's Group-Id,
// Implementation-Vendor-Id, Bundle-SymbolicName, Automatic-Module-Name
// and Main-Class package, and the packages of its classes.
func javaHints(attrs map[string]string, classPkgs []string) []string {
	var out []string
	mainPkg := attrs["main-class"]
	if i := strings.LastIndexByte(mainPkg, '.'); i > 0 {
		mainPkg = mainPkg[:i]
	} else {
		mainPkg = ""
	}
	for _, n := range append([]string{attrs["group-id"], attrs["implementation-vendor-id"], osgiName(attrs["bundle-symbolicname"]), osgiName(attrs["automatic-module-name"]), mainPkg}, classPkgs...) {
		if validMavenID(n) && strings.Contains(n, ".") && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// javaDomain reports whether a dotted name starts with one of the
// top-level domains syft takes for a groupId's start.
func javaDomain(n string) bool {
	for _, d := range []string{"com.", "org.", "net.", "io.", "be."} {
		if strings.HasPrefix(n, d) {
			return true
		}
	}
	return false
}

// osgiName strips the directives of a Bundle-SymbolicName
// ("org.foo;singleton:=true").
func osgiName(v string) string {
	n, _, _ := strings.Cut(v, ";")
	return strings.TrimSpace(n)
}

// bundleGroup reads a Maven Bundle Plugin symbolic name backwards: the
// plugin makes it the groupId when the artifactId is the groupId's last
// part, the groupId with the artifactId's remainder when the artifactId
// starts with that part and a dash, else groupId.artifactId. The group
// found must be dotted (reversed-domain).
func bundleGroup(sym, artifact string) string {
	if !validMavenID(sym) || !strings.Contains(sym, ".") {
		return ""
	}
	prefix, last := sym[:strings.LastIndexByte(sym, '.')], sym[strings.LastIndexByte(sym, '.')+1:]
	switch {
	case last == artifact && !strings.Contains(artifact, "-"):
		// com.google.guava for guava; org.yaml.snakeyaml, which is
		// groupId.artifactId, reads the same and comes out wrong.
		return sym
	case strings.HasSuffix(sym, "."+artifact):
		if g := strings.TrimSuffix(sym, "."+artifact); strings.Contains(g, ".") {
			return g
		}
		return ""
	}
	prev := prefix[strings.LastIndexByte(prefix, '.')+1:]
	if artifact == prev+"-"+last && strings.Contains(prefix, ".") {
		return prefix
	}
	return ""
}

// javaFileNameRE splits an archive's base name (without extension) into
// a name and a version: the version starts at the first dash-separated
// part that starts with a digit, "build" and a digit, or "r"/"rc" and a
// digit. It is syft's pattern (anchore/syft, Apache-2.0), so that both
// name the same file alike.
var javaFileNameRE = sync.OnceValues(func() (*regexp.Regexp, *regexp.Regexp) {
	return regexp.MustCompile(`(?Ui)^(?P<name>(?:[[:alpha:]][[:word:].]*(?:\.[[:alpha:]][[:word:].]*)*-?)+)(?:-(?P<version>(\d.*|(build\d+.*)|(rc?\d+(?:^[[:alpha:]].*)?))))?$`),
		regexp.MustCompile(`(?:[._-](?P<version>(\d.*|(build\d+.*)|(rc?\d+(?:^[[:alpha:]].*)?))))?$`)
})

// javaFileName returns the artifactId and version an archive's file name
// suggests: "commons-jelly-1.1-hudson-20100305.jar" is commons-jelly
// 1.1-hudson-20100305, "guava.jar" guava with no version, and a dotted
// name of Java identifiers ("org.foo.bar.jar") its last part, as in syft
// (Eclipse's "org.eclipse.*" names are kept whole).
func javaFileName(base string) (artifact, version string) {
	base = strings.TrimSuffix(base, path.Ext(base))
	re, re2 := javaFileNameRE()
	m := re.FindStringSubmatch(base)
	if m == nil {
		return "", ""
	}
	name, version := m[re.SubexpIndex("name")], m[re.SubexpIndex("version")]
	if version == "" {
		if m := re2.FindStringSubmatch(name); m != nil {
			if v := m[re2.SubexpIndex("version")]; v != "" {
				name, version = name[:len(name)-len(v)-1], v
			}
		}
	}
	if strings.Contains(name, ".") && !strings.HasPrefix(name, "org.eclipse.") {
		fields := strings.Split(name, ".")
		identifiers := true
		for _, f := range fields {
			if f == "" || !isJavaIdentStart(f[0]) {
				identifiers = false
			}
		}
		if identifiers {
			name = fields[len(fields)-1]
		}
	}
	return name, version
}

// isJavaIdentStart is syft's test, for the ASCII the file name pattern
// lets through: a letter, "_" or "$".
func isJavaIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '$'
}

// validMavenID reports whether s can be a groupId or artifactId: Maven's
// own pattern, [A-Za-z0-9_.-]+.
func validMavenID(s string) bool {
	if s == "" || len(s) > javaMaxID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// validJavaVersion reports whether v can be a version: printable, no
// space, not an unexpanded "${property}".
func validJavaVersion(v string) bool {
	if v == "" || len(v) > javaMaxVersion || strings.Contains(v, "${") {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] == 0x7f {
			return false
		}
	}
	return true
}

// javaKnownGroups are the groupIds of artifact families published
// without pom.properties in their jars (built with Gradle or Ant), by
// artifactId prefix, the more specific first. Abridged from syft's
// table of about 1,900 artifactIds (syft 1.57, cpegenerate's
// java_groupid_map.go): of the 1,378 artifactIds there it covers, it
// groups 6 otherwise (spring-erlang, spring-velocity-support and such);
// Eclipse, Geode, Tapestry, Ratpack and a few more are left out.
var javaKnownGroups = []struct{ prefix, group string }{
	{"spring-boot", "org.springframework.boot"},
	{"spring-cloud-", "org.springframework.cloud"},
	{"spring-data-", "org.springframework.data"},
	{"spring-security-kerberos", "org.springframework.security.kerberos"},
	{"spring-security-oauth2-autoconfigure", "org.springframework.security.oauth.boot"},
	{"spring-security-oauth2-", "org.springframework.security"},
	{"spring-security-oauth", "org.springframework.security.oauth"},
	{"spring-security", "org.springframework.security"},
	{"spring-integration", "org.springframework.integration"},
	{"spring-batch", "org.springframework.batch"},
	{"spring-session", "org.springframework.session"},
	{"spring-amqp", "org.springframework.amqp"},
	{"spring-rabbit", "org.springframework.amqp"},
	{"spring-ldap", "org.springframework.ldap"},
	{"spring-webflow", "org.springframework.webflow"},
	{"spring-ws", "org.springframework.ws"},
	{"spring-xml", "org.springframework.ws"},
	{"spring-kafka", "org.springframework.kafka"},
	{"spring-vault-", "org.springframework.vault"},
	{"spring-hateoas", "org.springframework.hateoas"},
	{"spring-graphql", "org.springframework.graphql"},
	{"spring-yarn", "org.springframework.data"},
	{"spring-cql", "org.springframework.data"},
	{"spring-binding", "org.springframework.webflow"},
	{"spring-faces", "org.springframework.webflow"},
	{"spring-js", "org.springframework.webflow"},
	{"spring-social", "org.springframework.social"},
	{"spring-credhub", "org.springframework.credhub"},
	{"spring-flex", "org.springframework.flex"},
	{"spring-analytics", "org.springframework.analytics"},
	{"spring-", "org.springframework"},
	{"tomcat-embed-", "org.apache.tomcat.embed"},
	{"tomcat-", "org.apache.tomcat"},
	{"bcprov-", "org.bouncycastle"},
	{"bcpkix-", "org.bouncycastle"},
	{"bcpg-", "org.bouncycastle"},
	{"bcmail-", "org.bouncycastle"},
	{"bcjmail-", "org.bouncycastle"},
	{"bcutil-", "org.bouncycastle"},
	{"bctls-", "org.bouncycastle"},
	{"bctsp-", "org.bouncycastle"},
	{"bc-fips", "org.bouncycastle"},
	{"kafka-", "org.apache.kafka"},
	{"kafka_", "org.apache.kafka"},
	{"elasticsearch-rest-", "org.elasticsearch.client"},
	{"elasticsearch", "org.elasticsearch"},
	{"reactor-netty", "io.projectreactor.netty"},
	{"ant-", "org.apache.ant"},
	{"derby", "org.apache.derby"},
	{"jackson-core-asl", "org.codehaus.jackson"},
	{"jackson-mapper-asl", "org.codehaus.jackson"},
}

// knownJavaGroup looks an artifactId up in javaKnownGroups, and in the
// exact names: Groovy moved from org.codehaus.groovy to org.apache.groovy
// at 4.0.
func knownJavaGroup(artifact, version string) string {
	switch artifact {
	case "spring":
		return "org.springframework"
	case "ant":
		return "org.apache.ant"
	case "tomcat":
		return "org.apache.tomcat"
	case "okhttp":
		return "com.squareup.okhttp3"
	case "okio":
		return "com.squareup.okio"
	case "velocity", "velocity-engine-core":
		return "org.apache.velocity"
	}
	if artifact == "groovy" || strings.HasPrefix(artifact, "groovy-") {
		major, _, _ := strings.Cut(version, ".")
		major, _, _ = strings.Cut(major, "-")
		if n, _ := strconv.Atoi(major); n >= 4 {
			return "org.apache.groovy"
		}
		return "org.codehaus.groovy"
	}
	for _, k := range javaKnownGroups {
		if strings.HasPrefix(artifact, k.prefix) {
			return k.group
		}
	}
	return ""
}
