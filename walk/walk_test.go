package walk

import (
	"context"
	"errors"
	"fim/internal/fstest"
	"fim/tree"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"
)

func TestOrder(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{
		"a/x":     fstest.File("x"),
		"a-b":     fstest.File(""),
		"a.b":     fstest.File(""),
		"ab":      fstest.File(""),
		"a\x01":   fstest.File(""),
		"\x01":    fstest.File(""),
		"\xff":    fstest.File(""),
		"a\xff/y": fstest.File(""),
		"b/\x01":  fstest.File(""),
		"b/a":     fstest.File(""),
		"b/a b":   fstest.File(""),
		"b/~":     fstest.Dir(),
	})

	r := walkDir(t, root, Options{})
	// Written out rather than sorted with ComparePaths, which is under test too.
	want := []string{".", "\x01", "a", "a/x", "a\x01", "a-b", "a.b", "ab", "a\xff", "a\xff/y",
		"b", "b/\x01", "b/a", "b/a b", "b/~", "\xff"}
	diffPaths(t, r.paths(), want)
}

// TestWorkersAgree walks one tree with several worker counts: the entries, compared in
// full, must be the same every time.
func TestWorkersAgree(t *testing.T) {
	tr := fstest.Tree{}
	const dirs, files = 12, 25
	for d := range dirs {
		for f := range files {
			tr[fmt.Sprintf("d%02d/f%02d", d, f)] = fstest.Blob(d*1000+f*37, byte(d+f))
		}
		tr[fmt.Sprintf("d%02d/sub/big", d)] = fstest.Blob(300<<10+d, byte(d))
		tr[fmt.Sprintf("d%02d/l", d)] = fstest.Link("f00")
		tr[fmt.Sprintf("d%02d-x", d)] = fstest.File("x")
	}
	root := fstest.Make(t, tr)
	var first []*tree.Entry
	for _, workers := range []int{1, 8, 1, 2, 0} {
		r := run(t, &Walker{Workers: workers, Roots: []Root{{Path: root}}})
		if r.err != nil {
			t.Fatal(r.err)
		}
		if want := 1 + dirs*(1+files+3+1); len(r.entries) != want {
			t.Fatalf("workers %d: %d entries, want %d", workers, len(r.entries), want)
		}
		if first == nil {
			first = r.entries
			continue
		}
		for i := range first {
			if !reflect.DeepEqual(first[i], r.entries[i]) {
				t.Fatalf("workers %d: entry %d differs from workers 1:\n got %+v\nwant %+v", workers, i, r.entries[i], first[i])
			}
		}
	}
}

// typeOf maps an io/fs mode to a Type independently of TypeFromMode.
func typeOf(m fs.FileMode) tree.Type {
	switch {
	case m.IsRegular():
		return tree.TypeFile
	case m.IsDir():
		return tree.TypeDir
	case m&fs.ModeSymlink != 0:
		return tree.TypeSymlink
	case m&fs.ModeNamedPipe != 0:
		return tree.TypeFIFO
	case m&fs.ModeSocket != 0:
		return tree.TypeSocket
	case m&fs.ModeCharDevice != 0:
		return tree.TypeCharDev
	case m&fs.ModeDevice != 0:
		return tree.TypeBlockDev
	}
	return tree.TypeUnknown
}

// checkStat compares every stat field of e with what os.Lstat (os.Stat when follow)
// and statx report for real.
func checkStat(t testing.TB, e *tree.Entry, real string, follow bool) {
	t.Helper()
	stat, flags := os.Lstat, unix.AT_SYMLINK_NOFOLLOW
	if follow {
		stat, flags = os.Stat, 0
	}
	fi, err := stat(real)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, real, flags, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &stx); err != nil {
		t.Fatal(err)
	}
	want := tree.Entry{
		Type: typeOf(fi.Mode()), Mode: st.Mode & 0o7777, UID: st.Uid, GID: st.Gid, Size: st.Size,
		Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(), Inode: st.Ino, Device: st.Dev, Nlink: st.Nlink,
	}
	if want.Type == tree.TypeCharDev || want.Type == tree.TypeBlockDev {
		want.Rdev = st.Rdev
	}
	if stx.Mask&unix.STATX_BTIME != 0 {
		want.Btime = stx.Btime.Sec*1e9 + int64(stx.Btime.Nsec)
		want.Flags = tree.FlagBtime
	}
	got := tree.Entry{
		Type: e.Type, Mode: e.Mode, UID: e.UID, GID: e.GID, Size: e.Size, Mtime: e.Mtime, Ctime: e.Ctime,
		Inode: e.Inode, Device: e.Device, Nlink: e.Nlink, Rdev: e.Rdev, Btime: e.Btime, Flags: e.Flags & tree.FlagBtime,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: stat\n got %+v\nwant %+v", e.Path, got, want)
	}
}

// listXattrs reads a path's extended attributes independently of readXattrs.
func listXattrs(t testing.TB, real string) []tree.Xattr {
	t.Helper()
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(real, buf)
	if err != nil {
		t.Fatal(err)
	}
	var xs []tree.Xattr
	for name := range strings.SplitSeq(strings.TrimSuffix(string(buf[:n]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		v := make([]byte, 64<<10)
		k, err := unix.Lgetxattr(real, name, v)
		if err != nil {
			t.Fatal(err)
		}
		xs = append(xs, tree.Xattr{Name: name, Value: v[:k]})
	}
	slices.SortFunc(xs, func(a, b tree.Xattr) int { return strings.Compare(a.Name, b.Name) })
	return xs
}

func TestAttributes(t *testing.T) {
	fstest.RequireRoot(t)
	contents := map[string]string{
		"empty":      "",
		"small":      "hello, world\n",
		"256KiB":     fstest.BlobData(256<<10, 1),
		"256KiB+1":   fstest.BlobData(256<<10+1, 2),
		"multi-MB":   fstest.BlobData(5<<20+3, 3),
		"256KiB-1":   fstest.BlobData(256<<10-1, 4),
		"2x256KiB":   fstest.BlobData(512<<10, 5),
		"capability": "#!/bin/true\n",
	}
	var many []string
	for i := range 40 {
		many = append(many, fmt.Sprintf("user.a-rather-long-attribute-name-%02d", i))
	}
	tr := fstest.Tree{
		"setuid":      fstest.File("x").Mode(0o4755),
		"setgid":      fstest.File("x").Mode(0o2711),
		"owned":       fstest.File("x").Owner(1234, 5678).Mode(0o640),
		"xattrs":      fstest.File("x").Mode(0o644).Xattr("user.fim.b", "2").Xattr("user.fim.a", strings.Repeat("v", 3000)),
		"many-xattrs": fstest.File("x").Mode(0o644),
		"sticky/":     fstest.Dir().Mode(0o1777),
		"owned-dir/":  fstest.Dir().Owner(1234, 5678).Mode(0o750),
		"link":        fstest.Link("small").Owner(1234, 5678),
		"dangling":    fstest.Link("does/not/exist"),
		"long-link":   fstest.Link(strings.Repeat("l/", 1500)),
		"fifo":        fstest.FIFO().Mode(0o620),
		"socket":      fstest.Socket().Mode(0o751),
		"zero":        fstest.CharDev(1, 5).Mode(0o666),
		"block":       fstest.BlockDev(7, 250).Mode(0o660),
		"dir-xattr/":  fstest.Dir().Mode(0o755).Xattr("user.d", "dv"),
	}
	for name, c := range contents {
		tr[name] = fstest.File(c).Mode(0o644)
	}
	for _, n := range many {
		tr["many-xattrs"] = tr["many-xattrs"].Xattr(n, "v")
	}
	root := fstest.Make(t, tr)
	_, capErr := exec.LookPath("setcap")
	if capErr == nil {
		if out, err := exec.Command("setcap", "cap_net_raw+ep", root+"/capability").CombinedOutput(); err != nil {
			capErr = fmt.Errorf("setcap: %v: %s", err, out)
		}
	}

	r := walkDir(t, root, Options{})
	if len(r.warns) != 0 {
		t.Errorf("warnings: %v", r.warns)
	}
	wantPaths := []string{"."}
	for k := range tr {
		wantPaths = append(wantPaths, strings.TrimSuffix(k, "/"))
	}
	diffPaths(t, r.paths(), sortedPaths(wantPaths...))

	// Every entry against the kernel's own account of it.
	for _, e := range r.entries {
		real := root + "/" + r.rel(e.Path)
		checkStat(t, e, real, false)
		if got, want := e.Xattrs, listXattrs(t, real); !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
			t.Errorf("%s: xattrs %q, want %q", e.Path, got, want)
		}
		if e.Flags&tree.FlagXattrsUnreadable != 0 {
			t.Errorf("%s: FlagXattrsUnreadable", e.Path)
		}
		if e.Type != tree.TypeFile {
			if e.Hashed() || e.Hash != [32]byte{} {
				t.Errorf("%s: a %v has a hash", e.Path, e.Type)
			}
			continue
		}
		data, err := os.ReadFile(real)
		if err != nil {
			t.Fatal(err)
		}
		if !e.Hashed() || e.Hash != blake3.Sum256(data) {
			t.Errorf("%s: hashed %v, hash %x, want %x", e.Path, e.Hashed(), e.Hash, blake3.Sum256(data))
		}
		if e.Flags&^(tree.FlagHashed|tree.FlagBtime) != 0 {
			t.Errorf("%s: flags %b", e.Path, e.Flags)
		}
	}

	// And against what the tree was built with.
	for name, c := range contents {
		t.Run("hash/"+name, func(t *testing.T) {
			if e := r.get(t, name); e.Hash != blake3.Sum256([]byte(c)) || e.Size != int64(len(c)) {
				t.Errorf("size %d hash %x, want size %d hash %x", e.Size, e.Hash, len(c), blake3.Sum256([]byte(c)))
			}
		})
	}
	for _, c := range []struct {
		name     string
		typ      tree.Type
		mode     uint32
		uid, gid uint32
		target   string
		rdev     uint64
		xattrs   map[string]string
	}{
		{name: ".", typ: tree.TypeDir, mode: 0o755},
		{name: "small", typ: tree.TypeFile, mode: 0o644},
		{name: "setuid", typ: tree.TypeFile, mode: 0o4755},
		{name: "setgid", typ: tree.TypeFile, mode: 0o2711},
		{name: "owned", typ: tree.TypeFile, mode: 0o640, uid: 1234, gid: 5678},
		{name: "sticky", typ: tree.TypeDir, mode: 0o1777},
		{name: "owned-dir", typ: tree.TypeDir, mode: 0o750, uid: 1234, gid: 5678},
		{name: "link", typ: tree.TypeSymlink, mode: 0o777, uid: 1234, gid: 5678, target: "small"},
		{name: "dangling", typ: tree.TypeSymlink, mode: 0o777, target: "does/not/exist"},
		{name: "long-link", typ: tree.TypeSymlink, mode: 0o777, target: strings.Repeat("l/", 1500)},
		{name: "fifo", typ: tree.TypeFIFO, mode: 0o620},
		{name: "socket", typ: tree.TypeSocket, mode: 0o751},
		{name: "zero", typ: tree.TypeCharDev, mode: 0o666, rdev: unix.Mkdev(1, 5)},
		{name: "block", typ: tree.TypeBlockDev, mode: 0o660, rdev: unix.Mkdev(7, 250)},
		{name: "xattrs", typ: tree.TypeFile, mode: 0o644, xattrs: map[string]string{"user.fim.a": strings.Repeat("v", 3000), "user.fim.b": "2"}},
		{name: "dir-xattr", typ: tree.TypeDir, mode: 0o755, xattrs: map[string]string{"user.d": "dv"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := r.get(t, c.name)
			if c.name == "." {
				// t.TempDir's own mode and owner: the defaults the walk must report.
				c.uid, c.gid = uint32(os.Getuid()), uint32(os.Getgid())
				fi, _ := os.Stat(root)
				c.mode = uint32(fi.Mode().Perm())
			}
			if e.Type != c.typ || e.Mode != c.mode || e.UID != c.uid || e.GID != c.gid {
				t.Errorf("type %v mode %#o owner %d:%d, want %v %#o %d:%d", e.Type, e.Mode, e.UID, e.GID, c.typ, c.mode, c.uid, c.gid)
			}
			if e.LinkTarget != c.target || e.Rdev != c.rdev {
				t.Errorf("target %q rdev %#x, want %q %#x", e.LinkTarget, e.Rdev, c.target, c.rdev)
			}
			for name, v := range c.xattrs {
				i := slices.IndexFunc(e.Xattrs, func(x tree.Xattr) bool { return x.Name == name })
				if i < 0 || string(e.Xattrs[i].Value) != v {
					t.Errorf("xattr %s missing or wrong: %q", name, e.Xattrs)
				}
			}
			if !slices.IsSortedFunc(e.Xattrs, func(a, b tree.Xattr) int { return strings.Compare(a.Name, b.Name) }) {
				t.Errorf("xattrs not sorted: %q", e.Xattrs)
			}
		})
	}
	t.Run("many-xattrs", func(t *testing.T) {
		e := r.get(t, "many-xattrs")
		var names []string
		for _, x := range e.Xattrs {
			if strings.HasPrefix(x.Name, "user.") {
				names = append(names, x.Name)
			}
		}
		if !slices.Equal(names, many) {
			t.Errorf("xattr names %q, want %q", names, many)
		}
	})
	t.Run("security.capability", func(t *testing.T) {
		if capErr != nil {
			t.Skip(capErr)
		}
		e := r.get(t, "capability")
		i := slices.IndexFunc(e.Xattrs, func(x tree.Xattr) bool { return x.Name == "security.capability" })
		if i < 0 {
			t.Fatalf("no security.capability: %q", e.Xattrs)
		}
		// struct vfs_cap_data: magic_etc, then permitted and inheritable, low words first.
		v := e.Xattrs[i].Value
		if len(v) < 12 {
			t.Fatalf("security.capability %x: too short", v)
		}
		magic := uint32(v[0]) | uint32(v[1])<<8 | uint32(v[2])<<16 | uint32(v[3])<<24
		permitted := uint32(v[4]) | uint32(v[5])<<8 | uint32(v[6])<<16 | uint32(v[7])<<24
		if magic&1 == 0 || permitted != 1<<unix.CAP_NET_RAW {
			t.Errorf("security.capability %x: want effective, permitted cap_net_raw only", v)
		}
	})
}

// TestSpecialFilesNotOpened: FIFOs, sockets and devices are recorded from their stat
// alone. inotify tells whether anything opened them.
func TestSpecialFilesNotOpened(t *testing.T) {
	fstest.RequireRoot(t)
	root := fstest.Make(t, fstest.Tree{
		"a-file":  fstest.File("x"),
		"block":   fstest.BlockDev(7, 251),
		"fifo":    fstest.FIFO(),
		"sock":    fstest.Socket(),
		"to-fifo": fstest.Link("fifo"),
		"to-zero": fstest.Link("zero"),
		"zero":    fstest.CharDev(1, 5),
		"z-file":  fstest.File("y"),
	})

	watch := watchOpens(t, root+"/fifo", root+"/zero", root+"/a-file")
	for _, follow := range []bool{false, true} {
		r := walkDir(t, root, Options{FollowSymlinks: follow})
		toFIFO, toZero, toZeroRdev := tree.TypeSymlink, tree.TypeSymlink, uint64(0)
		if follow {
			toFIFO, toZero, toZeroRdev = tree.TypeFIFO, tree.TypeCharDev, unix.Mkdev(1, 5)
		}
		for _, c := range []struct {
			name string
			typ  tree.Type
			rdev uint64
		}{
			{"block", tree.TypeBlockDev, unix.Mkdev(7, 251)},
			{"fifo", tree.TypeFIFO, 0},
			{"sock", tree.TypeSocket, 0},
			{"zero", tree.TypeCharDev, unix.Mkdev(1, 5)},
			{"to-fifo", toFIFO, 0},
			{"to-zero", toZero, toZeroRdev},
		} {
			e := r.get(t, c.name)
			if e.Type != c.typ || e.Rdev != c.rdev || e.Hashed() || e.Flags&(tree.FlagUnreadable|tree.FlagUnstable) != 0 {
				t.Errorf("follow %v: %s: type %v rdev %#x flags %b, want %v rdev %#x, not hashed", follow, c.name, e.Type, e.Rdev, e.Flags, c.typ, c.rdev)
			}
		}
		if e := r.get(t, "z-file"); !e.Hashed() || e.Hash != blake3.Sum256([]byte("y")) {
			t.Errorf("follow %v: z-file not hashed after the special files", follow)
		}
		opens := watch.opens(t)
		if opens[root+"/fifo"] != 0 || opens[root+"/zero"] != 0 || opens[root+"/a-file"] != 1 {
			t.Errorf("follow %v: opens %v, want the file's once and nothing else", follow, opens)
		}
	}
	// The watch sees opens: the counts above could have been otherwise.
	for _, p := range []string{root + "/fifo", root + "/zero"} {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
	}
	if opens := watch.opens(t); opens[root+"/fifo"] != 1 || opens[root+"/zero"] != 1 {
		t.Errorf("inotify missed opens: %v", opens)
	}
}

func TestLimits(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{
		"top.log":        fstest.File("l"),
		"keep.txt":       fstest.File("k"),
		".hidden":        fstest.File("h"),
		".hdir/inner":    fstest.File("i"),
		"d1/f":           fstest.File("f"),
		"d1/.h":          fstest.File("h"),
		"d1/d2/f":        fstest.File("f"),
		"d1/d2/d3/f":     fstest.File("f"),
		"d1/d2/d3/d4/f":  fstest.File("f"),
		"logs/a.log":     fstest.File("a"),
		"logs/b.txt":     fstest.File("b"),
		"logs/sub/c.log": fstest.File("c"),
		"skip/inner":     fstest.File("i"),
		"skip/deeper/x":  fstest.File("x"),
		"skipfile":       fstest.File("s"),
		"big":            fstest.Blob(1000, 1),
		"eq":             fstest.Blob(500, 2),
		"small":          fstest.Blob(499, 3),
	})

	all := []string{".", ".hdir", ".hdir/inner", ".hidden", "big", "d1", "d1/.h", "d1/d2", "d1/d2/d3", "d1/d2/d3/d4",
		"d1/d2/d3/d4/f", "d1/d2/d3/f", "d1/d2/f", "d1/f", "eq", "keep.txt", "logs", "logs/a.log", "logs/b.txt",
		"logs/sub", "logs/sub/c.log", "skip", "skip/deeper", "skip/deeper/x", "skip/inner", "skipfile", "small", "top.log"}
	without := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(p string) bool { return slices.Contains(drop, p) })
	}
	depth1 := []string{".", ".hdir", ".hidden", "big", "d1", "eq", "keep.txt", "logs", "skip", "skipfile", "small", "top.log"}
	depth2 := append(slices.Clone(depth1), ".hdir/inner", "d1/.h", "d1/d2", "d1/f", "logs/a.log", "logs/b.txt", "logs/sub", "skip/deeper", "skip/inner")
	for _, c := range []struct {
		name    string
		opts    Options
		exclude []string
		want    []string
	}{
		{"unlimited", Options{}, nil, all},
		{"MaxDepth 1", Options{MaxDepth: 1}, nil, depth1},
		{"MaxDepth 2", Options{MaxDepth: 2}, nil, depth2},
		{"MaxDepth 5", Options{MaxDepth: 5}, nil, all},
		{"NoHidden", Options{NoHidden: true}, nil, without(".hdir", ".hdir/inner", ".hidden", "d1/.h")},
		{"NoHidden MaxDepth 2", Options{NoHidden: true, MaxDepth: 2}, nil,
			slices.DeleteFunc(slices.Clone(depth2), func(p string) bool { return strings.Contains(p, "/.") || strings.HasPrefix(p, ".h") })},
		{"exclude **/*.log", Options{}, []string{"/ROOT/**/*.log"}, without("logs/a.log", "logs/sub/c.log")},
		{"exclude *.log", Options{}, []string{"/ROOT/*.log"}, without("top.log")},
		{"exclude a directory", Options{}, []string{"/ROOT/skip"}, without("skip", "skip/inner", "skip/deeper", "skip/deeper/x")},
		{"exclude a prefix", Options{}, []string{"/ROOT/skip*"}, without("skip", "skip/inner", "skip/deeper", "skip/deeper/x", "skipfile")},
		{"exclude children prunes", Options{}, []string{"/ROOT/d1/d2/*"}, without("d1/d2/d3", "d1/d2/d3/d4", "d1/d2/d3/d4/f", "d1/d2/d3/f", "d1/d2/f")},
		{"exclude below", Options{}, []string{"/ROOT/logs/**"}, without("logs/a.log", "logs/b.txt", "logs/sub", "logs/sub/c.log")},
		{"exclude two", Options{}, []string{"/ROOT/d1", "/ROOT/.h*"}, without(".hdir", ".hdir/inner", ".hidden", "d1", "d1/.h", "d1/d2",
			"d1/d2/d3", "d1/d2/d3/d4", "d1/d2/d3/d4/f", "d1/d2/d3/f", "d1/d2/f", "d1/f")},
		{"exclude nothing", Options{}, []string{"/ROOT/nothing/**", "/elsewhere/*"}, all},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Exclude = globs(t, root, c.exclude...)
			r := walkDir(t, root, c.opts)
			diffPaths(t, r.paths(), sortedPaths(c.want...))
			if len(r.warns) != 0 {
				t.Errorf("warnings: %v", r.warns)
			}
		})
	}

	t.Run("MaxFileSize", func(t *testing.T) {
		for _, c := range []struct {
			max      int64
			tooLarge []string
		}{
			{0, nil},
			{499, []string{"big", "eq"}},
			{500, []string{"big"}},
			{1000, nil},
			{1, []string{"big", "eq", "small"}},
		} {
			r := walkDir(t, root, Options{MaxFileSize: c.max})
			diffPaths(t, r.paths(), all)
			for _, name := range []string{"big", "eq", "small", "keep.txt"} {
				e := r.get(t, name)
				data, _ := os.ReadFile(root + "/" + name)
				if slices.Contains(c.tooLarge, name) {
					if e.Flags&tree.FlagTooLarge == 0 || e.Hashed() || e.Hash != [32]byte{} || e.Size != int64(len(data)) {
						t.Errorf("max %d: %s: flags %b size %d, want too large, unhashed, size %d", c.max, name, e.Flags, e.Size, len(data))
					}
				} else if e.Flags&tree.FlagTooLarge != 0 || !e.Hashed() || e.Hash != blake3.Sum256(data) {
					t.Errorf("max %d: %s: flags %b, want hashed", c.max, name, e.Flags)
				}
			}
		}
	})
}

func TestMaxEntries(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{"a": fstest.File("a"), "b": fstest.File("b"), "c/d": fstest.File("d")}) // 5 entries with the root
	for _, c := range []struct {
		max, seen int
		err       bool
	}{
		{0, 5, false},
		{5, 5, false},
		{6, 5, false},
		{4, 4, true},
		{1, 1, true},
	} {
		r := run(t, &Walker{MaxEntries: c.max, Roots: []Root{{Path: root}}})
		if c.err != errors.Is(r.err, ErrTooManyEntries) || !c.err && r.err != nil {
			t.Errorf("MaxEntries %d: error %v", c.max, r.err)
		}
		if len(r.entries) != c.seen {
			t.Errorf("MaxEntries %d: %d entries, want %d", c.max, len(r.entries), c.seen)
		}
	}
}

// TestOwnFiles: only the files fim holds open are left out, by device and inode, and
// only while they are files fim could have made; anything else under their names or
// fim's temporary names is recorded.
func TestOwnFiles(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{"keep": fstest.File("k"), "db": fstest.File("x").Mode(0o600), "db.lock": fstest.File("l").Mode(0o600),
		".db.tmp-1": fstest.File("t").Mode(0o600), ".db.tmp-2": fstest.File("setuid").Mode(0o4755), "d/.db.tmp-3/x": fstest.File("hidden"),
		"setuid": fstest.File("s").Mode(0o4755), "linked": fstest.File("two links").Mode(0o600), "d/link": fstest.Hardlink("linked")})

	open := func(name string) *os.File {
		f, err := os.Open(filepath.Join(root, name))
		must(t, err)
		t.Cleanup(func() { f.Close() })
		return f
	}
	own := &OwnFiles{}
	held := map[string]*os.File{}
	for _, name := range []string{"db", "db.lock", ".db.tmp-1"} {
		held[name] = open(name)
		must(t, own.Add(held[name]))
	}
	for _, name := range []string{"setuid", ".db.tmp-2", "linked", "d"} {
		if err := own.Add(open(name)); err == nil {
			t.Errorf("%s counted as one of fim's files", name)
		}
	}
	r := run(t, &Walker{Roots: []Root{{Path: root}}, Own: own})
	must(t, r.err)
	r.base = root
	diffPaths(t, r.paths(), []string{".", ".db.tmp-2", "d", "d/.db.tmp-3", "d/.db.tmp-3/x", "d/link", "keep", "linked", "setuid"})

	// Held no more: recorded.
	held[".db.tmp-1"].Close()
	own.Remove(held[".db.tmp-1"])
	r = run(t, &Walker{Roots: []Root{{Path: root}}, Own: own})
	must(t, r.err)
	r.base = root
	diffPaths(t, r.paths(), []string{".", ".db.tmp-1", ".db.tmp-2", "d", "d/.db.tmp-3", "d/.db.tmp-3/x", "d/link", "keep", "linked", "setuid"})

	// Another file renamed in the place of an own file is recorded.
	must(t, os.Rename(filepath.Join(root, "keep"), filepath.Join(root, "db")))
	r = run(t, &Walker{Roots: []Root{{Path: root}}, Own: own})
	must(t, r.err)
	r.base = root
	diffPaths(t, r.paths(), []string{".", ".db.tmp-1", ".db.tmp-2", "d", "d/.db.tmp-3", "d/.db.tmp-3/x", "d/link", "db", "linked", "setuid"})
}

// TestBreakStops: a consumer that stops ranging over a walk stops it: its workers end
// with the loop, and the walk warns of nothing after it.
func TestBreakStops(t *testing.T) {
	tr := fstest.Tree{"e": fstest.Blob(1<<20, 1)}
	for i := range 200 {
		tr[fmt.Sprintf("d%d/f", i)] = fstest.File("f")
	}
	root := fstest.Make(t, tr)
	before := runtime.NumGoroutine()
	warned := false
	w := &Walker{Roots: []Root{{Path: root}}, Workers: 4, Warn: func(string, error) { warned = true }}
	calls := 0
	for _, err := range w.Walk(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if calls++; calls == 3 {
			break
		}
	}
	// The walk waits for each worker to be done before the loop ends, but a worker
	// that is done still has to return: until a CPU runs it (milliseconds on a loaded
	// machine) it is counted. A worker that does not end (one waiting for a job
	// forever) is counted still at the deadline.
	deadline := time.Now().Add(10 * time.Second)
	after := runtime.NumGoroutine()
	for ; after > before && time.Now().Before(deadline); after = runtime.NumGoroutine() {
		time.Sleep(time.Millisecond)
	}
	if after > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines 10s after the loop, %d before: the walk's workers go on:\n%s", after, before, buf[:runtime.Stack(buf, true)])
	}
	if calls != 3 || warned {
		t.Errorf("%d entries (want 3), warned %v", calls, warned)
	}
}

func TestContextCanceled(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{"a": fstest.File("a"), "b": fstest.File("b"), "c/d": fstest.File("d"), "e": fstest.Blob(1<<20, 1)})
	for _, after := range []int{0, 1, 3} {
		ctx, cancel := context.WithCancel(context.Background())
		if after == 0 {
			cancel()
		}
		calls := 0
		w := &Walker{Roots: []Root{{Path: root}}}
		var err error
		for _, err = range w.Walk(ctx) {
			if err != nil {
				break
			}
			if calls++; calls == after {
				cancel()
			}
		}
		cancel()
		if !errors.Is(err, context.Canceled) || calls != after {
			t.Errorf("canceled after %d: Walk = %v after %d calls", after, err, calls)
		}
	}
}

func TestSymlinks(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{
		"f":            fstest.File("content").Xattr("user.t", "tv"),
		"target/inner": fstest.File("in"),
		"ldir":         fstest.Link("target"),
		"lfile":        fstest.Link("f"),
		"ldangling":    fstest.Link("missing"),
		"labs":         fstest.Link("/dev/zero"),
		"lself":        fstest.Link("lself"),
		"a/loop":       fstest.Link(".."),
		"a/self":       fstest.Link("."),
		"a/l1":         fstest.Link("../b"),
		"b/l2":         fstest.Link("../a"),
	})

	plain := []string{".", "a", "a/l1", "a/loop", "a/self", "b", "b/l2", "f", "labs", "ldangling", "ldir", "lfile", "lself", "target", "target/inner"}

	t.Run("not followed", func(t *testing.T) {
		r := walkDir(t, root, Options{})
		diffPaths(t, r.paths(), plain)
		if len(r.warns) != 0 {
			t.Errorf("warnings: %v", r.warns)
		}
		for name, target := range map[string]string{"ldir": "target", "lfile": "f", "ldangling": "missing", "labs": "/dev/zero", "lself": "lself", "a/loop": ".."} {
			e := r.get(t, name)
			if e.Type != tree.TypeSymlink || e.LinkTarget != target || e.Hashed() {
				t.Errorf("%s: type %v target %q hashed %v, want a symlink to %q", name, e.Type, e.LinkTarget, e.Hashed(), target)
			}
			checkStat(t, e, root+"/"+name, false)
		}
		if e := r.get(t, "lfile"); len(e.Xattrs) != 0 {
			t.Errorf("lfile: the link's xattrs are its target's: %q", e.Xattrs)
		}
	})

	t.Run("followed", func(t *testing.T) {
		r := walkDir(t, root, Options{FollowSymlinks: true})
		loops := []string{"a/l1/l2", "a/loop", "a/self", "b/l2/l1", "b/l2/loop", "b/l2/self"}
		diffPaths(t, r.paths(), sortedPaths(append(slices.Clone(plain), "ldir/inner", "a/l1/l2", "b/l2/l1", "b/l2/loop", "b/l2/self")...))
		var warned []string
		for _, w := range r.warns {
			warned = append(warned, r.rel(w.path))
			if !strings.Contains(w.err.Error(), "loop") {
				t.Errorf("%s: warning %v does not say loop", w.path, w.err)
			}
		}
		if !slices.Equal(warned, loops) {
			t.Errorf("warnings for %q, want %q", warned, loops)
		}
		for _, name := range loops {
			if e := r.get(t, name); e.Type != tree.TypeDir {
				t.Errorf("%s: type %v, want dir", name, e.Type)
			}
		}
		for _, c := range []struct {
			name, target string
			typ          tree.Type
		}{
			{"ldir", "target", tree.TypeDir},
			{"lfile", "f", tree.TypeFile},
			{"labs", "/dev/zero", tree.TypeCharDev},
			{"a/l1", "../b", tree.TypeDir},
			{"ldangling", "missing", tree.TypeSymlink},
			{"lself", "lself", tree.TypeSymlink},
		} {
			e := r.get(t, c.name)
			if e.Type != c.typ || e.LinkTarget != c.target {
				t.Errorf("%s: type %v target %q, want %v %q", c.name, e.Type, e.LinkTarget, c.typ, c.target)
			}
			checkStat(t, e, root+"/"+c.name, c.typ != tree.TypeSymlink)
		}
		if e := r.get(t, "lfile"); !e.Hashed() || e.Hash != blake3.Sum256([]byte("content")) || e.Inode != r.get(t, "f").Inode {
			t.Errorf("lfile: hashed %v, inode %d: not the file it points to", e.Hashed(), e.Inode)
		}
		if e := r.get(t, "lfile"); !reflect.DeepEqual(e.Xattrs, []tree.Xattr{{Name: "user.t", Value: []byte("tv")}}) {
			t.Errorf("lfile: xattrs %q, want the target's", e.Xattrs)
		}
		if e := r.get(t, "ldir/inner"); !e.Hashed() || e.Hash != blake3.Sum256([]byte("in")) {
			t.Errorf("ldir/inner not hashed through the link")
		}
		if e := r.get(t, "labs"); e.Hashed() || e.Rdev != unix.Mkdev(1, 5) {
			t.Errorf("labs: hashed %v rdev %#x: a device read or misrecorded", e.Hashed(), e.Rdev)
		}
	})

	t.Run("root is a link", func(t *testing.T) {
		for _, follow := range []bool{false, true} {
			r := walkDir(t, root+"/ldir", Options{FollowSymlinks: follow})
			want, typ := []string{"."}, tree.TypeSymlink
			if follow {
				want, typ = []string{".", "inner"}, tree.TypeDir
			}
			diffPaths(t, r.paths(), want)
			if e := r.get(t, "."); e.Type != typ || e.LinkTarget != "target" {
				t.Errorf("follow %v: root type %v target %q", follow, e.Type, e.LinkTarget)
			}
		}
	})
}

func TestPrefix(t *testing.T) {
	base := fstest.Make(t, fstest.Tree{
		"rootfs/etc/passwd": fstest.File("root:x:0:0"),
		"rootfs/etc/shadow": fstest.File("root:!:1"),
		"rootfs/etc/sub/x":  fstest.File("x"),
		"rootfs/usr/bin/sh": fstest.File("sh"),
		"outside":           fstest.File("o"),
	})

	prefix := base + "/rootfs"
	etc := []string{"/etc", "/etc/passwd", "/etc/shadow", "/etc/sub", "/etc/sub/x"}
	everything := append([]string{"/"}, append(slices.Clone(etc), "/usr", "/usr/bin", "/usr/bin/sh")...)
	for _, c := range []struct {
		name   string
		prefix string
		roots  []Root
		skip   []string
		want   []string
	}{
		{"etc", prefix, []Root{{Path: "/etc"}}, nil, etc},
		{"trailing slash", prefix + "/", []Root{{Path: "/etc"}}, nil, etc},
		{"whole image", prefix, []Root{{Path: "/"}}, nil, everything},
		{"one file", prefix, []Root{{Path: "/etc/passwd"}}, nil, []string{"/etc/passwd"}},
		{"missing root", prefix, []Root{{Path: "/nonexistent"}}, nil, nil},
		{"skip", prefix, []Root{{Path: "/etc"}}, []string{prefix + "/etc/shadow"}, []string{"/etc", "/etc/passwd", "/etc/sub", "/etc/sub/x"}},
		{"skip in the whole image", prefix, []Root{{Path: "/"}}, []string{prefix + "/usr/bin/sh", prefix + "/etc/sub/x"},
			[]string{"/", "/etc", "/etc/passwd", "/etc/shadow", "/etc/sub", "/usr", "/usr/bin"}},
		{"exclude a recorded path", prefix, []Root{{Path: "/", Options: Options{Exclude: globs(t, "", "/etc/s*")}}}, nil,
			[]string{"/", "/etc", "/etc/passwd", "/usr", "/usr/bin", "/usr/bin/sh"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			own := &OwnFiles{}
			for _, s := range c.skip {
				f, err := os.Open(s)
				must(t, err)
				defer f.Close()
				must(t, own.Add(f))
			}
			r := run(t, &Walker{Prefix: c.prefix, Roots: c.roots, Own: own})
			if r.err != nil {
				t.Fatal(r.err)
			}
			diffPaths(t, r.paths(), c.want)
			for _, e := range r.entries {
				checkStat(t, e, prefix+e.Path, false)
			}
		})
	}
	r := run(t, &Walker{Prefix: prefix, Roots: []Root{{Path: "/etc"}}})
	if e := r.get(t, "/etc/passwd"); !e.Hashed() || e.Hash != blake3.Sum256([]byte("root:x:0:0")) {
		t.Errorf("/etc/passwd: hashed %v", e.Hashed())
	}
}

func TestNestedRoots(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{
		"a":          fstest.File("a"),
		"sub/f":      fstest.File("f"),
		"sub/.h":     fstest.File("h"),
		"sub/x/y/z":  fstest.File("z"),
		"other/x/y":  fstest.File("yy"),
		"deep/a/b/c": fstest.File("c"),
		".cfg/k":     fstest.File("k"),
		".other/k":   fstest.File("k"),
	})

	all := []string{".", ".cfg", ".cfg/k", ".other", ".other/k", "a", "deep", "deep/a", "deep/a/b", "deep/a/b/c",
		"other", "other/x", "other/x/y", "sub", "sub/.h", "sub/f", "sub/x", "sub/x/y", "sub/x/y/z"}
	without := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(p string) bool { return slices.Contains(drop, p) })
	}
	at := func(rel string, o Options) Root { return Root{Path: root + "/" + rel, Options: o} }
	top := func(o Options) Root { return Root{Path: root, Options: o} }
	for _, c := range []struct {
		name  string
		roots []Root
		want  []string
	}{
		{"nested root shallower", []Root{top(Options{}), at("sub", Options{MaxDepth: 1})}, without("sub/x/y", "sub/x/y/z")},
		{"nested root listed first", []Root{at("sub", Options{MaxDepth: 1}), top(Options{})}, without("sub/x/y", "sub/x/y/z")},
		{"parent excludes below the nested root", []Root{top(Options{Exclude: globs(t, root, "/ROOT/sub/**")}), at("sub", Options{})}, all},
		{"parent excludes the nested root", []Root{top(Options{Exclude: globs(t, root, "/ROOT/sub")}), at("sub", Options{})}, all},
		{"parent excludes, nothing nested", []Root{top(Options{Exclude: globs(t, root, "/ROOT/sub")})}, without("sub", "sub/.h", "sub/f", "sub/x", "sub/x/y", "sub/x/y/z")},
		{"parent depth 1, nested at depth 1", []Root{top(Options{MaxDepth: 1}), at("sub", Options{})},
			[]string{".", ".cfg", ".other", "a", "deep", "other", "sub", "sub/.h", "sub/f", "sub/x", "sub/x/y", "sub/x/y/z"}},
		{"parent depth 1, nested at depth 2", []Root{top(Options{MaxDepth: 1}), at("deep/a", Options{})},
			[]string{".", ".cfg", ".other", "a", "deep", "deep/a", "deep/a/b", "deep/a/b/c", "other", "sub"}},
		{"parent depth 1, nested at depth 3", []Root{top(Options{MaxDepth: 1}), at("deep/a/b", Options{})},
			[]string{".", ".cfg", ".other", "a", "deep", "deep/a/b", "deep/a/b/c", "other", "sub"}},
		{"hidden nested root", []Root{top(Options{NoHidden: true}), at(".cfg", Options{})},
			without(".other", ".other/k", "sub/.h")},
		{"nested root hides", []Root{top(Options{}), at("sub", Options{NoHidden: true})}, without("sub/.h")},
		{"disjoint", []Root{at("sub/x", Options{}), at("other", Options{})}, []string{"other", "other/x", "other/x/y", "sub/x", "sub/x/y", "sub/x/y/z"}},
		{"disjoint siblings", []Root{at("sub", Options{MaxDepth: 1}), at("other", Options{MaxDepth: 1}), at("a", Options{})},
			[]string{"a", "other", "other/x", "sub", "sub/.h", "sub/f", "sub/x"}},
		{"three levels", []Root{top(Options{MaxDepth: 1}), at("deep", Options{MaxDepth: 1}), at("deep/a/b", Options{})},
			[]string{".", ".cfg", ".other", "a", "deep", "deep/a", "deep/a/b", "deep/a/b/c", "other", "sub"}},
		{"same root twice", []Root{top(Options{}), top(Options{})}, all},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, &Walker{Roots: c.roots})
			if r.err != nil {
				t.Fatal(r.err)
			}
			r.base = root
			diffPaths(t, r.paths(), sortedPaths(c.want...))
			if len(r.warns) != 0 {
				t.Errorf("warnings: %v", r.warns)
			}
		})
	}

	t.Run("options of the nearest root", func(t *testing.T) {
		r := run(t, &Walker{Roots: []Root{top(Options{MaxFileSize: 1}), at("sub", Options{})}})
		r.base = root
		if e := r.get(t, "sub/x/y/z"); !e.Hashed() {
			t.Errorf("sub/x/y/z: flags %b, want hashed under the nested root", e.Flags)
		}
		if e := r.get(t, "other/x/y"); e.Hashed() || e.Flags&tree.FlagTooLarge == 0 {
			t.Errorf("other/x/y: flags %b, want too large under the parent root", e.Flags)
		}
	})
}

func TestHardLinks(t *testing.T) {
	content := fstest.BlobData(300<<10, 9)
	root := fstest.Make(t, fstest.Tree{
		"a":      fstest.File(content),
		"d/b":    fstest.Hardlink("a"),
		"z":      fstest.Hardlink("a"),
		"single": fstest.File("s"),
	})

	watch := watchOpens(t, root+"/a", root+"/d/b")
	for _, c := range []struct {
		name     string
		roots    []Root
		workers  int
		hashed   []string
		tooLarge []string
	}{
		{"one root", []Root{{Path: root}}, 0, []string{"a", "d/b", "z"}, nil},
		{"one worker", []Root{{Path: root}}, 1, []string{"a", "d/b", "z"}, nil},
		{"eight workers", []Root{{Path: root}}, 8, []string{"a", "d/b", "z"}, nil},
		{"two roots", []Root{{Path: root + "/d"}, {Path: root + "/z"}}, 0, []string{"d/b", "z"}, nil},
		{"too large in one root", []Root{{Path: root}, {Path: root + "/d", Options: Options{MaxFileSize: 10}}}, 0, []string{"a", "z"}, []string{"d/b"}},
		{"too large in the first", []Root{{Path: root, Options: Options{MaxFileSize: 10}}, {Path: root + "/z"}}, 0, []string{"z"}, []string{"a", "d/b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, &Walker{Roots: c.roots, Workers: c.workers})
			if r.err != nil {
				t.Fatal(r.err)
			}
			r.base = root
			var inode uint64
			for _, name := range append(slices.Clone(c.hashed), c.tooLarge...) {
				e := r.get(t, name)
				if inode == 0 {
					inode = e.Inode
				}
				if e.Inode != inode || e.Nlink != 3 {
					t.Errorf("%s: inode %d nlink %d", name, e.Inode, e.Nlink)
				}
				if slices.Contains(c.tooLarge, name) {
					if e.Hashed() || e.Flags&tree.FlagTooLarge == 0 {
						t.Errorf("%s: flags %b, want too large", name, e.Flags)
					}
				} else if !e.Hashed() || e.Hash != blake3.Sum256([]byte(content)) {
					t.Errorf("%s: flags %b hash %x", name, e.Flags, e.Hash)
				}
			}
			if opens := watch.opens(t); opens[root+"/a"]+opens[root+"/d/b"]+opens[root+"/z"] != 1 {
				t.Errorf("the inode was opened %v times, want once", opens)
			}
		})
	}
	// The watch sees opens through every name, so "once" above is not vacuous.
	for _, name := range []string{"a", "d/b", "z", "single"} {
		data, err := os.ReadFile(root + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if name != "single" && string(data) != content {
			t.Fatalf("%s: content", name)
		}
	}
	if opens := watch.opens(t); opens[root+"/a"] != 1 || opens[root+"/d/b"] != 1 || opens[root+"/z"] != 1 || opens[root+"/single"] != 1 {
		t.Errorf("inotify missed opens: %v", opens)
	}
}

func TestNames(t *testing.T) {
	long := strings.Repeat("n", 255)
	deep := strings.Repeat("d/", 64) + "leaf"
	names := []string{"bad\xff\xfe", "new\nline", "tab\there", "lat\xc3\xa9", "\xc3(", " space ", "-dash", "back\\slash", "*?[glob]", "\x01\x7f", long}
	tr := fstest.Tree{deep: fstest.File("leaf")}
	want := []string{".", deep}
	for i := 1; i <= 64; i++ {
		want = append(want, strings.TrimSuffix(strings.Repeat("d/", i), "/"))
	}
	for i, n := range names {
		in := fmt.Sprintf("in%d/%s", i, n)
		tr[n], tr[in] = fstest.File(n), fstest.File(n)
		want = append(want, n, fmt.Sprintf("in%d", i), in)
	}
	root := fstest.Make(t, tr)
	r := walkDir(t, root, Options{})
	diffPaths(t, r.paths(), sortedPaths(want...))
	if len(r.warns) != 0 {
		t.Errorf("warnings: %v", r.warns)
	}
	for _, e := range r.entries {
		rel := r.rel(e.Path)
		if _, err := os.Lstat(root + "/" + rel); err != nil {
			t.Errorf("recorded path %q does not name a file: %v", e.Path, err)
		}
		if e.Type == tree.TypeFile && (!e.Hashed() || e.Hash != blake3.Sum256([]byte(filepath.Base(rel)))) { // each file holds its name
			t.Errorf("%q: flags %b, hash does not match the content", e.Path, e.Flags)
		}
	}
}

// TestHashOnListingOrJob: files up to inlineHashMax are hashed by the listing itself,
// relative to the directory; larger ones and hard-linked ones by a job of their own, by
// path. Either way each gets the hash of its content and its extended attributes.
func TestHashOnListingOrJob(t *testing.T) {
	sizes := map[string]int{"empty": 0, "one": 1, "at-max": inlineHashMax, "over-max": inlineHashMax + 1, "large": 3 << 20}
	tr := fstest.Tree{"linked": fstest.Blob(100, 9).Xattr("user.k", "linked"), "linked2": fstest.Hardlink("linked")}
	for name, size := range sizes {
		tr[name] = fstest.Blob(size, byte(len(name))).Xattr("user.k", name)
		tr["sub/"+name] = fstest.Blob(size, byte(len(name)+1))
	}
	// More names than fit the first buffer (1 KiB), read from the open file, by a job,
	// and by path.
	many := fstest.Tree{"many-inline": fstest.Blob(10, 1), "many-job": fstest.Blob(1<<20, 2), "many-dir/": fstest.Dir()}
	for name, it := range many {
		for i := range 40 {
			it = it.Xattr(fmt.Sprintf("user.%02d-%s", i, strings.Repeat("n", 40)), fmt.Sprint(i))
		}
		tr[name] = it
	}
	root := fstest.Make(t, tr)
	r := run(t, &Walker{Roots: []Root{{Path: root}}})
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.base = root
	for name := range many {
		e := r.get(t, strings.TrimSuffix(name, "/"))
		if len(e.Xattrs) != 40 || e.Flags&tree.FlagXattrsUnreadable != 0 {
			t.Errorf("%s: %d xattrs, flags %b, want 40", name, len(e.Xattrs), e.Flags)
			continue
		}
		for i, x := range e.Xattrs {
			if !strings.HasPrefix(x.Name, fmt.Sprintf("user.%02d-", i)) || string(x.Value) != fmt.Sprint(i) {
				t.Errorf("%s: xattr %d is %s=%q", name, i, x.Name, x.Value)
			}
		}
	}
	for _, name := range append([]string{"linked", "linked2"}, slices.Sorted(maps.Keys(sizes))...) {
		for _, p := range []string{name, "sub/" + name} {
			if strings.HasPrefix(p, "sub/linked") {
				continue
			}
			e := r.get(t, p)
			data, err := os.ReadFile(filepath.Join(root, p))
			if err != nil {
				t.Fatal(err)
			}
			if !e.Hashed() || e.Hash != blake3.Sum256(data) {
				t.Errorf("%s (%d bytes): flags %b, hash %x, want that of its content", p, len(data), e.Flags, e.Hash[:4])
			}
			want := 0
			if !strings.HasPrefix(p, "sub/") {
				want = 1
			}
			if len(e.Xattrs) != want || want == 1 && e.Xattrs[0].Name != "user.k" {
				t.Errorf("%s: xattrs %v, want %d", p, e.Xattrs, want)
			}
		}
	}
	if w := r.warns; len(w) != 0 {
		t.Errorf("warnings: %v", w)
	}
}

// TestXattrsResized reads the attributes of a file while another goroutine keeps
// resizing one (300 bytes, empty, 5 bytes) and adding and removing enough others that
// the list outgrows the first buffer: a size asked for and then found different must
// be asked again, and a size of zero read as empty, never crash the walk.
func TestXattrsResized(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(f, "user.a", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	values := map[string]bool{strings.Repeat("b", 300): true, "": true, "small": true, "x": true}
	var names []string
	for i := range 30 {
		names = append(names, fmt.Sprintf("user.%02d-%s", i, strings.Repeat("n", 40)))
	}
	stop := make(chan struct{})
	changed := make(chan struct{})
	go func() {
		defer close(changed)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			for v := range values {
				unix.Setxattr(f, "user.a", []byte(v), 0)
			}
			for _, n := range names {
				if i%2 == 0 {
					unix.Setxattr(f, n, []byte("v"), 0)
				} else {
					unix.Removexattr(f, n)
				}
			}
		}
	}()
	defer func() { close(stop); <-changed }()
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; i < 20000 && time.Now().Before(deadline); i++ {
		var e tree.Entry
		readXattrs(&e, f, false)
		if e.Flags&tree.FlagXattrsUnreadable != 0 {
			continue // gave up after repeated resizing: allowed, and flagged
		}
		for _, x := range e.Xattrs {
			if x.Name == "user.a" && !values[string(x.Value)] {
				t.Fatalf("read %d: user.a = %q, a value it never had", i, x.Value)
			}
		}
	}
}

// TestWalkPaths looks at a list of paths with WalkPaths and with one WalkPath each:
// the same entries, in the order of the list, whatever the paths are (files small and
// large, hard links, a symlink, a directory, a FIFO, paths missing, below a symlink,
// excluded or outside the root, one named twice, siblings apart).
func TestWalkPaths(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{
		"a/small":   fstest.Blob(100, 1),
		"a/large":   fstest.Blob(inlineHashMax+1, 2),
		"a/hard":    fstest.Hardlink("a/small"),
		"a/sym":     fstest.Link("small"),
		"a/sub/x":   fstest.Blob(10, 3),
		"b/f":       fstest.Blob(20, 4),
		"b/fifo":    fstest.FIFO(),
		"b/skip.me": fstest.Blob(5, 5),
		"ln":        fstest.Link("a"),
	})

	w := &Walker{Roots: []Root{{Path: root, Options: Options{Exclude: globs(t, root, "**/*.me")}}}}
	var paths []string
	for _, rel := range []string{"a/small", "a/large", "a/hard", "b/f", "a/sym", "a/sub", "a/gone", "b/fifo",
		"b/skip.me", "ln/small", "a/small", "b/gone/deeper", "", "a/sub/x"} {
		p := root
		if rel != "" {
			p = tree.Join(root, rel)
		}
		paths = append(paths, p)
	}
	paths = append(paths, "/elsewhere/f")
	var want, got []tree.Entry
	for _, p := range paths {
		for _, e := range fstest.Collect(t, w.WalkPath(context.Background(), p, false)) {
			want = append(want, *e)
		}
	}
	for _, e := range fstest.Collect(t, w.WalkPaths(context.Background(), paths)) {
		got = append(got, *e)
	}
	if len(want) != 10 {
		for _, e := range want {
			t.Log(e.Path)
		}
		t.Errorf("WalkPath recorded %d entries, want 10", len(want))
	}
	if len(got) != len(want) {
		t.Fatalf("WalkPaths recorded %d entries, WalkPath %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("entry %d:\n WalkPaths %+v\n WalkPath  %+v", i, got[i], want[i])
		}
	}
}

// TestListing: the Listing hook is given each directory the walk lists, open, before
// its names are read: a file made in it through the descriptor from the hook is in the
// walk, as fim watch relies on (it watches the directory there).
func TestListing(t *testing.T) {
	root := fstest.Make(t, fstest.Tree{
		"a/x":   fstest.File("x"),
		"a/b/y": fstest.File("y"),
		"c":     fstest.Dir(),
	})
	var mu sync.Mutex
	listed := map[string]bool{}
	w := &Walker{Roots: []Root{{Path: root}}, Listing: func(real string, fd int) {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			t.Errorf("%s: fd %d is not an open directory: %v", real, fd, err)
		}
		mu.Lock()
		listed[real] = true
		mu.Unlock()
		nfd, err := unix.Openat(fd, "made-at-listing", unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err != nil {
			t.Error(err)
			return
		}
		unix.Close(nfd)
	}}
	r := run(t, w)
	r.base = root
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, d := range []string{".", "a", "a/b", "c"} {
		if !listed[filepath.Join(root, d)] {
			t.Errorf("%s: not handed to Listing (got %v)", d, listed)
		}
		if !slices.Contains(r.paths(), filepath.Join(d, "made-at-listing")) {
			t.Errorf("%s: the file made at its listing is not in the walk: %q", d, r.paths())
		}
	}
}
