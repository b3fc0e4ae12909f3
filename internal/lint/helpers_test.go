package lint

import (
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/image"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// configHits runs the config check id on a configuration, as Run does:
// through subject, which masks it first.
func configHits(t *testing.T, id string, cfg *v1.ConfigFile) []Hit {
	t.Helper()
	for _, c := range All() {
		if c.ID == id {
			return c.Config(subject(&image.Image{Config: cfg}))
		}
	}
	t.Fatalf("no check %s", id)
	return nil
}

func TestHistorySecret(t *testing.T) {
	for cmd, want := range map[string]bool{
		"ENV API_TOKEN=abc123xyz":                                  false, // left to secret-env
		"ENV OTHER_TOKEN=abc123xyz":                                true,
		"ENV API_TOKEN=abc123xyz0":                                 true, // an earlier value
		"RUN /bin/sh -c curl -H 'x' --password=s3cr3t https://x":   true,
		"RUN /bin/sh -c curl -u me:s3cr3t https://x":               true,
		"RUN /bin/sh -c mysql -pS3cr3tS3cr3t db":                   true,
		"RUN /bin/sh -c git clone https://me:s3cr3t@example.com/r": true,
		"RUN |1 AWS_KEY=AKIAABCDEFGHIJKLMNOP /bin/sh -c true":      true,
		"RUN /bin/sh -c echo $PASSWORD":                            false,
		"RUN /bin/sh -c export PASSWORD=$DB_PASS":                  false,
		"ENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D":     false,
		"ENV PASSWORD_FILE=/run/secrets/pw":                        false,
		"RUN /bin/sh -c apt-get install -y keyboard-configuration": false,
		"RUN /bin/sh -c mkdir -p /app && cp -pr a b":               false,
	} {
		cfg := &v1.ConfigFile{Config: v1.Config{Env: []string{"API_TOKEN=abc123xyz"}}, History: []v1.History{{CreatedBy: cmd}}}
		if got := len(configHits(t, "secret-history", cfg)) > 0; got != want {
			t.Errorf("secret-history on %q = %v, want %v", cmd, got, want)
		}
	}
}

// Every check that quotes the configuration quotes it masked, every
// secret of a step, not only the first (issue 11, item 9).
func TestEvidenceIsMasked(t *testing.T) {
	gh := "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"
	planted := []string{gh, "Tr0ub4dor3xyz", "S3cretPassw0rd", "hunter2hunter2", "abcDEF123ghiJKL456", "tok2tok2tok2"}
	cfg := &v1.ConfigFile{
		Config: v1.Config{
			Env:    []string{"DB_PASSWORD=hunter2hunter2", "REPO=https://u:Tr0ub4dor3xyz@example.com"},
			Labels: map[string]string{"deploy.token": "tok2tok2tok2", "src": "https://u:Tr0ub4dor3xyz@example.com"},
		},
		History: []v1.History{
			{CreatedBy: "RUN /bin/sh -c curl -H 'Authorization: Bearer abcDEF123ghiJKL456' https://u:Tr0ub4dor3xyz@example.com/i.sh | sh # buildkit"},
			{CreatedBy: "ADD https://u:Tr0ub4dor3xyz@example.com/a.tgz /opt/ # buildkit"},
			{CreatedBy: "RUN /bin/sh -c apt-get update && mysql -pS3cretPassw0rd -e 'x' && echo " + gh + " # buildkit"},
			{CreatedBy: "RUN |1 API_TOKEN=tok2tok2tok2 /bin/sh -c echo API_TOKEN=tok2tok2tok2 " + gh + " # buildkit"},
		},
	}
	seen := map[string]int{}
	for _, c := range All() {
		if c.Config == nil {
			continue
		}
		for _, h := range configHits(t, c.ID, cfg) {
			seen[c.ID]++
			for _, p := range planted {
				if strings.Contains(h.Evidence, p) {
					t.Errorf("%s shows %q: %s", c.ID, p, h.Evidence)
				}
			}
		}
	}
	for _, id := range []string{"secret-env", "secret-label", "secret-history", "curl-pipe-shell", "remote-add", "update-alone"} {
		if seen[id] == 0 {
			t.Errorf("%s found nothing", id)
		}
	}
}

func TestShellHeuristics(t *testing.T) {
	for cmd, want := range map[string]bool{
		"apt-get update": true,
		"apt-get update && apt-get install -y curl": false,
		"apt update; apt upgrade -y":                false,
		"apk update":                                true,
		"echo update":                               false,
	} {
		if got := updateAlone(splitCommands(cmd)); got != want {
			t.Errorf("updateAlone(%q) = %v", cmd, got)
		}
	}
	for cmd, want := range map[string]bool{
		"apt-get install -y x":                                               true,
		"apt-get install -y x && rm -rf /var/lib/apt/lists/*":                false,
		"apt-get update && apt-get install x; rm -rf \"/var/lib/apt/lists\"": false,
		"make install": false,
	} {
		if got := aptListsLeft(splitCommands(cmd)); got != want {
			t.Errorf("aptListsLeft(%q) = %v", cmd, got)
		}
	}
	for cmd, want := range map[string]bool{
		"curl -fsSL https://x/install.sh | bash":       true,
		"wget -qO- https://x | sudo sh":                true,
		"curl -o x https://x && sha256sum -c x.sha256": false,
		"curl https://x | tar xz":                      false,
	} {
		if got := re().curlPipe.MatchString(cmd); got != want {
			t.Errorf("curl|sh (%q) = %v", cmd, got)
		}
	}
	for cmd, want := range map[string]bool{
		"/bin/sh -c #(nop) ADD file:abc in /": true,
		"ADD --chown=1 src /dst # buildkit":   true,
		"COPY src /dst # buildkit":            false,
		"RUN /bin/sh -c echo ADD me":          false,
	} {
		if got := isAdd(cmd); got != want {
			t.Errorf("isAdd(%q) = %v", cmd, got)
		}
	}
}

func TestCacheRoot(t *testing.T) {
	for p, want := range map[string]string{
		"/var/cache/apt/archives/a.deb":           "/var/cache/apt/archives",
		"/var/cache/apt/archives/lock":            "",
		"/var/lib/apt/lists/deb.debian.org_dists": "/var/lib/apt/lists",
		"/var/lib/apt/lists/lock":                 "",
		"/var/lib/apt/lists/partial/x":            "",
		"/home/app/.cache/pip/http/a/b":           "/home/app/.cache/pip",
		"/root/.npm/_cacache/index-v5/x":          "/root/.npm/_cacache",
		"/usr/lib/x":                              "",
	} {
		if got := cacheRoot(p); got != want {
			t.Errorf("cacheRoot(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestDecodeFileCaps(t *testing.T) {
	for in, want := range map[string]string{
		netRawCap: "cap_net_raw=ep",
		"\x00\x00\x00\x01\x00\x04\x00\x00\x00\x00\x00\x00":                                                 "cap_net_bind_service=p",
		"\x00\x00\x00\x03\x00\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00": "cap_sys_admin=p",
		"short":                          "malformed security.capability (5 bytes)",
		"\x00\x00\x00\x09garbagegarbage": "unknown security.capability revision 0x9",
	} {
		if got := decodeFileCaps([]byte(in)); got != want {
			t.Errorf("decodeFileCaps(%q) = %q, want %q", in, got, want)
		}
	}
}
