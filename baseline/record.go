package baseline

import (
	"encoding/binary"
	"errors"
	"fim/tree"
	"fmt"
)

// recordVersion is the first byte of every record value.
const recordVersion = 1

// knownFlags are the walk.Flags a version-1 record may carry.
const knownFlags = tree.FlagHashed | tree.FlagUnreadable | tree.FlagUnstable | tree.FlagTooLarge |
	tree.FlagBtime | tree.FlagXattrsUnreadable | tree.FlagImplied | tree.FlagPackageVerified

// AppendRecord appends the binary encoding of e (everything but its path, which is the
// key) to dst. Layout, all integers as varints:
//
//	version(1) type flags mode uid gid size mtime ctime-mtime [btime-ctime] inode device nlink
//	[rdev: devices] [hash: 32 bytes when hashed] len(link_target) link_target
//	n_xattrs { len(name) name len(value) value }
//
// ctime and btime are stored as differences, which are usually zero or small.
func AppendRecord(dst []byte, e *tree.Entry) []byte {
	dst = append(dst, recordVersion, byte(e.Type))
	dst = binary.AppendUvarint(dst, uint64(e.Flags))
	dst = binary.AppendUvarint(dst, uint64(e.Mode))
	dst = binary.AppendUvarint(dst, uint64(e.UID))
	dst = binary.AppendUvarint(dst, uint64(e.GID))
	dst = binary.AppendUvarint(dst, uint64(e.Size))
	dst = binary.AppendVarint(dst, e.Mtime)
	dst = binary.AppendVarint(dst, e.Ctime-e.Mtime)
	if e.Flags&tree.FlagBtime != 0 {
		dst = binary.AppendVarint(dst, e.Btime-e.Ctime)
	}
	dst = binary.AppendUvarint(dst, e.Inode)
	dst = binary.AppendUvarint(dst, e.Device)
	dst = binary.AppendUvarint(dst, e.Nlink)
	if e.Type == tree.TypeCharDev || e.Type == tree.TypeBlockDev {
		dst = binary.AppendUvarint(dst, e.Rdev)
	}
	if e.Flags&tree.FlagHashed != 0 {
		dst = append(dst, e.Hash[:]...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.LinkTarget)))
	dst = append(dst, e.LinkTarget...)
	dst = binary.AppendUvarint(dst, uint64(len(e.Xattrs)))
	for _, x := range e.Xattrs {
		dst = binary.AppendUvarint(dst, uint64(len(x.Name)))
		dst = append(dst, x.Name...)
		dst = binary.AppendUvarint(dst, uint64(len(x.Value)))
		dst = append(dst, x.Value...)
	}
	return dst
}

// errRecord is wrapped by every decoding error.
var errRecord = errors.New("bad record")

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errRecord, what)
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || n > 1 && d.b[n-1] == 0 { // a final 0 byte: not the minimal encoding
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || n > 1 && d.b[n-1] == 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) u32(what string) uint32 {
	v := d.uvarint(what)
	if v > 1<<32-1 {
		d.fail(what + " out of range")
	}
	return uint32(v)
}

func (d *decoder) bytes(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(what + " truncated")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// DecodeRecord decodes a record value into e, whose Path the caller sets from the key.
// It never panics: malformed input gives an error. It accepts only the encoding
// AppendRecord writes (minimal varints, no trailing bytes), so a record has one form.
func DecodeRecord(val []byte, e *tree.Entry) error {
	if len(val) < 2 {
		return fmt.Errorf("%w: %d bytes", errRecord, len(val))
	}
	if val[0] != recordVersion {
		return fmt.Errorf("%w: unknown record version %d", errRecord, val[0])
	}
	*e = tree.Entry{Path: e.Path, Type: tree.Type(val[1])}
	if e.Type == tree.TypeUnknown || e.Type > tree.TypeBlockDev {
		return fmt.Errorf("%w: unknown type %d", errRecord, val[1])
	}
	d := decoder{b: val[2:]}
	flags := d.uvarint("flags")
	if flags&^uint64(knownFlags) != 0 {
		d.fail("unknown flags")
	}
	e.Flags = tree.Flags(flags)
	e.Mode = d.u32("mode")
	if e.Mode > 0o7777 {
		d.fail("mode out of range")
	}
	e.UID = d.u32("uid")
	e.GID = d.u32("gid")
	size := d.uvarint("size")
	if size > 1<<63-1 {
		d.fail("size out of range")
	}
	e.Size = int64(size)
	e.Mtime = d.varint("mtime")
	e.Ctime = e.Mtime + d.varint("ctime")
	if e.Flags&tree.FlagBtime != 0 {
		e.Btime = e.Ctime + d.varint("btime")
	}
	e.Inode = d.uvarint("inode")
	e.Device = d.uvarint("device")
	e.Nlink = d.uvarint("nlink")
	if e.Type == tree.TypeCharDev || e.Type == tree.TypeBlockDev {
		e.Rdev = d.uvarint("rdev")
	}
	if e.Flags&tree.FlagHashed != 0 {
		copy(e.Hash[:], d.bytes(32, "hash"))
	}
	e.LinkTarget = string(d.bytes(d.uvarint("link target length"), "link target"))
	nx := d.uvarint("xattr count")
	if nx > uint64(len(d.b)) {
		d.fail("xattr count")
	}
	if d.err == nil && nx > 0 {
		e.Xattrs = make([]tree.Xattr, 0, nx)
		for i := uint64(0); i < nx && d.err == nil; i++ {
			name := string(d.bytes(d.uvarint("xattr name length"), "xattr name"))
			val := d.bytes(d.uvarint("xattr value length"), "xattr value")
			e.Xattrs = append(e.Xattrs, tree.Xattr{Name: name, Value: append([]byte(nil), val...)})
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Sprintf("%d trailing bytes", len(d.b)))
	}
	return d.err
}
