// Package export turns hull's trust policy into the files other runtimes
// enforce themselves.
//
// Data flow: Containers maps each trust rule to a containers-policy.json(5)
// requirement and each lookaside store to a containers-registries.d(5)
// entry, writes a keyring holding exactly the keys a rule accepts, and
// exports every rule it cannot express as reject, with a note saying so:
// dropped, its scope would fall to a wider rule that may accept anything. Podman,
// Buildah, skopeo and CRI-O then enforce the policy with no hull in the
// path.
package export

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hull-sec/hull/internal/pgp"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/safefile"
	"github.com/hull-sec/hull/internal/sigstore"

	"go.yaml.in/yaml/v3"
)

// Result lists what Containers wrote and what it could not express.
type Result struct {
	Files []string
	// Notes say, per rule, what containers tools enforce differently
	// or not at all.
	Notes []string
}

// requirement is one containers-policy.json requirement.
type requirement struct {
	Type               string          `json:"type"`
	KeyType            string          `json:"keyType,omitempty"`
	KeyPath            string          `json:"keyPath,omitempty"`
	Fulcio             *fulcio         `json:"fulcio,omitempty"`
	RekorPublicKeyPath string          `json:"rekorPublicKeyPath,omitempty"`
	SignedIdentity     *signedIdentity `json:"signedIdentity,omitempty"`
}

// fulcio is sigstoreSigned's keyless requirement: a certificate from one
// of the CAs, for an OIDC issuer and an email subject.
type fulcio struct {
	CAPath       string `json:"caPath"`
	OIDCIssuer   string `json:"oidcIssuer"`
	SubjectEmail string `json:"subjectEmail"`
}

type signedIdentity struct {
	Type string `json:"type"`
}

type containersPolicy struct {
	Default    []requirement                       `json:"default"`
	Transports map[string]map[string][]requirement `json:"transports"`
}

// storageTransports are accepted as they are: hull's trust rules scope
// images in registries, and images already in this machine's storage got
// there through them. Archives, layouts and directories (docker-archive,
// oci-archive, oci, dir) come from anywhere and no rule can scope them:
// they get trust.default, as hull verify refuses them.
var storageTransports = []string{"containers-storage", "docker-daemon"}

// Containers writes policy.json, registries.d/hull.yaml and keys/ into
// outDir. Relative paths in the policy are taken from policyDir.
func Containers(t *policy.Trust, policyDir, outDir string) (Result, error) {
	var res Result
	// A section built in memory has met no policy file's validation; and
	// hull's scopes are containers-policy.json's docker scopes, with the
	// same meaning, so one that is not valid would never match there.
	if err := t.Validate(); err != nil {
		return res, err
	}
	abs := func(p string) (string, error) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(policyDir, p)
		}
		return filepath.Abs(p)
	}
	outDir, err := filepath.Abs(outDir)
	if err != nil {
		return res, err
	}
	// policy.json names the key files by their path here: whoever else
	// may write here could replace the accepted keys after the export.
	for _, d := range []string{outDir, filepath.Join(outDir, "keys"), filepath.Join(outDir, "registries.d")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return res, err
		}
		if err := safefile.CheckPrivateDir(d); err != nil {
			return res, fmt.Errorf("output directory: %w: policy.json names the key files in it, so it must be a directory of yours that no one else may write, not a symlink", err)
		}
	}
	cp := containersPolicy{Default: []requirement{{Type: "reject"}}, Transports: map[string]map[string][]requirement{"docker": {}}}
	if t.Default == policy.TrustInsecureAcceptAnything {
		cp.Default = []requirement{{Type: "insecureAcceptAnything"}}
	}
	for _, tr := range storageTransports {
		cp.Transports[tr] = map[string][]requirement{"": {{Type: "insecureAcceptAnything"}}}
	}
	res.Notes = append(res.Notes, "images in local storage ("+strings.Join(storageTransports, ", ")+") are accepted: hull's rules scope registries; archives, layouts and directories get trust.default ("+cp.Default[0].Type+")")
	if len(t.Rules) == 0 && cp.Default[0].Type == "reject" {
		// Likely a policy written for lint or scan only: say what
		// installing it would do.
		res.Notes = append(res.Notes, "the policy has no trust rules and trust.default is reject: the exported policy.json refuses every image from a registry")
	}
	var attachments []string // scopes whose cosign signatures containers must read
	for i, r := range t.Rules {
		scope := r.Scope
		switch {
		case r.Reject:
			cp.Transports["docker"][scope] = []requirement{{Type: "reject"}}
		case r.InsecureAcceptAnything:
			cp.Transports["docker"][scope] = []requirement{{Type: "insecureAcceptAnything"}}
		default:
			reqs, files, unenforced, err := signedBy(i, r, abs, outDir)
			if err != nil {
				return res, fmt.Errorf("rule %s: %w", r.Scope, err)
			}
			if unenforced != "" {
				// Left out, the scope would fall to a wider rule or the
				// default, which may accept what hull refuses: containers
				// tools refuse what they cannot check.
				res.Notes = append(res.Notes, fmt.Sprintf("rule %s: NOT ENFORCED as written, exported as reject: %s", r.Scope, unenforced))
				cp.Transports["docker"][scope] = []requirement{{Type: "reject"}}
				continue
			}
			if slices.ContainsFunc(r.Signers, func(s policy.Signer) bool { return s.Cosign != nil || s.Keyless != nil }) {
				res.Notes = append(res.Notes, fmt.Sprintf("rule %s: cosign and keyless signers become sigstoreSigned requirements, which need containers tools built with sigstore support (Debian 12's skopeo and podman are not) and read classic sha256-<hex>.sig signatures only, not sigstore bundles; keyless signers trust only the certificate authorities their trusted root still has in use (containers tools cannot tell when a certificate was issued), so signatures from retired ones are refused there", r.Scope))
				attachments = append(attachments, scope)
			}
			cp.Transports["docker"][scope] = reqs
			res.Files = append(res.Files, files...)
		}
	}
	pj, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return res, err
	}
	policyPath := filepath.Join(outDir, "policy.json")
	if err := os.WriteFile(policyPath, append(pj, '\n'), 0o644); err != nil {
		return res, err
	}
	res.Files = append(res.Files, policyPath)
	rd, err := registriesD(t, abs, attachments)
	if err != nil {
		return res, err
	}
	rdPath := filepath.Join(outDir, "registries.d", "hull.yaml")
	if err := os.WriteFile(rdPath, rd, 0o644); err != nil {
		return res, err
	}
	res.Files = append(res.Files, rdPath)
	return res, nil
}

// signedBy returns a rule's requirements and writes the keyrings they
// name: for GPG signers one signedBy over all accepted keys for "any", one
// per signer for "all"; for cosign and keyless signers a sigstoreSigned
// each. policy.json requirements must all hold, so "any" of several
// sigstore signers, or of GPG and sigstore signers together, cannot be
// expressed: then it returns why instead.
func signedBy(i int, r policy.TrustRule, abs func(string) (string, error), outDir string) ([]requirement, []string, string, error) {
	var gpg, cosign []policy.Signer
	for _, s := range r.Signers {
		switch {
		case s.GPG != nil:
			gpg = append(gpg, s)
		case s.Cosign != nil, s.Keyless != nil:
			if why := keylessUnexportable(s.Keyless); why != "" {
				return nil, nil, "signer " + s.Name + ": " + why, nil
			}
			cosign = append(cosign, s)
		case r.Require == policy.RequireAll:
			return nil, nil, "containers-policy.json has no requirement for Notation signatures", nil
		}
	}
	if len(gpg)+len(cosign) < len(r.Signers) {
		return nil, nil, "containers-policy.json has no requirement for Notation signatures, and its requirements all must hold", nil
	}
	all := r.Require == policy.RequireAll
	if !all && len(cosign) > 0 && (len(gpg) > 0 || len(cosign) > 1) {
		return nil, nil, "policy.json requirements all must hold, so it cannot accept any one of several signers when one is cosign", nil
	}
	groups := [][]policy.Signer{gpg}
	if all {
		groups = nil
		for _, s := range gpg {
			groups = append(groups, []policy.Signer{s})
		}
	}
	var reqs []requirement
	var files []string
	for g, signers := range groups {
		if len(signers) == 0 {
			continue
		}
		var buf bytes.Buffer
		for _, s := range signers {
			if err := acceptedKeys(&buf, s.GPG, abs); err != nil {
				return nil, nil, "", fmt.Errorf("signer %s: %w", s.Name, err)
			}
		}
		p := filepath.Join(outDir, "keys", fmt.Sprintf("rule-%d-%d.gpg", i, g))
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return nil, nil, "", err
		}
		files = append(files, p)
		reqs = append(reqs, requirement{Type: "signedBy", KeyType: "GPGKeys", KeyPath: p})
	}
	for j, s := range cosign {
		// cosign signs the repository, not the tag.
		req := requirement{Type: "sigstoreSigned", SignedIdentity: &signedIdentity{Type: "matchRepository"}}
		if s.Keyless != nil {
			kf, err := keylessFiles(s.Keyless, abs, filepath.Join(outDir, "keys", fmt.Sprintf("rule-%d-%d", i, j)))
			if err != nil {
				return nil, nil, "", fmt.Errorf("signer %s: %w", s.Name, err)
			}
			files = append(files, kf...)
			req.Fulcio = &fulcio{CAPath: kf[0], OIDCIssuer: s.Keyless.Issuer, SubjectEmail: s.Keyless.Subject}
			req.RekorPublicKeyPath = kf[1]
		} else {
			p, err := abs(s.Cosign.Key)
			if err != nil {
				return nil, nil, "", err
			}
			req.KeyPath = p
		}
		reqs = append(reqs, req)
	}
	return reqs, files, "", nil
}

// keylessUnexportable says why a keyless signer has no sigstoreSigned
// equivalent: containers-policy.json's fulcio requirement matches one
// exact OIDC issuer and one exact email subject.
func keylessUnexportable(k *policy.KeylessSigner) string {
	switch {
	case k == nil:
		return ""
	case k.IssuerRegExp != "" || k.SubjectRegExp != "":
		return "containers-policy.json's fulcio requirement has no regular expressions (set issuer and subject exactly)"
	case !strings.Contains(k.Subject, "@") || strings.Contains(k.Subject, "://"):
		return "containers-policy.json's fulcio requirement matches only an email subject (subjectEmail), not " + k.Subject
	}
	return ""
}

// keylessFiles writes, from a keyless signer's trusted root, the Fulcio CA
// certificates (PEM) and the Rekor public key that sigstoreSigned takes as
// files: prefix-fulcio.pem and prefix-rekor.pub. containers/image takes
// one Rekor key: the root must list one log whose key is still in use.
func keylessFiles(k *policy.KeylessSigner, abs func(string) (string, error), prefix string) ([]string, error) {
	p, err := abs(k.TrustedRoot)
	if err != nil {
		return nil, err
	}
	data, err := safefile.ReadLimited(p, sigstore.MaxTrustedRootBytes)
	if err != nil {
		return nil, err
	}
	tr, err := sigstore.ParseTrustedRoot(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	// fulcio's caPath has no validity windows: a CA the root has retired
	// would be trusted for certificates issued at any time, which hull
	// refuses. Only CAs still in use are written.
	var cas bytes.Buffer
	now := time.Now()
	for _, ca := range tr.CAs {
		if !ca.Valid.End.IsZero() && !ca.Valid.End.After(now) {
			continue
		}
		for _, c := range ca.Chain {
			if err := pem.Encode(&cas, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}); err != nil {
				return nil, err
			}
		}
	}
	var current []*sigstore.Log
	for _, l := range tr.Tlogs {
		if l.Valid.End.IsZero() || l.Valid.End.After(time.Now()) {
			current = append(current, l)
		}
	}
	if cas.Len() == 0 || len(current) != 1 {
		return nil, fmt.Errorf("%s: want certificate authorities and exactly one transparency log in use, found %d CAs (%d bytes of them in use) and %d logs", p, len(tr.CAs), cas.Len(), len(current))
	}
	der, err := x509.MarshalPKIXPublicKey(current[0].Key)
	if err != nil {
		return nil, err
	}
	caPath, rekorPath := prefix+"-fulcio.pem", prefix+"-rekor.pub"
	if err := os.WriteFile(caPath, cas.Bytes(), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(rekorPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		return nil, err
	}
	return []string{caPath, rekorPath}, nil
}

// acceptedKeys writes, from the signer's keyring, only the keys whose
// fingerprint the policy lists: signedBy accepts any key in its keyring.
func acceptedKeys(w *bytes.Buffer, g *policy.GPGSigner, abs func(string) (string, error)) error {
	p, err := abs(g.Keyring)
	if err != nil {
		return err
	}
	data, err := safefile.ReadLimited(p, pgp.MaxKeyringBytes)
	if err != nil {
		return err
	}
	kr, err := pgp.ReadKeyring(data)
	if err != nil {
		return fmt.Errorf("read keyring %s: %w", p, err)
	}
	want := make([]string, len(g.Fingerprints))
	for i, f := range g.Fingerprints {
		want[i] = strings.ToUpper(f)
	}
	found := 0
	for _, e := range kr {
		if slices.Contains(want, e.Primary.FingerprintHex()) {
			w.Write(e.SerializePublic())
			found++
		}
	}
	if found != len(want) {
		return fmt.Errorf("keyring %s holds %d of the %d accepted keys as primary keys", p, found, len(want))
	}
	return nil
}

// registriesD renders the lookaside stores, and the scopes whose cosign
// signatures are to be read, as a registries.d file.
func registriesD(t *policy.Trust, abs func(string) (string, error), attachments []string) ([]byte, error) {
	scopes := map[string]map[string]any{}
	for _, l := range t.Lookaside {
		u := l.URL
		if l.Path != "" {
			p, err := abs(l.Path)
			if err != nil {
				return nil, err
			}
			u = (&url.URL{Scheme: "file", Path: p}).String()
		}
		scopes[l.Scope] = map[string]any{"lookaside": u}
	}
	for _, a := range attachments {
		if scopes[a] == nil {
			scopes[a] = map[string]any{}
		}
		scopes[a]["use-sigstore-attachments"] = true
	}
	return yaml.Marshal(map[string]any{"docker": scopes})
}
