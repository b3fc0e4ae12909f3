// Command recall compares the packages syft and hull list for one image:
// every syft package hull also lists (recall), the ones it misses, and the
// ones only hull lists.
//
//	go run ./bench/recall SYFT.json HULL.json
//
// SYFT.json is `syft scan IMAGE -o json`, HULL.json `hull sbom IMAGE -f json`.
// A package is its type, name and version after each tool's spelling is
// made one: syft's python, go-module and java-archive are pypi, golang and
// maven; Python names are compared as PEP 503 normalizes them; Go's
// stdlib version without "go", a main module's unknown version as
// "(devel)". A syft "binary" package found by its classifiers in a file
// another package owns counts as found when hull lists that package.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/hull-sec/hull/internal/vercmp"
)

type pkg struct{ typ, name, version string }

func (p pkg) String() string { return p.typ + " " + p.name + " " + p.version }

func norm(typ, name, version string) pkg {
	switch typ {
	case "python":
		typ = "pypi"
	case "go-module":
		typ = "golang"
	case "java-archive":
		typ = "maven"
	}
	if typ == "pypi" {
		name = vercmp.NormalizeName("PyPI", name)
	}
	if typ == "golang" && name == "stdlib" {
		version = strings.TrimPrefix(version, "go")
	}
	if typ == "golang" && version == "UNKNOWN" {
		version = "(devel)" // a main module built from a checkout
	}
	return pkg{typ, name, version}
}

// coveredBinary reports whether a syft "binary" package (found by its
// classifiers in an executable, such as /usr/bin/curl) is a package hull
// lists under its own type: same name, and the binary's version a prefix
// of the package's (curl 7.88.1 in deb curl 7.88.1-10+deb12u15).
func coveredBinary(p pkg, hull []pkg) bool {
	return p.typ == "binary" && slices.ContainsFunc(hull, func(h pkg) bool {
		return h.name == p.name && strings.HasPrefix(h.version, p.version)
	})
}

func load(path string, into func([]byte) ([]pkg, error)) []pkg {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "recall:", err)
		os.Exit(2)
	}
	ps, err := into(data)
	if err != nil {
		fmt.Fprintln(os.Stderr, "recall:", path+":", err)
		os.Exit(2)
	}
	slices.SortFunc(ps, func(a, b pkg) int { return strings.Compare(a.String(), b.String()) })
	return slices.Compact(ps)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: recall SYFT.json HULL.json")
		os.Exit(2)
	}
	syft := load(os.Args[1], func(b []byte) ([]pkg, error) {
		var doc struct {
			Artifacts []struct{ Name, Version, Type string }
		}
		err := json.Unmarshal(b, &doc)
		var out []pkg
		for _, a := range doc.Artifacts {
			out = append(out, norm(a.Type, a.Name, a.Version))
		}
		return out, err
	})
	hull := load(os.Args[2], func(b []byte) ([]pkg, error) {
		var doc struct {
			Packages []struct{ Name, Version, Type string }
		}
		err := json.Unmarshal(b, &doc)
		var out []pkg
		for _, p := range doc.Packages {
			out = append(out, norm(p.Type, p.Name, p.Version))
		}
		return out, err
	})
	var missed, extra []pkg
	var covered []pkg
	for _, p := range syft {
		switch {
		case slices.Contains(hull, p):
		case coveredBinary(p, hull):
			covered = append(covered, p)
		default:
			missed = append(missed, p)
		}
	}
	for _, p := range hull {
		if !slices.Contains(syft, p) {
			extra = append(extra, p)
		}
	}
	found := len(syft) - len(missed)
	fmt.Printf("syft lists %d packages, hull %d; hull lists %d of syft's (recall %.1f%%)\n",
		len(syft), len(hull), found, 100*float64(found)/float64(max(1, len(syft))))
	for _, p := range covered {
		fmt.Println("  syft's binary classifier, the same software as a package hull lists:", p)
	}
	for _, p := range missed {
		fmt.Println("  only syft:", p)
	}
	for _, p := range extra {
		fmt.Println("  only hull:", p)
	}
	if len(missed) > 0 {
		os.Exit(1)
	}
}
