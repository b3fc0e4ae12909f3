package inventory

import (
	"archive/tar"
	"bufio"
	"io"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/hull-sec/hull/internal/finding"
)

// Ruby gems: the gemspec RubyGems writes for every installed gem
// (.../specifications/NAME-VERSION.gemspec, also under Debian's
// rubygems-integration), and Bundler's Gemfile.lock.
func matchRuby(p string, _ *tar.Header) bool {
	dir, base := path.Split(p)
	return (strings.HasSuffix(dir, "/specifications/") && strings.HasSuffix(base, ".gemspec")) || base == "Gemfile.lock"
}

// gemspecRE reads the assignments RubyGems writes in an installed
// gemspec: `s.name = "rake".freeze`, `s.version = "13.0.6"`,
// `s.licenses = ["MIT".freeze]`. The file is Ruby; hull never runs it.
var gemspecRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\s*\w+\.(name|version|licenses?)\s*=\s*\[?\s*["']([^"']+)["']`)
})

func parseRuby(p string, r io.Reader) ([]finding.Package, error) {
	if path.Base(p) == "Gemfile.lock" {
		return parseGemfileLock(r)
	}
	var pkg finding.Package
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := gemspecRE().FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		switch m[1] {
		case "name":
			if pkg.Name == "" {
				pkg.Name = m[2]
			}
		case "version":
			if pkg.Version == "" {
				pkg.Version = m[2]
			}
		default:
			if len(pkg.Licenses) == 0 {
				pkg.Licenses = []string{m[2]}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if pkg.Name == "" || pkg.Version == "" {
		return nil, nil
	}
	pkg.Type = "gem"
	return []finding.Package{pkg}, nil
}

// parseGemfileLock reads the gems Bundler resolved: in the GEM section's
// specs, "    name (version)" at four spaces (six are their dependencies).
func parseGemfileLock(r io.Reader) ([]finding.Package, error) {
	var out []finding.Package
	section, specs := "", false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			section, specs = "", false
		case !strings.HasPrefix(line, " "):
			section, specs = line, false
		case line == "  specs:":
			specs = section == "GEM"
		case specs && strings.HasPrefix(line, "    ") && !strings.HasPrefix(line, "     "):
			name, ver, ok := strings.Cut(strings.TrimSpace(line), " (")
			ver = strings.TrimSuffix(ver, ")")
			// A platform-specific gem: "nokogiri (1.15.4-x86_64-linux)".
			if ok && name != "" && ver != "" {
				out = append(out, finding.Package{Name: name, Version: ver, Type: "gem"})
			}
		}
	}
	return out, sc.Err()
}
