package walk

import (
	"errors"
	"fim/internal/fstest"
	"fim/tree"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOverlayDirInodes: on an overlayfs whose layers lie on different filesystems, a
// directory's inode number changes when its inode is dropped and read in again. The
// walk marks directories there (and nothing else) as having such numbers, and a
// directory whose inode was dropped between the listing of its parent and its own is
// listed all the same, not taken for one replaced during the walk.
func TestOverlayDirInodes(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{"a/b/f": fstest.File("f"), "a/b/sub/g": fstest.File("g"), "a/l": fstest.Link("b")})
	fstest.Overlay(t, root)
	var once sync.Once
	var dropErr error
	w := &Walker{Roots: []Root{{Path: root}}, Fast: true, Prior: func() func(string) *tree.Entry {
		return func(p string) *tree.Entry {
			if p == root+"/a/b" { // a/b is stat'ed, and listed next
				once.Do(func() { dropErr = os.WriteFile("/proc/sys/vm/drop_caches", []byte("2"), 0) })
			}
			return nil
		}
	}}
	r := run(t, w)
	r.base = root
	must(t, r.err)
	must(t, dropErr)
	if len(r.warns) != 0 {
		t.Errorf("warnings: %v", r.warns)
	}
	diffPaths(t, r.paths(), []string{".", "a", "a/b", "a/b/f", "a/b/sub", "a/b/sub/g", "a/l"})
	for _, e := range r.entries {
		if got, want := e.Flags&tree.FlagVolatileInode != 0, e.Type == tree.TypeDir; got != want {
			t.Errorf("%s (%v): volatile inode %v, want %v", r.rel(e.Path), e.Type, got, want)
		}
	}
	if b := r.get(t, "a/b"); b.Inode == fstest.Inode(t, root+"/a/b") {
		t.Errorf("a/b: inode %d after its inode was dropped: the walk did not meet a new number", b.Inode)
	}
}

// TestOverlayDirReplaced: the files of a directory whose inode number does not last
// are opened through it only if the directory open is the one at its path, found with
// no symlink on the way: after its inode is dropped it is, but not when a directory
// above it was swapped for a symlink to another directory of the same overlay.
func TestOverlayDirReplaced(t *testing.T) {
	for _, c := range []struct {
		name     string
		volatile bool
		swap     bool
		want     error
	}{
		{"inode dropped", true, false, nil},
		{"inode dropped and the number taken to last", false, false, errDirReplaced},
		{"directory above swapped for a symlink", true, true, errDirReplaced},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := fstest.Make(t, fstest.Tree{"a/b/f": fstest.File("f"), "other/b/f": fstest.File("f")})
			fstest.Overlay(t, root)
			var st unix.Stat_t
			must(t, unix.Stat(root+"/a/b", &st))
			fstest.DropInodes(t)
			if fstest.Inode(t, root+"/a/b") == st.Ino {
				t.Fatalf("a/b: inode %d after its inode was dropped", st.Ino)
			}
			if c.swap {
				must(t, os.RemoveAll(root+"/a"))
				must(t, os.Symlink("other", root+"/a"))
			}
			wk := &walk{Walker: &Walker{}, filesystems: map[uint64]fsKind{}, links: map[devIno]*linkSlot{}}
			n := &node{real: root + "/a/b", path: root + "/a/b", root: &Root{Path: root}, depth: 2,
				dev: st.Dev, ino: st.Ino, volatile: c.volatile}
			var d listedDir
			defer d.close()
			if _, err := d.open(wk, n); !errors.Is(err, c.want) {
				t.Errorf("open: %v, want %v", err, c.want)
			}
		})
	}
}
