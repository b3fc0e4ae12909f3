package policy

import (
	"strings"
	"testing"
	"time"
)

func TestRegistryTimeout(t *testing.T) {
	s := compileSchema(t)
	p, err := Load(strings.NewReader("apiVersion: hull.dev/v1\nregistry:\n  timeout: 1m30s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Registry.TimeoutDuration(); got != 90*time.Second {
		t.Fatalf("timeout %s, want 1m30s", got)
	}
	if err := s.Validate(yamlToJSON(t, "apiVersion: hull.dev/v1\nregistry:\n  timeout: 1m30s\n")); err != nil {
		t.Fatalf("schema rejects a valid timeout: %v", err)
	}
	// Both Load and the schema refuse these.
	for _, doc := range []string{
		"apiVersion: hull.dev/v1\nregistry:\n  timeout: soon\n",
		"apiVersion: hull.dev/v1\nregistry:\n  timeout: 30\n",
		"apiVersion: hull.dev/v1\nregistry:\n  timeout: -5s\n",
		"apiVersion: hull.dev/v1\nregistry:\n  timeuot: 5s\n",
	} {
		if _, err := Load(strings.NewReader(doc)); err == nil {
			t.Errorf("Load accepted %q", doc)
		}
		if err := s.Validate(yamlToJSON(t, doc)); err == nil {
			t.Errorf("the schema accepted %q", doc)
		}
	}
	// Load alone bounds the range, and says so in plain words.
	for _, v := range []string{"0s", "500ms", "2h"} {
		_, err := Load(strings.NewReader("apiVersion: hull.dev/v1\nregistry:\n  timeout: " + v + "\n"))
		if err == nil || !strings.Contains(err.Error(), "registry.timeout: "+v+" is outside 1s to 1h") {
			t.Errorf("%s: got %v", v, err)
		}
	}
}
