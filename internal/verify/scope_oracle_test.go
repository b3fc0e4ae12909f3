// containers/image (go.podman.io/image/v5) is the oracle here, test-only
// as in containers_interop_test.go.

package verify_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/export"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/verify"

	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

var (
	scopePairs = flag.Int("scope.pairs", 10000, "generated (policy, reference) pairs TestScopesAgreeWithContainersImage judges")
	scopeSeed  = flag.Uint64("scope.seed", 11, "seed of TestScopesAgreeWithContainersImage's generator")
)

// TestScopesAgreeWithContainersImage is the differential test of trust
// scopes: generated policies of reject and insecureAcceptAnything rules
// and generated references (hosts with ports, subdomains, Docker Hub short
// names, namespaces, tags, digests) are judged by hull's verifier and by
// containers/image's policy evaluation of the policy.json hull exports.
// They must agree on the verdict and on the rule that decides it (found
// on the oracle's side by letting each scope alone accept), and on the
// lookaside store each image's simple signatures are read from (the
// registries.d file hull exports, read by containers/image).
func TestScopesAgreeWithContainersImage(t *testing.T) {
	ctx := context.Background()
	g := scopeGen{r: rand.New(rand.NewPCG(*scopeSeed, 0))}
	dir, out := t.TempDir(), t.TempDir()
	sys := testenv.ContainersImageContext(t, filepath.Join(out, "registries.d"))
	var stats struct{ pairs, byRule, byWildcard, byHub, byStore, refused, disagree int }
	for stats.pairs < *scopePairs && stats.disagree < 20 {
		ref := g.reference()
		stats.pairs++
		oracleRef, err := docker.ParseReference("//" + ref.oracle)
		if err != nil || reference.Domain(oracleRef.DockerReference()) == "" {
			// containers tools refuse the name, or read it as one with no
			// registry ("a_b.example/x" is all path to them): a scope
			// could not judge it as they would, so hull refuses it too.
			v, err := verify.New(&policy.Trust{Default: policy.TrustInsecureAcceptAnything}, dir, image.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if vd, err := v.Verify(ctx, ref.hull); !errors.Is(err, image.ErrBadRef) {
				t.Errorf("%s: containers/image refuses the name, hull decided (accepted %v, %v)", ref.hull, vd.Accepted, err)
				stats.disagree++
			}
			stats.refused++
			continue
		}
		trust := g.policy(oracleRef)
		v, err := verify.New(trust, dir, image.Options{})
		if err != nil {
			t.Fatal(err)
		}
		vd, err := v.Verify(ctx, ref.hull)
		if ref.upper {
			// An upper-case host would slip past lower-case scopes of the
			// registry it reaches: hull refuses to decide.
			if err == nil || !errors.Is(err, image.ErrBadRef) {
				t.Errorf("%s: hull decided (%v, %v), want a refusal of the upper-case host", ref.hull, vd.Accepted, err)
				stats.disagree++
			}
			stats.refused++
			continue
		}
		if err != nil {
			t.Errorf("%s: hull could not decide, containers/image can: %v", ref.hull, err)
			stats.disagree++
			continue
		}
		if _, err := export.Containers(trust, dir, out); err != nil {
			t.Fatal(err)
		}
		exported, err := signature.NewPolicyFromFile(filepath.Join(out, "policy.json"))
		if err != nil {
			t.Fatal(err)
		}
		accepted := oracleAllows(ctx, t, exported, oracleRef)
		winner := "default"
		for scope := range exported.Transports["docker"] {
			if oracleAllows(ctx, t, probe(exported, scope), oracleRef) {
				winner = scope
			}
		}
		if accepted != vd.Accepted || winner != vd.Rule {
			t.Errorf("disagreement on %s (oracle %s):\n  rules %s\n  hull: accepted %v by %q\n  containers/image: accepted %v by %q",
				ref.hull, ref.oracle, describe(trust), vd.Accepted, vd.Rule, accepted, winner)
			stats.disagree++
		}
		// The signature store: registries.d's choice for the same image.
		oracleStore, err := docker.SignatureStorageBaseURL(sys, oracleRef, false)
		if err != nil {
			t.Fatal(err)
		}
		repo, _, _ := strings.Cut(vd.Reference, "@")
		if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
			repo = repo[:i]
		}
		hullStore := "none"
		if l := trust.LookasideFor(repo); l != nil {
			_, path, _ := strings.Cut(repo, "/")
			hullStore = "file://" + filepath.Join(dir, l.Path, path)
			stats.byStore++
		}
		if got := oracleStore.String(); got != hullStore && (hullStore != "none" || strings.HasPrefix(got, "file://"+dir+"/")) {
			t.Errorf("lookaside disagreement on %s:\n  stores %v\n  hull: %s\n  containers/image: %s", ref.hull, trust.Lookaside, hullStore, got)
			stats.disagree++
		}
		switch {
		case winner == "default":
		case strings.HasPrefix(winner, "*."):
			stats.byWildcard++
		default:
			stats.byRule++
		}
		if strings.HasPrefix(oracleRef.DockerReference().Name(), "docker.io/") && !strings.HasPrefix(ref.oracle, "docker.io/") {
			stats.byHub++
		}
	}
	t.Logf("seed %d: %d pairs, %d decided by a repository or namespace rule, %d by a *.domain rule, %d Docker Hub short names, %d with a lookaside store, %d names refused (upper-case hosts, names containers refuses)",
		*scopeSeed, stats.pairs, stats.byRule, stats.byWildcard, stats.byHub, stats.byStore, stats.refused)
	// The generator must exercise every kind of match and refusal, or agreement
	// would prove little.
	if stats.disagree == 0 && (stats.byRule < stats.pairs/5 || stats.byWildcard < stats.pairs/20 || stats.byHub < stats.pairs/20 || stats.byStore < stats.pairs/5 || stats.refused == 0) {
		t.Errorf("the generator covers too little: %+v", stats)
	}
}

// probe is p with every docker scope and the default rejecting, but
// scope accepting: it accepts exactly the images whose rule is scope's.
func probe(p *signature.Policy, scope string) *signature.Policy {
	scopes := signature.PolicyTransportScopes{}
	for s := range p.Transports["docker"] {
		scopes[s] = signature.PolicyRequirements{signature.NewPRReject()}
	}
	scopes[scope] = signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}
	return &signature.Policy{
		Default:    signature.PolicyRequirements{signature.NewPRReject()},
		Transports: map[string]signature.PolicyTransportScopes{"docker": scopes},
	}
}

func oracleAllows(ctx context.Context, t *testing.T, p *signature.Policy, ref types.ImageReference) bool {
	t.Helper()
	pc, err := signature.NewPolicyContext(p)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Destroy()
	ok, err := pc.IsRunningImageAllowed(ctx, unparsed{ref})
	if ok != (err == nil) {
		t.Fatalf("containers/image: allowed %v with error %v", ok, err)
	}
	return ok
}

// unparsed is an image as far as reject and insecureAcceptAnything
// requirements look at one: its reference.
type unparsed struct{ ref types.ImageReference }

func (u unparsed) Reference() types.ImageReference { return u.ref }
func (u unparsed) Manifest(context.Context) ([]byte, string, error) {
	return nil, "", errors.New("no manifest: only scopes are judged")
}
func (u unparsed) Signatures(context.Context) ([][]byte, error) {
	return nil, errors.New("no signatures: only scopes are judged")
}

func describe(t *policy.Trust) string {
	var b strings.Builder
	fmt.Fprintf(&b, "default %s;", t.Default)
	for _, r := range t.Rules {
		fmt.Fprintf(&b, " %s=%s", r.Scope, map[bool]string{true: "reject", false: "accept"}[r.Reject])
	}
	return b.String()
}

type scopeGen struct{ r *rand.Rand }

func (g scopeGen) pick(s ...string) string { return s[g.r.IntN(len(s))] }

const scopeDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// genRef is one reference as hull is asked (always pinned to a digest,
// so no registry is needed: the scopes decide before any fetch) and as
// containers/image is (which takes a tag or a digest, not both).
type genRef struct {
	hull, oracle string
	upper        bool
}

func (g scopeGen) host() string {
	switch g.r.IntN(12) {
	case 0:
		return "" // a Docker Hub short name
	case 1:
		return g.pick("docker.io", "index.docker.io")
	case 2:
		return g.pick("localhost", "localhost:5000")
	case 3:
		return g.pick("127.0.0.1:5000", "10.0.0.1")
	}
	labels := make([]string, 1+g.r.IntN(4))
	for i := range labels {
		labels[i] = g.pick("a", "b", "reg", "example", "com", "io", "x-y", "0")
	}
	h := strings.Join(labels, ".")
	if g.r.IntN(3) == 0 {
		h += g.pick(":5000", ":443")
	}
	return h
}

func (g scopeGen) reference() genRef {
	host := g.host()
	comps := make([]string, 1+g.r.IntN(3))
	for i := range comps {
		comps[i] = g.pick("team", "app", "library", "busybox", "a", "b-c", "d_e", "x.y", "reg")
	}
	if g.r.IntN(25) == 0 {
		// Names that may reach a registry under another spelling:
		// containers tools refuse most of them.
		switch i := g.r.IntN(len(comps)); g.r.IntN(6) {
		case 0:
			comps[i] = ".."
		case 1:
			comps[i] = "."
		case 2:
			comps[i] = g.pick("a..b", "-a", "a-", "a___b", "_a")
		case 3:
			comps[i] = ""
		case 4:
			host += "."
		case 5:
			host = strings.Replace(host, ".", "_", 1)
		}
	}
	name := strings.Join(comps, "/")
	var upper bool
	if host != "" {
		if i := strings.IndexAny(host, "abcdefghijklmnopqrstuvwxyz"); i >= 0 && strings.Contains(host, ".") && g.r.IntN(40) == 0 {
			host, upper = host[:i]+strings.ToUpper(host[i:i+1])+host[i+1:], true
		}
		name = host + "/" + name
	}
	tag := ":" + g.pick("latest", "v1", "1.0")
	switch g.r.IntN(4) {
	case 0: // name: containers/image and hull both mean :latest
		return genRef{hull: name + "@" + scopeDigest, oracle: name, upper: upper}
	case 1:
		return genRef{hull: name + tag + "@" + scopeDigest, oracle: name + tag, upper: upper}
	case 2:
		return genRef{hull: name + "@" + scopeDigest, oracle: name + "@" + scopeDigest, upper: upper}
	}
	// Both, as containerd asks; the oracle judges the tag alone (scopes
	// name no tags, so the digest cannot change which rule applies).
	return genRef{hull: name + tag + "@" + scopeDigest, oracle: name + tag, upper: upper}
}

// policy makes one to six rules and up to three lookaside stores, most
// from the scopes that cover ref or another generated reference, so
// matches and near misses are common.
func (g scopeGen) policy(ref types.ImageReference) *policy.Trust {
	t := &policy.Trust{Default: g.pick(policy.TrustReject, policy.TrustInsecureAcceptAnything)}
	rules, stores := 1+g.r.IntN(6), g.r.IntN(4)
	for tries := 0; len(t.Rules) < rules && tries < 50; tries++ {
		scope := g.scope(ref)
		if policy.CheckScope(scope) != nil || slices.ContainsFunc(t.Rules, func(r policy.TrustRule) bool { return r.Scope == scope }) {
			continue
		}
		if g.r.IntN(2) == 0 {
			t.Rules = append(t.Rules, policy.TrustRule{Scope: scope, Reject: true})
		} else {
			t.Rules = append(t.Rules, policy.TrustRule{Scope: scope, InsecureAcceptAnything: true})
		}
	}
	for tries := 0; len(t.Lookaside) < stores && tries < 50; tries++ {
		scope := g.scope(ref)
		if policy.CheckScope(scope) != nil || slices.ContainsFunc(t.Lookaside, func(l policy.Lookaside) bool { return l.Scope == scope }) {
			continue
		}
		t.Lookaside = append(t.Lookaside, policy.Lookaside{Scope: scope, Path: fmt.Sprintf("store-%d", len(t.Lookaside))})
	}
	return t
}

// scope is one of the scopes covering ref, or another reference.
func (g scopeGen) scope(ref types.ImageReference) string {
	if g.r.IntN(3) == 0 {
		if other, err := docker.ParseReference("//" + g.reference().oracle); err == nil {
			ref = other
		}
	}
	ns := ref.PolicyConfigurationNamespaces()
	return ns[g.r.IntN(len(ns))]
}
