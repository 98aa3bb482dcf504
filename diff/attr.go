package diff

import (
	"bytes"
	"fim/tree"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Attr is one compared attribute of an entry.
type Attr uint8

// The attributes the differ compares, in the order they are reported.
const (
	AttrType Attr = iota
	AttrContent
	AttrPrefix
	AttrSize
	AttrLinkTarget
	AttrRdev
	AttrMtime
	AttrMode
	AttrUID
	AttrGID
	AttrXattrs
	AttrCtime
	AttrInode
	AttrDevice
	AttrNlink
	numAttrs
)

// Value says how an attribute's value reads, for a renderer.
type Value uint8

const (
	ValueType   Value = iota // the entry's type
	ValueHash                // the content hash, or why there is none
	ValueInt                 // a signed number: Attr.Number as an int64
	ValueUint                // an unsigned number: Attr.Number
	ValueTime                // nanoseconds since the epoch: Attr.Number as an int64
	ValueDevice              // a device number: Attr.Number
	ValueText                // a string: Attr.Text
	ValueMode                // the permission bits, with the type
	ValueXattrs              // names and values
)

// attrDef is one row of the attribute table: everything fim does with one attribute,
// so that adding an attribute is adding a row.
type attrDef struct {
	name string
	// content: a difference in it makes an event a change (contents, or what the entry
	// is); any other alone makes it a chmod.
	content bool
	// of: the entries that carry it (nil: every entry).
	of     func(tree.Type) bool
	equal  func(old, cur *tree.Entry) bool
	copy   func(dst, src *tree.Entry) // sets dst's attribute to src's (Keep); nil: never kept
	value  Value
	number func(*tree.Entry) uint64 // for ValueInt, ValueUint, ValueTime, ValueDevice
	text   func(*tree.Entry) string // for ValueText
}

// hashFlags are the flags that say what became of a file's content.
const hashFlags = tree.FlagHashed | tree.FlagUnstable | tree.FlagTooLarge | tree.FlagUnreadable

var attrs = [numAttrs]attrDef{
	// The type is never kept from the record: the entry is what it is now, whatever
	// else is kept of the record.
	AttrType: {name: "type", content: true, value: ValueType,
		equal: func(o, c *tree.Entry) bool { return o.Type == c.Type }},
	AttrContent: {name: "content", content: true, value: ValueHash,
		of:    func(t tree.Type) bool { return t == tree.TypeFile },
		equal: func(o, c *tree.Entry) bool { return !contentDiffers(o, c) },
		// The stored copy of the content goes with its hash.
		copy: func(d, s *tree.Entry) {
			d.Hash, d.Flags, d.Copy, d.NoCopy = s.Hash, d.Flags&^hashFlags|s.Flags&hashFlags, s.Copy, s.NoCopy
		}},
	// A growing file (tree.FlagGrowing) whose recorded content is no longer its
	// beginning: altered, or cut short. Its value is the size.
	AttrPrefix: {name: "prefix", content: true, value: ValueInt,
		of:     func(t tree.Type) bool { return t == tree.TypeFile },
		equal:  func(o, c *tree.Entry) bool { return !prefixAltered(o, c) },
		number: func(e *tree.Entry) uint64 { return uint64(e.Size) }},
	AttrSize: {name: "size", content: true, value: ValueInt,
		equal:  func(o, c *tree.Entry) bool { return o.Size == c.Size },
		copy:   func(d, s *tree.Entry) { d.Size = s.Size },
		number: func(e *tree.Entry) uint64 { return uint64(e.Size) }},
	AttrLinkTarget: {name: "link_target", content: true, value: ValueText,
		of:    func(t tree.Type) bool { return t == tree.TypeSymlink },
		equal: func(o, c *tree.Entry) bool { return o.LinkTarget == c.LinkTarget },
		copy:  func(d, s *tree.Entry) { d.LinkTarget = s.LinkTarget },
		text:  func(e *tree.Entry) string { return e.LinkTarget }},
	AttrRdev: {name: "rdev", content: true, value: ValueDevice,
		of:     func(t tree.Type) bool { return t == tree.TypeCharDev || t == tree.TypeBlockDev },
		equal:  func(o, c *tree.Entry) bool { return o.Rdev == c.Rdev },
		copy:   func(d, s *tree.Entry) { d.Rdev = s.Rdev },
		number: func(e *tree.Entry) uint64 { return e.Rdev }},
	AttrMtime: {name: "mtime", content: true, value: ValueTime,
		equal:  func(o, c *tree.Entry) bool { return o.Mtime == c.Mtime },
		copy:   func(d, s *tree.Entry) { d.Mtime = s.Mtime },
		number: func(e *tree.Entry) uint64 { return uint64(e.Mtime) }},
	AttrMode: {name: "mode", value: ValueMode,
		equal: func(o, c *tree.Entry) bool { return o.Mode == c.Mode },
		copy:  func(d, s *tree.Entry) { d.Mode = s.Mode }},
	AttrUID: {name: "uid", value: ValueUint,
		equal:  func(o, c *tree.Entry) bool { return o.UID == c.UID },
		copy:   func(d, s *tree.Entry) { d.UID = s.UID },
		number: func(e *tree.Entry) uint64 { return uint64(e.UID) }},
	AttrGID: {name: "gid", value: ValueUint,
		equal:  func(o, c *tree.Entry) bool { return o.GID == c.GID },
		copy:   func(d, s *tree.Entry) { d.GID = s.GID },
		number: func(e *tree.Entry) uint64 { return uint64(e.GID) }},
	// Extended attributes that could not be read on either side are not compared.
	AttrXattrs: {name: "xattrs", value: ValueXattrs,
		equal: func(o, c *tree.Entry) bool {
			return equalXattrs(o.Xattrs, c.Xattrs) || (o.Flags|c.Flags)&tree.FlagXattrsUnreadable != 0
		},
		copy: func(d, s *tree.Entry) {
			d.Xattrs, d.Flags = s.Xattrs, d.Flags&^tree.FlagXattrsUnreadable|s.Flags&tree.FlagXattrsUnreadable
		}},
	AttrCtime: {name: "ctime", value: ValueTime,
		equal:  func(o, c *tree.Entry) bool { return o.Ctime == c.Ctime },
		copy:   func(d, s *tree.Entry) { d.Ctime = s.Ctime },
		number: func(e *tree.Entry) uint64 { return uint64(e.Ctime) }},
	AttrInode: {name: "inode", value: ValueUint,
		equal:  func(o, c *tree.Entry) bool { return o.Inode == c.Inode },
		copy:   func(d, s *tree.Entry) { d.Inode = s.Inode },
		number: func(e *tree.Entry) uint64 { return e.Inode }},
	AttrDevice: {name: "device", value: ValueDevice,
		equal:  func(o, c *tree.Entry) bool { return o.Device == c.Device || anonymous(o.Device) && anonymous(c.Device) },
		copy:   func(d, s *tree.Entry) { d.Device = s.Device },
		number: func(e *tree.Entry) uint64 { return e.Device }},
	AttrNlink: {name: "nlink", value: ValueUint,
		equal:  func(o, c *tree.Entry) bool { return o.Nlink == c.Nlink },
		copy:   func(d, s *tree.Entry) { d.Nlink = s.Nlink },
		number: func(e *tree.Entry) uint64 { return e.Nlink }},
}

// contentAttrs are the attributes whose difference makes an event a change; any other
// difference alone makes it a chmod (an attribute-only change).
var contentAttrs = func() AttrSet {
	var s AttrSet
	for a := range attrs {
		if attrs[a].content {
			s = s.With(Attr(a))
		}
	}
	return s
}()

// DirEntryAttrs are the attributes of a directory that entries created, removed or
// renamed in it change: its times, its size and its link count.
const DirEntryAttrs = AttrSet(1<<AttrMtime | 1<<AttrCtime | 1<<AttrSize | 1<<AttrNlink)

// contentDiffers reports whether the content of old and cur differs, or cannot be shown
// to be the same: a file that changed while it was read (unstable) never passes for
// unchanged, nor does one hashed on one side and unreadable on the other. A file left
// unhashed by policy (too large) is compared by its size and times alone.
func contentDiffers(old, cur *tree.Entry) bool {
	if old.Hashed() && cur.Hashed() {
		return old.Hash != cur.Hash
	}
	if old.Type != tree.TypeFile || cur.Type != tree.TypeFile {
		return false // the type differs, or neither has content
	}
	if (old.Flags|cur.Flags)&tree.FlagUnstable != 0 {
		return true
	}
	return old.Hashed() && cur.Flags&tree.FlagUnreadable != 0 || cur.Hashed() && old.Flags&tree.FlagUnreadable != 0
}

// grownAttrs are the differences a file that only grew shows: they are not reported
// for a file whose recorded content is still its beginning (tree.FlagGrown).
const grownAttrs = AttrSet(1<<AttrContent | 1<<AttrSize | 1<<AttrMtime | 1<<AttrCtime)

// prefixAltered reports whether cur, a growing file that is the inode recorded in old,
// no longer begins with the content old recorded: it was rewritten or cut short.
func prefixAltered(old, cur *tree.Entry) bool {
	return cur.Flags&(tree.FlagGrowing|tree.FlagGrown) == tree.FlagGrowing && cur.Hashed() && old.Hashed() &&
		old.Type == tree.TypeFile && cur.Type == tree.TypeFile &&
		old.SameInode(cur) && old.Hash != cur.Hash
}

func equalXattrs(a, b []tree.Xattr) bool {
	return slices.EqualFunc(a, b, func(x, y tree.Xattr) bool { return x.Name == y.Name && bytes.Equal(x.Value, y.Value) })
}

func (a Attr) String() string {
	if a < numAttrs {
		return attrs[a].name
	}
	return fmt.Sprintf("attr(%d)", uint8(a))
}

// Value says how the attribute's value reads.
func (a Attr) Value() Value { return attrs[a].value }

// Number is the attribute's value in e, for ValueInt, ValueUint, ValueTime and
// ValueDevice.
func (a Attr) Number(e *tree.Entry) uint64 { return attrs[a].number(e) }

// Text is the attribute's value in e, for ValueText.
func (a Attr) Text(e *tree.Entry) string { return attrs[a].text(e) }

// AttrsOf returns the attributes an entry of type t carries.
func AttrsOf(t tree.Type) AttrSet {
	var s AttrSet
	for a := range attrs {
		if attrs[a].of == nil || attrs[a].of(t) {
			s = s.With(Attr(a))
		}
	}
	return s
}

func attrNames() []string {
	names := make([]string, numAttrs)
	for a := range attrs {
		names[a] = attrs[a].name
	}
	return names
}

// ParseAttr is the inverse of Attr.String.
func ParseAttr(s string) (Attr, error) {
	for a := range attrs {
		if attrs[a].name == s {
			return Attr(a), nil
		}
	}
	return 0, fmt.Errorf("unknown attribute %q (want one of %s)", s, strings.Join(attrNames(), ", "))
}

// AttrSet is a set of attributes.
type AttrSet uint16

// Has reports whether a is in the set.
func (s AttrSet) Has(a Attr) bool { return s&(1<<a) != 0 }

// With returns the set with a added.
func (s AttrSet) With(a Attr) AttrSet { return s | 1<<a }

// List returns the attributes of the set in report order.
func (s AttrSet) List() []Attr {
	var out []Attr
	for a := Attr(0); a < numAttrs; a++ {
		if s.Has(a) {
			out = append(out, a)
		}
	}
	return out
}

// Strings returns the attribute names of the set in report order.
func (s AttrSet) Strings() []string {
	var out []string
	for _, a := range s.List() {
		out = append(out, a.String())
	}
	return out
}

// ParseAttrs parses a list of attribute names.
func ParseAttrs(names []string) (AttrSet, error) {
	var s AttrSet
	for _, n := range names {
		a, err := ParseAttr(strings.TrimSpace(n))
		if err != nil {
			return 0, err
		}
		s = s.With(a)
	}
	return s, nil
}

// anonymous reports whether dev is an anonymous device number (major 0): the number of
// a filesystem without a block device of its own (overlayfs, tmpfs, btrfs subvolumes,
// NFS, FUSE), given out anew each time it is mounted. One such number for another says
// nothing of where the entry is (a container's root mounted again after a restart), so
// it is not a change; a move between a disk and such a filesystem is. Whatever else a
// move changes (inode, ctime) is compared as ever.
func anonymous(dev uint64) bool { return unix.Major(dev) == 0 }
