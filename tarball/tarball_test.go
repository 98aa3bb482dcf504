package tarball

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"fim/diff"
	"fim/tree"
)

const synthRoot = "/ dir 0755 0:0 0 nlink=2 flags=0x40 mtime=0"

// TestMembers reads archives built member by member and checks every recorded entry
// and every warning: names, hostile members, duplicates, links, missing parents, types
// and the attributes PAX and GNU headers carry.
func TestMembers(t *testing.T) {
	long := strings.Repeat("n", 200) + "/" + strings.Repeat("f", 99)
	longTarget := strings.Repeat("t", 150)
	pax := func(h *tar.Header) { h.Format = tar.FormatPAX }
	gnu := func(h *tar.Header) { h.Format = tar.FormatGNU }
	mode := func(m int64) func(*tar.Header) { return func(h *tar.Header) { h.Mode = m } }
	dev := func(f byte, major, minor int64) func(*tar.Header) {
		return func(h *tar.Header) { h.Typeflag, h.Devmajor, h.Devminor, h.Mode = f, major, minor, 0o600 }
	}
	for _, c := range []struct {
		name    string
		members []member
		want    []string // render of each entry, in order
		warns   []string // "path: " and a part of the error, in order
	}{
		{
			name: "a small image",
			members: []member{
				dir("./").with(func(h *tar.Header) { h.Mode, h.Uid = 0o700, 5 }),
				dir("etc/"),
				file("etc/passwd", "root"),
				symlink("etc/sym", "passwd").with(mode(0o644)), // created 0777 whatever the header says
				dir("tmp/").with(mode(0o1777)),
				file("bin/su", "su").with(mode(0o4755)),
				file("bin/wall", "wall").with(func(h *tar.Header) { h.Mode, h.Gid = 0o2755, 5 }),
			},
			want: []string{
				"/ dir 0700 5:0 0 nlink=5",
				"/bin dir 0755 0:0 0 nlink=2 flags=0x40 mtime=0",
				"/bin/su file 4755 0:0 2 nlink=1 b3(su)",
				"/bin/wall file 2755 0:5 4 nlink=1 b3(wall)",
				"/etc dir 0755 0:0 0 nlink=2",
				"/etc/passwd file 0644 0:0 4 nlink=1 b3(root)",
				"/etc/sym symlink 0777 0:0 6 nlink=1 -> passwd",
				"/tmp dir 1777 0:0 0 nlink=2",
			},
			warns: []string{"/bin: directory not in the archive"},
		},
		{
			name:    "names escaping the root are skipped",
			members: []member{file("../escape", "x"), file("a/../../b", "y"), file("..", ""), file("ok", "z")},
			want:    []string{synthRoot, "/ok file 0644 0:0 1 nlink=1 b3(z)"},
			warns: []string{"../escape: member name escapes the image root", "a/../../b: member name escapes",
				"..: member name escapes", "/: directory not in"},
		},
		{
			name:    "absolute and dotted names are relative to the root",
			members: []member{file("/abs/path", "p"), file("./a/./b/../c", "c"), file("//x", "x")},
			want: []string{"/ dir 0755 0:0 0 nlink=4 flags=0x40 mtime=0",
				"/a dir 0755 0:0 0 nlink=2 flags=0x40 mtime=0", "/a/c file 0644 0:0 1 nlink=1 b3(c)",
				"/abs dir 0755 0:0 0 nlink=2 flags=0x40 mtime=0", "/abs/path file 0644 0:0 1 nlink=1 b3(p)",
				"/x file 0644 0:0 1 nlink=1 b3(x)"},
			warns: []string{"/: directory not in", "/a: directory not in", "/abs: directory not in"},
		},
		{
			name:    "symlink followed by a member below it",
			members: []member{dir("./"), symlink("evil", "/etc"), file("evil/passwd", "pw"), hardlink("evil2", "evil/passwd")},
			want:    []string{"/ dir 0755 0:0 0 nlink=2", "/evil symlink 0777 0:0 4 nlink=1 -> /etc"},
			warns: []string{"/evil/passwd: below /evil, a symlink in the archive, which extraction would follow: skipped",
				"/evil2: hard link to /evil/passwd, which is not an earlier member"},
		},
		{
			name:    "below a file",
			members: []member{dir("./"), file("f", "x"), file("f/y", "y"), dir("f/d/")},
			want:    []string{"/ dir 0755 0:0 0 nlink=2", "/f file 0644 0:0 1 nlink=1 b3(x)"},
			warns:   []string{"/f/y: below /f, a file in the archive, not a directory", "/f/d: below /f, a file"},
		},
		{
			name: "hard links share the inode and count names",
			members: []member{dir("./"), file("a", "A").with(mode(0o4711)),
				hardlink("b", "a").with(func(h *tar.Header) { h.Mode, h.Uid = 0o600, 9 }), // the link's header is ignored
				hardlink("c", "./a"), hardlink("d/e", "/a")},
			want: []string{"/ dir 0755 0:0 0 nlink=3",
				"/a file 4711 0:0 1 nlink=4 b3(A)", "/b file 4711 0:0 1 nlink=4 b3(A)", "/c file 4711 0:0 1 nlink=4 b3(A)",
				"/d dir 0755 0:0 0 nlink=2 flags=0x40 mtime=0", "/d/e file 4711 0:0 1 nlink=4 b3(A)"},
			warns: []string{"/d: directory not in"},
		},
		{
			name:    "a hard link keeps the content its target had",
			members: []member{dir("./"), file("a", "old"), hardlink("b", "a"), file("a", "new")},
			want:    []string{"/ dir 0755 0:0 0 nlink=2", "/a file 0644 0:0 3 nlink=1 b3(new)", "/b file 0644 0:0 3 nlink=1 b3(old)"},
			warns:   []string{"/a: appears again in the archive: the later entry wins"},
		},
		{
			name: "hard links that extraction cannot make",
			members: []member{dir("./"), file("x", "x"), dir("d/"), hardlink("l1", "../x"), hardlink("l2", "later"),
				file("later", "l"), hardlink("l3", "d"), hardlink("x", "x"), hardlink("l4", "")},
			want: []string{"/ dir 0755 0:0 0 nlink=3", "/d dir 0755 0:0 0 nlink=2",
				"/later file 0644 0:0 1 nlink=1 b3(l)", "/x file 0644 0:0 1 nlink=1 b3(x)"},
			warns: []string{`/l1: hard link to "../x": member name escapes`, "/l2: hard link to /later, which is not an earlier member",
				"/l3: hard link to directory /d", "/x: hard link to itself", "/l4: hard link to directory /"},
		},
		{
			name:    "hard links to a symlink, a fifo and a device",
			members: []member{dir("./"), symlink("s", "t"), hardlink("s2", "s"), member{hdr: tar.Header{Name: "p", Typeflag: tar.TypeFifo, Mode: 0o600, ModTime: epoch}}, hardlink("p2", "p")},
			want: []string{"/ dir 0755 0:0 0 nlink=2", "/p fifo 0600 0:0 0 nlink=2", "/p2 fifo 0600 0:0 0 nlink=2",
				"/s symlink 0777 0:0 1 nlink=2 -> t", "/s2 symlink 0777 0:0 1 nlink=2 -> t"},
		},
		{
			name:    "duplicate file: the last wins",
			members: []member{dir("./"), file("f", "one"), file("f", "two")},
			want:    []string{"/ dir 0755 0:0 0 nlink=2", "/f file 0644 0:0 3 nlink=1 b3(two)"},
			warns:   []string{"/f: appears again in the archive: the later entry wins"},
		},
		{
			name:    "a directory replaced by a file, with what was below it",
			members: []member{dir("./"), dir("d/"), dir("d/sub/"), file("d/sub/x", "x"), file("d", "file"), file("d2/x", "y"), symlink("d2", "d")},
			want:    []string{"/ dir 0755 0:0 0 nlink=2", "/d file 0644 0:0 4 nlink=1 b3(file)", "/d2 symlink 0777 0:0 1 nlink=1 -> d"},
			warns: []string{"/d: a file replaces a directory of the archive and everything below it",
				"/d2: a symlink replaces a directory"},
		},
		{
			name:    "a directory that appears again keeps what is below it",
			members: []member{dir("./"), dir("d/"), file("d/x", "x"), dir("d").with(mode(0o700))},
			want:    []string{"/ dir 0755 0:0 0 nlink=3", "/d dir 0700 0:0 0 nlink=2", "/d/x file 0644 0:0 1 nlink=1 b3(x)"},
			warns:   []string{"/d: appears again in the archive: the later entry's attributes win, what is below it stays"},
		},
		{
			name:    "a file replaced by a directory",
			members: []member{dir("./"), file("d", "x"), dir("d/"), file("d/y", "y")},
			want:    []string{"/ dir 0755 0:0 0 nlink=3", "/d dir 0755 0:0 0 nlink=2", "/d/y file 0644 0:0 1 nlink=1 b3(y)"},
			warns:   []string{"/d: appears again in the archive: the later entry wins"},
		},
		{
			name:    "missing parents, one of them in the archive later",
			members: []member{file("a/b/c", "c"), dir("a/").with(mode(0o700)), dir("./")},
			want: []string{"/ dir 0755 0:0 0 nlink=3", "/a dir 0700 0:0 0 nlink=3",
				"/a/b dir 0755 0:0 0 nlink=2 flags=0x40 mtime=0", "/a/b/c file 0644 0:0 1 nlink=1 b3(c)"},
			warns: []string{"/a/b: directory not in the archive: recorded as implied by the entries below it"},
		},
		{
			name:    "the root",
			members: []member{file(".", "x"), dir("./").with(mode(0o750)), dir("/").with(mode(0o700))},
			want:    []string{"/ dir 0700 0:0 0 nlink=2"},
			warns:   []string{"/: the image root is not a directory in the archive: skipped", "/: appears again"},
		},
		{
			name: "devices and fifos",
			members: []member{dir("./"),
				member{hdr: tar.Header{Name: "null", ModTime: epoch}}.with(dev(tar.TypeChar, 1, 3)),
				member{hdr: tar.Header{Name: "loop", ModTime: epoch}}.with(dev(tar.TypeBlock, 7, 0)),
				member{hdr: tar.Header{Name: "nvme", ModTime: epoch}}.with(dev(tar.TypeBlock, 259, 70000)),
				member{hdr: tar.Header{Name: "fifo", ModTime: epoch}}.with(dev(tar.TypeFifo, 0, 0))},
			want: []string{"/ dir 0755 0:0 0 nlink=2", "/fifo fifo 0600 0:0 0 nlink=1",
				"/loop blockdev 0600 0:0 0 nlink=1 rdev=0x700", "/null chardev 0600 0:0 0 nlink=1 rdev=0x103",
				"/nvme blockdev 0600 0:0 0 nlink=1 rdev=0x11110370"},
		},
		{
			name: "PAX records",
			members: []member{dir("./"),
				file(long, "long").with(pax),
				symlink("lt", longTarget).with(pax),
				file("ns", "ns").with(func(h *tar.Header) {
					h.Format, h.ModTime, h.Uid, h.Gid = tar.FormatPAX, time.Unix(1700000000, 123456789), 3000000000, 4000000000
				}),
				file("x", "x").with(func(h *tar.Header) {
					h.PAXRecords = map[string]string{
						"SCHILY.xattr.user.b":              "2",
						"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00",
						"SCHILY.xattr.user.a":              "1",
						"SCHILY.xattr.user.empty":          "",
						"RHT.security.selinux":             "system_u:object_r:bin_t:s0",
						"SCHILY.acl.access":                "user::rw-,user:1000:r--,group::r--,mask::r--,other::r--",
					}
				}),
				file("y", "y").with(func(h *tar.Header) {
					h.PAXRecords = map[string]string{"SCHILY.xattr.security.selinux": "a", "RHT.security.selinux": "b"}
				}),
			},
			want: []string{"/ dir 0755 0:0 0 nlink=3",
				"/lt symlink 0777 0:0 150 nlink=1 -> " + longTarget,
				"/" + strings.Repeat("n", 200) + " dir 0755 0:0 0 nlink=2 flags=0x40 mtime=0",
				"/" + long + " file 0644 0:0 4 nlink=1 b3(long)",
				"/ns file 0644 3000000000:4000000000 2 nlink=1 b3(ns) mtime=1700000000123456789",
				`/x file 0644 0:0 1 nlink=1 b3(x) security.capability="\x01\x00\x00\x02\x00 \x00\x00\x00\x00\x00\x00" security.selinux="system_u:object_r:bin_t:s0" user.a="1" user.b="2" user.empty=""`,
				`/y file 0644 0:0 1 nlink=1 b3(y) security.selinux="a"`,
			},
			warns: []string{"/x: POSIX ACL stored as text (SCHILY.acl.*) is not carried", "/" + strings.Repeat("n", 200) + ": directory not in"},
		},
		{
			name:    "GNU long names and links",
			members: []member{dir("./").with(gnu), file(long, "long").with(gnu), symlink("lt", longTarget).with(gnu), hardlink("hl", long).with(gnu)},
			want: []string{"/ dir 0755 0:0 0 nlink=3",
				"/hl file 0644 0:0 4 nlink=2 b3(long)",
				"/lt symlink 0777 0:0 150 nlink=1 -> " + longTarget,
				"/" + strings.Repeat("n", 200) + " dir 0755 0:0 0 nlink=2 flags=0x40 mtime=0",
				"/" + long + " file 0644 0:0 4 nlink=2 b3(long)"},
			warns: []string{"/" + strings.Repeat("n", 200) + ": directory not in"},
		},
		{
			name: "names and targets extraction cannot create",
			members: []member{dir("./"), file(strings.Repeat("c", 256), "x").with(pax),
				file(strings.Repeat("d/", 2048)+"x", "x").with(pax), symlink("big", strings.Repeat("t", 4096)).with(pax),
				symlink("empty", "")},
			want: []string{"/ dir 0755 0:0 0 nlink=2"},
			warns: []string{strings.Repeat("c", 256) + ": name component of 256 bytes", strings.Repeat("d/", 2048) + "...: member name of 4097 bytes",
				"/big: symlink target of 4096 bytes", "/empty: symlink with an empty target"},
		},
		{
			name: "member types",
			members: []member{dir("./"),
				{tar.Header{Name: "unknown", Typeflag: 'X', Mode: 0o600, Size: 4, ModTime: epoch}, "data"},
				{tar.Header{Name: "cont", Typeflag: tar.TypeCont, Mode: 0o600, Size: 4, ModTime: epoch}, "cont"},
				{tar.Header{Name: "dumpdir", Typeflag: 'D', Mode: 0o700, Size: 3, ModTime: epoch}, "Yx\x00"},
				{tar.Header{Name: "label", Typeflag: 'V', ModTime: epoch}, ""},
				{tar.Header{Name: "continued", Typeflag: 'M', Size: 1, ModTime: epoch}, "m"},
			},
			want: []string{"/ dir 0755 0:0 0 nlink=3", "/cont file 0600 0:0 4 nlink=1 b3(cont)",
				"/dumpdir dir 0700 0:0 0 nlink=2", "/unknown file 0600 0:0 4 nlink=1 b3(data)"},
			warns: []string{`/unknown: member of unknown type 'X': recorded as a regular file`, `/continued: member of type 'M'`},
		},
		{
			name:    "OCI whiteouts are the files they are",
			members: []member{dir("./"), file(".wh.gone", ""), file("d/.wh..wh..opq", "")},
			want: []string{"/ dir 0755 0:0 0 nlink=3", "/.wh.gone file 0644 0:0 0 nlink=1 b3()",
				"/d dir 0755 0:0 0 nlink=2 flags=0x40 mtime=0", "/d/.wh..wh..opq file 0644 0:0 0 nlink=1 b3()"},
			warns: []string{"/d: directory not in"},
		},
		{
			name: "global PAX headers",
			members: []member{
				{hdr: tar.Header{Name: "pax_global_header", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "0123abc"}}},
				dir("./"),
				{hdr: tar.Header{Name: "g2", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "c", "mtime": "1", "uid": "7"}}},
				file("f", "f"),
			},
			want:  []string{"/ dir 0755 0:0 0 nlink=2", "/f file 0644 0:0 1 nlink=1 b3(f)"},
			warns: []string{"g2: global PAX header records not applied: mtime, uid"},
		},
		{
			name:    "raw name bytes",
			members: []member{dir("./"), file("a b\nc", "s"), file("\xff\x01", "b")},
			want:    []string{"/ dir 0755 0:0 0 nlink=2", "/a b\nc file 0644 0:0 1 nlink=1 b3(s)", "/\xff\x01 file 0644 0:0 1 nlink=1 b3(b)"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := read(t, archive(t, c.members...), Options{})
			if r.err != nil {
				t.Fatal(r.err)
			}
			var got []string
			for _, e := range r.entries {
				got = append(got, render(e, c.members))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("entries\n got: %q\nwant: %q", got, c.want)
			}
			if len(r.warns) != len(c.warns) {
				t.Fatalf("warnings\n got: %q\nwant: %q", r.warns, c.warns)
			}
			for i, w := range c.warns {
				if !strings.HasPrefix(r.warns[i], w[:strings.Index(w, ": ")+2]) || !strings.Contains(r.warns[i], w[strings.Index(w, ": ")+2:]) {
					t.Errorf("warning %d: got %q, want %q", i, r.warns[i], w)
				}
			}
		})
	}
}

// TestSelectAndMaxFileSize checks that unselected paths are not recorded and not warned
// of, that they still count in link counts and still give hard links their content, and
// that files over the size cap are recorded without a hash.
func TestSelectAndMaxFileSize(t *testing.T) {
	big := strings.Repeat("B", 11)
	ms := []member{dir("./"), file("skip/a", "A"), hardlink("keep/b", "skip/a"), file("keep/big", big),
		file("keep/small", "s"), file("skip/dup", "1"), file("skip/dup", "2"), file("keep/ten", "0123456789"),
		hardlink("keep/bigl", "keep/big")}
	r := read(t, archive(t, ms...), Options{
		MaxFileSize: 10,
		Select:      func(p string) bool { return !tree.IsWithin(p, "/skip") },
	})
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := []string{"/ dir 0755 0:0 0 nlink=4",
		"/keep dir 0755 0:0 0 nlink=2 flags=0x40 mtime=0",
		"/keep/b file 0644 0:0 1 nlink=2 b3(A)",
		"/keep/big file 0644 0:0 11 nlink=2 too-large",
		"/keep/bigl file 0644 0:0 11 nlink=2 too-large",
		"/keep/small file 0644 0:0 1 nlink=1 b3(s)",
		"/keep/ten file 0644 0:0 10 nlink=1 b3(0123456789)"}
	var got []string
	for _, e := range r.entries {
		got = append(got, render(e, ms))
	}
	if !slices.Equal(got, want) {
		t.Errorf("entries\n got: %q\nwant: %q", got, want)
	}
	if want := []string{"/keep: " + errSynthesized.Error()}; !slices.Equal(r.warns, want) {
		t.Errorf("warnings %q, want %q", r.warns, want)
	}
}

// TestCorrupt checks that bad input is one clear error naming the problem, the member
// and the byte offset, and never a partial result.
func TestCorrupt(t *testing.T) {
	good := archive(t, dir("./"), file("a", "aaaa"), file("b", "bbbb"))
	huge := func() []byte {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		if err := tw.WriteHeader(&tar.Header{Name: "huge", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1 << 40, ModTime: epoch}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte("only this")); err != nil {
			t.Fatal(err)
		}
		return b.Bytes() // not closed: the stream ends 1 TiB early
	}()
	badSum := func(block int) []byte {
		b := bytes.Clone(good)
		b[block*512+100]++ // the mode field: the checksum no longer matches
		return b
	}
	gz := func(data []byte) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(data)
		zw.Close()
		return b.Bytes()
	}
	badTrailer := gz(good)
	badTrailer[len(badTrailer)-8]++ // the CRC-32
	for _, c := range []struct {
		name string
		data []byte
		want []string
	}{
		{"empty input", nil, []string{"empty input: not a tar archive"}},
		{"huge size on a truncated stream", huge, []string{`read member "huge"`, "archive truncated at byte 1545"}},
		{"truncated in a member", good[:512*4+2], []string{`read member "b"`, "archive truncated at byte 2050"}},
		{"truncated in a header", good[:512*3+100], []string{`after member "a"`, "archive truncated at byte 1636"}},
		{"bad checksum in the first header", badSum(0), []string{"not a tar archive, or a corrupt first header", "ending at byte 512"}},
		{"bad checksum after a member", badSum(3), []string{`read tar header after member "a": corrupt header (bad checksum or field) ending at byte 2048`}},
		{"not a tar archive", []byte("hello, world\n"), []string{"not a tar archive, or truncated within its first header (at byte 13)"}},
		{"zstd", []byte("\x28\xb5\x2f\xfd\x00\x58\x00\x00"), []string{"input is zstd-compressed: decompress it first (zstd -dc"}},
		{"xz", []byte("\xfd7zXZ\x00\x00\x04"), []string{"input is xz-compressed"}},
		{"bzip2", []byte("BZh91AY&SY\x00\x00"), []string{"input is bzip2-compressed"}},
		{"lz4", []byte("\x04\x22\x4d\x18\x64\x40"), []string{"input is lz4-compressed"}},
		{"gzip with a bad checksum", badTrailer, []string{"gzip: invalid checksum"}},
		{"gzip with corrupt data", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff\xff"), []string{"read tar header", "flate: corrupt input"}},
		{"owner out of range", archive(t, file("f", "").with(func(h *tar.Header) { h.Uid = 5000000000 })), []string{`member "f": owner 5000000000:0 out of range`}},
		{"mtime out of range", archive(t, file("f", "").with(func(h *tar.Header) { h.ModTime = time.Unix(1<<40, 0) })), []string{`member "f": mtime 1099511627776 s outside the range`}},
		{"empty archive", archive(t), []string{"empty archive: no member to record"}},
		{"every member skipped", archive(t, file("../x", "x"), file("a/../../y", "y"), symlink("s", ""),
			member{hdr: tar.Header{Name: "g", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"mtime": "1"}}}),
			[]string{"no member to record: every member of the archive (4) was skipped"}},
		{"PAX header over 1 MiB", paxArchive(t, "x", map[string]string{"SCHILY.xattr.user.big": strings.Repeat("x", 2<<20)}, "body"),
			[]string{`read tar header`, "header field too long"}},
		{"no end-of-archive marker", good[:len(good)-1024], []string{`read tar header after member "b": archive truncated at byte 2560: the stream ends before the end-of-archive marker (two zero blocks)`}},
		{"half an end-of-archive marker", good[:len(good)-512], []string{`after member "b": archive truncated at byte 3072: the stream ends before the end-of-archive marker`}},
		{"cut in a member's padding", good[:512*4+100], []string{`after member "b": archive truncated at byte 2148: the stream ends before`}},
		{"gzip of a tar without its marker", gz(good[:len(good)-1024]), []string{`after member "b": archive truncated at byte 2560`}},
		{"gzip cut after the marker, before its trailer", gz(good)[:len(gz(good))-4], []string{"read after the end of the archive", "unexpected EOF"}},
		{"device out of range", archive(t, member{hdr: tar.Header{Name: "d", Typeflag: tar.TypeChar, Devmajor: 1 << 33, Format: tar.FormatGNU, ModTime: epoch}}), []string{`member "d": device 8589934592,0 out of range`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := read(t, c.data, Options{})
			if r.err == nil {
				t.Fatalf("no error; entries %d", len(r.entries))
			}
			if r.entries != nil {
				t.Errorf("%d entries with the error", len(r.entries))
			}
			if strings.Contains(r.err.Error(), "\n") {
				t.Errorf("error on more than one line: %q", r.err)
			}
			for _, w := range c.want {
				if !strings.Contains(r.err.Error(), w) {
					t.Errorf("error %q does not say %q", r.err, w)
				}
			}
		})
	}
}

// TestGzip reads the same archive plain, gzip-compressed, and as two concatenated gzip
// members: the entries must be the same.
func TestGzip(t *testing.T) {
	ms := []member{dir("./"), file("a", "a"), file("d/b", strings.Repeat("b", 300<<10)), symlink("s", "a")}
	plain := archive(t, ms...)
	var one, two bytes.Buffer
	zw := gzip.NewWriter(&one)
	zw.Write(plain)
	zw.Close()
	for _, part := range [][]byte{plain[:1000], plain[1000:]} {
		zw := gzip.NewWriter(&two)
		zw.Write(part)
		zw.Close()
	}
	want := read(t, plain, Options{})
	if want.err != nil || len(want.entries) != 5 {
		t.Fatalf("plain: %d entries, %v", len(want.entries), want.err)
	}
	for name, data := range map[string][]byte{"gzip": one.Bytes(), "multistream gzip": two.Bytes()} {
		r := read(t, data, Options{})
		if r.err != nil {
			t.Fatalf("%s: %v", name, r.err)
		}
		if len(r.entries) != len(want.entries) {
			t.Fatalf("%s: %d entries, want %d", name, len(r.entries), len(want.entries))
		}
		for i := range r.entries {
			if changed := diff.Compare(want.entries[i], r.entries[i], 0); changed != 0 || r.entries[i].Path != want.entries[i].Path ||
				r.entries[i].Flags != want.entries[i].Flags {
				t.Errorf("%s: %s differs from the plain read: %v", name, r.entries[i].Path, changed.Strings())
			}
		}
	}
}

// TestCancel checks that a cancelled context stops the read with its error.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Read(ctx, bytes.NewReader(archive(t, file("a", "a"))), Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// TestUncarried checks that every name Uncarried returns is one diff.ParseAttrs takes.
func TestUncarried(t *testing.T) {
	s, err := diff.ParseAttrs(Uncarried())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.List()) != len(Uncarried()) {
		t.Errorf("Uncarried %q has duplicates", Uncarried())
	}
}
