//go:build unix

package testenv

// DebFile and DebVersion: single files out of real Debian packages, for
// parser tests that want the bytes the field ships (a jar from
// /usr/share/java) rather than fixtures written to match the parser.
// The .deb comes from `apt-get download` (no root needed) into
// debfile-downloads/ of the same cache as ScanImage ($HULL_TESTENV_CACHE,
// else $(go env GOPATH)/hull-testenv) and is kept, so later runs reuse
// it; a file lock (debfile.lock) makes concurrent test processes download
// once. Nothing names a Debian version: a test that needs it asks
// DebVersion.

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var debFiles struct {
	sync.Mutex
	debs map[string]string // package -> downloaded .deb
}

// DebFile returns the content of the regular file at pathInDeb (absolute,
// "/usr/share/java/commons-lang3.jar") in the Debian package pkg, as the
// configured mirror has it; a symbolic link inside the package is
// followed. It needs apt-get with package lists (apt-get update),
// dpkg-deb and the Debian mirror; without them, or when the package has
// no such file, the test fails saying so.
func DebFile(t testing.TB, pkg, pathInDeb string) []byte {
	t.Helper()
	deb := debDownload(t, pkg)
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	tarball, err := commandIn(ctx, "", nil, scanImageTool(t, "dpkg-deb"), "--fsys-tarfile", deb)
	if err != nil {
		t.Fatalf("testenv: %s: %v", pkg, err)
	}
	files := map[string][]byte{}
	links := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(tarball))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("testenv: %s: %v", deb, err)
		}
		name := path.Clean("/" + h.Name)
		switch h.Typeflag {
		case tar.TypeReg:
			if files[name], err = io.ReadAll(tr); err != nil {
				t.Fatalf("testenv: %s: %s: %v", deb, name, err)
			}
		case tar.TypeSymlink:
			target := h.Linkname
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(name), target)
			}
			links[name] = path.Clean(target)
		}
	}
	p := path.Clean(pathInDeb)
	for range 10 {
		if data, ok := files[p]; ok {
			return data
		}
		target, ok := links[p]
		if !ok {
			break
		}
		p = target
	}
	t.Fatalf("testenv: Debian package %s (%s) has no regular file %s", pkg, filepath.Base(deb), pathInDeb)
	return nil
}

// DebVersion returns the version of the Debian package pkg that DebFile
// reads ("3.12.0-2+deb12u1").
func DebVersion(t testing.TB, pkg string) string {
	t.Helper()
	deb := debDownload(t, pkg)
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	out, err := commandIn(ctx, "", nil, scanImageTool(t, "dpkg-deb"), "-f", deb, "Version")
	if err != nil {
		t.Fatalf("testenv: %s: %v", pkg, err)
	}
	return strings.TrimSpace(string(out))
}

// debDownload returns the cached .deb of pkg, downloading it first if
// needed.
func debDownload(t testing.TB, pkg string) string {
	t.Helper()
	debFiles.Lock()
	defer debFiles.Unlock()
	if f, ok := debFiles.debs[pkg]; ok {
		return f
	}
	f, err := debDownloadLocked(t, pkg)
	if err != nil {
		t.Fatalf("testenv: download Debian package %s: %v", pkg, err)
	}
	if debFiles.debs == nil {
		debFiles.debs = map[string]string{}
	}
	debFiles.debs[pkg] = f
	return f
}

func debDownloadLocked(t testing.TB, pkg string) (string, error) {
	t.Helper()
	if pkg == "" || strings.ContainsAny(pkg, "/_* \t\n") || strings.HasPrefix(pkg, "-") {
		return "", fmt.Errorf("%q is not a package name", pkg)
	}
	cache, err := scanImageCacheDir(t)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "debfile-downloads")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(cache, "debfile.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close() // closing releases the flock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("flock %s: %w", lock.Name(), err)
	}
	if f, err := cachedDeb(dir, pkg); f != "" || err != nil {
		return f, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	start := time.Now()
	if err := downloadDebs(ctx, t, dir, pkg); err != nil {
		return "", err
	}
	f, err := cachedDeb(dir, pkg)
	if err != nil {
		return "", err
	}
	if f == "" {
		return "", errors.New("apt-get download left no " + pkg + "_*.deb")
	}
	t.Logf("testenv: downloaded %s (%v)", filepath.Base(f), time.Since(start).Round(time.Millisecond))
	return f, nil
}

// cachedDeb is the one NAME_*.deb in dir, "" when there is none.
func cachedDeb(dir, name string) (string, error) {
	m, err := filepath.Glob(filepath.Join(dir, name+"_*.deb"))
	if err != nil || len(m) == 0 {
		return "", err
	}
	if len(m) > 1 {
		return "", fmt.Errorf("several downloads of %s in %s: %q; delete them to fetch again", name, dir, m)
	}
	return m[0], nil
}

// aptDownloadArgs are apt-get's arguments to download pkgs to the
// working directory.
func aptDownloadArgs(pkgs ...string) []string {
	args := []string{"download"}
	if os.Geteuid() == 0 {
		// As root apt-get downloads as the _apt user, who cannot write
		// here; it falls back with a warning. Say it up front.
		args = append(args, "-o", "APT::Sandbox::User=root")
	}
	return append(args, pkgs...)
}

// downloadDebs downloads, into dir, the packages of names it does not
// hold yet (apt-get download, into a temporary directory first, then
// renamed: a download cut short leaves nothing).
func downloadDebs(ctx context.Context, t testing.TB, dir string, names ...string) error {
	var missing []string
	for _, n := range names {
		f, err := cachedDeb(dir, n)
		if err != nil {
			return err
		}
		if f == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	tmp, err := os.MkdirTemp(dir, ".download-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if _, err := commandIn(ctx, tmp, nil, scanImageTool(t, "apt-get"), aptDownloadArgs(missing...)...); err != nil {
		return fmt.Errorf("%w\n(apt-get download needs the package lists: run apt-get update, as .ci/install-deps does)", err)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".deb") {
			if err := os.Rename(filepath.Join(tmp, e.Name()), filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// commandIn runs name args in dir (the process's when "") with env (nil:
// inherit) and returns its stdout, or an error with the command line and
// stderr.
func commandIn(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}
