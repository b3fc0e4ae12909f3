package gate

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/workload"
)

// FuzzPullQuery: what parsePull accepts names one repository, as hull
// names it, and exactly one tag or digest, and reads back the same.
func FuzzPullQuery(f *testing.F) {
	for _, s := range [][2]string{{"busybox", "latest"}, {"127.0.0.1:5000/team/app", "sha256:" + string(bytes.Repeat([]byte("ab"), 32))},
		{"a/b:1", "2"}, {"a@sha256:ab", ""}, {"a:1@sha256:ab", ""}, {"a", ""}, {"A/b", "1"}, {"a/../b", "1"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, fromImage, tag string) {
		p, err := parsePull(fromImage, tag)
		if err != nil {
			return
		}
		if (p.tag == "") == (p.digest == "") {
			t.Fatalf("parsePull(%q, %q) = %+v: want one of tag and digest", fromImage, tag, p)
		}
		r, err := name.NewRepository(p.repo)
		if err != nil || image.CanonicalRepository(r) != p.repo {
			t.Fatalf("parsePull(%q, %q) names the repository %q (%v)", fromImage, tag, p.repo, err)
		}
		if again, err := parsePull(p.String(), ""); err != nil || again != p {
			t.Fatalf("parsePull(%q, %q) = %+v, read back as %+v, %v", fromImage, tag, p, again, err)
		}
	})
}

// FuzzPullStream: the engine's stream (dockerd's or libpod's) passes
// unchanged, however it is cut, and the tag follows it or not whatever
// the cuts.
func FuzzPullStream(f *testing.F) {
	for _, s := range []string{"{\"status\":\"x\"}\r\n", "{\"error\":\"x\"}\r\n", "{\"errorDetail\":{}}", "{", "\n\n", "{\"status\":\"x\"}\r\n{\"Error\":\"y\"}",
		"{\"stream\":\"x\"}\n{\"images\":[\"a\"],\"id\":\"a\"}\n", "{\"Images\":[\"a\"],\"Error\":\"y\"}"} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, stream []byte, libpod bool) {
		format := dockerProgress
		if libpod {
			format = libpodProgress
		}
		var tagged [2]bool
		for i, r := range []io.Reader{bytes.NewReader(stream), iotest.OneByteReader(bytes.NewReader(stream))} {
			s := &pullStream{body: io.NopCloser(r), format: format, done: func() error { tagged[i] = true; return errors.New("no") }}
			out, err := io.ReadAll(s)
			if err != nil || !bytes.HasPrefix(out, stream) || (len(out) > len(stream)) != tagged[i] {
				t.Fatalf("stream %q gave %q (%v), tagged %t", stream, out, err, tagged[i])
			}
		}
		if tagged[0] != tagged[1] {
			t.Fatalf("stream %q: tagged %t whole, %t byte by byte", stream, tagged[0], tagged[1])
		}
	})
}

// FuzzServiceSpec: a spec parseService accepts converts into a create
// request, and pinning its image changes nothing else the rules judge.
func FuzzServiceSpec(f *testing.F) {
	for _, s := range []string{`{"TaskTemplate":{"ContainerSpec":{"Image":"a","Mounts":[{"Type":"bind","Source":"/","Target":"/h"}]}}}`,
		`{"TaskTemplate":{"ContainerSpec":{"Image":"a","Privileges":{"Seccomp":{"Mode":"unconfined"}}},"Resources":{"Limits":{"Pids":10}}},"EndpointSpec":{"Ports":[{"TargetPort":80,"PublishedPort":8080}]}}`,
		`{"taskTemplate":{"containerSpec":{"image":"a"}}}`, `{"TaskTemplate":{"PluginSpec":{}}}`, `{}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if CheckJSON(body) != nil {
			return
		}
		spec, err := parseService(body)
		if err != nil {
			return
		}
		judged, err := workload.FromCreate(spec.createRequest())
		if err != nil {
			return
		}
		pinnedBody, err := setField(body, "b@sha256:"+string(bytes.Repeat([]byte("ab"), 32)), "TaskTemplate", "ContainerSpec", "Image")
		if err != nil {
			t.Fatalf("pin the image of %q: %v", body, err)
		}
		again, err := parseService(pinnedBody)
		if err != nil {
			t.Fatalf("the pinned spec %q: %v", pinnedBody, err)
		}
		pinned, err := workload.FromCreate(again.createRequest())
		if err != nil || !sameBut(judged, pinned) {
			t.Fatalf("pinning %q changed the workload: %v", body, err)
		}
	})
}

// FuzzRegistryAuth: any X-Registry-Auth header gets credentials or an
// error, never a panic, read as dockerd or as Podman reads it.
func FuzzRegistryAuth(f *testing.F) {
	for _, s := range []string{"", "e30=", "e30", "eyJ1c2VybmFtZSI6ImEifQ==", "{!}",
		"eyJyZWcuZXhhbXBsZSI6eyJ1c2VybmFtZSI6ImEifX0=", "eyJyZWcuZXhhbXBsZSI6eyJ1c2VybmFtZSI6ImEifSwiaHR0cHM6Ly9yZWcuZXhhbXBsZS92MS8iOnt9fQ=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		kc, err := clientKeychain([]string{h})
		if (kc == nil) == (err == nil) {
			t.Fatalf("clientKeychain(%q) = %v, %v", h, kc, err)
		}
		kc, err = libpodKeychain([]string{h}, "reg.example/team/app")
		if (kc == nil) == (err == nil) {
			t.Fatalf("libpodKeychain(%q) = %v, %v", h, kc, err)
		}
	})
}
