package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// GPG is a throwaway GnuPG home holding one unprotected signing key, made by
// GPGKey. All paths are absolute.
type GPG struct {
	// Home is the GnuPG home directory (mode 0700, short path under /tmp).
	// Subprocesses that sign with the key (skopeo --sign-by, podman push
	// --sign-by, gpg) need GNUPGHOME=Home: see Env.
	Home string
	// Fingerprint is the primary key's v4 fingerprint: 40 upper-case hex
	// digits, as `skopeo copy --sign-by` and the signatures' issuer
	// fingerprint subpacket name it.
	Fingerprint string
	// PublicKeyring is the binary public key (`gpg --export FPR`), usable as
	// a policy.json signedBy "keyPath".
	PublicKeyring string
	// ArmoredPublicKey is the same key ASCII-armored (`gpg --armor --export`);
	// policy.json signedBy accepts it as keyPath too.
	ArmoredPublicKey string
	// SecretKeyArmored is the unprotected secret key, ASCII-armored
	// (`gpg --armor --export-secret-keys`), mode 0600: what hull's own signer
	// (internal/pgp) reads.
	SecretKeyArmored string

	t   testing.TB
	bin string
}

// GPGKey creates a fresh GnuPG home and generates in it, non-interactively, an
// RSA-2048 signing key without passphrase and without expiry, with the user ID
// "NAME <NAME@hull.test>", and exports it (see GPG). The home is removed and
// its gpg-agent stopped (`gpgconf --kill all`) at cleanup. It takes about
// 0.3 s.
//
// Both rsa2048 and ed25519 keys sign and verify with skopeo 1.9 / podman 4.3
// (gpgme); use GPGKeyAlgo for ed25519.
func GPGKey(t testing.TB, name string) *GPG {
	t.Helper()
	return GPGKeyAlgo(t, name, "rsa2048")
}

// GPGKeyAlgo is GPGKey with the algorithm of `gpg --quick-gen-key`
// ("rsa2048", "rsa4096", "ed25519", ...).
func GPGKeyAlgo(t testing.TB, name, algo string) *GPG {
	t.Helper()
	if name == "" || strings.ContainsAny(name, "<>@\r\n") {
		t.Fatalf("testenv: GPG key name %q must be non-empty without <, >, @ or newlines", name)
	}
	bin := lookPath(t, "gpg")
	gpgconf := lookPath(t, "gpgconf")
	lookPath(t, "gpg-agent")

	// Short path: gpg-agent's sockets live in the home, and a unix socket path
	// must stay under 108 bytes (else gpg moves them to /run/user/UID).
	home, err := os.MkdirTemp(shortTmpRoot(), "hull-gpg-")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	g := &GPG{Home: home, t: t, bin: bin}
	t.Cleanup(func() {
		if _, stderr, err := runErr(g.Env(), gpgconf, "--kill", "all"); err != nil {
			t.Logf("testenv: gpgconf --kill all: %v: %s", err, stderr)
		}
		var err error
		for i := 0; i < 5; i++ {
			// The agent may still be removing its sockets.
			if err = os.RemoveAll(home); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("testenv: remove GnuPG home: %v", err)
	})

	g.Fingerprint = g.QuickGenKey("", name+" <"+name+"@hull.test>", algo, "sign", "never")

	write := func(file string, mode os.FileMode, data string) string {
		p := filepath.Join(home, file)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		return p
	}
	g.PublicKeyring = write("pubkey.gpg", 0o644, g.Run("--export", g.Fingerprint))
	g.ArmoredPublicKey = write("pubkey.asc", 0o644, g.Run("--armor", "--export", g.Fingerprint))
	g.SecretKeyArmored = write("secret.asc", 0o600, g.Run("--pinentry-mode", "loopback", "--passphrase", "",
		"--armor", "--export-secret-keys", g.Fingerprint))
	for _, p := range []string{g.PublicKeyring, g.ArmoredPublicKey, g.SecretKeyArmored} {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Fatalf("testenv: gpg exported nothing to %s (%v)", p, err)
		}
	}
	return g
}

// Env returns os.Environ (without variables pointing podman or skopeo at
// other configuration) plus GNUPGHOME=Home, for subprocesses that sign.
func (g *GPG) Env() []string {
	return append(filteredEnviron(), "GNUPGHOME="+g.Home)
}

// QuickGenKey makes one more key in this home, non-interactively
// (`gpg --quick-gen-key UID ALGO USAGE EXPIRE`, with passphrase, "" for
// none; extra goes before it, e.g. --faked-system-time), and returns its
// v4 fingerprint, upper-case, from gpg's status output.
func (g *GPG) QuickGenKey(passphrase, uid, algo, usage, expire string, extra ...string) string {
	g.t.Helper()
	args := append(append([]string{"--status-fd", "1"}, extra...), "--pinentry-mode", "loopback", "--passphrase", passphrase,
		"--quick-gen-key", uid, algo, usage, expire)
	status := g.Run(args...)
	// [GNUPG:] KEY_CREATED P <fingerprint>
	for _, line := range strings.Split(status, "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[0] == "[GNUPG:]" && f[1] == "KEY_CREATED" && len(f[3]) == 40 {
			return strings.ToUpper(f[3])
		}
	}
	g.t.Fatalf("testenv: gpg --quick-gen-key: no v4 fingerprint in status output:\n%s", status)
	return ""
}

// Run runs `gpg --batch ARGS...` in this home and returns its stdout (binary
// output is returned as is); the test fails (with stderr) if gpg exits
// non-zero. Example: g.Run("--decrypt", sigFile) returns the payload of a
// simple signing signature made with this key, after checking it.
func (g *GPG) Run(args ...string) string {
	g.t.Helper()
	return run(g.t, g.Env(), g.bin, append([]string{"--batch", "--no-tty"}, args...)...)
}
