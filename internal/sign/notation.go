package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/notation"
	"github.com/hull-sec/hull/internal/safefile"
	"github.com/hull-sec/hull/internal/tsp"
)

// GenerateNotation makes an ECDSA P-256 signing key with a certificate
// chain Notation accepts: a leaf for code signing issued by a new
// self-signed root, which goes in the verifier's trust store.
func GenerateNotation(commonName string, now time.Time) (*ecdsa.PrivateKey, []*x509.Certificate, error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial := func() *big.Int { n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62)); return n }
	root := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{Organization: []string{"hull"}, CommonName: commonName + " root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, rootKey.Public(), rootKey)
	if err != nil {
		return nil, nil, err
	}
	rootCert, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, nil, err
	}
	leaf := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{Organization: []string{"hull"}, CommonName: commonName},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, rootCert, leafKey.Public(), rootKey)
	if err != nil {
		return nil, nil, err
	}
	leafCert, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, nil, err
	}
	return leafKey, []*x509.Certificate{leafCert, rootCert}, nil
}

// WriteNotationKey stores prefix.key (the leaf's PKCS#8 key, 0600),
// prefix.crt (the chain, leaf first) and prefix.root.crt (the root, for
// trust stores). It refuses to overwrite.
func WriteNotationKey(key *ecdsa.PrivateKey, chain []*x509.Certificate, prefix string) (files []string, err error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	var chainPEM []byte
	for _, c := range chain {
		chainPEM = append(chainPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	rootPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[len(chain)-1].Raw})
	for _, f := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{prefix + ".key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600},
		{prefix + ".crt", chainPEM, 0o644},
		{prefix + ".root.crt", rootPEM, 0o644},
	} {
		if err := safefile.WriteNew(f.path, f.data, f.mode); err != nil {
			return files, err
		}
		files = append(files, f.path)
	}
	return files, nil
}

// NotationSigned says what NotationSign pushed.
type NotationSigned struct {
	Image    image.Resolved
	Artifact string
	Signer   string
}

// NotationSign signs the image ref names as Notation does (notary.x509),
// in a JWS envelope or, with cose, a COSE_Sign1 one, with an RFC 3161
// timestamp countersignature from tsa if set, and pushes the envelope as
// an OCI referrer of the image.
func NotationSign(ctx context.Context, ref string, key crypto.Signer, chain []*x509.Certificate, cose bool, tsa *tsp.Client, o image.Options) (NotationSigned, error) {
	res, err := image.Resolve(ctx, ref, o)
	if err != nil {
		return NotationSigned{}, err
	}
	signEnvelope, mediaType := notation.SignJWS, notation.JWSMediaType
	if cose {
		signEnvelope, mediaType = notation.SignCOSE, notation.COSEMediaType
	}
	var stamp notation.Stamper
	if tsa != nil {
		stamp = func(sig []byte, h crypto.Hash) ([]byte, error) {
			token, _, err := tsa.Stamp(ctx, sig, h)
			return token, err
		}
	}
	env, err := signEnvelope(key, chain, res.Descriptor, time.Now(), stamp)
	if err != nil {
		return NotationSigned{}, err
	}
	at, err := image.PushReferrer(ctx, res.Name, res.Descriptor, notation.ArtifactType, mediaType, env,
		map[string]string{notation.ThumbprintsKey: notation.Thumbprints(chain)}, o.RemoteOptions(ctx))
	if err != nil {
		return NotationSigned{}, fmt.Errorf("push signature: %w", err)
	}
	return NotationSigned{Image: res, Artifact: at.String(), Signer: chain[0].Subject.String()}, nil
}
