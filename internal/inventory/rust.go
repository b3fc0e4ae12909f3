package inventory

import (
	"bytes"
	"compress/zlib"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hull-sec/hull/internal/finding"
)

// cargo-auditable embeds a Rust binary's dependency tree as zlib-compressed
// JSON in the ELF section .dep-v0: {"packages": [{"name", "version",
// "source", "kind"}, ...]}.
const (
	cargoSection       = ".dep-v0"
	maxCargoCompressed = 8 << 20
	maxCargoJSON       = 32 << 20
)

// parseCargoAuditable returns the crates of a cargo-auditable binary, nil
// if r is not ELF or has no such section. Build-only dependencies are
// left out: they are not in the binary.
func parseCargoAuditable(r *io.SectionReader) ([]finding.Package, error) {
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil || string(magic[:]) != "\x7fELF" {
		return nil, nil
	}
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, nil // not an ELF file debug/elf can read; the Go reader may
	}
	defer f.Close()
	sec := f.Section(cargoSection)
	if sec == nil {
		return nil, nil
	}
	if sec.Size > maxCargoCompressed {
		return nil, fmt.Errorf("%s section of %d bytes, more than %d", cargoSection, sec.Size, maxCargoCompressed)
	}
	zr, err := zlib.NewReader(io.LimitReader(sec.Open(), int64(sec.Size)))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", cargoSection, err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, maxCargoJSON+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", cargoSection, err)
	}
	if len(data) > maxCargoJSON {
		return nil, errors.New(cargoSection + " inflates to more than its bound")
	}
	var doc struct {
		Packages []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Source  string `json:"source"`
			Kind    string `json:"kind"`
		} `json:"packages"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %v", cargoSection, err)
	}
	var out []finding.Package
	for _, p := range doc.Packages {
		if p.Name == "" || p.Version == "" || p.Kind == "build" {
			continue
		}
		out = append(out, finding.Package{Name: p.Name, Version: p.Version, Type: "cargo"})
	}
	if out == nil {
		out = []finding.Package{}
	}
	return out, nil
}
