// Package inventory lists the software installed in an image or a
// directory tree: OS packages (dpkg, including distroless status.d; apk),
// Go binaries (build info), npm packages (node_modules and lockfiles) and
// Python distributions (dist-info, egg-info), each with a package URL,
// the OSV ecosystem it is matched in, and the layer and file that say it
// is installed.
//
// Data flow: Catalog reads the image once with image.Visit. Each file is
// offered to every cataloger by path and header (cheap string tests); a
// cataloger that wants it reads its content, bounded, and returns
// packages. Visit keeps the results of the files the merged filesystem
// shows. os-release is read the same way; at the end it completes what
// depends on the distribution (the deb and apk PURL namespace and distro
// qualifier, "Debian:12" or "Alpine:v3.20"), and packages found in
// several files are merged into one with every location.
package inventory

import (
	"archive/tar"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
)

// Options tune Catalog.
type Options struct {
	// MaxFileBytes bounds what is read of one package database or
	// manifest; a larger file is noted, not read. Default 64 MiB.
	MaxFileBytes int64
	// Parallel bounds the layers read at once (image.VisitOptions).
	Parallel int
	// OnLayer reports progress (image.VisitOptions).
	OnLayer func(done, count int)
}

// Result is what Catalog found.
type Result struct {
	OS       *finding.OS       `json:"os,omitempty"`
	Packages []finding.Package `json:"packages"`
	// Notes name the files that looked like package metadata but could
	// not be read, and why.
	Notes []string `json:"notes,omitempty"`
}

// cataloger reads packages from the files it recognises.
type cataloger struct {
	name string
	// match reports, from the path and header of a regular file, whether
	// the cataloger reads it.
	match func(path string, h *tar.Header) bool
	// parse reads the content. Content readers get at most
	// Options.MaxFileBytes; streaming ones (Go binaries) the whole file.
	parse func(path string, r io.Reader) ([]finding.Package, error)
	// stream marks a cataloger that reads the file itself, unbounded.
	stream bool
}

var catalogers = []cataloger{
	{name: "dpkg", match: matchDpkg, parse: parseDpkg},
	{name: "apk", match: matchApk, parse: parseApk},
	{name: "go", match: matchGoBinary, parse: parseGoBinary, stream: true},
	{name: "npm", match: matchNpm, parse: parseNpm},
	{name: "python", match: matchPython, parse: parsePython},
}

// fileResult is what one file yielded.
type fileResult struct {
	pkgs []finding.Package
	os   *finding.OS
	osAt string
	note string
}

// errTooLarge marks a file over Options.MaxFileBytes.
var errTooLarge = errors.New("file too large")

// Catalog lists the packages installed in im.
func Catalog(ctx context.Context, im *image.Image, o Options) (*Result, error) {
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 64 << 20
	}
	res := &Result{}
	var osRel, usrOSRel *finding.OS
	inspect := func(f *image.File) (any, error) {
		if f.Header.Typeflag != tar.TypeReg {
			return nil, nil
		}
		loc := finding.Location{Path: f.Path, LayerIndex: f.LayerIndex, Layer: f.Layer.String()}
		if f.Path == "/etc/os-release" || f.Path == "/usr/lib/os-release" {
			data, err := readBounded(f.Content(), o.MaxFileBytes)
			if err != nil {
				return &fileResult{note: f.Path + ": " + err.Error()}, nil
			}
			osr := parseOSRelease(data)
			return &fileResult{os: &osr, osAt: f.Path}, nil
		}
		for _, c := range catalogers {
			if !c.match(f.Path, f.Header) {
				continue
			}
			var r io.Reader = f.Content()
			if !c.stream {
				data, err := readBounded(r, o.MaxFileBytes)
				if err != nil {
					return &fileResult{note: fmt.Sprintf("%s (%s): %v", f.Path, c.name, err)}, nil
				}
				r = bytes.NewReader(data)
			}
			pkgs, err := safeParse(c, f.Path, r)
			if err != nil {
				return &fileResult{note: fmt.Sprintf("%s (%s): %v", f.Path, c.name, err)}, nil
			}
			if len(pkgs) == 0 {
				return nil, nil
			}
			for i := range pkgs {
				pkgs[i].Locations = []finding.Location{loc}
			}
			return &fileResult{pkgs: pkgs}, nil
		}
		return nil, nil
	}
	keep := func(v image.Visible) error {
		fr := v.Value.(*fileResult)
		switch {
		case fr.note != "":
			res.Notes = append(res.Notes, fr.note)
		case fr.os != nil && fr.osAt == "/etc/os-release":
			osRel = fr.os
		case fr.os != nil:
			usrOSRel = fr.os
		}
		res.Packages = append(res.Packages, fr.pkgs...)
		return nil
	}
	if err := im.Visit(ctx, image.VisitOptions{Parallel: o.Parallel, OnLayer: o.OnLayer}, inspect, keep); err != nil {
		return nil, err
	}
	res.OS = cmp.Or(osRel, usrOSRel)
	res.Packages = merge(res.Packages, res.OS)
	slices.Sort(res.Notes)
	return res, nil
}

// safeParse runs a parser on hostile content: a panic is a bug, but it
// becomes an error for this one file, not a crash of the scan.
func safeParse(c cataloger, path string, r io.Reader) (pkgs []finding.Package, err error) {
	defer func() {
		if p := recover(); p != nil {
			pkgs, err = nil, fmt.Errorf("%s cataloger failed: %v", c.name, p)
		}
	}()
	return c.parse(path, r)
}

func readBounded(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", errTooLarge, max)
	}
	return data, nil
}

// merge completes the distribution-dependent fields, then folds packages
// with the same PURL into one that lists every location, and sorts.
func merge(pkgs []finding.Package, osr *finding.OS) []finding.Package {
	byPURL := map[string]int{}
	var out []finding.Package
	for _, p := range pkgs {
		complete(&p, osr)
		if i, ok := byPURL[p.PURL]; ok {
			out[i].Locations = append(out[i].Locations, p.Locations...)
			continue
		}
		byPURL[p.PURL] = len(out)
		out = append(out, p)
	}
	for i := range out {
		slices.SortStableFunc(out[i].Locations, func(a, b finding.Location) int {
			return cmp.Or(cmp.Compare(b.LayerIndex, a.LayerIndex), cmp.Compare(a.Path, b.Path))
		})
	}
	slices.SortFunc(out, func(a, b finding.Package) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version), cmp.Compare(a.PURL, b.PURL))
	})
	return out
}

// complete sets the PURL and OSV ecosystem of a package, which for OS
// packages depend on the distribution.
func complete(p *finding.Package, osr *finding.OS) {
	distro, osID, eco := "", "", ""
	if osr != nil {
		osID = osr.ID
		distro = osr.ID + "-" + osr.VersionID
	}
	switch p.Type {
	case "deb":
		ns := cmp.Or(osID, "debian")
		switch ns {
		case "debian":
			eco = "Debian"
			if osr != nil && osr.VersionID != "" {
				eco += ":" + strings.SplitN(osr.VersionID, ".", 2)[0]
			}
		case "ubuntu":
			eco = "Ubuntu"
			if osr != nil && osr.VersionID != "" {
				eco += ":" + osr.VersionID
			}
		}
		p.PURL = purl("deb", ns, p.Name, p.Version, map[string]string{"arch": p.Arch, "distro": distro})
	case "apk":
		ns := cmp.Or(osID, "alpine")
		switch ns {
		case "alpine":
			eco = "Alpine"
			if osr != nil {
				if v := strings.SplitN(osr.VersionID, ".", 3); len(v) >= 2 {
					eco += ":v" + v[0] + "." + v[1]
				}
			}
		case "wolfi":
			eco = "Wolfi"
		case "chainguard":
			eco = "Chainguard"
		}
		p.PURL = purl("apk", ns, p.Name, p.Version, map[string]string{"arch": p.Arch, "distro": distro})
	case "golang":
		ns, name := "", p.Name
		if i := strings.LastIndexByte(p.Name, '/'); i >= 0 {
			ns, name = p.Name[:i], p.Name[i+1:]
		}
		eco = "Go"
		p.PURL = purl("golang", ns, name, p.Version, nil)
	case "npm":
		ns, name := "", p.Name
		if strings.HasPrefix(p.Name, "@") {
			if i := strings.IndexByte(p.Name, '/'); i > 0 {
				ns, name = p.Name[:i], p.Name[i+1:]
			}
		}
		eco = "npm"
		p.PURL = purl("npm", ns, name, p.Version, nil)
	case "pypi":
		eco = "PyPI"
		p.PURL = purl("pypi", "", normalizePyName(p.Name), p.Version, nil)
	}
	p.Ecosystem = eco
}
