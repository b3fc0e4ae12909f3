package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Registry starts a real Distribution registry (Debian's
// `docker-registry serve CONFIG.yml`, v2.8) with filesystem storage in a
// temporary directory, listening on 127.0.0.1 with a free port over plain
// HTTP. It returns "127.0.0.1:PORT" once GET /v2/ answers 200. The registry is
// stopped at cleanup.
//
// Clients must treat it as insecure: podman from PodmanEnv and Skopeo already
// do (via registries.conf); otherwise pass --tls-verify=false or the
// equivalent. It has no OCI 1.1 referrers API.
func Registry(t testing.TB) string {
	t.Helper()
	return startRegistry(t, nil)
}

// RegistryWithAuth starts a registry like Registry that demands HTTP basic
// auth (Distribution's htpasswd backend, still over plain HTTP): every /v2/
// request without user and password gets 401 UNAUTHORIZED. It returns
// "127.0.0.1:PORT" once GET /v2/ with those credentials answers 200.
func RegistryWithAuth(t testing.TB, user, password string) string {
	t.Helper()
	if user == "" || strings.ContainsAny(user, ":\r\n") || strings.ContainsAny(password, "\r\n") {
		t.Fatalf("testenv: user %q must be non-empty without ':' or newlines, password without newlines", user)
	}
	// MinCost: the registry checks the hash on every request.
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatalf("testenv: bcrypt: %v", err)
	}
	return startRegistry(t, &basicAuth{user: user, password: password, htpasswd: user + ":" + string(hash) + "\n"})
}

// basicAuth configures Distribution's htpasswd access controller.
type basicAuth struct {
	user, password string
	htpasswd       string // the file's content: "user:bcrypt-hash\n"
}

// startRegistry starts docker-registry, with basic auth when auth is not nil.
func startRegistry(t testing.TB, auth *basicAuth) string {
	t.Helper()
	bin := lookPath(t, "docker-registry")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	authConf := ""
	if auth != nil {
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(auth.htpasswd), 0o600); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		authConf = fmt.Sprintf("auth:\n  htpasswd:\n    realm: hull-test\n    path: %q\n", htpasswd)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			t.Fatalf("testenv: pick a free port: %v", err)
		}
		// A random header identifies our instance: after a port race another
		// registry could answer on addr.
		id := randomHex()
		conf := filepath.Join(dir, fmt.Sprintf("config-%d.yml", attempt))
		if err := os.WriteFile(conf, []byte(registryConfig(addr, data, id)+authConf), 0o644); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		start := time.Now()
		srv, err := startServer(t, nil, bin, "serve", conf)
		if err != nil {
			t.Fatalf("testenv: start docker-registry: %v", err)
		}
		url := "http://" + addr + "/v2/"
		client := &http.Client{Timeout: 2 * time.Second}
		err = srv.waitReady(startTimeout, func() error {
			req, err := http.NewRequest(http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			if auth != nil {
				req.SetBasicAuth(auth.user, auth.password)
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET %s: %s", url, resp.Status)
			}
			if got := resp.Header.Get(instanceHeader); got != id {
				return fmt.Errorf("GET %s: answered by another server (%s %q)", url, instanceHeader, got)
			}
			return nil
		})
		if err == nil {
			t.Logf("testenv: docker-registry on %s ready in %v", addr, time.Since(start).Round(time.Millisecond))
			return addr
		}
		srv.stop()
		lastErr = err
		// Another process took the port between our probe and the bind: retry.
		if strings.Contains(srv.out.String(), "address already in use") {
			continue
		}
		break
	}
	t.Fatalf("testenv: docker-registry did not start: %v", lastErr)
	return ""
}

// freeAddr returns 127.0.0.1:PORT for a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// instanceHeader is set on every response of a registry started by Registry.
const instanceHeader = "X-Hull-Testenv-Instance"

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func registryConfig(addr, data, id string) string {
	return fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %q
  secret: %q
  headers:
    %s: [%q]
health:
  storagedriver:
    enabled: false
`, data, addr, randomHex(), instanceHeader, id)
}
