package image

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	for in, want := range map[string]Ref{
		"alpine":                         {Kind: KindRegistry, Name: "alpine"},
		"127.0.0.1:5000/a/b:1@sha256:00": {Kind: KindRegistry, Name: "127.0.0.1:5000/a/b:1@sha256:00"},
		"docker://quay.io/x/y:2":         {Kind: KindRegistry, Name: "quay.io/x/y:2"},
		"docker-archive:/tmp/a:b.tar":    {Kind: KindDockerArchive, Path: "/tmp/a:b.tar"},
		"oci-archive:img.tar":            {Kind: KindOCIArchive, Path: "img.tar"},
		"oci-archive:img.tar:v1":         {Kind: KindOCIArchive, Path: "img.tar", Name: "v1"},
		"oci:./layout:1.0":               {Kind: KindOCILayout, Path: "./layout", Name: "1.0"},
		"oci:/a:b/layout":                {Kind: KindOCILayout, Path: "/a:b/layout"},
		"docker-daemon:nginx:1.27":       {Kind: KindDockerDaemon, Name: "nginx:1.27"},
		"podman:localhost/app:dev":       {Kind: KindPodman, Name: "localhost/app:dev"},
		"dir:/srv/rootfs":                {Kind: KindDir, Path: "/srv/rootfs"},
		"localhost:5000/team/app:1":      {Kind: KindRegistry, Name: "localhost:5000/team/app:1"},
	} {
		got, err := ParseRef(in)
		if err != nil || got != want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "  ", "dir:", "docker-archive:", "oci:", "podman:", "ftp://x/y"} {
		if _, err := ParseRef(bad); !errors.Is(err, ErrBadRef) {
			t.Errorf("ParseRef(%q): want ErrBadRef, got %v", bad, err)
		}
	}
}

// refuseAll is a transport that never touches the network.
type refuseAll struct{ seen []string }

func (r *refuseAll) RoundTrip(req *http.Request) (*http.Response, error) {
	r.seen = append(r.seen, req.URL.String())
	return nil, errors.New("test transport: no network")
}

func TestPlainHTTPOnlyForLoopbackOrListed(t *testing.T) {
	tr := &refuseAll{}
	// go-containerregistry would speak plain HTTP to any RFC 1918 address.
	_, err := Open(context.Background(), "10.1.2.3:5000/app:1", Options{Transport: tr})
	if err == nil {
		t.Fatal("open succeeded against a refusing transport")
	}
	for _, u := range tr.seen {
		if strings.HasPrefix(u, "http://") {
			t.Errorf("plain HTTP request reached the transport: %s", u)
		}
	}
	g := &plainHTTPGuard{base: tr, allowed: []string{"10.1.2.3:5000"}}
	for url, allowed := range map[string]bool{
		"http://10.1.2.3:5000/v2/":   true,
		"http://127.0.0.1:5000/v2/":  true,
		"http://[::1]:5000/v2/":      true,
		"http://localhost:5000/v2/":  true,
		"http://192.168.1.1/v2/":     false,
		"http://10.1.2.3:5001/v2/":   false,
		"https://192.168.1.1/v2/":    true,
		"https://127.0.0.1:5000/v2/": true,
		"https://10.1.2.3:5000/v2/":  false, // listed: plain HTTP only
	} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		_, err := g.RoundTrip(req)
		refused := err != nil && !strings.Contains(err.Error(), "test transport")
		if refused == allowed {
			t.Errorf("%s: allowed=%v but error %v", url, allowed, err)
		}
	}
	// A listed registry is opened over plain HTTP without a TLS attempt.
	tr.seen = nil
	_, _ = Open(context.Background(), "10.1.2.3:5000/app:1", Options{Transport: tr, InsecureRegistries: []string{"10.1.2.3:5000"}})
	if len(tr.seen) == 0 {
		t.Fatal("no request reached the transport")
	}
	for _, u := range tr.seen {
		if !strings.HasPrefix(u, "http://10.1.2.3:5000/") {
			t.Errorf("request to a listed insecure registry: %s", u)
		}
	}
}

func TestDaemonEndpointRules(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		kind Kind
		env  map[string]string
		want string
	}{
		{KindDockerDaemon, map[string]string{"DOCKER_HOST": "tcp://192.168.0.9:2375"}, "refusing plain TCP"},
		{KindDockerDaemon, map[string]string{"DOCKER_HOST": "ssh://me@host"}, "not supported"},
		{KindPodman, map[string]string{"CONTAINER_HOST": "unix:///nonexistent/podman.sock", "XDG_RUNTIME_DIR": "/nonexistent"}, ""},
		{KindPodman, map[string]string{"XDG_RUNTIME_DIR": "/nonexistent"}, "no Podman API socket found (tried /nonexistent/podman/podman.sock, /run/podman/podman.sock): start one with 'podman system service --time=0 unix://PATH', or set CONTAINER_HOST=unix://PATH"},
	} {
		_, err := resolveDaemon(tc.kind, env(tc.env))
		if tc.want == "" {
			if err != nil {
				t.Errorf("%v: unexpected error %v", tc.env, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want error containing %q, got %v", tc.env, tc.want, err)
		}
	}
	if _, err := Open(context.Background(), "podman:../../etc", Options{}); !errors.Is(err, ErrBadRef) {
		t.Errorf("path-like image name: want ErrBadRef, got %v", err)
	}
}
