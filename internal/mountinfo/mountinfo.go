// Package mountinfo reads /proc/PID/mountinfo, for the audit (is the
// engine's data root its own filesystem?) and the tests' cleanup (what is
// still mounted under a temporary directory?).
package mountinfo

import (
	"bufio"
	"bytes"
	"strings"
)

// MountPoints returns the mount point (field 5) of every line of a
// mountinfo file, with the kernel's octal escapes (\040 for a space)
// undone.
func MountPoints(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 4 {
			out = append(out, unescape(f[4]))
		}
	}
	return out
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
