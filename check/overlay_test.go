package check

import (
	"fim/internal/fstest"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOverlayRoot: on an overlayfs root whose layers lie on different filesystems (a
// container's), the inode numbers of directories change when their inodes are dropped
// (memory pressure, drop_caches). A check after that finds no change, with or without
// --fast; a directory's mode changed in the overlay is still reported, without its
// inode number.
func TestOverlayRoot(t *testing.T) {
	f := newFixture(t, map[string]string{"etc/a": "a", "etc/d/b": "b", "usr/lib/x/y": "y"})
	fstest.Overlay(t, f.tree)
	must(t, os.Chmod(f.tree+"/etc/d", 0o755)) // copied up now: a chmod later changes its mode and ctime alone
	f.baseline(t)
	before := fstest.Inode(t, f.tree+"/etc/d")
	fstest.DropInodes(t)
	if fstest.Inode(t, f.tree+"/etc/d") == before {
		t.Fatalf("etc/d: inode %d after its inode was dropped", before)
	}
	for _, fast := range []bool{false, true} {
		if got := f.compare(t, Options{Fast: fast}); len(got) != 0 {
			t.Errorf("fast %v: events after the inodes were dropped: %q", fast, got)
		}
	}
	must(t, os.Chmod(f.tree+"/etc/d", 0o700))
	fstest.DropInodes(t)
	want := []string{"chmod /etc/d [mode,ctime]"}
	for _, fast := range []bool{false, true} {
		if got := f.compare(t, Options{Fast: fast}); !slices.Equal(got, want) {
			t.Errorf("fast %v: events after a chmod: %q, want %q", fast, got, want)
		}
	}
}

// TestOverlayWatch: a watch of an overlayfs root compares as check does: after the
// inodes of its directories were dropped, its first batch holds the one real change.
func TestOverlayWatch(t *testing.T) {
	f := newFixture(t, map[string]string{"etc/a": "a", "etc/d/b": "b", "usr/lib/x/y": "y"})
	f.db = f.dir + "/fim.db" // outside the tree
	fstest.Overlay(t, f.tree)
	must(t, os.Chmod(f.tree+"/etc/d", 0o755))
	f.baseline(t)
	must(t, os.Chmod(f.tree+"/etc/d", 0o700))
	fstest.DropInodes(t)
	wt, err := NewWatch(WatchOptions{DB: f.db})
	must(t, err)
	defer wt.Close()
	if got, want := runWatch(t, wt), []string{"chmod /etc/d"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestOverlayRemount: an overlayfs root mounted again over the same layers, as a
// container's root is after a restart, has a new anonymous device number; a check then
// reports nothing, and a real change is still reported.
func TestOverlayRemount(t *testing.T) {
	f := newFixture(t, map[string]string{"etc/a": "a", "etc/d/b": "b", "usr/lib/x/y": "y"})
	remount := fstest.Overlay(t, f.tree)
	f.baseline(t)
	var before, after unix.Stat_t
	must(t, unix.Stat(f.tree+"/etc/d", &before))
	remount()
	must(t, unix.Stat(f.tree+"/etc/d", &after))
	if after.Dev == before.Dev {
		t.Fatalf("etc/d: device %d again after the overlay was mounted again", before.Dev)
	}
	for _, fast := range []bool{false, true} {
		if got := f.compare(t, Options{Fast: fast}); len(got) != 0 {
			t.Errorf("fast %v: events after the overlay was mounted again: %q", fast, got)
		}
	}
	must(t, os.WriteFile(f.tree+"/etc/a", []byte("changed"), 0o644))
	if got := f.compare(t, Options{}); len(got) != 1 || !strings.HasPrefix(got[0], "change /etc/a [content,size") {
		t.Errorf("events after a change: %q, want the change of /etc/a", got)
	}
}
