package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteNew(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key.pem")
	if err := WriteNew(p, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%v %v", fi, err)
	}
	if err := WriteNew(p, []byte("other"), 0o600); err == nil {
		t.Error("overwrote an existing file")
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "target"), link); err != nil {
		t.Fatal(err)
	}
	if err := WriteNew(link, []byte("x"), 0o600); err == nil {
		t.Error("wrote through a dangling symlink")
	}
	if b, _ := os.ReadFile(p); string(b) != "k" {
		t.Errorf("content %q", b)
	}
}

func TestReadLimited(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keyring")
	if err := os.WriteFile(p, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadLimited(p, 5); err != nil || string(b) != "12345" {
		t.Errorf("a file at the limit: %q %v", b, err)
	}
	if _, err := ReadLimited(p, 4); err == nil || !strings.Contains(err.Error(), "more than 4 bytes") {
		t.Errorf("a file over the limit: %v", err)
	}
	// A device whose size says 0 and whose reads never end.
	if _, err := ReadLimited("/dev/zero", 1<<10); err == nil {
		t.Error("/dev/zero read without error")
	}
}

func TestPrivate(t *testing.T) {
	dir := t.TempDir()
	if err := CheckPrivateDir(dir); err != nil {
		t.Fatalf("a new temporary directory: %v", err)
	}
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadPrivate(p, 10); err != nil || string(b) != "data" {
		t.Fatalf("ReadPrivate: %q %v", b, err)
	}
	if _, err := ReadPrivate(p, 3); err == nil {
		t.Error("read past the limit")
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPrivate(link, 10); err == nil {
		t.Error("read through a symlink")
	}
	if err := CheckPrivateDir(link); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("a symlink as a directory: %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPrivate(fifo, 10); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("a FIFO: %v", err)
	}
	if err := os.Chmod(p, 0o620); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPrivate(p, 10); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("a group-writable file: %v", err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := CheckPrivateDir(dir); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("a world-writable directory: %v", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if err := CheckPrivateDir(dir); !errors.Is(err, ErrNotPrivate) {
			t.Errorf("another user's directory: %v", err)
		}
		if err := os.Chown(dir, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
}
