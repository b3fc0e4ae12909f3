package testenv

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// RuncSpec writes the config.json `runc spec` writes into a directory of
// its own and returns its path: a real OCI runtime config to judge or
// start from.
func RuncSpec(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(lookPath(t, "runc"), "spec")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: runc spec: %v: %s", err, out)
	}
	return filepath.Join(dir, "config.json")
}
