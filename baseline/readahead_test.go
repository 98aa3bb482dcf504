package baseline

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"fim/internal/fstest"
)

// resident counts the pages of the file at path that are in the page cache, and its
// pages in all.
func resident(t *testing.T, path string) (in, all int) {
	t.Helper()
	pages := fstest.Resident(t, path)
	for _, p := range pages {
		if p {
			in++
		}
	}
	return in, len(pages)
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
