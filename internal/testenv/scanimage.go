//go:build unix

package testenv

// ScanImage: a realistic image for the vulnerability scanner's tests, built
// from real packages with known vulnerabilities, the same bytes a scanner
// meets in the field:
//
//	layer 0  Debian 12 base: real .deb files (`apt-get download`, no root
//	         needed) unpacked as `dpkg-deb --fsys-tarfile` streams them
//	         (what `dpkg-deb -x` writes), /var/lib/dpkg/status synthesized
//	         from each package's control file (`dpkg-deb -f`) with "Status:
//	         install ok installed", /etc/os-release from base-files.
//	layer 1  Python: Debian's python3-yaml (PyYAML-6.0.dist-info),
//	         python3-requests and python3-urllib3 (*.egg-info/PKG-INFO),
//	         and the whole status file again, as `apt-get install` leaves it.
//	layer 2  npm: registry tarballs (`npm pack NAME@VERSION`) of packages
//	         with known advisories under /app/node_modules (one nested:
//	         mkdirp/node_modules/minimist), /app/package.json and a
//	         lockfile v3 /app/package-lock.json.
//	layer 3  Go: /usr/local/bin/app, built here from
//	         testdata/scanimage/gobin (its own module, requiring
//	         golang.org/x/text v0.3.5; stdlib is the toolchain's).
//
// Nothing names a Debian version: each build records what apt-get fetched
// (the mirror moves with point releases). The result is cached on disk
// under $HULL_TESTENV_CACHE, else $(go env GOPATH)/hull-testenv: the
// downloads in scanimage-downloads/ (kept, so a later build reuses the same
// .deb and .tgz files) and the image in scanimage-KEY/, KEY hashing the
// recipe (package lists, the Go program, the Go version). A file lock
// (scanimage.lock) makes concurrent test processes wait for one build, as
// Cosign does. Delete the directories to start over with fresh downloads.
//
// Measured on 2 cores: a cold build (empty caches, Go module cache too)
// takes 11 to 15 s, half of it apt-get download and npm pack; the 11.7 MB
// archive is then found in the cache in about 150 ms (go env, hashing the
// recipe, reading info.json), and later calls in the same test binary
// cost nothing.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ScanImageTag is the tag the archive records (RepoTags).
const ScanImageTag = "hull.test/scanimage:latest"

// scanImageRecipe is part of the cache key: change it when the image's
// content changes in a way the key does not see otherwise.
const scanImageRecipe = "scanimage-v1"

// scanImageTimeout bounds a cold build: apt-get download, npm pack (about
// 5 s each here), go build (module download and compile, a few seconds).
const scanImageTimeout = 15 * time.Minute

// scanImageEpoch is the time of every file ScanImage writes itself and of
// the image config; files from packages keep their own times.
var scanImageEpoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// ScanImageDebs are the Debian packages of the base layer: small ones
// whose source packages have a long CVE history (zlib, expat, xz-utils,
// openssl, libxml2, curl, tar, apt) and base-files for os-release.
var ScanImageDebs = []string{
	"base-files", "apt", "tar", "zlib1g", "libexpat1", "liblzma5",
	"libssl3", "libxml2", "libcurl4", "curl",
}

// ScanImagePythonDebs are Debian's Python packages of the second layer;
// each installs its distribution metadata under
// /usr/lib/python3/dist-packages.
var ScanImagePythonDebs = []string{"python3-yaml", "python3-requests", "python3-urllib3"}

// scanImageNpm are the npm packages, with known advisories at these
// versions, and where they go under /app.
var scanImageNpm = []struct{ name, version, dir string }{
	{"@babel/traverse", "7.22.0", "node_modules/@babel/traverse"},
	{"lodash", "4.17.20", "node_modules/lodash"},
	{"minimist", "1.2.5", "node_modules/minimist"},
	{"mkdirp", "0.5.1", "node_modules/mkdirp"},
	{"minimist", "0.0.8", "node_modules/mkdirp/node_modules/minimist"},
	{"node-fetch", "2.6.0", "node_modules/node-fetch"},
}

// scanImageGoBinary is where the Go program is installed.
const scanImageGoBinary = "/usr/local/bin/app"

// ScanImageInfo describes the image ScanImage built.
type ScanImageInfo struct {
	// Archive is the docker-archive tarball ("docker save" layout),
	// shared by every test: open it, never modify it.
	Archive string `json:"-"`
	// Tag is the tag the archive records (ScanImageTag).
	Tag string `json:"tag"`
	// OS is the OSV ecosystem of the image's distribution, from its
	// os-release: "Debian:12".
	OS string `json:"os"`
	// Layers says what each layer holds, in order.
	Layers []string `json:"layers"`
	// Packages is everything that was put in, sorted by layer, type,
	// name, path.
	Packages []ScanImagePackage `json:"packages"`
}

// ScanImagePackage is one package put into the image.
type ScanImagePackage struct {
	// Type is the package URL type: deb, pypi, npm or golang.
	Type string `json:"type"`
	// Ecosystem is the OSV ecosystem: "Debian:12", "PyPI", "npm", "Go".
	Ecosystem string `json:"ecosystem"`
	// Name and Version as the package's own metadata says: the binary
	// package and its version for deb ("zlib1g", "1:1.2.13.dfsg-1"),
	// the Name and Version headers for Python ("PyYAML", "6.0"),
	// package.json for npm, the build info for Go (stdlib's version
	// without "go": "1.26.8"; the main module's is "(devel)").
	Name    string `json:"name"`
	Version string `json:"version"`
	// Source and SourceVersion are, for deb only, the source package
	// OSV's Debian records name, and its version: the control file's
	// "Source: NAME (VERSION)", else the package's own name and version.
	Source        string `json:"source,omitempty"`
	SourceVersion string `json:"sourceVersion,omitempty"`
	// Arch is the deb architecture ("amd64", "all").
	Arch string `json:"arch,omitempty"`
	// Path is the file in the image that says the package is installed:
	// /var/lib/dpkg/status, a METADATA or PKG-INFO file, a package.json,
	// the Go binary.
	Path string `json:"path"`
	// Layer is the index of the layer whose copy of Path the merged
	// filesystem shows (for deb: the Python layer, which rewrites the
	// status file).
	Layer int `json:"layer"`
}

// Find returns the packages of type typ named name.
func (s ScanImageInfo) Find(typ, name string) []ScanImagePackage {
	var out []ScanImagePackage
	for _, p := range s.Packages {
		if p.Type == typ && p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

var scanImageBuilt struct {
	sync.Mutex
	info *ScanImageInfo
}

// ScanImage returns the realistic scan test image (see the comment at the
// top of this file), building it once per cache key and then reading it
// from the disk cache. The build needs apt-get with package lists
// (apt-get update), dpkg-deb, npm and the Go toolchain, and the network to
// the Debian mirror, the npm registry and the Go module proxy; a missing
// tool fails the test with what to install.
func ScanImage(t testing.TB) ScanImageInfo {
	t.Helper()
	scanImageBuilt.Lock()
	defer scanImageBuilt.Unlock()
	if scanImageBuilt.info == nil {
		start := time.Now()
		info, err := scanImage(t)
		if err != nil {
			t.Fatalf("testenv: scan image: %v", err)
		}
		t.Logf("testenv: scan image %s (%d packages) ready in %v", info.Archive, len(info.Packages), time.Since(start).Round(time.Millisecond))
		scanImageBuilt.info = info
	}
	info := *scanImageBuilt.info
	info.Layers = slices.Clone(info.Layers)
	info.Packages = slices.Clone(info.Packages)
	return info
}

// scanImageCacheDir is $HULL_TESTENV_CACHE or $(go env GOPATH)/hull-testenv.
func scanImageCacheDir(t testing.TB) (string, error) {
	t.Helper()
	dir := os.Getenv("HULL_TESTENV_CACHE")
	if dir == "" {
		gopath := strings.TrimSpace(run(t, nil, lookPath(t, "go"), "env", "GOPATH"))
		if i := strings.IndexByte(gopath, os.PathListSeparator); i >= 0 {
			gopath = gopath[:i]
		}
		if gopath == "" {
			return "", errors.New("go env GOPATH is empty; set HULL_TESTENV_CACHE")
		}
		dir = filepath.Join(gopath, "hull-testenv")
	}
	return filepath.Abs(dir)
}

// scanImageGoSource is the directory of the Go program's module.
func scanImageGoSource() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if ok {
		dir := filepath.Join(filepath.Dir(file), "testdata", "scanimage", "gobin")
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
	}
	// Built with -trimpath: ask the go command where this package is.
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", "github.com/hull-sec/hull/internal/testenv").Output()
	if err != nil {
		return "", fmt.Errorf("find testdata/scanimage/gobin: %w", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "testdata", "scanimage", "gobin"), nil
}

func scanImage(t testing.TB) (*ScanImageInfo, error) {
	t.Helper()
	cache, err := scanImageCacheDir(t)
	if err != nil {
		return nil, err
	}
	goBin := lookPath(t, "go")
	goVersion := strings.TrimSpace(run(t, nil, goBin, "env", "GOVERSION"))
	src, err := scanImageGoSource()
	if err != nil {
		return nil, err
	}
	key, err := scanImageKey(src, goVersion)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cache, "scanimage-"+key)
	if info, err := loadScanImage(dir); err == nil {
		return info, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	unlock, err := scanImageLock(t, filepath.Join(cache, "scanimage.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if info, err := loadScanImage(dir); err == nil {
		t.Logf("testenv: the scan image was built by another process meanwhile")
		return info, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), scanImageTimeout)
	defer cancel()
	b := &scanImageBuild{t: t, ctx: ctx, downloads: filepath.Join(cache, "scanimage-downloads"), goBin: goBin, goSource: src}
	if err := b.build(dir); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (timed out after %v)", err, scanImageTimeout)
		}
		return nil, err
	}
	return loadScanImage(dir)
}

// scanImageKey hashes what the image is made of.
func scanImageKey(goSource, goVersion string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s/%s\n", scanImageRecipe, goVersion, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(h, "debs %q\npython %q\n", ScanImageDebs, ScanImagePythonDebs)
	for _, p := range scanImageNpm {
		fmt.Fprintf(h, "npm %s@%s %s\n", p.name, p.version, p.dir)
	}
	err := filepath.WalkDir(goSource, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(goSource, p)
		fmt.Fprintf(h, "file %s %d\n", filepath.ToSlash(rel), len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", goSource, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// loadScanImage reads a finished build: DIR/info.json and DIR/image.tar.
func loadScanImage(dir string) (*ScanImageInfo, error) {
	archive := filepath.Join(dir, "image.tar")
	if _, err := os.Stat(archive); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "info.json"))
	if err != nil {
		return nil, err
	}
	var info ScanImageInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "info.json"), err)
	}
	info.Archive = archive
	return &info, nil
}

// scanImageLock takes an exclusive flock on path, waiting (and saying so)
// while another process builds.
func scanImageLock(t testing.TB, path string) (unlock func(), err error) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var logged time.Time
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the flock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", path, err)
		}
		if time.Since(start) > scanImageTimeout+time.Minute {
			f.Close()
			return nil, fmt.Errorf("another process has held %s for %v", path, time.Since(start).Round(time.Second))
		}
		if time.Since(logged) > 30*time.Second {
			t.Logf("testenv: waiting for another process building the scan image (%v)", time.Since(start).Round(time.Second))
			logged = time.Now()
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// scanImageBuild holds the state of one cold build.
type scanImageBuild struct {
	t         testing.TB
	ctx       context.Context
	downloads string // shared download cache: debs/, npm/
	goBin     string
	goSource  string

	info ScanImageInfo
}

// deb is one downloaded Debian package.
type deb struct {
	file    string
	control string // the control file, as dpkg-deb -f prints it
	fields  map[string]string
}

func (b *scanImageBuild) step(what string, f func() error) error {
	start := time.Now()
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	b.t.Logf("testenv: scan image: %s (%v)", what, time.Since(start).Round(time.Millisecond))
	return nil
}

func (b *scanImageBuild) build(dir string) error {
	b.info = ScanImageInfo{Tag: ScanImageTag}
	var debs map[string]*deb
	var layers []v1.Layer
	err := b.step("download Debian packages", func() (err error) {
		debs, err = b.downloadDebs(append(slices.Clone(ScanImageDebs), ScanImagePythonDebs...))
		return err
	})
	if err != nil {
		return err
	}
	statusAll := dpkgStatus(debs, append(slices.Clone(ScanImageDebs), ScanImagePythonDebs...))
	err = b.step("Debian base layer", func() error {
		l, err := b.debLayer(0, debs, ScanImageDebs, dpkgStatus(debs, ScanImageDebs))
		layers = append(layers, l)
		return err
	})
	if err != nil {
		return err
	}
	err = b.step("Python layer", func() error {
		l, err := b.debLayer(1, debs, ScanImagePythonDebs, statusAll)
		layers = append(layers, l)
		return err
	})
	if err != nil {
		return err
	}
	if b.info.OS == "" {
		return errors.New("base-files has no usr/lib/os-release with ID and VERSION_ID")
	}
	for _, name := range append(slices.Clone(ScanImageDebs), ScanImagePythonDebs...) {
		b.addDebPackage(debs[name], 1)
	}
	err = b.step("npm layer", func() error {
		l, err := b.npmLayer(2)
		layers = append(layers, l)
		return err
	})
	if err != nil {
		return err
	}
	err = b.step("Go layer", func() error {
		l, err := b.goLayer(3)
		layers = append(layers, l)
		return err
	})
	if err != nil {
		return err
	}
	slices.SortStableFunc(b.info.Packages, func(x, y ScanImagePackage) int {
		if x.Layer != y.Layer {
			return x.Layer - y.Layer
		}
		return strings.Compare(x.Type+"\x00"+x.Name+"\x00"+x.Path, y.Type+"\x00"+y.Name+"\x00"+y.Path)
	})
	return b.step("write docker archive", func() error { return b.write(dir, layers) })
}

// downloadDebs fetches (or finds in the download cache) the named
// packages, at whatever version the configured mirror has.
func (b *scanImageBuild) downloadDebs(names []string) (map[string]*deb, error) {
	dir := filepath.Join(b.downloads, "debs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := downloadDebs(b.ctx, b.t, dir, names...); err != nil {
		return nil, err
	}
	dpkgDeb := scanImageTool(b.t, "dpkg-deb")
	out := map[string]*deb{}
	for _, n := range names {
		f, err := cachedDeb(dir, n)
		if err != nil {
			return nil, err
		}
		if f == "" {
			return nil, fmt.Errorf("apt-get download left no %s_*.deb", n)
		}
		control, err := b.command("", nil, dpkgDeb, "-f", f)
		if err != nil {
			return nil, err
		}
		d := &deb{file: f, control: strings.TrimRight(control, "\n") + "\n", fields: map[string]string{}}
		for _, line := range strings.Split(d.control, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && line != "" && line[0] != ' ' && line[0] != '\t' {
				d.fields[k] = strings.TrimSpace(v)
			}
		}
		if d.fields["Package"] != n || d.fields["Version"] == "" {
			return nil, fmt.Errorf("%s: control says Package %q Version %q", f, d.fields["Package"], d.fields["Version"])
		}
		out[n] = d
	}
	return out, nil
}

// dpkgStatus is /var/lib/dpkg/status for the named packages: each control
// file with "Status: install ok installed" after its Package line, sorted
// by name as dpkg keeps it.
func dpkgStatus(debs map[string]*deb, names []string) string {
	names = slices.Clone(names)
	slices.Sort(names)
	var s strings.Builder
	for i, n := range names {
		if i > 0 {
			s.WriteString("\n")
		}
		for _, line := range strings.SplitAfter(debs[n].control, "\n") {
			s.WriteString(line)
			if strings.HasPrefix(line, "Package:") {
				s.WriteString("Status: install ok installed\n")
			}
		}
	}
	return s.String()
}

func (b *scanImageBuild) addDebPackage(d *deb, layer int) {
	f := d.fields
	p := ScanImagePackage{
		Type: "deb", Ecosystem: b.info.OS, Name: f["Package"], Version: f["Version"], Arch: f["Architecture"],
		Source: f["Package"], SourceVersion: f["Version"], Path: "/var/lib/dpkg/status", Layer: layer,
	}
	if src := f["Source"]; src != "" {
		name, ver, _ := strings.Cut(src, " ")
		p.Source = name
		if ver = strings.Trim(strings.TrimSpace(ver), "()"); ver != "" {
			p.SourceVersion = ver
		}
	}
	b.info.Packages = append(b.info.Packages, p)
}

// debLayer unpacks the named packages and writes the status file. It
// reads os-release (base-files) and Python distribution metadata on the
// way.
func (b *scanImageBuild) debLayer(index int, debs map[string]*deb, names []string, status string) (v1.Layer, error) {
	lw := newLayerWriter()
	dpkgDeb := scanImageTool(b.t, "dpkg-deb")
	for _, n := range names {
		data, err := b.command("", nil, dpkgDeb, "--fsys-tarfile", debs[n].file)
		if err != nil {
			return nil, err
		}
		tr := tar.NewReader(strings.NewReader(data))
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", debs[n].file, err)
			}
			body, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", debs[n].file, err)
			}
			p, err := lw.add(h, body)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", debs[n].file, err)
			}
			if p == "" || h.Typeflag != tar.TypeReg {
				continue
			}
			switch {
			case p == "usr/lib/os-release":
				id, version := osRelease(body)
				if id == "debian" && version != "" {
					b.info.OS = "Debian:" + version
				}
			case path.Base(p) == "METADATA" && strings.HasSuffix(path.Dir(p), ".dist-info"),
				path.Base(p) == "PKG-INFO" && strings.HasSuffix(path.Dir(p), ".egg-info"):
				name, version := pythonMetadata(body)
				if name == "" || version == "" {
					return nil, fmt.Errorf("%s: /%s has no Name and Version", debs[n].file, p)
				}
				b.info.Packages = append(b.info.Packages, ScanImagePackage{
					Type: "pypi", Ecosystem: "PyPI", Name: name, Version: version, Path: "/" + p, Layer: index,
				})
			}
		}
	}
	if _, err := lw.add(&tar.Header{Name: "var/lib/dpkg/status", Mode: 0o644, ModTime: scanImageEpoch}, []byte(status)); err != nil {
		return nil, err
	}
	what := "Debian packages " + strings.Join(names, " ")
	b.info.Layers = append(b.info.Layers, what)
	return lw.layer()
}

func osRelease(data []byte) (id, versionID string) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			id = v
		case "VERSION_ID":
			versionID = v
		}
	}
	return id, versionID
}

// pythonMetadata reads Name and Version from core metadata headers.
func pythonMetadata(data []byte) (name, version string) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() && strings.TrimSpace(sc.Text()) != "" {
		k, v, _ := strings.Cut(sc.Text(), ":")
		switch strings.ToLower(k) {
		case "name":
			name = strings.TrimSpace(v)
		case "version":
			version = strings.TrimSpace(v)
		}
	}
	return name, version
}

// npmLayer installs the npm packages under /app.
func (b *scanImageBuild) npmLayer(index int) (v1.Layer, error) {
	tarballs, err := b.npmTarballs()
	if err != nil {
		return nil, err
	}
	lw := newLayerWriter()
	type lockEntry struct {
		Version      string            `json:"version"`
		Integrity    string            `json:"integrity"`
		License      string            `json:"license,omitempty"`
		Dependencies map[string]string `json:"dependencies,omitempty"`
	}
	lock := map[string]any{}
	root := map[string]any{"name": "hull-scanimage-app", "version": "1.0.0"}
	rootDeps := map[string]string{}
	installed := map[string]string{} // dir -> version
	for _, p := range scanImageNpm {
		installed[p.dir] = p.version
	}
	for _, p := range scanImageNpm {
		data, err := os.ReadFile(tarballs[p.name+"@"+p.version])
		if err != nil {
			return nil, err
		}
		manifest, err := untarNpm(lw, "app/"+p.dir, data)
		if err != nil {
			return nil, fmt.Errorf("%s@%s: %w", p.name, p.version, err)
		}
		var m struct {
			Name         string            `json:"name"`
			Version      string            `json:"version"`
			License      any               `json:"license"`
			Dependencies map[string]string `json:"dependencies"`
		}
		if err := json.Unmarshal(manifest, &m); err != nil {
			return nil, fmt.Errorf("%s@%s package.json: %w", p.name, p.version, err)
		}
		if m.Name != p.name || m.Version != p.version {
			return nil, fmt.Errorf("npm pack %s@%s gave package.json %s@%s", p.name, p.version, m.Name, m.Version)
		}
		sum := sha512.Sum512(data)
		e := lockEntry{Version: m.Version, Integrity: "sha512-" + base64.StdEncoding.EncodeToString(sum[:])}
		if s, ok := m.License.(string); ok {
			e.License = s
		}
		// Dependencies only when all of them are installed here, so the
		// lockfile describes the tree in the image.
		complete := true
		for dep := range m.Dependencies {
			_, nested := installed[p.dir+"/node_modules/"+dep]
			_, top := installed["node_modules/"+dep]
			complete = complete && (nested || top)
		}
		if complete && len(m.Dependencies) > 0 {
			e.Dependencies = m.Dependencies
		}
		lock[p.dir] = e
		if !strings.Contains(strings.TrimPrefix(p.dir, "node_modules/"), "node_modules/") {
			rootDeps[p.name] = p.version
		}
		b.info.Packages = append(b.info.Packages, ScanImagePackage{
			Type: "npm", Ecosystem: "npm", Name: p.name, Version: p.version,
			Path: "/app/" + p.dir + "/package.json", Layer: index,
		})
	}
	root["dependencies"] = rootDeps
	// The application itself, as package.json names it: scanners list it.
	b.info.Packages = append(b.info.Packages, ScanImagePackage{
		Type: "npm", Ecosystem: "npm", Name: "hull-scanimage-app", Version: "1.0.0", Path: "/app/package.json", Layer: index,
	})
	pkgJSON, err := json.MarshalIndent(map[string]any{
		"name": "hull-scanimage-app", "version": "1.0.0", "private": true, "dependencies": rootDeps,
	}, "", "  ")
	if err != nil {
		return nil, err
	}
	lock[""] = root
	lockJSON, err := json.MarshalIndent(map[string]any{
		"name": "hull-scanimage-app", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": lock,
	}, "", "  ")
	if err != nil {
		return nil, err
	}
	if _, err := lw.add(&tar.Header{Name: "app/package.json", Mode: 0o644, ModTime: scanImageEpoch}, append(pkgJSON, '\n')); err != nil {
		return nil, err
	}
	if _, err := lw.add(&tar.Header{Name: "app/package-lock.json", Mode: 0o644, ModTime: scanImageEpoch}, append(lockJSON, '\n')); err != nil {
		return nil, err
	}
	b.info.Layers = append(b.info.Layers, "npm packages under /app/node_modules, /app/package.json, /app/package-lock.json")
	return lw.layer()
}

// npmTarballs returns the registry tarball of each npm package
// ("name@version" -> file), running `npm pack` for those not in the
// download cache.
func (b *scanImageBuild) npmTarballs() (map[string]string, error) {
	dir := filepath.Join(b.downloads, "npm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var missing []string
	for _, p := range scanImageNpm {
		spec := p.name + "@" + p.version
		file := filepath.Join(dir, strings.NewReplacer("@", "", "/", "-").Replace(p.name)+"-"+p.version+".tgz")
		out[spec] = file
		if _, err := os.Stat(file); err != nil && !slices.Contains(missing, spec) {
			missing = append(missing, spec)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	tmp, err := os.MkdirTemp(dir, ".pack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	env := append(os.Environ(), "npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false")
	args := append([]string{"pack", "--json", "--pack-destination", tmp}, missing...)
	stdout, err := b.command(tmp, env, scanImageTool(b.t, "npm"), args...)
	if err != nil {
		return nil, err
	}
	var packed []struct {
		Name, Version, Filename, Integrity string
	}
	if err := json.Unmarshal([]byte(stdout), &packed); err != nil {
		return nil, fmt.Errorf("npm pack --json: %w\n%s", err, stdout)
	}
	for _, p := range packed {
		file, ok := out[p.Name+"@"+p.Version]
		if !ok {
			return nil, fmt.Errorf("npm pack gave %s@%s, which was not asked for", p.Name, p.Version)
		}
		data, err := os.ReadFile(filepath.Join(tmp, filepath.Base(p.Filename)))
		if err != nil {
			return nil, err
		}
		sum := sha512.Sum512(data)
		if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); p.Integrity != "" && got != p.Integrity {
			return nil, fmt.Errorf("npm pack %s@%s: integrity %s, file hashes to %s", p.Name, p.Version, p.Integrity, got)
		}
		if err := os.WriteFile(file+".tmp", data, 0o644); err != nil {
			return nil, err
		}
		if err := os.Rename(file+".tmp", file); err != nil {
			return nil, err
		}
	}
	for _, spec := range missing {
		if _, err := os.Stat(out[spec]); err != nil {
			return nil, fmt.Errorf("npm pack did not produce %s", spec)
		}
	}
	b.t.Logf("testenv: scan image: packed %s", strings.Join(missing, " "))
	return out, nil
}

// untarNpm adds an npm tarball's files under dir (dropping the tarball's
// top directory, "package/" as a rule) and returns its package.json.
func untarNpm(lw *layerWriter, dir string, tgz []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	var manifest []byte
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		_, rest, ok := strings.Cut(strings.TrimPrefix(h.Name, "./"), "/")
		if !ok || rest == "" || (h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeDir) {
			continue
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		mode := int64(0o644)
		if h.Typeflag == tar.TypeDir || h.Mode&0o111 != 0 {
			mode = 0o755
		}
		nh := &tar.Header{Typeflag: h.Typeflag, Name: dir + "/" + rest, Mode: mode, ModTime: h.ModTime}
		if _, err := lw.add(nh, body); err != nil {
			return nil, err
		}
		if rest == "package.json" {
			manifest = body
		}
	}
	if manifest == nil {
		return nil, errors.New("tarball has no package.json")
	}
	return manifest, nil
}

// goLayer builds the Go program and installs it.
func (b *scanImageBuild) goLayer(index int) (v1.Layer, error) {
	tmp, err := os.MkdirTemp("", "hull-scanimage-go-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "src")
	if err := os.CopyFS(src, os.DirFS(b.goSource)); err != nil {
		return nil, err
	}
	bin := filepath.Join(tmp, "app")
	env := append(goBuildEnviron(), "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false", "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	if _, err := b.command(src, env, b.goBin, "build", "-trimpath", "-o", bin, "."); err != nil {
		return nil, err
	}
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	add := func(name, version string) {
		b.info.Packages = append(b.info.Packages, ScanImagePackage{
			Type: "golang", Ecosystem: "Go", Name: name, Version: version, Path: scanImageGoBinary, Layer: index,
		})
	}
	add("stdlib", strings.TrimPrefix(strings.Fields(bi.GoVersion)[0], "go"))
	add(bi.Main.Path, bi.Main.Version)
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		add(d.Path, d.Version)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	lw := newLayerWriter()
	if _, err := lw.add(&tar.Header{Name: strings.TrimPrefix(scanImageGoBinary, "/"), Mode: 0o755, ModTime: scanImageEpoch}, data); err != nil {
		return nil, err
	}
	b.info.Layers = append(b.info.Layers, "Go program "+scanImageGoBinary+" ("+bi.Main.Path+", "+bi.GoVersion+")")
	return lw.layer()
}

// write assembles the image and writes DIR/image.tar and DIR/info.json,
// each through a temporary file and a rename, info.json first (the cache
// counts as filled once image.tar exists).
func (b *scanImageBuild) write(dir string, layers []v1.Layer) error {
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.ConfigFile(base, &v1.ConfigFile{
		Architecture: runtime.GOARCH, OS: "linux", Created: v1.Time{Time: scanImageEpoch},
		Config: v1.Config{
			Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			Cmd:        []string{scanImageGoBinary},
			WorkingDir: "/app",
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return err
	}
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		adds[i] = mutate.Addendum{Layer: l, History: v1.History{Created: v1.Time{Time: scanImageEpoch}, CreatedBy: "hull testenv: " + b.info.Layers[i]}}
	}
	if img, err = mutate.Append(img, adds...); err != nil {
		return err
	}
	ref, err := name.NewTag(ScanImageTag)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	info, err := json.MarshalIndent(b.info, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "info.json.tmp"), append(info, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(dir, "info.json.tmp"), filepath.Join(dir, "info.json")); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "image.tar.tmp")
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "image.tar"))
}

// scanImageTool returns the absolute path of a tool the build needs, or
// fails the test saying where it comes from.
func scanImageTool(t testing.TB, bin string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		from := map[string]string{
			"apt-get":  "Debian's apt",
			"dpkg-deb": "Debian's dpkg",
			"npm":      "Node.js's npm (on this kind of machine from the start; else apt-get install -y npm)",
		}[bin]
		t.Fatalf("testenv: %s not found in PATH (%v); the scan image needs it: %s", bin, err, from)
	}
	return p
}

// command is commandIn under the build's context, stdout as a string.
func (b *scanImageBuild) command(dir string, env []string, name string, args ...string) (string, error) {
	out, err := commandIn(b.ctx, dir, env, name, args...)
	return string(out), err
}

// layerWriter writes a layer's tar stream: names relative and clean,
// parent directories before their entries, a directory only once.
type layerWriter struct {
	buf  bytes.Buffer
	tw   *tar.Writer
	dirs map[string]bool
}

func newLayerWriter() *layerWriter {
	lw := &layerWriter{dirs: map[string]bool{}}
	lw.tw = tar.NewWriter(&lw.buf)
	return lw
}

// add writes h (its name relative, "./" allowed, as in .deb data) with
// body, and returns the cleaned name ("" for the root, skipped).
// Regular files, directories, symlinks and hard links are kept; other
// types are skipped.
func (lw *layerWriter) add(h *tar.Header, body []byte) (string, error) {
	p, err := cleanEntryName(h.Name)
	if err != nil || p == "" {
		return "", err
	}
	if h.Typeflag == 0 {
		h.Typeflag = tar.TypeReg
	}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink:
	default:
		return "", nil
	}
	if err := lw.parents(p); err != nil {
		return "", err
	}
	nh := &tar.Header{
		Typeflag: h.Typeflag, Name: p, Linkname: h.Linkname, Mode: h.Mode & 0o7777,
		Uid: h.Uid, Gid: h.Gid, Uname: h.Uname, Gname: h.Gname, ModTime: h.ModTime,
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if lw.dirs[p] {
			return p, nil
		}
		lw.dirs[p] = true
		nh.Name = p + "/"
	case tar.TypeReg:
		nh.Size = int64(len(body))
	case tar.TypeLink:
		target, err := cleanEntryName(h.Linkname)
		if err != nil || target == "" {
			return "", fmt.Errorf("hard link %s to %q", p, h.Linkname)
		}
		nh.Linkname = target
	}
	if err := lw.tw.WriteHeader(nh); err != nil {
		return "", err
	}
	if h.Typeflag == tar.TypeReg {
		if _, err := lw.tw.Write(body); err != nil {
			return "", err
		}
	}
	return p, nil
}

// parents writes the directories above p that the layer lacks.
func (lw *layerWriter) parents(p string) error {
	var missing []string
	for d := path.Dir(p); d != "." && !lw.dirs[d]; d = path.Dir(d) {
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		lw.dirs[missing[i]] = true
		h := &tar.Header{Typeflag: tar.TypeDir, Name: missing[i] + "/", Mode: 0o755, ModTime: scanImageEpoch}
		if err := lw.tw.WriteHeader(h); err != nil {
			return err
		}
	}
	return nil
}

// cleanEntryName makes a tar name relative and clean; "" is the root. A
// name with a ".." element is an error.
func cleanEntryName(n string) (string, error) {
	n = strings.TrimPrefix(n, "./")
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", fmt.Errorf("tar entry %q leaves the root", n)
		}
	}
	return strings.TrimPrefix(path.Clean("/"+n), "/"), nil
}

// layer closes the stream and returns it as a gzip layer.
func (lw *layerWriter) layer() (v1.Layer, error) {
	if err := lw.tw.Close(); err != nil {
		return nil, err
	}
	data := lw.buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
