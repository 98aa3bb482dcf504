// Package atomicfile replaces a file so that a reader, or a crash, sees the old content
// or the new, never part of either: the new content goes to a temporary file in the
// same directory, which is synced, renamed over the file, and the directory synced.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write replaces path with what write writes, with permissions perm. On an error
// before the rename, path is left as it was and no temporary file remains.
func Write(path string, perm os.FileMode, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	err = tmp.Chmod(perm) // CreateTemp makes it 0600, whatever the umask
	if err == nil {
		err = write(tmp)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("%s written, but not its directory: %w", path, err)
	}
	return nil
}

// SyncDir makes the entries of dir, a rename into it among them, durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
