package workload

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParseCompose feeds Compose files to a project directory that holds
// a file to extend and sits next to a sentinel file: whatever the input,
// ParseCompose returns (no panic, no hang) and nothing from outside the
// directory reaches its result.
func FuzzParseCompose(f *testing.F) {
	for _, file := range composeCorpus(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []string{
		"services:\n  a:\n    extends:\n      file: ../sentinel.yaml\n      service: base\n",
		"services:\n  a:\n    extends:\n      file: /dev/zero\n      service: base\n",
		"services:\n  a:\n    extends:\n      file: lib/base.yaml\n      service: app\n",
		"services:\n  a:\n    image: x\n    env_file: ../sentinel.yaml\n    label_file: /dev/zero\n",
		"include:\n  - ../sentinel.yaml\n",
		"a: &a [x,x]\nb: &b [*a,*a]\nservices:\n  s:\n    image: x\n    labels: *b\n",
		"services:\n  a:\n    <<: *nope\n",
	} {
		f.Add([]byte(seed))
	}
	outer := f.TempDir()
	if err := os.WriteFile(filepath.Join(outer, "sentinel.yaml"), []byte("services:\n  base:\n    image: sentinel-outside\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	proj := filepath.Join(outer, "proj")
	if err := os.MkdirAll(filepath.Join(proj, "lib"), 0o700); err != nil {
		f.Fatal(err)
	}
	base, err := os.ReadFile("testdata/compose/extends/lib/base.yaml")
	if err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proj, "lib", "base.yaml"), base, 0o600); err != nil {
		f.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outer, "sentinel.yaml"), filepath.Join(proj, "link.yaml")); err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(proj, "compose.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		ws, err := ParseComposeWith(ctx, path, data, ComposeOptions{Environment: map[string]string{}})
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
		if err != nil {
			return
		}
		for _, w := range ws {
			if w.Image == "sentinel-outside" {
				t.Fatalf("a file outside the project directory was read: %+v", w)
			}
			for k, p := range w.Source.Fields {
				if p.File != "" && p.File != filepath.Join(proj, "lib", "base.yaml") {
					t.Errorf("%s placed in %s", k, p.File)
				}
			}
		}
	})
}

// FuzzParseLibpodSpec: any body gives a workload or an error, bounded.
func FuzzParseLibpodSpec(f *testing.F) {
	files, err := filepath.Glob("testdata/libpod/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no libpod corpus: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"portmappings":[{"container_port":1,"range":65535,"protocol":"tcp,udp"}]}`))
	f.Add([]byte(`{"devices":[{"path":":::"}],"device_cgroup_rule":[{"major":-1}],"netns":{"nsmode":"container"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := ParseLibpodSpec(data)
		if err != nil {
			return
		}
		if len(w.Ports) > maxPorts {
			t.Errorf("%d ports", len(w.Ports))
		}
		if w.Stage != StageRequest {
			t.Errorf("stage %d", w.Stage)
		}
	})
}
