package image_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/cosign"
	"github.com/hull-sec/hull/internal/image"
	it "github.com/hull-sec/hull/internal/imagetest"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// hostileRegistry is go-containerregistry's registry with some paths
// answered by a liar: sizes that are not true, bodies without end,
// answers that never come. It counts the bytes the liars got written.
type hostileRegistry struct {
	host   string
	inner  http.Handler
	routes map[string]http.HandlerFunc
	sent   atomic.Int64
	stop   chan struct{}
}

// hostileCap is as much as a liar sends before it gives up, so that a
// test of a reader without bounds fails instead of eating the machine.
const hostileCap = 256 << 20

func newHostileRegistry(t *testing.T) *hostileRegistry {
	h := &hostileRegistry{inner: registry.New(registry.Logger(log.New(io.Discard, "", 0))), routes: map[string]http.HandlerFunc{}, stop: make(chan struct{})}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { close(h.stop); srv.Close() })
	h.host = strings.TrimPrefix(srv.URL, "http://")
	return h
}

func (h *hostileRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f, ok := h.routes[r.URL.Path]; ok {
		f(w, r)
		return
	}
	h.inner.ServeHTTP(w, r)
}

// endless streams filler until the reader goes away or hostileCap.
func (h *hostileRegistry) endless(contentType string, fill byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		buf := []byte(strings.Repeat(string(fill), 32<<10))
		for n := 0; n < hostileCap; n += len(buf) {
			m, err := w.Write(buf)
			h.sent.Add(int64(m))
			if err != nil {
				return
			}
		}
	}
}

// hang answers nothing until the client gives up or the test ends,
// after writing head (headers and a first part of the body) if given.
func (h *hostileRegistry) hang(head func(http.ResponseWriter)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if head != nil {
			head(w)
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-h.stop:
		}
	}
}

// drip sends body one byte at a time, every gap.
func (h *hostileRegistry) drip(body []byte, gap time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		for _, c := range body {
			if _, err := w.Write([]byte{c}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(gap):
			case <-r.Context().Done():
				return
			case <-h.stop:
				return
			}
		}
	}
}

// serveManifest answers tag with m.
func (h *hostileRegistry) serveManifest(t *testing.T, tag string, m *v1.Manifest) {
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	h.routes["/v2/hull/app/manifests/"+tag] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.Header().Set("Docker-Content-Digest", "sha256:"+fmt.Sprintf("%x", sha256.Sum256(b)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(b)
		}
	}
}

func fakeDigest(label string) v1.Hash {
	s := sha256.Sum256([]byte(label))
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(s[:])}
}

// TestHostileRegistryIsBounded: whatever a registry claims or does, hull
// reads a bounded number of bytes and gives up within its timeout, with
// an error that names the registry and what it asked (item 10 of
// issue 11: a config claiming 3 GiB was read into memory, a registry that
// never answered hung hull).
func TestHostileRegistryIsBounded(t *testing.T) {
	h := newHostileRegistry(t)
	img := it.Image(t, v1.Config{Cmd: []string{"/bin/app"}}, nil, it.Layer(t, it.File("app", "app", 0o755)))
	h.push(t, img)
	honest, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	variant := func(tag string, edit func(m *v1.Manifest)) {
		m := honest.DeepCopy()
		edit(m)
		h.serveManifest(t, tag, m)
	}
	blob := func(d v1.Hash) string { return "/v2/hull/app/blobs/" + d.String() }
	const timeout = 500 * time.Millisecond

	// A config that claims 3 GiB, over an endless body.
	variant("config-3g", func(m *v1.Manifest) { m.Config.Digest, m.Config.Size = fakeDigest("3g"), 3<<30 })
	h.routes[blob(fakeDigest("3g"))] = h.endless("application/octet-stream", 0)
	// A config of size -1 (go-containerregistry: unknown, read to the end).
	variant("config-unknown", func(m *v1.Manifest) { m.Config.Digest, m.Config.Size = fakeDigest("unknown"), -1 })
	h.routes[blob(fakeDigest("unknown"))] = h.endless("application/octet-stream", 0)
	// A layer of size -1.
	variant("layer-unknown", func(m *v1.Manifest) { m.Layers[0].Size = -1 })
	// An index whose entry for this platform claims -1 bytes.
	idx, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{{
		MediaType: types.OCIManifestSchema1, Digest: fakeDigest("entry"), Size: -1,
		Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}}})
	if err != nil {
		t.Fatal(err)
	}
	h.routes["/v2/hull/app/manifests/index-entry-unknown"] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", string(types.OCIImageIndex))
		w.Header().Set("Docker-Content-Digest", "sha256:"+fmt.Sprintf("%x", sha256.Sum256(idx)))
		_, _ = w.Write(idx)
	}
	h.routes["/v2/hull/app/manifests/"+fakeDigest("entry").String()] = h.endless(string(types.OCIManifestSchema1), ' ')
	// A manifest without end.
	h.routes["/v2/hull/app/manifests/endless"] = h.endless(string(types.OCIManifestSchema1), ' ')
	// A manifest that never comes, or stops halfway.
	h.routes["/v2/hull/app/manifests/silent"] = h.hang(nil)
	h.routes["/v2/hull/app/manifests/stalled"] = h.hang(func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
		w.Header().Set("Content-Length", "1000")
		_, _ = w.Write([]byte(`{"schemaVersion":`))
	})
	// A config that drips: each byte in time, the whole never.
	cfgRaw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	variant("config-drip", func(m *v1.Manifest) { m.Config.Digest, m.Config.Size = fakeDigest("drip"), int64(len(cfgRaw)) })
	h.routes[blob(fakeDigest("drip"))] = h.drip(cfgRaw, timeout/5)

	for _, tc := range []struct {
		tag  string
		want error
		// says is part of the error a user reads.
		says string
	}{
		{"config-3g", image.ErrTooLarge, "config is 3221225472 bytes"},
		{"config-unknown", image.ErrTooLarge, "config is -1 bytes"},
		{"layer-unknown", image.ErrTooLarge, "layer 0 is -1 bytes"},
		{"index-entry-unknown", image.ErrTooLarge, "the index says the manifest for linux/" + runtime.GOARCH + " is -1 bytes"},
		{"endless", image.ErrTooLarge, "registry " + h.host + " sent more than 4194304 bytes in answer to GET /v2/hull/app/manifests/endless"},
		{"silent", image.ErrTimeout, "registry " + h.host + " did not answer GET /v2/hull/app/manifests/silent within 500ms"},
		{"stalled", image.ErrTimeout, "registry " + h.host + " did not finish its answer to GET /v2/hull/app/manifests/stalled within 500ms"},
		{"config-drip", image.ErrTimeout, "registry " + h.host + " did not finish its answer to GET /v2/hull/app/blobs/" + fakeDigest("drip").String() + " within 500ms"},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			// The test's own bound: a reader without one fails here
			// instead of hanging.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			h.sent.Store(0)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			im, err := image.Open(ctx, h.host+"/hull/app:"+tc.tag, image.Options{Timeout: timeout})
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if err == nil {
				im.Close()
				t.Fatal("opened; want an error")
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("got %v\nwant %v saying %q", err, tc.want, tc.says)
			}
			if took > 8*timeout {
				t.Errorf("took %s with a timeout of %s", took, timeout)
			}
			// 4 MiB of manifest at most, and what sockets buffer.
			if sent := h.sent.Load(); sent > 24<<20 {
				t.Errorf("the registry got %d bytes written; hull read without bound", sent)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("allocated %d bytes", alloc)
			}
		})
	}
}

// TestHostileRegistryLayerStall: a layer may take long, but not stop: a
// read that waits longer than the timeout for its next bytes fails.
func TestHostileRegistryLayerStall(t *testing.T) {
	h := newHostileRegistry(t)
	img := it.Image(t, v1.Config{Cmd: []string{"/bin/app"}}, nil, it.Layer(t, it.File("app", "app", 0o755)))
	h.push(t, img)
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	// The layer, honest in its descriptor, sends its first bytes and no more.
	l := m.Layers[0]
	h.routes["/v2/hull/app/blobs/"+l.Digest.String()] = h.hang(func(w http.ResponseWriter) {
		w.Header().Set("Content-Length", fmt.Sprint(l.Size))
		_, _ = w.Write([]byte{0x1f, 0x8b})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const timeout = 500 * time.Millisecond
	im, err := image.Open(ctx, h.host+"/hull/app:1", image.Options{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	start := time.Now()
	err = im.Walk(ctx, func(*image.File) error { return nil })
	if !errors.Is(err, image.ErrTimeout) || !strings.Contains(err.Error(), "stopped sending its answer to GET /v2/hull/app/blobs/"+l.Digest.String()) {
		t.Fatalf("got %v, want a stalled layer", err)
	}
	if took := time.Since(start); took > 8*timeout {
		t.Errorf("took %s with a timeout of %s", took, timeout)
	}
}

// TestHostileSignatureStore: signature reads are metadata: bounded, and
// a registry that stops answering leaves the verdict undecided (an
// error) rather than turning into an invalid signature.
func TestHostileSignatureStore(t *testing.T) {
	h := newHostileRegistry(t)
	repo, err := name.NewRepository(h.host + "/hull/app")
	if err != nil {
		t.Fatal(err)
	}
	subject := fakeDigest("subject")
	sig := &v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
		Config: v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: fakeDigest("cfg"), Size: 2},
		Layers: []v1.Descriptor{{MediaType: cosign.PayloadMediaType, Digest: fakeDigest("payload"), Size: 100,
			Annotations: map[string]string{cosign.SignatureAnnotation: "c2ln"}}}}
	h.serveManifest(t, cosign.SignatureTag(subject), sig)
	h.routes["/v2/hull/app/blobs/"+fakeDigest("payload").String()] = h.hang(nil)
	// The referrers API, without end.
	h.routes["/v2/hull/app/referrers/"+subject.String()] = h.endless(string(types.OCIImageIndex), ' ')

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o := image.Options{Timeout: 500 * time.Millisecond}
	start := time.Now()
	got, err := cosign.Fetch(ctx, repo, subject, o.RemoteOptions(ctx))
	if !errors.Is(err, image.ErrTimeout) {
		t.Fatalf("cosign signatures: got %v (stored %+v), want a timeout error", err, got)
	}
	h.sent.Store(0)
	_, err = image.Referrers(ctx, repo, subject, "application/vnd.cncf.notary.signature", []string{"application/jose+json"}, o.RemoteOptions(ctx))
	if !errors.Is(err, image.ErrTooLarge) {
		t.Fatalf("referrers: got %v, want too large", err)
	}
	if sent := h.sent.Load(); sent > 24<<20 {
		t.Errorf("the registry got %d bytes written", sent)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s", took)
	}
}

// TestSilentEngineTimesOut: a docker-daemon: or podman: source whose
// engine accepts the connection and never answers fails in time, naming
// the engine.
func TestSilentEngineTimesOut(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "engine.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { close(stop); srv.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, src := range []string{"docker-daemon:app:1", "podman:app:1"} {
		start := time.Now()
		_, err := image.Open(ctx, src, image.Options{Timeout: 300 * time.Millisecond, Getenv: func(k string) string {
			return map[string]string{"DOCKER_HOST": "unix://" + sock, "CONTAINER_HOST": "unix://" + sock}[k]
		}})
		want := "engine API at unix://" + sock + " did not answer GET /images/app:1/json within 300ms"
		if !errors.Is(err, image.ErrTimeout) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", src, err, want)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("%s: took %s", src, took)
		}
	}
}

// TestSlowReaderIsNotAStall: the layer timeout measures the registry,
// not hull: a reader that pauses longer than the timeout between reads
// (a slow check downstream) still reads the whole layer.
func TestSlowReaderIsNotAStall(t *testing.T) {
	h := newHostileRegistry(t)
	// Incompressible, and more than read-ahead and socket buffers hold.
	noise := make([]byte, 32<<20)
	rand.New(rand.NewSource(1)).Read(noise)
	img := it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("a", string(noise), 0o644)))
	h.push(t, img)
	ctx := context.Background()
	const timeout = 200 * time.Millisecond
	im, err := image.Open(ctx, h.host+"/hull/app:1", image.Options{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	rc, err := im.OpenLayer(0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	buf := make([]byte, 1024)
	if _, err := io.ReadFull(rc, buf); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * timeout)
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatalf("after a pause: %v", err)
	}
}

// push stores img as hull/app:1 in the registry, honestly.
func (h *hostileRegistry) push(t *testing.T, img v1.Image) {
	t.Helper()
	ref, err := name.ParseReference(h.host + "/hull/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
}

// TestReferrerLayerSizeIsBoundedByReadBlob: a referrer whose layer
// descriptor claims a negative or oversize size is judged invalid by the
// one guard every blob read goes through (ReadBlob), and nothing of the
// blob is fetched.
func TestReferrerLayerSizeIsBoundedByReadBlob(t *testing.T) {
	for _, size := range []int64{-1, image.MaxReferrerBlobBytes + 1} {
		h := newHostileRegistry(t)
		repo, err := name.NewRepository(h.host + "/hull/app")
		if err != nil {
			t.Fatal(err)
		}
		subject, blob := fakeDigest("subject"), fakeDigest("blob")
		art := &v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: "application/vnd.cncf.notary.signature",
			Config: v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: fakeDigest("cfg"), Size: 2},
			Layers: []v1.Descriptor{{MediaType: "application/jose+json", Digest: blob, Size: size}}}
		raw, err := json.Marshal(art)
		if err != nil {
			t.Fatal(err)
		}
		artDigest := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(raw))}
		h.serveManifest(t, artDigest.String(), art)
		idx, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{{
			MediaType: types.OCIManifestSchema1, ArtifactType: art.ArtifactType, Digest: artDigest, Size: int64(len(raw))}}})
		if err != nil {
			t.Fatal(err)
		}
		h.routes["/v2/hull/app/referrers/"+subject.String()] = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", string(types.OCIImageIndex))
			_, _ = w.Write(idx)
		}
		h.routes["/v2/hull/app/blobs/"+blob.String()] = h.endless("application/octet-stream", 'x')
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		o := image.Options{Timeout: time.Second}
		got, err := image.Referrers(ctx, repo, subject, art.ArtifactType, []string{"application/jose+json"}, o.RemoteOptions(ctx))
		cancel()
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if len(got) != 1 || !errors.Is(got[0].Err, image.ErrBadBlob) || !strings.Contains(got[0].Err.Error(), fmt.Sprintf("said to be %d bytes", size)) {
			t.Fatalf("size %d: got %+v, want one referrer refused for its layer size", size, got)
		}
		if n := h.sent.Load(); n > 0 {
			t.Errorf("size %d: the registry got %d bytes of blob written", size, n)
		}
	}
}
