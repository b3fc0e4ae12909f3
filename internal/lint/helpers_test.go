package lint

import (
	"testing"
)

func TestHistorySecret(t *testing.T) {
	env := map[string]bool{"API_TOKEN=abc123xyz": true}
	for cmd, want := range map[string]bool{
		"ENV API_TOKEN=abc123xyz":                                  false, // left to secret-env
		"ENV OTHER_TOKEN=abc123xyz":                                true,
		"RUN /bin/sh -c curl -H 'x' --password=s3cr3t https://x":   true,
		"RUN |1 AWS_KEY=AKIAABCDEFGHIJKLMNOP /bin/sh -c true":      true,
		"RUN /bin/sh -c echo $PASSWORD":                            false,
		"RUN /bin/sh -c export PASSWORD=$DB_PASS":                  false,
		"ENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D":     false,
		"ENV PASSWORD_FILE=/run/secrets/pw":                        false,
		"RUN /bin/sh -c apt-get install -y keyboard-configuration": false,
	} {
		if got := historySecret(cmd, env) != ""; got != want {
			t.Errorf("historySecret(%q) = %v, want %v", cmd, got, want)
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
