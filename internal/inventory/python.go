package inventory

import (
	"archive/tar"
	"bufio"
	"io"
	"path"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
)

// Python distributions: the METADATA of a wheel install (NAME.dist-info),
// the PKG-INFO of an egg-info directory, or an egg-info file.
func matchPython(p string, _ *tar.Header) bool {
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	switch {
	case base == "METADATA":
		return strings.HasSuffix(dir, ".dist-info")
	case base == "PKG-INFO":
		return strings.HasSuffix(dir, ".egg-info")
	}
	return strings.HasSuffix(base, ".egg-info")
}

// parsePython reads the core metadata headers (email-header style, up to
// the first blank line).
func parsePython(_ string, r io.Reader) ([]finding.Package, error) {
	var p finding.Package
	var license, expr string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "name":
			p.Name = v
		case "version":
			p.Version = v
		case "license":
			license = v
		case "license-expression":
			expr = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if p.Name == "" || p.Version == "" {
		return nil, nil
	}
	p.Type = "pypi"
	if expr != "" {
		p.Licenses = []string{expr}
	} else if license != "" && license != "UNKNOWN" && len(license) < 100 {
		p.Licenses = []string{license}
	}
	return []finding.Package{p}, nil
}
