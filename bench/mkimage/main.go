// Command mkimage writes a deterministic synthetic container image as a
// docker-archive tarball (the format of `docker save`), for benchmarking and
// testing image linters such as `hull lint` and Dockle.
//
// The image is large (default ~120 MiB uncompressed, ~6,500 regular files in
// 5 layers) and mostly made of pseudo-random, hardly compressible data, with
// some text files in a realistic tree (/usr/lib, /usr/share/doc, /app, ...).
// It also plants a handful of things a linter should flag:
//
//   - setuid files (usr/bin/passwd, usr/local/bin/suid-helper, 04755) and a
//     setgid file (usr/bin/chage, 02755)
//   - root/.ssh/id_rsa with a fake PEM "RSA PRIVATE KEY" block
//   - home/app/.aws/credentials and app/.git-credentials (fake values)
//   - app/Dockerfile (an "unnecessary file")
//   - etc/passwd with a duplicate UID 0 (toor), etc/shadow with an empty
//     password (guest), etc/group with a duplicate GID (999)
//   - a world-writable directory without the sticky bit (var/spool/drop, 0777)
//   - a whiteout of etc/motd and of app/config/database.yml (a credential-named
//     file that must NOT be reported once deleted) and an opaque directory
//     opt/legacy/ hiding opt/legacy/settings.py from the lowest layer
//   - config: User empty (root), ENV AWS_SECRET_ACCESS_KEY=..., no
//     HEALTHCHECK, EXPOSE 22/tcp, VOLUME /etc
//   - history: ADD file:... in / (base), RUN apt-get update (alone),
//     ADD https://example.com/x.tgz /tmp/, RUN curl -sSL https://x | sh,
//     RUN sudo ls, ENV AWS_SECRET_ACCESS_KEY=..., EXPOSE, VOLUME
//
// Output is byte-for-byte reproducible for the same flags: fixed seed, fixed
// timestamps, no map iteration, deterministic gzip.
//
// Usage:
//
//	go run ./bench/mkimage -o big.tar [-size-mb 120] [-files 6500] [-seed 1]
//	    [-tag bench.local/big:1.0] [-uncompressed]
package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is the fixed timestamp used for every tar entry, history entry and
// the image creation time.
var epoch = time.Date(2024, time.January, 2, 3, 4, 5, 0, time.UTC)

func main() {
	out := flag.String("o", "big.tar", "output docker-archive tarball path")
	sizeMB := flag.Int("size-mb", 120, "approximate uncompressed size of all layers, in MiB (content bytes)")
	nFiles := flag.Int("files", 6500, "approximate number of regular files across all layers")
	seed := flag.Uint64("seed", 1, "random seed")
	tag := flag.String("tag", "bench.local/big:1.0", "image reference written into manifest.json")
	uncompressed := flag.Bool("uncompressed", false, "store layers as plain tar (like docker >= 25 save) instead of gzip")
	flag.Parse()
	if *sizeMB < 1 || *nFiles < 50 {
		fatalf("-size-mb must be >= 1 and -files >= 50")
	}

	start := time.Now()
	g := newGen(*seed)
	layers := g.buildLayers(int64(*sizeMB)<<20, *nFiles)

	img, err := assemble(layers, *uncompressed)
	if err != nil {
		fatalf("assemble image: %v", err)
	}
	ref, err := name.NewTag(*tag)
	if err != nil {
		fatalf("parse tag: %v", err)
	}
	if err := tarball.WriteToFile(*out, ref, img); err != nil {
		fatalf("write %s: %v", *out, err)
	}

	var total int64
	var files, entries int
	for i, l := range layers {
		total += int64(len(l.data))
		files += l.files
		entries += l.entries
		fmt.Fprintf(os.Stderr, "layer %d: %6d regular files, %7d entries, %9d bytes uncompressed  (%s)\n",
			i+1, l.files, l.entries, len(l.data), l.history.CreatedBy)
	}
	st, err := os.Stat(*out)
	if err != nil {
		fatalf("stat: %v", err)
	}
	d, _ := img.Digest()
	fmt.Fprintf(os.Stderr, "wrote %s: %s, %d layers, %d regular files, %d tar entries, %.1f MiB uncompressed, %.1f MiB archive, manifest %s, in %s\n",
		*out, *tag, len(layers), files, entries, float64(total)/(1<<20), float64(st.Size())/(1<<20), d, time.Since(start).Round(time.Millisecond))
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "mkimage: "+format+"\n", args...)
	os.Exit(1)
}

// ---------------------------------------------------------------------------
// Image assembly

type builtLayer struct {
	data    []byte // uncompressed tar stream
	files   int    // regular files (including whiteout markers)
	entries int    // all tar entries
	history v1.History
}

func assemble(layers []*builtLayer, uncompressed bool) (v1.Image, error) {
	var adds []mutate.Addendum
	for _, l := range layers {
		var layer v1.Layer
		if uncompressed {
			layer = newRawLayer(l.data)
		} else {
			data := l.data
			var err error
			layer, err = tarball.LayerFromOpener(func() (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(data)), nil
			})
			if err != nil {
				return nil, err
			}
		}
		adds = append(adds, mutate.Addendum{Layer: layer, History: l.history})
	}
	img, err := mutate.Append(empty.Image, adds...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture = "amd64"
	cf.OS = "linux"
	cf.Created = v1.Time{Time: epoch}
	cf.Author = "hull bench"
	cf.Config = v1.Config{
		User: "", // runs as root
		Env: []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"LANG=C.UTF-8",
			"AWS_SECRET_ACCESS_KEY=" + fakeSecret,
		},
		ExposedPorts: map[string]struct{}{"22/tcp": {}},
		Volumes:      map[string]struct{}{"/etc": {}},
		WorkingDir:   "/app",
		Cmd:          []string{"/app/bin/server"},
		// No Healthcheck.
	}
	cf.History = fullHistory(layers)
	return mutate.ConfigFile(img, cf)
}

const fakeSecret = "fAkEbEnChSeCrEt0000000000000000000000000"

// fullHistory interleaves the layer-producing history entries with
// empty-layer ones, in Dockerfile order.
func fullHistory(layers []*builtLayer) []v1.History {
	h := func(createdBy string, empty bool) v1.History {
		return v1.History{Created: v1.Time{Time: epoch}, CreatedBy: createdBy, EmptyLayer: empty}
	}
	return []v1.History{
		layers[0].history,
		h(`/bin/sh -c #(nop)  CMD ["bash"]`, true),
		layers[1].history,
		layers[2].history,
		h("ENV AWS_SECRET_ACCESS_KEY="+fakeSecret, true),
		layers[3].history,
		layers[4].history,
		h("EXPOSE map[22/tcp:{}]", true),
		h("VOLUME [/etc]", true),
		h("WORKDIR /app", true),
		h(`CMD ["/app/bin/server"]`, true),
	}
}

// rawLayer is an uncompressed layer whose blob is the plain tar stream.
type rawLayer struct {
	data []byte
	h    v1.Hash
}

func newRawLayer(data []byte) *rawLayer {
	sum := sha256.Sum256(data)
	return &rawLayer{data: data, h: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}}
}

func (l *rawLayer) Digest() (v1.Hash, error) { return l.h, nil }
func (l *rawLayer) DiffID() (v1.Hash, error) { return l.h, nil }
func (l *rawLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.data)), nil
}
func (l *rawLayer) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.data)), nil
}
func (l *rawLayer) Size() (int64, error)                { return int64(len(l.data)), nil }
func (l *rawLayer) MediaType() (types.MediaType, error) { return types.DockerUncompressedLayer, nil }

// ---------------------------------------------------------------------------
// Layer contents

type gen struct {
	rng *rand.Rand
	src *rand.ChaCha8 // fast deterministic byte stream for binary content
}

func newGen(seed uint64) *gen {
	var s [32]byte
	for i := range s {
		s[i] = byte(seed >> (8 * (i % 8)))
	}
	s[31] ^= 0x5a
	return &gen{
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		src: rand.NewChaCha8(s),
	}
}

// layerSpec describes how one layer is filled.
type layerSpec struct {
	createdBy string
	byteShare float64
	fileShare float64
	pathFn    func(g *gen, i int) (p string, text bool)
	special   func(g *gen, w *layerWriter) // planted entries written first
}

func (g *gen) buildLayers(totalBytes int64, totalFiles int) []*builtLayer {
	specs := []layerSpec{
		{
			createdBy: "/bin/sh -c #(nop) ADD file:6f2d5c1a0b9e8d7c6b5a49382716f5e4d3c2b1a0f9e8d7c6b5a4938271605f4e in / ",
			byteShare: 0.34, fileShare: 0.30,
			pathFn: basePath, special: baseSpecial,
		},
		{
			createdBy: "RUN /bin/sh -c apt-get update # buildkit",
			byteShare: 0.20, fileShare: 0.25,
			pathFn: aptPath, special: aptSpecial,
		},
		{
			createdBy: "ADD https://example.com/x.tgz /tmp/ # buildkit",
			byteShare: 0.10, fileShare: 0.08,
			pathFn: tgzPath, special: tgzSpecial,
		},
		{
			createdBy: "RUN /bin/sh -c curl -sSL https://x | sh # buildkit",
			byteShare: 0.34, fileShare: 0.34,
			pathFn: appPath, special: appSpecial,
		},
		{
			createdBy: "RUN /bin/sh -c sudo ls # buildkit",
			byteShare: 0.02, fileShare: 0.03,
			pathFn: topPath, special: topSpecial,
		},
	}
	var layers []*builtLayer
	for _, s := range specs {
		nf := int(math.Round(float64(totalFiles) * s.fileShare))
		nb := int64(math.Round(float64(totalBytes) * s.byteShare))
		layers = append(layers, g.buildLayer(s, nb, nf))
	}
	return layers
}

func (g *gen) buildLayer(s layerSpec, budget int64, nFiles int) *builtLayer {
	w := newLayerWriter()
	s.special(g, w)
	nFiles -= w.files
	if nFiles < 1 {
		nFiles = 1
	}
	budget -= w.content
	if budget < int64(nFiles) {
		budget = int64(nFiles)
	}

	// Pick paths and relative sizes: log-normal, text files smaller.
	type fileDef struct {
		p    string
		text bool
		wt   float64
	}
	defs := make([]fileDef, 0, nFiles)
	var sum float64
	for i := 0; len(defs) < nFiles; i++ {
		p, text := s.pathFn(g, i)
		if w.seen[p] {
			continue
		}
		w.seen[p] = true // reserve
		wt := math.Exp(1.5 * g.rng.NormFloat64())
		if text {
			wt *= 0.25
		}
		defs = append(defs, fileDef{p, text, wt})
		sum += wt
	}
	for _, d := range defs {
		size := int64(float64(budget) * d.wt / sum)
		if size < 1 {
			size = 1
		}
		var data []byte
		if d.text {
			data = g.text(size)
		} else {
			data = g.binary(size)
		}
		mode := int64(0o644)
		if !d.text && (strings.Contains(d.p, "/bin/") || strings.HasSuffix(d.p, ".so") || strings.Contains(d.p, ".so.")) {
			mode = 0o755
		}
		w.file(d.p, mode, 0, 0, data)
	}
	if err := w.tw.Close(); err != nil {
		panic(err)
	}
	return &builtLayer{
		data:    w.buf.Bytes(),
		files:   w.files,
		entries: w.entries,
		history: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: s.createdBy},
	}
}

// binary returns size bytes of pseudo-random data, with ~15% of 4 KiB pages
// zeroed to mimic executable padding (so it is "incompressible-ish").
func (g *gen) binary(size int64) []byte {
	b := make([]byte, size)
	_, _ = g.src.Read(b)
	for off := int64(0); off+4096 <= size; off += 4096 {
		if g.rng.IntN(100) < 15 {
			clear(b[off : off+4096])
		}
	}
	return b
}

var vocab = strings.Fields(`the of and to in is that for it as with was on be by this are or from at
an which not have has but all were can one their more will if other about into some these than them
only its also after use two how our work first well way even new want because any give day most us
package version license copyright debian upstream source binary install config build module import
function return value error string int64 buffer request response server client handler context
library runtime kernel memory thread process socket stream parser format encode decode compile
static dynamic export default const let var async await promise callback options settings_file data`)

// text returns size bytes of word-salad text with line breaks.
func (g *gen) text(size int64) []byte {
	var b bytes.Buffer
	b.Grow(int(size) + 16)
	col := 0
	for int64(b.Len()) < size {
		wd := vocab[g.rng.IntN(len(vocab))]
		if col > 0 {
			if col+len(wd) > 72 {
				b.WriteByte('\n')
				col = 0
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(wd)
		col += len(wd)
	}
	out := b.Bytes()[:size]
	if size > 1 {
		out[size-1] = '\n'
	}
	return out
}

// ---------------------------------------------------------------------------
// Tar writing

type layerWriter struct {
	buf     *bytes.Buffer
	tw      *tar.Writer
	dirs    map[string]bool
	seen    map[string]bool
	files   int
	entries int
	content int64
}

func newLayerWriter() *layerWriter {
	buf := &bytes.Buffer{}
	return &layerWriter{buf: buf, tw: tar.NewWriter(buf), dirs: map[string]bool{}, seen: map[string]bool{}}
}

func (w *layerWriter) header(h *tar.Header) {
	h.ModTime = epoch
	h.Format = tar.FormatPAX
	if h.Uid == 0 {
		h.Uname, h.Gname = "root", "root"
	}
	if err := w.tw.WriteHeader(h); err != nil {
		panic(err)
	}
	w.entries++
}

// parents emits missing parent directory entries (0755 root) for p.
func (w *layerWriter) parents(p string) {
	d := path.Dir(p)
	if d == "." || d == "/" || w.dirs[d] {
		return
	}
	w.parents(d)
	w.dir(d, 0o755, 0, 0)
}

// dir writes a directory entry with an explicit mode (may include sticky etc.).
func (w *layerWriter) dir(p string, mode int64, uid, gid int) {
	if w.dirs[p] {
		return
	}
	w.parents(p)
	w.dirs[p] = true
	w.header(&tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: mode, Uid: uid, Gid: gid})
}

func (w *layerWriter) file(p string, mode int64, uid, gid int, data []byte) {
	w.parents(p)
	w.seen[p] = true
	w.header(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: mode, Uid: uid, Gid: gid, Size: int64(len(data))})
	if _, err := w.tw.Write(data); err != nil {
		panic(err)
	}
	w.files++
	w.content += int64(len(data))
}

func (w *layerWriter) symlink(p, target string) {
	w.parents(p)
	w.seen[p] = true
	w.header(&tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: target, Mode: 0o777})
}

// whiteout deletes p (file or directory) from lower layers.
func (w *layerWriter) whiteout(p string) {
	w.file(path.Join(path.Dir(p), ".wh."+path.Base(p)), 0, 0, 0, nil)
}

// opaque hides all lower-layer contents of directory d.
func (w *layerWriter) opaque(d string) {
	w.dir(d, 0o755, 0, 0)
	w.file(path.Join(d, ".wh..wh..opq"), 0, 0, 0, nil)
}

// ---------------------------------------------------------------------------
// Path generators (names chosen to avoid accidental linter hits)

var (
	libWords = strings.Fields(`ssl crypto z bz2 lzma zstd xml2 xslt yaml ffi gmp mpfr expat sqlite3 curl
idn2 unistring tasn1 nettle hogweed gnutls p11 krb5 gssapi k5crypto com_err keyutils ldap sasl2 pcre2
selinux systemd udev dbus glib gio gobject pango cairo pixman png16 jpeg tiff webp freetype fontconfig
harfbuzz icuuc icudata icui18n stdc++ gcc_s atomic gomp uuid blkid mount smartcols acl attr cap seccomp`)
	binWords = strings.Fields(`ls cat cp mv rm mkdir rmdir ln chmod chown grep sed awk find xargs sort uniq
head tail wc cut tr tee touch date env sleep kill ps top df du tar gzip gunzip bzip2 xz zstd curl wget
openssl ssh scp rsync git make perl python3.11 bash dash less more vi nano diff patch file stat id
whoami hostname uname mount umount dmesg ip ss ping dig nslookup nc socat jq yq`)
	pkgWords = strings.Fields(`adduser apt base-files base-passwd bash bsdutils ca-certificates coreutils
dash debconf debian-archive-keyring debianutils diffutils dpkg e2fsprogs findutils gcc-12-base gpgv grep
gzip hostname init-system-helpers libacl1 libapt-pkg6.0 libattr1 libaudit1 libblkid1 libbz2-1.0 libc6
libcap-ng0 libcom-err2 libcrypt1 libdb5.3 libdebconfclient0 libgcrypt20 libgmp10 libgnutls30 libgpg-error0
libhogweed6 libidn2-0 liblz4-1 liblzma5 libmd0 libmount1 libnettle8 libp11-kit0 libpam0g libpcre2-8-0
libseccomp2 libselinux1 libsemanage2 libsepol2 libsmartcols1 libss2 libssl3 libstdc++6 libsystemd0
libtasn1-6 libtinfo6 libudev1 libunistring2 libuuid1 libxxhash0 libzstd1 login logsave mawk mount
ncurses-base ncurses-bin openssl passwd perl-base procps python3.11 sed sensible-utils sysvinit-utils
tar tzdata usr-is-merged util-linux zlib1g curl git jq`)
	langs   = strings.Fields(`de fr es it ja ko pt_BR ru zh_CN zh_TW nl pl sv tr uk cs da fi hu nb`)
	pyPkgs  = strings.Fields(`requests urllib3 idna certifi charset_normalizer six yaml jinja2 markupsafe click attr pkg_resources setuptools wheel pip distro chardet dateutil pytz`)
	pyMods  = strings.Fields(`__init__ api core utils compat models sessions adapters exceptions structures cookies hooks helpers status_codes packages auth poolmanager connection response request fields filepost util parse encoder decoder loader reader writer scanner emitter resolver constructor representer serializer`)
	jsPkgs  = strings.Fields(`express body-parser cookie debug depd etag fresh mime ms on-finished qs send serve-static type-is vary accepts negotiator lodash moment chalk commander semver uuid yargs minimist glob rimraf mkdirp async bluebird axios react react-dom scheduler`)
	jsMods  = strings.Fields(`index main util helpers parse format request response router layer route application view utils compat stringify types errors constants cache queue stream buffer`)
	assetWs = strings.Fields(`logo banner icon avatar hero thumb sprite bg pattern photo`)
	dataWs  = strings.Fields(`alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon`)
)

func pick(g *gen, s []string) string { return s[g.rng.IntN(len(s))] }

func basePath(g *gen, i int) (string, bool) {
	switch r := g.rng.IntN(100); {
	case r < 30:
		return fmt.Sprintf("usr/lib/x86_64-linux-gnu/lib%s.so.%d.%d.%d", pick(g, libWords), g.rng.IntN(4), g.rng.IntN(20), i), false
	case r < 40:
		return fmt.Sprintf("usr/bin/%s-%d", pick(g, binWords), i), false
	case r < 60:
		pkg := pick(g, pkgWords)
		if g.rng.IntN(2) == 0 {
			return fmt.Sprintf("usr/share/doc/%s/copyright.%d", pkg, i), true
		}
		return fmt.Sprintf("usr/share/doc/%s/changelog.Debian.%d.gz", pkg, i), false
	case r < 75:
		return fmt.Sprintf("usr/share/locale/%s/LC_MESSAGES/%s-%d.mo", pick(g, langs), pick(g, pkgWords), i), false
	case r < 88:
		return fmt.Sprintf("usr/share/man/man%d/%s-%d.%d.gz", 1+g.rng.IntN(8), pick(g, binWords), i, 1+g.rng.IntN(8)), false
	default:
		return fmt.Sprintf("etc/%s.d/%s-%d.conf", pick(g, pkgWords), pick(g, dataWs), i), true // ".d" avoids clashing with etc/passwd etc.
	}
}

func aptPath(g *gen, i int) (string, bool) {
	switch r := g.rng.IntN(100); {
	case r < 3:
		return fmt.Sprintf("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_%s_binary-amd64_Packages.%d", pick(g, dataWs), i), true
	case r < 55:
		return fmt.Sprintf("usr/lib/python3/dist-packages/%s/%s_%d.py", pick(g, pyPkgs), pick(g, pyMods), i), true
	case r < 85:
		return fmt.Sprintf("usr/lib/python3/dist-packages/%s/__pycache__/%s_%d.cpython-311.pyc", pick(g, pyPkgs), pick(g, pyMods), i), false
	default:
		return fmt.Sprintf("var/cache/apt/archives/partial/%s_%d_amd64.deb", pick(g, pkgWords), i), false
	}
}

func tgzPath(g *gen, i int) (string, bool) {
	if g.rng.IntN(10) == 0 {
		return fmt.Sprintf("tmp/x/doc/%s-%d.txt", pick(g, dataWs), i), true
	}
	return fmt.Sprintf("tmp/x/%s/%s/%s-%d.dat", pick(g, dataWs), pick(g, dataWs), pick(g, dataWs), i), false
}

func appPath(g *gen, i int) (string, bool) {
	switch r := g.rng.IntN(100); {
	case r < 55:
		return fmt.Sprintf("app/node_modules/%s/lib/%s-%d.js", pick(g, jsPkgs), pick(g, jsMods), i), true
	case r < 62:
		return fmt.Sprintf("app/node_modules/%s/package-%d.json", pick(g, jsPkgs), i), true
	case r < 85:
		return fmt.Sprintf("app/static/img/%s-%d.png", pick(g, assetWs), i), false
	case r < 95:
		return fmt.Sprintf("app/static/js/bundle-%d.min.js", i), true
	default:
		return fmt.Sprintf("app/lib/plugins/%s-%d.so", pick(g, dataWs), i), false
	}
}

func topPath(g *gen, i int) (string, bool) {
	if g.rng.IntN(3) == 0 {
		return fmt.Sprintf("usr/local/share/bench/%s-%d.txt", pick(g, dataWs), i), true
	}
	return fmt.Sprintf("usr/local/lib/bench/%s-%d.bin", pick(g, dataWs), i), false
}

// ---------------------------------------------------------------------------
// Planted entries

func baseSpecial(g *gen, w *layerWriter) {
	w.dir("bin", 0o755, 0, 0)
	w.dir("etc", 0o755, 0, 0)
	w.dir("root", 0o700, 0, 0)
	w.dir("tmp", 0o1777, 0, 0)
	w.dir("var/tmp", 0o1777, 0, 0)
	w.dir("var/spool/drop", 0o777, 0, 0) // world-writable, no sticky bit
	w.dir("home/app", 0o755, 1000, 1000)

	w.file("etc/passwd", 0o644, 0, 0, []byte(strings.Join([]string{
		"root:x:0:0:root:/root:/bin/bash",
		"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
		"bin:x:2:2:bin:/bin:/usr/sbin/nologin",
		"sys:x:3:3:sys:/dev:/usr/sbin/nologin",
		"sync:x:4:65534:sync:/bin:/bin/sync",
		"games:x:5:60:games:/usr/games:/usr/sbin/nologin",
		"man:x:6:12:man:/var/cache/man:/usr/sbin/nologin",
		"mail:x:8:8:mail:/var/mail:/usr/sbin/nologin",
		"www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin",
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
		"app:x:1000:1000:app:/home/app:/bin/sh",
		"guest:x:1001:1001:guest:/home/guest:/bin/sh",
		"toor:x:0:0:duplicate root:/root:/bin/bash",
		"",
	}, "\n")))
	w.file("etc/shadow", 0o640, 0, 42, []byte(strings.Join([]string{
		"root:*:19700:0:99999:7:::",
		"daemon:*:19700:0:99999:7:::",
		"bin:*:19700:0:99999:7:::",
		"sys:*:19700:0:99999:7:::",
		"sync:*:19700:0:99999:7:::",
		"games:*:19700:0:99999:7:::",
		"man:*:19700:0:99999:7:::",
		"mail:*:19700:0:99999:7:::",
		"www-data:*:19700:0:99999:7:::",
		"nobody:*:19700:0:99999:7:::",
		"app:!:19700:0:99999:7:::",
		"guest::19700:0:99999:7:::",
		"toor:$6$benchsalt$Zm9vYmFyYmF6cXV4cXV1eGZha2VoYXNobm90cmVhbA:19700:0:99999:7:::",
		"",
	}, "\n")))
	w.file("etc/group", 0o644, 0, 0, []byte(strings.Join([]string{
		"root:x:0:",
		"daemon:x:1:",
		"bin:x:2:",
		"sys:x:3:",
		"adm:x:4:",
		"tty:x:5:",
		"shadow:x:42:",
		"sudo:x:27:app",
		"www-data:x:33:",
		"nogroup:x:65534:",
		"docker:x:999:app",
		"ops:x:999:",
		"app:x:1000:",
		"guest:x:1001:",
		"",
	}, "\n")))
	w.file("etc/hosts", 0o644, 0, 0, []byte("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"))
	w.file("etc/hostname", 0o644, 0, 0, []byte("bench\n"))
	w.file("etc/motd", 0o644, 0, 0, []byte("Welcome to the hull benchmark image.\n"))
	w.file("etc/os-release", 0o644, 0, 0, []byte(`PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`))
	w.file("bin/bash", 0o755, 0, 0, g.binary(1<<20))
	w.symlink("bin/sh", "dash")
	w.file("bin/dash", 0o755, 0, 0, g.binary(120<<10))
	w.file("usr/bin/passwd", 0o4755, 0, 0, g.binary(64<<10)) // setuid
	w.file("usr/bin/chage", 0o2755, 0, 42, g.binary(72<<10)) // setgid
	w.file("usr/local/bin/suid-helper", 0o4755, 0, 0, g.binary(16<<10))
	w.symlink("usr/lib/x86_64-linux-gnu/libssl.so", "libssl.so.3")
	w.file("usr/lib/x86_64-linux-gnu/libssl.so.3", 0o644, 0, 0, g.binary(600<<10))

	// Lower-layer contents of a directory made opaque in the top layer. The
	// credential-like file name must not be reported by a correct linter.
	w.file("opt/legacy/settings.py", 0o644, 0, 0, []byte("SECRET_KEY = 'legacy-fake-not-a-secret'\n"))
	w.file("opt/legacy/lib/old_module.py", 0o644, 0, 0, g.text(4096))
}

func aptSpecial(g *gen, w *layerWriter) {
	w.dir("var/lib/apt/lists/partial", 0o700, 100, 0)
	w.file("var/lib/apt/lists/lock", 0o640, 0, 0, nil)
	w.file("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", 0o644, 0, 0, g.text(150<<10))
	w.symlink("usr/bin/python3", "python3.11")
}

func tgzSpecial(g *gen, w *layerWriter) {
	w.file("tmp/x.tgz", 0o600, 0, 0, g.binary(2<<20))
	w.file("tmp/x/README", 0o644, 0, 0, g.text(2048))
}

func appSpecial(g *gen, w *layerWriter) {
	w.dir("root/.ssh", 0o700, 0, 0)
	w.file("root/.ssh/id_rsa", 0o600, 0, 0, []byte(fakePEM(g)))
	w.file("root/.ssh/authorized_keys", 0o600, 0, 0, []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBENCHfakefakefakefakefakefakefakefake bench@example\n"))
	w.dir("home/app/.aws", 0o700, 1000, 1000)
	w.file("home/app/.aws/credentials", 0o600, 1000, 1000, []byte(
		"[default]\naws_access_key_id = "+"AKIA"+"BENCHFAKE0000000"+"\naws_secret_access_key = "+fakeSecret+"\n"))
	w.file("app/.git-credentials", 0o600, 0, 0, []byte("https://bench:"+"ghp_"+"FAKEfakeFAKEfakeFAKEfakeFAKEfake0000"+"@example.com\n"))
	w.file("app/config/database.yml", 0o644, 0, 0, []byte("production:\n  adapter: postgresql\n  password: fake-deleted-later\n"))
	w.file("app/config/app.json", 0o644, 0, 0, []byte(`{"listen":":8080","log":"info"}`+"\n"))
	w.file("app/Dockerfile", 0o644, 0, 0, []byte("FROM debian:bookworm\nRUN apt-get update\nADD https://example.com/x.tgz /tmp/\nRUN curl -sSL https://x | sh\nRUN sudo ls\nEXPOSE 22\nVOLUME /etc\n"))
	w.file("app/bin/server", 0o755, 0, 0, g.binary(6<<20))
}

func topSpecial(g *gen, w *layerWriter) {
	w.whiteout("etc/motd")
	w.whiteout("app/config/database.yml")
	w.opaque("opt/legacy")
	w.file("opt/legacy/README", 0o644, 0, 0, []byte("legacy code removed\n"))
	w.file("usr/local/share/bench/ls.log", 0o644, 0, 0, g.text(512))
}

func fakePEM(g *gen) string {
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var sb strings.Builder
	sb.WriteString("-----BEGIN RSA PRIVATE KEY-----\n")
	sb.WriteString("RkFLRSBLRVkgRk9SIEhVTEwgQkVOQ0hNQVJLUyAtIE5PVCBBIFJFQUwgS0VZ\n")
	for l := 0; l < 24; l++ {
		for c := 0; c < 64; c++ {
			sb.WriteByte(b64[g.rng.IntN(len(b64))])
		}
		sb.WriteByte('\n')
	}
	sb.WriteString("-----END RSA PRIVATE KEY-----\n")
	return sb.String()
}
