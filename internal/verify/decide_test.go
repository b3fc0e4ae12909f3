package verify

import (
	"testing"

	"github.com/hull-sec/hull/internal/policy"
)

// TestDecideAllOfNothing: "all" of a rule's signers, when the rule lists
// none, is no valid signature at all, not a pass.
func TestDecideAllOfNothing(t *testing.T) {
	for _, require := range []string{policy.RequireAll, policy.RequireAny} {
		rule := &policy.TrustRule{Scope: "registry.example/team", Require: require}
		if ok, why := decide(rule, nil, 0, true); ok {
			t.Errorf("require %s of no signers: accepted (%s)", require, why)
		}
	}
	rule := &policy.TrustRule{Scope: "registry.example/team", Require: policy.RequireAll, Signers: []policy.Signer{{Name: "a"}, {Name: "b"}}}
	for _, tc := range []struct {
		satisfied []bool
		want      bool
	}{{[]bool{true, true}, true}, {[]bool{true, false}, false}, {[]bool{false, false}, false}} {
		if ok, _ := decide(rule, tc.satisfied, 2, true); ok != tc.want {
			t.Errorf("require all, satisfied %v: %v", tc.satisfied, ok)
		}
	}
}
