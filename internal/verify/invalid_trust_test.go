package verify_test

import (
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/verify"
)

// TestNewRefusesAnInvalidTrustSection: verify.New takes a trust section
// in memory, which no policy file validation has seen. A rule that requires all of no signers accepted
// every image, unsigned ones included. New validates the section as
// hull policy validate does, and "all" of nothing accepts nothing.
func TestNewRefusesAnInvalidTrustSection(t *testing.T) {
	w := newWorld(t)
	for name, trust := range map[string]*policy.Trust{
		"all of no signers": {Rules: []policy.TrustRule{{Scope: w.reg + "/team", Require: policy.RequireAll}}},
		"a path glob":       {Rules: []policy.TrustRule{{Scope: w.reg + "/team/*", Reject: true}}},
		"unknown default":   {Default: "accept"},
	} {
		if _, err := verify.New(trust, w.dir, image.Options{}); err == nil || !strings.Contains(err.Error(), "trust") {
			t.Errorf("%s: verify.New: %v", name, err)
		}
	}
}
