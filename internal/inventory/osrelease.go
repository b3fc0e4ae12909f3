package inventory

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
)

// parseOSRelease reads os-release(5): KEY=value lines, values optionally
// quoted shell-style.
func parseOSRelease(data []byte) finding.OS {
	var o finding.OS
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil && (strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "'")) {
			v = u
		} else {
			v = strings.Trim(v, `"'`)
		}
		switch k {
		case "ID":
			o.ID = strings.ToLower(v)
		case "VERSION_ID":
			o.VersionID = v
		case "VERSION_CODENAME":
			o.Codename = v
		case "PRETTY_NAME":
			o.PrettyName = v
		}
	}
	return o
}

// OSRelease reads an os-release file (ID, VERSION_ID, PRETTY_NAME).
func OSRelease(data []byte) finding.OS { return parseOSRelease(data) }
