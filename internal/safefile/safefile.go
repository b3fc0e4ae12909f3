// Package safefile writes the files hull creates for people to keep (keys,
// certificates): never over an existing file, with the mode asked for;
// reads the files a policy names (keys, keyrings, trusted roots) with a
// bound; and checks that a directory or file is this user's alone before
// hull trusts what it reads there or writes there for later use.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ReadLimited reads a file of at most limit bytes, through one open: a
// file growing after a size check, or a device that never ends, cannot
// get past the limit.
func ReadLimited(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(f, p, limit)
}

func readAll(f *os.File, p string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is more than %d bytes", p, limit)
	}
	return data, nil
}

// WriteNew creates path, which must not exist (not even as a symlink),
// with mode, and writes data to it; a file it could not write whole is
// removed.
func WriteNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// ErrNotPrivate is wrapped when a file or directory could have been
// written by another user.
var ErrNotPrivate = errors.New("not this user's alone")

// CheckPrivateDir accepts a directory (not a symlink to one) that this
// user owns and no group or other user may write: what is read from it,
// or written into it for later use, is this user's own.
func CheckPrivateDir(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory: %w", p, ErrNotPrivate)
	}
	return private(p, fi)
}

func private(p string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !ok || int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%s belongs to another user: %w", p, ErrNotPrivate)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%s is writable by others (mode %04o): %w", p, fi.Mode().Perm(), ErrNotPrivate)
	}
	return nil
}

// ReadPrivate is ReadLimited for a regular file of this user's that no
// one else may write, opened without following a symlink or blocking on
// a FIFO.
func ReadPrivate(p string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file: %w", p, ErrNotPrivate)
	}
	if err := private(p, fi); err != nil {
		return nil, err
	}
	return readAll(f, p, limit)
}
