package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOneVerifierConstructor: every verb and the containerd verifier get
// their verifier from verify.Open, which loads the policy file, takes its
// directory and the cache; none assembles one (verify.New, a second
// policy.LoadFile beside loadPolicy).
func TestOneVerifierConstructor(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	opens := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			switch call := pkg.Name + "." + sel.Sel.Name; call {
			case "verify.New", "verify.UserCache":
				t.Errorf("%s calls %s: build the verifier with verify.Open", f, call)
			case "policy.LoadFile":
				if f != "policyfile.go" {
					t.Errorf("%s calls policy.LoadFile: use loadPolicy, or let verify.Open load the file", f)
				}
			case "verify.Open":
				opens++
			}
			return true
		})
	}
	if opens < 4 {
		t.Errorf("verify.Open is called %d times; hull verify, hull config, hull policy validate and the containerd verifier each call it", opens)
	}
}
