package inventory

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// Every cataloger reads files an image's author chose: no input may
// panic, hang or produce a package without a name and version.
func fuzzCataloger(f *testing.F, name, path string, seeds ...string) {
	var c cataloger
	for _, x := range catalogers {
		if x.name == name {
			c = x
		}
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, err := c.parse(path, data)
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package without name or version: %+v from %q", p, data)
			}
		}
	})
}

func FuzzDpkgStatus(f *testing.F) {
	fuzzCataloger(f, "dpkg", "/var/lib/dpkg/status", dpkgStatus, "Package: a\nVersion: 1\n\n\n", " folded\n")
}

func FuzzApkInstalled(f *testing.F) {
	fuzzCataloger(f, "apk", "/lib/apk/db/installed", apkInstalled, "P:x\n", "PV\n")
}

func FuzzPackageJSON(f *testing.F) {
	fuzzCataloger(f, "npm", "/app/node_modules/x/package.json", `{"name":"x","version":"1.0.0","license":{"type":"MIT"}}`, `{"name":1}`)
}

func FuzzPackageLock(f *testing.F) {
	fuzzCataloger(f, "npm", "/app/package-lock.json",
		`{"lockfileVersion":3,"packages":{"node_modules/a":{"version":"1.0.0"}}}`,
		`{"lockfileVersion":1,"dependencies":{"a":{"version":"1","dependencies":{"b":{"version":"2"}}}}}`)
}

func FuzzPythonMetadata(f *testing.F) {
	fuzzCataloger(f, "python", "/usr/lib/python3/site-packages/a-1.dist-info/METADATA", "Name: a\nVersion: 1\nLicense-Expression: MIT\n")
}

// The Go reader gets ELF headers and build info blobs: seeds are a real
// binary's first bytes and a blob.
func FuzzGoBinary(f *testing.F) {
	if exe, err := os.Executable(); err == nil {
		if data, err := os.ReadFile(exe); err == nil && len(data) > 1<<16 {
			f.Add(data[:1<<16])
		}
	}
	blob := append([]byte(nil), goMagic...)
	blob = append(blob, 8, 2)
	blob = append(blob, make([]byte, 16)...)
	blob = append(blob, 8)
	blob = append(blob, "go1.22.0"...)
	mod := "path\tx\nmod\tx\t(devel)\t\ndep\ty\tv1.0.0\th1:x\n"
	blob = append(blob, byte(len(mod)))
	blob = append(blob, mod...)
	f.Add(blob)
	f.Fuzz(func(t *testing.T, data []byte) {
		if pkgs, err := parseGoBuildInfo(data); err == nil {
			for _, p := range pkgs {
				if p.Name == "" || strings.ContainsAny(p.Name, "\n\t") {
					t.Fatalf("bad package %+v", p)
				}
			}
		}
		_, _ = parseGoBinary("/bin/x", bytes.NewReader(data))
	})
}

func FuzzRuby(f *testing.F) {
	fuzzCataloger(f, "ruby", "/usr/lib/ruby/gems/3.1.0/specifications/a-1.gemspec", "s.name = \"a\"\ns.version = \"1\"\n")
}

func FuzzGemfileLock(f *testing.F) {
	fuzzCataloger(f, "ruby", "/app/Gemfile.lock", "GEM\n  specs:\n    a (1.0)\n      b (>= 1)\n")
}

func FuzzComposer(f *testing.F) {
	fuzzCataloger(f, "php", "/app/vendor/composer/installed.json", `{"packages":[{"name":"a/b","version":"1.0","license":["MIT"]}]}`, `[{"name":"a/b","version":"1"}]`)
}

// cargo-auditable data comes from ELF files an image's author chose.
func FuzzBinary(f *testing.F) {
	if data, err := os.ReadFile("/bin/true"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, err := parseBinary("/bin/x", data)
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package without name or version: %+v", p)
			}
		}
	})
}
