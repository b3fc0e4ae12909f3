package gate

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hull-sec/hull/internal/testenv"
)

// TestBuildVerifiedAndPinned: with a trust policy, the docker CLI's
// classic build through the gate builds FROM the signed image by tag,
// and dockerd is sent a Dockerfile naming the verified digest, which it
// pulls; multi-stage builds with stage names, COPY --from of an image
// and ARG-substituted FROMs are pinned the same way. A build FROM the
// unsigned image, with a FROM the gate cannot resolve, or with a context
// larger than the gate reads, is refused with hull's reason and never
// reaches dockerd.
func TestBuildVerifiedAndPinned(t *testing.T) {
	te := startTrustGate(t, nil)
	work := t.TempDir()
	ctx := func(name, df string) string {
		dir := filepath.Join(work, name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}

	n := len(te.calls())
	out := te.ok(t, "build", "-t", "built:signed", ctx("signed", "FROM "+te.signed+"\nRUN echo built > /b\n"))
	if !strings.Contains(out, "FROM "+te.signedDigest+"\n") || !strings.Contains(out, "Successfully tagged built:signed") {
		t.Errorf("docker build FROM %s: %q, want the FROM pinned to %s", te.signed, out, te.signedDigest)
	}
	if log := te.d.Log(); !strings.Contains(log, "Pulling ref from V2 registry: "+te.signedDigest) {
		t.Errorf("dockerd did not log a pull of %s", te.signedDigest)
	}
	if !te.reached(n, "POST", "/build") {
		t.Errorf("the build did not reach dockerd")
	}
	// The image built has no registry digest: the policy refuses a
	// container of it through the gate; the engine runs it.
	if got := te.direct(t, "run", "--rm", "--network", "none", "built:signed", "cat", "/b"); got != "built" {
		t.Errorf("the built image: %q", got)
	}
	te.ok(t, "rmi", "built:signed")
	te.d.Docker(t, "rmi", te.signedDigest)

	multi := "# a comment\nARG REG=nowhere.invalid\nARG TAG\nFROM ${REG}/team/signed:${TAG} \\\n  AS base\nRUN echo staged > /s\nFROM scratch AS final\nCOPY --from=base /s /s\nCOPY --from=" + te.signed + " /bin/busybox /bin/cat\n"
	out = te.ok(t, "build", "--build-arg", "REG="+te.reg, "--build-arg", "TAG=1", "-t", "built:multi", ctx("multi", multi))
	for _, want := range []string{"FROM " + te.signedDigest + " AS base\n", "COPY --from=" + te.signedDigest + " /bin/busybox /bin/cat\n", "COPY --from=base /s /s\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("multi-stage build: %q, want it to show %q", out, want)
		}
	}
	if got := te.direct(t, "run", "--rm", "--network", "none", "--entrypoint", "/bin/cat", "built:multi", "/s"); got != "staged" {
		t.Errorf("the multi-stage image: %q", got)
	}
	te.ok(t, "rmi", "built:multi")

	te.refused(t, "POST", "/build", []string{"hull gate: image build: the trust policy rejects " + te.unsigned + " (" + te.reg + "/team/unsigned@sha256:"},
		"build", ctx("unsigned", "FROM "+te.signed+" AS ok\nFROM "+te.unsigned+"\n"))
	te.refused(t, "POST", "/build", []string{"hull gate: image build: Dockerfile: the Dockerfile's FROM ${X}/team/signed:1: the variable X has no value"},
		"build", ctx("unresolved", "FROM ${X}/team/signed:1\n"))

	big := ctx("big", "FROM "+te.signed+"\n")
	f, err := os.OpenFile(filepath.Join(big, "zeros"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxContext + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	te.refused(t, "POST", "/build", []string{"the build context is larger than 256 MiB"}, "build", big)
}

// tarOf is a build context holding files (name, content; a content
// starting with "->" is a symbolic link to the rest), in that order.
func tarOf(t *testing.T, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		hdr := &tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), Typeflag: tar.TypeReg}
		if target, ok := strings.CutPrefix(files[i+1], "->"); ok {
			hdr = &tar.Header{Name: files[i], Mode: 0o777, Typeflag: tar.TypeSymlink, Linkname: target}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(files[i+1])); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBuildBypassCorpus: builds the gate with a trust policy must
// refuse, sent as raw HTTP with their contexts: an unverified base image
// hidden from a reader that is not the builder's, or a context or
// request the gate and dockerd could read two ways. dockerd's log shows
// none reached it. A gzipped context and a Dockerfile outside the
// context (the CLI's -f) build, pinned.
func TestBuildBypassCorpus(t *testing.T) {
	te := startTrustGate(t, nil)
	signed, unsigned := "FROM "+te.signed+"\n", "FROM "+te.unsigned+"\n"
	build := func(q string, headers []string, body []byte) string {
		return req("POST", "/v1.41/build?"+q, append(headers, "Content-Type: application/x-tar", cl(string(body))), string(body))
	}
	esc := url.QueryEscape
	cfg := func(v string) string { return "X-Registry-Config: " + v }
	corpus := map[string]string{
		"unsigned":                       build("", nil, tarOf(t, "Dockerfile", unsigned)),
		"Dockerfile twice":               build("", nil, tarOf(t, "Dockerfile", signed, "Dockerfile", unsigned)),
		"Dockerfile twice, once with ./": build("", nil, tarOf(t, "Dockerfile", signed, "./Dockerfile", unsigned)),
		"Dockerfile a symbolic link":     build("", nil, tarOf(t, "x", unsigned, "Dockerfile", "->x")),
		"Dockerfile through a link":      build("dockerfile=sub%2FDockerfile", nil, tarOf(t, "real/Dockerfile", unsigned, "sub", "->real", "sub/Dockerfile", signed)),
		"Dockerfile a directory":         build("", nil, tarOf(t, "Dockerfile/x", unsigned)),
		"lower case dockerfile":          build("", nil, tarOf(t, "dockerfile", unsigned)),
		"dockerfile outside the context": build("dockerfile=.dockerfile.abc", nil, tarOf(t, "Dockerfile", signed, ".dockerfile.abc", unsigned)),
		"dockerfile parameter twice":     build("dockerfile=a&dockerfile=b", nil, tarOf(t, "a", signed, "b", unsigned)),
		"gzipped":                        build("", nil, gzipped(t, tarOf(t, "Dockerfile", unsigned))),
		"bzip2":                          build("", nil, []byte("BZh91AY&SY")),
		"not a tar":                      build("", nil, []byte(unsigned)),
		"no Dockerfile":                  build("", nil, tarOf(t, "x", signed)),
		"escape directive":               build("", nil, tarOf(t, "Dockerfile", "# escape=`\nFROM `\n  "+te.unsigned+"\n")),
		"continuation and comment":       build("", nil, tarOf(t, "Dockerfile", "FROM \\\n# "+te.signed+"\n "+te.unsigned+"\n")),
		"two escapes end a line":         build("", nil, tarOf(t, "Dockerfile", signed+"RUN true \\\\\n"+unsigned)),
		"build argument":                 build("buildargs="+esc(`{"B":"`+te.unsigned+`"}`), nil, tarOf(t, "Dockerfile", "ARG B="+te.signed+"\nFROM $B\n")),
		"build arguments twice":          build("buildargs="+esc(`{"B":"`+te.signed+`"}`)+"&buildargs="+esc(`{"B":"`+te.unsigned+`"}`), nil, tarOf(t, "Dockerfile", "ARG B\nFROM $B\n")),
		"build argument keys twice":      build("buildargs="+esc(`{"B":"`+te.signed+`","b":"x","B":"`+te.unsigned+`"}`), nil, tarOf(t, "Dockerfile", "ARG B\nFROM $B\n")),
		"COPY --from":                    build("", nil, tarOf(t, "Dockerfile", signed+"COPY --from="+te.unsigned+" / /\n")),
		"platform":                       build("", nil, tarOf(t, "Dockerfile", "FROM --platform=linux/amd64 "+te.unsigned+"\n")),
		"too many images":                build("", nil, tarOf(t, "Dockerfile", strings.Repeat(signed, maxBuildImages+1))),
		"registry config twice":          build("", []string{cfg("e30="), cfg("e30=")}, tarOf(t, "Dockerfile", signed)),
		"registry config not base64":     build("", []string{cfg("{!}")}, tarOf(t, "Dockerfile", signed)),
	}
	before := len(te.calls())
	for name, raw := range corpus {
		resp := exchange(t, te.sock, raw, false)
		if !strings.Contains(resp, " 403 ") || !strings.Contains(resp, "hull gate: image build: ") {
			t.Errorf("%s: the gate answered %q, want a refusal", name, resp)
		}
	}
	for _, c := range te.calls()[before:] {
		t.Errorf("a build of the corpus reached dockerd: %s", c)
	}

	n := len(te.calls())
	resp := exchange(t, te.sock, build("t=gz:1", nil, gzipped(t, tarOf(t, "Dockerfile", signed+"RUN true\n"))), false)
	if !strings.Contains(resp, "Step 1/2 : FROM "+te.signedDigest) || !strings.Contains(resp, "Successfully tagged gz:1") || !te.reached(n, "POST", "/build") {
		t.Errorf("a gzipped context: %q", resp)
	}
	outside := filepath.Join(t.TempDir(), "Containerfile")
	if err := os.WriteFile(outside, []byte(signed+"RUN true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := te.ok(t, "build", "-t", "outside:1", "-f", outside, t.TempDir()); !strings.Contains(out, "FROM "+te.signedDigest+"\n") {
		t.Errorf("docker build -f outside the context: %q", out)
	}
}

// TestBuildWithClientCredentials: the gate resolves the tag of a build's
// base image with the registry credentials the docker CLI sends for a
// build (X-Registry-Config), and with none when it sends none.
func TestBuildWithClientCredentials(t *testing.T) {
	e, reg := startCredentialGate(t)
	ref := reg + "/team/app:1"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+ref+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.refused(t, "POST", "/build", []string{"hull gate: image build: the trust policy could not decide about " + ref + ": resolve"}, "build", dir)
	e.clientLogin(t, reg)
	// The tag resolves with the client's credentials; the verifier then
	// looks for signatures with the gate's own, and has none here.
	e.refused(t, "POST", "/build", []string{"hull gate: image build: the trust policy could not decide about " + reg + "/team/app@sha256:"}, "build", dir)
}

// TestConfigKeychain: a registry gets the X-Registry-Config entry
// dockerd would use for it.
func TestConfigKeychain(t *testing.T) {
	hdr := func(s string) []string { return []string{base64.URLEncoding.EncodeToString([]byte(s))} }
	user := func(kc authn.Keychain, reg string) (string, error) {
		r, err := name.NewRegistry(reg)
		if err != nil {
			t.Fatal(err)
		}
		a, err := kc.Resolve(r)
		if err != nil {
			return "", err
		}
		c, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		return c.Username, nil
	}
	kc, err := configKeychain(hdr(`{"https://index.docker.io/v1/":{"username":"hub"},"r.example:5000":{"username":"exact"},"https://r.example:5000/v2/":{"username":"url"},"https://other.example/v1/":{"username":"host"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for reg, want := range map[string]string{"docker.io": "hub", "r.example:5000": "exact", "other.example": "host", "none.example": ""} {
		if got, err := user(kc, reg); err != nil || got != want {
			t.Errorf("%s: got %q (%v), want %q", reg, got, err, want)
		}
	}
	kc, err = configKeychain(hdr(`{"http://r.example":{"username":"a"},"https://r.example/v1/":{"username":"b"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := user(kc, "r.example"); err == nil {
		t.Errorf("two entries for one registry: got %q, want an error", got)
	}
	for _, bad := range [][]string{{"e30=", "e30="}, {"{!}"}, hdr(`{"a":{"username":"x","Username":"y"}}`), hdr(`[]`)} {
		if _, err := configKeychain(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// TestBuildOnbuildCopyFrom: a verified base image whose ONBUILD trigger
// copies from another image would make the build pull that image
// unverified: the build is refused, and reaches no dockerd.
func TestBuildOnbuildCopyFrom(t *testing.T) {
	te := startTrustGate(t, nil)
	dir := t.TempDir()
	base := te.reg + "/team/onbuild:1"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox:gate\nONBUILD COPY --from="+te.unsigned+" /bin/busybox /x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	te.direct(t, "build", "-q", "-t", base, dir)
	te.d.Docker(t, "push", "-q", base)
	digest := strings.TrimSpace(te.d.Docker(t, "inspect", "--format", "{{index .RepoDigests 0}}", base))
	if err := testenv.CosignSign(t, te.priv, digest, false); err != nil {
		t.Fatal(err)
	}
	te.d.Docker(t, "rmi", base)
	child := t.TempDir()
	if err := os.WriteFile(filepath.Join(child, "Dockerfile"), []byte("FROM "+base+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	te.refused(t, "POST", "/build", []string{"hull gate: image build: the base image " + digest + ": it has an ONBUILD trigger that copies from another image (COPY --from=" + te.unsigned}, "build", child)
	if strings.Contains(te.d.Log(), "Pulling ref from V2 registry: "+te.unsigned) {
		t.Errorf("dockerd pulled %s for the trigger", te.unsigned)
	}
}

// TestOnbuildConfigBounded: the config of a base image checkOnbuild
// reads is bounded (maxImageConfig), as image.Open bounds one, not read
// as large as its manifest says; one under the bound is read.
func TestOnbuildConfigBounded(t *testing.T) {
	reg := testenv.Registry(t)
	g := &Gate{}
	for _, c := range []struct {
		size int
		want string
	}{
		{1 << 10, ""},
		{maxImageConfig + 1, "is said to be"},
	} {
		img, err := mutate.Config(empty.Image, v1.Config{Labels: map[string]string{"x": strings.Repeat("x", c.size)}})
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(reg + "/team/big:1")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		dig, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		err = g.checkOnbuild(context.Background(), reg+"/team/big@"+dig.String(), authn.DefaultKeychain, nil)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("a config of %d bytes: %v, want %q", c.size, err, c.want)
		}
	}
}
