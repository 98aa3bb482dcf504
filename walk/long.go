package walk

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// The kernel refuses a path of PATH_MAX (4096) bytes or more in one call, but a tree can
// be deeper than that, and what lies there must not escape the walk. Such paths are
// opened piece by piece: each prefix shorter than PATH_MAX relative to the directory
// the previous one opened, never following a symlink on the way.

// openAt opens name relative to directory descriptor dirfd, or, when dirfd is
// AT_FDCWD, the path name however long (see openRetry).
func openAt(dirfd int, name string, flags int) (int, error) {
	if dirfd == unix.AT_FDCWD {
		return openRetry(name, flags)
	}
	for {
		fd, err := unix.Openat(dirfd, name, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// OpenLong opens path with flags, however long the path, never following a symlink
// on the way to its last name.
func OpenLong(path string, flags int) (int, error) { return openRetry(path, flags) }

// openRetry opens path with flags, however long the path.
func openRetry(path string, flags int) (int, error) {
	if len(path) < unix.PathMax {
		for {
			fd, err := unix.Open(path, flags, 0)
			if err != unix.EINTR {
				return fd, err
			}
		}
	}
	dirfd := unix.AT_FDCWD
	rest := path
	for len(rest) >= unix.PathMax {
		cut := strings.LastIndexByte(rest[:unix.PathMax-1], '/')
		if cut <= 0 {
			closeDir(dirfd)
			return -1, unix.ENAMETOOLONG // one name longer than the kernel allows
		}
		fd, err := unix.Openat2(dirfd, rest[:cut], &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
		closeDir(dirfd)
		if err != nil {
			return -1, err
		}
		dirfd, rest = fd, strings.TrimLeft(rest[cut:], "/")
	}
	defer closeDir(dirfd)
	for {
		fd, err := unix.Openat(dirfd, rest, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func closeDir(fd int) {
	if fd != unix.AT_FDCWD {
		unix.Close(fd)
	}
}

// xattrPath returns a path through which the extended attributes of real can be read
// with path-based calls, and a function to call when done: real itself when it is short
// enough, else the /proc/self/fd link of a descriptor opened on it.
func xattrPath(real string, follow bool) (string, func(), error) {
	if len(real) < unix.PathMax {
		return real, func() {}, nil
	}
	flags := unix.O_PATH | unix.O_CLOEXEC
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := openRetry(real, flags)
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("/proc/self/fd/%d", fd), func() { unix.Close(fd) }, nil
}

// openBeneath opens rel, a clean relative path ("" for dirfd itself) of any length,
// below directory dirfd with openat2 and resolve's restrictions on every component.
func openBeneath(dirfd int, rel string, flags int, resolve uint64) (int, error) {
	if rel == "" {
		rel = "."
	}
	cur := dirfd
	defer func() {
		if cur != dirfd {
			unix.Close(cur)
		}
	}()
	for len(rel) >= unix.PathMax {
		cut := strings.LastIndexByte(rel[:unix.PathMax-1], '/')
		if cut <= 0 {
			return -1, unix.ENAMETOOLONG // one name longer than the kernel allows
		}
		fd, err := openat2(cur, rel[:cut], unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, resolve)
		if err != nil {
			return -1, err
		}
		if cur != dirfd {
			unix.Close(cur)
		}
		cur, rel = fd, strings.TrimLeft(rel[cut:], "/")
	}
	return openat2(cur, rel, flags, resolve)
}

// openat2 retries what a concurrent rename or mount makes the kernel give up (EAGAIN
// under RESOLVE_BENEATH), a few times.
func openat2(dirfd int, name string, flags int, resolve uint64) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags), Resolve: resolve}
	for tries := 0; ; tries++ {
		fd, err := unix.Openat2(dirfd, name, &how)
		if err == unix.EINTR || err == unix.EAGAIN && tries < 8 {
			continue
		}
		return fd, err
	}
}
