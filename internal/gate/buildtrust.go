package gate

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hull-sec/hull/internal/image"
)

// maxContext bounds the build context the gate reads with a trust
// policy; maxBuildImages the images of its Dockerfile the gate verifies.
const (
	maxContext     = 256 << 20
	maxBuildImages = 64
)

// pinBuild, with a trust policy, makes a classic build pull only
// verified base images: it reads the context the client uploads (at
// most maxContext bytes, spooled to an unlinked temp file), finds the
// Dockerfile the build reads in it, resolves the tag of each image its
// FROM and COPY --from lines name at the registry (with the client's
// X-Registry-Config credentials), verifies the digest as a pull's
// (verifyRef), and forwards the context with the Dockerfile naming each
// image by its verified repo@digest. The rewritten Dockerfile is read
// again and must name exactly the verified references.
func (g *Gate) pinBuild(r *http.Request, d decision, q url.Values) decision {
	for _, k := range []string{"dockerfile", "buildargs"} {
		if len(q[k]) > 1 {
			return refuse(d.op, "%s: the parameter %s is given more than once", d.op, k)
		}
	}
	var args map[string]*string
	if s := q.Get("buildargs"); s != "" {
		if err := CheckJSON([]byte(s)); err != nil {
			return refuse(d.op, "%s: buildargs: %v", d.op, err)
		}
		if err := json.Unmarshal([]byte(s), &args); err != nil {
			return refuse(d.op, "%s: buildargs is not a map of names to values: %v", d.op, err)
		}
	}
	kc, err := configKeychain(r.Header.Values("X-Registry-Config"))
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	in, err := spool(r.Body)
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	keep := false
	defer func() {
		if !keep {
			in.Close()
		}
	}()
	dfName, src, err := findDockerfile(in, q.Get("dockerfile"))
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	p, err := parseDockerfile(src, args)
	if err != nil {
		return refuse(d.op, "%s: %s: %v", d.op, dfName, err)
	}
	if len(p.images) > maxBuildImages {
		return refuse(d.op, "%s: %s names more than %d images to verify", d.op, dfName, maxBuildImages)
	}
	var pinned []string
	for _, img := range p.images {
		pr, err := fromRef(img.ref)
		if err != nil {
			return refuse(d.op, "%s: %s: %v", d.op, dfName, err)
		}
		v := g.verifyRef(r.Context(), d, pr, kc)
		if v.refusal != "" {
			return v
		}
		if !img.copyFrom {
			if err := g.checkOnbuild(r.Context(), v.image, kc, p.stages[:img.stage]); err != nil {
				return refuse(d.op, "%s: the base image %s: %v", d.op, v.image, err)
			}
		}
		pinned = append(pinned, v.image)
	}
	if len(pinned) == 0 {
		// Nothing is pulled: the context the client sent is forwarded.
		if _, err := in.Seek(0, io.SeekStart); err != nil {
			return refuse(d.op, "%s: %v", d.op, err)
		}
		st, err := in.Stat()
		if err != nil {
			return refuse(d.op, "%s: %v", d.op, err)
		}
		keep = true
		d.upload, d.uploadLen = in, st.Size()
		return d
	}
	out, n, err := pinContext(in, dfName, pinDockerfile(src, p, pinned))
	if err != nil {
		return refuse(d.op, "%s: pin the base images: %v", d.op, err)
	}
	// What the engine will read must name exactly what was verified.
	_, got, err := findDockerfile(out, dfName)
	if err == nil {
		var pp dfParsed
		if pp, err = parseDockerfile(got, args); err == nil && !slices.Equal(refsOf(pp), pinned) {
			err = fmt.Errorf("it names %s, not %s", strings.Join(refsOf(pp), ", "), strings.Join(pinned, ", "))
		}
	}
	if err == nil {
		_, err = out.Seek(0, io.SeekStart)
	}
	if err != nil {
		out.Close()
		return refuse(d.op, "%s: the Dockerfile with its base images pinned: %v", d.op, err)
	}
	d.upload, d.uploadLen, d.image = out, n, strings.Join(pinned, " ")
	return d
}

func refsOf(p dfParsed) []string {
	var out []string
	for _, img := range p.images {
		out = append(out, img.ref)
	}
	return out
}

// fromRef reads an image a Dockerfile names as dockerd does: no tag and
// no digest means latest.
func fromRef(ref string) (pullRef, error) {
	base, _, hasDig := strings.Cut(ref, "@")
	t, err := name.NewTag(base, name.WithDefaultTag(""))
	if err != nil {
		return pullRef{}, fmt.Errorf("the image %q is not a reference the gate can judge: %v", ref, err)
	}
	tag := ""
	if !hasDig && t.TagStr() == "" {
		tag = "latest"
	}
	return parsePull(ref, tag)
}

// tempFile is an unlinked temp file of mode 0600: gone once closed.
func tempFile() (*os.File, error) {
	f, err := os.CreateTemp("", "hull-build-*")
	if err != nil {
		return nil, fmt.Errorf("spool the build context: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool the build context: %w", err)
	}
	return f, nil
}

// spool copies the context body to a temp file, refusing more than
// maxContext bytes.
func spool(body io.Reader) (*os.File, error) {
	f, err := tempFile()
	if err != nil {
		return nil, err
	}
	n, err := io.Copy(f, io.LimitReader(body, maxContext+1))
	switch {
	case err != nil:
		err = fmt.Errorf("read the build context: %w", err)
	case n > maxContext:
		err = fmt.Errorf("the build context is larger than %d MiB, the most the gate reads to verify the base images with a trust policy: make it smaller (.dockerignore)", maxContext>>20)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// contextTar returns a tar reader of the context in f from its start,
// as dockerd reads it: plain or gzip (the docker CLI's --compress);
// other compressions are refused.
func contextTar(f *os.File) (*tar.Reader, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	magic, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("the gzipped build context: %w", err)
		}
		return tar.NewReader(zr), nil
	case bytes.HasPrefix(magic, []byte("BZh")), bytes.HasPrefix(magic, []byte("\xfd7zXZ\x00")),
		bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return nil, errors.New("the build context is compressed with bzip2, xz or zstd, which the gate does not read: send it plain or gzipped")
	}
	return tar.NewReader(br), nil
}

// cleanName is a tar entry's name (or the dockerfile parameter) as the
// context's root-relative path it extracts to.
func cleanName(s string) string {
	return strings.TrimPrefix(path.Clean("/"+s), "/")
}

// findDockerfile returns the name and the content of the Dockerfile a
// classic build of the context in f reads: the dockerfile parameter
// want, by default Dockerfile, or dockerfile when there is no
// Dockerfile. It must be one regular file, reached through no symbolic
// link.
func findDockerfile(f *os.File, want string) (string, []byte, error) {
	if want == "" {
		want = "Dockerfile"
	}
	want = cleanName(want)
	names := []string{want}
	if want == "Dockerfile" {
		names = append(names, "dockerfile")
	}
	found := map[string][]byte{}
	tr, err := contextTar(f)
	if err != nil {
		return "", nil, err
	}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", nil, fmt.Errorf("the build context is not a tar archive the gate can read: %w", err)
		}
		n := cleanName(hdr.Name)
		for _, w := range names {
			if strings.HasPrefix(w, n+"/") && hdr.Typeflag != tar.TypeDir {
				return "", nil, fmt.Errorf("the build context reaches %s through %s, which is not a directory", w, hdr.Name)
			}
			if strings.HasPrefix(n, w+"/") {
				return "", nil, fmt.Errorf("the build context has %s, so %s is a directory", hdr.Name, w)
			}
			if n != w {
				continue
			}
			if hdr.Typeflag != tar.TypeReg {
				return "", nil, fmt.Errorf("the build context's %s is not a regular file", w)
			}
			if _, dup := found[w]; dup {
				return "", nil, fmt.Errorf("the build context has %s twice", w)
			}
			if hdr.Size > maxDockerfile {
				return "", nil, fmt.Errorf("the build context's %s is larger than %d bytes", w, maxDockerfile)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return "", nil, fmt.Errorf("read %s from the build context: %w", w, err)
			}
			found[w] = b
		}
	}
	for _, w := range names {
		if b, ok := found[w]; ok {
			return w, b, nil
		}
	}
	return "", nil, fmt.Errorf("the build context has no %s", want)
}

// pinContext writes the context of in to a new temp file, plain, with
// the Dockerfile dfName's content replaced by df, and returns it at its
// start with its size.
func pinContext(in *os.File, dfName string, df []byte) (*os.File, int64, error) {
	tr, err := contextTar(in)
	if err != nil {
		return nil, 0, err
	}
	out, err := tempFile()
	if err != nil {
		return nil, 0, err
	}
	fail := func(err error) (*os.File, int64, error) {
		out.Close()
		return nil, 0, err
	}
	bw := bufio.NewWriter(out)
	tw := tar.NewWriter(bw)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(err)
		}
		body := io.Reader(tr)
		if cleanName(hdr.Name) == dfName {
			hdr.Size, body = int64(len(df)), bytes.NewReader(df)
			delete(hdr.PAXRecords, "size")
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fail(err)
		}
		if _, err := io.Copy(tw, body); err != nil {
			return fail(err)
		}
	}
	if err := errors.Join(tw.Close(), bw.Flush()); err != nil {
		return fail(err)
	}
	n, err := out.Seek(0, io.SeekCurrent)
	if err != nil {
		return fail(err)
	}
	return out, n, nil
}

// configKeychain reads the client's registry credentials for a build
// from its X-Registry-Config header (base64url JSON mapping each
// registry, as the docker CLI names it, to its credentials): a registry
// gets the entry dockerd would use (the key that is its name, else the
// one key whose host is), none means anonymous, never the gate's own.
func configKeychain(values []string) (authn.Keychain, error) {
	if len(values) > 1 {
		return nil, errors.New("the X-Registry-Config header is given more than once")
	}
	cfg := map[string]registryAuth{}
	if len(values) == 1 && values[0] != "" {
		if err := decodeAuthHeader("X-Registry-Config", values[0], &cfg); err != nil {
			return nil, err
		}
	}
	return configAuth(cfg), nil
}

// configAuth is a keychain of X-Registry-Config's entries.
type configAuth map[string]registryAuth

func (c configAuth) Resolve(res authn.Resource) (authn.Authenticator, error) {
	reg := res.RegistryStr()
	keys := []string{reg}
	if reg == name.DefaultRegistry {
		keys = append(keys, "https://index.docker.io/v1/", "docker.io")
	}
	for _, k := range keys {
		if a, ok := c[k]; ok {
			return a.authenticator(), nil
		}
	}
	var match []string
	for k := range c {
		h := strings.TrimPrefix(strings.TrimPrefix(k, "http://"), "https://")
		h, _, _ = strings.Cut(h, "/")
		if h == reg {
			match = append(match, k)
		}
	}
	switch len(match) {
	case 0:
		return authn.Anonymous, nil
	case 1:
		return c[match[0]].authenticator(), nil
	}
	slices.Sort(match)
	return nil, fmt.Errorf("the X-Registry-Config header has more than one entry for %s (%s)", reg, strings.Join(match, ", "))
}

// maxPlatforms bounds the images of an index checkOnbuild reads;
// maxImageConfig the config of each (as image.Open bounds one).
const (
	maxPlatforms   = 64
	maxImageConfig = 4 << 20
)

// checkOnbuild returns an error when the verified base image ref (every
// platform's image, for an index) has an ONBUILD trigger that copies
// from an image: the builder runs the trigger in the stage ref begins,
// and would pull that image itself, unverified. A --from naming one of
// stages, the build's stages before this one, copies from a stage.
func (g *Gate) checkOnbuild(ctx context.Context, ref string, kc authn.Keychain, stages []string) error {
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	o := g.opts.Registry
	o.Keychain = kc
	res, err := image.Resolve(ctx, ref, o)
	if err != nil {
		return fmt.Errorf("read its ONBUILD triggers: %w", err)
	}
	opts := o.RemoteOptions(ctx)
	dig := res.Name.Digest(res.Digest.String())
	var imgs []v1.Image
	if res.Descriptor.MediaType.IsIndex() {
		idx, err := remote.Index(dig, opts...)
		if err != nil {
			return fmt.Errorf("read its ONBUILD triggers: %w", err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return fmt.Errorf("read its ONBUILD triggers: %w", err)
		}
		if len(im.Manifests) > maxPlatforms {
			return fmt.Errorf("its index has more than %d manifests", maxPlatforms)
		}
		for _, m := range im.Manifests {
			if m.Platform != nil && m.Platform.OS == "unknown" { // attestation manifests
				continue
			}
			if !m.MediaType.IsImage() {
				return fmt.Errorf("its index holds a %s, not an image", m.MediaType)
			}
			img, err := idx.Image(m.Digest)
			if err != nil {
				return fmt.Errorf("read its ONBUILD triggers: %w", err)
			}
			imgs = append(imgs, img)
		}
	} else {
		img, err := remote.Image(dig, opts...)
		if err != nil {
			return fmt.Errorf("read its ONBUILD triggers: %w", err)
		}
		imgs = append(imgs, img)
	}
	for _, img := range imgs {
		// The config is read as hull reads a registry image's (image.Open):
		// whole within the timeout and at most maxImageConfig bytes;
		// go-containerregistry would read as much as the manifest says.
		m, err := img.Manifest()
		if err != nil {
			return fmt.Errorf("read its ONBUILD triggers: %w", err)
		}
		raw, err := image.ReadBlob(ctx, res.Name, m.Config, maxImageConfig, opts)
		if err != nil {
			return fmt.Errorf("read its ONBUILD triggers: config %s: %w", m.Config.Digest, err)
		}
		cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("read its ONBUILD triggers: %w", err)
		}
		for _, tr := range cf.Config.OnBuild {
			words := strings.Fields(tr)
			if len(words) == 0 || !strings.EqualFold(words[0], "copy") {
				continue
			}
			from, err := parseCopyFrom(words, 0, stages)
			if err != nil {
				return fmt.Errorf("its ONBUILD trigger %s: %w", tr, err)
			}
			if from.ref != "" {
				return fmt.Errorf("it has an ONBUILD trigger that copies from another image (%s), which the build would pull unverified", tr)
			}
		}
	}
	return nil
}
