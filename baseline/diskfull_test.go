package baseline

import (
	"bytes"
	"errors"
	"fim/internal/fstest"
	"fim/tree"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// mountTmpfs mounts a tmpfs of the given size on a new directory, or skips the test when
// mounting is not permitted (fails it when FIM_REQUIRE_ROOT=1).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		if errors.Is(err, unix.EPERM) {
			fstest.Skipf(t, "mount tmpfs: %v (run as root)", err)
		}
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// TestStoreDiskFull writes a baseline that does not fit beside one that does, so that
// the write fails in a batch commit during Add or in Commit: the old baseline is still
// there, whole, with no temporary file beside it.
func TestStoreDiskFull(t *testing.T) {
	dir := mountTmpfs(t, "1m")
	path := filepath.Join(dir, "baseline.db")
	old := testEntries(50)
	writeBaseline(t, path, old)

	big := bytes.Repeat([]byte("x"), 200)
	for _, tc := range []struct {
		name     string
		n        int
		inCommit bool
	}{
		{"fails in Add", 2 * batchSize, false}, // the first batch alone is about 2.5 MB
		{"fails in Commit", batchSize / 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Create(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range testEntries(tc.n) {
				e.Xattrs = []tree.Xattr{{Name: "user.big", Value: big}}
				if err = w.Add(e); err != nil {
					break
				}
			}
			if (err != nil) == tc.inCommit {
				t.Fatalf("Add: %v", err)
			}
			if err == nil {
				err = w.Commit(testMeta())
			}
			if err == nil {
				t.Fatal("a baseline larger than the filesystem was written")
			}
			if !errors.Is(err, unix.ENOSPC) {
				t.Errorf("error %v is not ENOSPC", err)
			}
			w.Abort()

			got, meta := readBaseline(t, path)
			sameEntries(t, got, old)
			if meta.Entries != uint64(len(old)) {
				t.Errorf("meta.Entries = %d, want %d", meta.Entries, len(old))
			}
			if tmp := tempFiles(t, path); len(tmp) != 0 {
				t.Errorf("temporary files left: %v", tmp)
			}
		})
	}

	// With the space back, a new baseline can be written.
	writeBaseline(t, path, testEntries(60))
	if got, _ := readBaseline(t, path); len(got) != 60 {
		t.Errorf("%d entries after the rewrite, want 60", len(got))
	}
}
