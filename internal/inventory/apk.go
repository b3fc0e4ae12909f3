package inventory

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
)

func matchApk(p string, _ *tar.Header) bool { return p == "/lib/apk/db/installed" }

// parseApk reads apk's installed database: one "K:value" line per field,
// a blank line between packages. P is the name, V the version, A the
// architecture, o the origin (source) package, L the license.
func parseApk(_ string, r io.Reader) ([]finding.Package, error) {
	var out []finding.Package
	var cur finding.Package
	flush := func() error {
		if cur.Name == "" && cur.Version == "" {
			return nil
		}
		if cur.Name == "" || cur.Version == "" {
			return fmt.Errorf("package %q without a name or version", cur.Name)
		}
		cur.Type = "apk"
		if cur.Source != "" {
			cur.SourceVersion = cur.Version
		}
		out = append(out, cur)
		cur = finding.Package{}
		return nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			return nil, fmt.Errorf("line %q is not a K:value field", truncate(line, 60))
		}
		v := line[2:]
		switch line[0] {
		case 'P':
			cur.Name = v
		case 'V':
			cur.Version = v
		case 'A':
			cur.Arch = v
		case 'o':
			cur.Source = v
		case 'L':
			if v != "" {
				cur.Licenses = []string{v}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}
