package finding

// Package is one piece of software found installed in an image.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Type is the package format: deb, apk, rpm, golang, npm, pypi, ...
	// (the PURL type).
	Type string `json:"type"`
	// PURL is the package URL (github.com/package-url/purl-spec).
	PURL string `json:"purl"`
	// Ecosystem is the OSV ecosystem vulnerabilities are matched in:
	// "Debian:12", "Alpine:v3.20", "npm", "Go", "PyPI".
	Ecosystem string `json:"ecosystem,omitempty"`
	// Source is the source package a binary package was built from
	// (Debian, Alpine origin), which OSV records name; "" if the same.
	Source        string   `json:"source,omitempty"`
	SourceVersion string   `json:"sourceVersion,omitempty"`
	Arch          string   `json:"arch,omitempty"`
	Licenses      []string `json:"licenses,omitempty"`
	// Inferred names the coordinates of Name that the package's own
	// metadata does not state but hull guessed: "groupId" for a Java
	// archive without pom.properties, named from its manifest or file
	// name. Matching then tries every plausible identity (see Hints).
	Inferred []string `json:"inferred,omitempty"`
	// Hints are names the package's own files suggest for what was
	// guessed: a Java archive's manifest names (Bundle-SymbolicName,
	// Automatic-Module-Name, Implementation-Vendor-Id...) and the Java
	// packages of its classes.
	Hints []string `json:"hints,omitempty"`
	// Locations are the files that say the package is installed, the
	// first being where it was found first in the merged filesystem.
	Locations []Location `json:"locations"`
}

// OS is the distribution an image is built on, from os-release.
type OS struct {
	ID         string `json:"id"`        // "debian", "alpine"
	VersionID  string `json:"versionId"` // "12", "3.20.3"
	Codename   string `json:"codename,omitempty"`
	PrettyName string `json:"prettyName,omitempty"`
}
