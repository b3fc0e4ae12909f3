package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/engineapi"
	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/workload"
)

// createAndInspect sends body to dockerd's POST /containers/create and
// returns the new container's inspection, or the status and message of a
// refusal.
func createAndInspect(t *testing.T, c *http.Client, body string) (inspect []byte, status int, msg string) {
	t.Helper()
	do := func(method, path, body string) (int, []byte) {
		req, err := http.NewRequestWithContext(context.Background(), method, "http://docker"+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, data
	}
	st, data := do(http.MethodPost, "/containers/create", body)
	if st != http.StatusCreated {
		return nil, st, string(data)
	}
	var created struct{ ID string }
	if err := json.Unmarshal(data, &created); err != nil {
		t.Fatal(err)
	}
	st, data = do(http.MethodGet, "/containers/"+created.ID+"/json", "")
	if st != http.StatusOK {
		t.Fatalf("inspect %s: %d %s", created.ID, st, data)
	}
	if st, data := do(http.MethodDelete, "/containers/"+created.ID+"?v=1", ""); st != http.StatusNoContent {
		t.Fatalf("delete %s: %d %s", created.ID, st, data)
	}
	return data, st, ""
}

// dockerd is the oracle of the create request converter: each legacy
// Binds string is accepted or refused by workload.ParseBind as dockerd
// accepts or refuses it, and read as the mount dockerd makes of it; and a
// request's settings judged before dockerd sees them give each container
// rule the verdict the created container's inspection gives.
func TestCreateRequestAgainstDockerd(t *testing.T) {
	d := testenv.StartDockerd(t)
	d.BusyboxImage(t, "hull-test/busybox:1")
	c := testenv.UnixClient(d.Socket)
	for _, spec := range []string{"/etc:/e", "/etc:/e:ro", "/etc/:/e:rw,rslave", "/usr:/u:Z,ro,shared", "/usr:/u:private,z",
		"data:/data", "data:/data:nocopy", "data:/data:ro,nocopy", "/anon", "/etc:/e:nocopy", "data:/data:rshared",
		"/etc:/e:ro,rw", "/etc:/e:shared,slave", "/etc:ro", "/etc:/e:bogus", "/etc:/e:ro:x", ":/e", "/etc:e", "/etc:/e:cached",
		"/etc:/e:z,Z", "/etc:/e:nocopy,nocopy", "rel/dir:/e", "-v:/e", "v.1_x-y:/e"} {
		m, perr := workload.ParseBind(spec)
		body := `{"Image":"hull-test/busybox:1","Cmd":["true"],"HostConfig":{"NetworkMode":"none","Binds":[` + jsonString(spec) + `]}}`
		data, st, msg := createAndInspect(t, c, body)
		if (perr == nil) != (data != nil) {
			t.Errorf("bind %q: hull says %v, dockerd %d %s", spec, perr, st, strings.TrimSpace(msg))
			continue
		}
		if data == nil {
			continue
		}
		ws, err := workload.ParseInspect(append(append([]byte("["), data...), ']'))
		if err != nil || len(ws) != 1 || len(ws[0].Mounts) != 1 {
			t.Fatalf("bind %q: inspection %v: %s", spec, err, data)
		}
		got := ws[0].Mounts[0]
		if got.Type != m.Type || got.Destination != m.Destination || got.ReadOnly != m.ReadOnly || m.Propagation != "" && got.Propagation != m.Propagation {
			t.Errorf("bind %q: hull reads %+v, dockerd made %+v", spec, m, got)
		}
	}

	// --security-opt: what dockerd takes, hull reads; what it refuses,
	// hull refuses, save Podman's own keys, which hull reads for Podman's
	// Docker-compatible API.
	for _, opt := range []string{"no-new-privileges", "no-new-privileges=false", "no-new-privileges:true", "no-new-privileges=1",
		"no-new-privileges=maybe", "seccomp=unconfined", "seccomp:unconfined", "label=disable", "label:disable", "disable",
		"label=type:spc_t", "apparmor=unconfined", "bogus", "unknown=1", "=x"} {
		_, perr := workload.ParseCreate([]byte(`{"Image":"x","HostConfig":{"SecurityOpt":[` + jsonString(opt) + `]}}`))
		body := `{"Image":"hull-test/busybox:1","Cmd":["true"],"HostConfig":{"NetworkMode":"none","SecurityOpt":[` + jsonString(opt) + `]}}`
		data, st, msg := createAndInspect(t, c, body)
		if (perr == nil) != (data != nil) {
			t.Errorf("--security-opt %q: hull says %v, dockerd %d %s", opt, perr, st, strings.TrimSpace(msg))
		}
	}

	for name, req := range map[string]string{
		"insecure": `{"Image":"hull-test/busybox:1","User":"root","Cmd":["true"],"Healthcheck":{"Test":["NONE"]},
			"HostConfig":{"Privileged":true,"NetworkMode":"host","PidMode":"host","IpcMode":"host","UTSMode":"host","UsernsMode":"host",
			"CapAdd":["SYS_ADMIN","net_raw"],"Binds":["/etc:/host-etc","/run:/host-run:ro,rslave","data:/data"],
			"Mounts":[{"Type":"bind","Source":"/usr","Target":"/u","BindOptions":{"Propagation":"rshared"}}],
			"SecurityOpt":["seccomp=unconfined","no-new-privileges=false","label:disable"],"RestartPolicy":{"Name":"always"},
			"Devices":[{"PathOnHost":"/dev/null","PathInContainer":"/dev/hostnull","CgroupPermissions":"rwm"}],
			"DeviceCgroupRules":["a *:* rwm"],"CgroupParent":"/hull-test"}}`,
		// A request without a health check or a user keeps the image's,
		// which only the created container shows: this one names both.
		"ports": `{"Image":"hull-test/busybox:1","User":"0","Cmd":["true"],"ExposedPorts":{"80/tcp":{}},"Healthcheck":{"Test":["NONE"]},
			"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"80"}],"8443/tcp":[{"HostIp":"127.0.0.1","HostPort":"8443"}]},
			"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":9},"MaskedPaths":[],"ReadonlyPaths":[],"CpuShares":1024}}`,
		"hardened": `{"Image":"hull-test/busybox:1","User":"65534:65534","Cmd":["true"],"Healthcheck":{"Test":["CMD","true"]},
			"HostConfig":{"NetworkMode":"none","CapDrop":["ALL"],"ReadonlyRootfs":true,"SecurityOpt":["no-new-privileges"],
			"Memory":67108864,"PidsLimit":64,"NanoCpus":500000000,"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},
			"Tmpfs":{"/tmp":"rw,size=1m"}}}`,
	} {
		w, err := workload.ParseCreate([]byte(req))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		data, st, msg := createAndInspect(t, c, req)
		if data == nil {
			t.Fatalf("%s: dockerd refused: %d %s", name, st, msg)
		}
		var cj engineapi.ContainerJSON
		if err := json.NewDecoder(bytes.NewReader(data)).Decode(&cj); err != nil {
			t.Fatal(err)
		}
		running := workload.FromInspect(&cj)
		env := &workload.Env{Engine: "docker"}
		failed := 0
		for _, r := range workload.ContainerRules() {
			// The inspection names the AppArmor profile the engine
			// applied, "" on this kernel without AppArmor; the audit
			// judges it only where the engine reports AppArmor.
			if r.Stages&workload.StageRequest == 0 || r.ID == "container-apparmor" {
				continue
			}
			before, after := r.Judge(env, &w), r.Judge(env, &running)
			if before.State != after.State || before.Evidence != after.Evidence {
				t.Errorf("%s %s: request %q %q, created container %q %q", name, r.ID, before.State, before.Evidence, after.State, after.Evidence)
			}
			if before.State != "" {
				failed++
			}
		}
		if name != "hardened" && failed < 5 || name == "hardened" && failed != 0 {
			t.Errorf("%s: %d rules found something", name, failed)
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
