//go:build unix

package testenv

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The Kubernetes API server as a test oracle of what Kubernetes makes of a
// manifest: its defaulting, validation and admission, without a kubelet,
// a scheduler or controllers. Both servers build from the Go module proxy
// (see goTool) and run as the test's children on 127.0.0.1.
const (
	// KubeAPIServerVersion is the kube-apiserver release KubeAPIServer
	// builds from k8s.io/kubernetes, with its staging modules at
	// kubeStagingVersion.
	KubeAPIServerVersion = "v1.37.2"
	kubeStagingVersion   = "v0.37.2"
	// EtcdVersion is the etcd release KubeAPIServer stores in.
	EtcdVersion = "v3.7.3"
)

var kubeAPIServerTool = &goTool{
	name: "kube-apiserver", module: "k8s.io/kubernetes", pkg: "./cmd/kube-apiserver", version: KubeAPIServerVersion,
	siblings: kubeStagingVersion,
	// The sample modules are the repository's examples, not published at
	// the staging release, and nothing kube-apiserver builds imports them.
	dropReplace: []string{"k8s.io/sample-cli-plugin", "k8s.io/sample-controller"},
	env:         "HULL_KUBE_APISERVER",
	// 4m25s on 2 cores from an empty build cache (3 GB of it; 555 s of
	// CPU), 119 MB stripped; etcd then takes 24 s (25 MB).
	buildTimeout: 30 * time.Minute, versionArgs: []string{"--version"},
}

var etcdTool = &goTool{
	name: "etcd", module: "go.etcd.io/etcd/server/v3", pkg: ".", version: EtcdVersion,
	siblings: EtcdVersion, env: "HULL_ETCD",
	buildTimeout: 15 * time.Minute, versionArgs: []string{"--version"},
}

// KubeAPI is a kube-apiserver (KubeAPIServerVersion) over its own etcd,
// both listening on 127.0.0.1 and stopped when the test ends.
type KubeAPI struct {
	// URL is the server's base URL, "https://127.0.0.1:PORT".
	URL string
	// Token is a bearer token of a member of system:masters.
	Token string
	// Client trusts the server's self-signed certificate.
	Client *http.Client
	// Dir holds the servers' state, certificates and logs.
	Dir string

	apiserver *server
}

// KubeAPIServer builds (once; see goTool) and starts etcd and
// kube-apiserver in a temporary directory, authorization by RBAC with one
// admin token, Kubernetes' default admission plugins, no controllers: a
// namespace gets no "default" ServiceAccount unless CreateNamespace makes
// one. Send objects with "?dryRun=All" to see what the server would store
// (defaults applied, admission run) without storing it.
func KubeAPIServer(t testing.TB) *KubeAPI {
	t.Helper()
	apiserverBin := kubeAPIServerTool.path(t)
	etcdBin := etcdTool.path(t)
	dir := t.TempDir()
	start := time.Now()

	etcdURL, peerURL := "http://"+FreeLoopbackAddr(t), "http://"+FreeLoopbackAddr(t)
	etcd, err := startServer(t, nil, etcdBin,
		"--name", "hull", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "hull="+peerURL, "--log-level", "warn")
	if err != nil {
		t.Fatalf("testenv: start etcd: %v", err)
	}
	plain := &http.Client{Timeout: 2 * time.Second}
	if err := etcd.waitReady(startTimeout, func() error {
		return expectOK(plain, etcdURL+"/health", "", `"health":"true"`)
	}); err != nil {
		t.Fatalf("testenv: etcd %s: %v", EtcdVersion, err)
	}
	etcdReady := time.Since(start)

	k := &KubeAPI{Token: randomHex(), Dir: dir}
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(k.Token+",hull-admin,hull-admin,system:masters\n"), 0o600); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	saKey := filepath.Join(dir, "service-account.key")
	writeRSAKey(t, saKey)
	addr := FreeLoopbackAddr(t)
	host, port, _ := strings.Cut(addr, ":")
	certDir := filepath.Join(dir, "certs")
	k.apiserver, err = startServer(t, nil, apiserverBin,
		"--etcd-servers", etcdURL,
		"--bind-address", host, "--secure-port", port, "--advertise-address", host,
		// A loopback advertise address is refused unless no endpoint
		// reconciler publishes it.
		"--endpoint-reconciler-type", "none",
		"--cert-dir", certDir,
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", saKey, "--service-account-signing-key-file", saKey,
		"--authorization-mode", "RBAC", "--token-auth-file", tokens,
		// As every cluster installer sets it (kubeadm, kind, k3s): the
		// API refuses privileged containers otherwise.
		"--allow-privileged=true")
	if err != nil {
		t.Fatalf("testenv: start kube-apiserver: %v", err)
	}
	k.URL = "https://" + addr
	if err := k.apiserver.waitReady(2*startTimeout, func() error {
		if k.Client == nil {
			c, err := trustingClient(filepath.Join(certDir, "apiserver.crt"))
			if err != nil {
				return err
			}
			k.Client = c
		}
		return expectOK(k.Client, k.URL+"/readyz", k.Token, "ok")
	}); err != nil {
		t.Fatalf("testenv: kube-apiserver %s: %v", KubeAPIServerVersion, err)
	}
	t.Logf("testenv: etcd ready in %v, kube-apiserver on %s ready in %v", etcdReady.Round(time.Millisecond), addr,
		(time.Since(start) - etcdReady).Round(time.Millisecond))
	return k
}

// Log is what kube-apiserver printed so far.
func (k *KubeAPI) Log() string { return k.apiserver.out.String() }

// KubeAnswer is the server's answer to a request.
type KubeAnswer struct {
	Code int
	Body []byte
	// Warnings are the texts of its Warning headers ("299 - \"TEXT\"").
	Warnings []string
}

// Do sends a request with the admin token and a JSON body (nil for none)
// to path (below URL, with its query).
func (k *KubeAPI) Do(method, path string, body []byte) (KubeAnswer, error) {
	req, err := http.NewRequest(method, k.URL+path, bytes.NewReader(body))
	if err != nil {
		return KubeAnswer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+k.Token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := k.Client.Do(req)
	if err != nil {
		return KubeAnswer{}, err
	}
	defer resp.Body.Close()
	a := KubeAnswer{Code: resp.StatusCode}
	for _, h := range resp.Header.Values("Warning") {
		_, text, _ := strings.Cut(h, " - ")
		if u, err := strconv.Unquote(text); err == nil {
			text = u
		}
		a.Warnings = append(a.Warnings, text)
	}
	a.Body, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return a, err
}

// CreateNamespace creates the namespace name and its "default"
// ServiceAccount (which a controller-manager would), so pods can be
// admitted there.
func (k *KubeAPI) CreateNamespace(t testing.TB, name string) {
	t.Helper()
	for _, c := range []struct{ path, body string }{
		{"/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"` + name + `"}}`},
		{"/api/v1/namespaces/" + name + "/serviceaccounts", `{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default"}}`},
	} {
		a, err := k.Do(http.MethodPost, c.path, []byte(c.body))
		if err != nil || a.Code != http.StatusCreated {
			t.Fatalf("testenv: POST %s: %d %v %s", c.path, a.Code, err, a.Body)
		}
	}
}

// expectOK GETs url (with a bearer token unless "") and wants 200 and a
// body holding want.
func expectOK(c *http.Client, url, token, want string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
		return fmt.Errorf("GET %s: %s %s", url, resp.Status, b)
	}
	return nil
}

// trustingClient is an HTTPS client that trusts the certificates of the
// PEM file crt (kube-apiserver's self-signed one and its CA), once the
// server has written it.
func trustingClient(crt string) (*http.Client, error) {
	b, err := os.ReadFile(crt)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no certificate yet", crt)
	}
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		Proxy:           nil, // loopback only
	}}, nil
}

// writeRSAKey writes a new RSA private key (PKCS #1 PEM) to path, 0600.
func writeRSAKey(t testing.TB, path string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}
