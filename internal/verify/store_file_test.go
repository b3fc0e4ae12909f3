package verify_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/verify"
)

// TestStoreEntryNotAFile: whoever may write into a lookaside store (a
// shared directory podman and CI jobs sign into) could put a FIFO where
// a signature goes, and hull verify blocked in open(2) for ever, deaf to
// its timeout. An entry that is not a regular file is an invalid
// signature, read without blocking, and the valid ones beside it count.
func TestStoreEntryNotAFile(t *testing.T) {
	w := newWorld(t)
	sig := w.sign(t, w.release, w.imageA)
	if err := os.Rename(sig, filepath.Join(filepath.Dir(sig), "signature-2")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(sig, 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(w.policy("release.pub"), w.dir, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		vd, err := v.Verify(ctx, w.imageA)
		if err != nil {
			t.Errorf("a FIFO in the store: %v", err)
			return
		}
		if !vd.Accepted || len(vd.Signatures) != 2 || vd.Signatures[0].Valid || !strings.Contains(vd.Signatures[0].Reason, "not a regular file") {
			t.Errorf("a FIFO beside a valid signature: %+v", vd)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		// Unblock the open so the test can end: a writer opens the FIFO.
		if f, err := os.OpenFile(sig, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		<-done
		t.Fatal("hull verify blocked on a FIFO in the lookaside store")
	}
}
