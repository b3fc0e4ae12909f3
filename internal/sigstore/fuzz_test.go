package sigstore

import (
	"os"
	"path/filepath"
	"testing"
)

// Bundles and trusted roots come from registries and users: no input may
// panic or hang, and only an intact real bundle verifies.
func FuzzBundle(f *testing.F) {
	for _, fx := range fixtures {
		b, err := os.ReadFile(filepath.Join("testdata", fx.bundle))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "public-good.json"))
	if err != nil {
		f.Fatal(err)
	}
	tr, err := ParseTrustedRoot(data)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := ParseBundle(in)
		if err != nil {
			return
		}
		s, err := b.Signed()
		if err != nil {
			return
		}
		_, _ = tr.Verify(s)
	})
}

func FuzzTrustedRoot(f *testing.F) {
	for _, name := range []string{"public-good.json", "scaffolding.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		_, _ = ParseTrustedRoot(in)
	})
}

// The precertificate rebuild and SCT parse read attacker-chosen DER.
func FuzzPrecertTBS(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "othername.sigstore.json"))
	if err != nil {
		f.Fatal(err)
	}
	bd, err := ParseBundle(b)
	if err != nil {
		f.Fatal(err)
	}
	leaf, err := bd.Leaf()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(leaf.RawTBSCertificate)
	f.Fuzz(func(t *testing.T, in []byte) {
		_, _ = precertTBS(in)
	})
}
