package testenv

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// timed runs f and logs how long it took.
func timed(t *testing.T, name string, f func()) {
	t.Helper()
	start := time.Now()
	f()
	t.Logf("timing: %-40s %v", name, time.Since(start).Round(time.Millisecond))
}

// oneFileTar builds, with archive/tar, a rootfs tar holding hello.txt.
func oneFileTar(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	content := []byte("hello from hull\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(content)),
		Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tarNames lists the entry names of the tar stream r, failing on a bad header.
func tarNames(t *testing.T, r io.Reader) []string {
	t.Helper()
	tr := tar.NewReader(r)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("tar stream after %v: %v", names, err)
		}
		names = append(names, h.Name)
	}
}

func tarFileNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return tarNames(t, f)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func getJSON(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", u, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", u, err, body)
	}
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	var a, b string
	timed(t, "Registry start (2 instances)", func() {
		a = Registry(t)
		b = Registry(t)
	})
	if a == b || !strings.HasPrefix(a, "127.0.0.1:") {
		t.Fatalf("registries at %q and %q", a, b)
	}
	var cat struct{ Repositories []string }
	getJSON(t, http.DefaultClient, "http://"+a+"/v2/_catalog", &cat)
	if len(cat.Repositories) != 0 {
		t.Fatalf("fresh registry has repositories %v", cat.Repositories)
	}
}

// TestRegistryWithAuth checks that the htpasswd registry answers 401 to
// anonymous and wrong credentials and 200 to the right ones, over plain HTTP.
func TestRegistryWithAuth(t *testing.T) {
	t.Parallel()
	var reg string
	timed(t, "RegistryWithAuth start", func() { reg = RegistryWithAuth(t, "hull", "s3cret pass") })
	for _, c := range []struct {
		user, pass string
		want       int
	}{
		{"", "", http.StatusUnauthorized},
		{"hull", "wrong", http.StatusUnauthorized},
		{"other", "s3cret pass", http.StatusUnauthorized},
		{"hull", "s3cret pass", http.StatusOK},
	} {
		req, err := http.NewRequest(http.MethodGet, "http://"+reg+"/v2/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.user != "" {
			req.SetBasicAuth(c.user, c.pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET /v2/ as %q/%q: %s %s, want %d", c.user, c.pass, resp.Status, body, c.want)
		}
		if c.want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("Www-Authenticate"), "Basic ") {
			t.Errorf("GET /v2/ as %q: WWW-Authenticate = %q, want a Basic challenge", c.user, resp.Header.Get("Www-Authenticate"))
		}
	}
}

// TestImageRoundTrip imports an image built in Go, pushes it to a real
// registry, pulls it into a second isolated podman, saves it in both archive
// formats, converts with skopeo and reads it back over the API socket.
func TestImageRoundTrip(t *testing.T) {
	t.Parallel()
	var reg string
	var p, p2 *Podman
	timed(t, "Registry", func() { reg = Registry(t) })
	timed(t, "PodmanEnv", func() { p = PodmanEnv(t) })

	const local = "localhost/hull-test:1"
	rootfs := oneFileTar(t)
	timed(t, "podman import", func() {
		p.Run("import", "--change", `CMD ["/hello.txt"]`, rootfs, local)
	})
	if out := p.Run("images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, local) {
		t.Fatalf("podman images = %q, want %s", out, local)
	}

	remote := reg + "/hull/test:1"
	timed(t, "podman push", func() { p.Run("push", "--tls-verify=false", local, "docker://"+remote) })
	var tags struct{ Tags []string }
	getJSON(t, http.DefaultClient, "http://"+reg+"/v2/hull/test/tags/list", &tags)
	if !contains(tags.Tags, "1") {
		t.Fatalf("registry tags = %v", tags.Tags)
	}
	timed(t, "podman push (no TLS flag)", func() { p.Run("push", local, remote+"-b") })

	timed(t, "PodmanEnv + pull from registry", func() {
		p2 = PodmanEnv(t)
		if out := p2.Run("images", "-q"); strings.TrimSpace(out) != "" {
			t.Fatalf("second podman env is not isolated: images %q", out)
		}
		p2.Run("pull", "-q", remote)
	})
	if out := p2.Run("image", "exists", remote); out != "" {
		t.Logf("image exists: %q", out)
	}

	dir := t.TempDir()
	dockerTar := filepath.Join(dir, "docker.tar")
	ociTar := filepath.Join(dir, "oci.tar")
	timed(t, "podman save docker-archive", func() {
		p.Run("save", "--format", "docker-archive", "-o", dockerTar, local)
	})
	if names := tarFileNames(t, dockerTar); !contains(names, "manifest.json") {
		t.Fatalf("docker-archive entries %v lack manifest.json", names)
	}
	timed(t, "podman save oci-archive", func() {
		p.Run("save", "--format", "oci-archive", "-o", ociTar, local)
	})
	if names := tarFileNames(t, ociTar); !contains(names, "index.json") || !contains(names, "oci-layout") {
		t.Fatalf("oci-archive entries %v lack index.json/oci-layout", names)
	}

	ociDir := filepath.Join(dir, "oci")
	timed(t, "skopeo copy docker-archive -> oci", func() {
		Skopeo(t, "copy", "docker-archive:"+dockerTar, "oci:"+ociDir+":latest")
	})
	var index struct {
		Manifests []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	data, err := os.ReadFile(filepath.Join(ociDir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &index); err != nil || len(index.Manifests) != 1 ||
		index.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "latest" {
		t.Fatalf("oci layout index.json = %s (%v)", data, err)
	}
	var inspect struct{ Name string }
	timed(t, "skopeo copy registry -> oci", func() {
		Skopeo(t, "copy", "--src-tls-verify=false", "docker://"+remote, "oci:"+ociDir+":fromreg")
	})
	timed(t, "skopeo inspect registry image", func() {
		if err := json.Unmarshal([]byte(Skopeo(t, "inspect", "--tls-verify=false", "docker://"+remote)), &inspect); err != nil {
			t.Fatal(err)
		}
	})
	if inspect.Name != reg+"/hull/test" {
		t.Fatalf("skopeo inspect name = %q", inspect.Name)
	}

	var sock string
	timed(t, "Socket (podman system service)", func() { sock = p.Socket() })
	if again := p.Socket(); again != sock {
		t.Fatalf("Socket() = %q then %q", sock, again)
	}
	c := UnixClient(sock)
	var images []struct {
		Id       string
		RepoTags []string
	}
	timed(t, "API GET /images/json", func() { getJSON(t, c, "http://d/images/json", &images) })
	found := false
	for _, im := range images {
		found = found || contains(im.RepoTags, local)
	}
	if !found {
		t.Fatalf("/images/json = %+v, want %s", images, local)
	}
	timed(t, "API GET /images/{name}/get", func() {
		resp, err := c.Get("http://d/images/" + url.PathEscape(local) + "/get")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("GET /images/%s/get: %s: %s", local, resp.Status, b)
		}
		head := make([]byte, 512)
		if _, err := io.ReadFull(resp.Body, head); err != nil {
			t.Fatal(err)
		}
		hdr, err := tar.NewReader(bytes.NewReader(head)).Next()
		if err != nil {
			t.Fatalf("image stream does not start with a tar header: %v\n%q", err, head)
		}
		t.Logf("first tar entry of /images/get: %s", hdr.Name)
		names := tarNames(t, io.MultiReader(bytes.NewReader(head), resp.Body))
		if !contains(names, "manifest.json") {
			t.Fatalf("/images/get entries %v lack manifest.json", names)
		}
	})
}

// TestBusyboxContainer runs a busybox container with the podman CLI and
// through the Docker-compatible API.
func TestBusyboxContainer(t *testing.T) {
	t.Parallel()
	var root string
	timed(t, "BusyboxRootfs", func() { root = BusyboxRootfs(t) })
	p := PodmanEnv(t)
	const img = "localhost/hull-busybox:1"
	timed(t, "TarDir + podman import busybox", func() {
		p.Run("import", "--change", `CMD ["/bin/sh"]`, TarDir(t, root), img)
	})
	var out string
	timed(t, "podman run --rm busybox", func() {
		out = p.Run("run", "--rm", "--network", "none", img, "sh", "-c", "cat /hello 2>/dev/null; id -u; ulimit -n")
	})
	if got := strings.Fields(out); len(got) != 2 || got[0] != "0" || got[1] != "20000" {
		t.Fatalf("podman run output %q, want uid 0 and nofile 20000", out)
	}

	c := UnixClient(p.Socket())
	post := func(path string, body any) []byte {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		resp, err := c.Post("http://d"+path, "application/json", r)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %s: %s", path, resp.Status, b)
		}
		return b
	}
	timed(t, "API create/start/wait/logs", func() {
		var created struct{ Id string }
		if err := json.Unmarshal(post("/containers/create", map[string]any{
			"Image":      img,
			"Cmd":        []string{"sh", "-c", "echo api-ok"},
			"HostConfig": map[string]any{"NetworkMode": "none"},
		}), &created); err != nil || created.Id == "" {
			t.Fatalf("create: %v %+v", err, created)
		}
		post("/containers/"+created.Id+"/start", nil)
		var wait struct{ StatusCode int }
		if err := json.Unmarshal(post("/containers/"+created.Id+"/wait", nil), &wait); err != nil || wait.StatusCode != 0 {
			t.Fatalf("wait: %v %+v", err, wait)
		}
		resp, err := c.Get("http://d/containers/" + created.Id + "/logs?stdout=1")
		if err != nil {
			t.Fatal(err)
		}
		logs, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Contains(logs, []byte("api-ok")) {
			t.Fatalf("logs = %q", logs)
		}
	})
	// Leave a running container behind on purpose: cleanup must remove it.
	p.Run("run", "-d", "--name", "leftover", img, "sleep", "600")
}
