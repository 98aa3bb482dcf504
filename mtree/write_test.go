package mtree

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fim/internal/fstest"
	"fim/tree"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"
)

// hostileTree is a tree whose names and targets need every escape a spec has.
func hostileTree(t testing.TB, devices bool) fstest.Tree {
	t.Helper()
	tr := fstest.Tree{
		"etc/passwd":    fstest.File("root:x:0:0\n").Mode(0o644),
		"a file":        fstest.File("space"),
		"nl\nname":      fstest.File("newline"),
		"tab\tx":        fstest.File("tab"),
		"ünï":           fstest.File("utf-8"),
		"inv\xffalid":   fstest.File("invalid utf-8"),
		"\x01ctl\x7f":   fstest.File("control"),
		"hash#x":        fstest.File("hash"),
		"back\\slash":   fstest.File("backslash"),
		"gl*o?b[1]":     fstest.File("glob"),
		"=eq":           fstest.File("equals"),
		".hidden":       fstest.File("hidden"),
		"suid":          fstest.File("#!/bin/sh\n").Mode(0o4755),
		"hard":          fstest.Hardlink("suid"),
		"empty":         fstest.File(""),
		"link":          fstest.Link("a file"),
		"link2":         fstest.Link("tar get\n#x\\"),
		"fifo":          fstest.FIFO(),
		"sticky/":       fstest.Dir().Mode(0o1777),
		"sub/deep/f":    fstest.File("deep").At(time.Date(2020, 1, 1, 0, 0, 0, 123456789, time.UTC)),
		"old":           fstest.File("before 1970").At(time.Date(1960, 6, 1, 12, 0, 0, 500000000, time.UTC)),
		"sub/deep/big":  fstest.File(strings.Repeat("0123456789abcdef", 40000)),
		"sub/setgid/x/": fstest.Dir().Mode(0o2750),
	}
	if devices {
		tr["dev/null"] = fstest.CharDev(1, 3)
		tr["dev/sda1"] = fstest.BlockDev(8, 1)
		tr["dev/big"] = fstest.CharDev(4095, 1048575)
	}
	return tr
}

// TestWriteGolden pins the spec rendered from literal entries: header, leading
// directories, keyword order, escapes, times before 1970, devices, a file without hash.
func TestWriteGolden(t *testing.T) {
	h := blake3.Sum256([]byte("root:x:0:0\n"))
	entries := []*tree.Entry{
		{Path: "/etc", Type: tree.TypeDir, Mode: 0o755, Nlink: 2, Size: 4096, Mtime: 1700000000123456789},
		{Path: "/etc/passwd", Type: tree.TypeFile, Mode: 0o644, Nlink: 1, Size: 11, Mtime: 1700000000000000001, Hash: h, Flags: tree.FlagHashed},
		{Path: "/etc/sh adow", Type: tree.TypeFile, Mode: 0o640, GID: 42, Nlink: 1, Size: 1 << 40, Mtime: -1500000000, Flags: tree.FlagTooLarge},
		{Path: "/usr/bin/su", Type: tree.TypeFile, Mode: 0o4755, Nlink: 2, Size: 0, Mtime: 0, Hash: blake3.Sum256(nil), Flags: tree.FlagHashed},
		{Path: "/usr/bin/x\n#*?[=\\\xff\x01", Type: tree.TypeSymlink, Mode: 0o777, UID: 1000, GID: 1000, Nlink: 1, Size: 5, Mtime: 1, LinkTarget: "a b\tc"},
		{Path: "/usr/lib/dev", Type: tree.TypeCharDev, Mode: 0o666, Nlink: 1, Rdev: unix.Mkdev(1, 3), Mtime: 2},
		{Path: "/usr/lib/fifo", Type: tree.TypeFIFO, Mode: 0o600, Nlink: 1, Mtime: 3},
		{Path: "/var", Type: tree.TypeDir, Mode: 0o1777, Nlink: 2, Mtime: 4},
	}
	got := write(t, entries, WriteOptions{})
	fstest.Golden(t, filepath.Join("testdata", "write.golden"), []byte(got))
	// What Write wrote reads back as the entries it was given.
	back, uncarried, err := Entries(parse(t, got), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameCarried(t, back, entries, uncarried)
}

// TestWriteEmpty: a baseline with no entries still gives a spec mtree accepts.
func TestWriteEmpty(t *testing.T) {
	got := write(t, nil, WriteOptions{})
	if !strings.HasSuffix(got, "\n# fim-unrecorded\n. type=dir\n") {
		t.Errorf("empty spec:\n%s", got)
	}
}

// TestWriteStockMtree writes a verified sha256 spec of a hostile tree and has NetBSD
// mtree check the tree against it: clean at first, then each change is reported.
func TestWriteStockMtree(t *testing.T) {
	mtree := fstest.RequireTool(t, "mtree", "Debian package mtree-netbsd")
	devices := canMknod(t)
	for _, c := range []struct {
		name   string
		change func(t *testing.T, root string)
		want   []string // in mtree's report
	}{
		{"content, same size and time", func(t *testing.T, root string) {
			p := filepath.Join(root, "etc/passwd")
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("evil:x:0:0\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, st.ModTime(), st.ModTime()); err != nil {
				t.Fatal(err)
			}
		}, []string{"etc/passwd", "sha256 ("}},
		{"mode of an escaped name", func(t *testing.T, root string) {
			if err := os.Chmod(filepath.Join(root, "nl\nname"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"nl\nname", "permissions (0644, 0600)"}},
		{"symlink target", func(t *testing.T, root string) {
			p := filepath.Join(root, "link2")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("elsewhere", p); err != nil {
				t.Fatal(err)
			}
		}, []string{"link2", "link ref (elsewhere, "}},
		{"setuid bit", func(t *testing.T, root string) {
			if err := os.Chmod(filepath.Join(root, "suid"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, []string{"suid", "permissions (04755, 0755)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := fstest.Make(t, hostileTree(t, devices))
			spec := writeFile(t, t.TempDir(), "spec", write(t, walkTree(t, root), WriteOptions{SHA256: true, Root: root}))
			if out, code := command(t, mtree, "-f", spec, "-p", root); code != 0 || out != "" {
				t.Fatalf("mtree -f spec on the unchanged tree: exit %d\n%s", code, out)
			}
			c.change(t, root)
			out, code := command(t, mtree, "-f", spec, "-p", root)
			if code != 2 {
				t.Errorf("mtree after the change: exit %d, want 2\n%s", code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("mtree report lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestWriteMtreeTools has NetBSD mtree and go-mtree verify a sha256 spec whose recorded
// paths sit below directories the baseline did not record: each tool accepts the spec
// and the unchanged tree, and reports a changed file.
func TestWriteMtreeTools(t *testing.T) {
	tools := []struct {
		name string
		argv func(spec, root string) []string
	}{
		{fstest.RequireTool(t, "mtree", "Debian package mtree-netbsd"), func(spec, root string) []string { return []string{"-e", "-f", spec, "-p", root} }},
		{fstest.RequireTool(t, "gomtree", "make bin/gomtree"), func(spec, root string) []string {
			return []string{"validate", "-f", spec, "-p", root}
		}},
	}
	for _, tool := range tools {
		t.Run(filepath.Base(tool.name), func(t *testing.T) {
			root := fstest.Make(t, fstest.Tree{"usr/lib/a": fstest.File("alpha\n"), "usr/lib/sub/b": fstest.File("beta\n"), "etc/deep/c": fstest.File("gamma\n")})
			var entries []*tree.Entry
			for _, e := range walkTree(t, root) {
				if e.Path != "/" && e.Path != "/usr" && e.Path != "/etc" && e.Path != "/etc/deep" {
					entries = append(entries, e)
				}
			}
			text := write(t, entries, WriteOptions{SHA256: true, Root: root})
			if !strings.Contains(text, "\n# fim-unrecorded\n./etc/deep type=dir\n") {
				t.Fatalf("no unrecorded directory in the spec:\n%s", text)
			}
			spec := writeFile(t, t.TempDir(), "spec", text)
			if out, code := command(t, tool.name, tool.argv(spec, root)...); code != 0 {
				t.Fatalf("%s on the unchanged tree: exit %d\n%s\nspec:\n%s", tool.name, code, out, text)
			}
			// fim reads its own export back without the unrecorded directories.
			back, _, err := Entries(parse(t, text), ImportOptions{Root: root})
			if err != nil {
				t.Fatal(err)
			}
			if len(back) != len(entries) {
				t.Errorf("read back %d entries, wrote %d", len(back), len(entries))
			}
			if err := os.WriteFile(filepath.Join(root, "etc/deep/c"), []byte("GAMMA\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, code := command(t, tool.name, tool.argv(spec, root)...); code == 0 || !strings.Contains(out, "etc/deep/c") {
				t.Errorf("%s after a change: exit %d, want a failure naming etc/deep/c\n%s", tool.name, code, out)
			}
		})
	}
}

// TestWriteBlake3RefusedByStockMtree documents why the default spec is for fim only:
// stock mtree refuses the blake3digest keyword.
func TestWriteBlake3RefusedByStockMtree(t *testing.T) {
	mtree := fstest.RequireTool(t, "mtree", "Debian package mtree-netbsd")
	root := fstest.Make(t, fstest.Tree{"f": fstest.File("x")})
	spec := writeFile(t, t.TempDir(), "spec", write(t, walkTree(t, root), WriteOptions{}))
	out, code := command(t, mtree, "-f", spec, "-p", root)
	if code != 1 || !strings.Contains(out, "blake3digest") {
		t.Errorf("mtree on a blake3 spec: exit %d\n%s", code, out)
	}
}

// TestWriteDrift: a file that changed since the baseline fails a sha256 export and is
// named, rather than have its new content written as golden.
func TestWriteDrift(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(root string) error
		want   string
	}{
		{"content", func(root string) error { return os.WriteFile(filepath.Join(root, "d/f x"), []byte("drifted"), 0o644) },
			"content differs from the baseline"},
		{"replaced by a symlink", func(root string) error {
			p := filepath.Join(root, "d/f x")
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.Symlink("/etc/passwd", p)
		}, "is a symlink, not a regular file"},
		{"parent replaced by a symlink", func(root string) error {
			if err := os.Rename(filepath.Join(root, "d"), filepath.Join(root, "e")); err != nil {
				return err
			}
			return os.Symlink("e", filepath.Join(root, "d"))
		}, "too many levels of symbolic links"},
		{"replaced by a FIFO", func(root string) error {
			p := filepath.Join(root, "d/f x")
			if err := os.Remove(p); err != nil {
				return err
			}
			return unix.Mkfifo(p, 0o644)
		}, "is a fifo, not a regular file"},
		{"removed", func(root string) error { return os.Remove(filepath.Join(root, "d/f x")) }, "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := fstest.Make(t, fstest.Tree{"d/f x": fstest.File("golden"), "d/g": fstest.File("g")})
			entries := walkTree(t, root)
			if err := c.change(root); err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			err := Write(&b, tree.Entries(entries), WriteOptions{SHA256: true, Root: root})
			if err == nil || !strings.Contains(err.Error(), root+`/d/f\040x`) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Write = %v, want an error naming %s/d/f\\040x: %s", err, root, c.want)
			}
		})
	}
}

// TestWriteUnhashed: with SHA256, a file the baseline holds no hash of is written
// without a digest, and said so.
func TestWriteUnhashed(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{"big": fstest.File("too large"), "ok": fstest.File("ok")})
	entries := walkTree(t, root)
	for _, e := range entries {
		if e.Path == "/big" {
			e.Flags, e.Hash = tree.FlagTooLarge, [32]byte{}
		}
	}
	var warned []string
	got := write(t, entries, WriteOptions{SHA256: true, Root: root, Warn: func(p string, err error) {
		if !errors.Is(err, errNoHash) {
			t.Errorf("warning for %s: %v", p, err)
		}
		warned = append(warned, p)
	}})
	if len(warned) != 1 || warned[0] != "/big" {
		t.Errorf("warned for %q, want /big", warned)
	}
	for _, line := range strings.Split(got, "\n") {
		switch {
		case strings.HasPrefix(line, "./big "):
			if strings.Contains(line, "digest") {
				t.Errorf("unhashed file written with a digest: %s", line)
			}
		case strings.HasPrefix(line, "./ok "):
			if sum := sha256.Sum256([]byte("ok")); !strings.Contains(line, " sha256digest="+hex.EncodeToString(sum[:])) {
				t.Errorf("sha256 of ok missing: %s", line)
			}
		}
	}
}

// TestWriteBadInput: entries that no spec can hold fail with the entry named.
func TestWriteBadInput(t *testing.T) {
	dir := func(p string) *tree.Entry { return &tree.Entry{Path: p, Type: tree.TypeDir, Nlink: 2} }
	fileAt := func(p string) *tree.Entry { return &tree.Entry{Path: p, Type: tree.TypeFile, Nlink: 1} }
	for _, c := range []struct {
		name    string
		entries []*tree.Entry
		want    string
	}{
		{"out of order", []*tree.Entry{dir("/b"), dir("/a")}, "entry ./a after ./b: not in key order"},
		{"repeated", []*tree.Entry{dir("/a"), dir("/a")}, "not in key order"},
		{"slash orders first", []*tree.Entry{dir("/a-b"), dir("/a/c")}, "entry ./a/c after ./a-b"},
		{"relative", []*tree.Entry{dir("a")}, "entry a: not an absolute path"},
		{"inside a file", []*tree.Entry{fileAt("/f"), fileAt("/f/g")}, "entry ./f/g: inside ./f, a file"},
		{"unknown type", []*tree.Entry{{Path: "/x"}}, "entry ./x: type unknown has no mtree name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			err := Write(&b, tree.Entries(c.entries), WriteOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Write = %v, want %q", err, c.want)
			}
		})
	}
}

// TestAppendTime: mtree's seconds.nanoseconds, floored before 1970.
func TestAppendTime(t *testing.T) {
	for _, c := range []struct {
		ns   int64
		want string
	}{
		{0, "0.000000000"},
		{1, "0.000000001"},
		{1577836800123456789, "1577836800.123456789"},
		{-1, "-1.999999999"},
		{-1500000000, "-2.500000000"},
		{-2000000000, "-2.000000000"},
	} {
		got := string(appendTime(nil, c.ns))
		if got != c.want {
			t.Errorf("appendTime(%d) = %s, want %s", c.ns, got, c.want)
		}
		if back, err := parseTime(got); err != nil || back != c.ns {
			t.Errorf("parseTime(%s) = %d, %v; want %d", got, back, err, c.ns)
		}
	}
}
