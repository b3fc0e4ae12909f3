// Package safefile writes the files hull creates for people to keep (keys,
// certificates): never over an existing file, with the mode asked for.
package safefile

import "os"

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
