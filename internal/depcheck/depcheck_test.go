// Package depcheck holds one test: the import rules of ../shared/design.md,
// checked on the real package graph with 'go list'.
package depcheck

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/hull-sec/hull/"

type pkg struct {
	ImportPath string
	Imports    []string
}

func packages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", "github.com/hull-sec/hull/...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 8 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func short(p string) string { return strings.TrimPrefix(p, mod) }

func TestImportRules(t *testing.T) {
	engines := []string{"internal/lint", "internal/scan", "internal/verify", "internal/sign", "internal/export", "internal/audit", "internal/profile", "internal/run", "internal/guard"}
	leaves := []string{"internal/finding", "internal/caps", "internal/report", "internal/policy", "internal/image",
		"internal/simplesign", "internal/cosign", "internal/notation", "internal/pgp", "internal/tsp", "internal/engineapi"}
	testOnly := []string{"internal/imagetest", "internal/testenv"}
	// The gate is a surface like the launcher and admission: none imports another.
	surfaces := []string{"internal/gate", "internal/run", "internal/guard", "internal/check", "internal/admission"}
	for _, p := range packages(t) {
		name := short(p.ImportPath)
		for _, imp := range p.Imports {
			dep := short(imp)
			switch {
			case name == "internal/finding" && strings.Contains(imp, "."):
				t.Errorf("finding must import the standard library only, imports %s", imp)
			case slices.Contains(leaves, name) && slices.Contains(engines, dep):
				t.Errorf("leaf %s imports engine %s", name, dep)
			case dep == "internal/cli" && name != "cmd/hull":
				t.Errorf("%s imports internal/cli; only cmd/hull may", name)
			case slices.Contains(testOnly, dep):
				t.Errorf("%s imports the test helper %s outside a test", name, dep)
			case (name == "internal/scan" || name == "internal/verify") && (strings.Contains(imp, "docker/docker/client") || strings.Contains(imp, "moby/moby/client")):
				t.Errorf("%s imports a daemon client %s", name, imp)
			case (name == "internal/run" && dep == "internal/guard") || (name == "internal/guard" && dep == "internal/run"):
				t.Errorf("run and guard must not import each other (%s -> %s)", name, dep)
			case (name == "internal/gate" && slices.Contains(surfaces, dep)) || (dep == "internal/gate" && slices.Contains(surfaces, name)):
				t.Errorf("the gate and the other surfaces must not import each other (%s -> %s)", name, dep)
			}
		}
	}
}

// TestWorkloadStaysALeaf: the workload model and its rules are shared by
// the audit, the gate, the launcher, `hull config` and admission, so they
// reach no engine and no image library, directly or through another
// package: no go-containerregistry, no engine, no command.
func TestWorkloadStaysALeaf(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", mod+"internal/workload").Output()
	if err != nil {
		t.Fatal(err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, mod+"internal/finding") {
		t.Fatalf("go list -deps internal/workload: %v, without internal/finding", deps)
	}
	engines := []string{"internal/lint", "internal/scan", "internal/verify", "internal/sign", "internal/export", "internal/audit",
		"internal/profile", "internal/run", "internal/guard", "internal/image", "internal/gate", "internal/check",
		"internal/admission", "internal/cli"}
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/google/go-containerregistry") {
			t.Errorf("internal/workload depends on %s (go-containerregistry)", d)
		}
		if slices.ContainsFunc(engines, func(e string) bool { return d == mod+e || strings.HasPrefix(d, mod+e+"/") }) {
			t.Errorf("internal/workload depends on the engine %s", short(d))
		}
	}
}

// TestOracleStaysOutOfTheBinary: the reference implementations the tests
// compare hull with (containers/image, sigstore-go, cosign, notation's
// library, syft) must never be linked into hull.
func TestOracleStaysOutOfTheBinary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/hull-sec/hull/cmd/hull").Output()
	if err != nil {
		t.Fatal(err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps found only %d packages", len(deps))
	}
	for _, d := range deps {
		for _, oracle := range []string{"go.podman.io/", "github.com/containers/image", "github.com/sigstore/sigstore-go", "github.com/sigstore/cosign",
			"github.com/notaryproject/notation-go", "github.com/anchore/", "github.com/proglottis/gpgme"} {
			if strings.HasPrefix(d, oracle) {
				t.Errorf("cmd/hull links %s, a test-only oracle", d)
			}
		}
		// Every command pays for every package's init; these did
		// measurable work there (bench/README.md, verify).
		if reason, ok := slowInit[d]; ok {
			t.Errorf("cmd/hull links %s: %s", d, reason)
		}
	}
}

// slowInit are packages whose init costs every hull command start-up
// time, with what to use instead.
var slowInit = map[string]string{
	"github.com/BurntSushi/toml/internal":                  "it loads the local time zone at init (0.5-2 ms a run); use github.com/pelletier/go-toml/v2",
	"github.com/ProtonMail/go-crypto/openpgp/internal/ecc": "its curve tables and the post-quantum code it links cost 0.9 ms a run; use internal/pgp (ProtonMail stays a test oracle)",
}
