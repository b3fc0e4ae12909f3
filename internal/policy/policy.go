// Package policy owns hull's one policy file: what each engine allows.
//
// Data flow: Load reads YAML (strictly: unknown fields and duplicate keys
// are errors), Validate checks values, and engines read the section that
// concerns them: lint, scan, trust, workload (the container rules of
// hull config, the gate, the launcher and admission) and gate (who may
// do what through hull gate).
package policy

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Version is the only policy format version this build reads.
const Version = "hull.dev/v1"

// Policy is the whole policy file.
type Policy struct {
	APIVersion string `yaml:"apiVersion"`
	Lint       Lint   `yaml:"lint"`
	Scan       Scan   `yaml:"scan"`
	Trust      Trust  `yaml:"trust"`
	// Registry bounds how long hull waits on registries and engines.
	Registry Registry `yaml:"registry"`
	// Workload says how containers' settings are judged.
	Workload Workload `yaml:"workload"`
	// Gate says which clients of hull gate get which role; nil for none.
	Gate *Gate `yaml:"gate"`
}

// Lint says how images are linted.
type Lint struct {
	// FailOn is the least severity that fails the run ("" = the CLI default).
	FailOn string `yaml:"failOn"`
	// Ignore suppresses checks by ID, each with the reason why.
	Ignore []Ignore `yaml:"ignore"`
}

// Ignore suppresses one check.
type Ignore struct {
	ID     string `yaml:"id"`
	Reason string `yaml:"reason"`
}

// Policy files larger than this are refused.
const maxPolicyBytes = 1 << 20

// ErrInvalid is wrapped by every policy validation error.
var ErrInvalid = errors.New("invalid policy")

// LoadFile reads and validates a policy file.
func LoadFile(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	defer f.Close()
	p, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("load policy %s: %w", path, err)
	}
	return p, nil
}

// Load reads and validates a policy document.
func Load(r io.Reader) (*Policy, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPolicyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPolicyBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalid, maxPolicyBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Policy
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty document", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalid, plainYAMLError(err))
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: a policy file holds one YAML document", ErrInvalid)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.Gate == nil && bytes.Contains(data, []byte("gate")) && emptyGate(data) {
		return nil, fmt.Errorf("%w: gate is empty: give it roles, or leave the section out to let every client of hull gate do what the gate allows", ErrInvalid)
	}
	return &p, nil
}

// Validate checks the values that YAML decoding cannot.
func (p *Policy) Validate() error {
	var errs []string
	if p.APIVersion != Version {
		errs = append(errs, fmt.Sprintf("apiVersion is %q, want %q", p.APIVersion, Version))
	}
	errs = append(errs, validateSection("lint", p.Lint.FailOn, p.Lint.Ignore)...)
	errs = append(errs, validateSection("scan", p.Scan.FailOn, p.Scan.Ignore)...)
	errs = append(errs, p.Trust.validate()...)
	errs = append(errs, p.Registry.validate()...)
	errs = append(errs, p.Workload.validate()...)
	errs = append(errs, p.Gate.validate(&p.Trust)...)
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}

// IgnoredIDs returns the IDs of the lint checks the policy suppresses.
func (p *Policy) IgnoredIDs() []string { return ids(p.Lint.Ignore) }

// Schema is the JSON Schema of the policy file, for editors and CI
// linters; Load checks the same rules and more (key files, duplicates).
//
//go:embed schema.json
var Schema []byte
