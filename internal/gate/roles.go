package gate

// Roles: with the policy's gate section (Options.Roles), each client is
// identified (a unix peer by its uid and gid from SO_PEERCRED, a TCP
// client by the common name of its verified certificate), the first
// identity of the section that matches gives it a role, or the
// section's default does; a client with no role is refused every
// request. The role limits the operations the client may call, checked
// right after the operation is found, before any body is read, and
// judges the requests it may make with its own gate: its own rule
// threshold, ignores, exceptions and trust requirement where it sets
// them, the rest of Options as they are.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/workload"
)

// role is one role of the gate section.
type role struct {
	name string
	// ops are the names of the operations it may call.
	ops map[string]bool
	// gate judges its requests.
	gate *Gate
}

// roles gives clients their role.
type roles struct {
	ids []policy.Identity
	// byName holds every role; def is the role of a client no identity
	// matches, nil for none.
	byName map[string]*role
	def    *role
}

// OperationNames returns the name of every operation the gate allows,
// each once, in the order of the allowlist.
func OperationNames() []string {
	var names []string
	for _, o := range ops {
		if !slices.Contains(names, o.name) {
			names = append(names, o.name)
		}
	}
	return names
}

// CheckSection returns an error for each operation pattern the gate
// section's roles name that matches no operation of the gate, and each
// container rule their ignore and exceptions name that does not exist,
// saying where it is: a typo must not pass for a permission or an
// exception.
func CheckSection(sec *policy.Gate) error {
	var errs []error
	at, patterns := sec.OperationPatterns()
	for i, p := range patterns {
		if len(matchOps(p)) == 0 {
			errs = append(errs, fmt.Errorf("%s: %q names no operation of the gate (hull gate serve --help lists them)", at[i], p))
		}
	}
	at, ids := sec.RuleIDs()
	for i, id := range ids {
		if err := workload.CheckIDs([]string{id}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", at[i], err))
		}
	}
	return errors.Join(errs...)
}

// matchOps returns the operation names pattern matches (policy.Glob).
func matchOps(pattern string) []string {
	var out []string
	for _, n := range OperationNames() {
		if policy.Glob(pattern, n) {
			out = append(out, n)
		}
	}
	return out
}

// newRoles makes the roles of sec, each judging with a copy of base
// that has the role's threshold and trust requirement.
func newRoles(sec *policy.Gate, base *Gate) (*roles, error) {
	if err := sec.Validate(); err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	if err := CheckSection(sec); err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	rs := &roles{ids: sec.Identities, byName: map[string]*role{}}
	for _, pr := range sec.Roles {
		r := &role{name: pr.Name, ops: map[string]bool{}}
		for _, p := range pr.Operations {
			for _, n := range matchOps(p) {
				r.ops[n] = true
			}
		}
		if pr.ReadOnly {
			for _, o := range ops {
				if reads(o) {
					r.ops[o.name] = true
				}
			}
		}
		rg := *base
		rg.roles, rg.role = nil, r
		if pr.FailOn != "" {
			s, err := finding.ParseSeverity(pr.FailOn)
			if err != nil {
				return nil, fmt.Errorf("gate: role %s: %w", pr.Name, err)
			}
			rg.opts.FailOn = s
		}
		if pr.Ignore != nil {
			rg.opts.Ignore = map[string]string{}
			for _, ig := range pr.Ignore {
				rg.opts.Ignore[ig.ID] = "gate role " + pr.Name + ": " + ig.Reason
			}
		}
		if pr.Exceptions != nil {
			rg.opts.Except = policy.Workload{Exceptions: pr.Exceptions}
		}
		if pr.Trust == policy.GateTrustSigned {
			if base.opts.Verifier == nil {
				return nil, fmt.Errorf("gate: role %s runs only signed images and the gate has no trust policy", pr.Name)
			}
			rg.opts.Verifier = signedOnly{base.opts.Verifier, pr.Name}
		}
		r.gate = &rg
		rs.byName[r.name] = r
	}
	rs.def = rs.byName[sec.Default]
	return rs, nil
}

// reads reports whether o only reads: a GET or HEAD, but no attach,
// which dockerd also serves on GET (a websocket that carries stdin).
func reads(o op) bool {
	return (o.method == http.MethodGet || o.method == http.MethodHead) && !strings.Contains(o.pattern, "/attach")
}

// client is who sent a request.
type client struct {
	peer *Peer
	// cn is the common name of the verified TLS client certificate.
	cn  string
	tls bool
}

func clientOf(r *http.Request) client {
	var c client
	if p, ok := r.Context().Value(peerKey{}).(Peer); ok {
		c.peer = &p
	}
	if r.TLS != nil {
		c.tls = true
		if len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
			c.cn = r.TLS.VerifiedChains[0][0].Subject.CommonName
		}
	}
	return c
}

func (c client) String() string {
	switch {
	case c.peer != nil:
		return fmt.Sprintf("uid %d gid %d", c.peer.UID, c.peer.GID)
	case c.tls:
		return fmt.Sprintf("cn %q", c.cn)
	}
	return "an unidentified client"
}

// pick returns the role of c, nil for none.
func (rs *roles) pick(c client) *role {
	for _, id := range rs.ids {
		var ok bool
		switch {
		case id.UID != nil:
			ok = c.peer != nil && c.peer.UID == *id.UID
		case id.GID != nil:
			ok = c.peer != nil && c.peer.GID == *id.GID
		default:
			ok = c.tls && c.cn == id.CN
		}
		if ok {
			return rs.byName[id.Role]
		}
	}
	return rs.def
}

// roleGate returns the gate that judges c's requests and c's role: g
// itself and nil without roles; nil and nil for a client with no role.
func (g *Gate) roleGate(c client) (*Gate, *role) {
	if g.roles == nil {
		return g, nil
	}
	ro := g.roles.pick(c)
	if ro == nil {
		return nil, nil
	}
	return ro.gate, ro
}

// noRole is the refusal of a client c the gate section gives no role.
func noRole(c client) decision {
	d := refuse("", "%s has no role: the policy's gate section gives it none and refuses clients it does not name", c)
	d.identity = c.String()
	return d
}

// decideAs judges r as its client's role may make it: without roles as
// decide does; with roles, a client without one is refused, and a
// refusal names the role.
func (g *Gate) decideAs(w http.ResponseWriter, r *http.Request) decision {
	c := clientOf(r)
	rg, ro := g.roleGate(c)
	if rg == nil {
		g.drain(w, r)
		return noRole(c)
	}
	d := rg.decide(w, r)
	d.identity = c.String()
	if ro != nil {
		d.role = ro.name
		if d.refusal != "" {
			d.refusal = "role " + ro.name + " (" + c.String() + "): " + d.refusal
		}
	}
	return d
}

// allows reports whether g's role, if any, may call the operation o.
func (g *Gate) allows(o op) bool {
	return g.role == nil || g.role.ops[o.name]
}

// notAllowed is the refusal of an operation g's role may not call.
func (g *Gate) notAllowed(o op) decision {
	names := make([]string, 0, len(g.role.ops))
	for n := range g.role.ops {
		names = append(names, n)
	}
	slices.Sort(names)
	return refuse(o.name, "%s is not one of the role's operations (%s)", o.name, strings.Join(names, ", "))
}

// signedOnly is the trust policy of a role that runs only signed images:
// an image the policy accepts without a valid signature is refused.
type signedOnly struct {
	ImageVerifier
	role string
}

func (s signedOnly) Verify(ctx context.Context, ref string) (finding.Verdict, error) {
	vd, err := s.ImageVerifier.Verify(ctx, ref)
	if err != nil || !vd.Accepted {
		return vd, err
	}
	for _, c := range vd.Signatures {
		if c.Valid {
			return vd, nil
		}
	}
	vd.Accepted = false
	vd.Reason = fmt.Sprintf("the role %s runs only signed images and the policy accepts this one without a signature (%s)", s.role, vd.Reason)
	return vd, nil
}

func (s signedOnly) Unsigned(repository string) finding.Verdict {
	vd := s.ImageVerifier.Unsigned(repository)
	if vd.Accepted {
		vd.Accepted = false
		vd.Reason = fmt.Sprintf("the role %s runs only signed images and an image with no registry digest has no signature to check (the policy would accept it: %s)", s.role, vd.Reason)
	}
	return vd
}
