package walk

import (
	"errors"
	"fim/tree"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// tree describes a directory tree to build under a temporary directory. Keys are
// slash-separated paths relative to it; a key ending in "/" is a directory:
//
//	layout{"etc/passwd": file("root:x"), "bin/sh": link("dash"), "run/p": fifo(), "d/": dir()}
//
// Missing parent directories are made with mode 0755. Owners, modes and extended
// attributes are applied once everything exists, deepest first, so that a mode-000
// directory can still be filled and a chown does not clear a setuid bit set after it.
type layout map[string]item

// item is one entry of a tree.
type item struct {
	typ    tree.Type
	data   string // content of a regular file
	target string // symlink target, or the tree path a hard link names
	hard   bool
	rdev   uint64
	perm   uint32 // 07777 bits, applied when setPerm
	uid    int    // applied when chown
	gid    int
	xattrs [][2]string

	setPerm, chown bool
}

func file(data string) item { return item{typ: tree.TypeFile, data: data} }

// blob is a file of size deterministic bytes that depend on seed.
func blob(size int, seed byte) item { return file(blobData(size, seed)) }

func blobData(size int, seed byte) string {
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

func dir() item               { return item{typ: tree.TypeDir} }
func link(target string) item { return item{typ: tree.TypeSymlink, target: target} }
func hardlink(to string) item { return item{typ: tree.TypeFile, target: to, hard: true} }
func fifo() item              { return item{typ: tree.TypeFIFO} }
func socket() item            { return item{typ: tree.TypeSocket} }
func chardev(major, minor uint32) item {
	return item{typ: tree.TypeCharDev, rdev: unix.Mkdev(major, minor)}
}
func blockdev(major, minor uint32) item {
	return item{typ: tree.TypeBlockDev, rdev: unix.Mkdev(major, minor)}
}

// mode sets the permission bits, setuid, setgid and sticky included.
func (it item) mode(perm uint32) item { it.perm, it.setPerm = perm, true; return it }

// owner chowns the item (without following a symlink).
func (it item) owner(uid, gid int) item { it.uid, it.gid, it.chown = uid, gid, true; return it }

// xattr sets an extended attribute (without following a symlink).
func (it item) xattr(name, value string) item {
	it.xattrs = append(slices.Clip(it.xattrs), [2]string{name, value})
	return it
}

// build creates the tree under root, which must exist.
func (tr layout) build(t testing.TB, root string) {
	t.Helper()
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
		it, p := tr[k], real(k)
		if it.chown {
			if err := os.Lchown(p, it.uid, it.gid); err != nil {
				t.Fatalf("tree %q: %v", k, err)
			}
		}
		if it.setPerm {
			if err := unix.Chmod(p, it.perm); err != nil {
				t.Fatalf("tree %q: chmod: %v", k, err)
			}
		}
		for _, x := range it.xattrs {
			if err := unix.Lsetxattr(p, x[0], []byte(x[1]), 0); err != nil {
				t.Fatalf("tree %q: setxattr %s: %v", k, x[0], err)
			}
		}
	}
}

func (it item) create(p, hardTarget string) error {
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
		return makeSocket(p)
	}
	return errors.New("unknown item type")
}

// makeSocket leaves a unix socket at p. It listens in a short temporary directory,
// since a socket address is limited to 108 bytes, and renames the socket into place.
func makeSocket(p string) error {
	tmp, err := os.MkdirTemp("", "sock")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	l, err := net.Listen("unix", tmp+"/s")
	if err != nil {
		return err
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := l.Close(); err != nil {
		return err
	}
	return os.Rename(tmp+"/s", p)
}

// makeTree builds tr in a new temporary directory and returns that directory's path,
// with symlinks resolved so that it can be walked as a root.
func makeTree(t testing.TB, tr layout) string {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tr.build(t, root)
	return root
}
