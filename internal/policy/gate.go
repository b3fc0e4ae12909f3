package policy

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Gate says who may do what through hull gate: roles, each a set of the
// gate's operations with its own rule threshold and trust requirement,
// and the identities (a unix peer's uid or gid, an mTLS client
// certificate's common name) that get them. Without a gate section the
// gate has one role for every client, the policy's other sections as
// they are.
type Gate struct {
	Roles      []Role     `yaml:"roles"`
	Identities []Identity `yaml:"identities"`
	// Default is the role of a client no identity names; "" or "deny"
	// refuses such clients every request.
	Default string `yaml:"default"`
}

// Role is what one kind of client may do.
type Role struct {
	Name string `yaml:"name"`
	// Operations are the gate's operation names the role may call (hull
	// gate serve --help lists them); * stands for any run of characters
	// and ? for one, so "container *" names every container operation.
	Operations []string `yaml:"operations"`
	// ReadOnly adds every operation that only reads (GET and HEAD, but
	// an attach).
	ReadOnly bool `yaml:"readOnly"`
	// FailOn is the least severity of a container rule finding that
	// refuses this role's creates ("" = the gate's threshold).
	FailOn string `yaml:"failOn"`
	// Ignore and Exceptions, when given, replace the workload section's
	// for this role (an empty list: none at all).
	Ignore     []Ignore    `yaml:"ignore"`
	Exceptions []Exception `yaml:"exceptions"`
	// Trust is GateTrustPolicy (the trust section decides, as for every
	// client) or GateTrustSigned.
	Trust string `yaml:"trust"`
}

// Role trust requirements.
const (
	// GateTrustPolicy: images are judged by the trust section as it says
	// (the default).
	GateTrustPolicy = "policy"
	// GateTrustSigned: an image must be accepted by a valid signature;
	// one the trust section accepts without (insecureAcceptAnything, or
	// an image with no registry digest) is refused.
	GateTrustSigned = "signed"
)

// GateDeny is the default that refuses clients no identity names.
const GateDeny = "deny"

// Identity gives a role to the clients it matches: exactly one of UID,
// GID (the unix peer's, from SO_PEERCRED: its effective uid and gid) or
// CN (the common name of a verified TLS client certificate). The first
// identity that matches a client decides.
type Identity struct {
	UID  *int   `yaml:"uid"`
	GID  *int   `yaml:"gid"`
	CN   string `yaml:"cn"`
	Role string `yaml:"role"`
}

// String names the identity as the gate's messages and log do.
func (i Identity) String() string {
	switch {
	case i.UID != nil:
		return fmt.Sprintf("uid %d", *i.UID)
	case i.GID != nil:
		return fmt.Sprintf("gid %d", *i.GID)
	}
	return "cn " + i.CN
}

// GateSection returns the gate section; nil for no policy or none.
func (p *Policy) GateSection() *Gate {
	if p == nil {
		return nil
	}
	return p.Gate
}

// emptyGate reports whether the document data (already decoded once)
// has a gate key with nothing under it, which decodes as no section at
// all: a section left empty, or its lines commented out, must not open
// the gate to every client.
func emptyGate(data []byte) bool {
	var top map[string]yaml.Node
	if yaml.Unmarshal(data, &top) != nil {
		return false
	}
	n, ok := top["gate"]
	return ok && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// OperationPatterns returns the operation patterns of every role, each
// with where it is ("gate.roles[0].operations[1]"), to check against the
// gate's operation names (gate.CheckSection): a typo must not pass for a
// permission.
func (g *Gate) OperationPatterns() (at, patterns []string) {
	if g == nil {
		return nil, nil
	}
	for i, r := range g.Roles {
		for j, o := range r.Operations {
			at = append(at, fmt.Sprintf("gate.roles[%d].operations[%d]", i, j))
			patterns = append(patterns, o)
		}
	}
	return at, patterns
}

// RuleIDs are the container rule IDs the roles' ignore and exceptions
// name, each with where it is, to check that each exists
// (workload.CheckIDs).
func (g *Gate) RuleIDs() (at, ids []string) {
	if g == nil {
		return nil, nil
	}
	for i, r := range g.Roles {
		for j, ig := range r.Ignore {
			at = append(at, fmt.Sprintf("gate.roles[%d].ignore[%d]", i, j))
			ids = append(ids, ig.ID)
		}
		for j, e := range r.Exceptions {
			at = append(at, fmt.Sprintf("gate.roles[%d].exceptions[%d]", i, j))
			ids = append(ids, e.Rule)
		}
	}
	return at, ids
}

// Validate checks a gate section on its own, as Policy.Validate checks
// it within a policy file, but for a trust section to verify signed
// roles' images with: for callers that build one in memory.
func (g *Gate) Validate() error {
	if errs := g.validate(nil); len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}

// validate checks g; with trust, also that a role that runs only signed
// images has a trust section to verify them with.
func (g *Gate) validate(trust *Trust) []string {
	if g == nil {
		return nil
	}
	var errs []string
	if len(g.Roles) == 0 {
		errs = append(errs, "gate.roles is empty: a gate section gives at least one role")
	}
	roles := map[string]bool{}
	for i, r := range g.Roles {
		at := fmt.Sprintf("gate.roles[%d]", i)
		switch {
		case strings.TrimSpace(r.Name) == "":
			errs = append(errs, at+": name is empty")
		case r.Name == GateDeny:
			errs = append(errs, fmt.Sprintf("%s: %q is the default that refuses, not a role name", at, GateDeny))
		case roles[r.Name]:
			errs = append(errs, fmt.Sprintf("%s: the role %s is defined twice", at, r.Name))
		}
		roles[r.Name] = true
		if len(r.Operations) == 0 && !r.ReadOnly {
			errs = append(errs, fmt.Sprintf("%s (%s): give operations, readOnly: true, or both", at, r.Name))
		}
		for j, o := range r.Operations {
			if strings.TrimSpace(o) == "" {
				errs = append(errs, fmt.Sprintf("%s.operations[%d] is empty", at, j))
			}
		}
		errs = append(errs, Workload{FailOn: r.FailOn, Ignore: r.Ignore, Exceptions: r.Exceptions}.validateAt(at)...)
		switch r.Trust {
		case "", GateTrustPolicy:
		case GateTrustSigned:
			if trust != nil && !trust.Given() {
				errs = append(errs, fmt.Sprintf("%s (%s): trust %s needs a trust section to verify signatures with", at, r.Name, GateTrustSigned))
			}
		default:
			errs = append(errs, fmt.Sprintf("%s.trust is %q, want %q or %q", at, r.Trust, GateTrustPolicy, GateTrustSigned))
		}
	}
	used := map[string]bool{g.Default: true}
	seen := map[string]int{}
	for i, id := range g.Identities {
		at := fmt.Sprintf("gate.identities[%d]", i)
		kinds := 0
		for _, set := range []bool{id.UID != nil, id.GID != nil, id.CN != ""} {
			if set {
				kinds++
			}
		}
		switch {
		case kinds != 1:
			errs = append(errs, at+": give exactly one of uid, gid or cn")
			continue
		case id.UID != nil && *id.UID < 0, id.GID != nil && *id.GID < 0:
			errs = append(errs, fmt.Sprintf("%s: %s is negative", at, id))
		case strings.TrimSpace(id.CN) != id.CN:
			errs = append(errs, fmt.Sprintf("%s: the cn %q starts or ends with spaces", at, id.CN))
		}
		if j, ok := seen[id.String()]; ok {
			errs = append(errs, fmt.Sprintf("%s: %s is already given a role by gate.identities[%d]", at, id, j))
		}
		seen[id.String()] = i
		switch {
		case id.Role == "":
			errs = append(errs, fmt.Sprintf("%s (%s): role is empty", at, id))
		case !roles[id.Role]:
			errs = append(errs, fmt.Sprintf("%s (%s): the role %s is not one of gate.roles", at, id, id.Role))
		}
		used[id.Role] = true
	}
	if g.Default != "" && g.Default != GateDeny && !roles[g.Default] {
		errs = append(errs, fmt.Sprintf("gate.default is %q: neither %q nor one of gate.roles", g.Default, GateDeny))
	}
	for i, r := range g.Roles {
		if r.Name != "" && !used[r.Name] {
			errs = append(errs, fmt.Sprintf("gate.roles[%d]: the role %s is given to no identity and is not the default", i, r.Name))
		}
	}
	return errs
}
