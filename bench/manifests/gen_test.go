package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The corpus is the same byte for byte for the same seed, differs for
// another seed, and every document is YAML (no key twice) with a kind.
func TestReproducible(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for _, x := range []struct {
		dir  string
		seed uint64
	}{{a, 1}, {b, 1}, {c, 2}} {
		if err := write(x.dir, 300, x.seed); err != nil {
			t.Fatal(err)
		}
	}
	names, err := os.ReadDir(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 300 {
		t.Fatalf("%d files, want 300", len(names))
	}
	differs := false
	kinds := map[string]int{}
	for _, e := range names {
		da, _ := os.ReadFile(filepath.Join(a, e.Name()))
		db, err := os.ReadFile(filepath.Join(b, e.Name()))
		if err != nil || !bytes.Equal(da, db) {
			t.Errorf("%s differs between two runs with seed 1", e.Name())
		}
		if dc, err := os.ReadFile(filepath.Join(c, e.Name())); err != nil || !bytes.Equal(da, dc) {
			differs = true
		}
		dec := yaml.NewDecoder(bytes.NewReader(da))
		for {
			// Into a map: yaml.v3 refuses a key written twice.
			var doc map[string]any
			if err := dec.Decode(&doc); err != nil {
				if err != io.EOF {
					t.Errorf("%s: %v", e.Name(), err)
				}
				break
			}
			kind, _ := doc["kind"].(string)
			if kind == "" {
				t.Errorf("%s: a document without kind", e.Name())
			}
			kinds[kind]++
		}
	}
	if !differs {
		t.Error("seed 2 wrote the same corpus as seed 1")
	}
	for _, k := range []string{"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "Service"} {
		if kinds[k] == 0 {
			t.Errorf("no %s in 300 files: %v", k, kinds)
		}
	}
}
