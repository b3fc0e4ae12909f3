package audit

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/tlsgen"
)

func clientStates(t *testing.T, p Probe, o ClientOptions) map[string]finding.CheckStatus {
	t.Helper()
	sts, _ := Run(p, "client", ClientChecks(o))
	out := map[string]finding.CheckStatus{}
	for _, s := range sts {
		out[s.ID] = s
	}
	return out
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestClientChecksFake(t *testing.T) {
	certs := t.TempDir()
	if _, err := tlsgen.Generate(certs, tlsgen.Options{}); err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(certs, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	h := &fakeHost{name: "dev", uid: 1000, files: fstest.MapFS{
		"var/run/docker.sock":              {Mode: fs.ModeSocket | 0o660},
		"run/user/1000/podman/podman.sock": {Mode: fs.ModeSocket | 0o666},
		"home/dev/.docker/cert.pem":        {Data: read("cert.pem")},
		"home/dev/.docker/ca.pem":          {Data: read("ca.pem")},
		"home/dev/.docker/key.pem":         {Data: read("key.pem"), Mode: 0o600},
		"etc/docker/daemon.json":           {Data: []byte(`{"hosts":["tcp://0.0.0.0:2376"]}`)},
	}, procs: []Process{{PID: 42, Cmdline: []string{"/usr/sbin/dockerd", "-H", "unix:///var/run/docker.sock"}}}}
	pings := map[string]PingResult{"127.0.0.1:2376": {Refused: "tls: certificate required"}}
	o := ClientOptions{Getenv: env(map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000", "HOME": "/home/dev"}),
		Ping: func(_ context.Context, a string) PingResult { return pings[a] }}

	s := clientStates(t, h, o)
	if c := s["client-socket-perms"]; c.State != finding.StateFail || !strings.Contains(c.Reason, "podman.sock 0666") {
		t.Errorf("socket perms: %+v", c)
	}
	if c := s["client-daemon-tcp"]; c.State != finding.StateFail || !strings.Contains(c.Reason, "tcp://0.0.0.0:2376 without --tlsverify") {
		t.Errorf("daemon.json hosts without tlsverify: %+v", c)
	}
	if c := s["client-endpoint-auth"]; c.State != finding.StatePass {
		t.Errorf("endpoint refusing: %+v", c)
	}
	if c := s["client-tls-material"]; c.State != finding.StatePass {
		t.Errorf("tls material: %+v", c)
	}

	h.files["run/user/1000/podman/podman.sock"].Mode = fs.ModeSocket | 0o600
	h.files["etc/docker/daemon.json"].Data = []byte(`{"hosts":["tcp://0.0.0.0:2376"],"tlsverify":true}`)
	h.files["home/dev/.docker/key.pem"].Mode = 0o644
	pings["127.0.0.1:2376"] = PingResult{TLSNoCert: true}
	o.Now = func() time.Time { return time.Now().Add(400 * 24 * time.Hour) }
	s = clientStates(t, h, o)
	if c := s["client-socket-perms"]; c.State != finding.StatePass {
		t.Errorf("socket perms fixed: %+v", c)
	}
	if c := s["client-daemon-tcp"]; c.State != finding.StatePass {
		t.Errorf("tlsverify in daemon.json: %+v", c)
	}
	if c := s["client-endpoint-auth"]; c.State != finding.StateFail || !strings.Contains(c.Reason, "without a client certificate") {
		t.Errorf("endpoint answering: %+v", c)
	}
	if c := s["client-tls-material"]; c.State != finding.StateFail || !strings.Contains(c.Reason, "expired") || !strings.Contains(c.Reason, "0644") {
		t.Errorf("expired certificate, open key: %+v", c)
	}

	h.procs, h.files = nil, fstest.MapFS{"proc/1/cmdline": {Data: []byte("/sbin/init\x00")}}
	o.Getenv = env(map[string]string{"DOCKER_HOST": "tcp://10.1.2.3:2375"})
	s = clientStates(t, h, o)
	for id, want := range map[string]finding.State{"client-socket-perms": finding.StateSkip, "client-daemon-tcp": finding.StateSkip,
		"client-endpoint-auth": finding.StateSkip, "client-tls-material": finding.StateSkip} {
		if s[id].State != want || s[id].Reason == "" {
			t.Errorf("%s: %+v, want %s with a reason", id, s[id], want)
		}
	}
	if !strings.Contains(s["client-endpoint-auth"].Reason, "not loopback") {
		t.Errorf("a remote DOCKER_HOST is not probed: %+v", s["client-endpoint-auth"])
	}
	// With hidepid (no /proc/1 to see) no dockerd in the list proves
	// nothing: the TCP checks cannot decide.
	delete(h.files, "proc/1/cmdline")
	o.Getenv = env(nil)
	s = clientStates(t, h, o)
	for _, id := range []string{"client-daemon-tcp", "client-endpoint-auth"} {
		if s[id].State != finding.StateError || !strings.Contains(s[id].Reason, "hidepid") {
			t.Errorf("%s with other users' processes hidden: %+v, want undecided", id, s[id])
		}
	}
}

// TestUnreadableDaemonJSON: a daemon.json this user cannot read is
// unknown, not absent: the client checks cannot pass on the flags alone,
// and the engine checks say so too.
func TestUnreadableDaemonJSON(t *testing.T) {
	h := &fakeHost{name: "dev", uid: 1000, files: fstest.MapFS{
		"etc/docker/daemon.json": {Data: []byte(`{"hosts":["tcp://0.0.0.0:2375"]}`), Mode: 0o600},
	}, denied: map[string]bool{"/etc/docker/daemon.json": true},
		procs: []Process{{PID: 42, Cmdline: []string{"/usr/sbin/dockerd", "-H", "unix:///var/run/docker.sock"}}}}
	c := ParseDaemonConfig(h, h.procs[0])
	if c.File != "/etc/docker/daemon.json" || !strings.Contains(c.Problem, "cannot read") {
		t.Errorf("config: file %q, problem %q", c.File, c.Problem)
	}
	o := ClientOptions{Getenv: env(nil), Ping: func(context.Context, string) PingResult { return PingResult{} }}
	s := clientStates(t, h, o)
	for _, id := range []string{"client-daemon-tcp", "client-endpoint-auth"} {
		if s[id].State != finding.StateError || !strings.Contains(s[id].Reason, "cannot read") {
			t.Errorf("%s: %+v, want an error naming the unreadable file", id, s[id])
		}
	}
}

func TestProbeAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.0.0:2375": "127.0.0.1:2375", "[::]:2376": "127.0.0.1:2376", ":2375": "127.0.0.1:2375",
		"0.0.0.0": "127.0.0.1:2375", "127.0.0.1:2376": "127.0.0.1:2376", "10.0.0.5:2376": "10.0.0.5:2376",
	} {
		if got := probeAddr(in); got != want {
			t.Errorf("probeAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// Real engines: dockerd on TCP without TLS, with TLS but no client
// verification, and with --tlsverify; the checks see the processes on
// this machine and probe the loopback endpoints for real. A decoy dockerd
// on plain TCP (another engine on the machine, as another test or the
// system may run) must not sway the verdict on the test's own engine.
func TestClientChecksRealDockerd(t *testing.T) {
	decoy := testenv.FreeLoopbackAddr(t)
	testenv.StartDockerd(t, "-H", "tcp://"+decoy)
	certs := t.TempDir()
	f, err := tlsgen.Generate(certs, tlsgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tlsFlags := []string{"--tlscacert", f.CA, "--tlscert", f.ServerCert, "--tlskey", f.ServerKey}
	for _, c := range []struct {
		name   string
		flags  []string
		daemon finding.State
		probe  finding.State
		why    string
		// bare gives -H as HOST:PORT without a scheme, which dockerd
		// takes as TCP.
		bare bool
	}{
		{"plain TCP", nil, finding.StateFail, finding.StateFail, "plain HTTP", false},
		{"plain TCP without a scheme", nil, finding.StateFail, finding.StateFail, "plain HTTP", true},
		// dockerd asks for a client certificate unless told not to.
		{"TLS without verify", append([]string{"--tls", "--tlsverify=false"}, tlsFlags...), finding.StateFail, finding.StateFail, "TLS without a client certificate", false},
		{"mutual TLS", append([]string{"--tlsverify"}, tlsFlags...), finding.StatePass, finding.StatePass, "refused", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := testenv.FreeLoopbackAddr(t)
			host := "tcp://" + addr
			if c.bare {
				host = addr
			}
			d := testenv.StartDockerd(t, append([]string{"-H", host}, c.flags...)...)
			o := ClientOptions{Getenv: env(nil), Ping: PingEndpoint}
			if !c.bare {
				o.Getenv = env(map[string]string{"DOCKER_HOST": "tcp://" + addr})
			}
			s := clientStates(t, ownedBy(d.Socket), o)
			if d := s["client-daemon-tcp"]; d.State != c.daemon || !strings.Contains(d.Reason, addr) {
				t.Errorf("client-daemon-tcp: %+v, want %s naming %s", d, c.daemon, addr)
			}
			if e := s["client-endpoint-auth"]; e.State != c.probe || !strings.Contains(e.Reason, c.why) {
				t.Errorf("client-endpoint-auth: %+v, want %s with %q", e, c.probe, c.why)
			}
			for id, st := range s {
				if strings.Contains(st.Reason, decoy) {
					t.Errorf("%s judged the decoy engine on %s: %s", id, decoy, st.Reason)
				}
			}
		})
	}
}

// Endpoints come from DOCKER_HOST, CONTAINER_HOST and docker contexts;
// ssh:// ones are not probed, and say why.
func TestClientEndpoints(t *testing.T) {
	h := &fakeHost{name: "dev", uid: 1000, files: fstest.MapFS{
		"home/dev/.docker/contexts/meta/abc/meta.json": {Data: []byte(`{"Name":"remote","Endpoints":{"docker":{"Host":"tcp://127.0.0.1:2376","SkipTLSVerify":false}}}`)},
		"home/dev/.docker/contexts/meta/def/meta.json": {Data: []byte(`{"Name":"box","Endpoints":{"docker":{"Host":"ssh://dev@box.example"}}}`)},
		"home/dev/.docker/contexts/meta/ghi/meta.json": {Data: []byte(`{"Name":"sock","Endpoints":{"docker":{"Host":"unix:///home/dev/run/docker.sock"}}}`)},
		"home/dev/run/docker.sock":                     {Mode: fs.ModeSocket | 0o666},
		"proc/1/cmdline":                               {Data: []byte("/sbin/init\x00")},
	}}
	var probed []string
	o := ClientOptions{Getenv: env(map[string]string{"HOME": "/home/dev", "CONTAINER_HOST": "ssh://core@vm.example/run/podman/podman.sock"}),
		Ping: func(_ context.Context, a string) PingResult {
			probed = append(probed, a)
			return PingResult{PlainHTTP: true}
		}}
	s := clientStates(t, h, o)
	if c := s["client-endpoint-auth"]; c.State != finding.StateFail || !strings.Contains(c.Reason, "127.0.0.1:2376 answers plain HTTP") {
		t.Errorf("context endpoint: %+v", c)
	}
	if len(probed) != 1 || probed[0] != "127.0.0.1:2376" {
		t.Errorf("probed %v", probed)
	}
	if c := s["client-socket-perms"]; c.State != finding.StateFail || !strings.Contains(c.Reason, "/home/dev/run/docker.sock 0666") {
		t.Errorf("a context's socket: %+v", c)
	}
	delete(h.files, "home/dev/.docker/contexts/meta/abc/meta.json")
	if c := clientStates(t, h, o)["client-endpoint-auth"]; c.State != finding.StatePass || !strings.Contains(c.Reason, "over SSH") {
		t.Errorf("ssh endpoints only: %+v", c)
	}
}

// Where dockerd listens, as dockerd reads its hosts: HOST:PORT without a
// scheme and tcp:// without an address are TCP, and fd:// (systemd
// socket activation) listens where docker.socket and its drop-ins say,
// which may be TCP. Each is judged, never taken for the unix socket.
func TestDaemonListeners(t *testing.T) {
	unit := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	h := &fakeHost{files: fstest.MapFS{
		"lib/systemd/system/docker.socket":                  unit("[Socket]\nListenStream=/run/docker.sock\nSocketMode=0660\n"),
		"etc/systemd/system/docker.socket.d/50-tcp.conf":    unit("[Socket]\nListenStream=\nListenStream=2375\n"),
		"lib/systemd/system/docker.socket.d/10-vendor.conf": unit("[Socket]\nListenStream=/run/other.sock\n"),
	}}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-H", "0.0.0.0:2375"}, "tcp://0.0.0.0:2375"},
		{[]string{"--host=:2375"}, "tcp://127.0.0.1:2375"},
		{[]string{"-H", "tcp://", "--tlsverify"}, "tcp://127.0.0.1:2376"},
		{[]string{"-H", "unix://"}, "unix:///var/run/docker.sock"},
		{nil, "unix:///var/run/docker.sock"},
		// Drop-ins apply by name: 50-tcp.conf resets what 10-vendor.conf added.
		{[]string{"-H", "fd://"}, "tcp://0.0.0.0:2375"},
	} {
		c := ParseDaemonConfig(h, Process{PID: 7, Cmdline: append([]string{"/usr/bin/dockerd"}, tc.args...)})
		got, unknown := c.Listeners(h)
		if strings.Join(got, " ") != tc.want || unknown != "" {
			t.Errorf("%v: listeners %v (%s), want %s", tc.args, got, unknown, tc.want)
		}
	}
	h.procs = []Process{{PID: 7, Cmdline: []string{"/usr/bin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"}}}
	o := ClientOptions{Getenv: env(nil), Ping: func(context.Context, string) PingResult { return PingResult{PlainHTTP: true} }}
	s := clientStates(t, h, o)
	for _, id := range []string{"client-daemon-tcp", "client-endpoint-auth"} {
		if s[id].State != finding.StateFail || !strings.Contains(s[id].Reason, "2375") {
			t.Errorf("%s: %+v, want a failure naming port 2375 from docker.socket", id, s[id])
		}
	}
	delete(h.files, "lib/systemd/system/docker.socket")
	if s := clientStates(t, h, o); s["client-daemon-tcp"].State != finding.StateError {
		t.Errorf("fd:// without a socket unit: %+v, want undecided", s["client-daemon-tcp"])
	}
	// dockerd's flags take every spelling strconv.ParseBool does.
	c := ParseDaemonConfig(h, Process{PID: 7, Cmdline: []string{"dockerd", "--userland-proxy=T", "--no-new-privileges=True", "--iptables=F"}})
	if !c.Bool("userland-proxy", false) || !c.Bool("no-new-privileges", false) || c.Bool("iptables", true) {
		t.Errorf("boolean spellings misread: %+v", c.settings)
	}
}
