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

// TestCacheTrustsOnlyItsOwnFiles: a cached verdict is an acceptance
// nobody checks again, and its file name is computable from public
// inputs (the policy, its public keys, the image). A verdict file that
// another user could have written (in a directory or a file they own or
// may write, or through a symlink) must never be read: planted, it made
// hull accept an unsigned image.
func TestCacheTrustsOnlyItsOwnFiles(t *testing.T) {
	w := newWorld(t)
	trust := w.policy("release.pub")
	judge := func(dir string) (accepted, cached bool) {
		t.Helper()
		v, err := verify.New(trust, w.dir, image.Options{})
		if err != nil {
			t.Fatal(err)
		}
		v.UseCache(&verify.Cache{Dir: dir, TTL: time.Hour})
		vd, err := v.Verify(context.Background(), w.imageA)
		if err != nil {
			t.Fatal(err)
		}
		return vd.Accepted, vd.Cached
	}
	// A genuine verdict, to plant elsewhere once the signature is gone.
	sig := w.sign(t, w.release, w.imageA)
	own := filepath.Join(t.TempDir(), "verdicts")
	if ok, _ := judge(own); !ok {
		t.Fatal("the signed image was refused")
	}
	files, err := filepath.Glob(filepath.Join(own, "*.json"))
	if err != nil || len(files) != 1 {
		t.Fatalf("cached verdicts: %v %v", files, err)
	}
	verdict, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(sig); err != nil {
		t.Fatal(err)
	}
	if ok, cached := judge(own); !ok || !cached {
		t.Fatalf("hull's own cache: accepted %v cached %v", ok, cached)
	}

	const nobody = 65534
	plant := func(t *testing.T, dirMode, fileMode os.FileMode, owner int) string {
		dir := filepath.Join(t.TempDir(), "verdicts")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, filepath.Base(files[0]))
		if err := os.WriteFile(f, verdict, fileMode); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{f, dir} {
			if owner >= 0 {
				if err := os.Chown(p, owner, owner); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := os.Chmod(f, fileMode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, dirMode); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	needRoot := func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("making files another user owns needs root")
		}
	}
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"world-writable directory", func(t *testing.T) string { return plant(t, 0o777, 0o600, -1) }},
		{"group-writable directory", func(t *testing.T) string { return plant(t, 0o770, 0o600, -1) }},
		{"world-writable file", func(t *testing.T) string { return plant(t, 0o700, 0o666, -1) }},
		{"directory of another user", func(t *testing.T) string { needRoot(t); return plant(t, 0o755, 0o644, nobody) }},
		{"file of another user", func(t *testing.T) string {
			needRoot(t)
			dir := plant(t, 0o700, 0o644, -1)
			if err := os.Chown(filepath.Join(dir, filepath.Base(files[0])), nobody, nobody); err != nil {
				t.Fatal(err)
			}
			return dir
		}},
		{"symlink to a directory of another user", func(t *testing.T) string {
			needRoot(t)
			link := filepath.Join(t.TempDir(), "verdicts")
			if err := os.Symlink(plant(t, 0o755, 0o644, nobody), link); err != nil {
				t.Fatal(err)
			}
			return link
		}},
		{"symlinked file", func(t *testing.T) string {
			dir := plant(t, 0o700, 0o600, -1)
			f := filepath.Join(dir, filepath.Base(files[0]))
			elsewhere := filepath.Join(t.TempDir(), "planted")
			if err := os.Rename(f, elsewhere); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, f); err != nil {
				t.Fatal(err)
			}
			return dir
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ok, cached := judge(tc.dir(t)); ok || cached {
				t.Errorf("a planted verdict was used: accepted %v cached %v", ok, cached)
			}
		})
	}
}

// TestCacheReaderTTL: a verdict is reused for the reader's TTL, not the
// writer's. hull verify --cache-ttl 720h wrote a verdict that the
// containerd verifier (10 minutes) then reused for a month after the
// signature was withdrawn.
func TestCacheReaderTTL(t *testing.T) {
	w := newWorld(t)
	trust := w.policy("release.pub")
	dir := filepath.Join(t.TempDir(), "verdicts")
	start := time.Now()
	judge := func(ttl, after time.Duration) (accepted, cached bool) {
		t.Helper()
		v, err := verify.New(trust, w.dir, image.Options{})
		if err != nil {
			t.Fatal(err)
		}
		v.UseCache(&verify.Cache{Dir: dir, TTL: ttl, Now: func() time.Time { return start.Add(after) }})
		vd, err := v.Verify(context.Background(), w.imageA)
		if err != nil {
			t.Fatal(err)
		}
		return vd.Accepted, vd.Cached
	}
	sig := w.sign(t, w.release, w.imageA)
	if ok, _ := judge(720*time.Hour, 0); !ok {
		t.Fatal("the signed image was refused")
	}
	if err := os.Remove(sig); err != nil {
		t.Fatal(err)
	}
	if ok, cached := judge(10*time.Minute, 5*time.Minute); !ok || !cached {
		t.Errorf("within the reader's TTL: accepted %v cached %v", ok, cached)
	}
	if ok, cached := judge(10*time.Minute, 20*time.Minute); ok || cached {
		t.Errorf("past the reader's TTL, within the writer's: accepted %v cached %v", ok, cached)
	}
}
