package image

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hull-sec/hull/internal/engineapi"
)

// daemonEndpoint is how hull reaches a Docker-compatible engine API.
type daemonEndpoint struct {
	client *http.Client
	base   string // scheme://host for URLs
	desc   string // for messages
}

// defaultSockets lists the sockets tried, in order, when no host
// variable is set.
func defaultSockets(kind Kind, getenv func(string) string) []string {
	return engineapi.DefaultSockets(kind == KindPodman, getenv)
}

// resolveDaemon picks the engine endpoint from DOCKER_HOST or
// CONTAINER_HOST, else from the default sockets.
func resolveDaemon(kind Kind, getenv func(string) string) (*daemonEndpoint, error) {
	hostVar := "DOCKER_HOST"
	if kind == KindPodman {
		hostVar = "CONTAINER_HOST"
	}
	host := getenv(hostVar)
	if host == "" {
		for _, s := range defaultSockets(kind, getenv) {
			if _, err := os.Stat(s); err == nil {
				host = "unix://" + s
				break
			}
		}
		if host == "" {
			engine, start := "Docker", "start dockerd"
			if kind == KindPodman {
				engine, start = "Podman", "start one with 'podman system service --time=0 unix://PATH'"
			}
			return nil, fmt.Errorf("no %s API socket found (tried %s): %s, or set %s=unix://PATH", engine, strings.Join(defaultSockets(kind, getenv), ", "), start, hostVar)
		}
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: %w", hostVar, host, err)
	}
	switch u.Scheme {
	case "unix":
		return &daemonEndpoint{client: engineapi.UnixClient(u.Path), base: "http://engine", desc: host}, nil
	case "tcp":
		tr := &http.Transport{}
		scheme := "http"
		if certs := getenv("DOCKER_CERT_PATH"); kind == KindDockerDaemon && getenv("DOCKER_TLS_VERIFY") != "" && certs != "" {
			cfg, err := daemonTLS(certs)
			if err != nil {
				return nil, err
			}
			tr.TLSClientConfig, scheme = cfg, "https"
		} else if !IsLoopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("refusing plain TCP to the engine at %s: anyone on the network could drive it; use TLS (DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH) or a unix socket", u.Host)
		}
		return &daemonEndpoint{client: &http.Client{Transport: tr}, base: scheme + "://" + u.Host, desc: host}, nil
	}
	return nil, fmt.Errorf("%s=%q: scheme %q is not supported (use unix:// or tcp://; for ssh://, forward the socket with ssh -L)", hostVar, host, u.Scheme)
}

func daemonTLS(dir string) (*tls.Config, error) {
	var pems [3][]byte
	for i, name := range []string{"ca.pem", "cert.pem", "key.pem"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		pems[i] = b
	}
	cfg, err := engineapi.ClientTLS(pems[0], pems[1], pems[2])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return cfg, nil
}

// engineName reports whether s is what an image name or ID may hold on an
// engine API path: [A-Za-z0-9][A-Za-z0-9._/:@-]*. (Plain loops, not regexps
// compiled at start-up: every hull run would pay for them.)
func engineName(s string) bool {
	for i, c := range []byte(s) {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("._/:@-", rune(c))) {
			return false
		}
	}
	return s != ""
}

// engineID reports whether s is an engine image ID or its prefix, which
// names no tag: (sha256:)?[0-9a-f]{12,64}.
func engineID(s string) bool {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) < 12 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ErrNotFound is wrapped when an engine has no image by that name.
var ErrNotFound = errors.New("image not found")

// openDaemon exports the image through the engine API ('docker save'
// over the socket) into a private temp file and reads it as a docker
// archive; the engine's image ID must match the exported config.
func (im *Image) openDaemon(ctx context.Context, o Options) error {
	nm := im.Ref.Name
	if !engineName(nm) || strings.Contains(nm, "..") {
		return fmt.Errorf("%w: %q is not an image name", ErrBadRef, nm)
	}
	if ref, err := name.ParseReference(nm); err == nil && !engineID(nm) {
		im.setTag(ref)
	}
	ep, err := resolveDaemon(im.Ref.Kind, o.Getenv)
	if err != nil {
		return err
	}
	// Answers must begin within the timeout; the export, which may be
	// large, may not stall longer than it. Bodies are bounded where read.
	ep.client.Transport = &deadlineTransport{base: ep.client.Transport, timeout: o.RequestTimeout(),
		peer:     func(*http.Request) string { return "engine API at " + ep.desc },
		streamed: func(r *http.Request) bool { return r.URL.Path == "/images/get" }}
	var inspect struct {
		ID string `json:"Id"`
	}
	if err := ep.getJSON(ctx, "/images/"+nm+"/json", nil, &inspect); err != nil {
		return err
	}
	f, err := os.CreateTemp(o.TempDir, "hull-export-*.tar")
	if err != nil {
		return err
	}
	im.cleanup = append(im.cleanup, func() error { return os.Remove(f.Name()) })
	resp, err := ep.get(ctx, "/images/get", url.Values{"names": {nm}})
	if err != nil {
		f.Close()
		return err
	}
	_, err = io.Copy(f, &limitedReader{r: resp.Body, n: im.limits.MaxLayerBytes, what: "image export"})
	resp.Body.Close()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export from %s: %w", ep.desc, err)
	}
	if err := im.openDockerArchive(f.Name()); err != nil {
		return fmt.Errorf("read export from %s: %w", ep.desc, err)
	}
	id, err := im.ConfigName()
	if err != nil {
		return err
	}
	if want := strings.TrimPrefix(inspect.ID, "sha256:"); want != "" && id.Hex != want {
		return fmt.Errorf("engine says image %s is %s but exported config is %s", nm, inspect.ID, id)
	}
	return nil
}

func (ep *daemonEndpoint) get(ctx context.Context, p string, q url.Values) (*http.Response, error) {
	u := &url.URL{Path: p, RawQuery: q.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.base+u.EscapedPath()+"?"+u.RawQuery, nil)
	if err != nil {
		return nil, err
	}
	resp, err := ep.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("engine API at %s: %w", ep.desc, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		var msg struct {
			Message string `json:"message"`
		}
		_ = decodeLimited(resp.Body, &msg)
		if resp.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("%w at %s: %s", ErrNotFound, ep.desc, msg.Message)
		}
		return nil, fmt.Errorf("engine API at %s: %s %s: %s", ep.desc, p, resp.Status, msg.Message)
	}
	return resp, nil
}

func (ep *daemonEndpoint) getJSON(ctx context.Context, p string, q url.Values, v any) error {
	resp, err := ep.get(ctx, p, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := decodeLimited(resp.Body, v); err != nil {
		return fmt.Errorf("engine API at %s: %s: %w", ep.desc, p, err)
	}
	return nil
}
