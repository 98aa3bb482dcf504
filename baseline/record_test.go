package baseline

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fim/tree"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// allFlags is every flag a record may carry.
const allFlags = knownFlags

func hashOf(b byte) (h [32]byte) {
	for i := range h {
		h[i] = b + byte(i)
	}
	return h
}

// manyXattrs returns n extended attributes with binary values of growing length,
// including an empty one and one holding every byte value.
func manyXattrs(n int) []tree.Xattr {
	xs := make([]tree.Xattr, 0, n)
	for i := 0; i < n; i++ {
		v := make([]byte, i*7)
		for j := range v {
			v[j] = byte(i*31 + j)
		}
		xs = append(xs, tree.Xattr{Name: fmt.Sprintf("user.x%03d", i), Value: v})
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	return append(xs, tree.Xattr{Name: "user.zall\x00\xff", Value: all})
}

// recordCases are entries of every type with fields at their extremes. Fields a record
// does not store for an entry (rdev of a non-device, hash of an unhashed file, btime
// without FlagBtime) are left zero.
var recordCases = []struct {
	name string
	e    tree.Entry
}{
	{"zero file", tree.Entry{Type: tree.TypeFile}},
	{"plain file", tree.Entry{Type: tree.TypeFile, Mode: 0o644, Size: 1234, Mtime: 1700000000123456789,
		Ctime: 1700000000123456789, Inode: 42, Device: 2049, Nlink: 1, Flags: tree.FlagHashed, Hash: hashOf(1)}},
	{"file every flag", tree.Entry{Type: tree.TypeFile, Mode: 0o7777, UID: math.MaxUint32, GID: math.MaxUint32,
		Size: math.MaxInt64, Mtime: math.MaxInt64, Ctime: math.MinInt64, Btime: math.MaxInt64,
		Inode: math.MaxUint64, Device: math.MaxUint64, Nlink: math.MaxUint64,
		Xattrs: manyXattrs(40), Hash: hashOf(0xf0), Flags: allFlags}},
	{"file before 1970", tree.Entry{Type: tree.TypeFile, Mode: 0o600, Mtime: -1, Ctime: -86400 * 1e9 * 365,
		Btime: -5e18, Inode: 0, Flags: tree.FlagBtime | tree.FlagTooLarge, Size: 1 << 40}},
	{"file min times", tree.Entry{Type: tree.TypeFile, Mtime: math.MinInt64, Ctime: math.MaxInt64,
		Btime: math.MinInt64, Flags: tree.FlagBtime | tree.FlagUnstable | tree.FlagUnreadable}},
	{"unhashed file", tree.Entry{Type: tree.TypeFile, Mode: 0o400, Size: 99, Flags: tree.FlagUnreadable | tree.FlagXattrsUnreadable}},
	{"dir", tree.Entry{Type: tree.TypeDir, Mode: 0o1777, UID: 0, GID: 0, Size: 4096, Mtime: 1, Ctime: 2,
		Btime: 3, Inode: 2, Device: 1, Nlink: 1 << 20, Flags: tree.FlagBtime,
		Xattrs: []tree.Xattr{{Name: "security.selinux", Value: []byte("system_u:object_r:etc_t:s0\x00")}}}},
	{"symlink long non-UTF-8", tree.Entry{Type: tree.TypeSymlink, Mode: 0o777, Size: 5000,
		LinkTarget: strings.Repeat("\xff\xfe/\x80ü", 1000), Inode: 7, Nlink: 1}},
	{"symlink empty target", tree.Entry{Type: tree.TypeSymlink, Mode: 0o777}},
	{"fifo", tree.Entry{Type: tree.TypeFIFO, Mode: 0o620, UID: 1000, GID: 1000, Inode: 1 << 33, Nlink: 1}},
	{"socket", tree.Entry{Type: tree.TypeSocket, Mode: 0o755, Mtime: -123456789, Ctime: -123456789}},
	{"chardev", tree.Entry{Type: tree.TypeCharDev, Mode: 0o666, Rdev: 1<<8 | 3, Inode: 5, Nlink: 1}},
	{"chardev max rdev", tree.Entry{Type: tree.TypeCharDev, Rdev: math.MaxUint64}},
	{"blockdev", tree.Entry{Type: tree.TypeBlockDev, Mode: 0o660, GID: 6, Rdev: 8<<8 | 1, Flags: tree.FlagXattrsUnreadable}},
	{"blockdev zero rdev", tree.Entry{Type: tree.TypeBlockDev}},
}

// equalEntries compares entries, taking an empty xattr value or list as equal to nil.
func equalEntries(a, b *tree.Entry) bool {
	norm := func(e *tree.Entry) tree.Entry {
		c := *e
		c.Xattrs = nil
		for _, x := range e.Xattrs {
			if len(x.Value) == 0 {
				x.Value = nil
			}
			c.Xattrs = append(c.Xattrs, x)
		}
		return c
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func TestRecordRoundTrip(t *testing.T) {
	for _, tc := range recordCases {
		t.Run(tc.name, func(t *testing.T) {
			rec := AppendRecord(nil, &tc.e)
			got := tree.Entry{Path: "/kept"}
			if err := DecodeRecord(rec, &got); err != nil {
				t.Fatalf("DecodeRecord: %v", err)
			}
			want := tc.e
			want.Path = "/kept"
			if !equalEntries(&got, &want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
			}
			// Appending to a non-empty buffer leaves what is there alone.
			prefix := []byte("prefix")
			if buf := AppendRecord(prefix, &tc.e); !bytes.Equal(buf[:6], prefix) || !bytes.Equal(buf[6:], rec) {
				t.Fatalf("AppendRecord to a non-empty buffer differs")
			}
		})
	}
}

// TestRecordDecodeResets checks that decoding into a used Entry leaves nothing of it.
func TestRecordDecodeResets(t *testing.T) {
	used := recordCases[2].e // every field set
	used.Path = "/p"
	rec := AppendRecord(nil, &recordCases[0].e)
	if err := DecodeRecord(rec, &used); err != nil {
		t.Fatal(err)
	}
	if want := (tree.Entry{Path: "/p", Type: tree.TypeFile}); !reflect.DeepEqual(used, want) {
		t.Fatalf("got %+v, want %+v", used, want)
	}
}

// TestRecordNotStored documents the fields a record leaves out when its flags or type say
// they are not valid.
func TestRecordNotStored(t *testing.T) {
	e := tree.Entry{Type: tree.TypeFile, Rdev: 7, Btime: 9, Hash: hashOf(3)}
	var got tree.Entry
	if err := DecodeRecord(AppendRecord(nil, &e), &got); err != nil {
		t.Fatal(err)
	}
	if got.Rdev != 0 || got.Btime != 0 || got.Hash != ([32]byte{}) {
		t.Fatalf("stored fields its flags say are invalid: %+v", got)
	}
}

// rawRecord assembles a record field by field, for inputs AppendRecord cannot make.
type rawRecord struct {
	version, typ                 byte
	flags, mode, uid, gid, size  uint64
	linkLen, nXattrs, xattrNameN uint64
	tail                         []byte
}

func (r rawRecord) bytes() []byte {
	b := []byte{r.version, r.typ}
	for _, v := range []uint64{r.flags, r.mode, r.uid, r.gid, r.size} {
		b = binary.AppendUvarint(b, v)
	}
	b = binary.AppendVarint(b, 0) // mtime
	b = binary.AppendVarint(b, 0) // ctime - mtime
	b = binary.AppendUvarint(b, 0)
	b = binary.AppendUvarint(b, 0)
	b = binary.AppendUvarint(b, 0)
	b = binary.AppendUvarint(b, r.linkLen)
	b = binary.AppendUvarint(b, r.nXattrs)
	if r.nXattrs > 0 {
		b = binary.AppendUvarint(b, r.xattrNameN)
	}
	return append(b, r.tail...)
}

func okRaw() rawRecord {
	return rawRecord{version: recordVersion, typ: byte(tree.TypeFile), mode: 0o644}
}

func TestRecordDecodeErrors(t *testing.T) {
	valid := AppendRecord(nil, &recordCases[1].e)
	with := func(f func(*rawRecord)) []byte {
		r := okRaw()
		f(&r)
		return r.bytes()
	}
	if err := DecodeRecord(okRaw().bytes(), new(tree.Entry)); err != nil {
		t.Fatalf("the raw record the cases start from does not decode: %v", err)
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"nil", nil, "0 bytes"},
		{"empty", []byte{}, "0 bytes"},
		{"one byte", []byte{recordVersion}, "1 bytes"},
		{"version 0", with(func(r *rawRecord) { r.version = 0 }), "unknown record version 0"},
		{"version 2", with(func(r *rawRecord) { r.version = 2 }), "unknown record version 2"},
		{"version 255", with(func(r *rawRecord) { r.version = 255 }), "unknown record version 255"},
		{"type unknown", with(func(r *rawRecord) { r.typ = 0 }), "unknown type 0"},
		{"type 8", with(func(r *rawRecord) { r.typ = 8 }), "unknown type 8"},
		{"type 255", with(func(r *rawRecord) { r.typ = 255 }), "unknown type 255"},
		{"flag bit 8", with(func(r *rawRecord) { r.flags = 1 << 8 }), "unknown flags"},
		{"flag bit 15", with(func(r *rawRecord) { r.flags = 1 << 15 }), "unknown flags"},
		{"flag bit 40", with(func(r *rawRecord) { r.flags = 1 << 40 }), "unknown flags"},
		{"mode 010000", with(func(r *rawRecord) { r.mode = 0o10000 }), "mode out of range"},
		{"mode with type bits", with(func(r *rawRecord) { r.mode = 0o100644 }), "mode out of range"},
		{"mode over 32 bits", with(func(r *rawRecord) { r.mode = 1 << 32 }), "mode out of range"},
		{"uid over 32 bits", with(func(r *rawRecord) { r.uid = 1 << 32 }), "uid out of range"},
		{"gid max uint64", with(func(r *rawRecord) { r.gid = math.MaxUint64 }), "gid out of range"},
		{"size over int64", with(func(r *rawRecord) { r.size = 1 << 63 }), "size out of range"},
		{"huge link length", with(func(r *rawRecord) { r.linkLen = math.MaxUint64 }), "link target truncated"},
		{"link length one past", with(func(r *rawRecord) { r.linkLen = 2 }), "link target truncated"},
		{"huge xattr count", with(func(r *rawRecord) { r.nXattrs = math.MaxUint64 }), "xattr count"},
		{"xattr count past end", with(func(r *rawRecord) { r.nXattrs = 5; r.xattrNameN = 1; r.tail = []byte("abcd") }), "xattr"},
		{"huge xattr name", with(func(r *rawRecord) { r.nXattrs = 1; r.xattrNameN = math.MaxUint64; r.tail = []byte("ab") }), "xattr name truncated"},
		{"huge xattr value", with(func(r *rawRecord) {
			r.nXattrs = 1
			r.xattrNameN = 1
			r.tail = binary.AppendUvarint([]byte("n"), math.MaxUint64)
		}), "xattr value truncated"},
		{"overlong varint", append([]byte{recordVersion, byte(tree.TypeFile)}, bytes.Repeat([]byte{0xff}, 11)...), "flags"},
		{"varint overflow", append([]byte{recordVersion, byte(tree.TypeFile)}, append(bytes.Repeat([]byte{0xff}, 9), 0x02)...), "flags"},
		{"non-minimal varint", append([]byte{recordVersion, byte(tree.TypeFile), 0x80, 0x00}, okRaw().bytes()[3:]...), "flags"},
		{"trailing byte", append(bytes.Clone(valid), 0), "1 trailing bytes"},
		{"trailing bytes", append(bytes.Clone(valid), "junk"...), "4 trailing bytes"},
		{"hash truncated", append([]byte{recordVersion, byte(tree.TypeFile), byte(tree.FlagHashed)}, make([]byte, 20)...), "hash truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tree.Entry{Path: "/p"}
			err := DecodeRecord(tt.in, &e)
			if err == nil {
				t.Fatalf("DecodeRecord(%x) = nil, decoded %+v", tt.in, e)
			}
			if !errors.Is(err, errRecord) {
				t.Errorf("error %v does not wrap errRecord", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if e.Path != "/p" {
				t.Errorf("Path = %q, want it kept", e.Path)
			}
		})
	}
}

// TestRecordTruncated cuts every valid record at every byte offset.
func TestRecordTruncated(t *testing.T) {
	for _, tc := range recordCases {
		rec := AppendRecord(nil, &tc.e)
		for n := 0; n < len(rec); n++ {
			var e tree.Entry
			if err := DecodeRecord(rec[:n:n], &e); err == nil {
				t.Fatalf("%s: the first %d of %d bytes decode: %+v", tc.name, n, len(rec), e)
			} else if !errors.Is(err, errRecord) {
				t.Fatalf("%s: cut at %d: %v does not wrap errRecord", tc.name, n, err)
			}
		}
	}
}

// FuzzDecodeRecord checks that DecodeRecord never panics and that whatever it accepts
// is the one encoding of the entry it yields.
func FuzzDecodeRecord(f *testing.F) {
	for _, tc := range recordCases {
		f.Add(AppendRecord(nil, &tc.e))
	}
	f.Add(okRaw().bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		e := tree.Entry{Path: "/f"}
		if err := DecodeRecord(data, &e); err != nil {
			if !errors.Is(err, errRecord) {
				t.Fatalf("error %v does not wrap errRecord", err)
			}
			return
		}
		if re := AppendRecord(nil, &e); !bytes.Equal(re, data) {
			t.Fatalf("not canonical:\n in %x\nout %x\nentry %+v", data, re, e)
		}
		var again tree.Entry
		again.Path = "/f"
		if err := DecodeRecord(data, &again); err != nil || !equalEntries(&again, &e) {
			t.Fatalf("second decode differs: %v", err)
		}
	})
}

func BenchmarkAppendRecord(b *testing.B) {
	e := recordCases[1].e
	e.Xattrs = []tree.Xattr{{Name: "security.selinux", Value: []byte("system_u:object_r:etc_t:s0\x00")}}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendRecord(buf[:0], &e)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeRecord(b *testing.B) {
	e := recordCases[1].e
	e.Xattrs = []tree.Xattr{{Name: "security.selinux", Value: []byte("system_u:object_r:etc_t:s0\x00")}}
	rec := AppendRecord(nil, &e)
	var got tree.Entry
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if err := DecodeRecord(rec, &got); err != nil {
			b.Fatal(err)
		}
	}
}
