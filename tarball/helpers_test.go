package tarball

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fim/internal/fstest"
	"fim/tree"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zeebo/blake3"
)

// epoch is the mtime of members built in tests unless they say otherwise.
var epoch = time.Unix(1700000000, 0)

// member is one tar member a test writes: a header and, for a regular file, its content.
type member struct {
	hdr  tar.Header
	body string
}

func file(name, body string) member {
	return member{tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)), ModTime: epoch}, body}
}

func dir(name string) member {
	return member{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}}
}

func symlink(name, target string) member {
	return member{hdr: tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777, ModTime: epoch}}
}

func hardlink(name, target string) member {
	return member{hdr: tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target, ModTime: epoch}}
}

// with returns m with its header changed by fn.
func (m member) with(fn func(h *tar.Header)) member {
	fn(&m.hdr)
	return m
}

// archive writes members into a tar archive.
func archive(t testing.TB, ms ...member) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range ms {
		h := m.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("write header %q: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(m.body)); err != nil {
			t.Fatalf("write %q: %v", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// result is what one Read gave.
type result struct {
	entries []*tree.Entry
	warns   []string // "path: error"
	err     error
}

// read reads data with opt, collecting warnings, and fails the test if the entries are
// not in strictly increasing key order.
func read(t testing.TB, data []byte, opt Options) *result {
	t.Helper()
	r := &result{}
	opt.Warn = func(p string, err error) { r.warns = append(r.warns, p+": "+err.Error()) }
	r.entries, r.err = Read(context.Background(), bytes.NewReader(data), opt)
	for i := 1; i < len(r.entries); i++ {
		if a, b := r.entries[i-1].Path, r.entries[i].Path; tree.ComparePaths(a, b) >= 0 {
			t.Errorf("entries out of order or repeated: %q then %q", a, b)
		}
	}
	return r
}

// render describes an entry on one line: path, type, mode, owner, size, link count,
// then the content as the body of ms whose BLAKE3 it is ("b3(body)"), the symlink
// target, device numbers, xattrs, flags and mtime where they are set.
func render(e *tree.Entry, ms []member) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %v %04o %d:%d %d nlink=%d", e.Path, e.Type, e.Mode, e.UID, e.GID, e.Size, e.Nlink)
	if e.Hashed() {
		label := fmt.Sprintf("b3:%x", e.Hash[:4])
		for _, m := range ms {
			if (m.hdr.Typeflag == tar.TypeReg || m.body != "") && blake3.Sum256([]byte(m.body)) == e.Hash {
				label = fmt.Sprintf("b3(%s)", m.body)
				break
			}
		}
		b.WriteString(" " + label)
	}
	if e.LinkTarget != "" {
		b.WriteString(" -> " + e.LinkTarget)
	}
	if e.Rdev != 0 {
		fmt.Fprintf(&b, " rdev=%#x", e.Rdev)
	}
	for _, x := range e.Xattrs {
		fmt.Fprintf(&b, " %s=%q", x.Name, x.Value)
	}
	if e.Flags&tree.FlagTooLarge != 0 {
		b.WriteString(" too-large")
	}
	if e.Flags&^(tree.FlagHashed|tree.FlagTooLarge) != 0 {
		fmt.Fprintf(&b, " flags=%#x", e.Flags)
	}
	if e.Mtime != epoch.UnixNano() {
		fmt.Fprintf(&b, " mtime=%d", e.Mtime)
	}
	return b.String()
}

// paxArchive writes, without archive/tar's checks, an archive of one regular member
// name with body and the PAX records recs (which archive/tar would refuse beyond
// 1 MiB), then the end-of-archive marker.
func paxArchive(t testing.TB, name string, recs map[string]string, body string) []byte {
	t.Helper()
	var pax strings.Builder
	keys := make([]string, 0, len(recs))
	for k := range recs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rec := " " + k + "=" + recs[k] + "\n"
		digits := len(strconv.Itoa(len(rec)))
		for len(strconv.Itoa(len(rec)+digits)) != digits {
			digits++
		}
		pax.WriteString(strconv.Itoa(len(rec)+digits) + rec)
	}
	var b []byte
	b = append(b, rawHeader(t, "PaxHeaders/"+name, tar.TypeXHeader, int64(pax.Len()))...)
	b = append(b, padded(pax.String())...)
	b = append(b, rawHeader(t, name, tar.TypeReg, int64(len(body)))...)
	b = append(b, padded(body)...)
	return append(b, make([]byte, 1024)...)
}

// rawHeader is a ustar header block, written by hand.
func rawHeader(t testing.TB, name string, typ byte, size int64) []byte {
	t.Helper()
	if len(name) > 100 {
		t.Fatalf("name %q too long for a ustar header", name)
	}
	b := make([]byte, 512)
	copy(b[0:], name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], fmt.Sprintf("%011o\x00", epoch.Unix()))
	b[156] = typ
	copy(b[257:], "ustar\x0000")
	copy(b[148:], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// padded is s padded with zeros to a whole number of blocks.
func padded(s string) []byte {
	return append([]byte(s), make([]byte, (512-len(s)%512)%512)...)
}

// exabyte returns testdata/exabyte.tar.gz (218 bytes), or writes it anew under -update:
// a gzipped archive of one sparse member (PAX format 1.0, as GNU tar writes it) of 2^60
// bytes, five bytes of data, then a hole. cmd/fim's tests read it too.
func exabyte(t testing.TB) []byte {
	t.Helper()
	file := filepath.Join("testdata", "exabyte.tar.gz")
	if !fstest.Update() {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (go test -update writes it)", err)
		}
		return b
	}
	plain := paxArchive(t, "GNUSparseFile.0/big", map[string]string{
		"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "big",
		"GNU.sparse.realsize": strconv.FormatInt(1<<60, 10),
	}, string(padded("1\n0\n5\n"))+"hello")
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(plain)
	zw.Close()
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
