package pkgdb

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"fim/walk"
)

// Root is a directory that package databases and files are read under. Every name is
// resolved inside it as if it were the system's root (openat2 RESOLVE_IN_ROOT): an
// absolute symlink or ".." inside an image leads to the image's own root, never out
// of it. A name is opened without blocking and read only if it is a regular file.
type Root struct {
	fd   int
	path string
}

// OpenRoot opens the directory dir ("/" for this host) to read under.
func OpenRoot(dir string) (*Root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	return &Root{fd: fd, path: dir}, nil
}

// Close releases the directory.
func (r *Root) Close() error { return unix.Close(r.fd) }

// Path is the directory as it was given.
func (r *Root) Path() string { return r.path }

// name is how an error names p, a path under the root.
func (r *Root) name(p string) string {
	if r.path == "/" {
		return "/" + strings.TrimLeft(p, "/")
	}
	return strings.TrimRight(r.path, "/") + "/" + strings.TrimLeft(p, "/")
}

// Open opens the regular file p (absolute or relative, always under the root) to be
// read. A name that is not a regular file is refused with walk.ErrNotRegular; a
// missing one with an error that wraps fs.ErrNotExist.
func (r *Root) Open(p string) (*os.File, error) { return r.open(p, true) }

// open opens p; with follow false a symlink as its last element is refused (ELOOP).
func (r *Root) open(p string, follow bool) (*os.File, error) {
	rel := strings.TrimLeft(p, "/")
	if rel == "" {
		rel = "."
	}
	how := &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_NOCTTY,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	if !follow {
		how.Flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Openat2(r.fd, rel, how)
	for err == unix.EINTR || err == unix.EAGAIN {
		fd, err = unix.Openat2(r.fd, rel, how)
	}
	if err != nil {
		if err == unix.ENXIO { // a socket
			err = walk.ErrNotRegular
		}
		return nil, &fs.PathError{Op: "open", Path: r.name(p), Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "stat", Path: r.name(p), Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "open", Path: r.name(p), Err: walk.ErrNotRegular}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "open", Path: r.name(p), Err: err}
	}
	return os.NewFile(uintptr(fd), r.name(p)), nil
}

// Lstat returns the state of p under the root, its last element not followed, without
// opening its content (O_PATH).
func (r *Root) Lstat(p string) (unix.Stat_t, error) {
	var st unix.Stat_t
	rel := strings.TrimLeft(p, "/")
	if rel == "" {
		rel = "."
	}
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	fd, err := unix.Openat2(r.fd, rel, how)
	for err == unix.EINTR || err == unix.EAGAIN {
		fd, err = unix.Openat2(r.fd, rel, how)
	}
	if err != nil {
		return st, &fs.PathError{Op: "open", Path: r.name(p), Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Fstat(fd, &st); err != nil {
		return st, &fs.PathError{Op: "stat", Path: r.name(p), Err: err}
	}
	return st, nil
}

// ReadFile returns the content of the regular file p under the root, refused when it
// is larger than limit bytes (walk.ErrTooLarge).
func (r *Root) ReadFile(p string, limit int64) ([]byte, error) {
	data, _, err := r.readFileID(p, limit)
	return data, err
}

// readFileID is ReadFile, and the identity of the file it read.
func (r *Root) readFileID(p string, limit int64) ([]byte, FileID, error) {
	f, err := r.Open(p)
	if err != nil {
		return nil, FileID{}, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, FileID{}, &fs.PathError{Op: "stat", Path: f.Name(), Err: err}
	}
	data, err := readLimited(f, f.Name(), limit, st.Size)
	return data, fileID(&st), err
}

// readLimited reads rd whole, at most limit bytes; size is what it is expected to
// hold, to read it into one buffer.
func readLimited(rd io.Reader, name string, limit, size int64) ([]byte, error) {
	var b bytes.Buffer
	if size > 0 && size <= limit {
		b.Grow(int(size) + bytes.MinRead)
	}
	n, err := b.ReadFrom(io.LimitReader(rd, limit+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	if n > limit {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w: more than %d bytes", walk.ErrTooLarge, limit)}
	}
	return b.Bytes(), nil
}

// ReadDir returns the names in directory p under the root; a missing directory is
// no names and no error.
func (r *Root) ReadDir(p string) ([]string, error) {
	rel := strings.TrimLeft(p, "/")
	if rel == "" {
		rel = "."
	}
	how := &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	fd, err := unix.Openat2(r.fd, rel, how)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: r.name(p), Err: err}
	}
	f := os.NewFile(uintptr(fd), r.name(p))
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: r.name(p), Err: err}
	}
	return names, nil
}

// readlink returns the target of the symlink name, a name directly in the root.
func (r *Root) readlink(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, '/') || name == "." || name == ".." {
		return "", &fs.PathError{Op: "readlink", Path: r.name(name), Err: fs.ErrInvalid}
	}
	rel := name
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(r.fd, rel, buf)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: r.name(name), Err: err}
	}
	return string(buf[:n]), nil
}
