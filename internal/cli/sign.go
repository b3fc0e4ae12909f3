package cli

import (
	"fmt"

	"github.com/hull-sec/hull/internal/sign"

	"github.com/spf13/cobra"
)

type signFlags struct {
	image     imageFlags
	key       string
	lookaside string
}

func newSignCmd() *cobra.Command {
	var f signFlags
	cmd := &cobra.Command{
		Use:   "sign IMAGE",
		Short: "Sign an image in a registry",
		Long: `Sign resolves IMAGE to its manifest digest once and signs that digest and
reference. Today it writes containers "simple signing" (GPG) signatures to a
lookaside directory, where skopeo, podman and CRI-O find them through
registries.d and check them with a policy.json signedBy requirement, and where
hull verify finds them through the trust section of hull's policy.

The key is an OpenPGP private key without a passphrase, such as the .key file of
'hull key generate'.`,
		Example: `  hull key generate --name release --out release
  hull sign --key release.key --lookaside /var/lib/containers/sigstore registry.example.com/team/app:1.4`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := sign.ReadGPGKey(f.key)
			if err != nil {
				return undecided(err)
			}
			opts, err := f.image.options()
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
	f.image.register(fl)
	fl.StringVar(&f.key, "key", "", "OpenPGP private key `FILE` (required)")
	fl.StringVar(&f.lookaside, "lookaside", "", "signature store `DIR` (required)")
	_ = cmd.MarkFlagRequired("key")
	_ = cmd.MarkFlagRequired("lookaside")
	return cmd
}

func newKeyCmd() *cobra.Command {
	key := &cobra.Command{Use: "key", Short: "Make signing keys"}
	var name, email, out string
	gen := &cobra.Command{
		Use:   "generate",
		Short: "Generate an OpenPGP signing key for hull sign",
		Long: `Generate writes an RSA-3072 OpenPGP key: OUT.key, the private key (ASCII
armor, mode 0600, no passphrase: keep it like one), and OUT.pub, the public
keyring that hull's trust policy and policy.json's keyPath name. It prints the
fingerprint to put in the policy. It never overwrites a file.`,
		Example: `  hull key generate --name release --email release@example.com --out release`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := sign.GenerateGPG(name, email)
			if err != nil {
				return undecided(err)
			}
			priv, pub, err := sign.WriteGPGKey(e, out)
			if err != nil {
				return undecided(err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "fingerprint: %X\nprivate key: %s\npublic key:  %s\n", e.PrimaryKey.Fingerprint, priv, pub)
			return err
		},
	}
	gen.Flags().StringVar(&name, "name", "", "the key's user name (required)")
	gen.Flags().StringVar(&email, "email", "", "the key's e-mail address")
	gen.Flags().StringVar(&out, "out", "", "`PREFIX` of the files to write (required)")
	_ = gen.MarkFlagRequired("name")
	_ = gen.MarkFlagRequired("out")
	key.AddCommand(gen)
	return key
}
