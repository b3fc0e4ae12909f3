package cli

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	it "github.com/hull-sec/hull/internal/imagetest"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// No secret planted in an image's ENV, labels, history (several in one
// step, in every shape) or files shows in any output of any verb, in any
// format, on standard output, standard error or the --output file
// (issue 11, item 9).
func TestNoVerbPrintsAPlantedSecret(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	gh := "ghp_" + "Qw3rTy5uI7oP9aS1dF3gH5jK7lZ9xC1vB3nM"
	npm := "npm_" + "Zy9xW8vU7tS6rQ5pO4nM3lK2jI1hG0fE9dC8"
	planted := []string{gh, npm, "EnvPassw0rdValue", "LabelT0kenValue", "Tr0ub4dor3xyz", "MysqlS3cret",
		"FlagPassw0rd", "BearerT0kenXYZ123", "ArgS3cretValue", "CurlUs3rPass", "FileDbPassw0rd"}
	img := it.Image(t, v1.Config{
		Env:    []string{"PATH=/usr/bin", "DB_PASSWORD=EnvPassw0rdValue", "GIT_URL=https://ci:Tr0ub4dor3xyz@git.example.com/r.git", "GH=" + gh},
		Labels: map[string]string{"deploy.token": "LabelT0kenValue", "source": "https://ci:Tr0ub4dor3xyz@git.example.com/r.git"},
		Cmd:    []string{"/bin/sh", "-c", "mysql -pMysqlS3cret"},
	}, []string{
		"ADD https://ci:Tr0ub4dor3xyz@git.example.com/base.tgz / # buildkit",
		"ENV DB_PASSWORD=EnvPassw0rdValue",
		"RUN |1 API_SECRET=ArgS3cretValue /bin/sh -c apt-get update && mysql -uroot -pMysqlS3cret -e 'select 1' && echo " + gh + " # buildkit",
		"RUN /bin/sh -c curl -H 'Authorization: Bearer BearerT0kenXYZ123' -u me:CurlUs3rPass https://x.example.com/i.sh | sh # buildkit",
		"RUN /bin/sh -c tool --password FlagPassw0rd --token=" + npm + " # buildkit",
	}, it.Layer(t, it.Dir("app/", 0o755),
		it.File("app/config.yaml", "db_password: \"FileDbPassw0rd\"\ntoken: "+gh+"\n", 0o644),
		it.File("app/package.json", `{"name":"app","version":"1.0.0"}`, 0o644)))
	dir := t.TempDir()
	p := filepath.Join(dir, "img.tar")
	it.WriteDockerArchive(t, p, "example.com/app:1.0", img)
	ref := "docker-archive:" + p
	pol := filepath.Join(dir, "hull.yaml")
	if err := os.WriteFile(pol, []byte("apiVersion: hull.dev/v1\ntrust:\n  default: insecureAcceptAnything\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var runs [][]string
	for _, f := range []string{"table", "json", "sarif"} {
		runs = append(runs, []string{"lint", ref, "-f", f}, []string{"verify", "--policy", pol, ref, "-f", f})
	}
	for _, f := range []string{"table", "json", "sarif", "cyclonedx"} {
		runs = append(runs, []string{"scan", ref, "--scanners", "secret", "--no-cache", "-f", f})
	}
	for _, f := range []string{"table", "json", "cyclonedx", "spdx"} {
		runs = append(runs, []string{"sbom", ref, "--no-cache", "-f", f})
	}
	lintFindings := 0
	for i, args := range runs {
		out := filepath.Join(dir, "out", string(rune('a'+i)))
		if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
			t.Fatal(err)
		}
		for _, a := range [][]string{args, append(args, "--output", out)} {
			stdout, stderr, code := hull(t, a...)
			file, _ := os.ReadFile(out)
			all := stdout + stderr + string(file)
			if code == ExitUndecided && args[0] != "verify" {
				t.Errorf("hull %s: exit 2: %s", strings.Join(a, " "), stderr)
			}
			if args[0] == "lint" {
				lintFindings += strings.Count(all, "secret-history")
			}
			for _, s := range planted {
				if strings.Contains(all, s) {
					t.Errorf("hull %s shows %q", strings.Join(a, " "), s)
				}
			}
		}
	}
	if lintFindings == 0 {
		t.Error("lint reported no secret-history: the image does not test what it should")
	}
}

// TestNoSecretInNotesOrCache: a credential in a package database line
// that does not parse, and one in a large text file, reach neither any
// output of sbom or scan (where the inventory's notes are listed) nor
// the layer cache on disk, whose files are the user's alone.
func TestNoSecretInNotesOrCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	gh := "ghp_" + "Qw3rTy5uI7oP9aS1dF3gH5jK7lZ9xC1vB3nM"
	npm := "npm_" + "Zy9xW8vU7tS6rQ5pO4nM3lK2jI1hG0fE9dC8"
	img := it.Image(t, v1.Config{}, nil, it.Layer(t,
		it.File("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n", 0o644),
		it.File("var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n"+gh+"\n\n", 0o644),
		it.File("app/big.log", strings.Repeat(strings.Repeat("x", 99)+"\n", 100<<10)+"token: "+npm+"\n", 0o644)))
	p := filepath.Join(t.TempDir(), "img.tar")
	it.WriteDockerArchive(t, p, "example.com/notes:1", img)
	ref := "docker-archive:" + p
	var runs [][]string
	for _, f := range []string{"table", "json", "sarif", "cyclonedx"} {
		runs = append(runs, []string{"scan", ref, "--scanners", "secret", "-f", f})
	}
	for _, f := range []string{"table", "json", "cyclonedx", "spdx"} {
		runs = append(runs, []string{"sbom", ref, "-f", f})
	}
	found := 0
	for _, args := range runs {
		stdout, stderr, code := hull(t, args...)
		if code != ExitUndecided && args[0] == "sbom" {
			t.Errorf("hull %s: exit %d, want 2 (a package database line did not parse)", strings.Join(args, " "), code)
		}
		found += strings.Count(stdout, "secret-npm-token")
		for _, s := range []string{gh, npm} {
			if strings.Contains(stdout+stderr, s) {
				t.Errorf("hull %s shows %q", strings.Join(args, " "), s)
			}
		}
	}
	if found == 0 {
		t.Error("the secret in the large file was not reported")
	}
	files := 0
	err := filepath.WalkDir(filepath.Join(cache, "hull"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if fi.Mode().Perm() != 0o700 {
				t.Errorf("%s: mode %v", path, fi.Mode().Perm())
			}
			return nil
		}
		files++
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", path, fi.Mode().Perm())
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(zr)
		if err != nil {
			return err
		}
		for _, s := range []string{gh, npm} {
			if strings.Contains(string(data), s) {
				t.Errorf("the layer cache %s holds %q", path, s)
			}
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Errorf("layer cache: %d files, %v", files, err)
	}
}
