package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// RPMDatabase builds each spec (rpm spec files of noarch packages with
// empty %files) with the real rpmbuild, installs the packages with the
// real rpm into a new SQLite package database, erases the packages named
// in erase, and returns the database's directory (its file is
// rpmdb.sqlite there) and the number of packages built (subpackages
// included).
func RPMDatabase(t testing.TB, specs []string, erase ...string) (dir string, built int) {
	t.Helper()
	rpmbuild, rpm := lookPath(t, "rpmbuild"), lookPath(t, "rpm")
	top, dbDir := t.TempDir(), t.TempDir()
	env := append(os.Environ(), "HOME="+top)
	for i, s := range specs {
		f := filepath.Join(top, fmt.Sprintf("p%d.spec", i))
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		run(t, env, rpmbuild, "--define", "_topdir "+top, "-bb", f)
	}
	rpms, _ := filepath.Glob(filepath.Join(top, "RPMS", "noarch", "*.rpm"))
	dbArgs := []string{"--dbpath", dbDir, "--define", "_db_backend sqlite"}
	run(t, env, rpm, append(dbArgs, "--initdb")...)
	run(t, env, rpm, append(dbArgs, append([]string{"-i", "--justdb", "--nodeps"}, rpms...)...)...)
	for _, name := range erase {
		run(t, env, rpm, append(dbArgs, "-e", "--justdb", "--nodeps", name)...)
	}
	return dbDir, len(rpms)
}
