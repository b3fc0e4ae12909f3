// Package safefile writes the files hull creates for people to keep (keys,
// certificates): never over an existing file, with the mode asked for;
// and reads the files a policy names (keys, keyrings, trusted roots) with
// a bound.
package safefile

import (
	"fmt"
	"io"
	"os"
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
