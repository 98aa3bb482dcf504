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
	list, get := unix.Llistxattr, unix.Lgetxattr
	if follow {
		list, get = unix.Listxattr, unix.Getxattr
	}
	if len(real) >= unix.PathMax {
		p, done, err := xattrPath(real, follow)
		if err != nil {
			e.Flags |= FlagXattrsUnreadable
			return
		}
		defer done()
		// The descriptor's /proc link leads to the entry itself, a symlink included.
		real, list, get = p, unix.Listxattr, unix.Getxattr
	}
	xattrsWith(e,
		func(dest []byte) (int, error) { return list(real, dest) },
		func(name string, dest []byte) (int, error) { return get(real, name, dest) })
}

// readXattrsFD fills e.Xattrs like readXattrs, from the file open at fd: the file
// hashed, without resolving its path again.
func readXattrsFD(e *Entry, fd int) {
	xattrsWith(e,
		func(dest []byte) (int, error) { return unix.Flistxattr(fd, dest) },
		func(name string, dest []byte) (int, error) { return unix.Fgetxattr(fd, name, dest) })
}

// xattrsWith fills e.Xattrs from list, which lists the names, and get, which reads a
// value; both return the size needed when dest is empty, and ERANGE when it is too small.
func xattrsWith(e *Entry, list func(dest []byte) (int, error), get func(name string, dest []byte) (int, error)) {
	var small [1024]byte
	n, err := list(small[:])
	var names []byte
	switch {
	case err == nil:
		names = small[:n]
	case errors.Is(err, unix.ERANGE):
		size, err := list(nil)
		if err != nil {
			e.Flags |= FlagXattrsUnreadable
			return
		}
		names = make([]byte, size)
		n, err := list(names)
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
	for _, name := range bytes.Split(bytes.TrimRight(names, "\x00"), []byte{0}) {
		if len(name) == 0 {
			continue
		}
		val, err := getXattr(get, string(name))
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

func getXattr(get func(string, []byte) (int, error), name string) ([]byte, error) {
	var small [256]byte
	n, err := get(name, small[:])
	if err == nil {
		return bytes.Clone(small[:n]), nil
	}
	if !errors.Is(err, unix.ERANGE) {
		return nil, err
	}
	size, err := get(name, nil)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	n, err = get(name, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}
