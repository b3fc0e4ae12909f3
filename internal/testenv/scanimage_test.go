//go:build unix

package testenv

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/image"
)

// TestScanImage builds (or reads from the cache) the scan test image and
// checks that it holds what ScanImageInfo says, read back through
// internal/image as a scanner would.
func TestScanImage(t *testing.T) {
	var info ScanImageInfo
	timed(t, "ScanImage (first call: disk cache or build)", func() { info = ScanImage(t) })
	timed(t, "ScanImage (second call: memory)", func() {
		if again := ScanImage(t); !reflect.DeepEqual(again, info) {
			t.Errorf("second call differs:\n%+v\n%+v", again, info)
		}
	})
	timed(t, "ScanImage (warm: disk cache)", func() {
		cached, err := loadScanImage(filepath.Dir(info.Archive))
		if err != nil || !reflect.DeepEqual(*cached, info) {
			t.Errorf("loadScanImage = %+v, %v; want %+v", cached, err, info)
		}
	})
	for _, p := range info.Packages {
		t.Logf("%-6s %-9s %-36s %-28s %-14s %-24s layer %d %s", p.Type, p.Ecosystem, p.Name, p.Version, p.Source, p.SourceVersion, p.Layer, p.Path)
	}
	if info.OS != "Debian:12" || info.Tag != ScanImageTag || len(info.Layers) != 4 {
		t.Errorf("OS %q, Tag %q, %d layers; want Debian:12, %s, 4", info.OS, info.Tag, len(info.Layers), ScanImageTag)
	}

	// Debian: every package once, with the source package OSV names.
	sources := map[string]string{
		"base-files": "base-files", "apt": "apt", "tar": "tar", "zlib1g": "zlib", "libexpat1": "expat",
		"liblzma5": "xz-utils", "libssl3": "openssl", "libxml2": "libxml2", "libcurl4": "curl", "curl": "curl",
		"python3-yaml": "pyyaml", "python3-requests": "requests", "python3-urllib3": "python-urllib3",
	}
	debVersion := map[string]string{}
	for _, name := range append(append([]string(nil), ScanImageDebs...), ScanImagePythonDebs...) {
		found := info.Find("deb", name)
		if len(found) != 1 {
			t.Errorf("deb %s: %d entries, want 1", name, len(found))
			continue
		}
		p := found[0]
		debVersion[name] = p.Version
		if p.Ecosystem != "Debian:12" || p.Version == "" || p.Source != sources[name] || p.Path != "/var/lib/dpkg/status" || p.Layer != 1 {
			t.Errorf("deb %s: %+v; want Debian:12, source %s, /var/lib/dpkg/status in layer 1", name, p, sources[name])
		}
		// A binNMU ("6.0-3+b2" of source "6.0-3") or the same version.
		if !strings.HasPrefix(p.Version, p.SourceVersion) && !strings.HasPrefix(p.Version, "1:"+p.SourceVersion) {
			t.Errorf("deb %s: version %s does not extend source version %s", name, p.Version, p.SourceVersion)
		}
	}
	if p := info.Find("deb", "python3-yaml"); len(p) == 1 && p[0].SourceVersion == p[0].Version {
		t.Logf("note: python3-yaml is no longer a binNMU (%s)", p[0].Version)
	}

	// Python: the distributions Debian's packages carry, at the upstream
	// version of the Debian package.
	for dist, pkg := range map[string]string{"PyYAML": "python3-yaml", "requests": "python3-requests", "urllib3": "python3-urllib3"} {
		found := info.Find("pypi", dist)
		if len(found) != 1 {
			t.Errorf("pypi %s: %d entries, want 1", dist, len(found))
			continue
		}
		p := found[0]
		if p.Ecosystem != "PyPI" || !strings.HasPrefix(debVersion[pkg], p.Version) || p.Layer != 1 ||
			!strings.HasPrefix(p.Path, "/usr/lib/python3/dist-packages/") {
			t.Errorf("pypi %s: %+v; want the version of %s %s", dist, p, pkg, debVersion[pkg])
		}
	}

	// npm: exactly the versions asked for, one nested.
	var npm []string
	for _, p := range info.Packages {
		if p.Type == "npm" {
			npm = append(npm, p.Name+"@"+p.Version+" "+p.Path)
		}
	}
	wantNpm := []string{
		"@babel/traverse@7.22.0 /app/node_modules/@babel/traverse/package.json",
		"hull-scanimage-app@1.0.0 /app/package.json",
		"lodash@4.17.20 /app/node_modules/lodash/package.json",
		"minimist@1.2.5 /app/node_modules/minimist/package.json",
		"minimist@0.0.8 /app/node_modules/mkdirp/node_modules/minimist/package.json",
		"mkdirp@0.5.1 /app/node_modules/mkdirp/package.json",
		"node-fetch@2.6.0 /app/node_modules/node-fetch/package.json",
	}
	if !reflect.DeepEqual(npm, wantNpm) {
		t.Errorf("npm packages:\n%q\nwant\n%q", npm, wantNpm)
	}

	// Go: the toolchain's stdlib, the old x/text, the main module.
	goVersion, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	var gomods []string
	for _, p := range info.Packages {
		if p.Type == "golang" {
			if p.Ecosystem != "Go" || p.Path != "/usr/local/bin/app" || p.Layer != 3 {
				t.Errorf("golang %+v", p)
			}
			gomods = append(gomods, p.Name+"@"+p.Version)
		}
	}
	wantGo := []string{"example.com/hull-scanimage/app@(devel)", "golang.org/x/text@v0.3.5",
		"stdlib@" + strings.TrimPrefix(strings.TrimSpace(string(goVersion)), "go")}
	if !reflect.DeepEqual(gomods, wantGo) {
		t.Errorf("Go modules %q, want %q", gomods, wantGo)
	}

	// The archive, read as a scanner reads it.
	ctx := context.Background()
	im, err := image.Open(ctx, "docker-archive:"+info.Archive, image.Options{})
	if err != nil {
		t.Fatalf("image.Open: %v", err)
	}
	defer im.Close()
	if len(im.DiffIDs) != 4 || im.Config.OS != "linux" {
		t.Errorf("%d layers, OS %q; want 4, linux", len(im.DiffIDs), im.Config.OS)
	}
	fsys, err := im.Index(ctx)
	if err != nil {
		t.Fatalf("Index: %v", err)
	}
	for _, p := range info.Packages {
		f := fsys.File(p.Path)
		if f == nil || f.LayerIndex != p.Layer || !f.Mode().IsRegular() {
			t.Errorf("%s %s: %s not a regular file from layer %d in the merged filesystem (%+v)", p.Type, p.Name, p.Path, p.Layer, f)
		}
	}
	if f := fsys.File("/usr/local/bin/app"); f == nil || f.Mode().Perm()&0o111 == 0 {
		t.Errorf("/usr/local/bin/app is not executable: %+v", f)
	}
	if f := fsys.File("/etc/os-release"); f == nil || f.Header.Linkname != "../usr/lib/os-release" {
		t.Errorf("/etc/os-release is not base-files' symlink: %+v", f)
	}
	osRel, err := fs.ReadFile(fsys, "usr/lib/os-release")
	if err != nil || !strings.Contains(string(osRel), `VERSION_ID="12"`) {
		t.Errorf("os-release: %v\n%s", err, osRel)
	}

	status, err := fs.ReadFile(fsys, "var/lib/dpkg/status")
	if err != nil {
		t.Fatal(err)
	}
	stanzas := strings.Split(strings.TrimSpace(string(status)), "\n\n")
	if len(stanzas) != len(ScanImageDebs)+len(ScanImagePythonDebs) {
		t.Errorf("status has %d stanzas, want %d", len(stanzas), len(ScanImageDebs)+len(ScanImagePythonDebs))
	}
	for _, s := range stanzas {
		lines := strings.Split(s, "\n")
		if len(lines) < 3 || !strings.HasPrefix(lines[0], "Package: ") || lines[1] != "Status: install ok installed" {
			t.Errorf("status stanza starts %q", lines[:min(len(lines), 2)])
			continue
		}
		name := strings.TrimPrefix(lines[0], "Package: ")
		if !strings.Contains(s, "\nVersion: "+debVersion[name]+"\n") {
			t.Errorf("status stanza of %s lacks Version %s", name, debVersion[name])
		}
	}

	lockData, err := fs.ReadFile(fsys, "app/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		LockfileVersion int `json:"lockfileVersion"`
		Packages        map[string]struct {
			Version, Integrity string
			Dependencies       map[string]string
		}
	}
	if err := json.Unmarshal(lockData, &lock); err != nil || lock.LockfileVersion != 3 {
		t.Fatalf("package-lock.json: %v, version %d", err, lock.LockfileVersion)
	}
	for _, p := range info.Packages {
		if p.Type != "npm" {
			continue
		}
		key := strings.TrimSuffix(strings.TrimPrefix(p.Path, "/app/"), "/package.json")
		if p.Path == "/app/package.json" {
			key = ""
			if lock.Packages[key].Version != p.Version {
				t.Errorf("lockfile root: %+v, want version %s", lock.Packages[key], p.Version)
			}
			continue
		}
		if e := lock.Packages[key]; e.Version != p.Version || !strings.HasPrefix(e.Integrity, "sha512-") {
			t.Errorf("lockfile %s: %+v, want version %s", key, e, p.Version)
		}
	}
	if d := lock.Packages["node_modules/mkdirp"].Dependencies; d["minimist"] != "0.0.8" {
		t.Errorf("lockfile mkdirp dependencies %v, want minimist 0.0.8", d)
	}

	if fi, err := os.Stat(info.Archive); err == nil {
		t.Logf("archive %s: %.1f MB", info.Archive, float64(fi.Size())/1e6)
	}
}

func TestCleanEntryName(t *testing.T) {
	for in, want := range map[string]string{
		"./": "", ".": "", "./usr/lib/": "usr/lib", "usr//bin/./x": "usr/bin/x", "/etc/passwd": "etc/passwd",
	} {
		if got, err := cleanEntryName(in); err != nil || got != want {
			t.Errorf("cleanEntryName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"../x", "./a/../../b", "a/.."} {
		if got, err := cleanEntryName(in); err == nil {
			t.Errorf("cleanEntryName(%q) = %q, want an error", in, got)
		}
	}
}
