package sigstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The fixtures are real: bundles made by the sigstore public-good instance
// (GitHub Actions and npm provenance, with real Fulcio certificates, SCTs
// and Rekor entries) and by sigstore's scaffolding, with the trusted roots
// they verify against, copied from sigstore-go v1.3.0's test data (Apache
// 2.0). sigstore-go accepts each of them.
var fixtures = []struct {
	bundle, root    string
	issuer, subject string
	proof           bool
}{
	{"sigstore-js-provenance.sigstore.json", "public-good.json", "https://token.actions.githubusercontent.com",
		"https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main", true},
	{"github-provenance.sigstore.json", "public-good.json", "https://token.actions.githubusercontent.com",
		"https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main", false},
	{"dsse.sigstore.json", "public-good.json", "https://github.com/login/oauth", "brian@dehamer.com", false},
	{"othername.sigstore.json", "scaffolding.json", "http://oidc.local:8080", "foo!oidc.local", true},
}

func load(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func root(t *testing.T, name string) *TrustedRoot {
	t.Helper()
	tr, err := ParseTrustedRoot(load(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func signed(t *testing.T, data []byte) Signed {
	t.Helper()
	b, err := ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Signed()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyRealBundles(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.bundle, func(t *testing.T) {
			tr := root(t, f.root)
			s := signed(t, load(t, f.bundle))
			if got := s.Entries[0].InclusionProof != nil; got != f.proof {
				t.Fatalf("fixture has inclusion proof %v, want %v", got, f.proof)
			}
			v, err := tr.Verify(s)
			if err != nil {
				t.Fatal(err)
			}
			if v.Identity.Issuer != f.issuer || !slices.Contains(v.Identity.Subjects, f.subject) {
				t.Errorf("identity %v, want %s from %s", v.Identity, f.subject, f.issuer)
			}
			if v.Time.Unix() != int64(s.Entries[0].IntegratedTime) {
				t.Errorf("time %v, entry integrated at %d", v.Time, s.Entries[0].IntegratedTime)
			}
		})
	}
}

// Every part of a real bundle is load-bearing: change any of it and
// verification fails, with a reason that says which.
func TestVerifyTampered(t *testing.T) {
	flip := func(b []byte) []byte { c := bytes.Clone(b); c[len(c)/2] ^= 1; return c }
	cases := []struct {
		name, bundle, root string
		mutate             func(*Signed)
		want               string
	}{
		{"other root", "sigstore-js-provenance.sigstore.json", "scaffolding.json", nil, "does not list"},
		{"payload", "sigstore-js-provenance.sigstore.json", "public-good.json",
			func(s *Signed) { s.Content.DSSE.Payload = flip(s.Content.DSSE.Payload) }, "no signature of the envelope verifies"},
		{"payload type", "sigstore-js-provenance.sigstore.json", "public-good.json",
			func(s *Signed) { s.Content.DSSE.PayloadType = "text/plain" }, "no signature of the envelope verifies"},
		{"signature", "othername.sigstore.json", "scaffolding.json",
			func(s *Signed) { s.Content.Signature = flip(s.Content.Signature) }, "does not verify with the certificate"},
		{"digest", "othername.sigstore.json", "scaffolding.json",
			func(s *Signed) { s.Content.Digest = flip(s.Content.Digest) }, "does not verify with the certificate"},
		{"no entries", "othername.sigstore.json", "scaffolding.json",
			func(s *Signed) { s.Entries = nil }, "no transparency log entry"},
		{"SET", "dsse.sigstore.json", "public-good.json",
			func(s *Signed) {
				s.Entries[0].InclusionPromise.SignedEntryTimestamp = flip(s.Entries[0].InclusionPromise.SignedEntryTimestamp)
			}, "signed entry timestamp does not verify"},
		{"integrated time", "dsse.sigstore.json", "public-good.json",
			func(s *Signed) { s.Entries[0].IntegratedTime += 3600 }, "signed entry timestamp does not verify"},
		{"log index", "dsse.sigstore.json", "public-good.json",
			func(s *Signed) { s.Entries[0].LogIndex++ }, "signed entry timestamp does not verify"},
		{"no proof or promise", "dsse.sigstore.json", "public-good.json",
			func(s *Signed) { s.Entries[0].InclusionPromise = nil }, "neither a signed entry timestamp nor an inclusion proof"},
		{"body", "dsse.sigstore.json", "public-good.json",
			func(s *Signed) {
				s.Entries[0].CanonicalizedBody = bytes.Replace(s.Entries[0].CanonicalizedBody, []byte(`"sha256"`), []byte(`"sha512"`), 1)
			}, "signed entry timestamp does not verify"},
		{"proof hash", "othername.sigstore.json", "scaffolding.json",
			func(s *Signed) {
				s.Entries[0].InclusionPromise = nil
				s.Entries[0].InclusionProof.Hashes[0] = flip(s.Entries[0].InclusionProof.Hashes[0])
			}, "computed root hash"},
		{"proof index", "othername.sigstore.json", "scaffolding.json",
			func(s *Signed) {
				s.Entries[0].InclusionPromise = nil
				s.Entries[0].InclusionProof.LogIndex = 2
			}, "computed root hash"},
		{"proof size", "othername.sigstore.json", "scaffolding.json",
			func(s *Signed) {
				s.Entries[0].InclusionPromise = nil
				s.Entries[0].InclusionProof.TreeSize = 3
			}, "inclusion proof"},
		{"checkpoint signature", "othername.sigstore.json", "scaffolding.json",
			func(s *Signed) {
				p := s.Entries[0].InclusionProof
				p.Checkpoint.Envelope = strings.Replace(p.Checkpoint.Envelope, "\n4\n", "\n5\n", 1)
			}, "checkpoint signature does not verify"},
		{"checkpoint size", "othername.sigstore.json", "scaffolding.json",
			func(s *Signed) {
				p := s.Entries[0].InclusionProof
				p.Checkpoint.Envelope = strings.Replace(p.Checkpoint.Envelope, "\n4\n", "\nfour\n", 1)
			}, "checkpoint tree size"},
		{"checkpoint root", "othername.sigstore.json", "scaffolding.json",
			func(s *Signed) {
				p := s.Entries[0].InclusionProof
				i := strings.Index(p.Checkpoint.Envelope, "\n\n")
				p.Checkpoint.Envelope = p.Checkpoint.Envelope[:i] + "\nextra" + p.Checkpoint.Envelope[i:]
			}, "checkpoint signature does not verify"},
		{"certificate", "othername.sigstore.json", "scaffolding.json",
			func(s *Signed) { s.Cert = nil }, "no certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := signed(t, load(t, c.bundle))
			if c.mutate != nil {
				c.mutate(&s)
			}
			_, err := root(t, c.root).Verify(s)
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrInvalid with %q", err, c.want)
			}
		})
	}
}

// A real entry for another signature, by another certificate, proves
// nothing about this one.
func TestVerifyReplayedEntry(t *testing.T) {
	a := signed(t, load(t, "sigstore-js-provenance.sigstore.json"))
	b := signed(t, load(t, "github-provenance.sigstore.json"))
	a.Entries = b.Entries
	_, err := root(t, "public-good.json").Verify(a)
	if err == nil || !strings.Contains(err.Error(), "the log entry records another envelope payload") {
		t.Fatalf("err = %v", err)
	}
}

// A root whose CA was not valid when the log integrated the entry, or
// whose CT log is not the one that issued the SCT, refuses.
func TestVerifyRootWindows(t *testing.T) {
	data := load(t, "public-good.json")
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	edit := func(f func(map[string]any)) *TrustedRoot {
		var m map[string]any
		b, _ := json.Marshal(raw)
		_ = json.Unmarshal(b, &m)
		f(m)
		b, _ = json.Marshal(m)
		tr, err := ParseTrustedRoot(b)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	s := signed(t, load(t, "sigstore-js-provenance.sigstore.json"))
	late := edit(func(m map[string]any) {
		for _, ca := range m["certificateAuthorities"].([]any) {
			ca.(map[string]any)["validFor"] = map[string]any{"start": "2030-01-01T00:00:00Z"}
		}
	})
	if _, err := late.Verify(s); err == nil || !strings.Contains(err.Error(), "no certificate authority of the trusted root was valid") {
		t.Errorf("CA not yet valid: err = %v", err)
	}
	noCT := edit(func(m map[string]any) {
		// The CT logs' keys replaced by the Rekor key: another log ID.
		rekorKey := m["tlogs"].([]any)[0].(map[string]any)["publicKey"]
		for _, l := range m["ctlogs"].([]any) {
			l.(map[string]any)["publicKey"] = rekorKey
		}
	})
	if _, err := noCT.Verify(s); err == nil || !strings.Contains(err.Error(), "no SCT is from a CT log the trusted root lists") {
		t.Errorf("unknown CT log: err = %v", err)
	}
}

func TestParseTrustedRootErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not json":   "{",
		"media type": `{"mediaType":"x"}`,
		"empty":      `{"mediaType":"` + TrustedRootMediaType + `"}`,
		"bad key":    `{"mediaType":"` + TrustedRootMediaType + `","tlogs":[{"publicKey":{"rawBytes":"AAAA"}}]}`,
		"bad cert":   `{"mediaType":"` + TrustedRootMediaType + `","certificateAuthorities":[{"certChain":{"certificates":[{"rawBytes":"AAAA"}]}}]}`,
		"no certs":   `{"mediaType":"` + TrustedRootMediaType + `","certificateAuthorities":[{"certChain":{}}]}`,
	} {
		if _, err := ParseTrustedRoot([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
