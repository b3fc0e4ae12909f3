package verify_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/verify"
)

func TestVerdictCache(t *testing.T) {
	w := newWorld(t)
	trust := w.policy("release.pub")
	now := time.Now()
	cache := &verify.Cache{Dir: filepath.Join(w.dir, "cache"), TTL: time.Minute, Now: func() time.Time { return now }}
	check := func(wantAccepted, wantCached bool) {
		t.Helper()
		v, err := verify.New(trust, w.dir, image.Options{})
		if err != nil {
			t.Fatal(err)
		}
		v.UseCache(cache)
		vd, err := v.Verify(context.Background(), w.imageA)
		if err != nil {
			t.Fatal(err)
		}
		if vd.Accepted != wantAccepted || vd.Cached != wantCached {
			t.Fatalf("accepted=%v cached=%v, want %v %v (%s)", vd.Accepted, vd.Cached, wantAccepted, wantCached, vd.Reason)
		}
	}
	check(false, false) // unsigned: rejected
	p := w.sign(t, w.release, w.imageA)
	check(true, false) // the rejection was not cached
	check(true, true)
	os.Remove(p)
	check(true, true) // still within the TTL
	cache2 := &verify.Cache{Dir: cache.Dir, TTL: time.Minute, Now: cache.Now}
	cache = cache2
	check(true, true) // from the files: a new process sees it
	if fi, err := os.ReadDir(cache.Dir); err != nil || len(fi) != 1 {
		t.Fatalf("cache dir: %v %v", fi, err)
	}
	now = now.Add(2 * time.Minute)
	check(false, false) // expired: decided afresh, and the signature is gone
	// A changed keyring changes the policy hash: no reuse.
	w.sign(t, w.release, w.imageA)
	check(true, false)
	data, _ := os.ReadFile(filepath.Join(w.dir, "release.pub"))
	os.WriteFile(filepath.Join(w.dir, "release.pub"), append(data, data...), 0o644)
	check(true, false)
}
