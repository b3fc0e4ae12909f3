//go:build unix

package testenv

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// goTool is a reference CLI the tests build from the Go module proxy
// (cosign, notation): `go install PKG@VERSION` with CGO_ENABLED=0,
// -trimpath, -ldflags=-s -w, under nice, into a temporary directory next
// to its place, then an atomic rename, logging progress every 30 s. A file
// lock (PATH.lock, flock) makes concurrent test processes wait for one
// build instead of building twice. Later calls cost a stat.
//
// With module set, the proxy here refuses the module's version list (403),
// which `go install PKG@VERSION` asks for: the exact version is then
// fetched with `go mod download`, copied to the temporary directory and
// built there as the main module with its own go.sum (pkg is then the
// command's path inside the module, "./cmd/NAME"), as bench/build-tool.sh
// does.
//
// A module whose go.mod replaces its sibling modules with directories of
// its repository (k8s.io/kubernetes's "./staging/src/k8s.io/api", etcd's
// "../api") cannot build from its module copy, which holds none of them:
// with siblings set, each such replacement points at the published module
// at the release siblings names instead (those in dropReplace, which are
// not published, are dropped), and the build resolves what is missing
// (-mod=mod).
type goTool struct {
	name, pkg, version string
	module             string
	siblings           string
	dropReplace        []string
	env                string // variable naming a binary to use as is
	buildTimeout       time.Duration
	versionArgs        []string // run once to log what was found

	mu  sync.Mutex
	bin string // set once the binary is known to exist
}

// path returns the tool's absolute path: $ENV if set, else
// $(go env GOPATH)/bin/hull-testenv/NAME-VERSION, built there if missing.
func (g *goTool) path(t testing.TB) string {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.bin != "" {
		return g.bin
	}
	dst := os.Getenv(g.env)
	if dst == "" {
		gopath := strings.TrimSpace(run(t, nil, lookPath(t, "go"), "env", "GOPATH"))
		if i := strings.IndexByte(gopath, os.PathListSeparator); i >= 0 {
			gopath = gopath[:i]
		}
		if gopath == "" {
			t.Fatalf("testenv: go env GOPATH is empty; set %s to where %s %s should live", g.env, g.name, g.version)
		}
		dst = filepath.Join(gopath, "bin", "hull-testenv", g.name+"-"+g.version)
	}
	if !filepath.IsAbs(dst) {
		abs, err := filepath.Abs(dst)
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		dst = abs
	}
	if !isExecutable(dst) {
		if err := g.build(t, dst); err != nil {
			t.Fatalf("testenv: build %s %s into %s: %v", g.name, g.version, dst, err)
		}
	}
	out, stderr, err := runErr(nil, dst, g.versionArgs...)
	if err != nil {
		t.Fatalf("testenv: %s %s: %v\n%s", dst, strings.Join(g.versionArgs, " "), err, stderr)
	}
	t.Logf("testenv: %s at %s: %s", g.name, dst, strings.Join(strings.Fields(out), " "))
	g.bin = dst
	return dst
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// build builds the tool into dst unless another process has done so while
// this one waited for the lock.
func (g *goTool) build(t testing.TB, dst string) error {
	t.Helper()
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(dst+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close() // releases the flock
	start := time.Now()
	for waited := false; ; {
		err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("flock %s.lock: %w", dst, err)
		}
		if time.Since(start) > g.buildTimeout+time.Minute {
			return fmt.Errorf("another process has held %s.lock for %v", dst, time.Since(start).Round(time.Second))
		}
		if !waited || time.Since(start)%(30*time.Second) < 500*time.Millisecond {
			t.Logf("testenv: waiting for another process building %s (%v)", dst, time.Since(start).Round(time.Second))
			waited = true
		}
		time.Sleep(500 * time.Millisecond)
	}
	if isExecutable(dst) {
		t.Logf("testenv: %s was built by another process meanwhile (waited %v)", g.name, time.Since(start).Round(time.Second))
		return nil
	}

	tmp, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), g.buildTimeout)
	defer cancel()
	gobin := lookPath(t, "go")
	env := append(goBuildEnviron(), "GOBIN="+tmp, "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off", "GO111MODULE=on")
	pkg := g.pkg + "@" + g.version
	out := filepath.Join(tmp, filepath.Base(g.pkg)) // where go install puts it
	args := []string{gobin, "install", "-v", "-trimpath", "-ldflags=-s -w", pkg}
	workDir := tmp // outside any module: go install PKG@VERSION ignores it anyway
	if g.module != "" {
		pkg = g.module + "@" + g.version + " " + g.pkg
		if workDir, err = g.download(ctx, gobin, env, tmp); err != nil {
			return err
		}
		out = filepath.Join(tmp, g.name)
		args = []string{gobin, "build", "-v", "-trimpath", "-ldflags=-s -w", "-o", out, g.pkg}
		if g.siblings != "" {
			if err := g.publishedSiblings(ctx, gobin, env, workDir); err != nil {
				return err
			}
			args = slices.Insert(args, 2, "-mod=mod")
		}
	}
	if nice, err := exec.LookPath("nice"); err == nil {
		// The build shares the machine with running tests.
		args = append([]string{nice, "-n", "10"}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = workDir
	cmd.Env = env
	cmd.WaitDelay = 10 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	var built, downloaded atomic.Int64
	var tail syncBuffer // last lines, for the error message
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "go: downloading ") {
				downloaded.Add(1)
			} else if !strings.Contains(line, " ") {
				built.Add(1) // go install -v prints each package it builds
			} else {
				tail.Write([]byte(line + "\n"))
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	t.Logf("testenv: building %s %s into %s (go install %s; timeout %v)", g.name, g.version, dst, pkg, g.buildTimeout)
	if err := cmd.Start(); err != nil {
		pw.Close()
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	var werr error
wait:
	for {
		select {
		case werr = <-done:
			break wait
		case <-tick.C:
			t.Logf("testenv: building %s: %v, %d modules downloaded, %d packages built",
				g.name, time.Since(start).Round(time.Second), downloaded.Load(), built.Load())
		}
	}
	pw.Close()
	<-scanned
	if werr != nil {
		if ctx.Err() != nil {
			werr = fmt.Errorf("%w (timed out after %v)", werr, g.buildTimeout)
		}
		return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), werr, tail.String())
	}
	if err := os.Rename(out, dst); err != nil {
		return err
	}
	var size int64
	if fi, err := os.Stat(dst); err == nil {
		size = fi.Size()
	}
	t.Logf("testenv: built %s %s in %v (%d modules downloaded, %d packages built, %.0f MB)",
		g.name, g.version, time.Since(start).Round(time.Second), downloaded.Load(), built.Load(), float64(size)/1e6)
	return nil
}

// download fetches the module's exact version and copies its source into
// tmp/src, writable, to build as the main module.
func (g *goTool) download(ctx context.Context, gobin string, env []string, tmp string) (string, error) {
	cmd := exec.CommandContext(ctx, gobin, "mod", "download", "-json", g.module+"@"+g.version)
	cmd.Dir, cmd.Env = tmp, env
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s%s", err, ee.Stderr, out)
		}
		return "", fmt.Errorf("go mod download %s@%s: %w", g.module, g.version, err)
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s gave no source directory: %s", g.module, g.version, out)
	}
	src := filepath.Join(tmp, "src")
	if err := os.CopyFS(src, os.DirFS(info.Dir)); err != nil {
		return "", err
	}
	return src, nil
}

// publishedSiblings rewrites the go.mod in dir: each replacement by a
// local directory becomes the replaced module at g.siblings, or goes if
// g.dropReplace names it.
func (g *goTool) publishedSiblings(ctx context.Context, gobin string, env []string, dir string) error {
	cmd := exec.CommandContext(ctx, gobin, "mod", "edit", "-json")
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go mod edit -json in the copy of %s: %w", g.module, err)
	}
	var mod struct {
		Replace []struct {
			Old, New struct{ Path, Version string }
		}
	}
	if err := json.Unmarshal(out, &mod); err != nil {
		return fmt.Errorf("go mod edit -json in the copy of %s: %w", g.module, err)
	}
	var edits []string
	for _, r := range mod.Replace {
		if r.New.Version != "" || !strings.HasPrefix(r.New.Path, ".") {
			continue // a published module already
		}
		if slices.Contains(g.dropReplace, r.Old.Path) {
			edits = append(edits, "-dropreplace="+r.Old.Path)
		} else {
			edits = append(edits, "-replace="+r.Old.Path+"="+r.Old.Path+"@"+g.siblings)
		}
	}
	if len(edits) == 0 {
		return fmt.Errorf("the go.mod of %s@%s replaces no module by a directory: nothing to point at %s", g.module, g.version, g.siblings)
	}
	cmd = exec.CommandContext(ctx, gobin, append([]string{"mod", "edit"}, edits...)...)
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go mod edit in the copy of %s: %w: %s", g.module, err, out)
	}
	return nil
}

// goBuildEnviron is os.Environ without variables that would change what
// `go install` builds.
func goBuildEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOFLAGS", "GOWORK", "GOBIN", "CGO_ENABLED", "GOOS", "GOARCH", "GO111MODULE":
			continue
		}
		env = append(env, kv)
	}
	return env
}
