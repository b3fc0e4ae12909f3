package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/notation"
	"github.com/hull-sec/hull/internal/sign"
	"github.com/hull-sec/hull/internal/tsp"

	"github.com/spf13/cobra"
)

type signFlags struct {
	image          imageFlags
	key            string
	cert           string
	lookaside      string
	bundle         bool
	notationFormat string
	timestampURL   string
	timestampRoot  string
}

func newSignCmd() *cobra.Command {
	var f signFlags
	cmd := &cobra.Command{
		Use:   "sign IMAGE",
		Short: "Sign an image in a registry",
		Long: `Sign resolves IMAGE to its manifest digest once and signs that digest. The
key decides the format:

  an OpenPGP key (hull key generate --type gpg, or gpg --export-secret-keys)
      containers "simple signing", written to the --lookaside directory, where
      skopeo, podman and CRI-O find it through registries.d and check it with a
      policy.json signedBy requirement;
  a PEM key (hull key generate --type cosign, or cosign's cosign.key with
  COSIGN_PASSWORD)
      cosign's classic signature, pushed to the image's sha256-<hex>.sig tag,
      or with --bundle a sigstore bundle (DSSE over an in-toto statement)
      pushed as an OCI 1.1 referrer of the image (the sha256-<hex> tag on
      registries without the referrers API); 'cosign verify --key cosign.pub'
      accepts both. Nothing is sent to a transparency log.

  a PEM key with --cert CHAIN (hull key generate --type notation)
      a Notation signature (JWS envelope, notary.x509 scheme) pushed as an OCI
      1.1 referrer of the image, as 'notation sign' does; with --timestamp-url
      and --timestamp-root-cert, with an RFC 3161 timestamp countersignature
      from that time-stamping authority, checked against that root before it
      is attached (as notation sign --timestamp-url does).

hull verify checks all of them under the trust section of hull's policy.`,
		Example: `  hull key generate --type gpg --name release --out release
  hull sign --key release.key --lookaside /var/lib/containers/sigstore registry.example.com/team/app:1.4

  hull key generate --type cosign --out cosign
  hull sign --key cosign.key registry.example.com/team/app:1.4

  hull key generate --type notation --name release --out notary
  hull sign --key notary.key --cert notary.crt registry.example.com/team/app:1.4
  hull sign --key notary.key --cert notary.crt \
    --timestamp-url http://timestamp.example.com --timestamp-root-cert tsa-root.pem \
    registry.example.com/team/app:1.4`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.image.options()
			if err != nil {
				return undecided(err)
			}
			data, err := os.ReadFile(f.key)
			if err != nil {
				return undecided(err)
			}
			if (f.timestampURL == "") != (f.timestampRoot == "") {
				return undecided(fmt.Errorf("--timestamp-url and --timestamp-root-cert go together"))
			}
			if err := signFlagsApply(cmd, &f, sign.IsPEMPrivateKey(data)); err != nil {
				return undecided(err)
			}
			if f.cert != "" {
				return signNotation(cmd, args[0], data, &f, opts)
			}
			if sign.IsPEMPrivateKey(data) {
				key, err := sign.ReadCosignKey(data, os.Getenv("COSIGN_PASSWORD"))
				if err != nil {
					return undecided(fmt.Errorf("%s: %w", f.key, err))
				}
				s, err := sign.CosignSign(cmd.Context(), args[0], key, f.bundle, opts)
				if err != nil {
					return undecided(fmt.Errorf("sign %s: %w", args[0], err))
				}
				kind := "cosign"
				if f.bundle {
					kind = "sigstore bundle"
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "signed %s@%s (%s)\n  key:       %s\n  signature: %s\n", s.Image.Reference, s.Image.Digest, kind, s.KeyID, s.Tag)
				return err
			}
			if f.lookaside == "" {
				return undecided(fmt.Errorf("an OpenPGP key makes simple signatures, which need --lookaside DIR"))
			}
			key, err := sign.ReadGPGKey(f.key)
			if err != nil {
				return undecided(err)
			}
			s, err := sign.SimpleSign(cmd.Context(), args[0], key, f.lookaside, opts)
			if err != nil {
				return undecided(fmt.Errorf("sign %s: %w", args[0], err))
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "signed %s@%s\n  key:       %s\n  signature: %s\n", s.Image.Reference, s.Image.Digest, s.Fingerprint, s.Path)
			return err
		},
	}
	fl := cmd.Flags()
	f.image.register(fl, imageUse{})
	fl.StringVar(&f.key, "key", "", "private key `FILE`: OpenPGP (simple signing), or PEM (cosign; Notation with --cert) (required)")
	fl.StringVar(&f.lookaside, "lookaside", "", "signature store `DIR` for simple signatures")
	fl.StringVar(&f.notationFormat, "signature-format", "jws", "Notation envelope `FORMAT` with --cert: jws or cose")
	choices(cmd, "signature-format", "jws", "cose")
	fl.StringVar(&f.cert, "cert", "", "certificate chain `FILE` (PEM, leaf first): sign as Notation (JWS, notary.x509) with --key")
	fl.StringVar(&f.timestampURL, "timestamp-url", "", "with --cert: the RFC 3161 time-stamping authority `URL` to countersign the signature")
	fl.StringVar(&f.timestampRoot, "timestamp-root-cert", "", "with --timestamp-url: the TSA's root certificate `FILE` (PEM) its answer must chain to")
	fl.BoolVar(&f.bundle, "bundle", false, "with a PEM key: write a sigstore bundle as an OCI referrer (cosign v3's default) instead of the classic .sig tag")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

// signFlagsApply refuses a flag that the key's format would ignore, so
// that no flag is silently without effect: the key decides the format
// (OpenPGP: simple signing; PEM: cosign, or Notation with --cert).
func signFlagsApply(cmd *cobra.Command, f *signFlags, pem bool) error {
	format := "a simple signature (OpenPGP key)"
	switch {
	case pem && f.cert != "":
		format = "a Notation signature (--cert)"
	case pem:
		format = "a cosign signature (PEM key without --cert)"
	}
	for _, c := range []struct {
		flag  string
		given bool
		fits  bool
	}{
		{"--lookaside", f.lookaside != "", !pem},
		{"--bundle", f.bundle, pem && f.cert == ""},
		{"--cert", f.cert != "", pem},
		{"--signature-format", cmd.Flags().Changed("signature-format"), pem && f.cert != ""},
		{"--timestamp-url", f.timestampURL != "", pem && f.cert != ""},
	} {
		if c.given && !c.fits {
			return fmt.Errorf("%s does not apply to %s", c.flag, format)
		}
	}
	return nil
}

func signNotation(cmd *cobra.Command, ref string, keyData []byte, f *signFlags, opts image.Options) error {
	if f.notationFormat != "jws" && f.notationFormat != "cose" {
		return undecided(fmt.Errorf("--signature-format %q: want jws or cose", f.notationFormat))
	}
	key, err := sign.ReadCosignKey(keyData, os.Getenv("COSIGN_PASSWORD"))
	if err != nil {
		return undecided(err)
	}
	certData, err := os.ReadFile(f.cert)
	if err != nil {
		return undecided(err)
	}
	chain, err := notation.ParseCertificates(certData)
	if err != nil {
		return undecided(fmt.Errorf("%s: %w", f.cert, err))
	}
	var tsa *tsp.Client
	if f.timestampURL != "" {
		rootData, err := os.ReadFile(f.timestampRoot)
		if err != nil {
			return undecided(err)
		}
		roots, err := notation.ParseCertificates(rootData)
		if err != nil {
			return undecided(fmt.Errorf("%s: %w", f.timestampRoot, err))
		}
		tsa = &tsp.Client{URL: f.timestampURL, Roots: roots}
	}
	s, err := sign.NotationSign(cmd.Context(), ref, key, chain, f.notationFormat == "cose", tsa, opts)
	if err != nil {
		return undecided(fmt.Errorf("sign %s: %w", ref, err))
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "signed %s@%s (notation)\n  signer:    %s\n  signature: %s\n", s.Image.Reference, s.Image.Digest, s.Signer, s.Artifact)
	return err
}

func newKeyCmd() *cobra.Command {
	key := &cobra.Command{Use: "key", Short: "Make signing keys"}
	var typ, name, email, out string
	gen := &cobra.Command{
		Use:   "generate",
		Short: "Generate a signing key for hull sign",
		Long: `Generate writes a key pair and never overwrites a file.

--type gpg (default): an RSA-3072 OpenPGP key. OUT.key is the private key
(ASCII armor, mode 0600, no passphrase: keep it like one); OUT.pub is the
public keyring that hull's trust policy (gpg.keyring) and policy.json's keyPath
name. The fingerprint to list in the policy is printed.

--type notation: an ECDSA P-256 key with a code-signing certificate issued by
a new self-signed root. OUT.key is the key (PKCS#8 PEM, 0600), OUT.crt the
chain for hull sign --cert, OUT.root.crt the root for the policy's
notation.trustStore; the identity to trust is printed.

--type cosign: an ECDSA P-256 key as cosign makes. OUT.key is the private key
(PKCS#8 PEM, mode 0600, not encrypted); OUT.pub is the public key that hull's
trust policy (cosign.key) and 'cosign verify --key' take.`,
		Example: `  hull key generate --name release --email release@example.com --out release
  hull key generate --type cosign --out cosign`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch typ {
			case "notation":
				if name == "" {
					return undecided(fmt.Errorf("--type notation needs --name (the certificate's common name)"))
				}
				k, chain, err := sign.GenerateNotation(name, time.Now())
				if err != nil {
					return undecided(err)
				}
				files, err := sign.WriteNotationKey(k, chain, out)
				if err != nil {
					return keyWriteError(err)
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "private key: %s\nchain:       %s\ntrust store: %s\nidentity:    x509.subject: %s\n", files[0], files[1], files[2], chain[0].Subject)
				return err
			case "cosign":
				k, err := sign.GenerateCosign()
				if err != nil {
					return undecided(err)
				}
				priv, pub, err := sign.WriteCosignKey(k, out)
				if err != nil {
					return keyWriteError(err)
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "private key: %s\npublic key:  %s\n", priv, pub)
				return err
			case "gpg":
			default:
				return undecided(fmt.Errorf("--type %q: want gpg, cosign or notation", typ))
			}
			if name == "" {
				return undecided(fmt.Errorf("--type gpg needs --name"))
			}
			e, err := sign.GenerateGPG(name, email)
			if err != nil {
				return undecided(err)
			}
			priv, pub, err := sign.WriteGPGKey(e, out)
			if err != nil {
				return keyWriteError(err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "fingerprint: %s\nprivate key: %s\npublic key:  %s\n", e.Primary.FingerprintHex(), priv, pub)
			return err
		},
	}
	gen.Flags().StringVar(&typ, "type", "gpg", "key `TYPE`: gpg (simple signing), cosign, or notation")
	choices(gen, "type", "gpg", "cosign", "notation")
	gen.Flags().StringVar(&name, "name", "", "the key's `NAME`: the OpenPGP user name, or the Notation certificate's common name (required for gpg and notation)")
	gen.Flags().StringVar(&email, "email", "", "the OpenPGP key's e-mail `ADDRESS`")
	gen.Flags().StringVar(&out, "out", "", "`PREFIX` of the files to write (required)")
	_ = gen.MarkFlagRequired("out")
	key.AddCommand(gen)
	return key
}

// keyWriteError says what to do when a key file is in the way: key
// generate never overwrites one.
func keyWriteError(err error) error {
	if errors.Is(err, fs.ErrExist) {
		err = fmt.Errorf("%w: hull key generate never overwrites a key; name other files with --out", err)
	}
	return undecided(err)
}
