package fstest

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Resident reports, page by page, whether the page cache holds the file at path
// (mincore(2) on a mapping of it, which faults nothing in).
func Resident(t testing.TB, path string) []bool {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	if st.Size == 0 {
		return nil
	}
	m, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := unix.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	in := make([]bool, len(vec))
	for i, v := range vec {
		in[i] = v&1 != 0
	}
	return in
}

// CacheOnly leaves in the page cache the first upto bytes of the file at path and
// nothing more (a FADV_DONTNEED of part of a file would leave a large folio whole),
// and skips the test when the filesystem keeps other pages (tmpfs keeps them all).
func CacheOnly(t testing.TB, path string, upto int64) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Fsync(fd); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	if upto > 0 {
		// No read-ahead: only the pages read come in.
		if err := unix.Fadvise(fd, 0, 0, unix.FADV_RANDOM); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Pread(fd, make([]byte, upto), 0); err != nil {
			t.Fatal(err)
		}
	}
	for i, in := range Resident(t, path) {
		if in != (int64(i*unix.Getpagesize()) < upto) {
			t.Skipf("%s: cannot leave only its first %d bytes in the page cache on this filesystem (page %d: %v)", path, upto, i, in)
		}
	}
}
