// Package tree owns the model every other package passes around: an Entry (one path's
// recorded type, metadata and digest), its Type and Flags, the keys that order paths as
// a walk visits them, and Seq, the entries in that order as every walk, baseline and
// image yields them, with Merge, the one ordered merge of two Seqs (the differ's join,
// a baseline's overlay). It reads nothing and writes nothing.
package tree

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"strings"
)

// Type is the kind of a filesystem entry.
type Type uint8

// The entry types fim records.
const (
	TypeUnknown Type = iota
	TypeFile
	TypeDir
	TypeSymlink
	TypeFIFO
	TypeSocket
	TypeCharDev
	TypeBlockDev
)

var typeNames = [...]string{"unknown", "file", "dir", "symlink", "fifo", "socket", "chardev", "blockdev"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "unknown"
}

// ParseType is the inverse of Type.String.
func ParseType(s string) (Type, bool) {
	for i, n := range typeNames {
		if n == s {
			return Type(i), true
		}
	}
	return TypeUnknown, false
}

// TypeFromMode maps the S_IFMT bits of a raw st_mode to a Type.
func TypeFromMode(mode uint32) Type {
	switch mode & 0o170000 {
	case 0o100000:
		return TypeFile
	case 0o040000:
		return TypeDir
	case 0o120000:
		return TypeSymlink
	case 0o010000:
		return TypeFIFO
	case 0o140000:
		return TypeSocket
	case 0o020000:
		return TypeCharDev
	case 0o060000:
		return TypeBlockDev
	}
	return TypeUnknown
}

// Flags qualify what an Entry could record.
type Flags uint16

const (
	// FlagHashed: Hash holds the BLAKE3 digest of the content.
	FlagHashed Flags = 1 << iota
	// FlagUnreadable: the file's content or the directory's listing could not be read.
	// A check must not report what is below an unreadable directory as removed.
	FlagUnreadable
	// FlagUnstable: the file changed while it was hashed, twice; Hash is not recorded.
	FlagUnstable
	// FlagTooLarge: the file is larger than the configured maximum size and was not hashed.
	FlagTooLarge
	// FlagBtime: Btime holds the birth time reported by statx.
	FlagBtime
	// FlagXattrsUnreadable: the extended attributes could not be listed.
	FlagXattrsUnreadable
	// FlagImplied: the entry was not in the source but is implied by entries below it
	// (a directory a tar archive leaves out): only its path and type are known.
	FlagImplied
	// FlagPackageVerified: when the entry was recorded, the file's content had the
	// digest its package recorded (fim baseline --package-digests), read at the same
	// device, inode, size, mtime and ctime. fim verify-packages --db trusts it while
	// those are unchanged.
	FlagPackageVerified
	// FlagGrowing: a regular file under a growing policy where a regular file is
	// recorded. Set by a walk, never recorded.
	FlagGrowing
	// FlagGrown: with FlagGrowing, the file is the inode recorded, longer than its
	// recorded size, and its first recorded-size bytes hash to the recorded hash: it
	// only grew. Set by a walk, never recorded.
	FlagGrown
	// FlagVolatileInode: a directory whose inode number does not outlast the kernel's
	// cached inode (overlayfs with its layers on different filesystems gives
	// directories numbers of its own, new each time one is read in): another walk may
	// see another number for the same directory. Set by a walk, never recorded.
	FlagVolatileInode
)

// TransientFlags are the flags a walk sets on what it compares with a record, which a
// record never carries.
const TransientFlags = FlagGrowing | FlagGrown | FlagVolatileInode

// Xattr is one extended attribute. Names are kept sorted within an Entry.
type Xattr struct {
	Name  string
	Value []byte
}

// Entry is fim's one record of a filesystem object: what the walker reads, what the
// baseline stores, what the differ compares and what the reporter prints.
type Entry struct {
	// Path is the recorded absolute path ("/etc/passwd"), raw bytes (not necessarily UTF-8).
	// Under a --root the recorded path is relative to that root.
	Path       string
	Type       Type
	Mode       uint32 // permission bits with setuid, setgid and sticky (07777)
	UID, GID   uint32
	Size       int64
	Mtime      int64 // nanoseconds since the Unix epoch
	Ctime      int64
	Btime      int64 // birth time, valid when FlagBtime is set
	Inode      uint64
	Device     uint64
	Nlink      uint64
	Rdev       uint64 // for character and block devices
	LinkTarget string // for symlinks
	Xattrs     []Xattr
	Hash       [32]byte // valid when FlagHashed is set
	Flags      Flags
	// Copy is the stored copy of a small text file's content under a content_diff
	// rule, secrets redacted, as a zstd frame (package textcopy); NoCopy says why a
	// file under such a rule has none. Both are kept by a baseline beside the record.
	Copy   []byte
	NoCopy NoCopy
}

// NoCopy says why a regular file under a content_diff rule has no stored copy.
type NoCopy uint8

// The reasons a file's content is not kept.
const (
	CopyNone       NoCopy = iota // not asked for, or a copy is kept
	NoCopyBinary                 // not valid UTF-8, or holds a NUL byte
	NoCopyTooLarge               // larger than content_diff_max
	NoCopySecret                 // never stored: shadow files, private keys, no_diff patterns
	NoCopyPrivate                // not world-readable, and its rule does not opt in
	numNoCopy
)

var noCopyNames = [...]string{"", "binary", "too_large", "secret", "private"}

func (n NoCopy) String() string {
	if n < numNoCopy {
		return noCopyNames[n]
	}
	return "unknown"
}

// Valid reports whether n is one of the reasons.
func (n NoCopy) Valid() bool { return n < numNoCopy }

// NoCopyNames lists the reasons' names, for schemas.
func NoCopyNames() []string { return append([]string(nil), noCopyNames[1:]...) }

// Hashed reports whether the entry carries a content hash.
func (e *Entry) Hashed() bool { return e.Flags&FlagHashed != 0 }

// SameInode reports whether e and o record the same inode: the same device and inode
// number, and the same birth time where both know it (an inode number freed by a
// removal is soon given to another file).
func (e *Entry) SameInode(o *Entry) bool {
	return e.Device == o.Device && e.Inode == o.Inode && (e.Flags&o.Flags&FlagBtime == 0 || e.Btime == o.Btime)
}

// FileMode renders Type and Mode as an io/fs FileMode, for display.
func (e *Entry) FileMode() fs.FileMode {
	m := fs.FileMode(e.Mode & 0o777)
	if e.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if e.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if e.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	switch e.Type {
	case TypeDir:
		m |= fs.ModeDir
	case TypeSymlink:
		m |= fs.ModeSymlink
	case TypeFIFO:
		m |= fs.ModeNamedPipe
	case TypeSocket:
		m |= fs.ModeSocket
	case TypeCharDev:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case TypeBlockDev:
		m |= fs.ModeDevice
	}
	return m
}

// Key returns the ordering key of a recorded path: the path with every '/' turned into
// a 0 byte, so that a directory's descendants sort right after it and before any sibling
// whose name extends it ("/a", "/a/z", "/a-b"). This is the order in which the walker
// emits entries and the order of the baseline's keys, which lets check merge the two.
// A path never contains a 0 byte, so the mapping is reversible (see PathFromKey).
func Key(path string) []byte { return AppendKey(nil, path) }

// AppendKey appends the key of path to dst and returns the extended slice.
func AppendKey(dst []byte, path string) []byte {
	n := len(dst)
	dst = append(dst, path...)
	for i, c := range dst[n:] {
		if c == '/' {
			dst[n+i] = 0
		}
	}
	return dst
}

// PathFromKey is the inverse of Key.
func PathFromKey(key []byte) string { return JoinKey("", key) }

// JoinKey returns prefix followed by the path of key, in one allocation: how a baseline
// that leaves a common prefix out of its keys gives the recorded path back.
func JoinKey(prefix string, key []byte) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(key))
	b.WriteString(prefix)
	for len(key) > 0 {
		i := bytes.IndexByte(key, 0)
		if i < 0 {
			b.Write(key)
			break
		}
		b.Write(key[:i])
		b.WriteByte('/')
		key = key[i+1:]
	}
	return b.String()
}

// ComparePaths orders two recorded paths as their keys order.
func ComparePaths(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca == '/' {
			return -1
		}
		if cb == '/' {
			return 1
		}
		if ca < cb {
			return -1
		}
		return 1
	}
	return len(a) - len(b)
}

// IsWithin reports whether path is dir or lies below it.
func IsWithin(path, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(path, "/")
	}
	return path == dir || strings.HasPrefix(path, dir) && path[len(dir)] == '/'
}

// Join joins a recorded directory path and a name.
func Join(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// CleanPath returns the clean absolute form of a recorded path.
func CleanPath(p string) string {
	return filepath.Clean("/" + p)
}
