package policy

import (
	"slices"
	"strings"
	"testing"
)

const gatePolicy = `apiVersion: hull.dev/v1
trust:
  default: reject
gate:
  roles:
    - name: ci
      operations: [ping, version, "container *", image pull, image inspect]
      failOn: medium
      trust: signed
      ignore:
        - {id: container-healthcheck, reason: CI jobs are short}
      exceptions:
        - {rule: container-root-user, workloads: ["create request for build/*"], reason: the build image runs as root}
    - name: monitor
      readOnly: true
    - name: admin
      operations: ["*"]
      trust: policy
  identities:
    - {uid: 1001, role: ci}
    - {uid: 0, role: admin}
    - {gid: 998, role: monitor}
    - {cn: ci-runner, role: ci}
  default: monitor
`

func TestGateSection(t *testing.T) {
	p, err := Load(strings.NewReader(gatePolicy))
	if err != nil {
		t.Fatal(err)
	}
	g := p.GateSection()
	if g == nil || len(g.Roles) != 3 || len(g.Identities) != 4 || g.Default != "monitor" {
		t.Fatalf("gate section: %+v", g)
	}
	if id := g.Identities[1]; id.UID == nil || *id.UID != 0 || id.GID != nil || id.String() != "uid 0" {
		t.Errorf("uid 0 read as %+v", id)
	}
	at, pats := g.OperationPatterns()
	if !slices.Equal(pats, []string{"ping", "version", "container *", "image pull", "image inspect", "*"}) || at[5] != "gate.roles[2].operations[0]" {
		t.Errorf("OperationPatterns = %v %v", at, pats)
	}
	at, ids := g.RuleIDs()
	if !slices.Equal(ids, []string{"container-healthcheck", "container-root-user"}) || !slices.Equal(at, []string{"gate.roles[0].ignore[0]", "gate.roles[0].exceptions[0]"}) {
		t.Errorf("RuleIDs = %v %v", at, ids)
	}
	if g.Roles[1].Ignore != nil || g.Roles[1].Exceptions != nil {
		t.Error("a role without ignore or exceptions has some")
	}
	var none *Policy
	if none.GateSection() != nil {
		t.Error("no policy has a gate section")
	}
	if p, err := Load(strings.NewReader("apiVersion: hull.dev/v1\n")); err != nil || p.GateSection() != nil {
		t.Errorf("a policy without a gate section: %v %v", p.GateSection(), err)
	}
}

// TestGateValidation: every mistake is an error naming where it is, and
// the schema refuses the same documents.
func TestGateValidation(t *testing.T) {
	s := compileSchema(t)
	if err := s.Validate(yamlToJSON(t, gatePolicy)); err != nil {
		t.Fatalf("the schema rejects a valid gate section: %v", err)
	}
	const head = "apiVersion: hull.dev/v1\ngate:\n"
	for _, tc := range []struct {
		name, doc, want string
		// loadOnly: the schema cannot see it (names across lists).
		loadOnly bool
	}{
		{"no roles", head + "  identities: []\n", "gate.roles is empty", false},
		{"role without name", head + "  roles:\n    - readOnly: true\n", "gate.roles[0]: name is empty", false},
		{"role named deny", head + "  roles:\n    - {name: deny, readOnly: true}\n", `gate.roles[0]: "deny" is the default`, false},
		{"role twice", head + "  roles:\n    - {name: a, readOnly: true}\n    - {name: a, readOnly: true}\n  default: a\n", "gate.roles[1]: the role a is defined twice", true},
		{"role allows nothing", head + "  roles:\n    - {name: a}\n  default: a\n", "gate.roles[0] (a): give operations, readOnly", false},
		{"readOnly false allows nothing", head + "  roles:\n    - {name: a, readOnly: false}\n  default: a\n", "gate.roles[0] (a): give operations", false},
		{"empty operation", head + "  roles:\n    - {name: a, operations: [\" \"]}\n  default: a\n", "gate.roles[0].operations[0] is empty", false},
		{"bad failOn", head + "  roles:\n    - {name: a, readOnly: true, failOn: severe}\n  default: a\n", "gate.roles[0].failOn", false},
		{"bad trust", head + "  roles:\n    - {name: a, readOnly: true, trust: always}\n  default: a\n", `gate.roles[0].trust is "always"`, false},
		{"signed without trust section", head + "  roles:\n    - {name: a, readOnly: true, trust: signed}\n  default: a\n", "trust signed needs a trust section", true},
		{"unused role", head + "  roles:\n    - {name: a, readOnly: true}\n", "the role a is given to no identity", true},
		{"identity of nothing", head + "  roles:\n    - {name: a, readOnly: true}\n  identities:\n    - {role: a}\n", "gate.identities[0]: give exactly one of uid, gid or cn", false},
		{"identity of two", head + "  roles:\n    - {name: a, readOnly: true}\n  identities:\n    - {uid: 1, gid: 1, role: a}\n", "gate.identities[0]: give exactly one", false},
		{"negative uid", head + "  roles:\n    - {name: a, readOnly: true}\n  identities:\n    - {uid: -1, role: a}\n", "gate.identities[0]: uid -1 is negative", false},
		{"cn with spaces", head + "  roles:\n    - {name: a, readOnly: true}\n  identities:\n    - {cn: \" ci\", role: a}\n", "starts or ends with spaces", true},
		{"identity twice", head + "  roles:\n    - {name: a, readOnly: true}\n    - {name: b, readOnly: true}\n  identities:\n    - {gid: 5, role: a}\n    - {gid: 5, role: b}\n", "gate.identities[1]: gid 5 is already given a role by gate.identities[0]", true},
		{"identity without role", head + "  roles:\n    - {name: a, readOnly: true}\n  identities:\n    - {cn: x}\n  default: a\n", "gate.identities[0] (cn x): role is empty", false},
		{"identity of an unknown role", head + "  roles:\n    - {name: a, readOnly: true}\n  identities:\n    - {cn: x, role: b}\n  default: a\n", "gate.identities[0] (cn x): the role b is not one of gate.roles", true},
		{"default of an unknown role", head + "  roles:\n    - {name: a, readOnly: true}\n  identities:\n    - {uid: 3, role: a}\n  default: b\n", `gate.default is "b"`, true},
		{"role ignore without reason", head + "  roles:\n    - {name: a, readOnly: true, ignore: [{id: container-privileged}]}\n  default: a\n", "gate.roles[0].ignore[0]: container-privileged needs a reason", false},
		{"role exception of nothing", head + "  roles:\n    - {name: a, readOnly: true, exceptions: [{rule: container-privileged, reason: r}]}\n  default: a\n", "gate.roles[0].exceptions[0]: container-privileged needs workloads or files", false},
		{"unknown key", head + "  roles:\n    - {name: a, readonly: true}\n", "unknown field readonly", false},
		{"uid not a number", head + "  roles:\n    - {name: a, readOnly: true}\n  identities:\n    - {uid: root, role: a}\n", "a string (root) where a number is expected", false},
	} {
		_, err := Load(strings.NewReader(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Load says %v, want %q", tc.name, err, tc.want)
		}
		if serr := s.Validate(yamlToJSON(t, tc.doc)); serr == nil && !tc.loadOnly {
			t.Errorf("%s: the schema accepted it", tc.name)
		}
	}
	// A gate key with nothing under it is not "no section".
	for _, doc := range []string{head, head + "  # roles: []\n", "apiVersion: hull.dev/v1\ngate: ~\n", "apiVersion: hull.dev/v1\ngate: null\n"} {
		if _, err := Load(strings.NewReader(doc)); err == nil || !strings.Contains(err.Error(), "gate is empty") {
			t.Errorf("%q: Load says %v", doc, err)
		}
		if err := s.Validate(yamlToJSON(t, doc)); err == nil {
			t.Errorf("%q: the schema accepted it", doc)
		}
	}
	// deny is a default, not a role; no default is deny too.
	for _, def := range []string{"deny", ""} {
		doc := head + "  roles:\n    - {name: a, readOnly: true}\n  identities:\n    - {uid: 3, role: a}\n"
		if def != "" {
			doc += "  default: " + def + "\n"
		}
		if _, err := Load(strings.NewReader(doc)); err != nil {
			t.Errorf("default %q: %v", def, err)
		}
		if err := s.Validate(yamlToJSON(t, doc)); err != nil {
			t.Errorf("default %q: the schema says %v", def, err)
		}
	}
}

func FuzzGateSection(f *testing.F) {
	f.Add(gatePolicy)
	f.Add("apiVersion: hull.dev/v1\ngate:\n  roles:\n    - {name: a, readOnly: true}\n  identities:\n    - {uid: 1, gid: 2, cn: x, role: a}\n")
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := Load(strings.NewReader(doc))
		if err != nil {
			return
		}
		g := p.GateSection()
		if g == nil {
			return
		}
		// A valid section names only roles it defines, each identity
		// once.
		roles := map[string]bool{}
		for _, r := range g.Roles {
			roles[r.Name] = true
		}
		seen := map[string]bool{}
		for _, id := range g.Identities {
			if !roles[id.Role] || seen[id.String()] {
				t.Fatalf("accepted identity %s of role %q", id, id.Role)
			}
			seen[id.String()] = true
		}
	})
}
