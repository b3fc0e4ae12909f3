package policy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadValid(t *testing.T) {
	p, err := Load(strings.NewReader(`apiVersion: hull.dev/v1
lint:
  failOn: medium
  ignore:
    - id: no-healthcheck
      reason: health is probed by the orchestrator
    - id: latest-tag
      reason: dev images only
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Lint.FailOn != "medium" || !slices.Equal(p.IgnoredIDs(), []string{"no-healthcheck", "latest-tag"}) {
		t.Errorf("loaded %+v", p)
	}
}

func TestLoadRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"empty":         ``,
		"wrong version": "apiVersion: hull.dev/v0\n",
		"no version":    "lint: {}\n",
		"unknown field": "apiVersion: hull.dev/v1\nlint:\n  ignroe: []\n",
		"duplicate key": "apiVersion: hull.dev/v1\napiVersion: hull.dev/v1\n",
		"bad severity":  "apiVersion: hull.dev/v1\nlint:\n  failOn: severe\n",
		"no reason":     "apiVersion: hull.dev/v1\nlint:\n  ignore:\n    - id: root-user\n",
		"no id":         "apiVersion: hull.dev/v1\nlint:\n  ignore:\n    - reason: x\n",
		"listed twice":  "apiVersion: hull.dev/v1\nlint:\n  ignore:\n    - {id: a, reason: x}\n    - {id: a, reason: y}\n",
		"two documents": "apiVersion: hull.dev/v1\n---\napiVersion: hull.dev/v1\n",
		"wrong type":    "apiVersion: hull.dev/v1\nlint: [1, 2]\n",
		"not yaml":      "{{{{",
		"alias bomb":    "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\napiVersion: hull.dev/v1\n",
		"oversize":      "apiVersion: hull.dev/v1\n#" + strings.Repeat("x", maxPolicyBytes) + "\n",
	} {
		_, err := Load(strings.NewReader(doc))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: want ErrInvalid, got %v", name, err)
		}
	}
}

func TestLoadFileNamesTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hull.yaml")
	if err := os.WriteFile(p, []byte("apiVersion: nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("error should name the file: %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add("apiVersion: hull.dev/v1\nlint:\n  ignore:\n    - {id: a, reason: b}\n")
	f.Add("apiVersion: hull.dev/v1\nlint: {failOn: high}\n")
	f.Add("a: &a [x]\nb: [*a, *a]\n")
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := Load(strings.NewReader(doc))
		if err == nil && p.Validate() != nil {
			t.Fatalf("Load accepted a policy Validate rejects: %q", doc)
		}
	})
}
