package inventory

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
)

// npm packages are read from every package.json that names a package and
// a version (installed packages under node_modules, and applications),
// and from package-lock.json files (lockfile versions 1 to 3), whose
// development dependencies are left out: they are not installed in
// production images.
func matchNpm(p string, _ *tar.Header) bool {
	switch path.Base(p) {
	case "package.json":
		return installedNpm(p)
	case "package-lock.json":
		return !strings.Contains(p, "/node_modules/")
	}
	return false
}

// installedNpm reports whether the package.json at p describes a package
// npm installed (node_modules/NAME/package.json or
// node_modules/@SCOPE/NAME/package.json) or an application outside any
// node_modules. Others inside a package (its test fixtures, often
// deliberately malformed; "type" markers in dist/cjs) describe nothing
// installed.
func installedNpm(p string) bool {
	i := strings.LastIndex(p, "/node_modules/")
	if i < 0 {
		return true
	}
	rest := strings.TrimSuffix(p[i+len("/node_modules/"):], "/package.json")
	if strings.HasPrefix(rest, "@") {
		_, rest, _ = strings.Cut(rest, "/")
	}
	return rest != "" && !strings.Contains(rest, "/")
}

func parseNpm(p string, r io.Reader) ([]finding.Package, error) {
	if path.Base(p) == "package-lock.json" {
		return parseNpmLock(r)
	}
	var m struct {
		Name    string          `json:"name"`
		Version string          `json:"version"`
		License json.RawMessage `json:"license"`
	}
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		// package.json files in test fixtures and templates are often not
		// JSON; only a node_modules package that does not parse is news.
		if strings.Contains(p, "/node_modules/") {
			return nil, fmt.Errorf("package.json: %v", err)
		}
		return nil, nil
	}
	if m.Name == "" || m.Version == "" {
		return nil, nil
	}
	pkg := finding.Package{Name: m.Name, Version: m.Version, Type: "npm"}
	var lic string
	if json.Unmarshal(m.License, &lic) == nil && lic != "" {
		pkg.Licenses = []string{lic}
	}
	return []finding.Package{pkg}, nil
}

// npmLockDep is a lockfile v1 dependency, with its own nested ones.
type npmLockDep struct {
	Version      string                `json:"version"`
	Dev          bool                  `json:"dev"`
	Dependencies map[string]npmLockDep `json:"dependencies"`
}

// npmLockPackage is a lockfile v2/v3 "packages" entry, keyed by its path.
type npmLockPackage struct {
	Version string `json:"version"`
	Dev     bool   `json:"dev"`
	Link    bool   `json:"link"`
	Name    string `json:"name"`
}

func parseNpmLock(r io.Reader) ([]finding.Package, error) {
	var lock struct {
		LockfileVersion int                       `json:"lockfileVersion"`
		Packages        map[string]npmLockPackage `json:"packages"`
		Dependencies    json.RawMessage           `json:"dependencies"`
	}
	if err := json.NewDecoder(r).Decode(&lock); err != nil {
		return nil, fmt.Errorf("package-lock.json: %v", err)
	}
	var out []finding.Package
	add := func(name, version string) {
		if name != "" && version != "" && !strings.HasPrefix(version, "file:") && !strings.Contains(version, "://") {
			out = append(out, finding.Package{Name: name, Version: version, Type: "npm"})
		}
	}
	if lock.LockfileVersion >= 2 && lock.Packages != nil {
		for key, d := range lock.Packages {
			if key == "" || d.Dev || d.Link {
				continue
			}
			name := d.Name
			if i := strings.LastIndex(key, "node_modules/"); i >= 0 && name == "" {
				name = key[i+len("node_modules/"):]
			}
			add(name, d.Version)
		}
		return out, nil
	}
	var deps map[string]npmLockDep
	if len(lock.Dependencies) > 0 {
		if err := json.Unmarshal(lock.Dependencies, &deps); err != nil {
			return nil, fmt.Errorf("package-lock.json: %v", err)
		}
	}
	var walk func(map[string]npmLockDep, int) error
	walk = func(deps map[string]npmLockDep, depth int) error {
		if depth > 256 {
			return fmt.Errorf("package-lock.json: dependencies nested more than 256 deep")
		}
		for name, d := range deps {
			if d.Dev {
				continue
			}
			add(name, d.Version)
			if err := walk(d.Dependencies, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(deps, 0)
}
