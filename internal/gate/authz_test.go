package gate

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
)

// plugin returns a plugin with no trust policy, so it never asks the
// engine (whose socket does not exist).
func plugin(t testing.TB) *Plugin {
	t.Helper()
	p, err := NewPlugin(Options{Engine: "/nonexistent/engine.sock", FailOn: finding.SeverityHigh})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// call POSTs body to the plugin's path and decodes its answer.
func call(t testing.TB, p *Plugin, path, body string) (int, AuthZResponse, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(body)))
	var res AuthZResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		t.Fatalf("%s: the plugin answered %q: %v", path, rec.Body, err)
	}
	return rec.Code, res, rec.Header()
}

func authzReq(t testing.TB, q AuthZRequest) string {
	t.Helper()
	b, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPluginActivate(t *testing.T) {
	rec := httptest.NewRecorder()
	plugin(t).ServeHTTP(rec, httptest.NewRequest("POST", "/Plugin.Activate", nil))
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"Implements":["authz"]}` ||
		rec.Header().Get("Content-Type") != "application/vnd.docker.plugins.v1.2+json" {
		t.Errorf("activate: %d %s %q", rec.Code, rec.Body, rec.Header().Get("Content-Type"))
	}
	if code, _, _ := call(t, plugin(t), "/VolumeDriver.Create", "{}"); code != http.StatusNotFound {
		t.Errorf("an unknown call answered %d, want 404", code)
	}
	if code, res, _ := call(t, plugin(t), "/AuthZPlugin.AuthZRes", `{"RequestMethod":"GET","RequestUri":"/version","ResponseStatusCode":200,"ResponseBody":"e30="}`); code != 200 || !res.Allow {
		t.Errorf("AuthZRes: %d %+v, want allowed", code, res)
	}
}

// TestPluginDecides: the plugin allows what the gate allows and denies
// what it refuses, and denies what the gate would read but dockerd did
// not send it: a create whose body dockerd kept (none, chunked, not
// JSON, too large: CVE-2024-41110's shape), a declared body that was not
// sent, a body on an operation that takes none.
func TestPluginDecides(t *testing.T) {
	json := map[string]string{"Content-Type": "application/json"}
	withLen := func(n string) map[string]string {
		return map[string]string{"Content-Type": "application/json", "Content-Length": n}
	}
	benign := `{"Image":"busybox","User":"1000","HostConfig":{"NetworkMode":"none","Memory":1000000,"PidsLimit":10,"SecurityOpt":["no-new-privileges"]}}`
	for _, c := range []struct {
		name string
		q    AuthZRequest
		want string // "" allowed, else part of the denial
	}{
		{"ping", AuthZRequest{RequestMethod: "GET", RequestURI: "/_ping"}, ""},
		{"container list", AuthZRequest{RequestMethod: "GET", RequestURI: "/v1.41/containers/json?all=1"}, ""},
		{"benign create", AuthZRequest{RequestMethod: "POST", RequestURI: "/v1.41/containers/create", RequestHeaders: withLen(strconv.Itoa(len(benign))), RequestBody: []byte(benign)}, ""},
		{"chunked create dockerd read", AuthZRequest{RequestMethod: "POST", RequestURI: "/v1.41/containers/create", RequestHeaders: json, RequestBody: []byte(benign)}, ""},
		{"privileged create", AuthZRequest{RequestMethod: "POST", RequestURI: "/v1.41/containers/create", RequestHeaders: json, RequestBody: []byte(privileged)}, "container create refused by the policy: container-privileged"},
		{"CVE-2024-41110: Content-Length 0", AuthZRequest{RequestMethod: "POST", RequestURI: "/v1.41/containers/create", RequestHeaders: withLen("0")}, "container create: dockerd sent the authorization plugin no body for it"},
		{"chunked create not sent", AuthZRequest{RequestMethod: "POST", RequestURI: "/containers/create", RequestHeaders: json}, "send it through hull gate serve instead"},
		{"declared body not sent", AuthZRequest{RequestMethod: "POST", RequestURI: "/containers/create", RequestHeaders: map[string]string{"Content-Type": "text/plain", "Content-Length": "300"}}, "send it through hull gate serve instead"},
		{"exec without body", AuthZRequest{RequestMethod: "POST", RequestURI: "/containers/x/exec", RequestHeaders: withLen("40")}, "exec create: dockerd sent the authorization plugin no body"},
		{"Content-Length disagrees", AuthZRequest{RequestMethod: "POST", RequestURI: "/containers/create", RequestHeaders: withLen("10"), RequestBody: []byte(benign)}, "disagrees with the " + strconv.Itoa(len(benign)) + " bytes"},
		{"bad Content-Length", AuthZRequest{RequestMethod: "POST", RequestURI: "/containers/create", RequestHeaders: withLen("-1"), RequestBody: []byte(benign)}, "is not a length"},
		{"too large", AuthZRequest{RequestMethod: "POST", RequestURI: "/containers/create", RequestHeaders: json, RequestBody: []byte(`{"Image":"` + strings.Repeat("a", maxBody) + `"}`)}, "larger than"},
		{"duplicate key", AuthZRequest{RequestMethod: "POST", RequestURI: "/containers/create", RequestHeaders: json, RequestBody: []byte(`{"Image":"b","HostConfig":{"Privileged":false,"privileged":true}}`)}, "twice"},
		{"Transfer-Encoding seen", AuthZRequest{RequestMethod: "POST", RequestURI: "/containers/create", RequestHeaders: map[string]string{"Transfer-Encoding": "chunked"}, RequestBody: []byte(benign)}, "Transfer-Encoding chunked is not allowed"},
		{"body on start", AuthZRequest{RequestMethod: "POST", RequestURI: "/containers/x/start", RequestHeaders: withLen("5")}, "container start takes no body"},
		{"unknown operation", AuthZRequest{RequestMethod: "POST", RequestURI: "/commit?container=x", RequestHeaders: json, RequestBody: []byte(`{}`)}, "is not an operation the gate allows"},
		{"path trick", AuthZRequest{RequestMethod: "POST", RequestURI: "/images/../containers/create", RequestHeaders: json, RequestBody: []byte(benign)}, `".." segment`},
		{"absolute form", AuthZRequest{RequestMethod: "GET", RequestURI: "http://docker/_ping"}, "not a plain path"},
		{"no target", AuthZRequest{RequestMethod: "GET"}, "not a plain path"},
		{"method override", AuthZRequest{RequestMethod: "GET", RequestURI: "/_ping", RequestHeaders: map[string]string{"X-Http-Method-Override": "DELETE"}}, "header is not allowed"},
		{"import", AuthZRequest{RequestMethod: "POST", RequestURI: "/images/create?fromSrc=-&repo=x"}, "only a pull"},
		{"pull", AuthZRequest{RequestMethod: "POST", RequestURI: "/images/create?fromImage=busybox&tag=1", RequestHeaders: map[string]string{"Content-Length": "0", "Content-Type": "text/plain"}}, ""},
		{"pull maybe chunked", AuthZRequest{RequestMethod: "POST", RequestURI: "/images/create?fromImage=busybox&tag=1", RequestHeaders: map[string]string{"Content-Type": "text/plain"}}, "image pull: the request may carry a body dockerd does not send"},
		{"pull with a form", AuthZRequest{RequestMethod: "POST", RequestURI: "/images/create?fromImage=busybox&tag=1", RequestHeaders: map[string]string{"Content-Length": "0", "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}}, "a form body"},
	} {
		code, res, _ := call(t, plugin(t), "/AuthZPlugin.AuthZReq", authzReq(t, c.q))
		if code != 200 || res.Allow != (c.want == "") || !strings.Contains(res.Msg, c.want) {
			t.Errorf("%s: %d %+v, want allowed %v with %q", c.name, code, res, c.want == "", c.want)
		}
	}
	for name, body := range map[string]string{
		"not JSON":   "{",
		"too large":  `{"RequestBody":"` + strings.Repeat("A", maxAuthZ) + `"}`,
		"not base64": `{"RequestMethod":"POST","RequestUri":"/containers/create","RequestBody":"!!"}`,
	} {
		code, res, _ := call(t, plugin(t), "/AuthZPlugin.AuthZReq", body)
		if code != 200 || res.Allow || !strings.Contains(res.Msg, "the plugin could not read dockerd's request") {
			t.Errorf("%s: %d %+v, want a denial", name, code, res)
		}
	}
}

// TestPluginChangedRequest: a check that would have the gate forward
// another body, target or header, or read a body dockerd did not send,
// gets a denial from the plugin, which cannot change the request.
func TestPluginChangedRequest(t *testing.T) {
	p := plugin(t)
	for name, c := range map[string]check{
		"another body": func(_ *Gate, _ *http.Request, d decision) decision { d.body = []byte(`{}`); return d },
		"another query": func(_ *Gate, r *http.Request, d decision) decision {
			r.URL.RawQuery = "fromImage=busybox@sha256:" + strings.Repeat("a", 64)
			return d
		},
		"another header": func(_ *Gate, r *http.Request, d decision) decision { r.Header.Set("X-Registry-Auth", "e30="); return d },
		"a stream filter": func(_ *Gate, r *http.Request, d decision) decision {
			r.Body = http.NoBody
			return d
		},
		"a body read": func(_ *Gate, r *http.Request, d decision) decision {
			if _, err := r.Body.Read(make([]byte, 1)); err != nil {
				return refuse(d.op, "%s: %v", d.op, err)
			}
			return d
		},
	} {
		restore := withOp(t, op{"test stream", "POST", "/test/{}", bodyStream, c})
		res := p.Authorize(context.Background(), AuthZRequest{RequestMethod: "POST", RequestURI: "/test/x?fromImage=busybox", RequestHeaders: map[string]string{"Content-Type": "application/x-tar"}})
		restore()
		if res.Allow || !strings.Contains(res.Msg, "send it through hull gate serve instead") {
			t.Errorf("%s: %+v, want a denial naming hull gate serve", name, res)
		}
	}
	// A check may have judged the query, which a body dockerd did not
	// send could override: denied. With no check, nothing was judged.
	restore := withOp(t, op{"test stream", "POST", "/test/{}", bodyStream, func(_ *Gate, _ *http.Request, d decision) decision { return d }})
	res := p.Authorize(context.Background(), AuthZRequest{RequestMethod: "POST", RequestURI: "/test/x", RequestHeaders: map[string]string{"Content-Type": "application/x-tar", "Content-Length": "100"}})
	restore()
	if res.Allow || !strings.Contains(res.Msg, "test stream: the request may carry a body dockerd does not send") {
		t.Errorf("a stream operation with a check: %+v, want a denial", res)
	}
	defer withOp(t, op{"test stream", "POST", "/test/{}", bodyStream, nil})()
	if res := p.Authorize(context.Background(), AuthZRequest{RequestMethod: "POST", RequestURI: "/test/x", RequestHeaders: map[string]string{"Content-Type": "application/x-tar"}}); !res.Allow {
		t.Errorf("a stream operation without a check: %+v, want allowed as the gate allows it", res)
	}
}

// TestFormBodyRefused: a stream operation whose check reads the query
// gets no form body through the gate either: dockerd would read its
// parameters from the body first.
func TestFormBodyRefused(t *testing.T) {
	defer withOp(t, op{"test stream", "PUT", "/test/{}", bodyStream, func(_ *Gate, r *http.Request, d decision) decision {
		if r.URL.Query().Get("path") != "/tmp" {
			return refuse(d.op, "only /tmp")
		}
		return d
	}})()
	g, err := New(Options{Engine: "/nonexistent/engine.sock"})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("PUT", "/test/x?path=/tmp", strings.NewReader("path=/etc"))
	r.Header.Add("Content-Type", "text/plain")
	r.Header.Add("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, r)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "test stream: more than one Content-Type header") {
		t.Errorf("a form body on a stream operation: %d %s", rec.Code, rec.Body)
	}
}

// withOp adds o to the allowlist until the returned func is called.
func withOp(t *testing.T, o op) func() {
	t.Helper()
	saved, savedSegs := ops, opSegs
	ops = append(ops[:len(ops):len(ops)], o)
	opSegs = append(opSegs[:len(opSegs):len(opSegs)], strings.Split(o.pattern[1:], "/"))
	return func() { ops, opSegs = saved, savedSegs }
}

// FuzzPluginAuthZReq: whatever dockerd's request holds, the plugin
// answers without panicking, and it allows only a request the gate's
// allowlist knows whose JSON body, where the operation takes one, was
// sent and is unambiguous.
func FuzzPluginAuthZReq(f *testing.F) {
	f.Add(`{"RequestMethod":"POST","RequestUri":"/v1.41/containers/create","RequestHeaders":{"Content-Length":"0"}}`)
	f.Add(`{"RequestMethod":"GET","RequestUri":"/_ping"}`)
	f.Add(`{"RequestMethod":"POST","RequestUri":"/containers/x/exec","RequestBody":"eyJDbWQiOlsic2giXX0="}`)
	f.Add(`{"RequestMethod":"POST","RequestUri":"/containers/create","RequestHeaders":{"Transfer-Encoding":"chunked"},"RequestBody":"e30="}`)
	p := plugin(f)
	f.Fuzz(func(t *testing.T, body string) {
		code, res, _ := call(t, p, "/AuthZPlugin.AuthZReq", body)
		if code != 200 || !res.Allow {
			return
		}
		var q AuthZRequest
		if err := json.Unmarshal([]byte(body), &q); err != nil {
			t.Fatalf("allowed an unreadable request: %v", err)
		}
		path, err := Normalise(q.RequestURI)
		if err != nil {
			t.Fatalf("allowed %q: %v", q.RequestURI, err)
		}
		o, ok := lookup(q.RequestMethod, path)
		if !ok {
			t.Fatalf("allowed %s %s, which the allowlist lacks", q.RequestMethod, path)
		}
		if o.body == bodyJSON && (len(q.RequestBody) == 0 || CheckJSON(q.RequestBody) != nil) {
			t.Fatalf("allowed %s without an unambiguous JSON body: %q", o.name, q.RequestBody)
		}
	})
}
