package inventory

import (
	"bytes"
	"compress/zlib"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	it "github.com/hull-sec/hull/internal/imagetest"
)

func TestRubyAndPHP(t *testing.T) {
	gemspec := `# -*- encoding: utf-8 -*-
# stub: rake 13.0.6 ruby lib

Gem::Specification.new do |s|
  s.name = "rake".freeze
  s.version = "13.0.6"
  s.licenses = ["MIT".freeze]
  s.add_runtime_dependency(%q<name>.freeze, ["= 1.0"])
end
`
	lock := "GEM\n  remote: https://rubygems.org/\n  specs:\n    nokogiri (1.15.4-x86_64-linux)\n      racc (~> 1.4)\n    racc (1.7.1)\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  nokogiri\n"
	installed2 := `{"packages":[{"name":"monolog/monolog","version":"2.9.1","license":["MIT"]},{"name":"psr/log","version":"1.1.4"}],"dev":true}`
	installed1 := `[{"name":"symfony/yaml","version":"v4.4.45"}]`
	composerLock := `{"packages":[{"name":"guzzlehttp/guzzle","version":"7.5.0"}],"packages-dev":[{"name":"phpunit/phpunit","version":"9.6.0"}]}`
	res := catalog(t, it.Layer(t,
		it.File("usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec", gemspec, 0o644),
		it.File("usr/lib/ruby/gems/3.1.0/specifications/broken.gemspec", "Gem::Specification.new do |s|\nend\n", 0o644),
		it.File("srv/app/Gemfile.lock", lock, 0o644),
		it.File("srv/php/vendor/composer/installed.json", installed2, 0o644),
		it.File("srv/old/vendor/composer/installed.json", installed1, 0o644),
		it.File("srv/php/composer.lock", composerLock, 0o644),
	))
	want := []string{
		"pkg:composer/guzzlehttp/guzzle@7.5.0",
		"pkg:composer/monolog/monolog@2.9.1",
		"pkg:composer/psr/log@1.1.4",
		"pkg:composer/symfony/yaml@v4.4.45",
		"pkg:gem/nokogiri@1.15.4-x86_64-linux",
		"pkg:gem/racc@1.7.1",
		"pkg:gem/rake@13.0.6",
	}
	if got := purls(res); !slices.Equal(got, want) {
		t.Fatalf("packages:\n%s\nwant:\n%s\nnotes %v", strings.Join(got, "\n"), strings.Join(want, "\n"), res.Notes)
	}
	if r := find(res, "pkg:gem/rake@13.0.6"); r.Ecosystem != "RubyGems" || r.Licenses[0] != "MIT" {
		t.Errorf("rake: %+v", r)
	}
	if m := find(res, "pkg:composer/monolog/monolog@2.9.1"); m.Ecosystem != "Packagist" || m.Licenses[0] != "MIT" {
		t.Errorf("monolog: %+v", m)
	}
}

// A Rust binary built with cargo-auditable carries its crates in .dep-v0:
// objcopy adds such a section to a real ELF executable, as the linker
// does for cargo-auditable.
func TestCargoAuditable(t *testing.T) {
	objcopy, err := exec.LookPath("objcopy")
	if err != nil {
		t.Fatal("objcopy (binutils) is needed: apt-get install binutils")
	}
	exe, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte(`{"packages":[{"name":"rg","version":"14.1.0","source":"local","root":true},` +
		`{"name":"regex","version":"1.10.2","source":"crates.io","dependencies":[]},` +
		`{"name":"cc","version":"1.0.83","source":"crates.io","kind":"build"}]}`))
	zw.Close()
	sec := filepath.Join(dir, "dep.z")
	bin := filepath.Join(dir, "rg")
	if err := os.WriteFile(sec, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in"), exe, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(objcopy, "--add-section", ".dep-v0="+sec, filepath.Join(dir, "in"), bin).CombinedOutput(); err != nil {
		t.Fatalf("objcopy: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	res := catalog(t, it.Layer(t, it.File("usr/bin/rg", string(data), 0o755), it.File("bin/true", string(exe), 0o755)))
	want := []string{"pkg:cargo/regex@1.10.2", "pkg:cargo/rg@14.1.0"}
	if got := purls(res); !slices.Equal(got, want) {
		t.Fatalf("packages %v, want %v (notes %v)", got, want, res.Notes)
	}
	if p := find(res, want[0]); p.Ecosystem != "crates.io" || p.Locations[0].Path != "/usr/bin/rg" {
		t.Errorf("regex: %+v", p)
	}
}
