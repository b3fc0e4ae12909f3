package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/export"
	"github.com/hull-sec/hull/internal/image"
	it "github.com/hull-sec/hull/internal/imagetest"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/sign"
	"github.com/hull-sec/hull/internal/sigstore"
	"github.com/hull-sec/hull/internal/testenv"
	"github.com/hull-sec/hull/internal/verify"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func push(t *testing.T, ref string, body string) {
	t.Helper()
	img := it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("id", body, 0o644)))
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
}

// TestInterop is the heart of simple-signing support: signatures made by
// skopeo (the reference implementation, through gpgme) verify in hull;
// signatures made by hull verify in podman and skopeo; and the policy
// hull exports makes podman itself pull the signed images and refuse the
// unsigned one from a real registry.
func TestInterop(t *testing.T) {
	ctx := context.Background()
	reg := testenv.Registry(t)
	dir := t.TempDir()
	sigs := filepath.Join(dir, "sigs")

	push(t, reg+"/team/by-hull:1", "hull")
	push(t, reg+"/team/unsigned:1", "unsigned")
	src := filepath.Join(dir, "src.tar")
	it.WriteDockerArchive(t, src, "src.local/x:1", it.Image(t, v1.Config{}, nil, it.Layer(t, it.File("id", "skopeo", 0o644))))

	// A key made by hull signs one image; gpg's key, through skopeo, the other.
	key, err := sign.GenerateGPG("hull release", "release@hull.test")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sign.WriteGPGKey(key, filepath.Join(dir, "hull")); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.SimpleSign(ctx, reg+"/team/by-hull:1", key, sigs, image.Options{}); err != nil {
		t.Fatal(err)
	}
	gpg := testenv.GPGKey(t, "skopeo release")
	testenv.SkopeoSignedCopy(t, gpg, "docker-archive:"+src, reg+"/team/by-skopeo:1", sigs)

	trust := &policy.Trust{
		Default:   policy.TrustReject,
		Lookaside: []policy.Lookaside{{Scope: reg, Path: "sigs"}},
		Rules: []policy.TrustRule{{Scope: reg + "/team", Signers: []policy.Signer{
			{Name: "hull", GPG: &policy.GPGSigner{Keyring: "hull.pub", Fingerprints: []string{key.Primary.FingerprintHex()}}},
			{Name: "skopeo", GPG: &policy.GPGSigner{Keyring: gpg.PublicKeyring, Fingerprints: []string{gpg.Fingerprint}}},
		}}},
	}
	v, err := verify.New(trust, dir, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]bool{"by-hull:1": true, "by-skopeo:1": true, "unsigned:1": false} {
		vd, err := v.Verify(ctx, reg+"/team/"+ref)
		if err != nil {
			t.Fatal(err)
		}
		if vd.Accepted != want {
			t.Errorf("hull verify %s: accepted=%v, want %v (%s)", ref, vd.Accepted, want, vd.Reason)
		}
	}

	out := filepath.Join(dir, "containers")
	if _, err := export.Containers(trust, dir, out); err != nil {
		t.Fatal(err)
	}
	pol, regD := filepath.Join(out, "policy.json"), filepath.Join(out, "registries.d")
	pm := testenv.PodmanEnv(t)
	for ref, want := range map[string]bool{"by-hull:1": true, "by-skopeo:1": true, "unsigned:1": false} {
		err := pm.Pull(reg+"/team/"+ref, pol, regD)
		if (err == nil) != want {
			t.Errorf("podman pull %s with hull's exported policy: %v (want accepted=%v)", ref, err, want)
		}
		if !want && (err == nil || !strings.Contains(err.Error(), "signature")) {
			t.Errorf("podman should refuse %s for a missing signature, got %v", ref, err)
		}
	}
	if _, err := testenv.SkopeoPolicy(t, pol, regD, "inspect", "--tls-verify=false", "docker://"+reg+"/team/by-hull:1"); err != nil {
		t.Errorf("skopeo with the exported policy: %v", err)
	}
	// The scope is written as it is: it means the same there.
	if pj, err := os.ReadFile(pol); err != nil || !strings.Contains(string(pj), `"`+reg+`/team": [`) {
		t.Errorf("policy.json lacks the rule's scope %s/team: %v\n%s", reg, err, pj)
	}

	// A reference signature with one byte changed is refused by hull too.
	digest, err := image.Resolve(ctx, reg+"/team/by-skopeo:1", image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sigPath := testenv.LookasideSignaturePath(sigs, "team/by-skopeo", digest.Digest.String(), 1)
	b, err := os.ReadFile(sigPath)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(sigPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	vd, err := v.Verify(ctx, reg+"/team/by-skopeo:1")
	if err != nil {
		t.Fatal(err)
	}
	if vd.Accepted || len(vd.Signatures) != 1 || vd.Signatures[0].Valid {
		t.Errorf("tampered skopeo signature: %+v", vd)
	}
}

func TestUnenforceableRulesAreReported(t *testing.T) {
	trust := &policy.Trust{Rules: []policy.TrustRule{
		{Scope: "*.example.com", InsecureAcceptAnything: true},
		{Scope: "registry.example/legacy", Reject: true},
		{Scope: "registry.example/notary", Signers: []policy.Signer{{Name: "n", Notation: &policy.NotationSigner{TrustStore: []string{"r.crt"}, Identities: []string{"*"}}}}},
	}}
	res, err := export.Containers(trust, t.TempDir(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(res.Notes, "\n")
	if strings.Contains(notes, "*.example.com: NOT") ||
		!strings.Contains(notes, "rule registry.example/notary: NOT ENFORCED") {
		t.Errorf("notes: %s", notes)
	}
	data, err := os.ReadFile(res.Files[len(res.Files)-2])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"registry.example/legacy"`, `"*.example.com"`, `"reject"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("policy.json lacks %s:\n%s", want, data)
		}
	}
	if strings.Contains(notes, "refuses every image") {
		t.Errorf("a policy with rules is said to refuse everything: %s", notes)
	}
	// A policy without trust rules (one written for lint or scan) says
	// that the export refuses every registry image.
	res, err = export.Containers(&policy.Trust{}, t.TempDir(), t.TempDir())
	if err != nil || !strings.Contains(strings.Join(res.Notes, "\n"), "no trust rules and trust.default is reject: the exported policy.json refuses every image from a registry") {
		t.Errorf("empty trust: %v, %q", err, res.Notes)
	}
	// A scope hull's policy refuses never reaches policy.json, where it
	// would silently match nothing.
	glob := &policy.Trust{Rules: []policy.TrustRule{{Scope: "registry.example/team/*", Reject: true}}}
	if _, err := export.Containers(glob, t.TempDir(), t.TempDir()); err == nil || !strings.Contains(err.Error(), `write "registry.example/team"`) {
		t.Errorf("export of a path glob: %v", err)
	}
}

func TestCosignRulesExport(t *testing.T) {
	trust := &policy.Trust{Rules: []policy.TrustRule{
		{Scope: "registry.example/ci", Signers: []policy.Signer{{Name: "ci", Cosign: &policy.CosignSigner{Key: "/keys/ci.pub"}}}},
		{Scope: "registry.example/mixed", Signers: []policy.Signer{
			{Name: "ci", Cosign: &policy.CosignSigner{Key: "/keys/ci.pub"}},
			{Name: "other", Cosign: &policy.CosignSigner{Key: "/keys/other.pub"}}}},
	}}
	out := t.TempDir()
	res, err := export.Containers(trust, t.TempDir(), out)
	if err != nil {
		t.Fatal(err)
	}
	pj, _ := os.ReadFile(filepath.Join(out, "policy.json"))
	rd, _ := os.ReadFile(filepath.Join(out, "registries.d", "hull.yaml"))
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{`"sigstoreSigned"`, `"/keys/ci.pub"`, `"matchRepository"`} {
		if !strings.Contains(string(pj), want) {
			t.Errorf("policy.json lacks %s:\n%s", want, pj)
		}
	}
	if !strings.Contains(notes, "registry.example/mixed: NOT ENFORCED as written, exported as reject") {
		t.Errorf("any-of-two cosign keys cannot be expressed and must be reported:\n%s\n%s", pj, notes)
	}
	if !strings.Contains(string(rd), "use-sigstore-attachments: true") {
		t.Errorf("registries.d must turn on sigstore attachments for the cosign scope:\n%s", rd)
	}
}

// A keyless signer with an exact issuer and email becomes sigstoreSigned
// with a fulcio requirement, the CA certificates and Rekor key taken from
// its trusted root; what fulcio cannot express is reported.
func TestKeylessRulesExport(t *testing.T) {
	root, err := filepath.Abs("../sigstore/testdata/public-good.json")
	if err != nil {
		t.Fatal(err)
	}
	keyless := func(issuer, subject, subjectRE string) []policy.Signer {
		return []policy.Signer{{Name: "k", Keyless: &policy.KeylessSigner{TrustedRoot: root, Issuer: issuer, Subject: subject, SubjectRegExp: subjectRE}}}
	}
	trust := &policy.Trust{Rules: []policy.TrustRule{
		{Scope: "registry.example/mail", Signers: keyless("https://github.com/login/oauth", "dev@example.com", "")},
		{Scope: "registry.example/workflow", Signers: keyless("https://token.actions.githubusercontent.com", "https://github.com/acme/app/.github/workflows/r.yml@refs/heads/main", "")},
		{Scope: "registry.example/regexp", Signers: keyless("https://github.com/login/oauth", "", "@example\\.com$")},
	}}
	out := t.TempDir()
	res, err := export.Containers(trust, t.TempDir(), out)
	if err != nil {
		t.Fatal(err)
	}
	var cp struct {
		Transports map[string]map[string][]struct {
			Type   string
			Fulcio struct {
				CAPath, OIDCIssuer, SubjectEmail string
			}
			RekorPublicKeyPath string
		}
	}
	pj, _ := os.ReadFile(filepath.Join(out, "policy.json"))
	if err := json.Unmarshal(pj, &cp); err != nil {
		t.Fatal(err)
	}
	reqs := cp.Transports["docker"]["registry.example/mail"]
	if len(reqs) != 1 || reqs[0].Type != "sigstoreSigned" || reqs[0].Fulcio.OIDCIssuer != "https://github.com/login/oauth" || reqs[0].Fulcio.SubjectEmail != "dev@example.com" {
		t.Fatalf("keyless email rule: %s", pj)
	}
	// public-good lists two Fulcio CAs; the first was retired at the end
	// of 2022. fulcio's caPath has no validity windows, so containers
	// tools would trust it for certificates issued at any time, which
	// hull refuses: only the CA in use (its intermediate and root) is
	// written.
	cas, err := os.ReadFile(reqs[0].Fulcio.CAPath)
	if err != nil || bytes.Count(cas, []byte("BEGIN CERTIFICATE")) != 2 {
		t.Errorf("Fulcio CA file: %v\n%s", err, cas)
	}
	tr, err := sigstore.ParseTrustedRoot(mustRead(t, root))
	if err != nil {
		t.Fatal(err)
	}
	if retired := tr.CAs[0]; retired.Valid.End.IsZero() || bytes.Contains(cas, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: retired.Chain[0].Raw})) {
		t.Errorf("the retired Fulcio CA (valid until %s) was exported", retired.Valid.End)
	}
	rekor, err := os.ReadFile(reqs[0].RekorPublicKeyPath)
	if err != nil || !bytes.Contains(rekor, []byte("BEGIN PUBLIC KEY")) {
		t.Errorf("Rekor key file: %v\n%s", err, rekor)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, scope := range []string{"registry.example/workflow", "registry.example/regexp"} {
		if reqs := cp.Transports["docker"][scope]; len(reqs) != 1 || reqs[0].Type != "reject" || !strings.Contains(notes, "rule "+scope+": NOT ENFORCED") {
			t.Errorf("%s cannot be expressed and must be reported:\n%s\n%s", scope, pj, notes)
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
