package secrets

import (
	"strings"
	"testing"
)

// Every credential in a text is masked, not only the first, whatever
// shape or place it has; what is no credential is left as it was.
func TestMaskHidesEveryCredential(t *testing.T) {
	gh := "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"
	npm := "npm_" + "Zy9xW8vU7tS6rQ5pO4nM3lK2jI1hG0fE9dC8"
	for _, tc := range []struct {
		text    string
		secrets []string
	}{
		{"RUN git clone https://" + gh + "@github.com/x/y && echo //r/:_authToken=" + npm + " > .npmrc", []string{gh, npm}},
		{"RUN curl https://deploy:Tr0ub4dor3xyz@repo.example.com/a.tgz | sh", []string{"Tr0ub4dor3xyz"}},
		{"RUN mysql -uroot -pS3cretPassw0rd -e 'select 1' && mysqldump -p'An0therOne!' db", []string{"S3cretPassw0rd", "An0therOne!"}},
		{"RUN tool --password hunter2hunter2 --api-key=Kq8vZr2Lm4Tx9Kp3", []string{"hunter2hunter2", "Kq8vZr2Lm4Tx9Kp3"}},
		{`RUN curl -H "Authorization: Bearer abcDEF123ghiJKL456" -H 'X-Api-Key: zzTOPsecret99' https://api`, []string{"abcDEF123ghiJKL456", "zzTOPsecret99"}},
		{"RUN |2 DB_PASSWORD=pw1pw1pw1 API_TOKEN=tok2tok2 /bin/sh -c make", []string{"pw1pw1pw1", "tok2tok2"}},
		{"ENV DB_PASSWORD my secret pass phrase", []string{"my secret pass phrase", "secret pass phrase"}},
		{"RUN echo '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAsecretbody\n-----END RSA PRIVATE KEY-----' > k", []string{"MIIEpAIBAAKCAQEAsecretbody"}},
		{`RUN echo '{"password": "shortpw", "api_key":"k3yk3y"}' > /etc/app.json`, []string{"shortpw", "k3yk3y"}},
		{"RUN BYPASS_TOKEN=byp4ssT0ken9 make", []string{"byp4ssT0ken9"}},
		{"RUN docker login -p Pa55w0rdPa55 -u me reg && sshpass -p 'sshSecret1' ssh h && redis-cli -a redisPW123 ping && curl -u me:curlPW999 https://x", []string{"Pa55w0rdPa55", "sshSecret1", "redisPW123", "curlPW999"}},
	} {
		m := Mask(tc.text)
		for _, s := range tc.secrets {
			if strings.Contains(m.Text, s) {
				t.Errorf("Mask(%q) = %q: shows %q", tc.text, m.Text, s)
			}
		}
		if strings.Contains(m.Text, "Bearer") != strings.Contains(tc.text, "Bearer") {
			t.Errorf("Mask(%q) = %q: the scheme of an Authorization header is no secret", tc.text, m.Text)
		}
		if len(m.Found) < 1 {

			t.Errorf("Mask(%q): nothing found", tc.text)
		}
	}
	for _, text := range []string{
		"RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*",
		"RUN mkdir -p /app && cp -pr a b && docker run -p 8080:80 x",
		"RUN export PASSWORD=$DB_PASS && echo ${TOKEN}",
		"ENV PASSWORD_FILE=/run/secrets/pw",
		"ENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
		"ADD https://example.com/a.tgz /",
		"ssh://git@github.com/x/y",
		"RUN --mount=type=secret,id=npm_token,target=/root/.npmrc npm ci # buildkit",
		"ENV GPG_KEY 0D96DF4D4110E5C43FBFB17F2D347EA6AA65421D",
		"ENV NODE_OPTIONS=--max-old-space-size=4096",
		"ARG GITHUB_TOKEN",
		"RUN /bin/sh -c ssh-keyscan github.com >> ~/.ssh/known_hosts",
		`LABEL org.opencontainers.image.authors="Jane <jane@example.com>"`,
		"RUN /bin/sh -c curl -fsSL https://deb.nodesource.com/setup_20.x | bash -",
		// Words that hold "pass" without being a password, and values that
		// say there is none (hull audit's own evidence reads like this).
		"CVE-2024-29018 (bypass: containers on --internal networks reach outside)",
		"RUN tool --passthrough=stdin --passive: yes && compass: north",
		"Plugins.Authorization: none",
		"RUN DB_PASSWORD=none API_TOKEN=null make",
	} {
		if m := Mask(text); m.Text != text || len(m.Found) != 0 {
			t.Errorf("Mask(%q) = %q, %d found; want it unchanged", text, m.Text, len(m.Found))
		}
	}
}

// A setting whose name says secret is masked whole; another only where a
// credential shows; the same value under the same name is recognised.
func TestMaskValue(t *testing.T) {
	if m := MaskValue("DB_PASSWORD", "two words"); strings.Contains(m.Text, "words") || len(m.Found) != 1 {
		t.Errorf("secret-named: %q %v", m.Text, m.Found)
	}
	if m := MaskValue("PATH", "/usr/bin"); m.Text != "/usr/bin" || len(m.Found) != 0 {
		t.Errorf("plain: %q %v", m.Text, m.Found)
	}
	url := "https://u:p4ssw0rdXYZ@db.example.com"
	if m := MaskValue("DATABASE_URL", url); strings.Contains(m.Text, "p4ssw0rdXYZ") || len(m.Found) != 1 {
		t.Errorf("URL: %q %v", m.Text, m.Found)
	}
	a, b := MaskValue("DB_PASSWORD", "hunter2hunter2"), Mask("ENV DB_PASSWORD=hunter2hunter2")
	if len(a.Found) != 1 || len(b.Found) != 1 || !a.Found[0].SameValue(b.Found[0]) {
		t.Errorf("the same setting is not recognised: %+v %+v", a.Found, b.Found)
	}
	if c := MaskValue("DB_PASSWORD", "hunter3hunter3"); c.Found[0].SameValue(b.Found[0]) {
		t.Error("another value is taken for the same")
	}
}

func TestRedactHidesLength(t *testing.T) {
	if a, b := Redact("abcdefgh"), Redact("abcdefghijklmnopqrstuvwxyz"); strings.Count(a, "*") != 8 || strings.Count(b, "*") != 8 || strings.Contains(b, "efg") {
		t.Errorf("Redact: %q %q", a, b)
	}
	if Redact("hunter2") != "h********" {
		t.Errorf("Redact(short) = %q", Redact("hunter2"))
	}
}

func FuzzMask(f *testing.F) {
	f.Add("RUN mysql -pX curl -u a:b https://u:p@h Authorization: Bearer t PASSWORD=x -----BEGIN PRIVATE KEY-----")
	f.Fuzz(func(t *testing.T, text string) {
		m := Mask(text)
		if len(m.Found) == 0 && m.Text != text {
			t.Fatalf("changed without a finding: %q -> %q", text, m.Text)
		}
	})
}
