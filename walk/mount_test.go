package walk

import (
	"context"
	"errors"
	"fim/internal/fstest"
	"fim/tree"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// mountTmpfs mounts a small tmpfs on dir until the test ends.
func mountTmpfs(t *testing.T, dir string) {
	t.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		if errors.Is(err, unix.EPERM) {
			fstest.Skipf(t, "mount tmpfs: %v", err)
		}
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

func TestCrossMounts(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{"a": fstest.File("a"), "mnt/": fstest.Dir(), "z/y": fstest.File("y")})
	mountTmpfs(t, root+"/mnt")
	fstest.Tree{"inside/deep": fstest.File("d"), "top": fstest.File("t")}.Build(t, root+"/mnt")

	outer := []string{".", "a", "mnt", "z", "z/y"}
	for _, c := range []struct {
		name  string
		roots []Root
		want  []string
	}{
		{"not crossed", []Root{{Path: root}}, outer},
		{"crossed", []Root{{Path: root, Options: Options{CrossMounts: true}}},
			sortedPaths(append(outer, "mnt/inside", "mnt/inside/deep", "mnt/top")...)},
		{"crossed to depth 2", []Root{{Path: root, Options: Options{CrossMounts: true, MaxDepth: 2}}},
			sortedPaths(append(outer, "mnt/inside", "mnt/top")...)},
		{"root is the mount point", []Root{{Path: root + "/mnt"}}, []string{"mnt", "mnt/inside", "mnt/inside/deep", "mnt/top"}},
		{"nested root on the mount", []Root{{Path: root}, {Path: root + "/mnt/inside"}},
			sortedPaths(append(outer, "mnt/inside", "mnt/inside/deep")...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, &Walker{Roots: c.roots})
			if r.err != nil {
				t.Fatal(r.err)
			}
			r.base = root
			diffPaths(t, r.paths(), c.want)
			if len(r.warns) != 0 {
				t.Errorf("warnings: %v", r.warns)
			}
			for _, e := range r.entries {
				checkStat(t, e, root+"/"+r.rel(e.Path), false)
			}
			mnt := r.get(t, "mnt")
			if mnt.Type != tree.TypeDir || mnt.Flags&tree.FlagUnreadable != 0 {
				t.Errorf("mnt: type %v flags %b", mnt.Type, mnt.Flags)
			}
			for _, e := range r.entries {
				rel := r.rel(e.Path)
				onMount := rel == "mnt" || len(rel) > 4 && rel[:4] == "mnt/"
				if on := e.Device == mnt.Device; on != onMount {
					t.Errorf("%s: device %#x, mount's %#x", rel, e.Device, mnt.Device)
				}
				if e.Type == tree.TypeFile && !e.Hashed() {
					t.Errorf("%s: not hashed", rel)
				}
			}
		})
	}
}

// TestLook: Look records what WalkPath records, or says why not, naming the symlink or
// the mount point on the way.
func TestLook(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{"a": fstest.File("a"), "d/x": fstest.File("x"), "other/y": fstest.File("y"), "ln": fstest.Link("other"), "own": fstest.File("db").Mode(0o600)})
	must(t, os.Mkdir(root+"/mnt", 0o755))
	mountTmpfs(t, root+"/mnt")
	must(t, os.WriteFile(root+"/mnt/f", []byte("f"), 0o644))
	f, err := os.Open(root + "/own")
	must(t, err)
	defer f.Close()
	own := &OwnFiles{}
	must(t, own.Add(f))
	w := &Walker{Roots: []Root{{Path: root}}, Own: own}
	deep := &Walker{Roots: []Root{{Path: root, Options: Options{MaxDepth: 1}}, {Path: root + "/d/below"}}}
	must(t, os.MkdirAll(root+"/d/below", 0o755))
	for _, c := range []struct {
		w    *Walker
		path string
		why  Absence
		at   string
		stop Stop
	}{
		{w, "a", Recorded, "a", Enters},
		{w, "d/x", Recorded, "d/x", Enters},
		{w, "d", Recorded, "d", Enters},
		{w, "mnt", Recorded, "mnt", MountPoint},
		{w, "nothing", Missing, "nothing", Enters},
		{w, "d/nothing/deeper", Missing, "d/nothing/deeper", Enters},
		{w, "ln/y", BelowSymlink, "ln", Enters},
		{w, "mnt/f", OtherFilesystem, "mnt", Enters},
		{w, "own", OwnFile, "own", Enters},
		{deep, "other", Recorded, "other", DepthLimit},
		{deep, "d", Recorded, "d", Enters}, // at the limit, but a root lies below it
		{deep, "", Recorded, "", Enters},
	} {
		p := root + "/" + c.path
		if c.path == "" {
			p = root
		}
		l, err := c.w.Look(context.Background(), p)
		must(t, err)
		at := root + "/" + c.at
		if c.at == "" {
			at = root
		}
		if l.Why != c.why || l.At != at || (l.Why == Recorded) != (l.Entry != nil) || l.Stop != c.stop {
			t.Errorf("%s: %v at %s, entry %v, stop %v; want %v at %s, stop %v", c.path, l.Why, l.At, l.Entry != nil, l.Stop, c.why, at, c.stop)
		}
	}
}
