package testenv

import (
	"archive/tar"
	"debug/elf"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// busyboxPath is where Debian's busybox-static installs the binary.
const busyboxPath = "/bin/busybox"

// BusyboxRootfs returns a fresh directory holding a minimal root filesystem:
// bin/busybox (Debian's statically linked busybox) with a symlink in bin/ for
// every applet (sh, ls, cat, id, ...), etc/passwd and etc/group with root and
// nobody, and empty dev, proc, sys, tmp and root directories. Use it as an
// OCI bundle rootfs for runc, or with TarDir for `podman import`.
func BusyboxRootfs(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(busyboxPath); err != nil {
		t.Fatalf("testenv: %s not found (%v): run .ci/run (or apt-get install -y busybox-static) first", busyboxPath, err)
	}
	if f, err := elf.Open(busyboxPath); err != nil {
		t.Fatalf("testenv: %s: %v", busyboxPath, err)
	} else {
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				f.Close()
				t.Fatalf("testenv: %s is dynamically linked: run .ci/run (or apt-get install -y busybox-static) first", busyboxPath)
			}
		}
		f.Close()
	}
	applets := run(t, nil, busyboxPath, "--list")

	root := t.TempDir()
	for _, d := range []string{"bin", "dev", "etc", "proc", "sys", "root"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "tmp"), 0o755); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o777|fs.ModeSticky); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	copyFile(t, busyboxPath, filepath.Join(root, "bin", "busybox"), 0o755)
	for _, a := range strings.Fields(applets) {
		// The busybox applet itself would overwrite the binary.
		if a == "busybox" || strings.Contains(a, "/") {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\nnogroup:x:65534:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	return root
}

func copyFile(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatalf("testenv: copy %s: %v", src, err)
	}
	if err := out.Close(); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// TarDir writes the tree under dir into an uncompressed tar file (paths
// relative to dir, owned by root, symlinks kept) in a temporary directory and
// returns its path; `podman import PATH REF` turns it into an image.
func TarDir(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rootfs.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "root", "root"
		hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			src, err := os.Open(p)
			if err != nil {
				return err
			}
			defer src.Close()
			if _, err := io.Copy(tw, src); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("testenv: tar %s: %v", dir, err)
	}
	return path
}
