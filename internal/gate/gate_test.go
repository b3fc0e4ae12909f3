package gate

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
)

func TestNormalise(t *testing.T) {
	ok := map[string]string{
		"/_ping":                           "/_ping",
		"/v1.41/containers/create?name=x":  "/containers/create",
		"/v1.24/containers/json":           "/containers/json",
		"/images/library/busybox:1/json":   "/images/library/busybox:1/json",
		"/v4.3.1/libpod/containers/create": "/libpod/containers/create",
		"/v4.0.0/libpod/_ping?x=y":         "/libpod/_ping",
		"/v5.12.100/libpod/images/json":    "/libpod/images/json",
		"/libpod/_ping":                    "/libpod/_ping",
	}
	for in, want := range ok {
		if got, err := Normalise(in); err != nil || got != want {
			t.Errorf("Normalise(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"//containers/create", "/v1.41/v1.41/containers/create", "/v1.41/v1/containers/create",
		"/containers/%63reate", "/containers%2Fcreate", "/../containers/create",
		"/containers/./create", "/containers/create/", "http://engine/containers/create",
		"*", "", "/v1.23/containers/create", "/v1.41", "/containers/cre ate", "/containers/créate",
		"/containers\\create", "/v1..41/containers/create",
		// Podman reads any /v{digit}... segment as a version, and either
		// form before either tree: only /vN.N.N/libpod and /vN.NN/ pass.
		"/v1.41/libpod/containers/create", "/v4.3.1/containers/create", "/v4.3/libpod/containers/create",
		"/v4.3.1/v1.41/containers/create", "/v1.41/v4.3.1/libpod/containers/create",
		"/v4.3.1/v4.3.1/libpod/containers/create", "/v4.3.1/libpod/v4.3.1/containers/create",
		"/libpod/v4.3.1/containers/create", "/v4.3.1/libpod/libpod/containers/create",
		"/libpod//containers/create", "/v4.3.1/libpod/../containers/create", "/libpod/../containers/create",
		"/v3.4.4/libpod/containers/create", "/v4.3.1.0/libpod/containers/create", "/v4.3.1-dev/libpod/containers/create",
		"/v4abc/libpod/containers/create", "/v1.41/v4-x/containers/create", "/v1.41/v.1/containers/create",
		"/v4.3.1/libpod", "/libpod", "/v4.3.1/libpod/", "/v4.3.1/Libpod/containers/create",
	} {
		if got, err := Normalise(in); err == nil {
			t.Errorf("Normalise(%q) = %q, want an error", in, got)
		}
	}
}

func TestLookup(t *testing.T) {
	for _, c := range []struct {
		method, path, op string
	}{
		{"POST", "/containers/create", "container create"},
		{"GET", "/images/busybox/json", "image inspect"},
		{"GET", "/images/reg:5000/a/b:c/json", "image inspect"},
		{"DELETE", "/containers/abc", "container remove"},
		{"GET", "/images/json", "image list"},
		{"PUT", "/containers/create", ""},
		{"POST", "/containers/abc/update", "container update"},
		{"GET", "/images/json/extra", ""},
		{"POST", "/build", "image build"},
		{"POST", "/commit", ""},
		{"DELETE", "/images/reg:5000/a/b:c", "image remove"},
		{"POST", "/plugins/vieux/sshfs:latest/enable", "plugin enable"},
		{"POST", "/session", ""},
		{"GET", "/containers/create", ""},
	} {
		o, ok := lookup(c.method, c.path)
		if ok != (c.op != "") || o.name != c.op {
			t.Errorf("lookup(%s %s) = %q, %v; want %q", c.method, c.path, o.name, ok, c.op)
		}
	}
}

func TestCheckJSON(t *testing.T) {
	for _, good := range []string{`{}`, `{"a":{"b":[1,{"c":2}]},"A2":1}`, " {\"x\":null} \n", `[]`} {
		if err := CheckJSON([]byte(good)); err != nil {
			t.Errorf("CheckJSON(%s) = %v", good, err)
		}
	}
	for _, bad := range []string{
		`{"a":1,"a":2}`,
		`{"HostConfig":{"Privileged":false,"privileged":true}}`,
		`{"HostConfig":{"SecurityOpt":[],"ſecurityOpt":["seccomp=unconfined"]}}`,
		`{"a":1,"\u0041":2}`,
		`{"a":1}{"b":2}`,
		`{"a":1} x`,
		`{"a":`,
		``,
	} {
		if err := CheckJSON([]byte(bad)); err == nil {
			t.Errorf("CheckJSON(%s) = nil, want an error", bad)
		}
	}
	// Nesting is bounded: as deep as Go's decoder reads passes, deeper
	// is an error, and a body of nothing but '[' is one, not a crash.
	nest := func(n int) []byte {
		return []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
	}
	if err := CheckJSON(nest(maxDepth)); err != nil {
		t.Errorf("CheckJSON of %d nested arrays: %v", maxDepth, err)
	}
	if err := CheckJSON(nest(maxDepth + 1)); err == nil {
		t.Errorf("CheckJSON of %d nested arrays = nil, want an error", maxDepth+1)
	}
	if err := CheckJSON(bytes.Repeat([]byte("["), maxBody)); err == nil {
		t.Error("CheckJSON of a body of '[' = nil, want an error")
	}
}

// decideBody runs the gate's decision on a create request with body.
func decideBody(t testing.TB, g *Gate, body []byte) decision {
	r := httptest.NewRequest("POST", "/v1.41/containers/create", bytes.NewReader(body))
	return g.decide(httptest.NewRecorder(), r)
}

func TestJudgeCreate(t *testing.T) {
	g, err := New(Options{Engine: "/nonexistent", FailOn: finding.SeverityHigh})
	if err != nil {
		t.Fatal(err)
	}
	d := decideBody(t, g, []byte(`{"Image":"busybox","HostConfig":{"Privileged":true}}`))
	if d.refusal == "" || !strings.Contains(d.refusal, "container-privileged") || !strings.Contains(d.refusal, "Privileged") {
		t.Errorf("privileged create: refusal %q, want container-privileged and its field", d.refusal)
	}
	plain := []byte(`{"Image":"busybox","HostConfig":{"NetworkMode":"none"}}`)
	if d := decideBody(t, g, plain); d.refusal != "" || !bytes.Equal(d.body, plain) {
		t.Errorf("plain create: refusal %q, body %q", d.refusal, d.body)
	}
	ig, err := New(Options{Engine: "/nonexistent", FailOn: finding.SeverityHigh,
		Ignore: map[string]string{"container-host-pid": "test"}})
	if err != nil {
		t.Fatal(err)
	}
	hostPID := []byte(`{"Image":"busybox","HostConfig":{"PidMode":"host"}}`)
	if d := decideBody(t, g, hostPID); !strings.Contains(d.refusal, "container-host-pid") {
		t.Errorf("host PID create: refusal %q, want container-host-pid", d.refusal)
	}
	if d := decideBody(t, ig, hostPID); d.refusal != "" {
		t.Errorf("ignored rule still refuses: %q", d.refusal)
	}
	typo, _ := New(Options{Engine: "/x", FailOn: finding.SeverityHigh, Ignore: map[string]string{"no-such-rule": ""}})
	if d := decideBody(t, typo, plain); d.refusal == "" {
		t.Error("an ignore of an unknown rule let a create through")
	}
	strict, _ := New(Options{Engine: "/x", FailOn: finding.SeverityLow})
	if d := decideBody(t, strict, plain); d.refusal == "" {
		t.Error("a low threshold passed a create without memory limit")
	}
}

func TestRefusalShape(t *testing.T) {
	g, _ := New(Options{Engine: "/nonexistent", FailOn: finding.SeverityHigh})
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("POST", "/commit", nil))
	var m struct{ Message string }
	if rec.Code != http.StatusForbidden || json.Unmarshal(rec.Body.Bytes(), &m) != nil || !strings.HasPrefix(m.Message, "hull gate: ") {
		t.Errorf("refusal: %d %s", rec.Code, rec.Body)
	}
	// An allowed request to an engine that does not answer is refused too.
	rec = httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/_ping", nil))
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "hull gate: the engine did not answer") {
		t.Errorf("dead engine: %d %s", rec.Code, rec.Body)
	}
}

func FuzzNormalise(f *testing.F) {
	for _, s := range []string{"/_ping", "//a", "/v1.41/v1.41/x", "/a/%2e%2e/b", "/v1.41/containers/x/json?a=b", "/./a",
		"/v4.3.1/libpod/containers/create", "/v1.41/libpod/x", "/v4.3.1/v1.41/x", "/libpod/v4.3.1/x", "/v4.3.1/libpod/libpod/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Normalise(in)
		if err != nil {
			return
		}
		if !strings.HasPrefix(out, "/") || strings.Contains(out, "//") || strings.Contains(out, "%") ||
			strings.Contains(out, "/../") || strings.HasSuffix(out, "/..") || strings.Contains(out, "/./") {
			t.Fatalf("Normalise(%q) = %q", in, out)
		}
		if again, err := Normalise(out); err != nil || again != out {
			t.Fatalf("Normalise(%q) = %q, then %q, %v", in, out, again, err)
		}
		// What Normalise took off is nothing, a Docker version before
		// any tree but libpod, or a libpod version before libpod's tree,
		// and what is left starts with no other version.
		path, _, _ := strings.Cut(in, "?")
		prefix, ok := strings.CutSuffix(path, out)
		libpod := strings.HasPrefix(out, "/libpod/")
		allowed := prefix == ""
		if m := libpodPrefix.FindStringSubmatch(prefix); libpod && m != nil {
			allowed = atoi(m[1]) >= 4
		}
		if m := dockerPrefix.FindStringSubmatch(prefix); !libpod && m != nil {
			allowed = atoi(m[1]) > 1 || atoi(m[1]) == 1 && atoi(m[2]) >= 24
		}
		if !ok || !allowed {
			t.Fatalf("Normalise(%q) = %q took off %q", in, out, prefix)
		}
		segs := strings.Split(out, "/")
		if versionLike.MatchString(segs[1]) || libpod && (versionLike.MatchString(segs[2]) || segs[2] == "libpod") {
			t.Fatalf("Normalise(%q) = %q, which still starts with a version", in, out)
		}
	})
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

var (
	// libpodPrefix is /vN.N.N, dockerPrefix /vN.NN.
	libpodPrefix = regexp.MustCompile(`^/v([0-9]{1,3})\.[0-9]{1,3}\.[0-9]{1,3}$`)
	dockerPrefix = regexp.MustCompile(`^/v([0-9]{1,3})\.([0-9]{1,3})$`)
	// versionLike is what dockerd's or Podman's router reads as a version.
	versionLike = regexp.MustCompile(`^v[0-9.][0-9A-Za-z.-]*$`)
)

func FuzzCreateBody(f *testing.F) {
	for _, s := range []string{`{"Image":"b","HostConfig":{"Privileged":true}}`, `{"a":1,"A":2}`, `{"HostConfig":{"Binds":["/:/h"]}}`, `[]`, `null`} {
		f.Add([]byte(s))
	}
	g, err := New(Options{Engine: "/nonexistent", FailOn: finding.SeverityHigh})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d := decideBody(t, g, body)
		if d.refusal != "" {
			return
		}
		if !bytes.Equal(d.body, body) {
			t.Fatalf("forwarded %q, judged %q", d.body, body)
		}
		if CheckJSON(body) != nil {
			t.Fatalf("allowed a body CheckJSON refuses: %q", body)
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("allowed a body that is not a JSON object: %q: %v", body, err)
		}
	})
}
