package walk

import (
	"context"
	"errors"
	"fim/internal/fstest"
	"fim/tree"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"
)

// TestSparse: a sparse file of 1 TiB apparent size is recorded without being read when
// it is over the size cap; a sparse file within the cap is hashed as the zeros it reads.
func TestSparse(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{})
	huge, within := filepath.Join(root, "huge"), filepath.Join(root, "within")
	for p, size := range map[string]int64{huge: 1 << 40, within: 64 << 20} {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Skipf("no sparse files here: %v", err)
		}
		f.Close()
	}
	r := walkDir(t, root, Options{MaxFileSize: 1 << 30})
	if e := r.get(t, "huge"); e.Hashed() || e.Flags&tree.FlagTooLarge == 0 || e.Size != 1<<40 {
		t.Errorf("huge: flags %b size %d, want too large and not hashed", e.Flags, e.Size)
	}
	h := blake3.New()
	zeros := make([]byte, 1<<20)
	for range 64 {
		h.Write(zeros)
	}
	var want [32]byte
	h.Sum(want[:0])
	if e := r.get(t, "within"); !e.Hashed() || e.Hash != want {
		t.Errorf("within: hashed %v, hash %x; want the hash of 64 MiB of zeros", e.Hashed(), e.Hash[:4])
	}
}

// TestManyEntries: 100,000 entries in one directory are all recorded, in order.
func TestManyEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("slow with -short")
	}
	root := fstest.Make(t, fstest.Tree{})
	const n = 100000
	for i := range n {
		if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("f%06d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := walkDir(t, root, Options{})
	if len(r.entries) != n+1 {
		t.Fatalf("%d entries, want %d", len(r.entries), n+1)
	}
	if len(r.warns) != 0 {
		t.Errorf("warnings: %v", r.warns[0].err)
	}
}

// TestBeyondPathMax: a file deeper than PATH_MAX (4096 bytes of path) is recorded, read
// and hashed like any other: a tree that deep is no hiding place.
func TestBeyondPathMax(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{})
	name := strings.Repeat("d", 200)
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	deep := root
	for range 22 {
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			t.Fatal(err)
		}
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd, deep = next, deep+"/"+name
	}
	f, err := unix.Openat(fd, "secret", unix.O_WRONLY|unix.O_CREAT, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("below PATH_MAX")
	unix.Write(f, content)
	unix.Close(f)
	if err := unix.Fsetxattr(must1(unix.Openat(fd, "secret", unix.O_RDONLY, 0)), "user.k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	secret := deep + "/secret"
	if len(secret) < unix.PathMax {
		t.Fatalf("path of %d bytes is not beyond PATH_MAX", len(secret))
	}
	r := walkDir(t, root, Options{})
	if len(r.warns) != 0 {
		t.Fatalf("warning: %s: %v", r.rel(r.warns[0].path), r.warns[0].err)
	}
	e := r.entries[len(r.entries)-1]
	if e.Path != secret {
		t.Fatalf("last entry %q, want the secret file", r.rel(e.Path))
	}
	if !e.Hashed() || e.Hash != blake3.Sum256(content) {
		t.Errorf("secret: hashed %v, hash %x", e.Hashed(), e.Hash[:4])
	}
	if len(e.Xattrs) != 1 || e.Xattrs[0].Name != "user.k" || string(e.Xattrs[0].Value) != "v" {
		t.Errorf("secret: xattrs %v", e.Xattrs)
	}
}

func must1(fd int, err error) int {
	if err != nil {
		panic(err)
	}
	return fd
}

// TestDeepNesting: a file 64 directories deep is recorded with every directory above it,
// in order, and a change to it shows in its hash.
func TestDeepNesting(t *testing.T) {
	rel := strings.Repeat("n/", 64) + "f"
	root := fstest.Make(t, fstest.Tree{rel: fstest.File("deep")})
	r := walkDir(t, root, Options{})
	if len(r.warns) != 0 {
		t.Fatalf("warning: %s: %v", r.rel(r.warns[0].path), r.warns[0].err)
	}
	if len(r.entries) != 66 { // the root, 64 directories, the file
		t.Fatalf("%d entries, want 66", len(r.entries))
	}
	e := r.entries[65]
	if e.Path != root+"/"+rel || !e.Hashed() || e.Hash != blake3.Sum256([]byte("deep")) {
		t.Fatalf("last entry %q hashed %v, want %q with its content hash", r.rel(e.Path), e.Hashed(), rel)
	}
	if err := os.WriteFile(root+"/"+rel, []byte("DEEP"), 0o644); err != nil {
		t.Fatal(err)
	}
	if e2 := walkDir(t, root, Options{}).entries[65]; e2.Hash != blake3.Sum256([]byte("DEEP")) {
		t.Errorf("hash after the change %x, want that of the new content", e2.Hash[:4])
	}
}

// TestHashSwappedForDevice: between the listing and the hash, the directory above a
// listed file is swapped for a symlink to /dev, so the open reaches /dev/zero (the
// no-follow flag guards only the last name). The hash must stop at the listed size and
// report a change, not read forever; a file grown since it was listed is not read past
// its listed size either.
func TestHashSwappedForDevice(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{"d/zero": fstest.File("hello"), "grown": fstest.File("0123456789")})
	e := *walkDir(t, root, Options{}).get(t, "d/zero")
	grown := *walkDir(t, root, Options{}).get(t, "grown")
	must(t, os.Rename(root+"/d", root+"/d.old"))
	must(t, os.Symlink("/dev", root+"/d"))
	must(t, os.Truncate(root+"/grown", 1<<30))

	wk := &walk{Walker: &Walker{}, filesystems: map[uint64]fsKind{}, links: map[devIno]*linkSlot{}}
	for _, c := range []struct {
		e    *tree.Entry
		real string
	}{{&e, root + "/d/zero"}, {&grown, root + "/grown"}} {
		res := make(chan error, 1)
		go func() { res <- wk.hashOnce(c.e, &aux{real: c.real}, newHashBuf(), unix.AT_FDCWD, c.real) }()
		select {
		case err := <-res:
			if !errors.Is(err, errChanged) {
				t.Errorf("%s: %v, want errChanged", c.real, err)
			}
		case <-time.After(10 * time.Second):
			wk.stopped.Store(true)
			t.Fatalf("%s: still reading after 10s", c.real)
		}
	}
}

// TestRetryRereadsXattrs: a file whose xattrs change after the listing read them is
// hashed again, and its record pairs the new ctime with the new xattrs, never the old
// ones (which --fast would then keep for good).
func TestRetryRereadsXattrs(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{"f": fstest.File("content")})
	e := *walkDir(t, root, Options{}).get(t, "f")
	if len(e.Xattrs) != 0 {
		t.Fatalf("xattrs %v before the change", e.Xattrs)
	}
	time.Sleep(10 * time.Millisecond)
	must(t, unix.Setxattr(root+"/f", "user.evil", []byte("1"), 0))
	wk := &walk{Walker: &Walker{}, filesystems: map[uint64]fsKind{}, links: map[devIno]*linkSlot{}}
	a := &aux{real: root + "/f", done: make(chan struct{})}
	wk.hashEntry(0, &e, a, newHashBuf(), unix.AT_FDCWD, a.real)
	var st unix.Stat_t
	must(t, unix.Stat(root+"/f", &st))
	if e.Ctime != st.Ctim.Nano() || len(e.Xattrs) != 1 || e.Xattrs[0].Name != "user.evil" || !e.Hashed() {
		t.Errorf("record ctime %d (file %d), xattrs %v, hashed %v: want the new ctime with user.evil", e.Ctime, st.Ctim.Nano(), e.Xattrs, e.Hashed())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestMissingRoot: a configured path that does not exist records nothing and says so,
// so that a mistyped path does not pass for an empty tree.
func TestMissingRoot(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{"a": fstest.File("a")})
	r := run(t, &Walker{Roots: []Root{{Path: root}, {Path: root + "-missing"}}})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.warns) != 1 || r.warns[0].path != root+"-missing" || !strings.Contains(r.warns[0].err.Error(), "no such file") {
		t.Errorf("warnings %v, want one for the missing root", r.warns)
	}
	if len(r.entries) != 2 {
		t.Errorf("%d entries, want the root and a", len(r.entries))
	}
}

// TestRetryHonoursMaxSize: a file that grows between the listing and the hash is taken
// anew, and recorded as too large if it grew past the limit of its own root (which the
// job is given), hashed otherwise.
func TestRetryHonoursMaxSize(t *testing.T) {
	for _, c := range []struct {
		max      int64
		tooLarge bool
	}{{0, false}, {50, true}, {200, false}} {
		root := fstest.Make(t, fstest.Tree{"f": fstest.File("content")})
		e := *walkDir(t, root, Options{}).get(t, "f")
		e.Hash, e.Flags = [32]byte{}, e.Flags&^tree.FlagHashed // as listed, before its hash
		must(t, os.WriteFile(root+"/f", []byte(strings.Repeat("x", 100)), 0o644))
		wk := &walk{Walker: &Walker{}, filesystems: map[uint64]fsKind{}, links: map[devIno]*linkSlot{}}
		a := &aux{real: root + "/f", done: make(chan struct{})}
		wk.hashEntry(c.max, &e, a, newHashBuf(), unix.AT_FDCWD, a.real)
		if got := e.Flags&tree.FlagTooLarge != 0; got != c.tooLarge || e.Size != 100 || e.Hashed() == c.tooLarge {
			t.Errorf("max %d: size %d flags %b, want too large %v", c.max, e.Size, e.Flags, c.tooLarge)
		}
	}
}

// TestJobOpensRelative: a hash job opens its file relative to the directory that was
// listed, and opens nothing but that regular file. A directory swapped after its
// listing for a symlink to another holding a FIFO of the same name (or to /dev), and a
// FIFO renamed over the listed file, are never opened; the entry is recorded as it can
// be proven: unstable when its directory was replaced, the FIFO when the FIFO took the
// file's place in the same directory.
func TestJobOpensRelative(t *testing.T) {
	for _, c := range []struct {
		name     string
		swap     func(t *testing.T, root string) string // returns the FIFO to watch
		wantType tree.Type
		wantFlag tree.Flags
	}{
		{"directory swapped for a symlink to a FIFO's", func(t *testing.T, root string) string {
			must(t, os.Rename(root+"/d", root+"/d.old"))
			must(t, os.Mkdir(root+"/evil", 0o755))
			must(t, unix.Mkfifo(root+"/evil/big", 0o644))
			must(t, os.Symlink("evil", root+"/d"))
			return root + "/evil/big"
		}, tree.TypeFile, tree.FlagUnstable},
		{"directory swapped for another with a FIFO", func(t *testing.T, root string) string {
			must(t, os.Rename(root+"/d", root+"/d.old"))
			must(t, os.Mkdir(root+"/d", 0o755))
			must(t, unix.Mkfifo(root+"/d/big", 0o644))
			return root + "/d/big"
		}, tree.TypeFile, tree.FlagUnstable},
		{"FIFO renamed over the file", func(t *testing.T, root string) string {
			must(t, unix.Mkfifo(root+"/fifo", 0o644))
			must(t, os.Rename(root+"/fifo", root+"/d/big"))
			return root + "/d/big"
		}, tree.TypeFIFO, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := fstest.Make(t, fstest.Tree{"d/big": fstest.Blob(300<<10, 1)})
			r := walkDir(t, root, Options{})
			e, d := *r.get(t, "d/big"), r.get(t, "d")
			e.Flags, e.Hash = e.Flags&^tree.FlagHashed, [32]byte{} // as listed, before its hash
			n := &node{real: root + "/d", path: d.Path, dev: d.Device, ino: d.Inode, listed: make(chan struct{})}
			fifo := c.swap(t, root)
			w := watchOpens(t, fifo)
			wk := &walk{Walker: &Walker{}, filesystems: map[uint64]fsKind{}, links: map[devIno]*linkSlot{}}
			a := &aux{real: root + "/d/big", done: make(chan struct{})}
			var dir listedDir
			defer dir.close()
			wk.hashJob(&job{n: n, e: &e, a: a}, newHashBuf(), &dir)
			if n := w.opens(t)[fifo]; n > 0 {
				t.Fatalf("%s was opened %d times", fifo, n)
			}
			if e.Type != c.wantType || e.Flags&(tree.FlagUnstable|tree.FlagHashed) != c.wantFlag {
				t.Errorf("recorded a %v with flags %b, want a %v with flags %b", e.Type, e.Flags, c.wantType, c.wantFlag)
			}
		})
	}
}

// TestFollowedPseudoFile: with FollowSymlinks, a symlink to a regular file on a
// pseudo-filesystem (as /proc/kmsg is, whose read consumes the kernel log) is recorded
// without being read.
func TestFollowedPseudoFile(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{"stat": fstest.Link("/proc/self/stat"), "f": fstest.File("x")})
	r := walkDir(t, root, Options{FollowSymlinks: true})
	e := r.get(t, "stat")
	if e.Type != tree.TypeFile || e.Hashed() {
		t.Errorf("recorded a %v, hashed %v: want a file, not read", e.Type, e.Hashed())
	}
	if errs := r.warned("stat"); len(errs) != 1 || !errors.Is(errs[0], errPseudo) {
		t.Errorf("warnings %v, want that it was not read", errs)
	}
	if !r.get(t, "f").Hashed() {
		t.Error("the ordinary file was not hashed")
	}
}

// TestWalkPathBeneathRoot: looking at one path again (as fim watch does) reaches it
// from its root without following a symlink or leaving the filesystem: a directory on
// the way swapped for a symlink leads nowhere, where a full walk would not go either.
func TestWalkPathBeneathRoot(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{"d/f": fstest.File("in the tree"), "outside/f": fstest.File("elsewhere"), "outside/fifo": fstest.FIFO()})
	w := &Walker{Roots: []Root{{Path: root + "/d"}}}
	got := func() []string {
		var paths []string
		for _, e := range fstest.Collect(t, w.WalkPath(context.Background(), root+"/d/sub/f", false)) {
			paths = append(paths, e.Path)
		}
		return paths
	}
	must(t, os.Mkdir(root+"/d/sub", 0o755))
	must(t, os.WriteFile(root+"/d/sub/f", []byte("x"), 0o644))
	if p := got(); len(p) != 1 {
		t.Fatalf("recorded %q, want d/sub/f", p)
	}
	must(t, os.RemoveAll(root+"/d/sub"))
	must(t, os.Symlink(root+"/outside", root+"/d/sub"))
	w2 := watchOpens(t, root+"/outside/f")
	if p := got(); len(p) != 0 {
		t.Errorf("recorded %q through a symlinked directory", p)
	}
	if n := w2.opens(t)[root+"/outside/f"]; n > 0 {
		t.Errorf("opened the file outside %d times", n)
	}
}

// TestSealed: a directory counts as sealed, so that its files are opened without the
// O_PATH check, only when no one but root and fim's own user can rename entries in it.
func TestSealed(t *testing.T) {
	for _, c := range []struct {
		name  string
		mode  uint32
		owner int // -1: fim's own user
		acl   bool
		want  bool
	}{
		{"0755, own", 0o755, -1, false, true},
		{"0700, own", 0o700, -1, false, true},
		{"0775, own", 0o775, -1, false, false},
		{"1777, own", 0o1777, -1, false, false},
		{"0757, own", 0o757, -1, false, false},
		{"0755, another user's", 0o755, 65534, false, false},
		{"0755 with an ACL letting a user write", 0o755, -1, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.owner >= 0 {
				fstest.RequireRoot(t)
			}
			d := filepath.Join(t.TempDir(), "d")
			must(t, os.Mkdir(d, 0o700))
			must(t, os.Chmod(d, os.FileMode(c.mode&0o777)|modeBits(c.mode)))
			if c.owner >= 0 {
				must(t, os.Chown(d, c.owner, c.owner))
			}
			if c.acl {
				if out, err := exec.Command("setfacl", "-m", "u:65534:rwx", d).CombinedOutput(); err != nil {
					fstest.Skipf(t, "setfacl: %v %s", err, out)
				}
			}
			var st unix.Stat_t
			must(t, unix.Stat(d, &st))
			if got := sealed(&st); got != c.want {
				t.Errorf("sealed = %v with mode %o, want %v", got, st.Mode&0o7777, c.want)
			}
		})
	}
}

func modeBits(m uint32) os.FileMode {
	var fm os.FileMode
	if m&0o1000 != 0 {
		fm |= os.ModeSticky
	}
	return fm
}

// TestSymlinkedRoot: a configured path below a symlink (/lib/modules where /lib links
// to usr/lib) would record nothing, so the walk refuses it, naming the link, on the
// host and in an image under a prefix; the path the link leads to is walked.
func TestSymlinkedRoot(t *testing.T) {
	base := fstest.Make(t, fstest.Tree{"usr/lib/modules/m.ko": fstest.File("m"), "lib": fstest.Link("usr/lib"), "etc/x": fstest.File("x")})
	for _, c := range []struct {
		name, prefix, root string
		refused            bool
	}{
		{"below the link", "", base + "/lib/modules", true},
		{"the link itself", "", base + "/lib", false},
		{"where it leads", "", base + "/usr/lib/modules", false},
		{"in an image", base, "/lib/modules", true},
		{"in an image, where it leads", base, "/usr/lib/modules", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, &Walker{Prefix: c.prefix, Roots: []Root{{Path: c.root}}})
			if !c.refused {
				if r.err != nil || len(r.entries) == 0 {
					t.Errorf("err %v, %d entries", r.err, len(r.entries))
				}
				return
			}
			if !errors.Is(r.err, ErrSymlinkedRoot) || !strings.Contains(r.err.Error(), "lib -> usr/lib") {
				t.Errorf("err %v, want it refused naming the link", r.err)
			}
		})
	}
}

// TestXattrsRelative: the extended attributes of an entry are read relative to the
// directory that was listed, by getxattrat or through the directory's /proc/self/fd
// link, so a directory swapped since cannot lend another entry's attributes.
func TestXattrsRelative(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{"d/f": fstest.File("listed")})
	if err := unix.Setxattr(root+"/d/f", "user.who", []byte("listed"), 0); err != nil {
		fstest.Skipf(t, "no user xattrs here: %v", err)
	}
	dirfd, err := unix.Open(root+"/d", unix.O_PATH|unix.O_DIRECTORY, 0)
	must(t, err)
	defer unix.Close(dirfd)
	must(t, os.Rename(root+"/d", root+"/d.old"))
	must(t, os.Mkdir(root+"/d", 0o755))
	must(t, os.WriteFile(root+"/d/f", nil, 0o644))
	must(t, unix.Setxattr(root+"/d/f", "user.who", []byte("swapped in"), 0))
	for name, read := range map[string]func(*tree.Entry){
		"getxattrat": func(e *tree.Entry) { xattrSource{fd: -1, dirfd: dirfd, path: "f"}.read(e) },
		"/proc link": func(e *tree.Entry) { readXattrs(e, fmt.Sprintf("/proc/self/fd/%d/f", dirfd), false) },
		"either":     func(e *tree.Entry) { readXattrsAt(e, dirfd, "f", false) },
	} {
		if name == "getxattrat" && !xattrAt() {
			continue
		}
		var e tree.Entry
		read(&e)
		if len(e.Xattrs) != 1 || string(e.Xattrs[0].Value) != "listed" {
			t.Errorf("%s: xattrs %q, want those of the listed file", name, e.Xattrs)
		}
	}
}
