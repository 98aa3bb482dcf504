package mtree

import (
	"crypto/sha256"
	"encoding/hex"
	"fim/internal/fstest"
	"fim/tree"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"
)

// alwaysUncarried are the attributes no spec carries.
var alwaysUncarried = []string{"xattrs", "ctime", "inode", "device"}

// importSpec parses text and imports it.
func importSpec(t testing.TB, text string, opt ImportOptions) ([]*tree.Entry, []string) {
	t.Helper()
	got, uncarried, err := Entries(parse(t, text), opt)
	if err != nil {
		t.Fatalf("Entries: %v\n%s", err, text)
	}
	return got, uncarried
}

// TestRoundTrip: walk a tree, Write it, Parse and import it with the tree as Root: the
// entries are the walked ones in every carried attribute, and only what no spec holds
// is uncarried. Without a Root, a fim spec still carries content (blake3digest) and
// directory sizes; a sha256 spec neither.
func TestRoundTrip(t *testing.T) {
	devices := canMknod(t)
	root := fstest.Make(t, hostileTree(t, devices))
	walked := walkTree(t, root)
	for _, c := range []struct {
		name      string
		write     WriteOptions
		root      string
		uncarried []string
		warns     int // that content will not be compared
	}{
		{"fim spec, with the tree", WriteOptions{}, root, alwaysUncarried, 0},
		{"sha256 spec, with the tree", WriteOptions{SHA256: true, Root: root}, root, alwaysUncarried, 0},
		{"fim spec, without the tree", WriteOptions{}, "", alwaysUncarried, 0},
		{"sha256 spec, without the tree", WriteOptions{SHA256: true, Root: root}, "", []string{"content", "size", "xattrs", "ctime", "inode", "device"}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := write(t, walked, c.write)
			var warns []string
			got, uncarried := importSpec(t, spec, ImportOptions{Root: c.root, Warn: func(m string) { warns = append(warns, m) }})
			if !slices.Equal(uncarried, c.uncarried) {
				t.Errorf("uncarried %q, want %q", uncarried, c.uncarried)
			}
			if len(warns) != c.warns {
				t.Errorf("warnings: %q", warns)
			}
			sameCarried(t, got, walked, uncarried)
		})
	}
}

// TestImportNetBSD imports specs that NetBSD mtree -c writes of a tree, with that layout
// as Root: the entries are the walked ones in every attribute the keywords carry.
func TestImportNetBSD(t *testing.T) {
	mtree := fstest.RequireTool(t, "mtree", "Debian package mtree-netbsd")
	devices := canMknod(t)
	root := fstest.Make(t, hostileTree(t, devices))
	walked := walkTree(t, root)
	rdev := func(s ...string) []string {
		if devices {
			return append(s, "rdev")
		}
		return s
	}
	for _, c := range []struct {
		args      []string
		uncarried []string
	}{
		{[]string{"-K", "sha256digest,uid,gid,mode,size,time,link,type"}, append(rdev(), alwaysUncarried...)},
		{[]string{"-K", "sha512digest,device"}, alwaysUncarried},
		{[]string{"-k", "type,sha1digest,link,time,uid,gid,mode"}, append(rdev("nlink"), alwaysUncarried...)},
		{[]string{"-k", "type,md5digest"}, append(rdev("size", "link_target", "mtime", "mode", "uid", "gid"), append([]string{"nlink"}, alwaysUncarried...)...)},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out, code := command(t, mtree, append([]string{"-c", "-p", root}, c.args...)...)
			if code != 0 {
				t.Fatalf("mtree -c: exit %d\n%s", code, out)
			}
			got, uncarried := importSpec(t, out, ImportOptions{Root: root})
			slices.Sort(uncarried)
			want := slices.Sorted(slices.Values(c.uncarried))
			if !slices.Equal(uncarried, want) {
				t.Errorf("uncarried %q, want %q", uncarried, want)
			}
			sameCarried(t, got, walked, uncarried)
		})
	}
}

// TestImportBsdtar imports the spec bsdtar writes of a tree, with every keyword it has.
func TestImportBsdtar(t *testing.T) {
	bsdtar := fstest.RequireTool(t, "bsdtar", "Debian package libarchive-tools")
	devices := canMknod(t)
	root := fstest.Make(t, hostileTree(t, devices))
	walked := walkTree(t, root)
	spec := filepath.Join(t.TempDir(), "spec")
	if out, code := command(t, bsdtar, "-cf", spec, "--format=mtree", "--options", "mtree:all", "-C", root, "."); code != 0 {
		t.Fatalf("bsdtar: exit %d\n%s", code, out)
	}
	text, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	got, uncarried := importSpec(t, string(text), ImportOptions{Root: root})
	// bsdtar writes nlink only where it is above 1, and never for directories.
	if want := append(slices.Clone(alwaysUncarried), "nlink"); !slices.Equal(uncarried, want) {
		t.Errorf("uncarried %q, want %q", uncarried, want)
	}
	sameCarried(t, got, walked, uncarried)
}

// TestImportRefusesDrift: with a Root, a file whose content does not match the spec's
// strongest digest fails the import and is named; so does one that is no longer a
// regular file, or is reached through a symlink.
func TestImportRefusesDrift(t *testing.T) {
	golden := sha256.Sum256([]byte("golden"))
	spec := "#mtree\n. type=dir\n./d type=dir\n./d/f\\040x type=file " +
		"md5digest=00000000000000000000000000000000 " + // weaker, and wrong: not the one checked
		"sha256digest=" + hex.EncodeToString(golden[:]) + "\n"
	for _, c := range []struct {
		name   string
		change func(root string) error
		want   string
	}{
		{"unchanged", func(string) error { return nil }, ""},
		{"content", func(root string) error { return os.WriteFile(filepath.Join(root, "d/f x"), []byte("drifted"), 0o644) },
			`spec:4: ./d/f\040x: sha256digest differs: ROOT/d/f\040x is `},
		{"a symlink to the right content", func(root string) error {
			p := filepath.Join(root, "d/f x")
			if err := os.Rename(p, filepath.Join(root, "elsewhere")); err != nil {
				return err
			}
			return os.Symlink("../elsewhere", p)
		}, `spec:4: ./d/f\040x: ROOT/d/f\040x is a symlink, not a regular file`},
		{"a directory through a symlink", func(root string) error {
			if err := os.Rename(filepath.Join(root, "d"), filepath.Join(root, "e")); err != nil {
				return err
			}
			return os.Symlink("e", filepath.Join(root, "d"))
		}, `spec:3: ./d: ROOT/d is a symlink, not a directory`},
		{"a FIFO", func(root string) error {
			p := filepath.Join(root, "d/f x")
			if err := os.Remove(p); err != nil {
				return err
			}
			return unix.Mkfifo(p, 0o644)
		}, `spec:4: ./d/f\040x: ROOT/d/f\040x is a fifo, not a regular file`},
		{"missing", func(root string) error { return os.Remove(filepath.Join(root, "d/f x")) },
			`spec:4: ./d/f\040x: ROOT/d/f\040x: no such file or directory`},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := fstest.Make(t, fstest.Tree{"d/f x": fstest.File("golden")})
			if err := c.change(root); err != nil {
				t.Fatal(err)
			}
			got, _, err := Entries(parse(t, spec), ImportOptions{Root: root})
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if e := got[len(got)-1]; !e.Hashed() || e.Hash != blake3.Sum256([]byte("golden")) || e.Size != 6 {
					t.Errorf("imported %+v, want the BLAKE3 and size of the verified file", *e)
				}
				return
			}
			want := strings.ReplaceAll(c.want, "ROOT", root)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Entries = %v\nwant %s…", err, want)
			}
		})
	}
}

// TestImportWithoutRoot: no tree, no hashes but blake3digest ones, one warning per kind
// of file whose content will not be compared.
func TestImportWithoutRoot(t *testing.T) {
	b3 := blake3.Sum256([]byte("x"))
	for _, c := range []struct {
		name, spec string
		hashed     []string
		uncarried  string
		warns      []string
	}{
		{"sha256 digests", ". type=dir size=1\na type=file sha256=" + strings.Repeat("0", 64) + "\nb type=file sha256=" + strings.Repeat("1", 64) + "\n",
			nil, "content", []string{"spec: no tree given to check digests against: the content of 2 files will not be compared"}},
		{"no digests", ". type=dir size=1\na type=file\nb type=file cksum=1 rmd160=" + strings.Repeat("0", 40) + "\n",
			nil, "content", []string{"spec: 2 files carry no digest fim can check (blake3, sha512, sha384, sha256, sha1 or md5): their content will not be compared"}},
		{"blake3 and sha256", ". type=dir size=1\na type=file blake3digest=" + strings.Repeat("0", 64) + "\nb type=file sha256=" + strings.Repeat("1", 64) + "\n",
			[]string{"/a"}, "", []string{"spec: no tree given to check digests against: the content of 1 file will not be compared"}},
		{"blake3 only", ". type=dir size=1\na type=file blake3digest=" + strings.Repeat("0", 64) + "\n", []string{"/a"}, "", nil},
		{"no files", ". type=dir size=1\n", nil, "", nil},
		{"blake3 of x", ". type=dir size=1\nx type=file blake3digest=" + hex.EncodeToString(b3[:]) + "\n", []string{"/x"}, "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var warns []string
			got, uncarried := importSpec(t, c.spec, ImportOptions{Warn: func(m string) { warns = append(warns, m) }})
			var hashed []string
			for _, e := range got {
				if e.Hashed() {
					hashed = append(hashed, e.Path)
				}
			}
			if !slices.Equal(hashed, c.hashed) {
				t.Errorf("hashed %q, want %q", hashed, c.hashed)
			}
			if slices.Contains(uncarried, "content") != (c.uncarried == "content") {
				t.Errorf("uncarried %q", uncarried)
			}
			if !slices.Equal(warns, c.warns) {
				t.Errorf("warnings %q, want %q", warns, c.warns)
			}
		})
	}
}

// TestEntries pins how keywords become entries: derived values, number forms, what is
// skipped, the key order of the result.
func TestEntries(t *testing.T) {
	for _, c := range []struct {
		name, spec string
		opt        ImportOptions
		want       []tree.Entry
		uncarried  []string
	}{
		{"derived sizes and modes; key order",
			"/set uid=1 gid=2 mode=0644 nlink=1 time=5.000000006\n. type=dir size=4096 mode=0755\n" +
				"a-b type=fifo\na type=dir size=10\n./a/l type=link link=x\\040y\n./a/s type=socket mode=0600\n",
			ImportOptions{}, []tree.Entry{
				{Path: "/", Type: tree.TypeDir, Mode: 0o755, UID: 1, GID: 2, Nlink: 1, Size: 4096, Mtime: 5000000006},
				{Path: "/a", Type: tree.TypeDir, Mode: 0o644, UID: 1, GID: 2, Nlink: 1, Size: 10, Mtime: 5000000006},
				{Path: "/a/l", Type: tree.TypeSymlink, Mode: 0o644, UID: 1, GID: 2, Nlink: 1, Size: 3, Mtime: 5000000006, LinkTarget: "x y"},
				{Path: "/a/s", Type: tree.TypeSocket, Mode: 0o600, UID: 1, GID: 2, Nlink: 1, Mtime: 5000000006},
				{Path: "/a-b", Type: tree.TypeFIFO, Mode: 0o644, UID: 1, GID: 2, Nlink: 1, Mtime: 5000000006},
			}, alwaysUncarried},
		{"a symlink's mode is 0777; without link, neither target nor size is known",
			"#mtree\n./l type=link\n", ImportOptions{},
			[]tree.Entry{{Path: "/l", Type: tree.TypeSymlink, Mode: 0o777}},
			[]string{"size", "link_target", "mtime", "uid", "gid", "xattrs", "ctime", "inode", "device", "nlink"}},
		{"device forms",
			"#mtree\n./a type=char device=0x103\n./b type=block device=native,8,1\n./c type=char device=linux,4095,1048575\n./d type=char device=259\n./e type=file device=1\n",
			ImportOptions{}, []tree.Entry{
				{Path: "/a", Type: tree.TypeCharDev, Rdev: unix.Mkdev(1, 3)},
				{Path: "/b", Type: tree.TypeBlockDev, Rdev: unix.Mkdev(8, 1)},
				{Path: "/c", Type: tree.TypeCharDev, Rdev: unix.Mkdev(4095, 1048575)},
				{Path: "/d", Type: tree.TypeCharDev, Rdev: unix.Mkdev(1, 3)},
				{Path: "/e", Type: tree.TypeFile},
			}, []string{"content", "size", "mtime", "mode", "uid", "gid", "xattrs", "ctime", "inode", "device", "nlink"}},
		{"times", "#mtree\n./a type=fifo time=0\n./b type=fifo time=1.5\n./c type=fifo time=-2.500000000\n./d type=fifo time=1614834367.890123456\n",
			ImportOptions{}, []tree.Entry{
				{Path: "/a", Type: tree.TypeFIFO},
				{Path: "/b", Type: tree.TypeFIFO, Mtime: 1000000005},
				{Path: "/c", Type: tree.TypeFIFO, Mtime: -1500000000},
				{Path: "/d", Type: tree.TypeFIFO, Mtime: 1614834367890123456},
			}, []string{"mode", "uid", "gid", "xattrs", "ctime", "inode", "device", "nlink"}},
		{"fim-unrecorded directories are skipped, and so is what no entry is",
			"#mtree\n/set nlink=1\n. type=dir tags=fim-unrecorded\n./usr type=dir tags=a,fim-unrecorded\n./usr/bin type=dir mode=0755 uid=0 gid=0 time=1 size=1 tags=other\n",
			ImportOptions{}, []tree.Entry{{Path: "/usr/bin", Type: tree.TypeDir, Mode: 0o755, Nlink: 1, Size: 1, Mtime: 1e9}}, alwaysUncarried},
		{"directories after the fim-unrecorded comment are skipped; the comment marks the next line only",
			"#mtree\n# fim-unrecorded\n. type=dir\n/set nlink=1\n# fim-unrecorded \n./usr type=dir\n# fim-unrecorded\n\n" +
				"./usr/bin type=dir mode=0755 uid=0 gid=0 time=1 size=1\n# fim-unrecorded: not the marker\n./var type=dir mode=0700 uid=0 gid=0 time=2 size=2\n",
			ImportOptions{}, []tree.Entry{
				{Path: "/usr/bin", Type: tree.TypeDir, Mode: 0o755, Nlink: 1, Size: 1, Mtime: 1e9},
				{Path: "/var", Type: tree.TypeDir, Mode: 0o700, Nlink: 1, Size: 2, Mtime: 2e9},
			}, alwaysUncarried},
		{"names resolved when asked", "#mtree\n./a type=fifo uname=root gname=root\n./b type=fifo uname=nobody-such uid=7 gname=root gid=8\n",
			ImportOptions{LookupNames: true}, []tree.Entry{
				{Path: "/a", Type: tree.TypeFIFO},
				{Path: "/b", Type: tree.TypeFIFO, UID: 7, GID: 8},
			}, []string{"mtime", "mode", "xattrs", "ctime", "inode", "device", "nlink"}},
		{"names left out unless asked", "#mtree\n./a type=fifo uname=root gname=root\n",
			ImportOptions{}, []tree.Entry{{Path: "/a", Type: tree.TypeFIFO}},
			[]string{"mtime", "mode", "uid", "gid", "xattrs", "ctime", "inode", "device", "nlink"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, uncarried := importSpec(t, c.spec, c.opt)
			var g []tree.Entry
			for _, e := range got {
				g = append(g, *e)
			}
			if !slices.EqualFunc(g, c.want, func(a, b tree.Entry) bool {
				return a.Path == b.Path && a.Type == b.Type && a.Mode == b.Mode && a.UID == b.UID && a.GID == b.GID &&
					a.Size == b.Size && a.Mtime == b.Mtime && a.Nlink == b.Nlink && a.Rdev == b.Rdev &&
					a.LinkTarget == b.LinkTarget && a.Flags == b.Flags
			}) {
				t.Errorf("entries\n got: %+v\nwant: %+v", g, c.want)
			}
			slices.Sort(uncarried)
			want := slices.Sorted(slices.Values(c.uncarried))
			if !slices.Equal(uncarried, want) {
				t.Errorf("uncarried %q, want %q", uncarried, want)
			}
		})
	}
}

// TestEntriesOptional: with a Root, an optional entry missing from the tree is skipped;
// one that is there is recorded.
func TestEntriesOptional(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{"here": fstest.File("x")})
	got, _ := importSpec(t, ". type=dir\nhere type=file optional\ngone type=file optional\n", ImportOptions{Root: root})
	var paths []string
	for _, e := range got {
		paths = append(paths, e.Path)
	}
	if !slices.Equal(paths, []string{"/", "/here"}) {
		t.Errorf("recorded %q", paths)
	}
}

// TestEntriesErrors: a bad value fails with the spec, line and path named, on one line.
func TestEntriesErrors(t *testing.T) {
	dir := fstest.Make(t, fstest.Tree{"f": fstest.File("x"), "d/": fstest.Dir()})
	for _, c := range []struct {
		spec string
		opt  ImportOptions
		want string
	}{
		{". type=dir\nf mode=0644\n", ImportOptions{}, "spec:2: ./f: no type"},
		{". type=dir\nf type=door\n", ImportOptions{}, `spec:2: ./f: unknown type "door"`},
		{". type=dir\nf type=file mode=u+rwx\n", ImportOptions{}, "spec:2: ./f: mode=u+rwx: not an octal mode (symbolic modes are not read)"},
		{". type=dir\nf type=file mode=017777\n", ImportOptions{}, "spec:2: ./f: mode=017777: not an octal mode"},
		{". type=dir\nf type=file uid=-1\n", ImportOptions{}, "spec:2: ./f: uid=-1: not a numeric id"},
		{". type=dir\nf type=file gid=4294967296\n", ImportOptions{}, "spec:2: ./f: gid=4294967296: not a numeric id"},
		{". type=dir\nf type=file size=-1\n", ImportOptions{}, "spec:2: ./f: size=-1: not a byte count"},
		{". type=dir\nf type=file nlink=x\n", ImportOptions{}, "spec:2: ./f: nlink=x: not a link count"},
		{". type=dir\nf type=file time=1.1000000000\n", ImportOptions{}, "spec:2: ./f: time=1.1000000000: nanoseconds not within 0 and 999999999"},
		{". type=dir\nf type=file time=1.-1\n", ImportOptions{}, "spec:2: ./f: time=1.-1: nanoseconds not within"},
		{". type=dir\nf type=file time=x\n", ImportOptions{}, "spec:2: ./f: time=x: not seconds[.nanoseconds]"},
		{". type=dir\nf type=file time=9300000000\n", ImportOptions{}, "spec:2: ./f: time=9300000000: out of range"},
		{". type=dir\nf type=link link=a\\q\n", ImportOptions{}, `spec:2: ./f: link=a\q: unknown escape "\\q"`},
		{". type=dir\nf type=char device=freebsd,1,2\n", ImportOptions{}, `spec:2: ./f: device=freebsd,1,2: device format "freebsd" not read (want native or linux)`},
		{". type=dir\nf type=char device=native,x,2\n", ImportOptions{}, "spec:2: ./f: device=native,x,2: major and minor must be numbers"},
		{". type=dir\nf type=char device=1,2\n", ImportOptions{}, "spec:2: ./f: device=1,2: want a number or format,major,minor"},
		{". type=dir\nf type=char device=zz\n", ImportOptions{}, "spec:2: ./f: device=zz: not a device number"},
		{". type=dir\nf type=file sha256=abc\n", ImportOptions{}, `spec:2: ./f: sha256digest "abc" is not 64 hex digits`},
		{". type=dir\nf type=file md5=" + strings.Repeat("g", 32) + "\n", ImportOptions{}, `spec:2: ./f: md5digest "gggggggggggggggggggggggggggggggg" is not 32 hex digits`},
		{". type=dir\nf type=fifo uname=no-such-user-here\n", ImportOptions{LookupNames: true}, "spec:2: ./f: uname no-such-user-here: user: unknown user no-such-user-here"},
		{". type=dir\nf type=fifo gname=no-such-group-here\n", ImportOptions{LookupNames: true}, "spec:2: ./f: gname no-such-group-here: group: unknown group no-such-group-here"},
		{". type=dir\nf type=dir\n", ImportOptions{Root: dir}, "spec:2: ./f: " + dir + "/f is a file, not a directory"},
		{". type=dir\nmissing type=dir\n", ImportOptions{Root: dir}, "spec:2: ./missing: " + dir + "/missing: no such file or directory"},
		{". type=dir\n", ImportOptions{Root: dir + "/nonexistent"}, "open tree " + dir + "/nonexistent: no such file or directory"},
		{". type=dir tags=fim-unrecorded\n./d type=dir tags=fim-unrecorded\n", ImportOptions{}, "spec: no entries to record: every entry is marked fim-unrecorded, or optional and missing"},
		{"./gone type=file optional\n./d/gone type=file optional\n", ImportOptions{Root: dir}, "spec: no entries to record"},
	} {
		_, _, err := Entries(parse(t, c.spec), c.opt)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Entries(%q) = %v\nwant %s", c.spec, err, c.want)
		}
	}
}
