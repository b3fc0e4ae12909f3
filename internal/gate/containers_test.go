package gate

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hull-sec/hull/internal/engineapi"
	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/workload"
)

// decideReq runs the gate's decision on one request.
func decideReq(g *Gate, method, target, contentType, body string) decision {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return g.decide(httptest.NewRecorder(), r)
}

// TestJudgeParameters checks the operations judged on their query or
// body alone, before the engine is asked anything (the engine here does
// not exist, so a request that got further is refused as undecided).
func TestJudgeParameters(t *testing.T) {
	g, err := New(Options{Engine: "/nonexistent", FailOn: finding.SeverityHigh})
	if err != nil {
		t.Fatal(err)
	}
	const tar = "application/x-tar"
	for _, c := range []struct {
		method, target, ctype, body string
		refusal                     string // "" allowed
	}{
		{"POST", "/v1.41/build?t=x&networkmode=default&rm=1&cgroupparent=&remote=", tar, "x", ""},
		{"POST", "/build?networkmode=none&version=1", tar, "x", ""},
		{"POST", "/build?remote=https://example.com/x.git", tar, "", `remote="https://example.com/x.git" is not allowed`},
		{"POST", "/build?remote=&remote=git://x", tar, "", `remote="git://x"`},
		{"POST", "/build?networkmode=host", tar, "x", `networkmode="host" is not allowed`},
		{"POST", "/build?networkmode=container:abc", tar, "x", `networkmode="container:abc"`},
		{"POST", "/build?cgroupparent=/", tar, "x", "cgroup parent"},
		{"POST", "/build?securityopt=seccomp=unconfined", tar, "x", "securityopt"},
		{"POST", "/build?isolation=hyperv", tar, "x", "isolation"},
		{"POST", "/build?version=2", tar, "x", "BuildKit"},
		{"POST", "/build?Remote=x", tar, "x", `the parameter "Remote" is not one the gate knows`},
		{"POST", "/build?t=a;remote=x", tar, "x", "the query"},
		{"POST", "/build", "application/x-www-form-urlencoded", "remote=http://127.0.0.1:9/", "would read it as parameters"},
		{"POST", "/build", "Multipart/Form-Data; boundary=x", "--x--", "would read it as parameters"},
		{"POST", "/build", "application/x-www-form-urlencoded;;", "remote=x", "the Content-Type"},
		{"PUT", "/containers/c/archive?path=tmp", tar, "x", "not one absolute path"},
		{"PUT", "/containers/c/archive?path=/tmp/../../etc", tar, "x", "not one absolute path"},
		{"PUT", "/containers/c/archive?path=/tmp%00/x", tar, "x", "control characters"},
		{"PUT", "/containers/c/archive?path=/a&path=/b", tar, "x", "not one absolute path"},
		{"PUT", "/containers/c/archive?path=/tmp&chown=1", tar, "x", `"chown" is not one the gate knows`},
		{"POST", "/volumes/create", "application/json", `{"Name":"v"}`, ""},
		{"POST", "/volumes/create", "application/json", `{"Name":"v","DriverOpts":{"type":"tmpfs","device":"tmpfs","o":"size=1m"}}`, ""},
		{"POST", "/volumes/create", "application/json", `{"Name":"v","DriverOpts":{"type":"none","o":"bind","device":"/srv/data"}}`, ""},
		{"POST", "/volumes/create", "application/json", `{"Name":"v","DriverOpts":{"type":"none","o":"bind","device":"/etc"}}`, "container-sensitive-mounts (high)"},
		{"POST", "/volumes/create", "application/json", `{"Name":"v","DriverOpts":{"type":"tmpfs","o":"ro,rbind","device":"/"}}`, "container-sensitive-mounts"},
		{"POST", "/volumes/create", "application/json", `{"Name":"v","DriverOpts":{"o":"bind","device":"/run/docker.sock"}}`, "container-engine-socket"},
		{"POST", "/volumes/create", "application/json", `{"Name":"v","DriverOpts":{"o":"bind","device":"etc"}}`, "not an absolute host path"},
		{"POST", "/volumes/create", "application/json", `{"Name":"v","DriverOpts":{"type":"nfs","o":"addr=10.0.0.1","device":":/export"}}`, `of type "nfs"`},
		{"POST", "/volumes/create", "application/json", `{"Name":"v","DriverOpts":{"type":"ext4","device":"/dev/sda1"}}`, `of type "ext4"`},
		{"POST", "/volumes/create", "application/json", `{"Name":"v","DriverOpts":{"type":"overlay","o":"lowerdir=/etc,upperdir=/tmp/u,workdir=/tmp/w","device":"overlay"}}`, `of type "overlay"`},
		{"POST", "/volumes/create", "application/json", `{"Name":"v","DriverOpts":{"type":"none","o":"BIND","device":"/etc"}}`, `of type "none"`},
		{"POST", "/volumes/create", "application/json", `{"Name":"v","Driver":"vieux/sshfs"}`, "plugin"},
		{"POST", "/volumes/create", "application/json", `{"Name":"v","ClusterVolumeSpec":{}}`, "cluster"},
		{"POST", "/networks/create", "application/json", `{"Name":"n","Driver":"bridge","Options":{"com.docker.network.driver.mtu":"1400"}}`, ""},
		{"POST", "/networks/create", "application/json", `{"Name":"n","Driver":null,"IPAM":{"Driver":"default"}}`, ""},
		{"POST", "/networks/create", "application/json", `{"Name":"n","Driver":"macvlan","Options":{"parent":"eth0"}}`, `driver "macvlan" is not allowed`},
		{"POST", "/networks/create", "application/json", `{"Name":"n","Driver":"ipvlan"}`, `"ipvlan"`},
		{"POST", "/networks/create", "application/json", `{"Name":"n","Options":{"com.docker.network.bridge.name":"eth0"}}`, "com.docker.network.bridge.name"},
		{"POST", "/networks/create", "application/json", `{"Name":"n","ConfigFrom":{"Network":"conf"}}`, "configured from another"},
		{"POST", "/networks/create", "application/json", `{"Name":"n","IPAM":{"Driver":"plug"}}`, "IPAM driver"},
		{"POST", "/networks/create", "application/json", `{"Name":"n","Ingress":true}`, "ingress"},
		{"POST", "/plugins/pull?remote=vieux/sshfs", "application/json", `[]`, "plugins run as root on the host"},
		{"POST", "/plugins/authz:latest/disable", "", "", "lifts its checks"},
		{"DELETE", "/plugins/authz", "", "", "plugin remove: plugins run as root"},
		{"POST", "/containers/c/update", "application/json", `{"Devices":[{"PathOnHost":"/dev/sda"}]}`, "set at create"},
		{"POST", "/containers/c/update", "application/json", `{"CgroupParent":"/"}`, "set at create"},
	} {
		d := decideReq(g, c.method, c.target, c.ctype, c.body)
		switch {
		case c.refusal == "" && d.refusal != "":
			t.Errorf("%s %s %s: refused: %s", c.method, c.target, c.body, d.refusal)
		case c.refusal != "" && !strings.Contains(d.refusal, c.refusal):
			t.Errorf("%s %s %s: refusal %q, want one saying %q", c.method, c.target, c.body, d.refusal, c.refusal)
		}
	}
}

func TestMergeUpdate(t *testing.T) {
	pids := int64(100)
	hc := engineapi.HostConfig{RestartPolicy: engineapi.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}}
	hc.Memory, hc.PidsLimit, hc.CPUShares = 64<<20, &pids, 512
	// What docker update --cpu-shares 1024 sends: every other field zero.
	mergeUpdate(&hc, containerUpdate{Resources: engineapi.Resources{CPUShares: 1024}})
	if hc.Memory != 64<<20 || hc.PidsLimit == nil || *hc.PidsLimit != 100 || hc.CPUShares != 1024 || hc.RestartPolicy.Name != "on-failure" {
		t.Fatalf("zero fields changed settings: %+v", hc)
	}
	unlimited := int64(-1)
	mergeUpdate(&hc, containerUpdate{Resources: engineapi.Resources{Memory: -1, PidsLimit: &unlimited},
		RestartPolicy: engineapi.RestartPolicy{Name: "unless-stopped"}})
	if hc.Memory != -1 || *hc.PidsLimit != -1 || hc.RestartPolicy.Name != "unless-stopped" {
		t.Fatalf("update not merged: %+v", hc)
	}
}

// FuzzJudgeParameters feeds the operations judged on their query or body
// alone arbitrary queries and bodies: no panic, and nothing allowed that
// the rules above refuse.
func FuzzJudgeParameters(f *testing.F) {
	for _, s := range []struct{ q, body string }{
		{"networkmode=host&t=x", `{"Name":"v","DriverOpts":{"o":"bind","device":"/etc"}}`},
		{"remote=x", `{"Driver":"macvlan"}`},
		{"path=/tmp", `{"DriverOpts":{"type":"tmpfs"}}`},
		{"version=2&cgroupparent=%2F", `{"Options":{"com.docker.network.bridge.name":"x"}}`},
	} {
		f.Add(s.q, s.body)
	}
	g, err := New(Options{Engine: "/nonexistent", FailOn: finding.SeverityHigh})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, query, body string) {
		if d := decideReq(g, "POST", "/build?"+url.PathEscape(query), "application/x-tar", body); d.refusal == "" {
			q, err := url.ParseQuery(url.PathEscape(query))
			if err != nil {
				t.Fatalf("allowed a build whose query does not parse: %q", query)
			}
			for _, p := range []string{"remote", "cgroupparent", "securityopt", "outputs"} {
				if strings.Join(q[p], "") != "" {
					t.Fatalf("allowed a build with %s: %q", p, query)
				}
			}
			if nm := strings.Join(q["networkmode"], ","); strings.Contains(nm, "host") || strings.Contains(nm, "container") {
				t.Fatalf("allowed a build with networkmode %q", nm)
			}
		}
		if d := decideReq(g, "POST", "/volumes/create", "application/json", body); d.refusal == "" {
			var v volumeCreate
			if err := json.Unmarshal([]byte(body), &v); err != nil {
				t.Fatalf("allowed a volume create that does not decode: %q", body)
			}
			// A bind of a directory that holds a sensitive one (the
			// rule's reading).
			if dev := path.Clean(v.DriverOpts["device"]); len(v.DriverOpts) > 0 && v.DriverOpts["type"] != "tmpfs" {
				for _, s := range workload.SensitiveHostPaths() {
					if dev == "/" || dev == s || strings.HasPrefix(s, dev+"/") {
						t.Fatalf("allowed a volume binding %q: %q", dev, body)
					}
				}
			}
		}
		if d := decideReq(g, "POST", "/networks/create", "application/json", body); d.refusal == "" {
			var n networkCreate
			if err := json.Unmarshal([]byte(body), &n); err != nil || (n.Driver != "" && n.Driver != "bridge") {
				t.Fatalf("allowed a network create: %q", body)
			}
		}
	})
}

// TestAttachedAskedOnce: a volume or network a request names twice
// (Binds and Mounts, NetworkMode and EndpointsConfig) is inspected once.
func TestAttachedAskedOnce(t *testing.T) {
	var mu sync.Mutex
	asked := map[string]int{}
	eng := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked[r.URL.Path]++
		mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/volumes/") {
			w.Write([]byte(`{"Driver":"local"}`))
			return
		}
		w.Write([]byte(`{"Driver":"bridge"}`))
	}))
	sock := filepath.Join(t.TempDir(), "e.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	eng.Listener = ln
	eng.Start()
	t.Cleanup(eng.Close)
	g, err := New(Options{Engine: sock, FailOn: finding.SeverityHigh})
	if err != nil {
		t.Fatal(err)
	}
	d := decision{op: "container create", body: []byte(`{"HostConfig":{"NetworkMode":"p_default","Binds":["v:/a"],` +
		`"Mounts":[{"Type":"volume","Source":"v","Target":"/b"}]},"NetworkingConfig":{"EndpointsConfig":{"p_default":{}}}}`)}
	if d = g.judgeCreateRefs(context.Background(), d); d.refusal != "" {
		t.Fatalf("refused: %s", d.refusal)
	}
	mu.Lock()
	defer mu.Unlock()
	if asked["/volumes/v"] != 1 || asked["/networks/p_default"] != 1 || len(asked) != 2 {
		t.Errorf("the engine was asked %v, want /volumes/v and /networks/p_default once each", asked)
	}
}

// TestAttachedBounded: a create naming more volumes or networks than
// maxAttached is refused before the engine is asked about any.
func TestAttachedBounded(t *testing.T) {
	g, err := New(Options{Engine: "/nonexistent", FailOn: finding.SeverityHigh})
	if err != nil {
		t.Fatal(err)
	}
	var binds []string
	nets := map[string]any{}
	for i := range maxAttached + 1 {
		binds = append(binds, fmt.Sprintf("v%d:/m%d", i, i))
		nets[fmt.Sprintf("n%d", i)] = map[string]any{}
	}
	for _, c := range []struct {
		body any
		want string
	}{
		{map[string]any{"HostConfig": map[string]any{"Binds": binds}}, fmt.Sprintf("more than %d volumes", maxAttached)},
		{map[string]any{"NetworkingConfig": map[string]any{"EndpointsConfig": nets}}, fmt.Sprintf("more than %d networks", maxAttached)},
	} {
		body, _ := json.Marshal(c.body)
		if d := g.judgeCreateRefs(context.Background(), decision{op: "container create", body: body}); !strings.Contains(d.refusal, c.want) {
			t.Errorf("refusal %q, want %q", d.refusal, c.want)
		}
	}
}
