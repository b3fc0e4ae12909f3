package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/hull-sec/hull/internal/cosign"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/keyname"
	"github.com/hull-sec/hull/internal/safefile"

	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"
)

// GenerateCosign makes an ECDSA P-256 key, the kind cosign
// generate-key-pair makes.
func GenerateCosign() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// WriteCosignKey stores key as prefix.key (PKCS#8 PEM, mode 0600, not
// encrypted) and prefix.pub (PKIX PEM, as cosign.pub). It refuses to
// overwrite.
func WriteCosignKey(key *ecdsa.PrivateKey, prefix string) (priv, pub string, err error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	pder, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return "", "", err
	}
	priv, pub = prefix+".key", prefix+".pub"
	if err := safefile.WriteNew(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", "", err
	}
	if err := safefile.WriteNew(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o644); err != nil {
		return "", "", err
	}
	return priv, pub, nil
}

// IsPEMPrivateKey reports whether data is a PEM private key (cosign's
// encrypted format or a plain PKCS#8/SEC 1 key) rather than OpenPGP.
func IsPEMPrivateKey(data []byte) bool {
	b, _ := pem.Decode(data)
	return b != nil
}

// ReadCosignKey reads a private key: PKCS#8 or SEC 1 PEM as hull key
// generate writes, or cosign's encrypted cosign.key, decrypted with
// password (cosign's COSIGN_PASSWORD).
func ReadCosignKey(data []byte, password string) (crypto.Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM block in the key file")
	}
	der := b.Bytes
	switch b.Type {
	case "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY":
		var err error
		if der, err = decryptCosign(b.Bytes, password); err != nil {
			return nil, err
		}
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(der)
	case "PRIVATE KEY":
	default:
		return nil, fmt.Errorf("unsupported PEM block %q", b.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s cannot sign here: want ECDSA, RSA or Ed25519", keyname.Of(k))
	}
	return s, nil
}

// decryptCosign opens cosign's encrypted key: scrypt-derived key,
// NaCl secretbox (sigstore's cryptoutils format).
func decryptCosign(data []byte, password string) ([]byte, error) {
	var enc struct {
		KDF struct {
			Name   string `json:"name"`
			Params struct {
				N int `json:"N"`
				R int `json:"r"`
				P int `json:"p"`
			} `json:"params"`
			Salt string `json:"salt"`
		} `json:"kdf"`
		Cipher struct {
			Name  string `json:"name"`
			Nonce string `json:"nonce"`
		} `json:"cipher"`
		Ciphertext string `json:"ciphertext"`
	}
	if err := json.Unmarshal(data, &enc); err != nil {
		return nil, fmt.Errorf("encrypted key: %w", err)
	}
	p := enc.KDF.Params
	// scrypt needs 128*N*r bytes: cap it at 256 MiB (cosign uses N=65536,
	// r=8: 64 MiB), so a crafted key file cannot exhaust memory.
	if enc.KDF.Name != "scrypt" || enc.Cipher.Name != "nacl/secretbox" || p.N <= 1 || p.R <= 0 || p.P <= 0 || p.P > 16 ||
		p.N > 1<<20 || p.R > 32 || 128*p.N*p.R > 256<<20 {
		return nil, fmt.Errorf("encrypted key: unsupported %s/%s parameters", enc.KDF.Name, enc.Cipher.Name)
	}
	salt, err1 := base64.StdEncoding.DecodeString(enc.KDF.Salt)
	nonce, err2 := base64.StdEncoding.DecodeString(enc.Cipher.Nonce)
	ct, err3 := base64.StdEncoding.DecodeString(enc.Ciphertext)
	if err := errors.Join(err1, err2, err3); err != nil || len(nonce) != 24 {
		return nil, fmt.Errorf("encrypted key: bad encoding")
	}
	key, err := scrypt.Key([]byte(password), salt, p.N, p.R, p.P, 32)
	if err != nil {
		return nil, err
	}
	var k [32]byte
	var n [24]byte
	copy(k[:], key)
	copy(n[:], nonce)
	out, ok := secretbox.Open(nil, ct, &n, &k)
	if !ok {
		return nil, errors.New("encrypted key: wrong password (set COSIGN_PASSWORD)")
	}
	return out, nil
}

// CosignSigned says what CosignSign pushed.
type CosignSigned struct {
	Image image.Resolved
	// Tag is where the signature went: the .sig tag, or the bundle
	// manifest's digest reference.
	Tag   string
	KeyID string
}

// CosignSign signs the image ref names with a cosign key, offline:
// nothing goes to a transparency log. In cosign's classic format the
// signature goes to the sha256-<hex>.sig tag; as a sigstore bundle
// (bundle true, cosign v3's default) it becomes an OCI 1.1 referrer of
// the image.
func CosignSign(ctx context.Context, ref string, key crypto.Signer, bundle bool, o image.Options) (CosignSigned, error) {
	res, err := image.Resolve(ctx, ref, o)
	if err != nil {
		return CosignSigned{}, err
	}
	if bundle {
		b, err := cosign.MakeBundle(key, res.Digest)
		if err != nil {
			return CosignSigned{}, fmt.Errorf("sign: %w", err)
		}
		at, err := cosign.AttachBundle(ctx, res.Name, res.Descriptor, b, o.RemoteOptions(ctx))
		if err != nil {
			return CosignSigned{}, err
		}
		return CosignSigned{Image: res, Tag: at.String(), KeyID: cosign.KeyID(key.Public())}, nil
	}
	payload, err := cosign.MarshalPayload(cosign.Payload{DockerReference: res.Name.String(), ManifestDigest: res.Digest.String()})
	if err != nil {
		return CosignSigned{}, err
	}
	sig, err := cosign.Sign(key, payload)
	if err != nil {
		return CosignSigned{}, fmt.Errorf("sign: %w", err)
	}
	tag, err := cosign.Attach(ctx, res.Name, res.Digest, payload, sig, o.RemoteOptions(ctx))
	if err != nil {
		return CosignSigned{}, err
	}
	return CosignSigned{Image: res, Tag: tag.String(), KeyID: cosign.KeyID(key.Public())}, nil
}
