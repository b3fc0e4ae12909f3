package testenv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hull-sec/hull/internal/imagetest"
)

var fingerprintRE = regexp.MustCompile(`^[0-9A-F]{40}$`)

// signTestArchive writes a one-layer image as a docker-archive and returns
// the skopeo source "docker-archive:PATH". body makes images differ.
func signTestArchive(t *testing.T, body string) string {
	t.Helper()
	img := imagetest.Image(t, v1.Config{Cmd: []string{"/hello.txt"}}, nil,
		imagetest.Layer(t, imagetest.File("hello.txt", body, 0o644)))
	path := filepath.Join(t.TempDir(), "image.tar")
	imagetest.WriteDockerArchive(t, path, "localhost/hull/sign:1", img)
	return "docker-archive:" + path
}

// simpleSigning is the payload of a containers simple signing signature.
type simpleSigning struct {
	Critical struct {
		Type  string `json:"type"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// gpgAgentRunning reports whether a gpg-agent for home is alive (it runs
// as `gpg-agent --homedir HOME --use-standard-socket --daemon`).
func gpgAgentRunning(home string) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := bytes.Split(cmdline, []byte{0})
		if len(args) > 0 && filepath.Base(string(args[0])) == "gpg-agent" &&
			bytes.Contains(cmdline, []byte("\x00"+home+"\x00")) {
			return true
		}
	}
	return false
}

func TestSignGPGKey(t *testing.T) {
	t.Parallel()
	for _, algo := range []string{"rsa2048", "ed25519"} {
		t.Run(algo, func(t *testing.T) {
			t.Parallel()
			var g *GPG
			t.Run("key", func(t *testing.T) {
				timed(t, "GPGKeyAlgo "+algo, func() { g = GPGKeyAlgo(t, "hull-"+algo, algo) })
				if !fingerprintRE.MatchString(g.Fingerprint) {
					t.Fatalf("fingerprint %q", g.Fingerprint)
				}
				if fi, err := os.Stat(g.Home); err != nil || fi.Mode().Perm() != 0o700 || len(g.Home) > 40 {
					t.Fatalf("home %s: %v %v", g.Home, fi.Mode(), err)
				}
				if fi, err := os.Stat(g.SecretKeyArmored); err != nil || fi.Mode().Perm() != 0o600 {
					t.Fatalf("secret key %s: %v", g.SecretKeyArmored, err)
				}
				pub, _ := os.ReadFile(g.PublicKeyring)
				// A binary public-key packet: old format tag 6 (0x98-0x9a) or new (0xc6).
				if len(pub) == 0 || (pub[0]&0xfc != 0x98 && pub[0] != 0xc6) {
					t.Fatalf("public keyring starts with % x", pub[:min(len(pub), 4)])
				}
				for path, head := range map[string]string{
					g.ArmoredPublicKey: "-----BEGIN PGP PUBLIC KEY BLOCK-----",
					g.SecretKeyArmored: "-----BEGIN PGP PRIVATE KEY BLOCK-----",
				} {
					if b, _ := os.ReadFile(path); !bytes.HasPrefix(b, []byte(head)) {
						t.Fatalf("%s starts with %.40q, want %s", path, b, head)
					}
				}
				// Unprotected: gpg lists no "protected" S2K for the secret key.
				packets := g.Run("--list-packets", g.SecretKeyArmored)
				if !strings.Contains(packets, "secret key packet") || strings.Contains(packets, "protect") {
					t.Fatalf("secret key packets:\n%s", packets)
				}
				// The uid, usage "sign" only, no expiry.
				colons := g.Run("--with-colons", "--list-keys", g.Fingerprint)
				if !strings.Contains(colons, "hull-"+algo+" <hull-"+algo+"@hull.test>") {
					t.Fatalf("list-keys:\n%s", colons)
				}
				for _, line := range strings.Split(colons, "\n") {
					if f := strings.Split(line, ":"); f[0] == "pub" && (f[6] != "" || !strings.HasPrefix(f[11], "s")) {
						t.Fatalf("pub line %q: want no expiry and sign usage", line)
					}
				}
				// Signing through the agent works without a passphrase (as for
				// skopeo --sign-by), and the signature verifies.
				in := filepath.Join(t.TempDir(), "in")
				if err := os.WriteFile(in, []byte("payload"), 0o644); err != nil {
					t.Fatal(err)
				}
				g.Run("--sign", "--local-user", g.Fingerprint, "--output", in+".gpg", in)
				if out := g.Run("--decrypt", in+".gpg"); out != "payload" {
					t.Fatalf("decrypt = %q", out)
				}
				if !gpgAgentRunning(g.Home) {
					t.Fatalf("no gpg-agent for %s after signing", g.Home)
				}
			})
			if g == nil {
				return
			}
			if _, err := os.Stat(g.Home); !os.IsNotExist(err) {
				t.Errorf("GnuPG home %s not removed at cleanup: %v", g.Home, err)
			}
			if gpgAgentRunning(g.Home) {
				t.Errorf("gpg-agent for %s still runs after cleanup", g.Home)
			}
		})
	}
}

// TestSignSkopeoLookaside signs with skopeo into a lookaside directory and
// checks the file layout and the payload, with each registries.d key name.
func TestSignSkopeoLookaside(t *testing.T) {
	t.Parallel()
	reg := Registry(t)
	g := GPGKey(t, "hull")
	src := signTestArchive(t, "lookaside\n")

	la := filepath.Join(t.TempDir(), "lookaside")
	var digest string
	timed(t, "SkopeoSignedCopy", func() { digest = SkopeoSignedCopy(t, g, src, "docker://"+reg+"/hull/app:1", la) })

	raw := Skopeo(t, "inspect", "--raw", "--tls-verify=false", "docker://"+reg+"/hull/app:1")
	sum := sha256.Sum256([]byte(raw))
	if want := "sha256:" + hex.EncodeToString(sum[:]); digest != want {
		t.Fatalf("digest %s, manifest in the registry hashes to %s", digest, want)
	}
	var files []string
	if err := filepath.WalkDir(la, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(la, p)
			files = append(files, rel)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	wantFile := "hull/app@sha256=" + strings.TrimPrefix(digest, "sha256:") + "/signature-1"
	if len(files) != 1 || files[0] != wantFile {
		t.Fatalf("lookaside files %v, want [%s]", files, wantFile)
	}
	sigPath := LookasideSignaturePath(la, "hull/app", digest, 1)
	sig, err := os.ReadFile(sigPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.HasPrefix(sig, []byte("-----BEGIN")) {
		t.Fatalf("signature is armored, want binary")
	}
	packets := g.Run("--list-packets", sigPath)
	for _, want := range []string{":compressed packet:", ":onepass_sig packet:", ":literal data packet:", ":signature packet:"} {
		if !strings.Contains(packets, want) {
			t.Errorf("signature packets lack %s:\n%s", want, packets)
		}
	}
	payload := g.Run("--decrypt", sigPath)
	t.Logf("signature payload: %s", payload)
	var p simpleSigning
	if err := json.Unmarshal([]byte(payload), &p); err != nil {
		t.Fatal(err)
	}
	if p.Critical.Type != "atomic container signature" || p.Critical.Image.DockerManifestDigest != digest ||
		p.Critical.Identity.DockerReference != reg+"/hull/app:1" {
		t.Fatalf("payload %+v", p)
	}
	if c, _ := p.Optional["creator"].(string); !strings.HasPrefix(c, "atomic ") {
		t.Errorf("optional.creator = %v", p.Optional["creator"])
	}
	if ts, _ := p.Optional["timestamp"].(float64); ts < 1e9 {
		t.Errorf("optional.timestamp = %v", p.Optional["timestamp"])
	}

	// The other key names in registries.d: sigstore (old name of lookaside)
	// and the write-only *-staging variants all receive the signature.
	skopeo := lookPath(t, "skopeo")
	for _, key := range []string{"lookaside", "sigstore", "lookaside-staging", "sigstore-staging"} {
		dir := filepath.Join(t.TempDir(), "sigs")
		_, regD := ContainersPolicy(t, "{}", map[string]string{
			"k.yaml": "docker:\n  " + reg + ":\n    " + key + ": file://" + dir + "\n"})
		var d string
		timed(t, "skopeo copy --sign-by ("+key+")", func() {
			df := filepath.Join(t.TempDir(), "digest")
			run(t, g.Env(), skopeo, "--insecure-policy", "--registries.d", regD, "copy", "-q",
				"--dest-tls-verify=false", "--sign-by", g.Fingerprint, "--digestfile", df,
				src, "docker://"+reg+"/keys/"+key+":1")
			b, _ := os.ReadFile(df)
			d = string(b)
		})
		if d != digest {
			t.Errorf("%s: digest %s, want %s (same image)", key, d, digest)
		}
		if !fileExists(LookasideSignaturePath(dir, "keys/"+key, digest, 1)) {
			t.Errorf("registries.d key %q: no signature at %s", key, LookasideSignaturePath(dir, "keys/"+key, digest, 1))
		}
	}
}

// TestSignPolicy checks that skopeo and podman enforce a signedBy policy
// against signatures written by SkopeoSignedCopy.
func TestSignPolicy(t *testing.T) {
	t.Parallel()
	reg := Registry(t)
	var g, other *GPG
	timed(t, "GPGKey x2", func() {
		g = GPGKey(t, "hull")
		other = GPGKeyAlgo(t, "other", "ed25519")
	})
	la := filepath.Join(t.TempDir(), "lookaside")
	signed, unsigned, wrongKey := reg+"/hull/signed:1", reg+"/hull/unsigned:1", reg+"/hull/other:1"
	var digest string
	timed(t, "SkopeoSignedCopy + unsigned copy", func() {
		digest = SkopeoSignedCopy(t, g, signTestArchive(t, "signed\n"), signed, la)
		SkopeoSignedCopy(t, other, signTestArchive(t, "other\n"), wrongKey, la)
		Skopeo(t, "copy", "-q", "--dest-tls-verify=false", signTestArchive(t, "unsigned\n"), "docker://"+unsigned)
		// Another tag of the signed image: same repo@digest, so the same
		// signature files, whose identity names tag 1.
		Skopeo(t, "copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
			"docker://"+signed, "docker://"+reg+"/hull/signed:retagged")
	})
	regD := map[string]string{"hull.yaml": LookasideYAML(reg, la)}
	policy, registriesD := ContainersPolicy(t, SignedByPolicy(reg, g.PublicKeyring), regD)
	armoredPolicy, _ := ContainersPolicy(t, SignedByPolicy(reg, g.ArmoredPublicKey), nil)

	t.Run("skopeo", func(t *testing.T) {
		t.Parallel()
		out := t.TempDir()
		copyTo := func(policy, regD, ref, tag string) error {
			t.Helper()
			var err error
			timed(t, "skopeo --policy copy "+ref, func() {
				_, err = SkopeoPolicy(t, policy, regD, "copy", "-q", "--src-tls-verify=false", "--remove-signatures",
					"docker://"+ref, "oci:"+filepath.Join(out, "oci")+":"+tag)
			})
			return err
		}
		for _, c := range []struct {
			name, policy, regD, ref string
			wantErr                 string // "" for success
		}{
			{"signed", policy, registriesD, signed, ""},
			{"signed, armored keyPath", armoredPolicy, registriesD, signed, ""},
			{"signed, by digest", policy, registriesD, reg + "/hull/signed@" + digest, ""},
			{"unsigned", policy, registriesD, unsigned, "Source image rejected: A signature was required, but no signature exists"},
			{"signed, no registries.d", policy, t.TempDir(), signed, "Source image rejected: A signature was required, but no signature exists"},
			{"other key", policy, registriesD, wrongKey, "Source image rejected: Invalid GPG signature: gpgme.Signature{"},
			{"other tag", policy, registriesD, reg + "/hull/signed:retagged",
				"Source image rejected: Signature for identity " + signed + " is not accepted"},
		} {
			err := copyTo(c.policy, c.regD, c.ref, "t")
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("%s: %v", c.name, err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
			case err != nil:
				t.Logf("%s: refused as expected: %v", c.name, err)
			}
		}
		// A signed image copied to oci: needs --remove-signatures.
		_, err := SkopeoPolicy(t, policy, registriesD, "copy", "-q", "--src-tls-verify=false",
			"docker://"+signed, "oci:"+filepath.Join(out, "oci2")+":t")
		if err == nil || !strings.Contains(err.Error(), "Pushing signatures for OCI images is not supported") {
			t.Errorf("copy of a signed image to oci: without --remove-signatures: %v", err)
		}
		// With default reject, local sources need their own entry.
		archive := signTestArchive(t, "local\n")
		rejectAll, _ := ContainersPolicy(t, `{"default":[{"type":"reject"}]}`, nil)
		if _, err := SkopeoPolicy(t, rejectAll, "", "copy", "-q", archive, "oci:"+filepath.Join(out, "oci3")+":t"); err == nil ||
			!strings.Contains(err.Error(), "is rejected by policy") {
			t.Errorf("docker-archive source under a reject-all policy: %v", err)
		}
		if _, err := SkopeoPolicy(t, policy, "", "copy", "-q", archive, "oci:"+filepath.Join(out, "oci3")+":t"); err != nil {
			t.Errorf("docker-archive source under SignedByPolicy: %v", err)
		}
	})

	t.Run("podman", func(t *testing.T) {
		t.Parallel()
		p := PodmanEnv(t)
		pull := func(ref, policy, regD string) error {
			t.Helper()
			var err error
			timed(t, "Podman.Pull "+ref, func() { err = p.Pull(ref, policy, regD) })
			return err
		}
		if err := pull(signed, policy, registriesD); err != nil {
			t.Fatalf("pull signed: %v", err)
		}
		if out := p.Run("images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, signed) {
			t.Fatalf("podman images after pull: %q", out)
		}
		for _, c := range []struct{ name, ref, policy, regD, wantErr string }{
			{"unsigned", unsigned, policy, registriesD, "Error: Source image rejected: A signature was required, but no signature exists"},
			{"other key", wrongKey, policy, registriesD, "Error: Source image rejected: Invalid GPG signature"},
			{"signed, no registries.d", signed, policy, "", "Error: Source image rejected: A signature was required, but no signature exists"},
		} {
			err := pull(c.ref, c.policy, c.regD)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("pull %s: %v, want %q", c.name, err, c.wantErr)
			} else {
				t.Logf("pull %s refused as expected: %v", c.name, err)
			}
		}
		if out := p.Run("images", "--format", "{{.Repository}}:{{.Tag}}"); strings.Contains(out, unsigned) || strings.Contains(out, wrongKey) {
			t.Fatalf("refused images were stored: %q", out)
		}
		// Without --signature-policy: /etc/containers/policy.json (Debian:
		// insecureAcceptAnything) lets the unsigned image in.
		if err := pull(unsigned, "", registriesD); err != nil {
			t.Logf("pull unsigned with the system policy: %v", err)
		}
	})
}
