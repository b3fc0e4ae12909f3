// Package sign makes signatures that hull's verify and the reference
// tools accept, and the keys to make them with.
//
// Data flow: SimpleSign resolves a registry reference to its digest once,
// signs a simple-signing payload for that digest and reference with an
// OpenPGP key, and stores the signature in a lookaside directory at the
// next free signature-N, where skopeo, podman and CRI-O look for it.
package sign

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"time"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/pgp"
	"github.com/hull-sec/hull/internal/safefile"
	"github.com/hull-sec/hull/internal/simplesign"
)

// Creator is recorded in the optional section of hull's signatures.
const Creator = "hull"

// GenerateGPG makes an RSA-3072 OpenPGP signing key: a version 4 key,
// which gpg, gpgme (skopeo, podman) and Go's OpenPGP readers all accept.
func GenerateGPG(name, email string) (*pgp.Entity, error) {
	uid := name
	if email != "" {
		uid += " <" + email + ">"
	}
	e, err := pgp.GenerateRSA(uid, 3072, time.Now())
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return e, nil
}

// WriteGPGKey stores e as prefix.key (ASCII-armored private key, mode
// 0600) and prefix.pub (binary public keyring, the form policy.json's
// keyPath and hull's keyring both read). It refuses to overwrite.
func WriteGPGKey(e *pgp.Entity, prefix string) (priv, pub string, err error) {
	priv, pub = prefix+".key", prefix+".pub"
	secret := e.ArmoredPrivate()
	if secret == nil {
		return "", "", fmt.Errorf("key %s has no private part", e.Primary.FingerprintHex())
	}
	if err := safefile.WriteNew(priv, secret, 0o600); err != nil {
		return "", "", err
	}
	if err := safefile.WriteNew(pub, e.SerializePublic(), 0o644); err != nil {
		return "", "", err
	}
	return priv, pub, nil
}

// ReadGPGKey reads a key with its unprotected private part, armored or
// binary (hull key generate, gpg --export-secret-keys).
func ReadGPGKey(p string) (*pgp.Entity, error) {
	data, err := safefile.ReadLimited(p, pgp.MaxKeyringBytes)
	if err != nil {
		return nil, err
	}
	kr, err := pgp.ReadKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", p, err)
	}
	for _, e := range kr {
		if e.ArmoredPrivate() != nil {
			return e, nil
		}
	}
	return nil, fmt.Errorf("%s holds no private key", p)
}

// Signed says what SimpleSign wrote.
type Signed struct {
	Image       image.Resolved
	Path        string
	Fingerprint string
}

// SimpleSign signs the image ref names and stores the signature below
// lookasideDir.
func SimpleSign(ctx context.Context, ref string, key *pgp.Entity, lookasideDir string, o image.Options) (Signed, error) {
	signer, err := key.Signer(time.Now())
	if err != nil {
		return Signed{}, err
	}
	res, err := image.Resolve(ctx, ref, o)
	if err != nil {
		return Signed{}, err
	}
	sig, err := simplesign.Sign(signer, simplesign.Payload{
		ManifestDigest: res.Digest.String(), DockerReference: res.Reference,
		Creator: Creator, Timestamp: time.Now().UTC().Truncate(time.Second),
	})
	if err != nil {
		return Signed{}, err
	}
	if err := os.MkdirAll(lookasideDir, 0o755); err != nil {
		return Signed{}, err
	}
	root, err := os.OpenRoot(lookasideDir)
	if err != nil {
		return Signed{}, err
	}
	defer root.Close()
	for n := 1; n <= simplesign.MaxSignatures; n++ {
		rel, err := simplesign.SignaturePath(res.Repository, res.Digest.String(), n)
		if err != nil {
			return Signed{}, err
		}
		if err := root.MkdirAll(path.Dir(rel), 0o755); err != nil {
			return Signed{}, err
		}
		f, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return Signed{}, err
		}
		_, err = f.Write(sig)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return Signed{}, err
		}
		return Signed{Image: res, Path: lookasideDir + "/" + rel, Fingerprint: key.Primary.FingerprintHex()}, nil
	}
	return Signed{}, fmt.Errorf("%s already holds %d signatures of %s", lookasideDir, simplesign.MaxSignatures, res.Digest)
}
