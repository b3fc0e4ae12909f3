package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Options tune Open. The zero value is usable.
type Options struct {
	// Platform picks an image out of a multi-platform index;
	// default linux/GOARCH.
	Platform *v1.Platform
	// InsecureRegistries are spoken to over plain HTTP only, as
	// notation's --insecure-registry and oras' --plain-http do: no TLS
	// attempt first. Loopback registries are tried with TLS, then plain
	// HTTP; nothing else may use plain HTTP.
	InsecureRegistries []string
	// Keychain resolves registry credentials; default reads
	// ~/.docker/config.json and its credential helpers.
	Keychain authn.Keychain
	// Transport is the base HTTP transport for registries.
	Transport http.RoundTripper
	// Timeout bounds each registry and engine operation: an answer must
	// begin within it, metadata (manifests, configs, signatures, tokens)
	// must arrive whole within it, and a layer may never wait longer for
	// its next bytes. Default DefaultTimeout.
	Timeout time.Duration
	// Getenv reads DOCKER_HOST, CONTAINER_HOST and XDG_RUNTIME_DIR;
	// default os.Getenv.
	Getenv func(string) string
	// TempDir holds daemon exports and unpacked archives; default os.TempDir.
	TempDir string
	Limits  Limits

	// puller, when set by Shared, carries connections and registry
	// tokens from one registry call to the next.
	puller *remote.Puller
}

// Image is an opened image: a v1.Image plus what hull reads of it once.
type Image struct {
	v1.Image
	Ref Ref
	// Tag is the tag the image was reached by or recorded under (a
	// registry or engine tag, an archive's RepoTags, a layout's ref
	// name); "" when there is none.
	Tag string
	// ByDigest is true when the reference pinned a manifest digest.
	ByDigest bool
	// ID is the digest of the config blob, Docker's image ID; zero for a
	// dir: source, which has no config.
	ID      v1.Hash
	Config  *v1.ConfigFile
	DiffIDs []v1.Hash
	layers  []v1.Layer
	// sizeHints are the stored (usually compressed) size of each layer,
	// 0 when unknown. They bound the decompression ratio and order the
	// parallel reads of Visit.
	sizeHints []int64
	// archive locates layers inside a docker archive; nil otherwise.
	archive *archiveIndex
	// dir is the root of a dir: source, whose one layer is the tree.
	dir     string
	limits  Limits
	cleanup []func() error
}

// Close releases temporary files held for the image.
func (im *Image) Close() error {
	var errs []error
	for _, c := range slices.Backward(im.cleanup) {
		errs = append(errs, c())
	}
	im.cleanup = nil
	return errors.Join(errs...)
}

// Open parses ref and opens the image it names.
func Open(ctx context.Context, ref string, o Options) (*Image, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	im, err := OpenRef(ctx, r, o)
	if err != nil {
		return nil, fmt.Errorf("open image %q: %w%s", ref, err, localHint(ref, r))
	}
	return im, nil
}

// localHint is what to write instead when a registry reference that
// failed names a file or directory here ("app.tar" is read as
// docker.io/library/app.tar), or "".
func localHint(ref string, r Ref) string {
	if r.Kind != KindRegistry {
		return ""
	}
	fi, err := os.Stat(ref)
	switch {
	case err != nil:
		return ""
	case fi.IsDir():
		return fmt.Sprintf(" (%s is a directory here: an OCI layout opens as oci:%s, a root filesystem as dir:%s)", ref, ref, ref)
	}
	return fmt.Sprintf(" (%s is a file here: a 'docker save' tarball opens as docker-archive:%s, an OCI archive as oci-archive:%s)", ref, ref, ref)
}

// OpenRef opens the image r names.
func OpenRef(ctx context.Context, r Ref, o Options) (*Image, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	im := &Image{Ref: r, limits: o.Limits.orDefault()}
	var err error
	switch r.Kind {
	case KindRegistry:
		err = im.openRegistry(ctx, o)
	case KindDockerArchive:
		err = im.openDockerArchive(r.Path)
	case KindOCIArchive:
		err = im.openOCIArchive(ctx, o)
	case KindOCILayout:
		err = im.openLayout(r.Path, r.Name, o)
	case KindDockerDaemon, KindPodman:
		err = im.openDaemon(ctx, o)
	case KindDir:
		err = im.openDir(r.Path)
	default:
		err = fmt.Errorf("%w: unknown kind %q", ErrBadRef, r.Kind)
	}
	if err == nil {
		err = im.load()
	}
	if err == nil {
		err = im.checkPlatform(o)
	}
	if err != nil {
		return nil, errors.Join(err, im.Close())
	}
	return im, nil
}

// load reads the config and layer list once and checks they agree.
func (im *Image) load() error {
	id, err := im.ConfigName()
	if err != nil {
		return fmt.Errorf("config digest: %w", err)
	}
	raw, err := im.RawConfigFile()
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	if im.dir == "" {
		// A layout's blobs are read as named; a config that is not what
		// its digest says would show hull another image than an engine,
		// which checks, would accept.
		if err := checkDigest("config", raw, id); err != nil {
			return err
		}
	}
	// Parsed from the bytes just checked: asking the image again would
	// read a layout's config file a second time, and could parse other
	// bytes than those whose digest was checked.
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	// A docker archive's layers are read in place through its index;
	// asking go-containerregistry for them would first hash every layer
	// to make up the manifest the archive does not have.
	n := 0
	if im.archive != nil {
		n = len(im.archive.layers)
	} else {
		if im.layers, err = im.Layers(); err != nil {
			return fmt.Errorf("list layers: %w", err)
		}
		n = len(im.layers)
	}
	if n != len(cfg.RootFS.DiffIDs) {
		return fmt.Errorf("image has %d layers but its config lists %d diff IDs", n, len(cfg.RootFS.DiffIDs))
	}
	im.ID, im.Config, im.DiffIDs = id, cfg, cfg.RootFS.DiffIDs
	if im.dir != "" {
		// A directory has no config to name it and one virtual layer.
		im.ID, im.DiffIDs = v1.Hash{}, []v1.Hash{{}}
	}
	if len(im.sizeHints) != len(im.DiffIDs) {
		im.sizeHints = make([]int64, len(im.DiffIDs))
	}
	return nil
}

// setTag records the tag or digest a reference names.
func (im *Image) setTag(ref name.Reference) {
	switch r := ref.(type) {
	case name.Tag:
		im.Tag = r.TagStr()
	case name.Digest:
		im.ByDigest = true
	}
}

func (o Options) platform() v1.Platform {
	if o.Platform != nil {
		return *o.Platform
	}
	return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
}

func (im *Image) openRegistry(ctx context.Context, o Options) error {
	ref, err := parseRegistryRef(im.Ref.Name, o)
	if err != nil {
		return err
	}
	im.setTag(ref)
	img, err := remoteImage(ref, o.platform(), o.RemoteOptions(ctx))
	if err != nil {
		return err
	}
	m, err := im.useManifest(img)
	if err != nil {
		return err
	}
	// The config is read here, whole within the timeout and no larger
	// than its descriptor says; go-containerregistry would read it as it
	// reads a layer.
	raw, err := ReadBlob(ctx, ref.Context(), m.Config, maxMetadataBytes, o.RemoteOptions(ctx))
	if err != nil {
		return fmt.Errorf("read config %s: %w", m.Config.Digest, err)
	}
	im.Image = &fetchedConfig{Image: img, raw: raw}
	return nil
}

// remoteImage opens the image ref names, choosing from an index (and
// from indexes nested up to four deep) the image for platform p as an
// engine would.
func remoteImage(ref name.Reference, p v1.Platform, opts []remote.Option) (v1.Image, error) {
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, err
	}
	if !desc.MediaType.IsIndex() {
		return desc.Image()
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	for depth := 0; ; depth++ {
		if depth > 4 {
			return nil, errors.New("indexes nested too deep")
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		d, err := choosePlatform(im.Manifests, p)
		if err != nil {
			return nil, err
		}
		if !d.MediaType.IsIndex() {
			return idx.Image(d.Digest)
		}
		if idx, err = idx.ImageIndex(d.Digest); err != nil {
			return nil, err
		}
	}
}

// fetchedConfig is a registry image whose config hull read itself.
type fetchedConfig struct {
	v1.Image
	raw []byte
}

func (f *fetchedConfig) RawConfigFile() ([]byte, error) { return f.raw, nil }

func (f *fetchedConfig) ConfigFile() (*v1.ConfigFile, error) {
	return v1.ParseConfigFile(bytes.NewReader(f.raw))
}

// useManifest takes img and the stored layer sizes its manifest lists,
// refusing sizes no honest manifest has: negative (a reader would then
// read without end) or beyond the limits.
func (im *Image) useManifest(img v1.Image) (*v1.Manifest, error) {
	im.Image = img
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	if n := m.Config.Size; n < 0 || n > maxMetadataBytes {
		return nil, fmt.Errorf("%w: the manifest says its config is %d bytes (at most %d)", ErrTooLarge, n, maxMetadataBytes)
	}
	for i, l := range m.Layers {
		if l.Size < 0 || l.Size > im.limits.MaxLayerBytes {
			return nil, fmt.Errorf("%w: the manifest says layer %d is %d bytes (at most %d)", ErrTooLarge, i, l.Size, im.limits.MaxLayerBytes)
		}
		im.sizeHints = append(im.sizeHints, l.Size)
	}
	return m, nil
}

// plainHTTPGuard refuses plain HTTP to any registry that is neither on
// loopback nor listed as insecure (go-containerregistry would otherwise
// speak HTTP to every RFC 1918 address), and TLS to a listed one, which
// makes go-containerregistry's scheme probe fall back to HTTP at once
// instead of after a failed handshake.
type plainHTTPGuard struct {
	base    http.RoundTripper
	allowed []string
}

func (g *plainHTTPGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	listed := slices.Contains(g.allowed, req.URL.Host)
	switch {
	case req.URL.Scheme == "http" && !listed && !IsLoopbackHost(req.URL.Hostname()):
		return nil, fmt.Errorf("refusing plain HTTP to %s: only loopback registries may use it unless named with --insecure-registry", req.URL.Host)
	case req.URL.Scheme == "https" && listed:
		return nil, fmt.Errorf("%s is named with --insecure-registry: plain HTTP only", req.URL.Host)
	}
	resp, err := g.base.RoundTrip(req)
	if err == nil && resp.StatusCode >= 400 && resp.ContentLength >= 0 && resp.ContentLength <= maxErrorBody {
		// go-containerregistry closes some error responses (a referrers
		// 404) unread, which costs the connection; read small ones here.
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, err
}

// Error responses up to this size are read whole, keeping the connection.
const maxErrorBody = 4 << 10

// IsLoopbackHost reports whether host name h is localhost or a loopback IP.
func IsLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Archive metadata files larger than this are refused before parsing.
const maxMetadataBytes = 4 << 20

// openDockerArchive opens a 'docker save' tarball after checking its
// entries, so that the parser behind it never sees hostile names or
// oversize metadata.
func (im *Image) openDockerArchive(p string) error {
	idx, err := indexArchive(p, im.limits)
	if err != nil {
		return err
	}
	if _, ok := idx.entries["manifest.json"]; !ok {
		return fmt.Errorf("%s is not a docker archive: no manifest.json (an OCI archive opens as oci-archive:%s)", p, p)
	}
	mf, err := idx.resolve("manifest.json")
	if err != nil {
		return fmt.Errorf("docker archive manifest: %w", err)
	}
	if mf.hdr.Size > maxMetadataBytes {
		return fmt.Errorf("%w: manifest.json is %d bytes", ErrTooLarge, mf.hdr.Size)
	}
	opener := func() (io.ReadCloser, error) { return os.Open(p) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return fmt.Errorf("read docker archive manifest: %w", err)
	}
	if len(m) != 1 {
		return fmt.Errorf("docker archive holds %d images; hull reads archives of one image", len(m))
	}
	cfg, err := idx.resolve(m[0].Config)
	if err != nil {
		return fmt.Errorf("docker archive config: %w", err)
	}
	if cfg.hdr.Size > maxMetadataBytes {
		return fmt.Errorf("%w: config %s is %d bytes", ErrTooLarge, m[0].Config, cfg.hdr.Size)
	}
	for _, l := range m[0].Layers {
		e, err := idx.resolve(l)
		if err != nil {
			return fmt.Errorf("docker archive layer: %w", err)
		}
		im.sizeHints = append(im.sizeHints, e.hdr.Size)
	}
	idx.layers = m[0].Layers
	if len(m[0].RepoTags) > 0 {
		if ref, err := name.ParseReference(m[0].RepoTags[0]); err == nil {
			im.setTag(ref)
		}
	}
	img, err := tarball.Image(opener, nil)
	if err != nil {
		return fmt.Errorf("read docker archive: %w", err)
	}
	if err := sameConfig(img, idx, m[0].Config); err != nil {
		return err
	}
	im.Image, im.archive = img, idx
	return nil
}

// sameConfig checks that the config go-containerregistry read is the
// file an engine unpacking the archive reads (hull's index resolves links
// as an unpacked tree does; go-containerregistry takes a hardlink's
// target relative to the link's directory).
func sameConfig(img v1.Image, idx *archiveIndex, name string) error {
	got, err := img.RawConfigFile()
	if err != nil {
		return fmt.Errorf("read docker archive config: %w", err)
	}
	rc, err := idx.open(name)
	if err != nil {
		return fmt.Errorf("docker archive config: %w", err)
	}
	defer rc.Close()
	want, err := io.ReadAll(&limitedReader{r: rc, n: maxMetadataBytes, what: "config " + name})
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%w: config %s reads differently depending on how its links are followed", ErrUnsafeArchive, name)
	}
	return nil
}

// indexArchive reads every header of a tar file once and rejects unsafe
// names, links and node types.
func indexArchive(p string, lim Limits) (*archiveIndex, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := refuseCompressed(f); err != nil {
		return nil, err
	}
	cr := &countingReader{r: f}
	tr := tar.NewReader(cr)
	idx := &archiveIndex{path: p, entries: map[string]archiveEntry{}}
	for n := 0; ; n++ {
		if n >= lim.MaxEntries {
			return nil, fmt.Errorf("%w: more than %d entries", ErrTooLarge, lim.MaxEntries)
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read archive %s: %w", p, tarError(err))
		}
		abs, err := checkHeader(h)
		if err != nil {
			return nil, err
		}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeDir:
		case tar.TypeSymlink:
			if !resolvesInside(abs, h.Linkname) {
				return nil, fmt.Errorf("%w: symlink %q -> %q points outside the archive", ErrUnsafeArchive, h.Name, h.Linkname)
			}
		case tar.TypeLink:
		default:
			return nil, fmt.Errorf("%w: archive entry %q has type %q", ErrUnsafeArchive, h.Name, string(h.Typeflag))
		}
		if prev, dup := idx.entries[abs[1:]]; dup {
			if err := refuseDuplicate(prev.hdr, h); err != nil {
				return nil, err
			}
		}
		idx.entries[abs[1:]] = archiveEntry{hdr: h, offset: cr.n}
	}
	return idx, nil
}

// refuseDuplicate refuses a second tar entry for a path already in the
// archive, unless both are directories. Engines unpack an archive and so
// read the last copy, go-containerregistry the first: with two manifests,
// configs or layers of one name, hull could judge another image than the
// engine loads.
func refuseDuplicate(prev, h *tar.Header) error {
	if prev.Typeflag == tar.TypeDir && h.Typeflag == tar.TypeDir {
		return nil
	}
	first, second := prev.Name, h.Name
	if first == second {
		return fmt.Errorf("%w: %q is in the archive twice; an engine would load the second copy, so hull refuses to guess which image this is", ErrUnsafeArchive, first)
	}
	return fmt.Errorf("%w: %q and %q name the same file in the archive; an engine would load the second, so hull refuses to guess which image this is", ErrUnsafeArchive, first, second)
}

// refuseCompressed names a gzip or zstd archive plainly: hull reads
// archives as plain tar (a docker archive's layers in place), where the
// tar reader would only call it a bad header.
func refuseCompressed(f *os.File) error {
	magic := make([]byte, 4)
	n, _ := f.ReadAt(magic, 0)
	magic = magic[:n]
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		return fmt.Errorf("%s is gzip-compressed; hull reads uncompressed archives: gunzip it first", f.Name())
	case bytes.HasPrefix(magic, zstdMagic):
		return fmt.Errorf("%s is zstd-compressed; hull reads uncompressed archives: unzstd it first", f.Name())
	}
	return nil
}

func (im *Image) openOCIArchive(ctx context.Context, o Options) error {
	dir, err := os.MkdirTemp(o.TempDir, "hull-oci-")
	if err != nil {
		return err
	}
	im.cleanup = append(im.cleanup, func() error { return os.RemoveAll(dir) })
	f, err := os.Open(im.Ref.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := refuseCompressed(f); err != nil {
		return err
	}
	if err := Extract(ctx, f, dir, ExtractOptions{Limits: im.limits, UniqueNames: true}); err != nil {
		return fmt.Errorf("unpack OCI archive: %w", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "index.json")); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is not an OCI archive: no index.json (a 'docker save' tarball opens as docker-archive:%s)", im.Ref.Path, im.Ref.Path)
	}
	return im.openLayout(dir, im.Ref.Name, o)
}

// refNameAnnotation tags a manifest inside an OCI layout.
const refNameAnnotation = "org.opencontainers.image.ref.name"

func (im *Image) openLayout(dir, tag string, o Options) error {
	if _, err := os.Lstat(filepath.Join(dir, "index.json")); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is not an OCI layout: no index.json", dir)
	}
	if err := checkBlobSize(filepath.Join(dir, "index.json")); err != nil {
		return err
	}
	ii, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return fmt.Errorf("read OCI layout: %w", err)
	}
	idx, err := ii.IndexManifest()
	if err != nil {
		return fmt.Errorf("read OCI layout index: %w", err)
	}
	var match []v1.Descriptor
	var names []string
	for _, d := range idx.Manifests {
		n := d.Annotations[refNameAnnotation]
		names = append(names, n)
		if tag == "" || n == tag || strings.HasSuffix(n, ":"+tag) {
			match = append(match, d)
		}
	}
	switch {
	case len(match) == 0 && tag != "":
		return fmt.Errorf("no image tagged %q in the layout (tags: %s)", tag, strings.Join(names, ", "))
	case len(match) == 0:
		return errors.New("the layout holds no image")
	case len(match) > 1:
		return fmt.Errorf("the layout holds %d images; name one with :TAG (tags: %s)", len(match), strings.Join(names, ", "))
	}
	d := match[0]
	if n := d.Annotations[refNameAnnotation]; n != "" {
		im.Tag = n
		if _, t, ok := strings.Cut(n, ":"); ok && !strings.Contains(t, "/") {
			im.Tag = t
		}
	}
	parent := ii
	for depth := 0; d.MediaType.IsIndex(); depth++ {
		if depth > 4 {
			return errors.New("OCI layout: indexes nested too deep")
		}
		if err := checkBlobSize(blobPath(dir, d.Digest)); err != nil {
			return err
		}
		child, err := parent.ImageIndex(d.Digest)
		if err != nil {
			return err
		}
		if err := checkRawDigest("index", child, d.Digest); err != nil {
			return err
		}
		cm, err := child.IndexManifest()
		if err != nil {
			return err
		}
		next, err := choosePlatform(cm.Manifests, o.platform())
		if err != nil {
			return fmt.Errorf("OCI layout: %w", err)
		}
		d, parent = next, child
	}
	if err := checkBlobSize(blobPath(dir, d.Digest)); err != nil {
		return err
	}
	img, err := parent.Image(d.Digest)
	if err != nil {
		return fmt.Errorf("read OCI layout image %s: %w", d.Digest, err)
	}
	if err := checkRawDigest("manifest", img, d.Digest); err != nil {
		return err
	}
	m, err := im.useManifest(img)
	if err != nil {
		return err
	}
	return checkBlobSize(blobPath(dir, m.Config.Digest))
}

// checkRawDigest checks that a manifest or index read from a layout
// hashes to the digest it was read by.
func checkRawDigest(what string, m interface{ RawManifest() ([]byte, error) }, want v1.Hash) error {
	raw, err := m.RawManifest()
	if err != nil {
		return fmt.Errorf("read %s %s: %w", what, want, err)
	}
	return checkDigest(what, raw, want)
}

// checkDigest fails unless b hashes to want.
func checkDigest(what string, b []byte, want v1.Hash) error {
	h, err := v1.Hasher(want.Algorithm)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, want, err)
	}
	h.Write(b)
	if got := hex.EncodeToString(h.Sum(nil)); got != want.Hex {
		return fmt.Errorf("%w: %s does not match its digest %s (it hashes to %s:%s)", ErrUnsafeArchive, what, want, want.Algorithm, got)
	}
	return nil
}

func blobPath(dir string, h v1.Hash) string {
	return filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
}

// checkBlobSize refuses metadata blobs too large to be honest, and
// anything but a regular file (a device's size says nothing).
func checkBlobSize(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", filepath.Base(p))
	}
	if fi.Size() > maxMetadataBytes {
		return fmt.Errorf("%w: %s is %d bytes, more than metadata may be", ErrTooLarge, filepath.Base(p), fi.Size())
	}
	return nil
}

// decodeLimited decodes JSON from at most maxMetadataBytes of r.
func decodeLimited(r io.Reader, v any) error {
	lr := &limitedReader{r: r, n: maxMetadataBytes, what: "JSON document"}
	return json.NewDecoder(lr).Decode(v)
}
