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

// refs are the entries a record may be written relative to: none (the first of a
// block), and every case.
func refs() []tree.Entry {
	rs := []tree.Entry{{}}
	for _, tc := range recordCases {
		rs = append(rs, tc.e)
	}
	return rs
}

func TestRecordRoundTrip(t *testing.T) {
	for _, tc := range recordCases {
		t.Run(tc.name, func(t *testing.T) {
			for i, ref := range refs() {
				rec := AppendRecord(nil, &tc.e, &ref)
				got := tree.Entry{Path: "/kept"}
				if err := DecodeRecord(rec, &ref, &got); err != nil {
					t.Fatalf("ref %d: DecodeRecord: %v", i, err)
				}
				want := tc.e
				want.Path = "/kept"
				if !equalEntries(&got, &want) {
					t.Fatalf("ref %d: round trip:\n got %+v\nwant %+v", i, got, want)
				}
				// Appending to a non-empty buffer leaves what is there alone.
				prefix := []byte("prefix")
				if buf := AppendRecord(prefix, &tc.e, &ref); !bytes.Equal(buf[:6], prefix) || !bytes.Equal(buf[6:], rec) {
					t.Fatalf("AppendRecord to a non-empty buffer differs")
				}
			}
		})
	}
}

// TestRecordSize: what a record leaves out when its fields equal the reference's, and
// the nanoseconds of whole-second times.
func TestRecordSize(t *testing.T) {
	ref := tree.Entry{Type: tree.TypeFile, Mode: 0o644, UID: 1000, GID: 1000, Mtime: 1700000000e9,
		Ctime: 1700000000e9, Btime: 1700000000e9, Inode: 5000, Device: 66306, Flags: tree.FlagBtime}
	e := ref
	e.Size, e.Mtime, e.Ctime, e.Btime, e.Inode = 100, ref.Mtime+3e9, ref.Mtime+3e9, ref.Btime+1, 5001
	// header 2, size 1, mtime 1, btime 2 (seconds, nanoseconds), inode 1, nlink 1
	if rec := AppendRecord(nil, &e, &ref); len(rec) != 8 {
		t.Errorf("record of %d bytes, want 8: %x", len(rec), rec)
	}
	e.Ctime += 1e9 // differs from mtime: stored
	e.Mode, e.Device = 0o755, 1
	if rec := AppendRecord(nil, &e, &ref); len(rec) != 8+1+1+2+1 {
		t.Errorf("record of %d bytes, want 13: %x", len(rec), rec)
	}
}

// TestRecordDecodeResets checks that decoding into a used Entry leaves nothing of it.
func TestRecordDecodeResets(t *testing.T) {
	used := recordCases[2].e // every field set
	used.Path = "/p"
	rec := AppendRecord(nil, &recordCases[0].e, &tree.Entry{})
	if err := DecodeRecord(rec, &tree.Entry{}, &used); err != nil {
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
	if err := DecodeRecord(AppendRecord(nil, &e, &tree.Entry{}), &tree.Entry{}, &got); err != nil {
		t.Fatal(err)
	}
	if got.Rdev != 0 || got.Btime != 0 || got.Hash != ([32]byte{}) {
		t.Fatalf("stored fields its flags say are invalid: %+v", got)
	}
}

// TestRecordTransientFlags: what a walk marks on an entry for the differ alone (a
// growing file's flags) is never recorded, and the record stays canonical.
func TestRecordTransientFlags(t *testing.T) {
	e := tree.Entry{Type: tree.TypeFile, Size: 5, Hash: hashOf(4), Flags: tree.FlagHashed}
	plain := AppendRecord(nil, &e, &tree.Entry{})
	e.Flags |= tree.TransientFlags
	marked := AppendRecord(nil, &e, &tree.Entry{})
	if !bytes.Equal(marked, plain) {
		t.Fatalf("record of a marked entry %x, want %x", marked, plain)
	}
	var got tree.Entry
	if err := DecodeRecord(marked, &tree.Entry{}, &got); err != nil {
		t.Fatal(err)
	}
	if got.Flags != tree.FlagHashed {
		t.Errorf("decoded flags %b, want %b", got.Flags, tree.FlagHashed)
	}
}

// raw assembles a record from a header and varints, for inputs AppendRecord cannot make.
func raw(header uint64, fields ...uint64) []byte {
	b := binary.AppendUvarint(nil, header)
	for _, v := range fields {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

func TestRecordDecodeErrors(t *testing.T) {
	file := uint64(tree.TypeFile)
	ref := tree.Entry{Mode: 0o644, UID: 5, GID: 6, Device: 7, Mtime: 1e9}
	valid := AppendRecord(nil, &recordCases[1].e, &ref)
	// size, mtime, inode, nlink: the fields every record holds
	if err := DecodeRecord(raw(file, 0, 0, 0, 0), &ref, new(tree.Entry)); err != nil {
		t.Fatalf("the raw record the cases start from does not decode: %v", err)
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"nil", nil, "header"},
		{"empty", []byte{}, "header"},
		{"type unknown", raw(0, 0, 0, 0, 0), "unknown type 0"},
		{"header bit 18", raw(file|1<<18, 0, 0, 0, 0), "unknown header bits"},
		{"header bit 40", raw(file|1<<40, 0, 0, 0, 0), "unknown header bits"},
		{"mode 010000", raw(file|hasMode, 0o10000, 0, 0, 0, 0), "mode out of range"},
		{"mode over 32 bits", raw(file|hasMode, 1<<32, 0, 0, 0, 0), "mode out of range"},
		{"mode equal to the reference's", raw(file|hasMode, 0o644, 0, 0, 0, 0), "mode stored equal"},
		{"uid over 32 bits", raw(file|hasUID, 1<<32, 0, 0, 0, 0), "uid out of range"},
		{"uid equal to the reference's", raw(file|hasUID, 5, 0, 0, 0, 0), "uid stored equal"},
		{"gid max uint64", raw(file|hasGID, math.MaxUint64, 0, 0, 0, 0), "gid out of range"},
		{"gid equal to the reference's", raw(file|hasGID, 6, 0, 0, 0, 0), "gid stored equal"},
		{"size over int64", raw(file, 1<<63, 0, 0, 0), "size out of range"},
		{"mtime zero nanoseconds stored", raw(file, 0, 1, 0, 0, 0), "mtime with zero nanoseconds"},
		{"mtime seconds out of range", raw(file, 0, zigzag(math.MaxInt64/1_000_000_000+1)<<1, 0, 0), "mtime out of range"},
		{"mtime nanoseconds a second", raw(file, 0, 1, zigzag(1e9), 0, 0), "mtime out of range"},
		{"mtime nanoseconds of the other sign", raw(file, 0, zigzag(1)<<1|1, zigzag(-1), 0, 0), "mtime out of range"},
		{"ctime equal to mtime", raw(file|hasCtime, 0, 0, zigzag(1)<<1, 0, 0), "ctime stored equal to mtime"},
		{"device equal to the reference's", raw(file|hasDevice, 0, 0, 0, 7, 0), "device stored equal"},
		{"empty link target", raw(file|hasLink, 0, 0, 0, 0, 0), "empty link target"},
		{"link one past", raw(file|hasLink, 0, 0, 0, 0, 2, 'x'), "link target truncated"},
		{"huge link length", raw(file|hasLink, 0, 0, 0, 0, math.MaxUint64), "link target truncated"},
		{"no xattrs stored", raw(file|hasXattrs, 0, 0, 0, 0, 0), "xattr count"},
		{"huge xattr count", raw(file|hasXattrs, 0, 0, 0, 0, math.MaxUint64), "xattr count"},
		{"xattr count past end", append(raw(file|hasXattrs, 0, 0, 0, 0, 5, 1), "abcd"...), "xattr"},
		{"huge xattr name", append(raw(file|hasXattrs, 0, 0, 0, 0, 1, math.MaxUint64), "ab"...), "xattr name truncated"},
		{"huge xattr value", append(raw(file|hasXattrs, 0, 0, 0, 0, 1, 1, 'n'), binary.AppendUvarint(nil, math.MaxUint64)...), "xattr value truncated"},
		{"overlong varint", bytes.Repeat([]byte{0xff}, 11), "header"},
		{"varint overflow", append(bytes.Repeat([]byte{0xff}, 9), 0x02), "header"},
		{"non-minimal varint", append([]byte{0x81, 0x00}, raw(file, 0, 0, 0, 0)[1:]...), "header"},
		{"non-minimal size", append([]byte{byte(file), 0x80, 0x00}, raw(file, 0, 0, 0)[1:]...), "size"},
		{"trailing byte", append(bytes.Clone(valid), 0), "1 trailing bytes"},
		{"trailing bytes", append(bytes.Clone(valid), "junk"...), "4 trailing bytes"},
		{"hash truncated", append(raw(file|uint64(tree.FlagHashed)<<3, 0, 0, 0, 0), make([]byte, 20)...), "hash truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tree.Entry{Path: "/p"}
			err := DecodeRecord(tt.in, &ref, &e)
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
	for _, ref := range refs() {
		for _, tc := range recordCases {
			rec := AppendRecord(nil, &tc.e, &ref)
			for n := 0; n < len(rec); n++ {
				var e tree.Entry
				if err := DecodeRecord(rec[:n:n], &ref, &e); err == nil {
					t.Fatalf("%s: the first %d of %d bytes decode: %+v", tc.name, n, len(rec), e)
				} else if !errors.Is(err, errRecord) {
					t.Fatalf("%s: cut at %d: %v does not wrap errRecord", tc.name, n, err)
				}
			}
		}
	}
}

// FuzzDecodeRecord checks that DecodeRecord never panics and that whatever it accepts
// is the one encoding of the entry it yields. The reference is itself decoded from
// the first input, as the first record of a block.
func FuzzDecodeRecord(f *testing.F) {
	zero := AppendRecord(nil, &tree.Entry{Type: tree.TypeFile}, &tree.Entry{})
	for _, tc := range recordCases {
		f.Add(zero, AppendRecord(nil, &tc.e, &tree.Entry{}))
		f.Add(AppendRecord(nil, &recordCases[2].e, &tree.Entry{}), AppendRecord(nil, &tc.e, &recordCases[2].e))
	}
	f.Add(zero, raw(uint64(tree.TypeFile), 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, refRec, data []byte) {
		var ref tree.Entry
		if DecodeRecord(refRec, &tree.Entry{}, &ref) != nil {
			return
		}
		e := tree.Entry{Path: "/f"}
		if err := DecodeRecord(data, &ref, &e); err != nil {
			if !errors.Is(err, errRecord) {
				t.Fatalf("error %v does not wrap errRecord", err)
			}
			return
		}
		if re := AppendRecord(nil, &e, &ref); !bytes.Equal(re, data) {
			t.Fatalf("not canonical:\n in %x\nout %x\nentry %+v", data, re, e)
		}
		var again tree.Entry
		again.Path = "/f"
		if err := DecodeRecord(data, &ref, &again); err != nil || !equalEntries(&again, &e) {
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
		buf = AppendRecord(buf[:0], &e, &tree.Entry{})
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeRecord(b *testing.B) {
	e := recordCases[1].e
	e.Xattrs = []tree.Xattr{{Name: "security.selinux", Value: []byte("system_u:object_r:etc_t:s0\x00")}}
	rec := AppendRecord(nil, &e, &tree.Entry{})
	var got tree.Entry
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if err := DecodeRecord(rec, &tree.Entry{}, &got); err != nil {
			b.Fatal(err)
		}
	}
}
