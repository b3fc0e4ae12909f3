package inventory

import (
	"archive/tar"
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
)

// dpkg keeps its database in /var/lib/dpkg/status; distroless images have
// one file per package in /var/lib/dpkg/status.d/ instead (NAME, with
// NAME.md5sums beside it).
func matchDpkg(p string, _ *tar.Header) bool {
	if p == "/var/lib/dpkg/status" {
		return true
	}
	dir, base := path.Split(p)
	return dir == "/var/lib/dpkg/status.d/" && !strings.HasSuffix(base, ".md5sums")
}

// parseDpkg reads dpkg status stanzas (deb822: "Field: value", folded
// lines start with a space, stanzas end at a blank line). Only installed
// packages count: "Status: install ok installed", or no Status at all as
// in status.d.
func parseDpkg(_ string, r io.Reader) ([]finding.Package, error) {
	var out []finding.Package
	err := stanzas(r, func(f map[string]string) error {
		name, version := f["Package"], f["Version"]
		if name == "" {
			return nil
		}
		if st, ok := f["Status"]; ok && !strings.HasSuffix(strings.TrimSpace(st), " installed") {
			return nil
		}
		if version == "" {
			return fmt.Errorf("package %s has no version", name)
		}
		p := finding.Package{Name: name, Version: version, Type: "deb", Arch: f["Architecture"]}
		if src := strings.TrimSpace(f["Source"]); src != "" {
			// "Source: name" or "Source: name (version)" when it differs.
			sname, sver, _ := strings.Cut(src, " ")
			p.Source = sname
			p.SourceVersion = strings.Trim(strings.TrimSpace(sver), "()")
		}
		// Without a Source field the source package is the binary one.
		p.Source = cmp.Or(p.Source, name)
		p.SourceVersion = cmp.Or(p.SourceVersion, version)
		out = append(out, p)
		return nil
	})
	return out, err
}

// stanzas calls fn with the fields of each deb822 stanza in r.
func stanzas(r io.Reader, fn func(map[string]string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	fields := map[string]string{}
	last := ""
	flush := func() error {
		if len(fields) == 0 {
			return nil
		}
		err := fn(fields)
		fields, last = map[string]string{}, ""
		return err
	}
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(bytes.TrimSpace(line)) == 0:
			if err := flush(); err != nil {
				return err
			}
		case line[0] == ' ' || line[0] == '\t':
			if last != "" && last != "Description" && last != "Conffiles" {
				fields[last] += "\n" + strings.TrimSpace(string(line))
			}
		default:
			k, v, ok := bytes.Cut(line, []byte(":"))
			if !ok {
				return fmt.Errorf("line %q is not a field", truncate(string(line), 60))
			}
			last = string(k)
			fields[last] = strings.TrimSpace(string(v))
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return flush()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// DpkgStatus lists the installed packages of a dpkg status file, as an
// image's inventory does; the audit reads the host's own.
func DpkgStatus(r io.Reader) ([]finding.Package, error) { return parseDpkg("", r) }
