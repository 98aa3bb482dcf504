package fstest

import (
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Overlay mounts an overlayfs on dir until the test ends: dir as it is now is its lower
// layer, and its upper layer lies on a tmpfs of its own, so that the layers are on
// different filesystems, as a container's root over its image is. With xino=off,
// overlayfs gives each directory an inode number of its own, new each time the
// directory's inode is read in again (see DropInodes). It needs root. The function it
// returns mounts the overlay again.
func Overlay(t testing.TB, dir string) (remount func()) {
	t.Helper()
	RequireRoot(t)
	if strings.ContainsAny(dir, ",:\\") {
		t.Fatalf("overlay of %s: a comma, colon or backslash would be read as part of the options", dir)
	}
	layers := t.TempDir()
	if err := unix.Mount("tmpfs", layers, "tmpfs", 0, "size=16m"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", layers, err)
	}
	t.Cleanup(func() { unmount(t, layers) })
	for _, d := range []string{layers + "/upper", layers + "/work"} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := "lowerdir=" + dir + ",upperdir=" + layers + "/upper,workdir=" + layers + "/work,xino=off"
	if err := unix.Mount("overlay", dir, "overlay", 0, opts); err != nil {
		if errors.Is(err, unix.ENODEV) {
			Skipf(t, "no overlayfs in this kernel: %v", err)
		}
		t.Fatalf("mount overlay on %s: %v", dir, err)
	}
	t.Cleanup(func() { unmount(t, dir) })
	// remount mounts the overlay again over the same layers, as a container that
	// restarts gets its root: a new superblock, with a new anonymous device number.
	// A tmpfs mounted in between takes the number the overlay gave up, as the mounts of
	// a busy host do.
	return func() {
		t.Helper()
		if err := unix.Unmount(dir, 0); err != nil {
			t.Fatalf("unmount %s: %v", dir, err)
		}
		hold := t.TempDir()
		if err := unix.Mount("tmpfs", hold, "tmpfs", 0, "size=1m"); err != nil {
			t.Fatalf("mount tmpfs on %s: %v", hold, err)
		}
		t.Cleanup(func() { unmount(t, hold) })
		if err := unix.Mount("overlay", dir, "overlay", 0, opts); err != nil {
			t.Fatalf("mount overlay on %s again: %v", dir, err)
		}
	}
}

func unmount(t testing.TB, dir string) {
	if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
		t.Errorf("unmount %s: %v", dir, err)
	}
}

// DropInodes makes the kernel drop the dentries and inodes no one holds
// (/proc/sys/vm/drop_caches: 2), as memory pressure does. It needs root.
func DropInodes(t testing.TB) {
	t.Helper()
	RequireRoot(t)
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("2"), 0); err != nil {
		t.Fatalf("drop inodes: %v", err)
	}
}

// Inode returns the inode number stat gives for path.
func Inode(t testing.TB, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}
