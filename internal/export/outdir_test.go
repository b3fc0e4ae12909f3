package export_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/export"
	"github.com/hull-sec/hull/internal/policy"
)

// TestOutDirMustBePrivate: policy.json names its keyrings by their path
// in the output directory, so whoever may write there (a directory
// another user made first under /tmp, as the README's --out
// /tmp/hull-containers invites) could replace the accepted keys after
// the export, and podman would trust theirs. The export refuses an
// output directory, or a directory in it, that is not this user's alone.
func TestOutDirMustBePrivate(t *testing.T) {
	pub := filepath.Join(t.TempDir(), "k.pub")
	if err := os.WriteFile(pub, []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	trust := &policy.Trust{Rules: []policy.TrustRule{{Scope: "registry.example/team", Signers: []policy.Signer{{Name: "ci", Cosign: &policy.CosignSigner{Key: pub}}}}}}
	fresh := filepath.Join(t.TempDir(), "out")
	if _, err := export.Containers(trust, t.TempDir(), fresh); err != nil {
		t.Fatalf("a new directory: %v", err)
	}
	if _, err := export.Containers(trust, t.TempDir(), fresh); err != nil {
		t.Fatalf("exporting again into it: %v", err)
	}
	const nobody = 65534
	for _, tc := range []struct {
		name string
		make func(t *testing.T) string
	}{
		{"world-writable", func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), "out")
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(d, 0o777); err != nil {
				t.Fatal(err)
			}
			return d
		}},
		{"world-writable keys directory", func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), "out")
			if err := os.MkdirAll(filepath.Join(d, "keys"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(d, "keys"), 0o777); err != nil {
				t.Fatal(err)
			}
			return d
		}},
		{"another user's", func(t *testing.T) string {
			if os.Geteuid() != 0 {
				t.Skip("making a directory another user owns needs root")
			}
			d := filepath.Join(t.TempDir(), "out")
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(d, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			return d
		}},
		{"symlink", func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), "out")
			if err := os.Symlink(t.TempDir(), d); err != nil {
				t.Fatal(err)
			}
			return d
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := export.Containers(trust, t.TempDir(), tc.make(t))
			if err == nil || !strings.Contains(err.Error(), "no one else may write") {
				t.Errorf("export into a directory (%s): %v", tc.name, err)
			}
		})
	}
}

// TestExportValidates: a trust section built in memory is validated as a
// policy file's is: a rule requiring all of no signers became a scope
// with no requirement, which containers tools refuse to load at all.
func TestExportValidates(t *testing.T) {
	trust := &policy.Trust{Rules: []policy.TrustRule{{Scope: "registry.example/team", Require: policy.RequireAll}}}
	if _, err := export.Containers(trust, t.TempDir(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "set exactly one of reject, insecureAcceptAnything or signers") {
		t.Errorf("export of a rule with no verdict: %v", err)
	}
}
