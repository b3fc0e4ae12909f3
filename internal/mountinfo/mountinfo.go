// Package mountinfo reads /proc/PID/mountinfo, for the audit (is the
// engine's data root a filesystem of its own, or a bind mount of the one
// around it?) and the tests' cleanup (what is still mounted under a
// temporary directory?).
package mountinfo

import (
	"bufio"
	"bytes"
	"path"
	"slices"
	"strings"
)

// Mount is one line of a mountinfo file (proc(5)), escapes undone.
type Mount struct {
	// Device is the filesystem's st_dev as "major:minor": bind mounts
	// of one filesystem share it.
	Device string
	// Root is the directory of the filesystem mounted here: "/" for a
	// whole filesystem, the source directory for a bind mount.
	Root       string
	MountPoint string
	// ReadOnly is set when the mount itself is read-only (its "ro"
	// mount option, not the filesystem's).
	ReadOnly bool
	FSType   string
	Source   string
}

// Parse returns the mounts of a mountinfo file in its order (later
// mounts on a path cover earlier ones); lines too short are skipped.
func Parse(data []byte) []Mount {
	var out []Mount
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		m := Mount{Device: f[2], Root: unescape(f[3]), MountPoint: unescape(f[4])}
		if len(f) > 5 {
			m.ReadOnly = slices.Contains(strings.Split(f[5], ","), "ro")
		}
		// Optional fields end at "-", then type and source.
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				if i+1 < len(f) {
					m.FSType = f[i+1]
				}
				if i+2 < len(f) {
					m.Source = unescape(f[i+2])
				}
				break
			}
		}
		out = append(out, m)
	}
	return out
}

// MountPoints returns the mount point (field 5) of every line of a
// mountinfo file, with the kernel's octal escapes (\040 for a space)
// undone.
func MountPoints(data []byte) []string {
	var out []string
	for _, m := range Parse(data) {
		out = append(out, m.MountPoint)
	}
	return out
}

// Covering returns the mount that holds dir (an absolute, clean path):
// of the mounts whose mount point is dir or one of its parents, the
// deepest, and of those on the same point the last; false when none
// does.
func Covering(mounts []Mount, dir string) (Mount, bool) {
	var best Mount
	found := false
	for _, m := range mounts {
		if Within(dir, m.MountPoint) && (!found || len(m.MountPoint) >= len(best.MountPoint)) {
			best, found = m, true
		}
	}
	return best, found
}

// Within reports whether path p is dir or below it.
func Within(p, dir string) bool {
	p, dir = path.Clean(p), path.Clean(dir)
	return dir == "/" || p == dir || strings.HasPrefix(p, dir+"/")
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			n := 0
			ok := true
			for _, c := range s[i+1 : i+4] {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				n = n*8 + int(c-'0')
			}
			if ok && n < 256 {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
