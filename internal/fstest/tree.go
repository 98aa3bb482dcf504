// Package fstest builds the real files fim's tests run on, and holds the rules every
// package's tests share: trees made from a literal description, golden files under
// testdata/ rewritten with -update, entries edited from a template, and skips that
// become failures when FIM_REQUIRE_ROOT=1 (as CI sets).
package fstest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"fim/tree"
)

// Tree describes a directory tree to build. Keys are slash-separated paths relative
// to its root; a key ending in "/" is a directory:
//
//	fstest.Tree{"etc/passwd": fstest.File("root:x"), "bin/sh": fstest.Link("dash"), "d/": fstest.Dir()}
//
// Missing parent directories are made with mode 0755, regular files 0644 and FIFOs
// and devices 0644, all less the umask. Hard links are made after everything else.
// Owners, modes, extended attributes and times are applied once everything exists,
// deepest first, so that a mode-000 directory can still be filled, a chown does not
// clear a setuid bit set after it, and no later step moves a time already set.
type Tree map[string]Item

// Item is one entry of a Tree.
type Item struct {
	typ    tree.Type
	data   string // content of a regular file
	target string // symlink target, or the tree path a hard link names
	hard   bool
	rdev   uint64
	perm   uint32 // 07777 bits, applied when setPerm
	uid    int    // applied when chown
	gid    int
	xattrs [][2]string
	mtime  time.Time // access and modification time, applied when setTime

	setPerm, chown, setTime bool
}

// File is a regular file holding data.
func File(data string) Item { return Item{typ: tree.TypeFile, data: data} }

// Blob is a file of size deterministic bytes that depend on seed.
func Blob(size int, seed byte) Item { return File(BlobData(size, seed)) }

// BlobData is the content of Blob(size, seed).
func BlobData(size int, seed byte) string {
	b := make([]byte, size)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return string(b)
}

// Dir is a directory.
func Dir() Item { return Item{typ: tree.TypeDir} }

// Link is a symbolic link to target.
func Link(target string) Item { return Item{typ: tree.TypeSymlink, target: target} }

// Hardlink is another name for the file at the tree path to.
func Hardlink(to string) Item { return Item{typ: tree.TypeFile, target: to, hard: true} }

// FIFO is a named pipe.
func FIFO() Item { return Item{typ: tree.TypeFIFO} }

// Socket is a unix socket with no listener behind it.
func Socket() Item { return Item{typ: tree.TypeSocket} }

// CharDev is a character device node (making one needs root).
func CharDev(major, minor uint32) Item {
	return Item{typ: tree.TypeCharDev, rdev: unix.Mkdev(major, minor)}
}

// BlockDev is a block device node (making one needs root).
func BlockDev(major, minor uint32) Item {
	return Item{typ: tree.TypeBlockDev, rdev: unix.Mkdev(major, minor)}
}

// Mode sets the permission bits, setuid, setgid and sticky included.
func (it Item) Mode(perm uint32) Item { it.perm, it.setPerm = perm, true; return it }

// Owner chowns the item (without following a symlink).
func (it Item) Owner(uid, gid int) Item { it.uid, it.gid, it.chown = uid, gid, true; return it }

// Xattr sets an extended attribute (without following a symlink).
func (it Item) Xattr(name, value string) Item {
	it.xattrs = append(slices.Clip(it.xattrs), [2]string{name, value})
	return it
}

// At sets the access and modification times (without following a symlink).
func (it Item) At(mtime time.Time) Item { it.mtime, it.setTime = mtime, true; return it }

// Build creates the tree under root, made first if missing.
func (tr Tree) Build(t testing.TB, root string) {
	t.Helper()
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(tr))
	for k := range tr {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, tree.ComparePaths)
	real := func(k string) string { return filepath.Join(root, strings.TrimSuffix(k, "/")) }
	for _, hard := range []bool{false, true} {
		for _, k := range keys {
			it := tr[k]
			if it.hard != hard {
				continue
			}
			p := real(k)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := it.create(p, real(it.target)); err != nil {
				t.Fatalf("tree %q: %v", k, err)
			}
		}
	}
	for _, k := range slices.Backward(keys) {
		if err := tr[k].apply(real(k)); err != nil {
			t.Fatalf("tree %q: %v", k, err)
		}
	}
}

// Make builds tr in a new temporary directory and returns that directory's path, with
// symlinks resolved so that it can be walked as a root.
func Make(t testing.TB, tr Tree) string {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tr.Build(t, root)
	return root
}

// Create makes the item alone at path, whose directory exists. A hard link names an
// absolute path.
func (it Item) Create(t testing.TB, path string) {
	t.Helper()
	err := it.create(path, it.target)
	if err == nil {
		err = it.apply(path)
	}
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
}

func (it Item) create(p, hardTarget string) error {
	if it.hard {
		return os.Link(hardTarget, p)
	}
	switch it.typ {
	case tree.TypeFile:
		return os.WriteFile(p, []byte(it.data), 0o644)
	case tree.TypeDir:
		return os.MkdirAll(p, 0o755)
	case tree.TypeSymlink:
		return os.Symlink(it.target, p)
	case tree.TypeFIFO:
		return unix.Mkfifo(p, 0o644)
	case tree.TypeCharDev:
		return unix.Mknod(p, unix.S_IFCHR|0o644, int(it.rdev))
	case tree.TypeBlockDev:
		return unix.Mknod(p, unix.S_IFBLK|0o644, int(it.rdev))
	case tree.TypeSocket:
		return unix.Mknod(p, unix.S_IFSOCK|0o644, 0)
	}
	return &os.PathError{Op: "create", Path: p, Err: unix.EINVAL}
}

// apply sets what the item says of an entry that exists: owner, mode, extended
// attributes, times, in that order.
func (it Item) apply(p string) error {
	if it.chown {
		if err := os.Lchown(p, it.uid, it.gid); err != nil {
			return err
		}
	}
	if it.setPerm {
		if err := unix.Chmod(p, it.perm); err != nil {
			return &os.PathError{Op: "chmod", Path: p, Err: err}
		}
	}
	for _, x := range it.xattrs {
		if err := unix.Lsetxattr(p, x[0], []byte(x[1]), 0); err != nil {
			return &os.PathError{Op: "setxattr " + x[0], Path: p, Err: err}
		}
	}
	if it.setTime {
		ts := unix.NsecToTimespec(it.mtime.UnixNano())
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "utimes", Path: p, Err: err}
		}
	}
	return nil
}

// CopyShell copies /bin/sh to a new file named name in a directory of the test's: a
// process running it has that name as its comm and its exe's base name (a stand-in for
// dpkg or rpm in the lineage tests). The directory is not on a noexec filesystem.
func CopyShell(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
