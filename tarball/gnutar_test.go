package tarball

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"fim/diff"
	"fim/internal/fstest"
	"fim/tree"
	"fim/walk"
)

// TestGNUTar archives a real tree with GNU tar in several formats, reads the archive,
// and compares the entries field by field with a walk of the tree itself (where the
// format carries nanosecond mtimes and xattrs) and with a walk of the tree GNU tar
// extracts from the archive: the attributes that differ must be exactly Uncarried.
func TestGNUTar(t *testing.T) {
	fstest.RequireRoot(t)
	for _, tool := range []string{"tar", "setfattr"} {
		if _, err := exec.LookPath(tool); err != nil {
			fstest.Skipf(t, "%s is not installed", tool)
		}
	}
	base := t.TempDir()
	src := filepath.Join(base, "tree")
	makeImage(t, src)
	original := walkTree(t, src)
	xattrs := []string{"--xattrs", "--xattrs-include=*"}
	for _, c := range []struct {
		name     string
		create   []string // tar options before -f
		extract  []string
		original bool // the format carries all the tree has: compare with the tree itself too
	}{
		{"posix with xattrs", append(xattrs, "-c"), append(xattrs, "--numeric-owner", "-x"), true},
		{"posix sparse gzip", append(xattrs, "--sparse", "-cz"), append(xattrs, "--numeric-owner", "-x"), true},
		{"gnu format", []string{"--format=gnu", "-c"}, []string{"--numeric-owner", "-x"}, false},
		{"gnu sparse", []string{"--format=gnu", "--sparse", "-c"}, []string{"--numeric-owner", "-x"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			tarball := filepath.Join(dir, "image.tar")
			runTar(t, append(c.create, "-pf", tarball, "-C", src, ".")...)
			data, err := os.ReadFile(tarball)
			if err != nil {
				t.Fatal(err)
			}
			r := read(t, data, Options{})
			if r.err != nil {
				t.Fatal(r.err)
			}
			if len(r.warns) > 0 {
				t.Errorf("warnings: %q", r.warns)
			}
			if c.original {
				t.Run("tree", func(t *testing.T) { compareEntries(t, r.entries, original) })
			}
			ex := filepath.Join(dir, "extracted")
			if err := os.Mkdir(ex, 0o700); err != nil {
				t.Fatal(err)
			}
			runTar(t, append(c.extract, "-pf", tarball, "-C", ex)...)
			t.Run("extracted", func(t *testing.T) { compareEntries(t, r.entries, walkTree(t, ex)) })
		})
	}
}

// makeImage builds at root a tree with every kind of entry a tar carries.
func makeImage(t *testing.T, root string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	at := func(p string) string { return filepath.Join(root, p) }
	mkfile := func(p, body string, mode os.FileMode) {
		t.Helper()
		must(os.MkdirAll(filepath.Dir(at(p)), 0o755))
		must(os.WriteFile(at(p), []byte(body), 0o600))
		must(os.Chmod(at(p), mode)) // after the umask, with setuid and setgid
	}
	for _, d := range []string{"empty", "deep/a/b/c", "dev", "home/user", "tmp"} {
		must(os.MkdirAll(at(d), 0o755))
	}
	must(os.Chmod(at("tmp"), 0o777|os.ModeSticky))
	must(os.Chmod(at("home/user"), 0o700))
	must(os.Chown(at("home/user"), 1000, 1000))
	mkfile("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644)
	mkfile("bin/su", "su", 0o755|os.ModeSetuid)
	mkfile("bin/wall", "wall", 0o755|os.ModeSetgid)
	must(os.Chown(at("bin/wall"), 0, 5))
	mkfile("bin/ping", "ping", 0o755)
	mkfile("xattrs", "x", 0o644)
	for _, args := range [][]string{
		{"-n", "security.capability", "-v", "0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=", at("bin/ping")}, // cap_net_raw+p
		{"-n", "user.k", "-v", "val", at("xattrs")},
		{"-n", "user.empty", at("xattrs")},
		{"-n", "user.bin", "-v", "0x00ff01", at("xattrs")},
		{"-n", "user.dir", "-v", "d", at("home/user")},
	} {
		if out, err := exec.Command("setfattr", args...).CombinedOutput(); err != nil {
			t.Fatalf("setfattr %q: %v: %s", args, err, out)
		}
	}
	mkfile("hard/a", "linked", 0o640)
	must(os.Link(at("hard/a"), at("hard/b")))
	must(os.Link(at("hard/a"), at("deep/a/c")))
	must(os.Symlink("/etc", at("sym")))
	must(os.Symlink("../nowhere", at("deep/rel")))
	must(os.Symlink(strings.Repeat("t", 150), at("longlink")))
	must(os.Lchown(at("deep/rel"), 1000, 1000))
	must(unix.Mkfifo(at("fifo"), 0o600))
	must(unix.Mknod(at("dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(unix.Mknod(at("dev/loop0"), unix.S_IFBLK|0o660, int(unix.Mkdev(7, 0))))
	mkfile("name with space\nand newline", "odd", 0o644)
	mkfile("zero", "", 0o644)
	mkfile("long/"+strings.Repeat("l", 150), "long", 0o644)
	mkfile("deep/a/b/c/file", "deep", 0o644)
	mkfile("big", strings.Repeat("0123456789abcdef", 40<<10), 0o644) // more than the read buffer
	mkfile("owned", "owned", 0o644)
	must(os.Chown(at("owned"), 3000000000, 4000000000))
	mkfile("old", "old", 0o644)
	old := time.Date(1999, 1, 2, 3, 4, 5, 123456789, time.UTC)
	must(os.Chtimes(at("old"), old, old))
	f, err := os.Create(at("sparse"))
	must(err)
	must(f.Truncate(8 << 20))
	_, err = f.WriteAt([]byte("data in a hole"), 4<<20)
	must(err)
	must(f.Close())
}

// walkTree walks the tree at dir as an image: its recorded paths start at "/".
func walkTree(t *testing.T, dir string) []*tree.Entry {
	t.Helper()
	w := &walk.Walker{Prefix: dir, Roots: []walk.Root{{Path: "/"}},
		Warn: func(p string, err error) { t.Errorf("walk %s: %s: %v", dir, p, err) }}
	return fstest.Collect(t, w.Walk(context.Background()))
}

func runTar(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("tar", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("tar %q: %v: %s", args, err, stderr.String())
	}
}

// compareEntries checks that got (read from an archive) and want (walked) record the
// same paths, and that the attributes that differ are exactly those Uncarried names
// (size only for directories).
func compareEntries(t *testing.T, got, want []*tree.Entry) {
	t.Helper()
	uncarried, err := diff.ParseAttrs(Uncarried())
	if err != nil {
		t.Fatal(err)
	}
	// ext4, xfs and tmpfs count a directory's subdirectories in its links; btrfs does not.
	dirLinks := true
	for _, e := range want {
		if e.Type == tree.TypeDir && e.Nlink < 2 {
			dirLinks = false
			t.Logf("%s: this filesystem does not count subdirectories in nlink: not compared", e.Path)
			break
		}
	}
	var paths []string
	for _, e := range want {
		paths = append(paths, e.Path)
	}
	if len(got) != len(want) {
		var gp []string
		for _, e := range got {
			gp = append(gp, e.Path)
		}
		t.Fatalf("%d entries, want %d\n got: %q\nwant: %q", len(got), len(want), gp, paths)
	}
	var all diff.AttrSet
	checked := map[tree.Type]int{}
	for i, w := range want {
		g := got[i]
		if g.Path != w.Path {
			t.Fatalf("entry %d: path %q, want %q", i, g.Path, w.Path)
		}
		changed := diff.Compare(w, g, 0)
		if !dirLinks && w.Type == tree.TypeDir {
			changed &^= 1 << diff.AttrNlink
		}
		all |= changed
		allowed := uncarried
		if w.Type != tree.TypeDir {
			allowed &^= 1 << diff.AttrSize // only a directory's size is the filesystem's
		}
		if extra := changed &^ allowed; extra != 0 {
			t.Errorf("%s: %v differ: got %+v\nwant %+v", w.Path, extra.Strings(), *g, *w)
		}
		if gf, wf := g.Flags, w.Flags&^tree.FlagBtime; gf != wf {
			t.Errorf("%s: flags %#x, want %#x", w.Path, gf, wf)
		}
		checked[w.Type]++
	}
	if all != uncarried {
		t.Errorf("attributes that differ: %v, want exactly %v", all.Strings(), uncarried.Strings())
	}
	// The tree must have held what the test means it to.
	for _, typ := range []tree.Type{tree.TypeFile, tree.TypeDir, tree.TypeSymlink, tree.TypeFIFO, tree.TypeCharDev, tree.TypeBlockDev} {
		if checked[typ] == 0 {
			t.Errorf("no %v compared", typ)
		}
	}
}
