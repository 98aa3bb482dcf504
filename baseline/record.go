package baseline

import (
	"encoding/binary"
	"errors"
	"fim/tree"
	"fmt"
)

// recordVersion is the first byte of every block of records.
const recordVersion = 2

// knownFlags are the tree.Flags a record may carry.
const knownFlags = tree.FlagHashed | tree.FlagUnreadable | tree.FlagUnstable | tree.FlagTooLarge |
	tree.FlagBtime | tree.FlagXattrsUnreadable | tree.FlagImplied | tree.FlagPackageVerified

// The bits of a record's header above its type (3 bits) and flags (8 bits): which
// fields differ from the reference entry, and so are stored.
const (
	hasCtime   = 1 << (11 + iota) // ctime differs from the entry's own mtime
	hasMode                       // mode differs from the reference's
	hasUID                        // uid differs from the reference's
	hasGID                        // gid differs from the reference's
	hasDevice                     // device differs from the reference's
	hasLink                       // a link target is stored
	hasXattrs                     // extended attributes are stored
	headerBits = 18
)

// AppendRecord appends the binary encoding of e (everything but its path, which is the
// key) to dst, relative to ref: the first entry of its block, or the zero Entry for
// that first entry itself. Layout, all integers as varints:
//
//	header: type | flags<<3 | has* bits
//	[mode] [uid] [gid] size mtime [ctime] [btime: FlagBtime] inode [device] nlink
//	[rdev: devices] [hash: 32 bytes when hashed] [len(link_target) link_target]
//	[n_xattrs { len(name) name len(value) value }]
//
// A field in brackets whose has* bit is clear is equal to the reference's (mode, uid,
// gid, device), to mtime (ctime), or empty. mtime, ctime and btime are stored as their
// difference from the reference's, inode as a zigzag difference. A time difference is
// stored as whole seconds with a bit saying whether nanoseconds follow, so that a
// timestamp of a filesystem with whole-second times costs no nanoseconds; nothing is
// rounded.
func AppendRecord(dst []byte, e, ref *tree.Entry) []byte {
	h := uint64(e.Type) | uint64(e.Flags&^tree.TransientFlags)<<3
	if e.Ctime != e.Mtime {
		h |= hasCtime
	}
	if e.Mode != ref.Mode {
		h |= hasMode
	}
	if e.UID != ref.UID {
		h |= hasUID
	}
	if e.GID != ref.GID {
		h |= hasGID
	}
	if e.Device != ref.Device {
		h |= hasDevice
	}
	if e.LinkTarget != "" {
		h |= hasLink
	}
	if len(e.Xattrs) != 0 {
		h |= hasXattrs
	}
	dst = binary.AppendUvarint(dst, h)
	if h&hasMode != 0 {
		dst = binary.AppendUvarint(dst, uint64(e.Mode))
	}
	if h&hasUID != 0 {
		dst = binary.AppendUvarint(dst, uint64(e.UID))
	}
	if h&hasGID != 0 {
		dst = binary.AppendUvarint(dst, uint64(e.GID))
	}
	dst = binary.AppendUvarint(dst, uint64(e.Size))
	dst = appendTime(dst, e.Mtime, ref.Mtime)
	if h&hasCtime != 0 {
		dst = appendTime(dst, e.Ctime, ref.Ctime)
	}
	if e.Flags&tree.FlagBtime != 0 {
		dst = appendTime(dst, e.Btime, ref.Btime)
	}
	dst = binary.AppendUvarint(dst, zigzag(int64(e.Inode-ref.Inode)))
	if h&hasDevice != 0 {
		dst = binary.AppendUvarint(dst, e.Device)
	}
	dst = binary.AppendUvarint(dst, e.Nlink)
	if e.Type == tree.TypeCharDev || e.Type == tree.TypeBlockDev {
		dst = binary.AppendUvarint(dst, e.Rdev)
	}
	if e.Flags&tree.FlagHashed != 0 {
		dst = append(dst, e.Hash[:]...)
	}
	if h&hasLink != 0 {
		dst = binary.AppendUvarint(dst, uint64(len(e.LinkTarget)))
		dst = append(dst, e.LinkTarget...)
	}
	if h&hasXattrs != 0 {
		dst = binary.AppendUvarint(dst, uint64(len(e.Xattrs)))
		for _, x := range e.Xattrs {
			dst = binary.AppendUvarint(dst, uint64(len(x.Name)))
			dst = append(dst, x.Name...)
			dst = binary.AppendUvarint(dst, uint64(len(x.Value)))
			dst = append(dst, x.Value...)
		}
	}
	return dst
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// appendTime appends t as its difference from ref (wrapping, so that every pair of
// int64 has one): zigzag(seconds)<<1 | 1 if nanoseconds follow, then zigzag(nanoseconds).
func appendTime(dst []byte, t, ref int64) []byte {
	d := int64(uint64(t) - uint64(ref))
	sec, nsec := d/1e9, d%1e9
	if nsec == 0 {
		return binary.AppendUvarint(dst, zigzag(sec)<<1)
	}
	dst = binary.AppendUvarint(dst, zigzag(sec)<<1|1)
	return binary.AppendUvarint(dst, zigzag(nsec))
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
	if d.err == nil && len(d.b) > 0 && d.b[0] < 0x80 { // one byte: most lengths and fields
		v := d.b[0]
		d.b = d.b[1:]
		return uint64(v)
	}
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

// time reads a time appendTime wrote relative to ref.
func (d *decoder) time(ref int64, what string) int64 {
	x := d.uvarint(what)
	sec, nsec := unzigzag(x>>1), int64(0)
	if x&1 != 0 {
		nsec = unzigzag(d.uvarint(what))
		if nsec == 0 {
			d.fail(what + " with zero nanoseconds stored")
		}
	}
	dt := int64(uint64(sec)*1e9 + uint64(nsec))
	if dt/1e9 != sec || dt%1e9 != nsec {
		d.fail(what + " out of range")
	}
	return int64(uint64(ref) + uint64(dt))
}

// DecodeRecord decodes a record value written relative to ref into e, whose Path the
// caller sets from the key. It never panics: malformed input gives an error. It accepts
// only the encoding AppendRecord writes (minimal varints, a field stored only when it
// differs from what it defaults to, no trailing bytes), so a record has one form.
func DecodeRecord(val []byte, ref, e *tree.Entry) error { return decodeRecord(val, ref, e, false) }

// decodeRecord is DecodeRecord; refOnly stops it after the fields a record later in
// the block may be relative to, and leaves the rest of the record unchecked.
func decodeRecord(val []byte, ref, e *tree.Entry, refOnly bool) error {
	d := decoder{b: val}
	h := d.uvarint("header")
	if d.err != nil {
		return d.err
	}
	*e = tree.Entry{Path: e.Path, Type: tree.Type(h & 7), Flags: tree.Flags(h >> 3 & 0xff)}
	switch {
	case e.Type == tree.TypeUnknown || e.Type > tree.TypeBlockDev:
		return fmt.Errorf("%w: unknown type %d", errRecord, e.Type)
	case e.Flags&^knownFlags != 0:
		return fmt.Errorf("%w: unknown flags", errRecord)
	case h>>headerBits != 0:
		return fmt.Errorf("%w: unknown header bits", errRecord)
	}
	e.Mode, e.UID, e.GID, e.Device = ref.Mode, ref.UID, ref.GID, ref.Device
	if h&hasMode != 0 {
		if e.Mode = d.u32("mode"); e.Mode > 0o7777 {
			d.fail("mode out of range")
		} else if e.Mode == ref.Mode {
			d.fail("mode stored equal to the reference's")
		}
	}
	if h&hasUID != 0 {
		if e.UID = d.u32("uid"); e.UID == ref.UID {
			d.fail("uid stored equal to the reference's")
		}
	}
	if h&hasGID != 0 {
		if e.GID = d.u32("gid"); e.GID == ref.GID {
			d.fail("gid stored equal to the reference's")
		}
	}
	size := d.uvarint("size")
	if size > 1<<63-1 {
		d.fail("size out of range")
	}
	e.Size = int64(size)
	e.Mtime = d.time(ref.Mtime, "mtime")
	e.Ctime = e.Mtime
	if h&hasCtime != 0 {
		if e.Ctime = d.time(ref.Ctime, "ctime"); e.Ctime == e.Mtime {
			d.fail("ctime stored equal to mtime")
		}
	}
	if e.Flags&tree.FlagBtime != 0 {
		e.Btime = d.time(ref.Btime, "btime")
	}
	e.Inode = ref.Inode + uint64(unzigzag(d.uvarint("inode")))
	if h&hasDevice != 0 {
		if e.Device = d.uvarint("device"); e.Device == ref.Device {
			d.fail("device stored equal to the reference's")
		}
	}
	e.Nlink = d.uvarint("nlink")
	if refOnly {
		return d.err
	}
	if e.Type == tree.TypeCharDev || e.Type == tree.TypeBlockDev {
		e.Rdev = d.uvarint("rdev")
	}
	if e.Flags&tree.FlagHashed != 0 {
		copy(e.Hash[:], d.bytes(32, "hash"))
	}
	if h&hasLink != 0 {
		n := d.uvarint("link target length")
		if n == 0 && d.err == nil {
			d.fail("empty link target stored")
		}
		e.LinkTarget = string(d.bytes(n, "link target"))
	}
	if h&hasXattrs != 0 {
		nx := d.uvarint("xattr count")
		if nx == 0 || nx > uint64(len(d.b)) {
			d.fail("xattr count")
		}
		if d.err == nil {
			e.Xattrs = make([]tree.Xattr, 0, nx)
			for i := uint64(0); i < nx && d.err == nil; i++ {
				name := string(d.bytes(d.uvarint("xattr name length"), "xattr name"))
				val := d.bytes(d.uvarint("xattr value length"), "xattr value")
				e.Xattrs = append(e.Xattrs, tree.Xattr{Name: name, Value: append([]byte(nil), val...)})
			}
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Sprintf("%d trailing bytes", len(d.b)))
	}
	return d.err
}
