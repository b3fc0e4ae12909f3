package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/safefile"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Cache keeps accepted verdicts, keyed by the policy's hash (its rules
// with every path resolved, every key file's contents, the registry
// options), the image's repository and tag and its manifest digest, so a
// changed policy, key or store never reuses an old verdict. Rejections are not
// kept: signing an image must take effect at once. Entries live in memory
// and, if Dir is set, in files there (mode 0600), read only from a
// directory and files of this user's that no one else may write.
type Cache struct {
	Dir string
	TTL time.Duration
	Now func() time.Time

	mu  sync.Mutex
	mem map[string]cached
}

// cached is one verdict and when it was decided. It is reused for the
// reader's TTL: a verdict written under a long --cache-ttl must not
// outlive the shorter one of a later reader (the containerd verifier).
type cached struct {
	Verdict finding.Verdict `json:"verdict"`
	Decided time.Time       `json:"decided"`
}

// maxMemEntries bounds the in-memory cache; past it, it starts afresh.
const maxMemEntries = 4096

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Cache) get(key string) (finding.Verdict, bool) {
	c.mu.Lock()
	e, ok := c.mem[key]
	c.mu.Unlock()
	if !ok && c.privateDir() {
		data, err := safefile.ReadPrivate(filepath.Join(c.Dir, key+".json"), 1<<20)
		ok = err == nil && json.Unmarshal(data, &e) == nil
	}
	now := c.now()
	if !ok || e.Decided.After(now) || !now.Before(e.Decided.Add(c.TTL)) {
		return finding.Verdict{}, false
	}
	return e.Verdict, true
}

func (c *Cache) put(key string, vd finding.Verdict) {
	e := cached{Verdict: vd, Decided: c.now()}
	c.mu.Lock()
	if c.mem == nil || len(c.mem) >= maxMemEntries {
		c.mem = map[string]cached{}
	}
	c.mem[key] = e
	c.mu.Unlock()
	if c.Dir == "" {
		return
	}
	data, err := json.Marshal(e)
	if err != nil || os.MkdirAll(c.Dir, 0o700) != nil || !c.privateDir() {
		return
	}
	// Write then rename, so a reader never sees half a file.
	tmp, err := os.CreateTemp(c.Dir, ".verdict-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), filepath.Join(c.Dir, key+".json")) != nil {
		os.Remove(tmp.Name())
	}
}

// A verdict file is an acceptance nobody checks again, and its name
// follows from public inputs: only files no other user can have written
// are read (safefile.CheckPrivateDir, safefile.ReadPrivate).
func (c *Cache) privateDir() bool {
	return c.Dir != "" && safefile.CheckPrivateDir(c.Dir) == nil
}

// UseCache makes the verifier keep accepted verdicts in c.
func (v *Verifier) UseCache(c *Cache) { v.cache = c }

// UserCache is the verdict cache hull's commands share: in memory and in
// the user's cache directory (when there is one), each verdict kept for ttl.
func UserCache(ttl time.Duration) *Cache {
	c := &Cache{TTL: ttl}
	if dir, err := os.UserCacheDir(); err == nil {
		c.Dir = filepath.Join(dir, "hull", "verdicts")
	}
	return c
}

// policyHash digests everything a verdict depends on besides the image:
// the trust section and the directory its relative paths are read from
// (absolute, so the same file means the same hash from any working
// directory; every path the verifier reads is a function of the two),
// the contents of every key file, and the registry options that change
// what is fetched. Two policies of the same text in different
// directories differ here. JSON, not YAML: it is a fraction of the cost,
// and any stable encoding will do.
func (v *Verifier) policyHash(keyFiles [][]byte) string {
	h := sha256.New()
	in := struct {
		Dir                string
		Trust              *policy.Trust
		InsecureRegistries []string
		Platform           *v1.Platform
	}{v.dir, v.trust, slices.Sorted(slices.Values(v.image.InsecureRegistries)), v.image.Platform}
	if b, err := json.Marshal(in); err == nil {
		h.Write(b)
	}
	for _, k := range keyFiles {
		h.Write([]byte{0})
		h.Write(k)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cacheKey names one verdict: the policy's hash, the image's identity
// (repository, tag) and its digest.
func (v *Verifier) cacheKey(res image.Resolved) string {
	sum := sha256.Sum256([]byte(v.hash() + "\x00" + res.Repository + "\x00" + res.Tag + "\x00" + res.Digest.String()))
	return hex.EncodeToString(sum[:])
}

// resolve pins ref to a digest. A digest reference needs no registry
// round trip, with or without a tag before it; a tag is asked for once.
// A name scopes cannot judge exactly as containers tools do (an
// upper-case host, a ".." component: see policy.CheckRepository) is
// refused before any registry is asked: it could slip past the rules of
// the registry it reaches.
func (v *Verifier) resolve(ctx context.Context, ref string) (image.Resolved, error) {
	// A transport reference (docker-daemon:NAME, oci:PATH, ...) names no
	// registry image, pinned or not; read as a name it would be judged
	// as a Docker Hub repository of that name.
	r, err := image.ParseRef(ref)
	if err != nil {
		return image.Resolved{}, err
	}
	if r.Kind != image.KindRegistry {
		return image.Resolved{}, fmt.Errorf("%w: %s: a %s image is not in a registry; verifying needs one in a registry (HOST/REPOSITORY:TAG)", image.ErrBadRef, ref, r.Kind)
	}
	ref = r.Name
	base, dig, pinned := strings.Cut(ref, "@")
	var opts []name.Option
	if host, _, _ := strings.Cut(base, "/"); slices.Contains(v.image.InsecureRegistries, host) {
		opts = append(opts, name.Insecure)
	}
	t, err := name.NewTag(base, append(opts, name.WithDefaultTag(""))...)
	if err != nil {
		return image.Resolved{}, fmt.Errorf("%w: %v", image.ErrBadRef, err)
	}
	repo := image.CanonicalRepository(t.Context())
	if err := policy.CheckRepository(repo); err != nil {
		return image.Resolved{}, fmt.Errorf("%w: %v", image.ErrBadRef, err)
	}
	if !pinned {
		return image.Resolve(ctx, ref, v.image)
	}
	h, err := v1.NewHash(dig)
	if err != nil {
		return image.Resolved{}, fmt.Errorf("%w: %q: %v", image.ErrBadRef, ref, err)
	}
	res := image.Resolved{Name: t.Context(), Repository: repo, Tag: t.TagStr(), Reference: repo + "@" + h.String(), Digest: h}
	if res.Tag != "" {
		res.Reference = repo + ":" + res.Tag + "@" + h.String()
	}
	return res, nil
}
