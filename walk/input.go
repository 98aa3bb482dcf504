package walk

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Inputs: the files an operator names (a configuration, a signing or public key, a tar
// image, an mtree specification). They are opened here and never with os.Open or
// os.ReadFile, because a name can be anything: /dev/zero, a FIFO no one writes to, a
// directory. The open never blocks (O_NONBLOCK), fstat then says what the name is, and
// only a regular file is read, unless the caller takes a pipe; a file read whole is
// refused when it is larger than the caller's limit, before and while it is read.

// ErrNotRegular is returned for an input that is a directory, device, socket, or a pipe
// where a regular file is required.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned for an input larger than its limit.
var ErrTooLarge = errors.New("too large")

// ReadInput returns the content of the regular file name, which must be at most limit
// bytes. Errors name the file and wrap ErrNotRegular, ErrTooLarge or the system's error.
func ReadInput(name string, limit int64) ([]byte, error) {
	f, err := OpenInput(name, false)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, tooLarge(name, limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit { // grew since the fstat
		return nil, tooLarge(name, limit)
	}
	return data, nil
}

func tooLarge(name string, limit int64) error {
	return &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w: more than %s", ErrTooLarge, sizeString(limit))}
}

// sizeString says limit in the largest binary unit that divides it.
func sizeString(limit int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if limit >= u.size && limit%u.size == 0 {
			return strconv.FormatInt(limit/u.size, 10) + " " + u.name
		}
	}
	return strconv.FormatInt(limit, 10) + " bytes"
}

// OpenInput opens name to be read in blocking mode: a regular file, or with pipe also a
// FIFO or pipe (such as the /dev/fd/N of a shell's <(command)), once its writer has
// written or come and gone. Anything else is refused with an error that names the file
// and wraps ErrNotRegular.
func OpenInput(name string, pipe bool) (*os.File, error) {
	fd, err := unix.Open(name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	for err == unix.EINTR {
		fd, err = unix.Open(name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	}
	var st unix.Stat_t
	if err == unix.ENXIO && unix.Stat(name, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFSOCK {
		return nil, notRegular(name, unix.S_IFSOCK, pipe) // a socket cannot be opened
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	switch typ := st.Mode & unix.S_IFMT; {
	case typ == unix.S_IFREG:
		// O_NONBLOCK means nothing to a regular file; cleared all the same, so that
		// the file reads as any other.
		if err := unix.SetNonblock(fd, false); err != nil {
			unix.Close(fd)
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return os.NewFile(uintptr(fd), name), nil
	case typ == unix.S_IFIFO && pipe:
		// A FIFO opened without blocking reads as empty until a writer comes: wait, as
		// any reader of a pipe does, until there is data or a writer came and went.
		for {
			_, err = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, -1)
			if err != unix.EINTR {
				break
			}
		}
		if err == nil {
			err = unix.SetNonblock(fd, false)
		}
		if err != nil {
			unix.Close(fd)
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return os.NewFile(uintptr(fd), name), nil
	default:
		unix.Close(fd)
		return nil, notRegular(name, typ, pipe)
	}
}

// notRegular is the error for an input of type typ.
func notRegular(name string, typ uint32, pipe bool) error {
	what := fileKind(typ)
	if pipe {
		what += "; want a regular file or a pipe"
	}
	return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w (%s)", ErrNotRegular, what)}
}

// fileKind names a file type of stat's st_mode.
func fileKind(typ uint32) string {
	switch typ {
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFSOCK:
		return "a socket"
	}
	return "type " + strconv.FormatUint(uint64(typ), 8)
}
