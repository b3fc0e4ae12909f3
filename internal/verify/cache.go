package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"github.com/hull-sec/hull/internal/safefile"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Cache keeps accepted verdicts, keyed by the policy's hash (its rules
// and every key file it names), the reference and the manifest digest, so
// a changed policy or key never reuses an old verdict. Rejections are not
// kept: signing an image must take effect at once. Entries live in memory
// and, if Dir is set, in files there (mode 0600).
type Cache struct {
	Dir string
	TTL time.Duration
	Now func() time.Time

	mu  sync.Mutex
	mem map[string]cached
}

type cached struct {
	Verdict finding.Verdict `json:"verdict"`
	Expires time.Time       `json:"expires"`
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
	if !ok && c.Dir != "" {
		data, err := safefile.ReadLimited(filepath.Join(c.Dir, key+".json"), 1<<20)
		ok = err == nil && json.Unmarshal(data, &e) == nil
	}
	if !ok || !c.now().Before(e.Expires) {
		return finding.Verdict{}, false
	}
	return e.Verdict, true
}

func (c *Cache) put(key string, vd finding.Verdict) {
	e := cached{Verdict: vd, Expires: c.now().Add(c.TTL)}
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
	if err != nil || os.MkdirAll(c.Dir, 0o700) != nil {
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

// UseCache makes the verifier keep accepted verdicts in c.
func (v *Verifier) UseCache(c *Cache) { v.cache = c }

// policyHash digests the trust rules and the key files they name. JSON, not
// YAML: it is a fraction of the cost, and any stable encoding will do.
func policyHash(rules any, keyFiles [][]byte) string {
	h := sha256.New()
	if b, err := json.Marshal(rules); err == nil {
		h.Write(b)
	}
	for _, k := range keyFiles {
		h.Write([]byte{0})
		h.Write(k)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (v *Verifier) cacheKey(res image.Resolved) string {
	sum := sha256.Sum256([]byte(v.hash() + "\x00" + res.Reference + "\x00" + res.Digest.String()))
	return hex.EncodeToString(sum[:])
}

// resolve pins ref to a digest. A digest reference needs no registry
// round trip; a tag is asked for once.
func (v *Verifier) resolve(ctx context.Context, ref string) (image.Resolved, error) {
	if d, err := name.NewDigest(ref); err == nil {
		if h, err := v1.NewHash(d.DigestStr()); err == nil {
			repo := image.CanonicalRepository(d.Context())
			return image.Resolved{Name: d.Context(), Repository: repo, Reference: repo + "@" + h.String(), Digest: h}, nil
		}
	}
	return image.Resolve(ctx, ref, v.image)
}
