package workload

import (
	"os"
	"path"
	"path/filepath"
	"testing"
)

// judgeAll runs every container rule on w, at running and request
// stages, with a host that knows sockets and paths.
func judgeAll(w *Workload) {
	env := &Env{Engine: "docker", EngineSockets: []string{"/run/docker.sock"}, DataRoots: []string{"/var/lib/docker"},
		MaskedSystemPaths: EngineMaskedPaths(), Joined: func(string) *Workload { return w }}
	for _, r := range ContainerRules() {
		r.Judge(env, w)
		r.Judge(nil, w)
	}
}

func seedFiles(f *testing.F, glob string) {
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		f.Fatalf("seeds %s: %v", glob, err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// An engine's answer is untrusted: whatever it says, ParseInspect returns
// workloads or an error, and the rules judge any workload it returns.
func FuzzParseInspect(f *testing.F) {
	seedFiles(f, "testdata/inspect-*.json")
	f.Add([]byte(`[{"HostConfig":{"PidMode":"container:x","Binds":["a:b:c:d"]},"Mounts":[{"Source":""}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ws, err := ParseInspect(data)
		if err != nil {
			return
		}
		for i := range ws {
			if ws[i].Stage != StageRunning {
				t.Fatalf("stage %v", ws[i].Stage)
			}
			judgeAll(&ws[i])
		}
	})
}

// A create request is untrusted (the gate judges what clients send):
// ParseCreate returns a workload whose mounts are well formed, or an
// error.
func FuzzParseCreate(f *testing.F) {
	seedFiles(f, "testdata/create-*.json")
	f.Add([]byte(`{"HostConfig":{"Binds":["/a:/b:ro,rshared","v:/c:nocopy","/d"],"SecurityOpt":["label:disable","no-new-privileges"]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := ParseCreate(data)
		if err != nil {
			return
		}
		for _, m := range w.Mounts {
			if m.Type == "bind" && !path.IsAbs(m.Source) {
				t.Fatalf("bind with a relative source: %+v", m)
			}
		}
		judgeAll(&w)
	})
}
