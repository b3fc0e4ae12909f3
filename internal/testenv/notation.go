//go:build unix

package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// NotationVersion is the notation release Notation builds, from
// github.com/notaryproject/notation through the Go module proxy.
const NotationVersion = "v1.3.2"

var notationTool = &goTool{
	name: "notation", module: "github.com/notaryproject/notation", pkg: "./cmd/notation", version: NotationVersion,
	env: "HULL_NOTATION", buildTimeout: 10 * time.Minute, versionArgs: []string{"version"},
}

// NotationCLI is the notation CLI (NotationVersion) with a configuration
// of its own: HOME and XDG_CONFIG_HOME point into a temporary directory,
// so its keys, trust stores and trust policy are the test's. Observed:
//
//   - `notation cert generate-test --default NAME` makes an RSA-2048 key
//     and a self-signed certificate for it (Config/notation/localkeys/
//     NAME.key, NAME.crt), adds the certificate to the trust store ca:NAME
//     and makes the key the default signing key;
//   - `notation sign --insecure-registry REF@DIGEST` signs with it (JWS by
//     default, --signature-format cose), as an OCI 1.1 referrer, through
//     the referrers tag schema on registries without the API (Debian's
//     docker-registry); --timestamp-url URL --timestamp-root-cert FILE adds
//     an RFC 3161 countersignature from that TSA;
//   - `notation verify --insecure-registry REF` checks the signatures
//     against Config/notation/trustpolicy.json (TrustPolicy writes it) and
//     the trust stores (`notation cert add --type ca|tsa --store NAME FILE`).
type NotationCLI struct {
	Bin    string
	Home   string
	Config string // XDG_CONFIG_HOME; notation's own directory is Config/notation

	t testing.TB
}

// Notation builds notation once (see goTool; $HULL_NOTATION names a binary
// to use instead) and returns it with a fresh configuration directory.
func Notation(t testing.TB) *NotationCLI {
	t.Helper()
	home := t.TempDir()
	n := &NotationCLI{Bin: notationTool.path(t), Home: home, Config: filepath.Join(home, "config"), t: t}
	if err := os.MkdirAll(filepath.Join(n.Config, "notation"), 0o700); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *NotationCLI) env() []string {
	env := []string{"HOME=" + n.Home, "XDG_CONFIG_HOME=" + n.Config}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "DOCKER_CONFIG", "NOTATION_EXPERIMENTAL":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Run runs notation with args and returns its output; the error, if any,
// carries the output too.
func (n *NotationCLI) Run(args ...string) (string, error) {
	n.t.Helper()
	stdout, stderr, err := runErr(n.env(), n.Bin, args...)
	out := stdout + stderr
	if err != nil {
		return out, &cliError{cmd: "notation " + strings.Join(args, " "), err: err, out: out}
	}
	return out, nil
}

// MustRun is Run that fails the test on an error.
func (n *NotationCLI) MustRun(args ...string) string {
	n.t.Helper()
	out, err := n.Run(args...)
	if err != nil {
		n.t.Fatal(err)
	}
	return out
}

// TrustPolicy writes notation's trust policy (trustpolicy.json).
func (n *NotationCLI) TrustPolicy(json string) {
	n.t.Helper()
	if err := os.WriteFile(filepath.Join(n.Config, "notation", "trustpolicy.json"), []byte(json), 0o600); err != nil {
		n.t.Fatal(err)
	}
}

type cliError struct {
	cmd string
	err error
	out string
}

func (e *cliError) Error() string { return e.cmd + ": " + e.err.Error() + "\n" + e.out }
