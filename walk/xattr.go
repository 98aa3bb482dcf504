package walk

import (
	"bytes"
	"errors"
	"fim/tree"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readXattrs fills e.Xattrs, sorted by name. File capabilities (security.capability),
// SELinux labels and POSIX ACLs all live here. Filesystems without xattr support give
// none; other failures set FlagXattrsUnreadable.
func readXattrs(e *tree.Entry, real string, follow bool) {
	src := xattrSource{fd: -1, dirfd: -1, path: real, follow: follow}
	if len(real) >= unix.PathMax {
		p, done, err := xattrPath(real, follow)
		if err != nil {
			e.Xattrs = nil
			e.Flags |= tree.FlagXattrsUnreadable
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
func readXattrsFD(e *tree.Entry, fd int) { xattrSource{fd: fd, dirfd: -1}.read(e) }

// readXattrsAt fills e.Xattrs like readXattrs, from the entry name in directory dirfd:
// the directory that was listed, so that a directory above swapped for a symlink
// cannot lead the reads elsewhere. Without getxattrat (Linux before 6.13) the entry is
// reached through the directory's /proc/self/fd link instead.
// (With dirfd AT_FDCWD, name is a path, read as readXattrs does.)
func readXattrsAt(e *tree.Entry, dirfd int, name string, follow bool) {
	switch {
	case dirfd == unix.AT_FDCWD:
		readXattrs(e, name, follow)
	case !xattrAt():
		readXattrs(e, "/proc/self/fd/"+strconv.Itoa(dirfd)+"/"+name, follow)
	default:
		xattrSource{fd: -1, dirfd: dirfd, path: name, follow: follow}.read(e)
	}
}

// xattrAt reports whether the kernel has listxattrat and getxattrat (Linux 6.13).
var xattrAt = sync.OnceValue(func() bool {
	_, err := listxattrat(unix.AT_FDCWD, "/", 0, nil)
	return !errors.Is(err, unix.ENOSYS)
})

// xattrSource is where extended attributes are read from: the open file fd; else, when
// dirfd is not negative, path in directory dirfd; else path (following a symlink there
// if follow is set). Its methods call the system calls directly, so that the buffers
// they are given stay on the stack.
type xattrSource struct {
	fd, dirfd int
	path      string
	follow    bool
}

// list lists the names into dest, or returns the size needed when dest is empty.
func (s xattrSource) list(dest []byte) (int, error) {
	switch {
	case s.fd >= 0:
		return unix.Flistxattr(s.fd, dest)
	case s.dirfd >= 0:
		return listxattrat(s.dirfd, s.path, s.atFlags(), dest)
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
	case s.dirfd >= 0:
		return getxattrat(s.dirfd, s.path, s.atFlags(), name, dest)
	case s.follow:
		return unix.Getxattr(s.path, name, dest)
	}
	return unix.Lgetxattr(s.path, name, dest)
}

func (s xattrSource) atFlags() int {
	if s.follow {
		return 0
	}
	return unix.AT_SYMLINK_NOFOLLOW
}

// listxattrat and getxattrat are the system calls of Linux 6.13, which x/sys/unix
// does not wrap yet.
func listxattrat(dirfd int, path string, flags int, dest []byte) (int, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return 0, err
	}
	var buf unsafe.Pointer
	if len(dest) > 0 {
		buf = unsafe.Pointer(&dest[0])
	}
	n, _, errno := unix.Syscall6(unix.SYS_LISTXATTRAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags),
		uintptr(buf), uintptr(len(dest)), 0)
	return int(n), errnoErr(errno)
}

// xattrArgs is struct xattr_args.
type xattrArgs struct {
	value uint64
	size  uint32
	flags uint32
}

func getxattrat(dirfd int, path string, flags int, name string, dest []byte) (int, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return 0, err
	}
	nm, err := unix.BytePtrFromString(name)
	if err != nil {
		return 0, err
	}
	args := xattrArgs{size: uint32(len(dest))}
	if len(dest) > 0 {
		args.value = uint64(uintptr(unsafe.Pointer(&dest[0])))
	}
	n, _, errno := unix.Syscall6(unix.SYS_GETXATTRAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags),
		uintptr(unsafe.Pointer(nm)), uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args))
	runtime.KeepAlive(dest)
	return int(n), errnoErr(errno)
}

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// read replaces e.Xattrs, and FlagXattrsUnreadable, with what s has.
func (s xattrSource) read(e *tree.Entry) {
	e.Xattrs = nil
	e.Flags &^= tree.FlagXattrsUnreadable
	var small [1024]byte
	names, err := s.names(small[:])
	switch {
	case errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.ENOENT):
		return
	case err != nil:
		e.Flags |= tree.FlagXattrsUnreadable
		return
	}
	var xs []tree.Xattr
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
			e.Flags |= tree.FlagXattrsUnreadable
			continue
		}
		xs = append(xs, tree.Xattr{Name: string(name), Value: val})
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].Name < xs[j].Name })
	e.Xattrs = xs
}

// A list or a value can grow between the call that gives its size and the call that
// reads it (ERANGE), or shrink to nothing: sizedTries bounds the attempts.
const sizedTries = 8

// names returns the NUL-terminated names of the attributes, in buf if they fit.
func (s xattrSource) names(buf []byte) ([]byte, error) {
	for range sizedTries {
		n, err := s.list(buf)
		if err == nil {
			return buf[:n], nil
		}
		if !errors.Is(err, unix.ERANGE) {
			return nil, err
		}
		size, err := s.list(nil)
		if err != nil {
			return nil, err
		}
		if size == 0 {
			return nil, nil // all removed since
		}
		buf = make([]byte, size)
	}
	return nil, unix.ERANGE
}

// value returns the value of attribute name.
func (s xattrSource) value(name string) ([]byte, error) {
	var small [256]byte
	n, err := s.get(name, small[:])
	if err == nil {
		return bytes.Clone(small[:n]), nil
	}
	for range sizedTries {
		if !errors.Is(err, unix.ERANGE) {
			return nil, err
		}
		var size int
		if size, err = s.get(name, nil); err != nil {
			return nil, err
		}
		if size == 0 {
			return []byte{}, nil // emptied since: an empty buffer would get the size again
		}
		buf := make([]byte, size)
		if n, err = s.get(name, buf); err == nil {
			return buf[:n], nil
		}
	}
	return nil, err
}
