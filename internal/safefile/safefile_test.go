package safefile

import (
	"os"
	"path/filepath"
	"strings"
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
