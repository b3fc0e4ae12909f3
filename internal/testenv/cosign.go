//go:build unix

package testenv

// The cosign CLI (sigstore/cosign v2.6.5, built by Cosign) as a test oracle
// for cosign signatures, signing with key pairs against registries from
// Registry, without transparency log. Observed (see cosign_test.go):
//
// Keys. `COSIGN_PASSWORD= cosign generate-key-pair` writes cosign.key (0600,
// PEM "ENCRYPTED SIGSTORE PRIVATE KEY" whose body is JSON: kdf scrypt
// {N:65536,r:8,p:1} with a salt, cipher nacl/secretbox with a nonce, and the
// ciphertext) and cosign.pub (PEM "PUBLIC KEY", PKIX ECDSA P-256).
//
// Legacy signature (`cosign sign --key cosign.key --tlog-upload=false
// --new-bundle-format=false --allow-insecure-registry --allow-http-registry
// -y REG/REPO@sha256:HEX`; false is v2's default). cosign pushes, in the same
// repository, an image tagged "sha256-HEX.sig":
//
//	{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
//	 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":233,"digest":"sha256:..."},
//	 "layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":240,
//	   "digest":"sha256:...","annotations":{"dev.cosignproject.cosign/signature":"MEUCIQ...="}}]}
//
// The layer blob is the payload, compact JSON in this key order:
//
//	{"critical":{"identity":{"docker-reference":"127.0.0.1:PORT/hull/app"},
//	 "image":{"docker-manifest-digest":"sha256:HEX"},"type":"cosign container image signature"},
//	 "optional":null}
//
// docker-reference is the repository without tag or digest, whether the
// image was named by digest or (with a warning) by tag. The annotation is
// base64 of an ASN.1 DER ECDSA signature of SHA-256(payload bytes). The
// config is {"architecture":"","created":"0001-01-01T00:00:00Z","history":
// [{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers",
// "diff_ids":["sha256:<payload digest>"]},"config":{}}. Signing again with the
// same key leaves one layer (same payload digest).
//
// Bundle (`--new-bundle-format=true`; v3's default). On a registry without
// the referrers API (docker-registry 2.8) cosign (through ggcr's fallback)
// tags an OCI index "sha256-HEX" (no suffix) listing the bundle manifest:
//
//	{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
//	 "manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":877,
//	   "digest":"sha256:...","artifactType":"application/vnd.oci.empty.v1+json"}]}
//
// (artifactType there is the config media type, a ggcr quirk). The manifest:
//
//	{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
//	 "config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"sha256:44136f...8a",
//	   "artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"},
//	 "layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","size":623,"digest":"sha256:..."}],
//	 "annotations":{"dev.sigstore.bundle.content":"dsse-envelope",
//	   "dev.sigstore.bundle.predicateType":"https://sigstore.dev/cosign/sign/v1",
//	   "org.opencontainers.image.created":"2026-11-29T07:25:13Z"},
//	 "subject":{"mediaType":"<the image's manifest media type>","size":...,"digest":"sha256:HEX"},
//	 "artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"}
//
// The config blob is "{}". The layer blob is the bundle (JSON with a space
// after each comma):
//
//	{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",
//	 "verificationMaterial":{"publicKey":{"hint":"<base64 SHA-256 of the PKIX DER public key>"}},
//	 "dsseEnvelope":{"payload":"<base64 statement>","payloadType":"application/vnd.in-toto+json",
//	   "signatures":[{"sig":"<base64 ASN.1 ECDSA>"}]}}
//
// no tlog entries, no timestamps, no keyid. The statement, with no subject
// name and no predicate:
//
//	{"_type":"https://in-toto.io/Statement/v1", "subject":[{"digest":{"sha256":"HEX"}}],
//	 "predicateType":"https://sigstore.dev/cosign/sign/v1"}
//
// sig is an ECDSA signature of SHA-256 of the DSSE PAE:
// "DSSEv1 28 application/vnd.in-toto+json LEN PAYLOAD". When reading, cosign
// takes every referrer (API or fallback tag) whose manifest has exactly one
// layer with a media type starting "application/vnd.dev.sigstore.bundle"
// and a bundle of at least v0.3.
//
// Verification (`cosign verify --key cosign.pub --insecure-ignore-tlog
// --trusted-root EMPTY --allow-insecure-registry --allow-http-registry
// REG/REPO:TAG`): exit 0 and the payloads as a JSON array on stdout (for
// bundles a synthesized {"critical":{...,"type":"https://sigstore.dev/cosign/sign/v1"}}).
// If the image has any bundle, cosign verifies bundles only and ignores the
// legacy .sig (a legacy signature by key A next to a bundle by key B
// verifies only with B); --new-bundle-format only forces bundle mode.
// Refusals (stderr "Error: ..." and "error during command execution: ..."):
//   - no signature: exit 10, "no signatures found"
//   - legacy, other key or payload changed: exit 12, "no matching signatures:
//     invalid signature when validating ASN.1 encoded signature"
//   - legacy .sig of another image: exit 12, "no matching signatures: invalid
//     or missing digest in claim: sha256:<the other image>"
//   - bundle, other key or DSSE payload changed: exit 1, "no matching
//     attestations: failed to verify signature: could not verify envelope:
//     accepted signatures do not match threshold, Found: 0, Expected 1"
//   - bundle of another image: exit 1, "no matching attestations: failed to
//     verify signature: provided artifact digest does not match any digest in
//     statement"
//
// Network. Key generation and signing with --tlog-upload=false make no
// requests beyond the registry. verify fetches the public-good trusted root
// from TUF (https://tuf-repo-cdn.sigstore.dev) unless given --trusted-root
// (--offline and --private-infrastructure do not stop that); for legacy
// signatures a failed fetch is only a warning ("WARNING: Could not fetch
// trusted_root.json from the TUF repository. Continuing with individual
// targets. ..."), for bundles it is fatal ("trusted root is required when
// using new bundle format"). An empty trusted root (cosignTrustedRoot) is
// enough for key-based verification without tlog. Every helper here also
// points HTTP(S)_PROXY at a local server that refuses everything (see
// cosignEnviron), so nothing can leave the machine or hang on DNS.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// CosignVersion is the cosign release Cosign builds, from the module
// cosignModule through the Go module proxy.
const CosignVersion = "v2.6.5"

const (
	cosignModule = "github.com/sigstore/cosign/v2"
	// cosignBuildTimeout bounds the one-time build (about 8.5 minutes on
	// 2 busy cores with a cold module cache, 98 MB stripped binary).
	cosignBuildTimeout = 15 * time.Minute
	// cosignCommandTimeout bounds one cosign invocation; with the network
	// guard and the local trusted root they take well under a second.
	cosignCommandTimeout = 2 * time.Minute
)

// cosignTrustedRoot is an empty Sigstore trusted root (no CAs, no logs, no
// timestamp authorities). `cosign verify --trusted-root FILE` then never asks
// the TUF repository for the public-good one; verification with --key and
// --insecure-ignore-tlog needs nothing from it.
const cosignTrustedRoot = `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}` + "\n"

// cosign is the cosign CLI as a Go tool.
var cosign = &goTool{
	name: "cosign", pkg: cosignModule + "/cmd/cosign", version: CosignVersion, env: "HULL_COSIGN",
	buildTimeout: cosignBuildTimeout, versionArgs: []string{"version", "--json"},
}

// Cosign returns the absolute path of a cosign CLI (CosignVersion) to use as
// a test oracle. It is $HULL_COSIGN if set, else
// $(go env GOPATH)/bin/hull-testenv/cosign-VERSION, built there once if
// missing (see goTool; the build takes minutes: cosign has 550+ go.sum
// lines). A file at $HULL_COSIGN is used as is, whatever its version.
func Cosign(t testing.TB) string {
	t.Helper()
	return cosign.path(t)
}

// CosignKeyPair runs `cosign generate-key-pair` with an empty password in a
// new temporary directory and returns the absolute paths of cosign.key (the
// private key) and cosign.pub. The test fails if cosign does.
func CosignKeyPair(t testing.TB) (priv, pub string) {
	t.Helper()
	dir := t.TempDir()
	if _, err := runCosign(t, dir, "generate-key-pair"); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	priv, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	for _, p := range []string{priv, pub} {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Fatalf("testenv: cosign generate-key-pair wrote no %s (%v)", p, err)
		}
	}
	return priv, pub
}

// CosignSign signs the image ref (on a registry from Registry; best
// REG/REPO@sha256:..., a tag works with a warning) with the private key file
// key (from CosignKeyPair) and no transparency log, and pushes the signature
// to the same repository: the legacy "sha256-HEX.sig" image when bundle is
// false, a Sigstore bundle (OCI 1.1 referrer, or the "sha256-HEX" fallback
// tag index) when true. It returns cosign's error, with its stderr.
func CosignSign(t testing.TB, key, ref string, bundle bool) error {
	t.Helper()
	_, err := CosignRun(t, "sign", "--key", key, "--tlog-upload=false",
		fmt.Sprintf("--new-bundle-format=%t", bundle),
		"--allow-insecure-registry", "--allow-http-registry", "-y", ref)
	return err
}

// CosignVerify runs `cosign verify` of the image ref against the public key
// file pub, without transparency log, and returns its error (nil when cosign
// accepts a signature; the message holds cosign's stderr). cosign looks for
// Sigstore bundles first and uses only those if there are any; otherwise the
// legacy "sha256-HEX.sig" signatures. The verified payloads (JSON) are
// logged.
func CosignVerify(t testing.TB, pub, ref string) error {
	t.Helper()
	out, err := CosignRun(t, "verify", "--key", pub, "--insecure-ignore-tlog",
		"--trusted-root", cosignTrustedRootFile(t),
		"--allow-insecure-registry", "--allow-http-registry", ref)
	if err == nil {
		t.Logf("testenv: cosign verify %s: %s", ref, strings.TrimSpace(out))
	}
	return err
}

func cosignTrustedRootFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, []byte(cosignTrustedRoot), 0o644); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return p
}

// CosignRun runs `cosign ARGS...` in a new temporary directory with an
// isolated, offline environment (see cosignEnviron) and returns its stdout,
// or an error holding the command line, exit status and stderr. Attempts to
// reach the network are refused and logged.
func CosignRun(t testing.TB, args ...string) (string, error) {
	t.Helper()
	r, err := runCosign(t, t.TempDir(), args...)
	return r.stdout, err
}

type cosignResult struct {
	stdout, stderr string
	// network lists the requests cosign tried to send off the machine
	// ("CONNECT tuf-repo-cdn.sigstore.dev:443"), all refused.
	network []string
}

func runCosign(t testing.TB, dir string, args ...string) (cosignResult, error) {
	t.Helper()
	bin := Cosign(t)
	guard := startNetGuard()
	defer guard.close()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), cosignCommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = cosignEnviron(home, guard.url())
	var o, e syncBuffer
	cmd.Stdout = &o
	cmd.Stderr = &e
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	r := cosignResult{stdout: o.String(), stderr: e.String(), network: guard.attempts()}
	if len(r.network) > 0 {
		t.Logf("testenv: cosign %s tried to reach the network (refused): %v", args[0], r.network)
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (timed out after %v)", err, cosignCommandTimeout)
		}
		return r, fmt.Errorf("cosign %s: %w\nstderr:\n%s", strings.Join(args, " "), err, r.stderr)
	}
	return r, nil
}

// cosignEnviron is os.Environ without cosign, Sigstore, TUF, proxy and
// registry-credential settings, plus: HOME and DOCKER_CONFIG in the empty
// directory home (no credentials, no ~/.sigstore cache), TUF_ROOT below it,
// COSIGN_PASSWORD empty (the keys from CosignKeyPair), COSIGN_EXPERIMENTAL=0,
// and HTTP_PROXY/HTTPS_PROXY pointing at proxy, a local server that refuses
// every request. Go never proxies requests to 127.0.0.1, so registries from
// Registry are reached directly while Rekor, Fulcio and the TUF CDN fail at
// once (without DNS lookups) instead of depending on the machine's network.
func cosignEnviron(home, proxy string) []string {
	var env []string
	for _, kv := range filteredEnviron() {
		k, _, _ := strings.Cut(kv, "=")
		u := strings.ToUpper(k)
		if strings.HasPrefix(u, "COSIGN_") || strings.HasPrefix(u, "SIGSTORE_") || strings.HasPrefix(u, "TUF_") ||
			strings.HasSuffix(u, "_PROXY") || u == "HOME" || u == "DOCKER_CONFIG" || u == "REGISTRY_AUTH_FILE" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+home,
		"DOCKER_CONFIG="+filepath.Join(home, ".docker"),
		"TUF_ROOT="+filepath.Join(home, "tuf"),
		"COSIGN_PASSWORD=",
		"COSIGN_EXPERIMENTAL=0",
		"HTTP_PROXY="+proxy,
		"HTTPS_PROXY="+proxy,
		"NO_PROXY=",
	)
}

// netGuard is an HTTP proxy on 127.0.0.1 that refuses and records every
// request.
type netGuard struct {
	srv *httptest.Server
	mu  sync.Mutex
	log []string
}

func startNetGuard() *netGuard {
	g := &netGuard{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.log = append(g.log, r.Method+" "+r.Host)
		g.mu.Unlock()
		http.Error(w, "hull testenv: no network for cosign", http.StatusForbidden)
	}))
	return g
}

func (g *netGuard) url() string { return g.srv.URL }

func (g *netGuard) close() { g.srv.Close() }

func (g *netGuard) attempts() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.log...)
}
