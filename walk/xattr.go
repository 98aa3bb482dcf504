package walk

import (
	"bytes"
	"errors"
	"sort"

	"golang.org/x/sys/unix"
)

// readXattrs fills e.Xattrs, sorted by name. File capabilities (security.capability),
// SELinux labels and POSIX ACLs all live here. Filesystems without xattr support give
// none; other failures set FlagXattrsUnreadable.
func readXattrs(e *Entry, real string, follow bool) {
	src := xattrSource{fd: -1, path: real, follow: follow}
	if len(real) >= unix.PathMax {
		p, done, err := xattrPath(real, follow)
		if err != nil {
			e.Flags |= FlagXattrsUnreadable
			return
		}
		defer done()
		// The descriptor's /proc link leads to the entry itself, a symlink included.
		src.path, src.follow = p, true
	}
	src.read(e)
}

// readXattrsFD fills e.Xattrs like readXattrs, from the file open at fd: the file
// hashed, without resolving its path again.
func readXattrsFD(e *Entry, fd int) { xattrSource{fd: fd}.read(e) }

// xattrSource is where extended attributes are read from: the open file fd, or, when
// fd is negative, path (following a symlink there if follow is set). Its methods call
// the system calls directly, so that the buffers they are given stay on the stack.
type xattrSource struct {
	fd     int
	path   string
	follow bool
}

// list lists the names into dest, or returns the size needed when dest is empty.
func (s xattrSource) list(dest []byte) (int, error) {
	switch {
	case s.fd >= 0:
		return unix.Flistxattr(s.fd, dest)
	case s.follow:
		return unix.Listxattr(s.path, dest)
	}
	return unix.Llistxattr(s.path, dest)
}

// get reads the value of name into dest, or returns the size needed when dest is empty.
func (s xattrSource) get(name string, dest []byte) (int, error) {
	switch {
	case s.fd >= 0:
		return unix.Fgetxattr(s.fd, name, dest)
	case s.follow:
		return unix.Getxattr(s.path, name, dest)
	}
	return unix.Lgetxattr(s.path, name, dest)
}

// read fills e.Xattrs from s.
func (s xattrSource) read(e *Entry) {
	var small [1024]byte
	n, err := s.list(small[:])
	var names []byte
	switch {
	case err == nil:
		names = small[:n]
	case errors.Is(err, unix.ERANGE):
		size, err := s.list(nil)
		if err != nil {
			e.Flags |= FlagXattrsUnreadable
			return
		}
		names = make([]byte, size)
		n, err := s.list(names)
		if err != nil {
			e.Flags |= FlagXattrsUnreadable
			return
		}
		names = names[:n]
	case errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.ENOENT):
		return
	default:
		e.Flags |= FlagXattrsUnreadable
		return
	}
	if len(names) == 0 {
		return
	}
	e.Xattrs = e.Xattrs[:0]
	for len(names) > 0 {
		name := names
		if i := bytes.IndexByte(names, 0); i >= 0 {
			name, names = names[:i], names[i+1:]
		} else {
			names = nil
		}
		if len(name) == 0 {
			continue
		}
		val, err := s.value(string(name))
		if err != nil {
			if errors.Is(err, unix.ENODATA) {
				continue // removed since it was listed
			}
			e.Flags |= FlagXattrsUnreadable
			continue
		}
		e.Xattrs = append(e.Xattrs, Xattr{Name: string(name), Value: val})
	}
	sort.Slice(e.Xattrs, func(i, j int) bool { return e.Xattrs[i].Name < e.Xattrs[j].Name })
}

// value returns the value of attribute name.
func (s xattrSource) value(name string) ([]byte, error) {
	var small [256]byte
	n, err := s.get(name, small[:])
	if err == nil {
		return bytes.Clone(small[:n]), nil
	}
	if !errors.Is(err, unix.ERANGE) {
		return nil, err
	}
	size, err := s.get(name, nil)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	n, err = s.get(name, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}
