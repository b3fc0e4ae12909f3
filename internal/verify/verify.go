// Package verify decides whether images may be trusted under the trust
// section of hull's policy.
//
// Data flow: Open (a policy file) or New (a trust section in memory)
// loads the policy's keys once; every caller (hull verify, hull config
// --images, hull policy validate, the containerd image verifier, and the
// gate, launcher and admission to come) goes through Open, and each
// declares the one method it needs, Verify(ctx, ref). Verify resolves a reference to its
// manifest digest once (or takes the digest given, keeping the tag to
// judge), picks the most specific rule for the repository as
// containers-policy.json does (policy.Trust.RuleFor), finds the
// signatures stored for that digest, checks each against each signer the
// rule names, and returns a finding.Verdict. A rejection is a verdict
// with reasons; an error means hull could not decide (registry or
// signature store unreachable, bad input).
package verify

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hull-sec/hull/internal/cosign"
	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/notation"
	"github.com/hull-sec/hull/internal/pgp"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/safefile"
	"github.com/hull-sec/hull/internal/sigstore"
	"github.com/hull-sec/hull/internal/simplesign"

	"github.com/google/go-containerregistry/pkg/name"
)

// Verifier checks images against one trust policy.
type Verifier struct {
	trust   *policy.Trust
	dir     string
	image   image.Options
	signers map[*policy.Signer]signerCheck
	cache   *Cache
	// hash digests the rules and key files, for cache keys: computed on
	// first use, as a run without a cache (hull verify --no-cache) would
	// spend a millisecond of its start on it.
	hash func() string
}

// gpgSigner is a GPG signer with its keyring loaded.
type gpgSigner struct {
	keyring pgp.Keyring
	allowed []string
	raw     []byte
}

func (g *gpgSigner) keyData() []byte { return g.raw }

// cosignSigner is a cosign signer with its public key loaded.
type cosignSigner struct {
	key crypto.PublicKey
	raw []byte
}

func (c *cosignSigner) keyData() []byte { return c.raw }

// notationSigner is a Notation signer with its trust store loaded.
type notationSigner struct {
	trust      notation.Trust
	identities []string
	raw        []byte
	now        func() time.Time
}

func (n *notationSigner) keyData() []byte { return n.raw }

func (n *notationSigner) accepts(format string) bool { return format == formatNotation }

func (v *Verifier) loadNotation(s *policy.Signer) (*notationSigner, error) {
	n := &notationSigner{identities: s.Notation.Identities, now: time.Now}
	n.trust.TimestampAfterExpiry = s.Notation.VerifyTimestamp == policy.TimestampAfterCertExpiry
	for _, store := range []struct {
		files []string
		certs *[]*x509.Certificate
		what  string
	}{{s.Notation.TrustStore, &n.trust.Roots, "trust store"}, {s.Notation.TSAStore, &n.trust.TSARoots, "TSA trust store"}} {
		for _, f := range store.files {
			data, err := safefile.ReadLimited(v.path(f), maxTrustStoreBytes)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", store.what, err)
			}
			n.raw = append(n.raw, data...)
			certs, err := notation.ParseCertificates(data)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", store.what, f, err)
			}
			*store.certs = append(*store.certs, certs...)
		}
	}
	return n, nil
}

// check verifies a Notation signature: the envelope against the trust
// store now, its target against the image, the leaf against the
// trusted identities.
func (n *notationSigner) check(c candidate, res image.Resolved) (string, error) {
	verifyEnvelope := notation.VerifyJWS
	if c.mediaType == notation.COSEMediaType {
		verifyEnvelope = notation.VerifyCOSE
	}
	vf, err := verifyEnvelope(c.data, n.trust, n.now())
	if err != nil {
		return "", err
	}
	if vf.Target.Digest != res.Digest {
		return "", fmt.Errorf("%w: it signs %s, the image is %s", ErrMismatch, vf.Target.Digest, res.Digest)
	}
	if !slices.ContainsFunc(n.identities, func(id string) bool { return notation.MatchIdentity(id, vf.Leaf) }) {
		return "", fmt.Errorf("%w: signer %q is not a trusted identity", ErrMismatch, vf.Leaf.Subject)
	}
	if vf.Timestamp != nil {
		return vf.Leaf.Subject.String() + ", timestamped " + vf.Timestamp.At.UTC().Format(time.RFC3339), nil
	}
	return vf.Leaf.Subject.String(), nil
}

// Public key files larger than this are refused.
const maxPublicKeyBytes = 64 << 10

func (v *Verifier) loadCosign(s *policy.Signer) (*cosignSigner, error) {
	data, err := safefile.ReadLimited(v.path(s.Cosign.Key), maxPublicKeyBytes)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	key, err := cosign.LoadPublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Cosign.Key, err)
	}
	return &cosignSigner{key: key, raw: data}, nil
}

func (c *cosignSigner) accepts(format string) bool {
	return format == formatCosign || format == formatBundle
}

// check verifies a cosign signature: the signature over the payload,
// then that the payload names this digest and repository (cosign signs
// a repository, not a tag). A bundle's statement names only the digest.
func (c *cosignSigner) check(cand candidate, res image.Resolved) (string, error) {
	if cand.format == formatBundle {
		if err := cosign.VerifyBundle(c.key, cand.data, res.Digest); err != nil {
			return "", err
		}
		return cosign.KeyID(c.key), nil
	}
	p, err := cosign.Verify(c.key, cand.data, cand.sig)
	if err != nil {
		return "", err
	}
	if err := payloadNames(p, res); err != nil {
		return "", err
	}
	return cosign.KeyID(c.key), nil
}

// payloadNames checks that a cosign payload names the image: its digest
// and its repository. cosign signs a repository; containers/image's
// sigstore attachments (podman push --sign-by-sigstore) name the tag
// pushed, which does not matter once the digest matches.
func payloadNames(p cosign.Payload, res image.Resolved) error {
	if p.ManifestDigest != res.Digest.String() {
		return fmt.Errorf("%w: it signs digest %s, the image is %s", ErrMismatch, p.ManifestDigest, res.Digest)
	}
	ref, err := name.ParseReference(p.DockerReference, name.WithDefaultTag(""))
	if err != nil || image.CanonicalRepository(ref.Context()) != res.Repository {
		return fmt.Errorf("%w: signed for repository %q, not %s", ErrMismatch, p.DockerReference, res.Repository)
	}
	return nil
}

// keylessSigner is a sigstore keyless signer with its trusted root loaded.
type keylessSigner struct {
	root                *sigstore.TrustedRoot
	raw                 []byte
	issuer, subject     string
	issuerRE, subjectRE *regexp.Regexp
}

func (k *keylessSigner) keyData() []byte { return k.raw }

func (k *keylessSigner) accepts(format string) bool {
	return format == formatCosign || format == formatBundle
}

func (v *Verifier) loadKeyless(s *policy.Signer) (*keylessSigner, error) {
	kl := s.Keyless
	data, err := safefile.ReadLimited(v.path(kl.TrustedRoot), sigstore.MaxTrustedRootBytes)
	if err != nil {
		return nil, fmt.Errorf("read trusted root: %w", err)
	}
	tr, err := sigstore.ParseTrustedRoot(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kl.TrustedRoot, err)
	}
	k := &keylessSigner{root: tr, raw: data, issuer: kl.Issuer, subject: kl.Subject}
	for _, re := range []struct {
		expr string
		out  **regexp.Regexp
	}{{kl.IssuerRegExp, &k.issuerRE}, {kl.SubjectRegExp, &k.subjectRE}} {
		if re.expr != "" {
			if *re.out, err = regexp.Compile(re.expr); err != nil {
				return nil, err
			}
		}
	}
	return k, nil
}

// check verifies a keyless signature against the trusted root, that it
// signs this image, and that the certificate's identity is the policy's.
func (k *keylessSigner) check(c candidate, res image.Resolved) (string, error) {
	var v sigstore.Verified
	var err error
	if c.format == formatBundle {
		v, err = cosign.VerifyKeylessBundle(k.root, c.data, res.Digest)
	} else {
		var p cosign.Payload
		p, v, err = cosign.VerifyKeyless(k.root, cosign.Stored{Payload: c.data, Signature: c.sig, Certificate: c.cert, RekorBundle: c.rekor})
		if err == nil {
			err = payloadNames(p, res)
		}
	}
	if err != nil {
		return "", err
	}
	id := v.Identity
	if !matches(k.issuer, k.issuerRE, id.Issuer) {
		return "", fmt.Errorf("%w: the certificate was issued to %s, not by the policy's issuer", ErrMismatch, id)
	}
	for _, s := range id.Subjects {
		if matches(k.subject, k.subjectRE, s) {
			return s + " (" + id.Issuer + ")", nil
		}
	}
	return "", fmt.Errorf("%w: the certificate was issued to %s, not the policy's subject", ErrMismatch, id)
}

// matches applies whichever of an exact value and a regexp the policy
// set (exactly one is): an unset exact value matches nothing, not the
// empty string.
func matches(exact string, re *regexp.Regexp, s string) bool {
	if re != nil {
		return re.MatchString(s)
	}
	return exact != "" && s == exact
}

// Notation trust store files larger than this are refused.
const maxTrustStoreBytes = 16 << 20

// Options are what a caller chooses besides the policy.
type Options struct {
	// Image says how registries are reached.
	Image image.Options
	// CacheTTL keeps accepted verdicts in the user's cache (UserCache)
	// for this long; 0 decides every image afresh.
	CacheTTL time.Duration
	// Policy is the policy the caller already loaded from the file (a
	// verb that reads its other sections too); nil loads the file.
	Policy *policy.Policy
}

// Open is how every caller (hull verify, hull config --images, hull
// policy validate, the containerd image verifier, the gate, the launcher,
// admission) gets its verifier: from the policy file at path (loaded
// here unless o.Policy holds it), with the keys its trust section names,
// relative paths taken from the file's directory, and the verdict cache
// o asks for. Unless o.Image sets a timeout, the policy's
// registry.timeout applies.
func Open(path string, o Options) (*Verifier, error) {
	p := o.Policy
	if p == nil {
		var err error
		if p, err = policy.LoadFile(path); err != nil {
			return nil, err
		}
	}
	if o.Image.Timeout == 0 {
		o.Image.Timeout = p.Registry.TimeoutDuration()
	}
	v, err := New(&p.Trust, filepath.Dir(path), o.Image)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	if o.CacheTTL > 0 {
		v.cache = UserCache(o.CacheTTL)
	}
	return v, nil
}

// New checks the trust section (as hull policy validate does) and loads
// the keys it names. Relative paths are taken from dir
// (the policy file's directory; "" is the working directory), made
// absolute once, so a verifier means the same files wherever it is used.
// A fingerprint the keyring does not hold is an error: the policy could
// never be satisfied by it.
func New(t *policy.Trust, dir string, o image.Options) (*Verifier, error) {
	// A section built in memory has met no policy file's validation.
	if err := t.Validate(); err != nil {
		return nil, err
	}
	o, err := o.Shared()
	if err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	v := &Verifier{trust: t, dir: dir, image: o, signers: map[*policy.Signer]signerCheck{}}
	var keyFiles [][]byte
	for i := range t.Rules {
		for j := range t.Rules[i].Signers {
			s := &t.Rules[i].Signers[j]
			var sc signerCheck
			var err error
			switch {
			case s.GPG != nil:
				sc, err = v.loadGPG(s)
			case s.Cosign != nil:
				sc, err = v.loadCosign(s)
			case s.Notation != nil:
				sc, err = v.loadNotation(s)
			case s.Keyless != nil:
				sc, err = v.loadKeyless(s)
			}
			if err != nil {
				return nil, fmt.Errorf("trust rule %s, signer %s: %w", t.Rules[i].Scope, s.Name, err)
			}
			v.signers[s] = sc
			keyFiles = append(keyFiles, sc.keyData())
		}
	}
	v.hash = sync.OnceValue(func() string { return v.policyHash(keyFiles) })
	return v, nil
}

// path resolves a path of the policy against its directory.
func (v *Verifier) path(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(v.dir, p)
}

func (v *Verifier) loadGPG(s *policy.Signer) (*gpgSigner, error) {
	data, err := safefile.ReadLimited(v.path(s.GPG.Keyring), pgp.MaxKeyringBytes)
	if err != nil {
		return nil, fmt.Errorf("read keyring: %w", err)
	}
	kr, err := pgp.ReadKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("read keyring %s: %w", s.GPG.Keyring, err)
	}
	g := &gpgSigner{keyring: kr, raw: data}
	for _, f := range s.GPG.Fingerprints {
		f = strings.ToUpper(f)
		if !keyringHolds(kr, f) {
			return nil, fmt.Errorf("keyring %s holds no key %s (it holds %s)", s.GPG.Keyring, f, keyringFingerprints(kr))
		}
		g.allowed = append(g.allowed, f)
	}
	return g, nil
}

// keyringFingerprints lists the primary keys of kr, for a message.
func keyringFingerprints(kr pgp.Keyring) string {
	var fprs []string
	for _, e := range kr {
		fprs = append(fprs, e.Primary.FingerprintHex())
	}
	if len(fprs) == 0 {
		return "no key"
	}
	return strings.Join(fprs, ", ")
}

func keyringHolds(kr pgp.Keyring, fpr string) bool {
	for _, e := range kr {
		if e.Primary.FingerprintHex() == fpr {
			return true
		}
		for _, sk := range e.Subkeys {
			if sk.FingerprintHex() == fpr {
				return true
			}
		}
	}
	return false
}

// Verify decides about one image reference: name:tag, resolved at the
// registry once; name@digest; or name:tag@digest, as containerd asks,
// where the digest is taken as given and the tag is judged with it (a
// signature must name that tag).
func (v *Verifier) Verify(ctx context.Context, ref string) (finding.Verdict, error) {
	res, err := v.resolve(ctx, ref)
	if err != nil {
		return finding.Verdict{}, err
	}
	if v.cache != nil {
		if vd, ok := v.cache.get(v.cacheKey(res)); ok {
			vd.Target, vd.Cached = ref, true
			return vd, nil
		}
	}
	vd, err := v.judge(ctx, ref, res)
	if err == nil && vd.Accepted && v.cache != nil {
		v.cache.put(v.cacheKey(res), vd)
	}
	return vd, err
}

// judge finds and checks the signatures of a resolved image.
func (v *Verifier) judge(ctx context.Context, ref string, res image.Resolved) (finding.Verdict, error) {
	vd := finding.Verdict{Target: ref, Reference: res.Reference, Digest: res.Digest.String(), Signatures: []finding.SignatureCheck{}}
	rule, decided := v.unsigned(res.Repository, &vd)
	if decided {
		return vd, nil
	}
	cands, err := v.candidates(ctx, rule, res)
	if err != nil {
		return finding.Verdict{}, err
	}
	satisfied := make([]bool, len(rule.Signers))
	for _, c := range cands {
		check := finding.SignatureCheck{Format: c.format, Location: c.location}
		if c.err != nil {
			check.Reason = c.err.Error()
			vd.Signatures = append(vd.Signatures, check)
			continue
		}
		var reasons []string
		for i := range rule.Signers {
			s := v.signers[&rule.Signers[i]]
			if s == nil || !s.accepts(c.format) {
				continue
			}
			signer, err := s.check(c, res)
			if err != nil {
				reasons = append(reasons, rule.Signers[i].Name+": "+err.Error())
				continue
			}
			satisfied[i] = true
			check.Valid, check.Signer, check.Reason = true, signer, "signed by "+rule.Signers[i].Name+" ("+signer+")"
		}
		if !check.Valid {
			check.Reason = strings.Join(reasons, "; ")
		}
		vd.Signatures = append(vd.Signatures, check)
	}
	noStore := ruleWants(rule, formatSimple) && v.trust.LookasideFor(res.Repository) == nil
	vd.Accepted, vd.Reason = decide(rule, satisfied, len(cands), !noStore)
	return vd, nil
}

// Unsigned is the verdict on an image of repository that has no digest
// to check signatures of (built or loaded locally, or re-tagged): accepted
// only where the rule for the repository, or trust.default when no rule
// covers it, accepts anything.
func (v *Verifier) Unsigned(repository string) finding.Verdict {
	vd := finding.Verdict{Target: repository, Reference: repository, Signatures: []finding.SignatureCheck{}}
	if _, decided := v.unsigned(repository, &vd); !decided {
		vd.Reason = "rule " + vd.Rule + " requires signatures and the image has no registry digest to check them on"
	}
	return vd
}

// unsigned sets vd's rule and, where no signature matters (no rule, a
// reject or insecureAcceptAnything rule), its decision, reporting
// whether it decided; otherwise it returns the rule that asks for
// signatures.
func (v *Verifier) unsigned(repository string, vd *finding.Verdict) (*policy.TrustRule, bool) {
	rule := v.trust.RuleFor(repository)
	if rule == nil {
		vd.Rule = "default"
		if v.trust.Default == policy.TrustInsecureAcceptAnything {
			vd.Accepted, vd.Reason = true, "no rule covers "+repository+"; trust.default is insecureAcceptAnything"
		} else {
			vd.Reason = "no rule covers " + repository + " and trust.default rejects"
			if v.trust.Default == "" {
				vd.Reason += " (reject, as the policy sets no trust.default)"
			}
		}
		return nil, true
	}
	vd.Rule = rule.Scope
	switch {
	case rule.Reject:
		vd.Reason = "rule " + rule.Scope + " rejects every image"
		return rule, true
	case rule.InsecureAcceptAnything:
		vd.Accepted, vd.Reason = true, "rule "+rule.Scope+" accepts anything (insecure)"
		return rule, true
	}
	return rule, false
}

// Signature formats, as verdicts name them.
const (
	formatSimple   = "simple-signing"
	formatCosign   = "cosign"
	formatBundle   = "sigstore-bundle"
	formatNotation = "notation"
)

// candidate is one signature found for an image, in some format.
type candidate struct {
	format    string
	location  string
	data      []byte // the signed message (simple signing), payload (cosign) or envelope
	sig       string // cosign's base64 signature
	cert      string // a classic keyless cosign signature's certificate (PEM)
	rekor     string // and its Rekor bundle
	mediaType string // Notation's envelope media type
	err       error  // why it could not be read
}

// signerCheck is a loaded signer and the formats it checks.
type signerCheck interface {
	accepts(format string) bool
	keyData() []byte
	check(c candidate, res image.Resolved) (signer string, err error)
}

func ruleWants(rule *policy.TrustRule, format string) bool {
	for _, s := range rule.Signers {
		if (format == formatSimple && s.GPG != nil) || (format == formatCosign && (s.Cosign != nil || s.Keyless != nil)) || (format == formatNotation && s.Notation != nil) {
			return true
		}
	}
	return false
}

// candidates gathers the signatures of every format the rule's signers use.
func (v *Verifier) candidates(ctx context.Context, rule *policy.TrustRule, res image.Resolved) ([]candidate, error) {
	var out []candidate
	if ruleWants(rule, formatSimple) {
		sigs, err := v.simpleSignatures(ctx, res)
		if err != nil {
			return nil, err
		}
		for _, s := range sigs {
			out = append(out, candidate{format: formatSimple, location: s.location, data: s.data, err: s.err})
		}
	}
	if ruleWants(rule, formatCosign) {
		sigs, err := cosign.Fetch(ctx, res.Name, res.Digest, v.image.RemoteOptions(ctx))
		if err != nil {
			return nil, err
		}
		for _, s := range sigs {
			out = append(out, candidate{format: formatCosign, location: s.Location, data: s.Payload, sig: s.Signature,
				cert: s.Certificate, rekor: s.RekorBundle, err: s.Err})
		}
		bundles, err := cosign.FetchBundles(ctx, res.Name, res.Digest, v.image.RemoteOptions(ctx))
		if err != nil {
			return nil, err
		}
		for _, s := range bundles {
			out = append(out, candidate{format: formatBundle, location: s.Location, data: s.Payload, err: s.Err})
		}
	}
	if ruleWants(rule, formatNotation) {
		refs, err := image.Referrers(ctx, res.Name, res.Digest, notation.ArtifactType, []string{notation.JWSMediaType, notation.COSEMediaType}, v.image.RemoteOptions(ctx))
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			c := candidate{format: formatNotation, location: r.Location, data: r.Blob, mediaType: r.MediaType, err: r.Err}
			if r.Err != nil {
				c.err = fmt.Errorf("%w: %v", notation.ErrInvalid, r.Err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// decide applies the rule's any/all requirement.
func decide(rule *policy.TrustRule, satisfied []bool, found int, store bool) (bool, string) {
	var ok, missing []string
	for i, s := range satisfied {
		if s {
			ok = append(ok, rule.Signers[i].Name)
		} else {
			missing = append(missing, rule.Signers[i].Name)
		}
	}
	switch {
	case len(ok) > 0 && (rule.Require != policy.RequireAll || len(missing) == 0):
		return true, "rule " + rule.Scope + ": valid signature by " + strings.Join(ok, ", ")
	case !store:
		return false, "rule " + rule.Scope + " requires signatures, but no lookaside store covers this repository"
	case found == 0:
		return false, "rule " + rule.Scope + " requires signatures and none were found"
	case rule.Require == policy.RequireAll:
		return false, "rule " + rule.Scope + " requires all signers; no valid signature by " + strings.Join(missing, ", ")
	}
	return false, "rule " + rule.Scope + ": no valid signature by any accepted signer"
}

// ErrMismatch is wrapped when a valid signature is about another image.
var ErrMismatch = errors.New("signature does not match the image")

func (g *gpgSigner) accepts(format string) bool { return format == formatSimple }

// check verifies one simple signature for the resolved image and
// returns the signing key's fingerprint.
func (g *gpgSigner) check(c candidate, res image.Resolved) (string, error) {
	p, fprs, err := simplesign.Verify(c.data, g.keyring)
	if err != nil {
		return "", err
	}
	if !slices.ContainsFunc(fprs, func(f string) bool { return slices.Contains(g.allowed, f) }) {
		return "", fmt.Errorf("signed by key %s, which the policy does not accept", fprs[0])
	}
	if p.ManifestDigest != res.Digest.String() {
		return "", fmt.Errorf("%w: it signs digest %s, the image is %s", ErrMismatch, p.ManifestDigest, res.Digest)
	}
	if err := matchIdentity(p.DockerReference, res); err != nil {
		return "", err
	}
	return fprs[0], nil
}

// matchIdentity applies containers' default signedIdentity,
// matchRepoDigestOrExact: a tag must be signed for exactly, also when it
// comes pinned to a digest (name:tag@digest, as containerd asks), and a
// digest reference needs only the same repository.
func matchIdentity(signed string, res image.Resolved) error {
	r, err := name.ParseReference(signed, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("%w: signed identity %q does not parse: %v", ErrMismatch, signed, err)
	}
	repo := image.CanonicalRepository(r.Context())
	if res.Tag == "" {
		if repo != res.Repository {
			return fmt.Errorf("%w: signed for repository %s, not %s", ErrMismatch, repo, res.Repository)
		}
		return nil
	}
	t, ok := r.(name.Tag)
	if want := res.Repository + ":" + res.Tag; !ok || repo+":"+t.TagStr() != want {
		return fmt.Errorf("%w: signed for %s, not %s", ErrMismatch, signed, want)
	}
	return nil
}
