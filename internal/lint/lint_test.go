package lint

import (
	"archive/tar"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	it "github.com/hull-sec/hull/internal/imagetest"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const netRawCap = "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

const rsaKey = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----\n"

// badImage triggers every lint check exactly once. Hidden content (a
// whited-out key, a file under an opaque directory) must not count.
func badImage(t *testing.T) v1.Image {
	base := it.Layer(t,
		it.Dir("etc/", 0o755),
		it.File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1::/:/sbin/nologin\ntoor:x:0:0::/root:/bin/sh\n", 0o644),
		it.File("etc/group", "root:x:0:\ndaemon:x:1:\n", 0o644),
		it.File("etc/shadow", "root:*:19000:0:99999:7:::\nguest::19000:0:99999:7:::\n", 0o640),
		it.Dir("usr/", 0o755), it.Dir("usr/bin/", 0o755),
		it.File("usr/bin/passwd", "elf", 0o4755),
		it.Entry{Name: "usr/bin/ping", Body: "elf", Mode: 0o755, PAX: map[string]string{"SCHILY.xattr.security.capability": netRawCap}},
		it.File("usr/bin/sudo", "elf", 0o755),
		it.Dir("dev/", 0o755), it.Entry{Name: "dev/kmsg", Type: tar.TypeChar, Mode: 0o600, Major: 1, Minor: 11},
		it.Dir("tmp/", 0o1777), it.Dir("srv/", 0o755), it.Dir("srv/shared/", 0o777),
		it.Dir("opt/", 0o755), it.Dir("opt/tls/", 0o755), it.File("opt/tls/server.key", rsaKey, 0o600),
		it.Dir("opt/legacy/", 0o755), it.File("opt/legacy/settings.py", "SECRET_KEY = 'x'", 0o644),
		it.Dir("root/", 0o700), it.Dir("root/.docker/", 0o700),
		it.File("root/.docker/config.json", `{"auths":{"registry.example.com":{"auth":"dXNlcjpwYXNz"}}}`, 0o600),
		it.Dir("app/", 0o755), it.File("app/password.txt", "ask the vault", 0o644), it.File("app/old.pem", rsaKey, 0o644),
		it.Dir("app/.git/", 0o755), it.File("app/.git/HEAD", "ref: refs/heads/main\n", 0o644),
		it.Dir("var/", 0o755), it.Dir("var/cache/", 0o755), it.Dir("var/cache/apt/", 0o755), it.Dir("var/cache/apt/archives/", 0o755),
		it.File("var/cache/apt/archives/curl_8.0_amd64.deb", "deb", 0o644), it.File("var/cache/apt/archives/git_2.0_amd64.deb", "deb", 0o644),
	)
	top := it.Layer(t,
		it.File("app/.wh.old.pem", "", 0o644),
		it.Dir("opt/legacy/", 0o755), it.File("opt/legacy/.wh..wh..opq", "", 0o644), it.File("opt/legacy/README", "gone", 0o644),
	)
	cfg := v1.Config{
		Env:          []string{"PATH=/usr/bin:/bin", "DB_PASSWORD=hunter2hunter2"},
		Labels:       map[string]string{"maintainer": "ops@example.com", "api_token": "abcd1234efgh"},
		ExposedPorts: map[string]struct{}{"22/tcp": {}, "8080/tcp": {}},
		Volumes:      map[string]struct{}{"/etc": {}, "/data": {}},
	}
	history := []string{
		"/bin/sh -c #(nop) ADD file:4b03b5f5 in / ",
		"ADD app.tar /app # buildkit",
		"ADD https://example.com/tool.tgz /opt/ # buildkit",
		"RUN /bin/sh -c curl -sSL https://get.example.com | sh # buildkit",
		"RUN /bin/sh -c apt-get update # buildkit",
		"RUN /bin/sh -c apk add git # buildkit",
		"RUN /bin/sh -c apt-get dist-upgrade -y && rm -rf /var/lib/apt/lists/* # buildkit",
		"RUN /bin/sh -c sudo chown app /app # buildkit",
		"RUN |1 NPM_TOKEN=npm_abcdefghijklmnopqrstuvwxyz0123456789 /bin/sh -c npm ci # buildkit",
		"ENV DB_PASSWORD=hunter2hunter2",
	}
	return it.Image(t, cfg, history, base, top)
}

// cleanImage triggers no check.
func cleanImage(t *testing.T) v1.Image {
	base := it.Layer(t,
		it.Dir("etc/", 0o755),
		it.File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n", 0o644),
		it.File("etc/group", "root:x:0:\napp:x:1000:\n", 0o644),
		it.File("etc/shadow", "root:*:19000:0:99999:7:::\napp:!:19000:0:99999:7:::\n", 0o640),
		it.Dir("tmp/", 0o1777), it.Dir("usr/", 0o755), it.Dir("usr/bin/", 0o755), it.File("usr/bin/app", "elf", 0o755),
		it.Symlink("usr/bin/sh", "app"),
	)
	app := it.Layer(t, it.Dir("app/", 0o755), it.File("app/README.md", "docs", 0o644), it.File("app/config.yaml", "password_file: /run/secrets/db\n", 0o644))
	cfg := v1.Config{
		User:        "app",
		Env:         []string{"PATH=/usr/bin", "DB_PASSWORD_FILE=/run/secrets/db", "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D"},
		Healthcheck: &v1.HealthConfig{Test: []string{"CMD", "/usr/bin/app", "health"}},
		Labels:      map[string]string{"org.opencontainers.image.source": "https://example.com/app"},
	}
	history := []string{
		"/bin/sh -c #(nop) ADD file:4b03b5f5 in / ",
		"COPY app /app # buildkit",
		"RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* # buildkit",
		"RUN /bin/sh -c apk add --no-cache git # buildkit",
		"ARG VERSION=1.2.3",
	}
	return it.Image(t, cfg, history, base, app)
}

func lintArchive(t *testing.T, img v1.Image, tag string, o Options) *Result {
	t.Helper()
	p := filepath.Join(t.TempDir(), "img.tar")
	it.WriteDockerArchive(t, p, tag, img)
	im, err := image.Open(context.Background(), "docker-archive:"+p, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { im.Close() })
	res, err := Run(context.Background(), im, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestBadImageTriggersEveryCheckOnce(t *testing.T) {
	res := lintArchive(t, badImage(t), "example.com/bad:latest", Options{})
	count := map[string]int{}
	for _, f := range res.Findings {
		count[f.ID]++
	}
	for _, c := range All() {
		if count[c.ID] != 1 {
			t.Errorf("check %s: %d findings, want exactly 1", c.ID, count[c.ID])
		}
		delete(count, c.ID)
	}
	for id, n := range count {
		t.Errorf("finding from unknown check %s (%d)", id, n)
	}
	for _, f := range res.Findings {
		if strings.Contains(f.Evidence, "hunter2hunter2") || strings.Contains(f.Evidence, "abcdefghijklmnopqrstuvwxyz") || strings.Contains(f.Evidence, "abcd1234efgh") {
			t.Errorf("%s: evidence leaks the secret: %q", f.ID, f.Evidence)
		}
		if f.Location.Path == "/app/old.pem" || f.Location.Path == "/opt/legacy/settings.py" {
			t.Errorf("%s reported a file the merged image does not show: %s", f.ID, f.Location.Path)
		}
		if f.Location.Path != "" && (f.Location.Layer == "" || f.Location.LayerIndex < 0) {
			t.Errorf("%s: file finding without its layer: %+v", f.ID, f.Location)
		}
	}
	want := map[string]string{
		"file-capability": "cap_net_raw=ep",
		"package-cache":   "2 files",
		"duplicate-id":    "UID 0 is used by root and toor",
		"empty-password":  "user guest",
		"latest-tag":      "tag latest",
		"secret-env":      "DB_PASSWORD=",
	}
	for _, f := range res.Findings {
		if w, ok := want[f.ID]; ok && !strings.Contains(f.Evidence, w) {
			t.Errorf("%s evidence %q does not say %q", f.ID, f.Evidence, w)
		}
	}
}

func TestCleanImageTriggersNothing(t *testing.T) {
	res := lintArchive(t, cleanImage(t), "example.com/clean:1.0", Options{})
	for _, f := range res.Findings {
		t.Errorf("unexpected finding %s at %s%s: %s", f.ID, f.Location.Path, f.Location.Field, f.Evidence)
	}
	if len(res.Checks) != len(All()) {
		t.Errorf("%d check statuses for %d checks", len(res.Checks), len(All()))
	}
	for _, c := range res.Checks {
		if c.State != finding.StatePass {
			t.Errorf("check %s: state %s (%s)", c.ID, c.State, c.Reason)
		}
	}
}

func TestIgnoreAndUnknownIDs(t *testing.T) {
	res := lintArchive(t, badImage(t), "example.com/bad:latest", Options{Ignore: map[string]string{"root-user": "--ignore", "private-key": ""}})
	for _, f := range res.Findings {
		if f.ID == "root-user" || f.ID == "private-key" {
			t.Errorf("ignored check %s still reported", f.ID)
		}
	}
	skipped := 0
	for _, c := range res.Checks {
		if c.State == finding.StateSkip {
			skipped++
		}
	}
	if skipped != 2 {
		t.Errorf("%d checks skipped, want 2", skipped)
	}
	im := &image.Image{}
	if _, err := Run(context.Background(), im, Options{Ignore: map[string]string{"no-such-check": ""}}); err == nil || !strings.Contains(err.Error(), "no-such-check") {
		t.Errorf("unknown ignore ID: want an error naming it, got %v", err)
	}
}

func TestBrokenCheckIsReportedNotFatal(t *testing.T) {
	boom := Check{Rule: finding.Rule{ID: "boom", Title: "panics"}, Match: func(f *image.File) Want {
		if f.Path == "/etc/passwd" {
			panic("bad index")
		}
		return Skip
	}, File: func(*image.File, []byte) []Hit { return nil }}
	checks := append(fileChecks(), boom)
	res := lintArchive(t, cleanImage(t), "example.com/clean:1.0", Options{Checks: checks})
	i := slices.IndexFunc(res.Checks, func(c finding.CheckStatus) bool { return c.ID == "boom" })
	if i < 0 || res.Checks[i].State != finding.StateError || !strings.Contains(res.Checks[i].Reason, "bad index") {
		t.Fatalf("broken check status: %+v", res.Checks)
	}
}

func TestDirSourceSkipsConfigChecks(t *testing.T) {
	im, err := image.Open(context.Background(), "dir:"+t.TempDir(), image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	res, err := Run(context.Background(), im, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Checks {
		isConfig := slices.ContainsFunc(configChecks(), func(k Check) bool { return k.ID == c.ID })
		if isConfig != (c.State == finding.StateSkip) {
			t.Errorf("%s: state %s", c.ID, c.State)
		}
	}
}

func TestCheckIDsAreUniqueAndDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range All() {
		if seen[c.ID] {
			t.Errorf("duplicate check ID %s", c.ID)
		}
		seen[c.ID] = true
		if c.Title == "" || len(c.Doc) < 40 || c.Remediation == "" || c.Severity == finding.SeverityUnknown {
			t.Errorf("check %s lacks title, doc, remediation or severity", c.ID)
		}
		if (c.Config == nil) == (c.Match == nil || c.File == nil) {
			t.Errorf("check %s must set Config, or Match and File", c.ID)
		}
	}
}

// TestPaddedFileIsNotPassed: a content check never judges part of a file.
// An /etc/shadow padded past the content bound with a passwordless
// account at its end leaves empty-password in error, naming the file,
// instead of passing on the first MiB.
func TestPaddedFileIsNotPassed(t *testing.T) {
	var pad strings.Builder
	for i := 0; pad.Len() <= 1<<20; i++ {
		fmt.Fprintf(&pad, "user%d:*:19000:0:99999:7:::\n", i)
	}
	img := it.Image(t, v1.Config{}, nil, it.Layer(t, it.Dir("etc/", 0o755),
		it.File("etc/shadow", "root:*:19000:0:99999:7:::\n"+pad.String()+"backdoor::19000:0:99999:7:::\n", 0o640)))
	res := lintArchive(t, img, "example.com/padded:1", Options{})
	i := slices.IndexFunc(res.Checks, func(c finding.CheckStatus) bool { return c.ID == "empty-password" })
	if i < 0 || res.Checks[i].State != finding.StateError || !strings.Contains(res.Checks[i].Reason, "/etc/shadow") {
		t.Errorf("empty-password: %+v", res.Checks[i])
	}
}
