package sigstore

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Fulcio's certificate extensions for the OIDC issuer: the current one
// holds a DER UTF8String, the deprecated one the raw bytes.
var (
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
	oidIssuerV1 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidSAN      = asn1.ObjectIdentifier{2, 5, 29, 17}
	// otherName SAN type Fulcio uses for a username identity.
	oidOtherNameUsername = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 7}
)

// Identity is who a Fulcio certificate was issued to: the OIDC issuer and
// the subjects in its subject alternative names (an email address, a URI
// such as a CI workflow, or a username).
type Identity struct {
	Issuer   string
	Subjects []string
}

func (id Identity) String() string {
	return strings.Join(id.Subjects, ", ") + " (issuer " + id.Issuer + ")"
}

// CertIdentity reads the identity from a Fulcio certificate.
func CertIdentity(c *x509.Certificate) (Identity, error) {
	var id Identity
	for _, e := range c.Extensions {
		switch {
		case e.Id.Equal(oidIssuerV2):
			var s string
			if rest, err := asn1.UnmarshalWithParams(e.Value, &s, "utf8"); err != nil || len(rest) > 0 {
				return id, fmt.Errorf("%w: certificate OIDC issuer extension is malformed", ErrInvalid)
			}
			id.Issuer = s
		case e.Id.Equal(oidIssuerV1) && id.Issuer == "":
			id.Issuer = string(e.Value)
		case e.Id.Equal(oidSAN):
			names, err := otherNames(e.Value)
			if err != nil {
				return id, fmt.Errorf("%w: certificate subject alternative names: %v", ErrInvalid, err)
			}
			id.Subjects = append(id.Subjects, names...)
		}
	}
	id.Subjects = append(id.Subjects, c.EmailAddresses...)
	for _, u := range c.URIs {
		id.Subjects = append(id.Subjects, u.String())
	}
	if id.Issuer == "" {
		return id, fmt.Errorf("%w: the certificate names no OIDC issuer (not a Fulcio certificate)", ErrInvalid)
	}
	if len(id.Subjects) == 0 {
		return id, fmt.Errorf("%w: the certificate names no subject", ErrInvalid)
	}
	return id, nil
}

// otherNames returns the Fulcio username otherNames in a SAN extension,
// which crypto/x509 does not parse.
func otherNames(ext []byte) ([]string, error) {
	var seq asn1.RawValue
	if rest, err := asn1.Unmarshal(ext, &seq); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("not a sequence")
	}
	var out []string
	rest := seq.Bytes
	for len(rest) > 0 {
		var gn asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &gn); err != nil {
			return nil, err
		}
		if gn.Class != asn1.ClassContextSpecific || gn.Tag != 0 { // otherName
			continue
		}
		var on struct {
			Type  asn1.ObjectIdentifier
			Value asn1.RawValue `asn1:"explicit,tag:0"`
		}
		if _, err := asn1.UnmarshalWithParams(gn.FullBytes, &on, "tag:0"); err != nil {
			return nil, err
		}
		if !on.Type.Equal(oidOtherNameUsername) {
			continue
		}
		var s string
		if _, err := asn1.UnmarshalWithParams(on.Value.Bytes, &s, "utf8"); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// verifyChain checks that leaf chains, at time t, to a certificate
// authority of the root that was valid then, for code signing. It returns
// the leaf's issuer.
func (tr *TrustedRoot) verifyChain(leaf *x509.Certificate, t time.Time) (*x509.Certificate, error) {
	if len(tr.CAs) == 0 {
		return nil, fmt.Errorf("%w: the trusted root lists no certificate authority", ErrInvalid)
	}
	// A SAN that holds only a Fulcio username (an otherName) is marked
	// critical, and crypto/x509 does not parse otherNames; CertIdentity does.
	c := *leaf
	c.UnhandledCriticalExtensions = slices.DeleteFunc(slices.Clone(c.UnhandledCriticalExtensions),
		func(o asn1.ObjectIdentifier) bool { return o.Equal(oidSAN) })
	leaf = &c
	var last error
	for _, ca := range tr.CAs {
		if !ca.Valid.Contains(t) {
			last = fmt.Errorf("%w: no certificate authority of the trusted root was valid at %s", ErrInvalid, t.UTC().Format(time.RFC3339))
			continue
		}
		roots, inter := x509.NewCertPool(), x509.NewCertPool()
		roots.AddCert(ca.Chain[len(ca.Chain)-1])
		for _, c := range ca.Chain[:len(ca.Chain)-1] {
			inter.AddCert(c)
		}
		chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: t,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}})
		if err == nil && len(chains[0]) > 1 {
			return chains[0][1], nil
		}
		if err == nil {
			err = fmt.Errorf("it is a root of the trusted root, not a certificate issued by one")
		}
		last = fmt.Errorf("%w: certificate: %v", ErrInvalid, err)
	}
	return nil, last
}
