package baseline

import (
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident counts the pages of the file at path that are in the page cache, and its
// pages in all.
func resident(t *testing.T, path string) (in, all int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	for _, v := range vec {
		in += int(v & 1)
	}
	return in, len(vec)
}

// TestOpenReadsAhead: opening a baseline has the kernel read the whole file into the
// page cache, so that a check on a cold cache does not fault its pages in one by one.
func TestOpenReadsAhead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fim.db")
	goodDB(t, path, 20000)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if in, all := resident(t, path); in > all/2 {
		t.Skipf("the filesystem of %s keeps %d of its %d pages cached after FADV_DONTNEED (tmpfs?)", path, in, all)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		in, all := resident(t, path)
		if in == all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d pages of the database in the page cache 10s after Open", in, all)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
