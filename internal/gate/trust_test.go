package gate

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/testenv"
)

// TestTrustThroughGate: with a trust policy that wants a cosign key for
// a loopback registry's team/ scope, the real docker CLI through the gate
// pulls and runs the signed image; the unsigned image of the same scope,
// the signed image re-tagged to another repository and the signed image
// after docker save and load (no registry digest) are refused with
// hull's reason, and none of those creates reaches dockerd. The signed
// image is not pulled first: docker run pulls it on the gate's 404.
func TestTrustThroughGate(t *testing.T) {
	te := startTrustGate(t, nil)
	e, reg, signed, unsigned := te.gateEnv, te.reg, te.signed, te.unsigned

	// The gate refuses to pull it (TestPullVerifiedAndPinned); another
	// client of the engine did.
	e.d.Docker(t, "pull", "-q", unsigned)
	// The engine lacks the signed image: the gate answers the engine's
	// 404, the CLI pulls through the gate and creates again.
	out, stderr, err := e.docker("run", "--rm", "--network", "none", signed, "echo", "signed runs")
	if err != nil || out != "signed runs\n" || !strings.Contains(stderr, "Unable to find image") {
		t.Fatalf("docker run %s: %v %q\n%s\ndockerd: %v", signed, err, out, stderr, e.calls())
	}

	e.d.Docker(t, "tag", signed, "x/unsigned:1")
	refused := func(ref, want string) {
		t.Helper()
		before := creates(e.calls())
		_, stderr, err := e.docker("run", "--rm", "--network", "none", ref, "true")
		if err == nil || !strings.Contains(stderr, "hull gate: container create: ") || !strings.Contains(stderr, want) {
			t.Errorf("docker run %s: %v, stderr %q, want hull's refusal saying %q", ref, err, stderr, want)
		}
		if after := creates(e.calls()); after != before {
			t.Errorf("docker run %s reached dockerd's containers/create", ref)
		}
	}
	refused(unsigned, "the trust policy rejects "+unsigned+": "+reg+"/team/unsigned@sha256:")
	refused("x/unsigned:1", "has no registry digest in docker.io/x/unsigned, so no verified origin: no rule covers docker.io/x/unsigned and trust.default rejects")

	tarball := filepath.Join(t.TempDir(), "signed.tar")
	e.d.Docker(t, "save", "-o", tarball, signed)
	e.d.Docker(t, "rmi", signed, "x/unsigned:1")
	e.d.Docker(t, "load", "-q", "-i", tarball)
	refused(signed, "has no registry digest in "+reg+"/team/signed, so no verified origin: rule "+reg+"/team requires signatures")
}

// TestTrustFailsClosed: when the engine's image inspect is unusable or
// the verifier cannot reach the registry, the create is refused, never
// passed on.
func TestTrustFailsClosed(t *testing.T) {
	reg := testenv.FreeLoopbackAddr(t)
	_, pub := testenv.CosignKeyPair(t)
	v := openPolicy(t, "apiVersion: hull.dev/v1\nregistry: {timeout: 2s}\ntrust:\n  rules:\n    - scope: "+reg+"\n      signers:\n        - {name: ci, cosign: {key: "+pub+"}}\n")
	digest := reg + "/app@sha256:" + strings.Repeat("ab", 32)
	for _, c := range []struct {
		name, answer, want string
		// image is the create's Image; "" for reg/app:1.
		image string
	}{
		{"registry unreachable", `{"Id":"sha256:1","RepoDigests":["` + digest + `"]}`, "the trust policy could not decide about " + digest, ""},
		{"no image ID", `{"RepoDigests":["` + digest + `"]}`, "the engine's answer names no image", ""},
		{"not JSON", `{"Id":`, "the engine's answer names no image", ""},
		{"oversized", `{"Id":"sha256:1","X":"` + strings.Repeat("x", maxInspect) + `"}`, "larger than", ""},
		{"dot segments", `{"Id":"sha256:1","RepoDigests":["` + digest + `"]}`, "does not make a plain API path", reg + "/app/../../containers/x"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var creates atomic.Int32
			sock := filepath.Join(t.TempDir(), "engine.sock")
			ln, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/containers/create") {
					creates.Add(1)
				}
				_, _ = io.WriteString(w, c.answer)
			})}
			go func() { _ = srv.Serve(ln) }()
			defer srv.Close()
			g, err := New(Options{Engine: sock, Verifier: v, FailOn: finding.SeverityHigh})
			if err != nil {
				t.Fatal(err)
			}
			img := c.image
			if img == "" {
				img = reg + "/app:1"
			}
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, httptest.NewRequest("POST", "/v1.41/containers/create", strings.NewReader(`{"Image":"`+img+`","User":"1000","HostConfig":{"NetworkMode":"none","Memory":1000000,"PidsLimit":10,"SecurityOpt":["no-new-privileges"]}}`)))
			if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), c.want) || creates.Load() != 0 {
				t.Errorf("got %d %s (%d creates reached the engine), want 403 saying %q", rec.Code, rec.Body, creates.Load(), c.want)
			}
		})
	}
}
