package image_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/image"
	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/testenv"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// The credentials of the auth registry; credHelperScript answers with them.
const (
	authUser = "hull"
	authPass = "s3cret"
)

// credHelperScript is docker-credential-hulltest, a Docker credential
// helper with fixed content: for "get" it appends the server URL read on
// stdin to the file "requests" next to itself and prints fixed credentials.
const credHelperScript = `#!/bin/sh
set -eu
[ "${1:-}" = get ] || { echo "docker-credential-hulltest: only get is supported" >&2; exit 1; }
server=$(cat)
printf '%s\n' "$server" >> "${0%/*}/requests"
printf '{"ServerURL":"%s","Username":"hull","Secret":"s3cret"}\n' "$server"
`

// TestRegistryAuth proves against a real Distribution registry with htpasswd
// basic auth that image.Open, with no Keychain option, reads credentials from
// $DOCKER_CONFIG/config.json and from a credential helper it names. The
// subtests change the environment, so nothing here runs in parallel.
func TestRegistryAuth(t *testing.T) {
	ctx := context.Background()
	reg := testenv.RegistryWithAuth(t, authUser, authPass)
	ref := reg + "/hull/auth:1"

	img := it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("a", "b", 0o644)))
	want, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx),
		remote.WithAuth(&authn.Basic{Username: authUser, Password: authPass})); err != nil {
		t.Fatalf("push %s with credentials: %v", ref, err)
	}

	open := func(t *testing.T) (*image.Image, error) {
		t.Helper()
		im, err := image.Open(ctx, ref, image.Options{})
		if err == nil {
			t.Cleanup(func() { im.Close() })
		}
		return im, err
	}
	wantOpen := func(t *testing.T) {
		t.Helper()
		im, err := open(t)
		if err != nil {
			t.Fatalf("open %s: %v", ref, err)
		}
		if im.ID != want {
			t.Fatalf("image ID = %s, want the pushed config digest %s", im.ID, want)
		}
	}
	wantUnauthorized := func(t *testing.T) {
		t.Helper()
		_, err := open(t)
		if err == nil {
			t.Fatalf("open %s succeeded, want 401 UNAUTHORIZED", ref)
		}
		var terr *transport.Error
		if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized ||
			!strings.Contains(err.Error(), "UNAUTHORIZED") {
			t.Fatalf("open %s: %v, want a 401 UNAUTHORIZED transport error", ref, err)
		}
		t.Logf("as expected: %v", err)
	}
	basicAuth := base64.StdEncoding.EncodeToString([]byte(authUser + ":" + authPass))

	t.Run("anonymous", func(t *testing.T) {
		isolateCredentials(t)
		wantUnauthorized(t)
	})

	t.Run("config-auths", func(t *testing.T) {
		writeDockerConfig(t, isolateCredentials(t), map[string]any{
			"auths": map[string]any{reg: map[string]string{"auth": basicAuth}},
		})
		wantOpen(t)
	})

	t.Run("config-auths-wrong-password", func(t *testing.T) {
		writeDockerConfig(t, isolateCredentials(t), map[string]any{
			"auths": map[string]any{reg: map[string]string{
				"auth": base64.StdEncoding.EncodeToString([]byte(authUser + ":wrong")),
			}},
		})
		wantUnauthorized(t)
	})

	t.Run("credential-helper", func(t *testing.T) {
		writeDockerConfig(t, isolateCredentials(t), map[string]any{
			"credHelpers": map[string]string{reg: "hulltest"},
		})
		bin := t.TempDir()
		if err := os.WriteFile(filepath.Join(bin, "docker-credential-hulltest"), []byte(credHelperScript), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		wantOpen(t)
		requests, err := os.ReadFile(filepath.Join(bin, "requests"))
		if err != nil {
			t.Fatalf("the credential helper was never asked: %v", err)
		}
		for _, server := range strings.Fields(string(requests)) {
			if server != reg {
				t.Errorf("credential helper asked for %q, want %q", server, reg)
			}
		}
	})
}

// isolateCredentials points every place go-containerregistry's default
// keychain looks (~/.docker, $DOCKER_CONFIG, Podman's auth.json under
// $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR and $XDG_CONFIG_HOME) at empty
// temporary paths, so the test never sees the machine's credentials. It
// returns the empty $DOCKER_CONFIG directory.
func isolateCredentials(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(home, "run"))
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(home, "auth.json"))
	dir := filepath.Join(home, "docker-config")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	return dir
}

func writeDockerConfig(t *testing.T, dir string, cfg map[string]any) {
	t.Helper()
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
}
