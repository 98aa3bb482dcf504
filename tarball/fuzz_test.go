package tarball

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fim/tree"
	"path"
	"strings"
	"testing"
)

// FuzzRead reads arbitrary bytes as a tar stream: it must never panic, and it either
// fails with a one-line error or gives entries that are in key order, clean, absolute,
// rooted at "/", and consistent with themselves. The corpus holds archives GNU tar made
// (sparse members, which archive/tar cannot write) besides the seeds below.
func FuzzRead(f *testing.F) {
	f.Add(archive(f, dir("./"), file("etc/passwd", "root"), symlink("etc/sym", "passwd"), hardlink("etc/hl", "etc/passwd")))
	f.Add(archive(f, file("../escape", "x"), file("/abs", "y"), symlink("evil", "/etc"), file("evil/passwd", "pw"),
		dir("d/"), file("d/x", "x"), file("d", "f"), hardlink("l", "later"), file("later", "")))
	f.Add(archive(f, file(strings.Repeat("n", 120)+"/"+strings.Repeat("f", 120), "long").with(func(h *tar.Header) { h.Format = tar.FormatGNU }),
		hardlink("hl", strings.Repeat("n", 120)+"/"+strings.Repeat("f", 120)).with(func(h *tar.Header) { h.Format = tar.FormatGNU })))
	f.Add(archive(f, file("x", "x").with(func(h *tar.Header) {
		h.PAXRecords = map[string]string{"SCHILY.xattr.user.a": "1", "SCHILY.acl.access": "user::rw-", "RHT.security.selinux": "l"}
		h.Uid, h.Gid = 3000000000, 7
	}), member{hdr: tar.Header{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}},
		member{hdr: tar.Header{Name: "g", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"mtime": "1"}}}))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(archive(f, dir("./"), file("a", "a")))
	zw.Close()
	f.Add(gz.Bytes())
	f.Add([]byte{})
	f.Add(make([]byte, 1024))
	whole := archive(f, dir("./"), file("a", strings.Repeat("\x00", 600)))
	f.Add(whole[:len(whole)-512]) // refused: half the end-of-archive marker
	f.Add(whole[:512*3+100])      // refused: cut in a member's padding
	f.Add(archive(f))             // refused: no member
	f.Add(exabyte(f))             // a sparse member of 2^60 bytes, too large
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := Read(context.Background(), bytes.NewReader(data), Options{MaxFileSize: 1 << 10, Warn: func(string, error) {}})
		if err != nil {
			if es != nil {
				t.Errorf("entries with error %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error on more than one line: %q", err)
			}
			return
		}
		if len(es) == 0 || es[0].Path != "/" || es[0].Type != tree.TypeDir {
			t.Fatalf("no root directory first: %d entries", len(es))
		}
		for i, e := range es {
			if i > 0 && tree.ComparePaths(es[i-1].Path, e.Path) >= 0 {
				t.Errorf("out of order: %q then %q", es[i-1].Path, e.Path)
			}
			if path.Clean(e.Path) != e.Path || !strings.HasPrefix(e.Path, "/") {
				t.Errorf("path %q is not clean and absolute", e.Path)
			}
			if e.Nlink < 1 || e.Type == tree.TypeDir && e.Nlink < 2 {
				t.Errorf("%q: nlink %d", e.Path, e.Nlink)
			}
			if e.Type == tree.TypeSymlink && (e.LinkTarget == "" || e.Size != int64(len(e.LinkTarget))) {
				t.Errorf("%q: symlink size %d, target %q", e.Path, e.Size, e.LinkTarget)
			}
			if e.Type == tree.TypeFile && e.Hashed() == (e.Flags&tree.FlagTooLarge != 0) {
				t.Errorf("%q: file hashed %v, too large %v", e.Path, e.Hashed(), e.Flags&tree.FlagTooLarge != 0)
			}
		}
	})
}
