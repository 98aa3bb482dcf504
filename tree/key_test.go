package tree

import (
	"bytes"
	"io/fs"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

func TestComparePaths(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"/a", "/a", 0},
		{"/", "/a", -1},
		{"/a", "/a/b", -1},
		{"/a/b", "/a-b", -1},      // '/' before '-'
		{"/a/z", "/a.b", -1},      // a directory's descendants before its siblings
		{"/a/\xff", "/a\x01", -1}, // '/' before every other byte, 0x01 included
		{"/a\x01", "/a-b", -1},
		{"/a-b", "/a.b", -1},
		{"/a.b", "/ab", -1},
		{"/ab", "/a\xff", -1},
		{"/a\xff", "/b", -1},
		{"/b", "/\xff", -1},
		{"/etc/passwd", "/etc", 1},
		{"/etc/ssh/sshd_config", "/etc/ssh.d", -1},
		{"/usr/lib64", "/usr/lib/x", 1},
		{"", "/", -1},
	} {
		if got := sign(ComparePaths(c.a, c.b)); got != c.want {
			t.Errorf("ComparePaths(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := sign(ComparePaths(c.b, c.a)); got != -c.want {
			t.Errorf("ComparePaths(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
		if got := sign(bytes.Compare(Key(c.a), Key(c.b))); got != c.want {
			t.Errorf("bytes.Compare(Key(%q), Key(%q)) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestKey(t *testing.T) {
	for _, c := range []struct {
		path string
		key  string
	}{
		{"/", "\x00"},
		{"/etc/passwd", "\x00etc\x00passwd"},
		{"/a\xff\x01/b", "\x00a\xff\x01\x00b"},
		{"", ""},
	} {
		if got := Key(c.path); string(got) != c.key {
			t.Errorf("Key(%q) = %q, want %q", c.path, got, c.key)
		}
		if got := PathFromKey([]byte(c.key)); got != c.path {
			t.Errorf("PathFromKey(%q) = %q, want %q", c.key, got, c.path)
		}
	}
	// Key must not alias its argument's bytes: a caller may keep both.
	p := "/x/y"
	k := Key(p)
	k[0] = 'z'
	if p != "/x/y" || string(Key(p)) != "\x00x\x00y" {
		t.Errorf("Key changed its input: %q", p)
	}
}

// FuzzKey checks that Key is reversible and orders as ComparePaths does, for every
// path without a 0 byte (which a path cannot hold).
func FuzzKey(f *testing.F) {
	for _, s := range [][2]string{
		{"/", "/a"},
		{"/a", "/a/b"},
		{"/a/b", "/a-b"},
		{"/a\x01", "/a/"},
		{"/\xff", "/a"},
		{"", "/"},
		{"a//b", "a/\x01"},
		{"/bad\xff\xfe", "/bad\xff"},
		{"/new\nline/x", "/new\nline"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if strings.IndexByte(a, 0) >= 0 || strings.IndexByte(b, 0) >= 0 {
			t.Skip("a path holds no 0 byte")
		}
		ka, kb := Key(a), Key(b)
		if got := PathFromKey(ka); got != a {
			t.Fatalf("PathFromKey(Key(%q)) = %q", a, got)
		}
		if len(ka) != len(a) || bytes.IndexByte(ka, '/') >= 0 {
			t.Fatalf("Key(%q) = %q: not a byte-for-byte mapping of '/' to 0", a, ka)
		}
		c := sign(ComparePaths(a, b))
		if k := sign(bytes.Compare(ka, kb)); c != k {
			t.Fatalf("ComparePaths(%q, %q) = %d, keys compare %d", a, b, c, k)
		}
		if r := sign(ComparePaths(b, a)); r != -c {
			t.Fatalf("ComparePaths not antisymmetric on %q, %q: %d and %d", a, b, c, r)
		}
		if (c == 0) != (a == b) {
			t.Fatalf("ComparePaths(%q, %q) = %d", a, b, c)
		}
	})
}

func TestIsWithin(t *testing.T) {
	for _, c := range []struct {
		path, dir string
		want      bool
	}{
		{"/etc", "/etc", true},
		{"/etc/passwd", "/etc", true},
		{"/etc/ssh/x", "/etc", true},
		{"/etc-old", "/etc", false},
		{"/etcx/a", "/etc", false},
		{"/et", "/etc", false},
		{"/", "/etc", false},
		{"/etc", "/", true},
		{"/", "/", true},
	} {
		if got := IsWithin(c.path, c.dir); got != c.want {
			t.Errorf("IsWithin(%q, %q) = %v, want %v", c.path, c.dir, got, c.want)
		}
	}
}

func TestJoinAndCleanPath(t *testing.T) {
	for _, c := range [][3]string{{"/", "etc", "/etc"}, {"/etc", "passwd", "/etc/passwd"}, {"/a b", "\xff", "/a b/\xff"}} {
		if got := Join(c[0], c[1]); got != c[2] {
			t.Errorf("Join(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
	for _, c := range [][2]string{{"", "/"}, {"etc", "/etc"}, {"/etc/", "/etc"}, {"//etc/../usr/./bin", "/usr/bin"}, {"/..", "/"}} {
		if got := CleanPath(c[0]); got != c[1] {
			t.Errorf("CleanPath(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}

func TestTypes(t *testing.T) {
	for _, c := range []struct {
		mode uint32
		typ  Type
		name string
		fm   fs.FileMode
	}{
		{unix.S_IFREG | 0o4755, TypeFile, "file", fs.ModeSetuid | 0o755},
		{unix.S_IFDIR | 0o1777, TypeDir, "dir", fs.ModeDir | fs.ModeSticky | 0o777},
		{unix.S_IFLNK | 0o777, TypeSymlink, "symlink", fs.ModeSymlink | 0o777},
		{unix.S_IFIFO | 0o600, TypeFIFO, "fifo", fs.ModeNamedPipe | 0o600},
		{unix.S_IFSOCK | 0o755, TypeSocket, "socket", fs.ModeSocket | 0o755},
		{unix.S_IFCHR | 0o2666, TypeCharDev, "chardev", fs.ModeDevice | fs.ModeCharDevice | fs.ModeSetgid | 0o666},
		{unix.S_IFBLK | 0o660, TypeBlockDev, "blockdev", fs.ModeDevice | 0o660},
		{0o644, TypeUnknown, "unknown", 0o644},
	} {
		typ := TypeFromMode(c.mode)
		if typ != c.typ || typ.String() != c.name {
			t.Errorf("TypeFromMode(%#o) = %v (%d), want %v", c.mode, typ, typ, c.name)
		}
		if back, ok := ParseType(c.name); !ok || back != c.typ {
			t.Errorf("ParseType(%q) = %v, %v", c.name, back, ok)
		}
		e := Entry{Type: typ, Mode: c.mode & 0o7777}
		if got := e.FileMode(); got != c.fm {
			t.Errorf("%v %#o: FileMode() = %v, want %v", typ, c.mode, got, c.fm)
		}
	}
	if _, ok := ParseType("door"); ok {
		t.Error(`ParseType("door") succeeded`)
	}
	if s := Type(200).String(); s != "unknown" {
		t.Errorf("Type(200) = %q", s)
	}
}
