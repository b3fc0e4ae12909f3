package testenv

// Containers "simple signing" (GPG) with the reference implementations,
// as observed with Debian 12's skopeo 1.9.3 (containers/image 5.23.1),
// podman 4.3.1 and gpg 2.2.40 (see testenv_sign_test.go):
//
// Where signatures go. A registry without the signature extension API (such
// as docker-registry from Registry) keeps no signatures; they live in a
// "lookaside" directory configured by a registries.d directory of *.yaml
// files:
//
//	docker:
//	  127.0.0.1:PORT:               # scope: host[:port][/repo[:tag]]
//	    lookaside: file:///ABS/DIR  # read and write
//
// "sigstore:" is the older name of "lookaside:" and works the same for reading
// and writing in both tools; "lookaside-staging:" / "sigstore-staging:" are
// used for writing only (reads then fall back to the default below). If both
// lookaside and sigstore are set, lookaside wins silently. The value must be a
// URL: a bare path (no file://) makes skopeo 1.9 panic (nil pointer in
// lookasideStorageBaseURL). Two files defining the same scope are an error
// (`"docker" namespace "127.0.0.1:PORT" defined both in "D/b.yaml" and
// "D/a.yaml"`). With no matching entry, root defaults to
// file:///var/lib/containers/sigstore, so tests must always configure one.
//
// Layout: DIR/REPO@sha256=HEX/signature-N, N from 1, e.g.
// DIR/hull/app@sha256=d74b...0a/signature-1 for 127.0.0.1:PORT/hull/app:1
// (REPO without host and tag; see LookasideSignaturePath). The key is the
// repository and manifest digest, not the tag: other tags of the same image
// share the files. A copy writes the source's signatures plus the new one
// and deletes signature-(N+1), so signing again from an unsigned source
// (docker-archive:) replaces signature-1; to add a second signature, copy
// docker://REG/REPO:TAG to itself with --sign-by (then signature-2).
//
// File format: a binary (not armored) OpenPGP message as `gpg --sign` makes
// it: a compressed packet (ZIP) holding a one-pass signature, a literal data
// packet (format 'b', empty name) with the JSON payload, and a v4 signature
// (SHA-512 with RSA keys, SHA-256 with ed25519). `gpg --decrypt FILE`
// checks it and prints the payload, keys in this order, no spaces:
//
//	{"critical":{"identity":{"docker-reference":"127.0.0.1:PORT/signed:1"},
//	 "image":{"docker-manifest-digest":"sha256:..."},
//	 "type":"atomic container signature"},
//	 "optional":{"creator":"atomic 5.23.1","timestamp":1795936216}}
//
// docker-reference is the destination reference as given (with its tag);
// the digest is the manifest digest in the registry. hull's signatures
// (internal/pgp: uncompressed, one-pass, binary) over such a payload are
// accepted by skopeo and podman (internal/export's TestInterop), and hull
// verifies skopeo's compressed ones.
//
// Who reads registries.d. skopeo: the global flag --registries.d DIR. podman
// 4.3 has no flag or environment variable for it: it reads
// $HOME/.config/containers/registries.d if it exists, else
// /etc/containers/registries.d (absent on Debian by default); Podman.Pull
// points HOME at a temporary directory for that (a symlink to the directory
// is followed). CONTAINERS_REGISTRIES_CONF is registries.conf only.
//
// Who reads policy.json. skopeo: global --policy FILE (--insecure-policy
// skips it). podman: the hidden per-command flag `--signature-policy FILE`
// (pull, push, run, create, load, ...); without it
// $HOME/.config/containers/policy.json if it exists, else
// /etc/containers/policy.json (Debian: insecureAcceptAnything). The policy
// only judges the source of a copy; with "default": reject, local sources
// (docker-archive:, oci:, dir:) need their own insecureAcceptAnything entry
// (see SignedByPolicy) or are refused with `Source image rejected: Running
// image docker-archive:/PATH is rejected by policy.`. keyPath may name a
// binary or an armored public key file.
//
// Error messages (skopeo prefixes "time=... level=fatal msg=", podman
// "Error: "):
//   - no signature: `Source image rejected: A signature was required, but no
//     signature exists`
//   - signed by another key: `Source image rejected: Invalid GPG signature:
//     gpgme.Signature{Summary:128, Fingerprint:"<FPR>", Status:gpgme.Error{err:0x9}, ...}`
//   - signature for another tag of the same repository: `Source image
//     rejected: Signature for identity 127.0.0.1:PORT/signed:1 is not
//     accepted` (signedBy's default signedIdentity matchRepoDigestOrExact
//     accepts REPO@sha256:... digest references though).
//   - skopeo copy of a signed image to oci: without --remove-signatures:
//     `Can not copy signatures to oci:DIR:TAG: Pushing signatures for OCI
//     images is not supported`.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// LookasideYAML returns a registries.d file that stores and reads the
// simple signatures of scope (e.g. "127.0.0.1:PORT" from Registry, or
// "127.0.0.1:PORT/repo") in the absolute directory dir.
func LookasideYAML(scope, dir string) string {
	return fmt.Sprintf("docker:\n  %q:\n    lookaside: %q\n", scope, "file://"+dir)
}

// LookasideSignaturePath returns where skopeo and podman keep the index-th
// (from 1) simple signature of repo (the repository path without registry
// host and tag, e.g. "hull/app") with manifest digest ("sha256:HEX") in the
// lookaside directory dir: DIR/REPO@sha256=HEX/signature-INDEX.
func LookasideSignaturePath(dir, repo, digest string, index int) string {
	return filepath.Join(dir, repo+"@"+strings.Replace(digest, ":", "=", 1), fmt.Sprintf("signature-%d", index))
}

// SignedByPolicy returns a policy.json that rejects everything except images
// from the docker scope (e.g. "127.0.0.1:PORT") carrying a simple signature
// made by a key in the keyring keyPath (GPG.PublicKeyring or
// GPG.ArmoredPublicKey), while the local transports docker-archive, oci,
// oci-archive and dir are accepted as sources.
func SignedByPolicy(scope, keyPath string) string {
	accept := []map[string]string{{"type": "insecureAcceptAnything"}}
	p := map[string]any{
		"default": []map[string]string{{"type": "reject"}},
		"transports": map[string]any{
			"docker": map[string]any{
				scope: []map[string]string{{"type": "signedBy", "keyType": "GPGKeys", "keyPath": keyPath}},
			},
			"docker-archive": map[string]any{"": accept},
			"oci":            map[string]any{"": accept},
			"oci-archive":    map[string]any{"": accept},
			"dir":            map[string]any{"": accept},
		},
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		panic(err)
	}
	return string(b) + "\n"
}

// ContainersPolicy writes policyJSON to a policy.json and every registriesD
// entry (file name such as "hull.yaml" -> YAML content, e.g. from
// LookasideYAML) into a new registries.d directory, both in a temporary
// directory, and returns their paths, for `skopeo --policy P --registries.d
// D` (SkopeoPolicy) and Podman.Pull. The test fails if policyJSON is not
// valid JSON or a name is not a plain *.yaml file name (others are ignored
// by the tools).
func ContainersPolicy(t testing.TB, policyJSON string, registriesD map[string]string) (policyPath, registriesDDir string) {
	t.Helper()
	if !json.Valid([]byte(policyJSON)) {
		t.Fatalf("testenv: policy is not valid JSON:\n%s", policyJSON)
	}
	dir := t.TempDir()
	policyPath = filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policyPath, []byte(policyJSON), 0o644); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	registriesDDir = filepath.Join(dir, "registries.d")
	if err := os.Mkdir(registriesDDir, 0o755); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	for name, content := range registriesD {
		if name != filepath.Base(name) || !strings.HasSuffix(name, ".yaml") {
			t.Fatalf("testenv: registries.d file name %q must be a plain NAME.yaml", name)
		}
		if err := os.WriteFile(filepath.Join(registriesDDir, name), []byte(content), 0o644); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	return policyPath, registriesDDir
}

// SkopeoSignedCopy copies src (any skopeo source, e.g. "docker-archive:PATH"
// or "oci:DIR:TAG"; the source is not checked against a policy) to dstRef
// ("127.0.0.1:PORT/REPO:TAG", with or without "docker://", on a plain-HTTP
// registry such as Registry's) with `skopeo copy --sign-by FPR`, writing
// the simple signature into lookasideDir (absolute; created if missing)
// through a registries.d that maps the registry host to it. It returns the
// manifest digest ("sha256:HEX") of the pushed image and fails the test
// unless the signature file is then at LookasideSignaturePath(lookasideDir,
// REPO, digest, 1). It takes about 0.3 s.
//
// Signatures already stored for REPO@digest are replaced (src has none).
// Verify with SignedByPolicy + ContainersPolicy (registriesD
// {"x.yaml": LookasideYAML(host, lookasideDir)}) and SkopeoPolicy or
// Podman.Pull.
func SkopeoSignedCopy(t testing.TB, g *GPG, src, dstRef, lookasideDir string) string {
	t.Helper()
	bin := lookPath(t, "skopeo")
	if !filepath.IsAbs(lookasideDir) {
		t.Fatalf("testenv: lookaside directory %q must be absolute", lookasideDir)
	}
	ref := strings.TrimPrefix(dstRef, "docker://")
	host, repo, ok := strings.Cut(ref, "/")
	if !ok || host == "" || repo == "" || !strings.ContainsAny(host, ".:") {
		t.Fatalf("testenv: destination %q must be HOST[:PORT]/REPO[:TAG]", dstRef)
	}
	if i := strings.IndexByte(repo, '@'); i >= 0 {
		t.Fatalf("testenv: destination %q must not be a digest reference", dstRef)
	} else if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
		repo = repo[:i]
	}
	_, regD := ContainersPolicy(t, `{"default":[{"type":"reject"}]}`,
		map[string]string{"hull-lookaside.yaml": LookasideYAML(host, lookasideDir)})
	digestFile := filepath.Join(t.TempDir(), "digest")
	run(t, g.Env(), bin, "--insecure-policy", "--registries.d", regD, "copy", "--quiet",
		"--dest-tls-verify=false", "--sign-by", g.Fingerprint, "--digestfile", digestFile,
		src, "docker://"+ref)
	b, err := os.ReadFile(digestFile)
	if err != nil {
		t.Fatalf("testenv: skopeo copy --digestfile: %v", err)
	}
	digest := strings.TrimSpace(string(b))
	if !strings.HasPrefix(digest, "sha256:") || len(digest) != len("sha256:")+64 {
		t.Fatalf("testenv: skopeo copy --digestfile wrote %q", b)
	}
	if sig := LookasideSignaturePath(lookasideDir, repo, digest, 1); !fileExists(sig) {
		t.Fatalf("testenv: skopeo copy --sign-by wrote no signature at %s", sig)
	}
	return digest
}

// SkopeoPolicy runs `skopeo --policy POLICY [--registries.d REGISTRIESD]
// ARGS...` (registriesD may be "") and returns its stdout, or an error
// holding the exit status and stderr: use it to check that the reference
// implementation accepts or refuses an image. Pass the TLS flags for a
// plain-HTTP registry yourself, and --remove-signatures when copying a
// signed image to oci: or docker-archive:, e.g.
//
//	SkopeoPolicy(t, pol, regD, "copy", "--src-tls-verify=false",
//		"--remove-signatures", "docker://"+reg+"/signed:1", "oci:"+dir+":x")
func SkopeoPolicy(t testing.TB, policyPath, registriesD string, args ...string) (string, error) {
	t.Helper()
	bin := lookPath(t, "skopeo")
	global := []string{"--policy", policyPath}
	if registriesD != "" {
		global = append(global, "--registries.d", registriesD)
	}
	stdout, stderr, err := runErr(filteredEnviron(), bin, append(global, args...)...)
	if err != nil {
		return stdout, fmt.Errorf("skopeo %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr))
	}
	return stdout, nil
}

// Pull runs `podman pull --quiet [--signature-policy POLICY] REF` in this
// setup, with registries.d (if not "") as the registries.d directory, and
// returns nil or an error holding the exit status and stderr (e.g. "Error:
// Source image rejected: A signature was required, but no signature
// exists"). It does not fail the test.
//
// podman takes registries.d only from $HOME/.config/containers/registries.d
// (or /etc/containers/registries.d), so Pull runs podman with HOME set to a
// fresh directory where that path is a symlink to registriesD; the policy
// goes through the hidden flag --signature-policy. With policyPath "" the
// policy is /etc/containers/policy.json.
func (p *Podman) Pull(ref, policyPath, registriesD string) error {
	p.t.Helper()
	home, err := os.MkdirTemp(p.dir, "home-")
	if err != nil {
		return err
	}
	if registriesD != "" {
		abs, err := filepath.Abs(registriesD)
		if err != nil {
			return err
		}
		conf := filepath.Join(home, ".config", "containers")
		if err := os.MkdirAll(conf, 0o755); err != nil {
			return err
		}
		if err := os.Symlink(abs, filepath.Join(conf, "registries.d")); err != nil {
			return err
		}
	}
	env := []string{"HOME=" + home}
	for _, kv := range p.env {
		if !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	args := []string{"pull", "--quiet"}
	if policyPath != "" {
		args = append(args, "--signature-policy", policyPath)
	}
	args = append(args, ref)
	name, args := p.command(args...)
	if _, stderr, err := runErr(env, name, args...); err != nil {
		return fmt.Errorf("podman %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr))
	}
	return nil
}

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
