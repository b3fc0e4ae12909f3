package vulndb

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/vercmp"

	bolt "go.etcd.io/bbolt"
)

func TestApplies(t *testing.T) {
	for _, c := range []struct {
		pkg, rec string
		want     bool
	}{
		{"Debian:12", "Debian:12", true},
		{"Debian:12", "Debian", true},
		{"Debian:12", "Debian:11", false},
		{"Debian", "Debian:12", false}, // sid takes no release's records
		{"Ubuntu:22.04", "Ubuntu:22.04:LTS", true},
		{"Ubuntu:22.04", "Ubuntu:Pro:22.04:LTS", false},
		{"Ubuntu:22.04", "Ubuntu:22.10", false},
		{"Red Hat:enterprise_linux:9", "Red Hat:enterprise_linux:9::baseos", true},
		{"Red Hat:enterprise_linux:9", "Red Hat:enterprise_linux:9::appstream", true},
		{"Red Hat:enterprise_linux:9", "Red Hat:enterprise_linux:8::baseos", false},
		{"Red Hat:enterprise_linux:1", "Red Hat:enterprise_linux:10::baseos", false},
		{"Red Hat:enterprise_linux:9", "Red Hat:openshift:4.14::el9", false},
		{"Red Hat", "Red Hat:enterprise_linux:9::baseos", false},
		{"AlmaLinux:9", "AlmaLinux:9", true},
		{"AlmaLinux:9", "AlmaLinux:8", false},
		{"SUSE:Linux Enterprise Server 15 SP5", "SUSE:Linux Enterprise Server 15 SP5", true},
		{"SUSE:Linux Enterprise Server 15 SP5", "SUSE:Linux Enterprise Module for Basesystem 15 SP5", true},
		{"SUSE:Linux Enterprise Server 15 SP5", "SUSE:Linux Enterprise Server 15 SP5-LTSS", true},
		{"SUSE:Linux Enterprise Server 15 SP5", "SUSE:Linux Enterprise Module for Python 3 15 SP5", true},
		{"SUSE:Linux Enterprise Server 15 SP5", "SUSE:Linux Enterprise Server 15 SP4", false},
		{"SUSE:Linux Enterprise Server 15 SP5", "SUSE:Linux Enterprise Server 15 SP50", false},
		{"SUSE:Linux Enterprise Server 15 SP5", "SUSE:Linux Enterprise Server 15", false},
		{"SUSE:Linux Enterprise Server 15 SP5", "SUSE:Linux Enterprise Micro 5.5", false},
		{"SUSE:Linux Enterprise Server 15 SP5", "SUSE:SUSE Manager Server 4.3", false},
		{"SUSE:Linux Enterprise Server 15", "SUSE:Linux Enterprise Server 15-LTSS", true},
		{"SUSE:Linux Enterprise Micro 5.5", "SUSE:Linux Enterprise Micro 5.5", true},
		{"openSUSE:Leap 15.5", "openSUSE:Leap 15.5", true},
		{"openSUSE:Leap 15.5", "openSUSE:Leap 15.4", false},
		{"openSUSE:Leap 15.5", "SUSE:Linux Enterprise Server 15 SP5", false},
	} {
		if got := Applies(c.pkg, c.rec); got != c.want {
			t.Errorf("Applies(%q, %q) = %v, want %v", c.pkg, c.rec, got, c.want)
		}
	}
}

func FuzzApplies(f *testing.F) {
	f.Add("SUSE:Linux Enterprise Server 15 SP5", "SUSE:Linux Enterprise Module for Basesystem 15 SP5-LTSS")
	f.Add("Red Hat:enterprise_linux:9", "Red Hat:enterprise_linux:9::baseos")
	f.Fuzz(func(t *testing.T, pkg, rec string) {
		if !Applies(pkg, pkg) {
			t.Errorf("%q does not apply to itself", pkg)
		}
		_ = Applies(pkg, rec)
	})
}

// A store an older hull wrote (no format, no per-release counts) is
// refused with a way out, not read as covering nothing.
func TestOpenOldFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "osv.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(keyMeta, []byte(`{"records":{"Debian":3}}`))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); !errors.Is(err, ErrOldFormat) || !strings.Contains(err.Error(), "hull db update") {
		t.Errorf("old store: %v", err)
	}
}

// TestEveryFetchedEcosystemHasVersionRules: records of an ecosystem hull
// fetches are compared with installed versions under its rules; one
// without rules would evaluate nothing (Azure Linux and Photon OS
// packages were fetched and matched, and every record was "not
// evaluated").
func TestEveryFetchedEcosystemHasVersionRules(t *testing.T) {
	for _, e := range DefaultEcosystems {
		if _, ok := vercmp.For(e); !ok {
			t.Errorf("%s: no version rules", e)
		}
	}
}
