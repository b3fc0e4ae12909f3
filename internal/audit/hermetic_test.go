package audit

import (
	"io/fs"
	"slices"
	"strings"
)

// testHost is the real host as a test must see it: only the engines the
// test started. Another dockerd or Podman service on the machine (a
// colleague's test, the system's own) is hidden: its process is not
// listed and its socket does not exist, so it can neither fail nor pass
// a check of the test's engines.
type testHost struct {
	Host
	// owned are the sockets (or directories) of the test's engines; a
	// process belongs to the test when its command line names one.
	owned []string
}

func ownedBy(owned ...string) testHost { return testHost{owned: owned} }

func (h testHost) mine(s string) bool {
	return slices.ContainsFunc(h.owned, func(o string) bool { return strings.Contains(s, o) })
}

// Processes lists the test's engine processes only.
func (h testHost) Processes() ([]Process, error) {
	all, err := h.Host.Processes()
	var out []Process
	for _, p := range all {
		if h.mine(strings.Join(p.Cmdline, " ")) {
			out = append(out, p)
		}
	}
	return out, err
}

// Stat hides the sockets the test did not start.
func (h testHost) Stat(p string) (fs.FileInfo, error) {
	fi, err := h.Host.Stat(p)
	if err == nil && fi.Mode()&fs.ModeSocket != 0 && !h.mine(p) {
		return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
	}
	return fi, err
}
