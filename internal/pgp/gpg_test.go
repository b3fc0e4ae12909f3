package pgp

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/testenv"
)

// TestGnuPG checks the package against gpg itself: keys of each algorithm
// gpg makes (and a signing subkey) and gpg's signed messages (compressed,
// as gpg --sign writes them) verify; an expired or revoked key, a
// message changed by one byte and a text-mode signature do not; and gpg
// imports hull's key and accepts its signatures.
func TestGnuPG(t *testing.T) {
	for _, algo := range []string{"rsa2048", "ed25519", "nistp256", "nistp384"} {
		t.Run(algo, func(t *testing.T) {
			g := testenv.GPGKeyAlgo(t, "gpg-"+algo, algo)
			for _, ring := range []string{g.PublicKeyring, g.ArmoredPublicKey, g.SecretKeyArmored} {
				data, err := os.ReadFile(ring)
				if err != nil {
					t.Fatal(err)
				}
				kr, err := ReadKeyring(data)
				if err != nil || kr[0].Unusable != "" || kr[0].Primary.FingerprintHex() != g.Fingerprint {
					t.Fatalf("read %s: %v %+v", filepath.Base(ring), err, kr)
				}
				msg := gpgSign(t, g, g.Fingerprint, "payload")
				v, err := kr.Verify(msg, time.Now(), limit)
				if err != nil || string(v.Body) != "payload" || v.Key.FingerprintHex() != g.Fingerprint {
					t.Fatalf("gpg's signature: %v", err)
				}
				msg[len(msg)/2] ^= 0x10
				if _, err := kr.Verify(msg, time.Now(), limit); err == nil {
					t.Errorf("gpg's signature with a byte changed was accepted")
				}
			}
			// gpg reads hull's signature made with gpg's own secret key.
			sec, _ := os.ReadFile(g.SecretKeyArmored)
			skr, err := ReadKeyring(sec)
			if err != nil {
				t.Fatal(err)
			}
			gpgAccepts(t, g, sign(t, skr[0], "from hull"), "from hull")
		})
	}

	g := testenv.GPGKey(t, "gpg-subkey")
	// A signing subkey added to a key; gpg then signs with it.
	g.Run("--pinentry-mode", "loopback", "--passphrase", "", "--quick-add-key", g.Fingerprint, "ed25519", "sign", "never")
	subFpr := ""
	for _, l := range strings.Split(g.Run("--with-colons", "--list-keys", g.Fingerprint), "\n") {
		if f := strings.Split(l, ":"); len(f) > 9 && f[0] == "fpr" && f[9] != g.Fingerprint {
			subFpr = f[9]
		}
	}
	if subFpr == "" {
		t.Fatal("gpg added no subkey")
	}
	kr, err := ReadKeyring([]byte(g.Run("--export", g.Fingerprint)))
	if err != nil || len(kr[0].Subkeys) != 1 || !kr[0].Subkeys[0].canSign {
		for _, sk := range kr[0].Subkeys {
			t.Logf("subkey %s: can sign %v, %s", sk.FingerprintHex(), sk.canSign, sk.unusable)
		}
		t.Fatalf("key with a signing subkey: %v, %d subkeys", err, len(kr[0].Subkeys))
	}
	v, err := kr.Verify(gpgSign(t, g, subFpr+"!", "by subkey"), time.Now(), limit)
	if err != nil || v.Key.FingerprintHex() != subFpr || v.Primary.FingerprintHex() != g.Fingerprint {
		t.Fatalf("signature by the subkey: %v (key %v)", err, v.Key)
	}

	// gpg's usual key: Ed25519 with a Curve25519 encryption subkey; its
	// exported secret key signs, and gpg accepts the signature.
	fullFpr := g.QuickGenKey("", "full <full@hull.test>", "future-default", "default", "never")
	fkr, err := ReadKeyring([]byte(g.Run("--pinentry-mode", "loopback", "--passphrase", "", "--export-secret-keys", fullFpr)))
	if err != nil || len(fkr) != 1 || fkr[0].Unusable != "" || len(fkr[0].Subkeys) != 0 {
		t.Fatalf("gpg's default key (the encryption subkey is not a signer): %v %+v", err, fkr)
	}
	gpgAccepts(t, g, sign(t, fkr[0], "default key"), "default key")

	// SHA-1, which gpg still makes on request: refused.
	if _, err := kr.Verify(gpgSign(t, g, g.Fingerprint+"!", "sha1", "--digest-algo", "SHA1"), time.Now(), limit); err == nil || !strings.Contains(err.Error(), "hash algorithm 2") {
		t.Errorf("SHA-1 signature: %v", err)
	}

	// A passphrase-protected secret key reads, and says why it cannot sign.
	lockedFpr := g.QuickGenKey("secret", "locked <locked@hull.test>", "ed25519", "sign", "never")
	lkr, err := ReadKeyring([]byte(g.Run("--pinentry-mode", "loopback", "--passphrase", "secret", "--export-secret-keys", lockedFpr)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lkr[0].Signer(time.Now()); err == nil || !strings.Contains(err.Error(), "passphrase-protected") {
		t.Errorf("protected key: %v", err)
	}

	// gpg makes text-mode signatures with --textmode: refused.
	if _, err := kr.Verify(gpgSign(t, g, g.Fingerprint, "text", "--textmode"), time.Now(), limit); err == nil || !strings.Contains(err.Error(), "binary") {
		t.Errorf("text-mode signature: %v", err)
	}

	// A key that expired (made and used at a faked time in 2020).
	expired := testenv.GPGKey(t, "gpg-expired")
	fake := "--faked-system-time=20200101T000000"
	oldFpr := expired.QuickGenKey("", "old <old@hull.test>", "rsa2048", "sign", "1d", fake)
	okr, err := ReadKeyring([]byte(expired.Run(fake, "--export", oldFpr)))
	if err != nil {
		t.Fatal(err)
	}
	oldMsg := gpgSign(t, expired, oldFpr, "old", fake)
	if _, err := okr.Verify(oldMsg, time.Now(), limit); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired key: %v", err)
	}
	if _, err := okr.Verify(oldMsg, time.Date(2020, 1, 1, 12, 0, 0, 0, time.UTC), limit); err != nil {
		t.Errorf("the same key while it was valid: %v", err)
	}

	// A revoked key: gpg's own revocation certificate, imported.
	rev, err := os.ReadFile(filepath.Join(g.Home, "openpgp-revocs.d", g.Fingerprint+".rev"))
	if err != nil {
		t.Fatal(err)
	}
	revFile := filepath.Join(t.TempDir(), "rev.asc")
	if err := os.WriteFile(revFile, []byte(strings.Replace(string(rev), ":-----BEGIN", "-----BEGIN", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	msg := gpgSign(t, g, g.Fingerprint, "before revocation")
	g.Run("--import", revFile)
	rkr, err := ReadKeyring([]byte(g.Run("--export", g.Fingerprint)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rkr.Verify(msg, time.Now(), limit); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("revoked key: %v", err)
	}

	// hull's own key: gpg imports it (secret part included) and accepts
	// its signatures.
	e, priv := hullKey()
	h := testenv.GPGKey(t, "gpg-importer")
	keyFile := filepath.Join(t.TempDir(), "hull.key")
	if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	h.Run("--pinentry-mode", "loopback", "--passphrase", "", "--import", keyFile)
	gpgAccepts(t, h, sign(t, e, "hull key"), "hull key")
	if _, err := (Keyring{e}).Verify(gpgSign(t, h, e.Primary.FingerprintHex(), "gpg with hull's key"), time.Now(), limit); err != nil {
		t.Errorf("gpg signing with hull's imported key: %v", err)
	}
	if _, err := (Keyring{e}).Verify(msg, time.Now(), limit); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("another key's signature: %v", err)
	}
}

// gpgSign signs body with gpg --sign (compressed, binary) as key.
func gpgSign(t *testing.T, g *testenv.GPG, key, body string, extra ...string) []byte {
	t.Helper()
	in := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(in, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--pinentry-mode", "loopback", "--passphrase", "", "--local-user", key}, extra...)
	return []byte(g.Run(append(args, "--output", "-", "--sign", in)...))
}

// gpgAccepts checks that gpg verifies msg (after importing nothing: the
// key must be in g's keyring) and gets body from it.
func gpgAccepts(t *testing.T, g *testenv.GPG, msg []byte, body string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "msg.gpg")
	if err := os.WriteFile(f, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	out := g.Run("--status-fd", "2", "--output", "-", "--decrypt", f)
	if out != body {
		t.Errorf("gpg --decrypt of hull's message: %q, want %q", out, body)
	}
}
