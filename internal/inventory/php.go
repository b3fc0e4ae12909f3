package inventory

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"path"

	"github.com/hull-sec/hull/internal/finding"
)

// PHP packages: what Composer installed (vendor/composer/installed.json,
// a list in Composer 1, {"packages": [...]} in Composer 2) and what a
// composer.lock pins (its packages, not packages-dev).
func matchPHP(p string, _ *tar.Header) bool {
	return path.Base(p) == "composer.lock" || (path.Base(p) == "installed.json" && path.Base(path.Dir(p)) == "composer")
}

type composerPackage struct {
	Name    string          `json:"name"`
	Version string          `json:"version"`
	License json.RawMessage `json:"license"`
}

func parsePHP(p string, data []byte) ([]finding.Package, error) {
	var pkgs []composerPackage
	var err error
	if path.Base(p) == "installed.json" && len(data) > 0 && data[0] == '[' {
		err = json.Unmarshal(data, &pkgs)
	} else {
		var doc struct {
			Packages []composerPackage `json:"packages"`
		}
		err = json.Unmarshal(data, &doc)
		pkgs = doc.Packages
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path.Base(p), err)
	}
	var out []finding.Package
	for _, c := range pkgs {
		if c.Name == "" || c.Version == "" {
			continue
		}
		pkg := finding.Package{Name: c.Name, Version: c.Version, Type: "composer"}
		var lic []string
		if json.Unmarshal(c.License, &lic) == nil && len(lic) > 0 {
			pkg.Licenses = lic
		}
		out = append(out, pkg)
	}
	return out, nil
}
