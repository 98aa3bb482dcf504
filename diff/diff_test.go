package diff

import (
	"fim/internal/fstest"
	"fim/tree"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// t0 is the time the test entries were last modified and changed, in nanoseconds.
const t0 = int64(1_700_000_000_000_000_000)

// hashOf returns a recognisable fake content hash for a content label.
func hashOf(content string) [32]byte {
	var h [32]byte
	copy(h[:], content)
	h[31] = byte(len(content))
	return h
}

// file builds a hashed regular file; its size is the length of content.
func file(path string, ino uint64, content string, edits ...func(*tree.Entry)) *tree.Entry {
	e := &tree.Entry{
		Path: path, Type: tree.TypeFile, Mode: 0o644, Size: int64(len(content)),
		Mtime: t0, Ctime: t0, Inode: ino, Device: 42, Nlink: 1,
		Hash: hashOf(content), Flags: tree.FlagHashed,
	}
	return fstest.Edit(e, edits...)
}

// dir builds a directory.
func dir(path string, ino uint64, edits ...func(*tree.Entry)) *tree.Entry {
	e := &tree.Entry{
		Path: path, Type: tree.TypeDir, Mode: 0o755, Size: 4096,
		Mtime: t0, Ctime: t0, Inode: ino, Device: 42, Nlink: 2,
	}
	return fstest.Edit(e, edits...)
}

// symlink builds a symbolic link.
func symlink(path string, ino uint64, target string, edits ...func(*tree.Entry)) *tree.Entry {
	e := &tree.Entry{
		Path: path, Type: tree.TypeSymlink, Mode: 0o777, Size: int64(len(target)),
		Mtime: t0, Ctime: t0, Inode: ino, Device: 42, Nlink: 1, LinkTarget: target,
	}
	return fstest.Edit(e, edits...)
}

// Edits shared by the tests.
func ino(n uint64) func(*tree.Entry) { return func(e *tree.Entry) { e.Inode = n } }
func content(c string) func(*tree.Entry) {
	return func(e *tree.Entry) { e.Hash, e.Size = hashOf(c), int64(len(c)) }
}
func hashed(c string) func(*tree.Entry) {
	return func(e *tree.Entry) { e.Hash, e.Size, e.Flags = hashOf(c), int64(len(c)), tree.FlagHashed }
}
func mtime(d int64) func(*tree.Entry)      { return func(e *tree.Entry) { e.Mtime = t0 + d } }
func ctime(d int64) func(*tree.Entry)      { return func(e *tree.Entry) { e.Ctime = t0 + d } }
func nlink(n uint64) func(*tree.Entry)     { return func(e *tree.Entry) { e.Nlink = n } }
func mode(m uint32) func(*tree.Entry)      { return func(e *tree.Entry) { e.Mode = m } }
func flags(f tree.Flags) func(*tree.Entry) { return func(e *tree.Entry) { e.Flags |= f } }
func btime(b int64) func(*tree.Entry) {
	return func(e *tree.Entry) { e.Btime, e.Flags = b, e.Flags|tree.FlagBtime }
}

// run merges the old and current entries, each sorted here in key order, and returns
// the events.
func run(t testing.TB, filter Filter, old, cur []*tree.Entry) []Event {
	t.Helper()
	old, cur = sortedEntries(old), sortedEntries(cur)
	d := &Differ{Filter: filter}
	if err := Join(d, tree.Entries(old), tree.Entries(cur)); err != nil {
		t.Fatal(err)
	}
	return d.Events()
}

func sortedEntries(es []*tree.Entry) []*tree.Entry {
	es = slices.Clone(es)
	slices.SortFunc(es, func(a, b *tree.Entry) int { return tree.ComparePaths(a.Path, b.Path) })
	return es
}

// summary renders events one per line as "kind path [<- old] [attrs]".
func summary(events []Event) []string {
	out := make([]string, 0, len(events))
	for _, ev := range events {
		s := ev.Kind.String() + " " + ev.Path
		if ev.OldPath != "" {
			s += " <- " + ev.OldPath
		}
		if ev.Changed != 0 {
			s += " [" + strings.Join(ev.Changed.Strings(), ",") + "]"
		}
		out = append(out, s)
	}
	return out
}

func wantEvents(t *testing.T, got []Event, want ...string) {
	t.Helper()
	if g := summary(got); !slices.Equal(g, want) {
		t.Errorf("events:\n\t%s\nwant:\n\t%s", strings.Join(g, "\n\t"), strings.Join(want, "\n\t"))
	}
}

func ignoring(attrs ...Attr) Filter {
	var s AttrSet
	for _, a := range attrs {
		s = s.With(a)
	}
	return func(string) (KindSet, AttrSet) { return AllKinds, s }
}

func TestAttributeKinds(t *testing.T) {
	base := file("/f", 7, "hello")
	xattr := func(name, value string) func(*tree.Entry) {
		return func(e *tree.Entry) { e.Xattrs = append(e.Xattrs, tree.Xattr{Name: name, Value: []byte(value)}) }
	}
	tests := []struct {
		name string
		old  *tree.Entry
		edit func(*tree.Entry)
		want string // "" for no event
	}{
		{"type", base, func(e *tree.Entry) { e.Type = tree.TypeFIFO; e.Flags = 0; e.Hash = [32]byte{} }, "change /f [type]"},
		{"content", base, func(e *tree.Entry) { e.Hash = hashOf("HELLO") }, "change /f [content]"},
		{"size", base, func(e *tree.Entry) { e.Size++ }, "change /f [size]"},
		{"link_target", symlink("/f", 7, "a"), func(e *tree.Entry) { e.LinkTarget = "b" }, "change /f [link_target]"},
		{"rdev", fstest.Edit(base, func(e *tree.Entry) { e.Type = tree.TypeCharDev; e.Rdev = 0x103 }), func(e *tree.Entry) { e.Rdev = 0x105 }, "change /f [rdev]"},
		{"mtime", base, mtime(1), "change /f [mtime]"},
		{"mode", base, mode(0o4755), "chmod /f [mode]"},
		{"uid", base, func(e *tree.Entry) { e.UID = 1234 }, "chmod /f [uid]"},
		{"gid", base, func(e *tree.Entry) { e.GID = 1234 }, "chmod /f [gid]"},
		{"xattr added", base, xattr("user.x", "1"), "chmod /f [xattrs]"},
		{"xattr value", fstest.Edit(base, xattr("security.capability", "a")), func(e *tree.Entry) { e.Xattrs[0].Value = []byte("b") }, "chmod /f [xattrs]"},
		{"xattr removed", fstest.Edit(base, xattr("user.x", "1")), func(e *tree.Entry) { e.Xattrs = nil }, "chmod /f [xattrs]"},
		{"ctime", base, ctime(1), "chmod /f [ctime]"},
		{"inode", base, ino(8), "chmod /f [inode]"},
		{"device", base, func(e *tree.Entry) { e.Device = unix.Mkdev(8, 1) }, "chmod /f [device]"},
		// One anonymous device number for another (major 0: overlayfs, tmpfs mounted
		// again) says nothing; a disk's for an anonymous one does (above).
		{"device remounted", base, func(e *tree.Entry) { e.Device = unix.Mkdev(0, 99) }, ""},
		{"nlink", base, nlink(2), "chmod /f [nlink]"},
		{"mode and mtime", base, func(e *tree.Entry) { e.Mode, e.Mtime = 0o600, t0+1 }, "change /f [mtime,mode]"},
		{"content and ctime", base, func(e *tree.Entry) { e.Hash, e.Ctime = hashOf("other"), t0+1 }, "change /f [content,ctime]"},
		{"unchanged", base, func(*tree.Entry) {}, ""},
		{"btime alone", base, btime(5), ""},
		{"now too large", base, func(e *tree.Entry) { e.Flags, e.Hash = tree.FlagTooLarge, [32]byte{} }, ""},
		{"now too large, was unreadable", fstest.Edit(base, func(e *tree.Entry) { e.Flags, e.Hash = tree.FlagUnreadable, [32]byte{} }), func(e *tree.Entry) { e.Flags = tree.FlagTooLarge }, ""},
		// Content that cannot be pinned down never passes for unchanged.
		{"now unreadable", base, func(e *tree.Entry) { e.Flags, e.Hash = tree.FlagUnreadable, [32]byte{} }, "change /f [content]"},
		{"was unreadable", fstest.Edit(base, func(e *tree.Entry) { e.Flags, e.Hash = tree.FlagUnreadable, [32]byte{} }), hashed("hello"), "change /f [content]"},
		{"unreadable both times", fstest.Edit(base, func(e *tree.Entry) { e.Flags, e.Hash = tree.FlagUnreadable, [32]byte{} }), func(*tree.Entry) {}, ""},
		{"now unstable", base, func(e *tree.Entry) { e.Flags, e.Hash = tree.FlagUnstable, [32]byte{} }, "change /f [content]"},
		{"now unstable, ctime moved", base, func(e *tree.Entry) { e.Flags, e.Hash, e.Ctime = tree.FlagUnstable, [32]byte{}, t0+9 }, "change /f [content,ctime]"},
		{"was unstable", fstest.Edit(base, func(e *tree.Entry) { e.Flags, e.Hash = tree.FlagUnstable, [32]byte{} }), hashed("hello"), "change /f [content]"},
		{"unstable both times", fstest.Edit(base, func(e *tree.Entry) { e.Flags, e.Hash = tree.FlagUnstable, [32]byte{} }), func(*tree.Entry) {}, "change /f [content]"},
		{"xattrs now unreadable", fstest.Edit(base, xattr("user.x", "1")), func(e *tree.Entry) { e.Xattrs, e.Flags = nil, e.Flags|tree.FlagXattrsUnreadable }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, nil, []*tree.Entry{tt.old}, []*tree.Entry{fstest.Edit(tt.old, tt.edit)})
			if tt.want == "" {
				wantEvents(t, got)
			} else {
				wantEvents(t, got, tt.want)
			}
		})
	}
}

// TestContentAttrs pins which attributes make a change rather than a chmod.
func TestContentAttrs(t *testing.T) {
	want := []string{"type", "content", "prefix", "size", "link_target", "rdev", "mtime"}
	if got := contentAttrs.Strings(); !slices.Equal(got, want) {
		t.Errorf("content attributes %v, want %v", got, want)
	}
	for a := Attr(0); a < numAttrs; a++ {
		kind := KindOf(AttrSet(0).With(a))
		if wantKind := Chmod; slices.Contains(want, a.String()) != (kind != wantKind) {
			t.Errorf("KindOf(%s) = %s", a, kind)
		}
	}
}

func TestIgnore(t *testing.T) {
	old := file("/etc/f", 7, "hello")
	rewritten := fstest.Edit(old, content("hello, world"), mtime(1), ctime(1))
	tests := []struct {
		name   string
		filter Filter
		cur    *tree.Entry
		want   []string
	}{
		{"nothing ignored", nil, rewritten, []string{"change /etc/f [content,size,mtime,ctime]"}},
		{"times", ignoring(AttrMtime, AttrCtime), rewritten, []string{"change /etc/f [content,size]"}},
		{"every difference", ignoring(AttrContent, AttrSize, AttrMtime, AttrCtime), rewritten, nil},
		{"change becomes chmod", ignoring(AttrMtime), fstest.Edit(old, mtime(1), mode(0o600)), []string{"chmod /etc/f [mode]"}},
		{"per path, inside", func(p string) (KindSet, AttrSet) {
			if tree.IsWithin(p, "/etc") {
				return AllKinds, AttrSet(0).With(AttrMode)
			}
			return AllKinds, 0
		}, fstest.Edit(old, mode(0o600)), nil},
		{"per path, outside", func(p string) (KindSet, AttrSet) {
			if tree.IsWithin(p, "/usr") {
				return AllKinds, AttrSet(0).With(AttrMode)
			}
			return AllKinds, 0
		}, fstest.Edit(old, mode(0o600)), []string{"chmod /etc/f [mode]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantEvents(t, run(t, tt.filter, []*tree.Entry{old}, []*tree.Entry{tt.cur}), tt.want...)
		})
	}
}

func TestPairing(t *testing.T) {
	tests := []struct {
		name     string
		filter   Filter
		old, cur []*tree.Entry
		want     []string
	}{
		{
			name: "rename in the same directory, ctime of the rename dropped",
			old:  []*tree.Entry{file("/d/a", 7, "x")},
			cur:  []*tree.Entry{file("/d/b", 7, "x", ctime(1))},
			want: []string{"rename /d/b <- /d/a"},
		},
		{
			name: "move to another directory",
			old:  []*tree.Entry{file("/d/a", 7, "x")},
			cur:  []*tree.Entry{file("/e/a", 7, "x", ctime(1))},
			want: []string{"move /e/a <- /d/a"},
		},
		{
			name: "rename that also changed",
			old:  []*tree.Entry{file("/d/a", 7, "x")},
			cur:  []*tree.Entry{file("/d/b", 7, "y", mode(0o600), mtime(1))},
			want: []string{"rename /d/b <- /d/a [content,mtime,mode]"},
		},
		{
			name: "symlink renamed",
			old:  []*tree.Entry{symlink("/d/l", 7, "t")},
			cur:  []*tree.Entry{symlink("/d/m", 7, "t")},
			want: []string{"rename /d/m <- /d/l"},
		},
		{
			name: "same inode, birth time known on one side only",
			old:  []*tree.Entry{file("/d/a", 7, "x")},
			cur:  []*tree.Entry{file("/d/b", 7, "x", btime(1))},
			want: []string{"rename /d/b <- /d/a"},
		},
		{
			name: "same inode and birth time",
			old:  []*tree.Entry{file("/d/a", 7, "x", btime(1))},
			cur:  []*tree.Entry{file("/d/b", 7, "x", btime(1))},
			want: []string{"rename /d/b <- /d/a"},
		},
		{
			name: "inode reused: birth times differ",
			old:  []*tree.Entry{file("/d/a", 7, "x", btime(1))},
			cur:  []*tree.Entry{file("/d/b", 7, "y", btime(2))},
			want: []string{"remove /d/a", "create /d/b"},
		},
		{
			name: "inode reused by another type",
			old:  []*tree.Entry{file("/d/a", 7, "x")},
			cur:  []*tree.Entry{dir("/d/b", 7)},
			want: []string{"remove /d/a", "create /d/b"},
		},
		{
			name: "same inode on another device",
			old:  []*tree.Entry{file("/d/a", 7, "")},
			cur:  []*tree.Entry{file("/d/b", 7, "", func(e *tree.Entry) { e.Device = unix.Mkdev(8, 1) })},
			want: []string{"remove /d/a", "create /d/b"},
		},
		{
			name: "inodes differ, unique content",
			old:  []*tree.Entry{file("/d/a", 7, "x"), file("/d/c", 9, "z")},
			cur:  []*tree.Entry{file("/e/b", 8, "x"), file("/d/c", 9, "z")},
			want: []string{"move /e/b <- /d/a"},
		},
		{
			name:   "inode ignored, unique content",
			filter: ignoring(AttrInode),
			old:    []*tree.Entry{file("/d/a", 7, "x")},
			cur:    []*tree.Entry{file("/d/b", 8, "x")},
			want:   []string{"rename /d/b <- /d/a"},
		},
		{
			name:   "inode ignored, same inode but other content",
			filter: ignoring(AttrInode),
			old:    []*tree.Entry{file("/d/a", 7, "x")},
			cur:    []*tree.Entry{file("/d/b", 7, "y")},
			want:   []string{"remove /d/a", "create /d/b"},
		},
		{
			name:   "device ignored, unique content",
			filter: ignoring(AttrDevice),
			old:    []*tree.Entry{file("/d/a", 7, "x")},
			cur:    []*tree.Entry{file("/d/b", 8, "x")},
			want:   []string{"rename /d/b <- /d/a"},
		},
		{
			name: "content ambiguous among the removed",
			old:  []*tree.Entry{file("/d/a", 7, "x"), file("/d/b", 8, "x")},
			cur:  []*tree.Entry{file("/d/c", 9, "x")},
			want: []string{"remove /d/a", "remove /d/b", "create /d/c"},
		},
		{
			name: "content ambiguous among the created",
			old:  []*tree.Entry{file("/d/a", 7, "x")},
			cur:  []*tree.Entry{file("/d/b", 8, "x"), file("/d/c", 9, "x")},
			want: []string{"remove /d/a", "create /d/b", "create /d/c"},
		},
		{
			name: "empty files are never paired by content",
			old:  []*tree.Entry{file("/d/a", 7, "")},
			cur:  []*tree.Entry{file("/d/b", 8, "")},
			want: []string{"remove /d/a", "create /d/b"},
		},
		{
			name: "files without a hash are never paired by content",
			old:  []*tree.Entry{file("/d/a", 7, "x", func(e *tree.Entry) { e.Flags = tree.FlagTooLarge })},
			cur:  []*tree.Entry{file("/d/b", 8, "x", func(e *tree.Entry) { e.Flags = tree.FlagTooLarge })},
			want: []string{"remove /d/a", "create /d/b"},
		},
		{
			name: "an inode pair is not paired again by content",
			old:  []*tree.Entry{file("/d/a", 7, "x"), file("/d/b", 8, "y")},
			cur:  []*tree.Entry{file("/d/c", 7, "x"), file("/d/d", 9, "x")},
			want: []string{"remove /d/b", "rename /d/c <- /d/a", "create /d/d"},
		},
		{
			name: "two renames at once",
			old:  []*tree.Entry{file("/d/a", 7, "x"), file("/d/b", 8, "y")},
			cur:  []*tree.Entry{file("/d/b", 7, "x"), file("/d/c", 8, "y")},
			// /d/b exists on both sides: compared, not paired.
			want: []string{"change /d/b [content,inode]", "remove /d/a", "create /d/c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, tt.filter, tt.old, tt.cur)
			// want lists events in any order; Events sorts them by path.
			want := slices.Clone(tt.want)
			slices.SortStableFunc(want, func(a, b string) int {
				return tree.ComparePaths(strings.Fields(a)[1], strings.Fields(b)[1])
			})
			wantEvents(t, got, want...)
		})
	}
}

// movedTree returns a directory src with n files and a subdirectory, inside /t.
func movedTree(src string, n int) []*tree.Entry {
	es := []*tree.Entry{dir("/t", 1, nlink(4)), dir(src, 2, nlink(3)), dir(src+"/sub", 3), file(src+"/sub/x", 4, "x")}
	for i := range n {
		es = append(es, file(fmt.Sprintf("%s/f%04d", src, i), uint64(1000+i), fmt.Sprint("content ", i)))
	}
	return es
}

// moveTo returns copies of es with every path below from moved below to.
func moveTo(es []*tree.Entry, from, to string) []*tree.Entry {
	out := make([]*tree.Entry, len(es))
	for i, e := range es {
		out[i] = fstest.Edit(e)
		if tree.IsWithin(e.Path, from) {
			out[i].Path = to + strings.TrimPrefix(e.Path, from)
		}
	}
	return out
}

func find(es []*tree.Entry, path string) *tree.Entry {
	for _, e := range es {
		if e.Path == path {
			return e
		}
	}
	panic("no entry " + path)
}

func TestMovedDirectory(t *testing.T) {
	old := movedTree("/t/src", 1000)

	t.Run("rename is one event", func(t *testing.T) {
		cur := moveTo(old, "/t/src", "/t/dst")
		find(cur, "/t").Mtime = t0 + 1 // the rename's own noise on the parent
		find(cur, "/t").Ctime = t0 + 1
		find(cur, "/t/dst").Ctime = t0 + 1
		wantEvents(t, run(t, nil, old, cur), "rename /t/dst <- /t/src")
	})

	t.Run("move is one event", func(t *testing.T) {
		old := append(slices.Clone(old), dir("/t/other", 5))
		find(old, "/t").Nlink = 5
		cur := moveTo(old, "/t/src", "/t/other/dst")
		find(cur, "/t").Nlink = 4
		find(cur, "/t").Mtime = t0 + 1
		find(cur, "/t/other").Nlink = 3
		find(cur, "/t/other").Mtime = t0 + 1
		wantEvents(t, run(t, nil, old, cur), "move /t/other/dst <- /t/src")
	})

	t.Run("descendants that changed too", func(t *testing.T) {
		cur := moveTo(old, "/t/src", "/t/dst")
		changed := find(cur, "/t/dst/f0005")
		changed.Hash, changed.Mtime = hashOf("new"), t0+1
		find(cur, "/t/dst/sub/x").Mode = 0o600
		wantEvents(t, run(t, nil, old, cur),
			"rename /t/dst <- /t/src",
			"change /t/dst/f0005 <- /t/src/f0005 [content,mtime]",
			"chmod /t/dst/sub/x <- /t/src/sub/x [mode]",
		)
	})

	t.Run("descendants created and removed", func(t *testing.T) {
		cur := moveTo(old, "/t/src", "/t/dst")
		cur = slices.DeleteFunc(cur, func(e *tree.Entry) bool { return e.Path == "/t/dst/f0007" })
		cur = append(cur, file("/t/dst/new", 5000, ""))
		find(cur, "/t/dst").Mtime = t0 + 1
		wantEvents(t, run(t, nil, old, cur),
			"rename /t/dst <- /t/src [mtime]",
			"create /t/dst/new",
			"remove /t/src/f0007",
		)
	})

	t.Run("subdirectory with a child removed", func(t *testing.T) {
		// The removal is recorded under the old path; the moved subdirectory's own
		// noise is folded all the same.
		cur := moveTo(old, "/t/src", "/t/dst")
		cur = slices.DeleteFunc(cur, func(e *tree.Entry) bool { return e.Path == "/t/dst/sub/x" })
		find(cur, "/t/dst/sub").Mtime = t0 + 1
		find(cur, "/t/dst/sub").Ctime = t0 + 1
		wantEvents(t, run(t, nil, old, cur),
			"rename /t/dst <- /t/src",
			"remove /t/src/sub/x",
		)
	})

	t.Run("subdirectory with a child created", func(t *testing.T) {
		cur := moveTo(old, "/t/src", "/t/dst")
		cur = append(cur, file("/t/dst/sub/y", 5000, ""))
		find(cur, "/t/dst/sub").Mtime = t0 + 1
		find(cur, "/t/dst/sub").Ctime = t0 + 1
		wantEvents(t, run(t, nil, old, cur),
			"rename /t/dst <- /t/src",
			"create /t/dst/sub/y",
		)
	})
}

func TestDirectoryNoise(t *testing.T) {
	d := dir("/d", 1)
	noisy := fstest.Edit(d, mtime(1), ctime(1), nlink(3), func(e *tree.Entry) { e.Size = 8192 })
	tests := []struct {
		name     string
		filter   Filter
		old, cur []*tree.Entry
		want     []string
	}{
		{
			name: "child created",
			old:  []*tree.Entry{d},
			cur:  []*tree.Entry{noisy, file("/d/new", 2, "x")},
			want: []string{"create /d/new"},
		},
		{
			name: "child removed",
			old:  []*tree.Entry{d, dir("/d/old", 2)},
			cur:  []*tree.Entry{noisy},
			want: []string{"remove /d/old"},
		},
		{
			name: "child renamed",
			old:  []*tree.Entry{d, file("/d/a", 2, "x")},
			cur:  []*tree.Entry{noisy, file("/d/b", 2, "x")},
			want: []string{"rename /d/b <- /d/a"},
		},
		{
			name: "child moved: both directories",
			old:  []*tree.Entry{d, dir("/e", 3), file("/d/a", 2, "x")},
			cur:  []*tree.Entry{noisy, fstest.Edit(dir("/e", 3), mtime(1)), file("/e/a", 2, "x")},
			want: []string{"move /e/a <- /d/a"},
		},
		{
			name: "child replaced by a new inode",
			old:  []*tree.Entry{d, file("/d/a", 2, "x")},
			cur:  []*tree.Entry{fstest.Edit(d, mtime(1), ctime(1)), file("/d/a", 3, "y", mtime(1), ctime(1))},
			want: []string{"change /d/a [content,mtime,ctime,inode]"},
		},
		{
			name: "child replaced by another type, same inode number",
			old:  []*tree.Entry{d, file("/d/a", 2, "x", btime(1))},
			cur:  []*tree.Entry{fstest.Edit(d, mtime(1), ctime(1)), symlink("/d/a", 2, "x", btime(2))},
			want: []string{"change /d/a [type,link_target,mode]"},
		},
		{
			name:   "child with a new inode and birth time, inodes ignored",
			filter: ignoring(AttrInode),
			old:    []*tree.Entry{d, file("/d/a", 2, "x", btime(1))},
			cur:    []*tree.Entry{fstest.Edit(d, mtime(1)), file("/d/a", 3, "y", btime(2))},
			want:   []string{"change /d [mtime]", "change /d/a [content]"},
		},
		{
			name: "no child created or removed",
			old:  []*tree.Entry{d, file("/d/a", 2, "x")},
			cur:  []*tree.Entry{fstest.Edit(d, mtime(1)), file("/d/a", 2, "y")},
			want: []string{"change /d [mtime]", "change /d/a [content]"},
		},
		{
			name: "child created in a subdirectory only",
			old:  []*tree.Entry{d, dir("/d/s", 2)},
			cur:  []*tree.Entry{fstest.Edit(d, mtime(1)), fstest.Edit(dir("/d/s", 2), mtime(1)), file("/d/s/new", 3, "x")},
			want: []string{"change /d [mtime]", "create /d/s/new"},
		},
		{
			name: "other attributes are reported",
			old:  []*tree.Entry{d},
			cur:  []*tree.Entry{fstest.Edit(noisy, mode(0o700)), file("/d/new", 2, "x")},
			want: []string{"change /d [size,mtime,mode,ctime,nlink]", "create /d/new"},
		},
		{
			name: "a file is not a directory",
			old:  []*tree.Entry{file("/d", 1, "x")},
			cur:  []*tree.Entry{file("/d", 1, "x", mtime(1)), file("/d/new", 2, "x")},
			want: []string{"change /d [mtime]", "create /d/new"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantEvents(t, run(t, tt.filter, tt.old, tt.cur), tt.want...)
		})
	}
}

func TestMergeUnreadableDirectory(t *testing.T) {
	old := []*tree.Entry{
		dir("/", 1), dir("/d", 2), file("/d/a", 3, "a"), dir("/d/b", 4), file("/d/b/c", 5, "c"),
		file("/d-x", 6, "x"), file("/dx", 7, "x"), dir("/e", 8), file("/e/f", 9, "f"),
	}
	unreadable := flags(tree.FlagUnreadable)
	t.Run("in the middle", func(t *testing.T) {
		cur := []*tree.Entry{dir("/", 1), dir("/d", 2, unreadable), dir("/e", 8), file("/e/f", 9, "f")}
		wantEvents(t, run(t, nil, old, cur), "remove /d-x", "remove /dx")
	})
	t.Run("at the end", func(t *testing.T) {
		cur := []*tree.Entry{dir("/", 1), dir("/d", 2), file("/d/a", 3, "a"), dir("/d/b", 4), file("/d/b/c", 5, "c"),
			file("/d-x", 6, "x"), file("/dx", 7, "x"), dir("/e", 8, unreadable, mode(0o700))}
		wantEvents(t, run(t, nil, old, cur), "chmod /e [mode]")
	})
	t.Run("nested", func(t *testing.T) {
		cur := []*tree.Entry{dir("/", 1), dir("/d", 2), dir("/d/b", 4, unreadable),
			file("/d-x", 6, "x"), file("/dx", 7, "x"), dir("/e", 8), file("/e/f", 9, "f")}
		wantEvents(t, run(t, nil, old, cur), "remove /d/a")
	})
	t.Run("directory now unreadable was a file", func(t *testing.T) {
		old := []*tree.Entry{dir("/", 1), file("/d", 2, "x"), file("/d-x", 6, "x")}
		cur := []*tree.Entry{dir("/", 1), dir("/d", 2, unreadable)}
		wantEvents(t, run(t, nil, old, cur), "change /d [type,size,mode,nlink]", "remove /d-x")
	})
}

func TestEventsSorted(t *testing.T) {
	old := []*tree.Entry{
		dir("/", 1), file("/z", 2, "z"), file("/a/x", 3, "ax"), file("/a-b", 4, "ab"), dir("/a", 5),
		file("/m", 6, "m"), file("/a.b", 7, "a.b"),
	}
	cur := []*tree.Entry{
		dir("/", 1), file("/z", 2, "Z"), dir("/a", 5), file("/a/y", 3, "ax"),
		file("/m", 6, "m", mode(0)), file("/0", 9, ""), file("/a.b/c", 10, "")}
	// The differ records compared paths first, then creates, then removes; the events
	// come out by path, in key order.
	wantEvents(t, run(t, nil, old, cur),
		"create /0",
		"rename /a/y <- /a/x",
		"remove /a-b",
		"remove /a.b",
		"create /a.b/c",
		"chmod /m [mode]",
		"change /z [content]",
	)
}

func TestEventsSortedByKey(t *testing.T) {
	// Events sort as keys do: "/a", then what is below it, then "/a-b".
	old := []*tree.Entry{dir("/", 1)}
	cur := []*tree.Entry{dir("/", 1), file("/a-b", 4, ""), dir("/a", 2), file("/a/z", 3, ""), file("/a.b", 5, "")}
	got := run(t, nil, old, cur)
	wantEvents(t, got, "create /a", "create /a/z", "create /a-b", "create /a.b")
	if !slices.IsSortedFunc(got, func(a, b Event) int { return tree.ComparePaths(a.Path, b.Path) }) {
		t.Error("events not sorted")
	}
}

func TestEventsTwice(t *testing.T) {
	d := &Differ{}
	d.Both(dir("/d", 1), dir("/d", 1, mtime(1))) // dropped: a child was created
	d.Both(file("/d/y", 8, "a"), file("/d/y", 8, "b"))
	d.Both(file("/d/z", 9, "a"), file("/d/z", 9, "b"))
	d.Created(file("/d/a", 2, ""))
	want := []string{"create /d/a", "change /d/y [content]", "change /d/z [content]"}
	wantEvents(t, d.Events(), want...)
	wantEvents(t, d.Events(), want...)
}

func TestFilterKinds(t *testing.T) {
	quiet := KindSet(0).With(Change).With(Chmod)
	filter := func(p string) (KindSet, AttrSet) {
		if tree.IsWithin(p, "/quiet") {
			return quiet, 0
		}
		return AllKinds, 0
	}
	old := []*tree.Entry{
		dir("/loud", 1), file("/loud/gone", 2, "g"), file("/loud/a", 3, "a"),
		dir("/quiet", 4), file("/quiet/gone", 5, "qg"), file("/quiet/f", 6, "f"), file("/quiet/a", 7, "qa"),
	}
	cur := []*tree.Entry{
		dir("/loud", 1), file("/loud/new", 8, ""), file("/loud/b", 3, "a"),
		dir("/quiet", 4), file("/quiet/new", 9, ""), file("/quiet/f", 6, "F"), file("/quiet/b", 7, "qa"),
	}
	wantEvents(t, run(t, filter, old, cur),
		"rename /loud/b <- /loud/a",
		"remove /loud/gone",
		"create /loud/new",
		"change /quiet/f [content]",
	)
	// The zero set reports nothing.
	none := func(string) (KindSet, AttrSet) { return 0, 0 }
	wantEvents(t, run(t, none, old, cur))
}

func TestParseKindsAttrs(t *testing.T) {
	for _, k := range Kinds() {
		if got, err := ParseKind(k.String()); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k, got, err)
		}
	}
	if s, err := ParseKinds(nil); err != nil || s != AllKinds {
		t.Errorf("ParseKinds(nil) = %v, %v; want all", s, err)
	}
	if s, err := ParseKinds([]string{"create", "move"}); err != nil || !s.Has(Create) || !s.Has(Move) || s.Has(Change) {
		t.Errorf("ParseKinds(create, move) = %b, %v", s, err)
	}
	if _, err := ParseKinds([]string{"delete"}); err == nil {
		t.Error("ParseKinds(delete): no error")
	}
	all := make([]string, 0, numAttrs)
	for a := Attr(0); a < numAttrs; a++ {
		all = append(all, a.String())
	}
	s, err := ParseAttrs(all)
	if err != nil || !slices.Equal(s.Strings(), all) {
		t.Errorf("ParseAttrs(%v) = %v, %v", all, s.Strings(), err)
	}
	if s, err := ParseAttrs([]string{" mtime", "ctime "}); err != nil || !slices.Equal(s.Strings(), []string{"mtime", "ctime"}) {
		t.Errorf("ParseAttrs with spaces = %v, %v", s.Strings(), err)
	}
	if _, err := ParseAttrs([]string{"atime"}); err == nil {
		t.Error("ParseAttrs(atime): no error")
	}
}

// TestImplied: an entry the source only implied (a directory a tar archive leaves out)
// is compared by type alone.
func TestImplied(t *testing.T) {
	implied := &tree.Entry{Path: "/etc", Type: tree.TypeDir, Mode: 0o755, Flags: tree.FlagImplied}
	extracted := &tree.Entry{Path: "/etc", Type: tree.TypeDir, Mode: 0o700, UID: 1000, Mtime: 5e18, Ctime: 5e18, Inode: 42, Nlink: 3}
	replaced := &tree.Entry{Path: "/etc", Type: tree.TypeFile, Mode: 0o755}
	wantEvents(t, run(t, nil, []*tree.Entry{implied}, []*tree.Entry{extracted}))
	wantEvents(t, run(t, nil, []*tree.Entry{implied}, []*tree.Entry{replaced}), "change /etc [type]")
	// Only the baseline's side counts: a current entry cannot be implied.
	recorded := &tree.Entry{Path: "/etc", Type: tree.TypeDir, Mode: 0o755}
	wantEvents(t, run(t, nil, []*tree.Entry{recorded}, []*tree.Entry{{Path: "/etc", Type: tree.TypeDir, Mode: 0o700, Flags: tree.FlagImplied}}),
		"chmod /etc [mode]")
}

// TestAttrTable: every attribute compares, keeps and reads through its row of the
// table: changed alone it is the one difference Compare finds, Keep of it (but the
// type, which is never kept) takes the difference back and leaves every other one,
// and it is carried by the types it is meaningful for.
func TestAttrTable(t *testing.T) {
	base := file("/f", 7, "hello")
	dev := fstest.Edit(base, func(e *tree.Entry) { e.Type, e.Rdev, e.Flags, e.Hash = tree.TypeCharDev, 0x103, 0, [32]byte{} })
	link := symlink("/f", 7, "a")
	for _, c := range []struct {
		attr Attr
		old  *tree.Entry
		edit func(*tree.Entry)
	}{
		{AttrType, base, func(e *tree.Entry) { e.Type, e.Flags, e.Hash = tree.TypeFIFO, 0, [32]byte{} }},
		{AttrContent, base, func(e *tree.Entry) { e.Hash = hashOf("HELLO") }},
		{AttrContent, base, func(e *tree.Entry) { e.Flags, e.Hash = tree.FlagUnstable, [32]byte{} }},
		{AttrSize, base, func(e *tree.Entry) { e.Size++ }},
		{AttrLinkTarget, link, func(e *tree.Entry) { e.LinkTarget = "b" }},
		{AttrRdev, dev, func(e *tree.Entry) { e.Rdev = 0x105 }},
		{AttrMtime, base, func(e *tree.Entry) { e.Mtime++ }},
		{AttrMode, base, func(e *tree.Entry) { e.Mode = 0o4755 }},
		{AttrUID, base, func(e *tree.Entry) { e.UID = 1234 }},
		{AttrGID, base, func(e *tree.Entry) { e.GID = 1234 }},
		{AttrXattrs, base, func(e *tree.Entry) { e.Xattrs = []tree.Xattr{{Name: "user.x", Value: []byte("1")}} }},
		{AttrCtime, base, func(e *tree.Entry) { e.Ctime++ }},
		{AttrInode, base, func(e *tree.Entry) { e.Inode = 8 }},
		{AttrDevice, base, func(e *tree.Entry) { e.Device = unix.Mkdev(8, 1) }},
		{AttrNlink, base, func(e *tree.Entry) { e.Nlink = 2 }},
	} {
		cur := fstest.Edit(c.old, c.edit)
		if got := Compare(c.old, cur, 0); got != AttrSet(0).With(c.attr) {
			t.Errorf("%s: Compare = %v", c.attr, got.Strings())
		}
		if got := Compare(c.old, cur, AttrSet(0).With(c.attr)); got != 0 {
			t.Errorf("%s ignored: Compare = %v", c.attr, got.Strings())
		}
		kept := Keep(c.old, cur, AttrSet(0).With(c.attr))
		want := AttrSet(0)
		if c.attr == AttrType {
			want = want.With(AttrType)
		}
		if got := Compare(c.old, kept, 0); got != want {
			t.Errorf("%s kept: Compare = %v, want %v", c.attr, got.Strings(), want.Strings())
		}
		if other := Keep(c.old, cur, ^AttrSet(0).With(c.attr)&^AttrSet(0).With(c.attr)); c.attr != AttrType && Compare(c.old, other, 0) != AttrSet(0).With(c.attr) {
			t.Errorf("%s: Keep of every other attribute took it back too", c.attr)
		}
		if !AttrsOf(c.old.Type).Has(c.attr) {
			t.Errorf("%s: not carried by a %s", c.attr, c.old.Type)
		}
		if a, err := ParseAttr(c.attr.String()); err != nil || a != c.attr {
			t.Errorf("%s: ParseAttr = %v, %v", c.attr, a, err)
		}
	}
	for _, c := range []struct {
		t    tree.Type
		lack []Attr
	}{
		{tree.TypeFile, []Attr{AttrLinkTarget, AttrRdev}},
		{tree.TypeDir, []Attr{AttrContent, AttrLinkTarget, AttrRdev}},
		{tree.TypeSymlink, []Attr{AttrContent, AttrRdev}},
		{tree.TypeCharDev, []Attr{AttrContent, AttrLinkTarget}},
	} {
		for _, a := range c.lack {
			if AttrsOf(c.t).Has(a) {
				t.Errorf("a %s carries %s", c.t, a)
			}
		}
	}
}

// TestRank orders events as reports show them: unexplained first, the most severe
// first within each part, of one severity those the package database disproves first,
// events of one rank in the order they came.
func TestRank(t *testing.T) {
	events := []Event{
		{Path: "/a", Severity: SeverityLow, Verdict: VerdictMatch},
		{Path: "/b", Severity: SeverityLow},
		{Path: "/c", Severity: SeverityHigh, Verdict: VerdictRemoved},
		{Path: "/d", Severity: SeverityCritical, Verdict: VerdictUnowned},
		{Path: "/e", Severity: SeverityLow},
		{Path: "/f"},
		{Path: "/etc/group", Severity: SeverityHigh, Verdict: VerdictUnowned},
		{Path: "/usr/bin/hostname", Severity: SeverityHigh, Verdict: VerdictMismatch},
		{Path: "/usr/bin/x", Severity: SeverityLow, Verdict: VerdictMissing},
		{Path: "/var/lib/dpkg/info/x.md5sums", Severity: SeverityCritical, Verdict: VerdictTampered},
	}
	Rank(events)
	var got []string
	for _, ev := range events {
		got = append(got, ev.Path)
	}
	if want := []string{"/var/lib/dpkg/info/x.md5sums", "/d", "/usr/bin/hostname", "/etc/group", "/usr/bin/x", "/b", "/e", "/f", "/c", "/a"}; !slices.Equal(got, want) {
		t.Errorf("ranked %q, want %q", got, want)
	}
}

// TestVolatileInode: a directory whose inode number does not last (overlayfs) is not
// reported for another number, nor paired by it into a rename; everything else about
// it, and the inode of any entry without the flag, is still compared.
func TestVolatileInode(t *testing.T) {
	volatile := flags(tree.FlagVolatileInode)
	for _, c := range []struct {
		name     string
		old, cur []*tree.Entry
		want     []string
	}{
		{"another number only", []*tree.Entry{dir("/d", 7)}, []*tree.Entry{dir("/d", 8, volatile)}, nil},
		{"another number and mode", []*tree.Entry{dir("/d", 7)}, []*tree.Entry{dir("/d", 8, volatile, mode(0o700))},
			[]string{"chmod /d [mode]"}},
		{"another number and times", []*tree.Entry{dir("/d", 7)}, []*tree.Entry{dir("/d", 8, volatile, mtime(1), ctime(1))},
			[]string{"change /d [mtime,ctime]"}},
		{"another number without the flag", []*tree.Entry{dir("/d", 7)}, []*tree.Entry{dir("/d", 8)},
			[]string{"chmod /d [inode]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantEvents(t, run(t, nil, c.old, c.cur), c.want...)
		})
	}
	// Paired by its number, a created directory would be taken for the removed one renamed.
	wantEvents(t, run(t, nil, []*tree.Entry{dir("/a", 7)}, []*tree.Entry{dir("/c", 7, volatile)}), "remove /a", "create /c")
	wantEvents(t, run(t, nil, []*tree.Entry{dir("/a", 7)}, []*tree.Entry{dir("/c", 7)}), "rename /c <- /a")
}
