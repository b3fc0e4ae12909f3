package gate

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/testenv"
)

// trustEnv is a gate with a trust policy in front of a real dockerd, and
// a loopback registry holding a cosign-signed and an unsigned image of
// the policy's scope reg/team, both removed from the engine again.
type trustEnv struct {
	*gateEnv
	reg, priv, pub   string
	signed, unsigned string
	// signedDigest is signed's repo@sha256:... in the registry.
	signedDigest string
}

// startTrustGate starts a trustEnv; wrap, when set, wraps the verifier
// the gate is given.
func startTrustGate(t *testing.T, wrap func(ImageVerifier) ImageVerifier) *trustEnv {
	t.Helper()
	te := &trustEnv{reg: testenv.Registry(t)}
	te.priv, te.pub = testenv.CosignKeyPair(t)
	v := openPolicy(t, "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: "+te.reg+"/team\n      signers:\n        - {name: ci, cosign: {key: "+te.pub+"}}\n")
	var iv ImageVerifier = v
	if wrap != nil {
		iv = wrap(v)
	}
	te.gateEnv = startGate(t, iv)
	te.signed, te.unsigned = te.reg+"/team/signed:1", te.reg+"/team/unsigned:1"
	te.d.BusyboxImage(t, te.signed)
	te.d.BusyboxImage(t, te.unsigned)
	for _, ref := range []string{te.signed, te.unsigned} {
		te.d.Docker(t, "push", "-q", ref)
	}
	te.signedDigest = strings.TrimSpace(te.d.Docker(t, "inspect", "--format", "{{index .RepoDigests 0}}", te.signed))
	if err := testenv.CosignSign(t, te.priv, te.signedDigest, false); err != nil {
		t.Fatal(err)
	}
	te.d.Docker(t, "rmi", te.signed, te.unsigned)
	return te
}

// engineDocker runs the docker CLI against dockerd itself, not the gate,
// from any goroutine.
func (e *gateEnv) engineDocker(args ...string) (string, error) {
	cmd := exec.Command("docker", args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir,
		"DOCKER_HOST=unix://" + e.d.Socket, "DOCKER_CONFIG=" + filepath.Join(e.dir, "client")}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// raceVerifier runs race once, the first time it is asked to verify,
// before it verifies: what another client of the engine could do between
// the gate's judgement and the engine's create.
type raceVerifier struct {
	ImageVerifier
	once sync.Once
	mu   sync.Mutex
	race func()
}

func (v *raceVerifier) Verify(ctx context.Context, ref string) (finding.Verdict, error) {
	v.mu.Lock()
	race := v.race
	v.mu.Unlock()
	v.once.Do(race)
	return v.ImageVerifier.Verify(ctx, ref)
}

// TestCreatePinnedToVerifiedImage: the unsigned image is tagged with the
// signed image's name on the engine while the gate verifies that name's
// digest; the container is still created from the signed image, the one
// the verdict was about.
func TestCreatePinnedToVerifiedImage(t *testing.T) {
	rv := &raceVerifier{}
	te := startTrustGate(t, func(v ImageVerifier) ImageVerifier { rv.ImageVerifier = v; return rv })
	te.d.Docker(t, "pull", "-q", te.signed)
	te.d.Docker(t, "pull", "-q", te.unsigned)
	id := func(ref string) string {
		return strings.TrimSpace(te.d.Docker(t, "image", "inspect", "--format", "{{.Id}}", ref))
	}
	signedID, unsignedID := id(te.signed), id(te.unsigned)
	if signedID == unsignedID {
		t.Fatalf("the signed and the unsigned image are both %s", signedID)
	}
	raced := make(chan error, 1)
	rv.mu.Lock()
	rv.race = func() {
		out, err := te.engineDocker("tag", te.unsigned, te.signed)
		if err != nil {
			err = errors.New(out)
		}
		raced <- err
	}
	rv.mu.Unlock()
	out, stderr, err := te.docker("create", "--network", "none", te.signed, "true")
	if err != nil {
		t.Fatalf("docker create %s through the gate: %v\n%s", te.signed, err, stderr)
	}
	select {
	case err := <-raced:
		if err != nil || id(te.signed) != unsignedID {
			t.Fatalf("the re-tag during the verification failed: %v", err)
		}
	default:
		t.Fatal("the gate did not verify the image")
	}
	got := strings.TrimSpace(te.d.Docker(t, "container", "inspect", "--format", "{{.Image}}", strings.TrimSpace(out)))
	if got != signedID {
		t.Errorf("the container was created from %s, want the verified image %s (the unsigned one is %s)", got, signedID, unsignedID)
	}
}

// pulls returns the queries of the pulls dockerd logged after the first
// skip calls.
func (e *gateEnv) pulls(skip int) []url.Values {
	var out []url.Values
	for _, c := range e.calls()[skip:] {
		path, q, _ := strings.Cut(c, "?")
		if strings.HasSuffix(path, "/images/create") {
			v, _ := url.ParseQuery(q)
			out = append(out, v)
		}
	}
	return out
}

// TestPullVerifiedAndPinned: through the gate with a trust policy, the
// docker CLI's pull of the signed image by tag reaches dockerd as a pull
// of the verified digest and leaves the tag set as a plain pull does; a
// pull by digest works the same; the unsigned image's pull is refused
// with hull's reason and never reaches dockerd; a pull from a registry
// the gate cannot reach is refused.
func TestPullVerifiedAndPinned(t *testing.T) {
	te := startTrustGate(t, nil)
	repo, digest, _ := strings.Cut(te.signedDigest, "@")

	before := len(te.calls())
	out, stderr, err := te.docker("pull", te.signed)
	if err != nil || !strings.Contains(out, te.signed) {
		t.Fatalf("docker pull %s through the gate: %v\n%s\n%s", te.signed, err, out, stderr)
	}
	if p := te.pulls(before); len(p) != 1 || p[0].Get("fromImage") != repo || p[0].Get("tag") != digest {
		t.Errorf("dockerd was asked for the pulls %v, want one of %s", p, te.signedDigest)
	}
	got := te.d.Docker(t, "image", "inspect", "--format", "{{json .RepoTags}} {{json .RepoDigests}}", te.signed)
	if want := `["` + te.signed + `"] ["` + te.signedDigest + `"]`; strings.TrimSpace(got) != want {
		t.Errorf("after the pull the image has %s, want %s", got, want)
	}
	out, stderr, err = te.docker("run", "--rm", "--network", "none", te.signed, "echo", "signed runs")
	if err != nil || out != "signed runs\n" {
		t.Fatalf("docker run %s after the pull: %v %q\n%s", te.signed, err, out, stderr)
	}

	te.d.Docker(t, "rmi", te.signed)
	before = len(te.calls())
	if _, stderr, err := te.docker("pull", "-q", te.signedDigest); err != nil {
		t.Fatalf("docker pull %s through the gate: %v\n%s", te.signedDigest, err, stderr)
	}
	if p := te.pulls(before); len(p) != 1 || p[0].Get("fromImage") != repo || p[0].Get("tag") != digest {
		t.Errorf("dockerd was asked for the pulls %v, want one of %s", p, te.signedDigest)
	}

	refused := func(ref, want string) {
		t.Helper()
		before := len(te.calls())
		_, stderr, err := te.docker("pull", ref)
		if err == nil || !strings.Contains(stderr, "hull gate: image pull: "+want) {
			t.Errorf("docker pull %s: %v, stderr %q, want hull's refusal saying %q", ref, err, stderr, want)
		}
		if p := te.pulls(before); len(p) != 0 {
			t.Errorf("docker pull %s reached dockerd: %v", ref, p)
		}
	}
	refused(te.unsigned, "the trust policy rejects "+te.unsigned+" ("+te.reg+"/team/unsigned@sha256:")
	refused(te.reg+"/team/unsigned:none", "the trust policy could not decide about "+te.reg+"/team/unsigned:none")
	gone := testenv.FreeLoopbackAddr(t) + "/team/app:1"
	refused(gone, "the trust policy could not decide about "+gone+": resolve")
}

// TestPullStream: the tag follows a progress stream with no error in
// it that ends with a message telling success (any for dockerd, the one
// with the image IDs for libpod); a failed tag is one more error message
// in the engine's shape; a stream holding an error, or ending early, is
// not followed by the tag.
func TestPullStream(t *testing.T) {
	progress := "{\"status\":\"Pulling from team/signed\",\"id\":\"1\"}\r\n{\"status\":\"Digest: sha256:ab\"}\r\n"
	failed := "{\"errorDetail\":{\"message\":\"manifest unknown\"},\"error\":\"manifest unknown\"}\r\n"
	lpProgress := "{\"stream\":\"Trying to pull reg/team/signed@sha256:ab...\\n\"}\n{\"stream\":\"Writing manifest to image destination\\n\"}\n"
	lpDone := "{\"images\":[\"0123\"],\"id\":\"0123\"}\n"
	lpFailed := "{\"error\":\"initializing source: manifest unknown\"}\n"
	for _, c := range []struct {
		name   string
		format progressFormat
		stream string
		tagErr error
		tagged bool
		want   string
	}{
		{"tagged", dockerProgress, progress, nil, true, progress},
		{"tag failed", dockerProgress, progress, errors.New("no such image"), true,
			progress + "{\"error\":\"hull gate: no such image\",\"errorDetail\":{\"message\":\"hull gate: no such image\"}}\r\n"},
		{"pull failed", dockerProgress, progress + failed, nil, false, progress + failed},
		{"unfinished message", dockerProgress, progress + "{\"status\":", nil, false, progress + "{\"status\":"},
		{"not JSON", dockerProgress, "<html>", nil, false, "<html>"},
		{"empty", dockerProgress, "", nil, false, ""},
		{"libpod tagged", libpodProgress, lpProgress + lpDone, nil, true, lpProgress + lpDone},
		{"libpod quiet tagged", libpodProgress, lpDone, nil, true, lpDone},
		{"libpod tag failed", libpodProgress, lpProgress + lpDone, errors.New("no such image"), true,
			lpProgress + lpDone + "{\"error\":\"hull gate: no such image\"}\r\n"},
		{"libpod pull failed", libpodProgress, lpProgress + lpFailed, nil, false, lpProgress + lpFailed},
		{"libpod failed with images", libpodProgress, "{\"images\":[\"0123\"],\"id\":\"0123\",\"error\":\"x\"}\n", nil, false,
			"{\"images\":[\"0123\"],\"id\":\"0123\",\"error\":\"x\"}\n"},
		// The service stopped before telling the pull's end.
		{"libpod cut short", libpodProgress, lpProgress, nil, false, lpProgress},
		{"libpod unknown message", libpodProgress, lpDone + "{\"status\":\"x\"}\n", nil, false, lpDone + "{\"status\":\"x\"}\n"},
		{"libpod docker error shape", libpodProgress, lpProgress + failed, nil, false, lpProgress + failed},
	} {
		t.Run(c.name, func(t *testing.T) {
			tagged := false
			s := &pullStream{body: io.NopCloser(iotest.OneByteReader(strings.NewReader(c.stream))), format: c.format, done: func() error {
				tagged = true
				return c.tagErr
			}}
			got, err := io.ReadAll(s)
			if err != nil || string(got) != c.want || tagged != c.tagged {
				t.Errorf("got %q (%v), tagged %t; want %q, tagged %t", got, err, tagged, c.want, c.tagged)
			}
		})
	}
}

// rewriteArchive copies the docker save archive src to dst, replacing
// the files named in repl (a nil value drops the file).
func rewriteArchive(t *testing.T, src, dst string, repl map[string][]byte) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	tr, tw := tar.NewReader(in), tar.NewWriter(out)
	write := func(name string, b []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if b, ok := repl[h.Name]; ok {
			seen[h.Name] = true
			if b != nil {
				write(h.Name, b)
			}
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	for n, b := range repl {
		if !seen[n] && b != nil {
			write(n, b)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLoadAndTag: docker load and docker tag pass the gate, and neither
// gives an image a registry digest the create would accept: an unsigned
// image loaded from an archive whose manifest.json, repositories file or
// OCI index claim the signed image's repo@digest gets no such digest
// from dockerd, and the unsigned image loaded or re-tagged under the
// signed image's name is refused at create.
func TestLoadAndTag(t *testing.T) {
	te := startTrustGate(t, nil)
	repo, digest, _ := strings.Cut(te.signedDigest, "@")
	te.d.Docker(t, "pull", "-q", te.unsigned)
	id := strings.TrimSpace(te.d.Docker(t, "image", "inspect", "--format", "{{.Id}}", te.unsigned))
	dir := t.TempDir()
	saved := filepath.Join(dir, "unsigned.tar")
	te.d.Docker(t, "save", "-o", saved, te.unsigned)
	te.d.Docker(t, "rmi", te.unsigned)

	b, err := exec.Command("tar", "-xOf", saved, "manifest.json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var m []map[string]any
	if err := json.Unmarshal(b, &m); err != nil || len(m) != 1 || len(m[0]["Layers"].([]any)) == 0 {
		t.Fatalf("manifest.json of docker save: %v %s", err, b)
	}
	claim := func(tags ...string) []byte {
		m[0]["RepoTags"] = tags
		b, _ := json.Marshal(m)
		return b
	}
	// The repositories file names the top layer's directory.
	layers := m[0]["Layers"].([]any)
	top := path.Dir(layers[len(layers)-1].(string))
	index := []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + digest +
		`","size":1,"annotations":{"io.containerd.image.name":"` + te.signedDigest + `","org.opencontainers.image.ref.name":"` + te.signedDigest + `"}}]}`)
	for _, c := range []struct {
		name string
		repl map[string][]byte
	}{
		{"manifest names the digest", map[string][]byte{"manifest.json": claim(te.signedDigest), "repositories": nil, "index.json": index}},
		{"manifest names a tag and the digest", map[string][]byte{"manifest.json": claim(repo + ":forged@" + digest), "repositories": nil}},
		{"repositories names the digest", map[string][]byte{"manifest.json": nil, "repositories": []byte(`{"` + te.signedDigest + `":{"latest":"` + top + `"}}`)}},
		{"repositories tags with the digest", map[string][]byte{"manifest.json": nil, "repositories": []byte(`{"` + repo + `":{"` + digest + `":"` + top + `"}}`)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			archive := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".tar")
			rewriteArchive(t, saved, archive, c.repl)
			_, stderr, err := te.docker("load", "-i", archive)
			t.Logf("docker load: %v %s", err, stderr)
			for _, img := range strings.Fields(te.d.Docker(t, "images", "-aq", "--no-trunc")) {
				if rd := te.d.Docker(t, "image", "inspect", "--format", "{{json .RepoDigests}}", img); strings.Contains(rd, digest) {
					t.Errorf("after the load the image %s has the registry digests %s", img, rd)
				}
			}
			before := creates(te.calls())
			if _, stderr, err := te.docker("create", "--pull", "never", "--network", "none", te.signedDigest, "true"); err == nil || creates(te.calls()) != before {
				t.Errorf("docker create %s after the load: %v %s", te.signedDigest, err, stderr)
			}
			_, _ = te.engineDocker("rmi", "-f", id)
		})
	}

	// The archive as saved, but for the signed image's name.
	archive := filepath.Join(dir, "renamed.tar")
	rewriteArchive(t, saved, archive, map[string][]byte{"manifest.json": claim(te.signed), "repositories": nil})
	if _, stderr, err := te.docker("load", "-i", archive); err != nil {
		t.Fatalf("docker load through the gate: %v\n%s", err, stderr)
	}
	if _, stderr, err := te.docker("tag", te.signed, te.reg+"/team/other:1"); err != nil {
		t.Fatalf("docker tag through the gate: %v\n%s", err, stderr)
	}
	for _, ref := range []string{te.signed, te.reg + "/team/other:1"} {
		before := creates(te.calls())
		_, stderr, err := te.docker("create", "--pull", "never", "--network", "none", ref, "true")
		if want := "hull gate: container create: the image " + ref + " (" + id + ") has no registry digest in " + strings.TrimSuffix(ref, ":1"); err == nil || !strings.Contains(stderr, want) {
			t.Errorf("docker create %s: %v %q, want hull's refusal saying %q", ref, err, stderr, want)
		}
		if creates(te.calls()) != before {
			t.Errorf("docker create %s reached dockerd", ref)
		}
	}
}

// TestImageBypassCorpus: pulls, tags and services the gate with a trust
// policy must refuse, sent as raw HTTP; dockerd's log shows none of them
// reached it.
func TestImageBypassCorpus(t *testing.T) {
	te := startTrustGate(t, nil)
	repo, digest, _ := strings.Cut(te.signedDigest, "@")
	unsignedRepo := strings.TrimSuffix(te.unsigned, ":1")
	pull := func(q string) string { return req("POST", "/v1.41/images/create?"+q, nil, "") }
	esc := url.QueryEscape
	auth := func(v string) string { return "X-Registry-Auth: " + v }
	spec := `{"Name":"x","TaskTemplate":{"ContainerSpec":{"Image":"` + te.unsigned + `"}}}`
	signedSpec := `{"Name":"x","TaskTemplate":{"ContainerSpec":{"Image":"` + te.signedDigest + `"}}}`
	driverVolume := `{"Name":"x","TaskTemplate":{"ContainerSpec":{"Image":"` + te.signedDigest + `","Mounts":[{"Type":"volume","Source":"v","Target":"/host",` +
		`"VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/"}}}}]}}}`
	plugin := `{"Name":"x","TaskTemplate":{"Runtime":"plugin","PluginSpec":{"Name":"evil"}}}`
	otherRepo := `{"Name":"x","TaskTemplate":{"ContainerSpec":{"Image":"` + unsignedRepo + `:1@` + digest + `"}}}`
	corpus := map[string]string{
		"digest in fromImage and a tag":             pull("fromImage=" + esc(unsignedRepo+"@"+digest) + "&tag=1"),
		"tag and digest in fromImage":               pull("fromImage=" + esc(unsignedRepo+":1@"+digest)),
		"own tag in fromImage and a tag":            pull("fromImage=" + esc(te.unsigned) + "&tag=1"),
		"every tag":                                 pull("fromImage=" + esc(unsignedRepo)),
		"empty tag":                                 pull("fromImage=" + esc(unsignedRepo) + "&tag="),
		"fromImage twice":                           pull("fromImage=" + esc(repo) + "&fromImage=" + esc(unsignedRepo) + "&tag=1"),
		"tag twice":                                 pull("fromImage=" + esc(unsignedRepo) + "&tag=" + esc(digest) + "&tag=1"),
		"unsigned with a platform":                  pull("fromImage=" + esc(unsignedRepo) + "&tag=1&platform=linux%2Famd64"),
		"fromSrc with fromImage":                    pull("fromImage=" + esc(repo) + "&tag=1&fromSrc=-"),
		"import to the signed name":                 pull("fromSrc=-&repo=" + esc(repo) + "&tag=1"),
		"repo parameter on a pull":                  pull("fromImage=" + esc(unsignedRepo) + "&tag=1&repo=" + esc(repo)),
		"sha512 digest":                             pull("fromImage=" + esc(unsignedRepo) + "&tag=sha512%3A" + strings.Repeat("ab", 64)),
		"short digest":                              pull("fromImage=" + esc(unsignedRepo) + "&tag=sha256%3Aab"),
		"dot-dot in fromImage":                      pull("fromImage=" + esc(te.reg+"/team/../team/unsigned") + "&tag=1"),
		"upper case in fromImage":                   pull("fromImage=" + esc(te.reg+"/team/Unsigned") + "&tag=1"),
		"semicolon in the query":                    pull("fromImage=" + esc(unsignedRepo) + ";tag=1"),
		"registry auth twice":                       req("POST", "/images/create?fromImage="+esc(unsignedRepo)+"&tag=1", []string{auth("e30="), auth("e30=")}, ""),
		"registry auth not base64":                  req("POST", "/images/create?fromImage="+esc(unsignedRepo)+"&tag=1", []string{auth("{!}")}, ""),
		"registry auth with duplicate keys":         req("POST", "/images/create?fromImage="+esc(unsignedRepo)+"&tag=1", []string{auth(base64.URLEncoding.EncodeToString([]byte(`{"username":"a","Username":"b"}`)))}, ""),
		"tag to a digest":                           req("POST", "/images/busybox:gate/tag?repo="+esc(te.signedDigest), nil, ""),
		"tag as a digest":                           req("POST", "/images/busybox:gate/tag?repo="+esc(repo)+"&tag="+esc(digest), nil, ""),
		"tag with two names":                        req("POST", "/images/busybox:gate/tag?repo=a&repo="+esc(repo)+"&tag=1", nil, ""),
		"tag with a body":                           req("POST", "/images/busybox:gate/tag?repo=a&tag=1", []string{cl(spec)}, spec),
		"service create":                            req("POST", "/v1.41/services/create", []string{"Content-Type: application/json", cl(spec)}, spec),
		"service update":                            req("POST", "/v1.41/services/x/update?version=1", []string{"Content-Type: application/json", cl(spec)}, spec),
		"service with a host path volume":           req("POST", "/services/create", []string{cl(driverVolume)}, driverVolume),
		"plugin service":                            req("POST", "/services/create", []string{cl(plugin)}, plugin),
		"service of a digest in another repository": req("POST", "/services/create", []string{cl(otherRepo)}, otherRepo),
		"service update with an unknown parameter":  req("POST", "/services/x/update?version=1&x=1", []string{cl(signedSpec)}, signedSpec),
		"service create with a parameter":           req("POST", "/services/create?version=1", []string{cl(signedSpec)}, signedSpec),
	}
	before := len(te.calls())
	for name, raw := range corpus {
		start := time.Now()
		resp := exchange(t, te.sock, raw, false)
		if time.Since(start) > 5*time.Second {
			t.Errorf("%s: the gate took %v to answer", name, time.Since(start))
		}
		if !strings.Contains(resp, " 403 ") && !strings.Contains(resp, " 400 ") {
			t.Errorf("%s: the gate answered %q, want a refusal", name, firstLine(resp))
		}
	}
	for _, c := range te.calls()[before:] {
		if !strings.HasSuffix(c, "/_ping") {
			t.Errorf("a request of the corpus reached dockerd: %s", c)
		}
	}
}

// TestPullWithClientCredentials: the gate resolves a pull's tag with the
// registry credentials the docker CLI sends (X-Registry-Auth), and with
// none when it sends none, not with the gate's own.
func TestPullWithClientCredentials(t *testing.T) {
	e, reg := startCredentialGate(t)
	ref := reg + "/team/app:1"

	before := len(e.calls())
	if _, stderr, err := e.docker("pull", ref); err == nil || !strings.Contains(stderr, "hull gate: image pull: the trust policy could not decide about "+ref+": resolve") {
		t.Errorf("docker pull %s without credentials: %v %q, want the gate unable to resolve the tag", ref, err, stderr)
	}
	e.clientLogin(t, reg)
	// The tag resolves with the client's credentials; the verifier
	// then looks for signatures of the digest with the gate's own, and
	// has none for this registry.
	if _, stderr, err := e.docker("pull", ref); err == nil || !strings.Contains(stderr, "hull gate: image pull: the trust policy could not decide about "+reg+"/team/app@sha256:") {
		t.Errorf("docker pull %s with credentials: %v %q, want the tag resolved to a digest", ref, err, stderr)
	}
	if p := e.pulls(before); len(p) != 0 {
		t.Errorf("a refused pull reached dockerd: %v", p)
	}
}

// TestPullIndex: a multi-platform image is verified by its index digest,
// as cosign signs it: pulled by tag through the gate, dockerd records
// that digest as the image's registry digest, and the create accepts it.
// It also shows why the create is pinned to an image ID rather than to
// repo@digest (pinImage): a later pull of the same digest for another
// platform makes repo@digest name another image.
func TestPullIndex(t *testing.T) {
	te := startTrustGate(t, nil)
	base, err := name.ParseReference(te.signedDigest)
	if err != nil {
		t.Fatal(err)
	}
	amd, err := remote.Image(base)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := amd.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Architecture = "arm64"
	arm, err := mutate.ConfigFile(amd, cf)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	tag, err := name.NewTag(te.reg + "/team/multi:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	h, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	pinned := te.reg + "/team/multi@" + h.String()
	if err := testenv.CosignSign(t, te.priv, pinned, false); err != nil {
		t.Fatal(err)
	}

	if _, stderr, err := te.docker("pull", "-q", tag.String()); err != nil {
		t.Fatalf("docker pull %s through the gate: %v\n%s", tag, err, stderr)
	}
	got := te.d.Docker(t, "image", "inspect", "--format", "{{.Id}} {{json .RepoDigests}}", tag.String())
	amdID, digests, _ := strings.Cut(strings.TrimSpace(got), " ")
	if digests != `["`+pinned+`"]` {
		t.Errorf("dockerd records the registry digests %s for the pulled index, want [%s]", digests, pinned)
	}
	if out, stderr, err := te.docker("run", "--rm", "--network", "none", tag.String(), "echo", "index runs"); err != nil || out != "index runs\n" {
		t.Fatalf("docker run %s: %v %q\n%s", tag, err, out, stderr)
	}

	// dockerd does not re-point repo@digest while the image it names is
	// there, but once that image is removed, a pull of the same digest
	// for another platform makes it name another image.
	if out, err := te.engineDocker("pull", "-q", "--platform", "linux/arm64", pinned); err == nil || !strings.Contains(out, "Cannot overwrite digest") {
		t.Errorf("docker pull --platform linux/arm64 %s with the amd64 image there: %v %s", pinned, err, out)
	}
	te.d.Docker(t, "rmi", amdID)
	if out, err := te.engineDocker("pull", "-q", "--platform", "linux/arm64", pinned); err != nil {
		t.Fatalf("docker pull --platform linux/arm64 %s: %v\n%s", pinned, err, out)
	}
	if now := strings.TrimSpace(te.d.Docker(t, "image", "inspect", "--format", "{{.Id}}", pinned)); now == amdID {
		t.Errorf("%s still names %s after a pull for arm64: repo@digest would pin as exactly as the ID", pinned, amdID)
	}
}

// TestServiceVerifiedAndPinned: on a single-node swarm, docker service
// create of the signed image through the gate makes a service whose
// image is the verified digest and whose task runs that image; the
// unsigned image, a bind mount of the host's root, an added capability,
// a network (which the gate does not judge) and an update to the
// unsigned image are refused before they reach dockerd.
func TestServiceVerifiedAndPinned(t *testing.T) {
	te := startTrustGate(t, nil)
	if out, err := te.engineDocker("swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", testenv.FreeLoopbackAddr(t)); err != nil {
		t.Fatalf("docker swarm init: %v\n%s", err, out)
	}
	te.d.Docker(t, "pull", "-q", te.signed)
	signedID := strings.TrimSpace(te.d.Docker(t, "image", "inspect", "--format", "{{.Id}}", te.signed))

	if _, stderr, err := te.docker("service", "create", "--detach", "--name", "good", te.signed, "sleep", "300"); err != nil {
		t.Fatalf("docker service create %s through the gate: %v\n%s\ndockerd: %v", te.signed, err, stderr, te.calls())
	}
	if got := strings.TrimSpace(te.d.Docker(t, "service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", "good")); got != te.signedDigest {
		t.Errorf("the service's image is %s, want the verified %s", got, te.signedDigest)
	}
	var ran string
	for i := 0; i < 60 && ran == ""; i++ {
		ids := strings.Fields(te.d.Docker(t, "ps", "-q", "--filter", "label=com.docker.swarm.service.name=good"))
		if len(ids) > 0 {
			ran = strings.TrimSpace(te.d.Docker(t, "container", "inspect", "--format", "{{.Image}}", ids[0]))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if ran != signedID {
		t.Errorf("the service's task runs the image %q, want the verified %s", ran, signedID)
	}

	refused := func(want string, args ...string) {
		t.Helper()
		before := len(te.calls())
		_, stderr, err := te.docker(args...)
		if err == nil || !strings.Contains(stderr, want) {
			t.Errorf("docker %s: %v, stderr %q, want hull's refusal saying %q", strings.Join(args, " "), err, stderr, want)
		}
		for _, c := range te.calls()[before:] {
			if strings.HasSuffix(c, "/services/create") || strings.Contains(c, "/update") {
				t.Errorf("docker %s reached dockerd: %s", strings.Join(args, " "), c)
			}
		}
	}
	refused("hull gate: service create: the trust policy rejects "+te.unsigned+" ("+te.reg+"/team/unsigned@sha256:",
		"service", "create", "--detach", "--name", "bad", te.unsigned, "true")
	refused("container-sensitive-mounts",
		"service", "create", "--detach", "--name", "bad", "--mount", "type=bind,source=/,target=/host", te.signed, "true")
	refused("container-capabilities",
		"service", "create", "--detach", "--name", "bad", "--cap-add", "SYS_ADMIN", te.signed, "true")
	// The CLI asks for the network first (allowed), then the spec names it.
	refused(`service create: the service spec has the field "Networks", which the gate does not judge`,
		"service", "create", "--detach", "--name", "bad", "--network", "host", te.signed, "true")
	before := len(te.calls())
	spec := `{"Name":"bad","TaskTemplate":{"ContainerSpec":{"Image":"` + te.signed + `"},"Networks":[{"Target":"host"}]}}`
	resp := exchange(t, te.sock, req("POST", "/v1.41/services/create", []string{cl(spec)}, spec), false)
	if want := `service create: the service spec has the field \"Networks\", which the gate does not judge`; !strings.Contains(resp, " 403 ") || !strings.Contains(resp, want) {
		t.Errorf("a service spec with networks: the gate answered %q, want a refusal saying %s", resp, want)
	}
	if c := te.calls()[before:]; len(c) != 0 {
		t.Errorf("a service spec with networks reached dockerd: %v", c)
	}
	refused("hull gate: service update: the trust policy rejects "+te.unsigned,
		"service", "update", "--detach", "--image", te.unsigned, "good")
	if _, stderr, err := te.docker("service", "rm", "good"); err != nil {
		t.Errorf("docker service rm through the gate: %v\n%s", err, stderr)
	}
}
