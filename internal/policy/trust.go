package policy

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// Trust says which images may run: rules scoped by registry and
// repository, each naming the signers it accepts.
type Trust struct {
	// Default applies to images no rule scopes: "reject" (the default)
	// or "insecureAcceptAnything".
	Default string `yaml:"default"`
	// Rules are matched against the image's repository ("host/path") as
	// containers-policy.json(5) matches its docker scopes: the repository
	// itself, then its namespaces from the longest to the host, then
	// "*.domain" scopes from the most specific domain; order does not
	// matter.
	Rules []TrustRule `yaml:"rules"`
	// Lookaside says where simple (GPG) signatures of a scope are stored.
	Lookaside []Lookaside `yaml:"lookaside"`
}

// TrustRule is one scope's verdict: reject it, accept anything
// (insecure, and named so), or require signatures.
type TrustRule struct {
	// Scope is "host[:port]", "host[:port]/namespace" or a repository
	// ("host[:port]/namespace/app"), which covers itself and every
	// repository below it; or "*.example.com", every host below that
	// domain (not example.com itself).
	Scope                  string   `yaml:"scope"`
	Reject                 bool     `yaml:"reject"`
	InsecureAcceptAnything bool     `yaml:"insecureAcceptAnything"`
	Require                string   `yaml:"require"` // "any" (default) or "all" of Signers
	Signers                []Signer `yaml:"signers"`
}

// Signer is one acceptable signer; exactly one kind is set.
type Signer struct {
	Name     string          `yaml:"name"`
	GPG      *GPGSigner      `yaml:"gpg"`
	Cosign   *CosignSigner   `yaml:"cosign"`
	Notation *NotationSigner `yaml:"notation"`
	Keyless  *KeylessSigner  `yaml:"keyless"`
}

// KeylessSigner accepts sigstore keyless signatures (cosign's classic
// format and sigstore bundles): a Fulcio certificate chained to a CA of
// TrustedRoot (a trusted_root.json), logged in one of its Rekor logs,
// issued to an OIDC identity with this Issuer and Subject (an email or a
// URI such as a CI workflow). The RegExp forms match unanchored, as
// cosign's --certificate-identity-regexp does: anchor them with ^ and $.
type KeylessSigner struct {
	TrustedRoot   string `yaml:"trustedRoot"`
	Issuer        string `yaml:"issuer"`
	IssuerRegExp  string `yaml:"issuerRegExp"`
	Subject       string `yaml:"subject"`
	SubjectRegExp string `yaml:"subjectRegExp"`
}

// NotationSigner accepts Notation (Notary Project) JWS signatures whose
// certificate chain leads to a root in TrustStore (PEM files) and whose
// leaf subject matches one of Identities ("x509.subject: C=US, O=Acme,
// CN=release", or "*" for any).
//
// TSAStore, like notation's "tsa" trust store, lists the roots (PEM) of
// time-stamping authorities: a signature must then carry an RFC 3161
// timestamp countersignature from one, and its chain is judged at the
// stamped time, so it outlives its certificates. VerifyTimestamp is
// "always" (the default) or "afterCertExpiry": check the timestamp only
// once the chain has expired.
type NotationSigner struct {
	TrustStore      []string `yaml:"trustStore"`
	Identities      []string `yaml:"identities"`
	TSAStore        []string `yaml:"tsaStore"`
	VerifyTimestamp string   `yaml:"verifyTimestamp"`
}

// VerifyTimestamp values.
const (
	TimestampAlways          = "always"
	TimestampAfterCertExpiry = "afterCertExpiry"
)

// CosignSigner accepts cosign signatures (the classic .sig tag format)
// made with the private half of Key, a PEM public key (cosign.pub).
type CosignSigner struct {
	Key string `yaml:"key"`
}

// GPGSigner accepts containers "simple signing" signatures made by one
// of Fingerprints, whose public keys are in Keyring.
type GPGSigner struct {
	Keyring      string   `yaml:"keyring"`
	Fingerprints []string `yaml:"fingerprints"`
}

// Lookaside is a signature store for a scope (a scope as rules have
// one; the most specific store covering an image is used, as
// containers-registries.d(5) picks it): a directory or an http(s) URL
// laid out as registries.d describes.
type Lookaside struct {
	Scope string `yaml:"scope"`
	Path  string `yaml:"path"`
	URL   string `yaml:"url"`
}

// Trust defaults and require values.
const (
	TrustReject                 = "reject"
	TrustInsecureAcceptAnything = "insecureAcceptAnything"
	RequireAny                  = "any"
	RequireAll                  = "all"
)

// Given reports whether the policy has a trust section to verify images
// with: rules or a default.
func (t *Trust) Given() bool { return len(t.Rules) > 0 || t.Default != "" }

// Validate checks a trust section on its own, as Policy.Validate checks
// it within a policy file: for callers that build one in memory.
func (t *Trust) Validate() error {
	if errs := t.validate(); len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}

func (t *Trust) validate() []string {
	var errs []string
	if t.Default != "" && t.Default != TrustReject && t.Default != TrustInsecureAcceptAnything {
		errs = append(errs, fmt.Sprintf("trust.default is %q, want %q or %q", t.Default, TrustReject, TrustInsecureAcceptAnything))
	}
	seen := map[string]bool{}
	for i, r := range t.Rules {
		at := fmt.Sprintf("trust.rules[%d] (%s)", i, r.Scope)
		if err := CheckScope(r.Scope); err != nil {
			errs = append(errs, at+": "+err.Error())
		}
		if seen[r.Scope] {
			errs = append(errs, at+": scope listed twice")
		}
		seen[r.Scope] = true
		kinds := 0
		for _, b := range []bool{r.Reject, r.InsecureAcceptAnything, len(r.Signers) > 0} {
			if b {
				kinds++
			}
		}
		if kinds != 1 {
			errs = append(errs, at+": set exactly one of reject, insecureAcceptAnything or signers")
		}
		if r.Require != "" && r.Require != RequireAny && r.Require != RequireAll {
			errs = append(errs, fmt.Sprintf("%s: require is %q, want %q or %q", at, r.Require, RequireAny, RequireAll))
		}
		for j, s := range r.Signers {
			errs = append(errs, s.validate(fmt.Sprintf("%s.signers[%d]", at, j))...)
		}
	}
	seenStore := map[string]bool{}
	for i, l := range t.Lookaside {
		at := fmt.Sprintf("trust.lookaside[%d] (%s)", i, l.Scope)
		if err := CheckScope(l.Scope); err != nil {
			errs = append(errs, at+": "+err.Error())
		}
		if seenStore[l.Scope] {
			errs = append(errs, at+": scope listed twice")
		}
		seenStore[l.Scope] = true
		if (l.Path == "") == (l.URL == "") {
			errs = append(errs, at+": set one of path or url")
		}
		if l.URL != "" {
			if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "file") {
				errs = append(errs, at+": url must be https://, http:// or file://")
			}
		}
	}
	return errs
}

func (s Signer) validate(at string) []string {
	var errs []string
	if s.Name == "" {
		errs = append(errs, at+": name is required")
	}
	kinds := 0
	for _, set := range []bool{s.GPG != nil, s.Cosign != nil, s.Notation != nil, s.Keyless != nil} {
		if set {
			kinds++
		}
	}
	switch {
	case kinds != 1:
		return append(errs, at+": set exactly one kind of signer: gpg, cosign, keyless or notation")
	case s.Cosign != nil:
		if s.Cosign.Key == "" {
			errs = append(errs, at+".cosign: key is required")
		}
		return errs
	case s.Keyless != nil:
		return append(errs, s.Keyless.validate(at+".keyless")...)
	case s.Notation != nil:
		if len(s.Notation.TrustStore) == 0 {
			errs = append(errs, at+".notation: trustStore lists no certificate file")
		}
		if len(s.Notation.Identities) == 0 {
			errs = append(errs, at+`.notation: list trusted identities ("x509.subject: ..." or "*")`)
		}
		for _, id := range s.Notation.Identities {
			if id != "*" && !strings.HasPrefix(id, "x509.subject:") {
				errs = append(errs, fmt.Sprintf("%s.notation: identity %q is neither \"*\" nor \"x509.subject: ...\"", at, id))
			}
		}
		switch v := s.Notation.VerifyTimestamp; {
		case v != "" && v != TimestampAlways && v != TimestampAfterCertExpiry:
			errs = append(errs, fmt.Sprintf("%s.notation: verifyTimestamp %q is neither %q nor %q", at, v, TimestampAlways, TimestampAfterCertExpiry))
		case v != "" && len(s.Notation.TSAStore) == 0:
			errs = append(errs, at+".notation: verifyTimestamp needs a tsaStore")
		}
		return errs
	}
	if s.GPG.Keyring == "" {
		errs = append(errs, at+".gpg: keyring is required")
	}
	if len(s.GPG.Fingerprints) == 0 {
		errs = append(errs, at+".gpg: list the accepted key fingerprints")
	}
	for _, f := range s.GPG.Fingerprints {
		if len(f) != 40 || strings.Trim(strings.ToUpper(f), "0123456789ABCDEF") != "" {
			errs = append(errs, fmt.Sprintf("%s.gpg: %q is not a 40-hex-digit fingerprint", at, f))
		}
	}
	return errs
}

// Scope grammar: a registry host (a name with a dot, a name with a port,
// or localhost), then namespace and repository components as image
// references write them; or "*." and a domain, as containers-policy.json(5)
// matches every host below that domain. Hosts are lower case: scopes are
// compared with references as strings, exactly.
const (
	scopeLabel     = `[a-z0-9](?:[a-z0-9-]*[a-z0-9])?`
	scopeDomain    = scopeLabel + `(?:\.` + scopeLabel + `)*`
	scopeHost      = `(?:` + scopeLabel + `(?:\.` + scopeLabel + `)+(?::[0-9]+)?|` + scopeLabel + `:[0-9]+|localhost)`
	scopeComponent = `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
	// ScopePattern is the whole grammar; schema.json holds the same.
	ScopePattern = `^(?:` + scopeHost + `(?:/` + scopeComponent + `)*|\*\.` + scopeDomain + `)$`
	// maxScope is the longest repository name references may have.
	maxScope = 255
)

var scopeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(ScopePattern) })

// CheckScope accepts exactly the scopes hull evaluates as containers
// tools do (and so may export to them), and says how to write the others.
func CheckScope(s string) error {
	host, rest, _ := strings.Cut(s, "/")
	switch {
	case s == "":
		return fmt.Errorf("scope is empty")
	case len(s) > maxScope:
		return fmt.Errorf("scope is longer than %d characters, the longest image name", maxScope)
	case s == "*":
		return fmt.Errorf("a bare * is not a scope: trust.default decides for images no rule covers")
	case strings.HasSuffix(s, "/*") && scopeRE().MatchString(strings.TrimSuffix(s, "/*")):
		return fmt.Errorf("scope %q: path globs are not supported: write %q, which covers every repository below it", s, strings.TrimSuffix(s, "/*"))
	case strings.Contains(s, "*") && !strings.HasPrefix(s, "*."):
		return fmt.Errorf("scope %q: * may only stand for the leading labels of a host, as in *.example.com", s)
	case strings.HasPrefix(s, "*.") && strings.ContainsAny(s, ":/"):
		return fmt.Errorf("scope %q: a *.domain scope names hosts only, without a port or path", s)
	case strings.ContainsAny(rest, ":@"):
		return fmt.Errorf("scope %q: a scope names a registry, namespace or repository, not a tag or digest", s)
	case strings.ToLower(s) != s:
		return fmt.Errorf("scope %q: write it in lower case, as image references name registries and repositories", s)
	case host == "index.docker.io":
		return fmt.Errorf("scope %q: Docker Hub references are matched as docker.io: write %q", s, "docker.io"+strings.TrimPrefix(s, host))
	case !strings.HasPrefix(s, "*.") && !strings.ContainsAny(host, ".:") && host != "localhost":
		hub := "docker.io/" + s
		if !strings.Contains(s, "/") {
			hub = "docker.io/library/" + s
		}
		return fmt.Errorf("scope %q does not start with a registry host: write the full name, as %s", s, hub)
	case !scopeRE().MatchString(s):
		return fmt.Errorf("scope %q is not host[:port][/namespace/repository] or *.domain", s)
	}
	return nil
}

// CheckRepository accepts the repository names ("host[:port]/path", as
// image references name them) that scopes are matched against as
// containers tools match them: a lower-case registry host, path
// components as references write them, at most 255 characters. Any
// other name (an upper-case or trailing-dot host, an empty or ".."
// component) can reach a registry under a name no scope of that
// registry covers, and containers tools refuse it: so does hull.
func CheckRepository(repo string) error {
	host, _, _ := strings.Cut(repo, "/")
	switch {
	case host != strings.ToLower(host):
		return fmt.Errorf("registry %q: write the host in lower case, as trust scopes name it", host)
	// A scope's grammar with at least one path component: the *.domain
	// form has none.
	case len(repo) > maxScope || !strings.Contains(repo, "/") || !scopeRE().MatchString(repo):
		return fmt.Errorf("%q is not an image name containers tools accept, and no trust scope could judge it", repo)
	}
	return nil
}

// Namespaces lists the scopes that cover repo ("host[:port]/path", as
// image references name it), most specific first, as
// containers-policy.json(5) searches them: the repository, each parent
// namespace up to the host with its port, then "*." and each domain
// below the host, port dropped ("*.example.com", "*.com").
func Namespaces(repo string) []string {
	var out []string
	name := repo
	for {
		out = append(out, name)
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			break
		}
		name = name[:i]
	}
	name, _, _ = strings.Cut(name, ":")
	for {
		_, rest, ok := strings.Cut(name, ".")
		if !ok {
			break
		}
		name = rest
		out = append(out, "*."+name)
	}
	return out
}

// RuleFor returns the rule of the most specific scope covering repo
// (see Namespaces), or nil when only the default applies.
func (t *Trust) RuleFor(repo string) *TrustRule {
	for _, ns := range Namespaces(repo) {
		for i := range t.Rules {
			if t.Rules[i].Scope == ns {
				return &t.Rules[i]
			}
		}
	}
	return nil
}

// LookasideFor returns the signature store of the most specific scope
// covering repo, as containers-registries.d(5) picks it.
func (t *Trust) LookasideFor(repo string) *Lookaside {
	for _, ns := range Namespaces(repo) {
		for i := range t.Lookaside {
			if t.Lookaside[i].Scope == ns {
				return &t.Lookaside[i]
			}
		}
	}
	return nil
}

func (k KeylessSigner) validate(at string) []string {
	var errs []string
	if k.TrustedRoot == "" {
		errs = append(errs, at+": trustedRoot (a trusted_root.json) is required")
	}
	for _, f := range []struct{ name, exact, re string }{{"issuer", k.Issuer, k.IssuerRegExp}, {"subject", k.Subject, k.SubjectRegExp}} {
		if (f.exact == "") == (f.re == "") {
			errs = append(errs, fmt.Sprintf("%s: set exactly one of %s and %sRegExp", at, f.name, f.name))
		}
		if _, err := regexp.Compile(f.re); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %sRegExp: %v", at, f.name, err))
		}
	}
	return errs
}
