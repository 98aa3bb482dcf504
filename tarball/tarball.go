// Package tarball owns reading a tar stream (docker export, an OCI layer, a rootfs
// tarball) into the entries a walk of the unpacked tree would give, without unpacking it:
// one pass over the archive, content hashed as it streams by, memory in proportion to
// the number of entries.
//
// The entries are those of walk.Walker with Prefix set to the directory the archive is
// extracted into, as root, with
//
//	tar --xattrs --xattrs-include='*' --numeric-owner -xpf image.tar -C rootfs
//
// for every attribute a tar carries: type, mode with setuid, setgid and sticky, numeric
// owner and group (never the names, which the extracting host would map), size, mtime
// to the nanosecond when the archive has it (PAX; ustar and GNU headers hold seconds),
// symlink target, device numbers (encoded as the walker encodes them, unix.Mkdev),
// extended attributes (PAX SCHILY.xattr.*, security.capability and
// system.posix_acl_* included; RHT.security.selinux as security.selinux), the BLAKE3
// content hash, and link counts. Uncarried lists the attributes a tar does not carry.
//
// Choices, each made as extraction would make it:
//   - Names: leading "/" and "./" are stripped and the rest is cleaned lexically; an
//     absolute name is taken relative to the image root, as GNU tar does by default.
//     ".", "./" and "/" name the root directory "/". Paths are recorded absolute inside
//     the image ("/etc/passwd"), raw bytes as in the archive.
//   - Skipped with a warning: a name that escapes the root after cleaning ("../x",
//     "a/../../x"); a name extraction cannot create (over PATH_MAX-1 bytes, or a
//     component over NAME_MAX); an entry below a symlink of the archive (extraction
//     could write through it, out of the tree: it is never resolved, and a symlink's
//     target is recorded verbatim, as data); an entry below another non-directory; a hard
//     link whose target escapes the root, is not an earlier entry, or is a directory;
//     a symlink with an empty target or one of PATH_MAX bytes or more; a non-directory
//     named "."; multi-volume and old GNU name-list members. A name such as "a/../b"
//     that stays inside after cleaning is recorded as "/b", as containerd and moby
//     extract it (GNU tar refuses to extract it).
//   - Duplicate names: the last one wins, with a warning. A directory that appears
//     again keeps what is below it and takes the later entry's attributes; anything
//     else replaces the earlier entry, a directory with everything below it (as moby
//     does; GNU tar needs --recursive-unlink to remove a non-empty directory). A hard
//     link made before the replacement keeps the earlier content.
//   - Hard links share the attributes of their target's inode (the link's own header
//     is ignored, as extraction ignores it); Nlink counts the names an inode has in the
//     archive at its end. A directory's Nlink is 2 plus its subdirectories, as ext4, xfs
//     and tmpfs count them (btrfs and overlayfs say 1: there, ignore "nlink" too).
//   - Missing parent directories are recorded as extraction creates them: mode 0755
//     (0777 less root's usual umask 022), owner 0:0, mtime 0, with a warning, and flagged
//     walk.FlagImplied, so that a check compares only their type (extraction gives them
//     its own time). So is the root when the archive has no "." entry (docker export
//     writes none). GNU dumpdir members are directories.
//   - Symlinks are recorded with mode 0777 and the length of their target as size,
//     whatever the header says, as Linux creates them. A directory's size is 0 (see
//     Uncarried).
//   - Regular files (and contiguous files, GNU sparse files read with their holes as
//     zeros, and members of an unknown type, which extraction makes regular files, with a
//     warning) are hashed unless larger than Options.MaxFileSize: then they carry
//     walk.FlagTooLarge and no hash, as the walker records them. The holes of sparse
//     members are not in the archive, yet hashing them costs time in proportion to the
//     size their header declares: once the holes hashed in the archive would exceed
//     Options.MaxHoles, a sparse member is recorded the same way, with a warning.
//     Everything else the reader does is in proportion to the bytes of the (decompressed)
//     stream: archive/tar bounds PAX headers, long names and sparse maps to 1 MiB each,
//     and deflate expands at most about 1032 times.
//   - OCI whiteouts (".wh.NAME", ".wh..wh..opq") are recorded as the empty files they
//     are: baseline a flattened export (docker export), not a layer.
//   - POSIX ACLs stored as text (SCHILY.acl.*, tar --acls) are not carried, with a
//     warning: the extracted entry's system.posix_acl_* xattrs will differ. Global PAX
//     headers are not applied (a warning names their records; a lone comment, as git
//     archive writes, is ignored).
//   - Input compressed with gzip is decompressed transparently; zstd, xz, bzip2 and
//     lz4 are refused with an error saying to decompress first. Anything after the end
//     of the archive is read and discarded, so that a pipe's writer is not cut off and
//     a gzip trailer is verified.
//   - Bad input (a truncated archive, a bad header checksum, a field out of range) is an
//     error naming the byte offset and the entry. An archive is whole only with its
//     end-of-archive marker, two zero blocks, as every tar writer ends one (GNU tar,
//     bsdtar, archive/tar, git archive); gzip input, only with its trailer as well. An
//     empty input is an error, and so is an archive with no member to record (none, or
//     each one skipped): a baseline of it would hold nothing but an implied root.
package tarball

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fim/tree"
	"fmt"
	"io"
	"math"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"
)

// Options govern what Read records.
type Options struct {
	// MaxFileSize: larger regular files are recorded without a hash, with
	// walk.FlagTooLarge, as the walker records them; 0 means unlimited.
	MaxFileSize int64
	// Select reports whether a recorded path is recorded (nil: every path). It is asked
	// of every path on its own, as walk.Walker.Selects answers: the policy's roots,
	// excludes, hidden names and depth. Hard links and directory link counts take the
	// whole archive into account whatever is selected.
	Select func(path string) bool
	// MaxHoles bounds the bytes of sparse members' holes that are hashed, over the whole
	// archive (0: DefaultMaxHoles). A hole is not in the archive: hashing it costs time
	// in proportion to the size a header declares, which can be 2^60 bytes in an
	// archive of a few hundred bytes. A sparse member whose holes go over the budget is
	// recorded as MaxFileSize records a file, with walk.FlagTooLarge and no hash, and a
	// warning.
	MaxHoles int64
	// Warn receives what is skipped or cannot be carried, in archive order, with the
	// recorded path, or with the member's name as the archive spells it (cut after
	// PATH_MAX bytes) when it has no recorded path; then, in key order, the directories
	// made for missing parents. It may be nil.
	Warn func(path string, err error)
}

// DefaultMaxHoles is the budget of Options.MaxHoles: a few seconds of hashing zeros.
const DefaultMaxHoles = 1 << 30

// Uncarried returns the attributes (as diff.ParseAttrs names them) that a tar does not
// carry, to be ignored when a baseline read from a tar is checked against an extracted
// tree: ctime, inode and device are the extracting filesystem's, and so is a directory's
// size (4096 on ext4, another number on tmpfs). A file's size is carried but falls with
// it; its content hash still covers it.
func Uncarried() []string { return []string{"size", "ctime", "inode", "device"} }

// Limits of what extraction can create on Linux: a relative name or a symlink target of
// PATH_MAX bytes or more, a name component over NAME_MAX bytes.
const (
	pathMax = unix.PathMax
	nameMax = unix.NAME_MAX
)

// Types outside archive/tar's constants.
const (
	typeGNUDumpDir    = 'D' // GNU incremental directory: extracted as a directory
	typeGNUMultiVol   = 'M' // continuation of a file from the previous volume
	typeGNUNames      = 'N' // old GNU list of long names
	typeGNUVolumeHead = 'V' // volume label: not extracted
)

// node is one name in the tree the archive builds.
type node struct {
	attr     *inode
	children map[string]*node // directories only; nil until a first child
	synth    bool             // a directory made for a missing parent
}

// inode is what a name points to; hard links share it.
type inode struct {
	tree.Entry
	links uint64
}

// reader is the state of one Read.
type reader struct {
	ctx   context.Context
	opt   Options
	in    *counter
	tr    *tar.Reader
	root  *node
	h     *blake3.Hasher
	buf   []byte
	last  string // the last member's name, for errors
	count int    // names in the tree, for the result's size
	seen  int    // members read
	holes int64  // bytes of sparse holes hashed so far
}

// errNoEnd is what archive/tar reads at the end of the stream instead of io.EOF. Given
// io.EOF where a header starts, after the first block of the end-of-archive marker, or
// inside a member's padding, archive/tar ends the archive there without an error, so
// that an archive cut at one of those places would pass for a whole one. With errNoEnd
// it fails; the marker, two zero blocks, is the only end it reports as io.EOF (it
// reads no further).
var errNoEnd error = noEnd{}

type noEnd struct{}

func (noEnd) Error() string {
	return "the stream ends before the end-of-archive marker (two zero blocks)"
}
func (noEnd) Is(target error) bool { return target == io.ErrUnexpectedEOF }

// endless is the stream as archive/tar reads it: its end is errNoEnd.
type endless struct{ r io.Reader }

func (e endless) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		err = errNoEnd
	}
	return n, err
}

// counter counts the bytes of the (decompressed) tar stream read so far.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Read reads the tar stream r and returns its entries in key order (tree.ComparePaths).
func Read(ctx context.Context, r io.Reader, opt Options) ([]*tree.Entry, error) {
	src, err := decompress(r)
	if err != nil {
		return nil, err
	}
	rd := &reader{
		ctx:  ctx,
		opt:  opt,
		in:   &counter{r: src},
		root: &node{attr: synthDir(), synth: true},
		h:    blake3.New(),
		buf:  make([]byte, 256<<10),
	}
	if rd.opt.MaxHoles == 0 {
		rd.opt.MaxHoles = DefaultMaxHoles
	}
	rd.tr = tar.NewReader(endless{rd.in})
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := rd.tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) { // names are checked below
			return nil, rd.streamError("", err)
		}
		if err := rd.add(hdr); err != nil {
			return nil, err
		}
	}
	if rd.count == 0 && rd.root.synth {
		if rd.seen == 0 {
			return nil, errors.New("empty archive: no member to record")
		}
		return nil, fmt.Errorf("no member to record: every member of the archive (%d) was skipped", rd.seen)
	}
	// Read to the end: verifies a gzip trailer, and lets a pipe's writer finish.
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		_, err := rd.in.Read(rd.buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read after the end of the archive, at byte %d: %w", rd.in.n, err)
		}
	}
	return rd.entries(), nil
}

// decompress returns r, decompressed if it is gzip; other compressions are an error.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(10)
	if len(magic) == 0 {
		if err == io.EOF {
			return nil, errors.New("empty input: not a tar archive")
		}
		return nil, fmt.Errorf("read: %w", err)
	}
	if bytes.HasPrefix(magic, []byte{0x1f, 0x8b, 0x08}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
		return zr, nil
	}
	if name, command := compression(magic); name != "" {
		return nil, fmt.Errorf("input is %s-compressed: decompress it first (%s FILE | fim ... --from-tar -)", name, command)
	}
	return br, nil
}

// compression names the compressed format whose magic number b starts with (none that
// a tar header can plausibly start with), and the command that decompresses it.
func compression(b []byte) (name, command string) {
	s := string(b)
	switch {
	case strings.HasPrefix(s, "\x28\xb5\x2f\xfd"):
		return "zstd", "zstd -dc"
	case strings.HasPrefix(s, "\xfd7zXZ\x00"):
		return "xz", "xz -dc"
	case len(s) >= 10 && s[:3] == "BZh" && s[3] >= '1' && s[3] <= '9' && s[4:10] == "1AY&SY":
		return "bzip2", "bzip2 -dc"
	case strings.HasPrefix(s, "\x04\x22\x4d\x18"):
		return "lz4", "lz4 -dc"
	}
	return "", ""
}

// streamError describes an error of the archive stream at the current offset, while
// reading a header (member == "") or the content of member.
func (rd *reader) streamError(member string, err error) error {
	where := fmt.Sprintf("read member %q", short(member))
	if member == "" {
		where = "read tar header"
		if rd.last != "" {
			where += fmt.Sprintf(" after member %q", short(rd.last))
		}
	}
	first := member == "" && rd.last == ""
	switch {
	case first && errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: not a tar archive, or truncated within its first header (at byte %d): %w", where, rd.in.n, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: archive truncated at byte %d: %w", where, rd.in.n, err)
	case first && errors.Is(err, tar.ErrHeader):
		return fmt.Errorf("%s: not a tar archive, or a corrupt first header (bad checksum or field) ending at byte %d: %w", where, rd.in.n, err)
	case errors.Is(err, tar.ErrHeader):
		return fmt.Errorf("%s: corrupt header (bad checksum or field) ending at byte %d: %w", where, rd.in.n, err)
	}
	return fmt.Errorf("%s, at byte %d: %w", where, rd.in.n, err)
}

// warn reports err for the recorded path p, if p is selected.
func (rd *reader) warn(p string, err error) {
	if rd.opt.Warn != nil && (rd.opt.Select == nil || rd.opt.Select(p)) {
		rd.opt.Warn(p, err)
	}
}

// warnName reports err for a member that has no recorded path.
func (rd *reader) warnName(name string, err error) {
	if rd.opt.Warn != nil {
		rd.opt.Warn(short(name), err)
	}
}

// short returns a member name as messages show it: cut after PATH_MAX bytes, since a
// PAX name can be a megabyte long.
func short(name string) string {
	if len(name) > pathMax {
		return name[:pathMax] + "..."
	}
	return name
}

// recorded returns the recorded path of a clean relative name.
func recorded(rel string) string {
	if rel == "." {
		return "/"
	}
	return "/" + rel
}

// clean turns a member name into a clean name relative to the image root ("." for the
// root), or explains why extraction would not create it.
func clean(name string) (string, error) {
	rel := path.Clean(strings.TrimLeft(name, "/")) // "" and "./" clean to "."
	switch {
	case rel == ".." || strings.HasPrefix(rel, "../"):
		return "", errors.New("member name escapes the image root: skipped")
	case len(rel) >= pathMax:
		return "", fmt.Errorf("member name of %d bytes: extraction cannot create it (PATH_MAX %d): skipped", len(rel), pathMax)
	}
	for c := range strings.SplitSeq(rel, "/") {
		if len(c) > nameMax {
			return "", fmt.Errorf("name component of %d bytes: extraction cannot create it (NAME_MAX %d): skipped", len(c), nameMax)
		}
	}
	return rel, nil
}

// add records one member.
func (rd *reader) add(hdr *tar.Header) error {
	name := hdr.Name
	rd.last = name
	rd.seen++
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		rd.global(hdr)
		return nil
	case typeGNUVolumeHead:
		return nil
	}
	rel, err := clean(name)
	if err != nil {
		rd.warnName(name, err)
		return nil
	}
	p := recorded(rel)
	var e tree.Entry
	var target *node // of a hard link
	switch hdr.Typeflag {
	case tar.TypeLink:
		if target, err = rd.linkTarget(hdr.Linkname); err != nil {
			rd.warn(p, err)
			return nil
		}
	case tar.TypeReg, tar.TypeCont, tar.TypeGNUSparse:
		e.Type = tree.TypeFile
	case tar.TypeDir, typeGNUDumpDir:
		e.Type = tree.TypeDir
	case tar.TypeSymlink:
		e.Type = tree.TypeSymlink
	case tar.TypeChar:
		e.Type = tree.TypeCharDev
	case tar.TypeBlock:
		e.Type = tree.TypeBlockDev
	case tar.TypeFifo:
		e.Type = tree.TypeFIFO
	case typeGNUMultiVol, typeGNUNames:
		rd.warn(p, fmt.Errorf("member of type %q (a multi-volume or old GNU name list member) is not extracted: skipped", hdr.Typeflag))
		return nil
	default:
		rd.warn(p, fmt.Errorf("member of unknown type %q: recorded as a regular file, as extraction makes it", hdr.Typeflag))
		e.Type = tree.TypeFile
	}
	if target == nil {
		if err := rd.attributes(&e, hdr, p); err != nil {
			return err
		}
		if e.Type == tree.TypeSymlink {
			switch {
			case e.LinkTarget == "":
				rd.warn(p, errors.New("symlink with an empty target: extraction cannot create it: skipped"))
				return nil
			case len(e.LinkTarget) >= pathMax:
				rd.warn(p, fmt.Errorf("symlink target of %d bytes: extraction cannot create it (PATH_MAX %d): skipped", len(e.LinkTarget), pathMax))
				return nil
			}
		}
	}
	if rel == "." {
		if target != nil || e.Type != tree.TypeDir {
			rd.warn(p, errors.New("the image root is not a directory in the archive: skipped"))
			return nil
		}
		if !rd.root.synth {
			rd.warn(p, errors.New("appears again in the archive: the later entry's attributes win"))
		}
		rd.root.attr, rd.root.synth = &inode{Entry: e}, false
		return nil
	}
	dir, base, ok := rd.parent(rel)
	if !ok {
		return nil
	}
	if e.Type == tree.TypeFile {
		if err := rd.hash(&e, p, name); err != nil {
			return err
		}
	}
	if target == nil {
		rd.place(dir, base, p, &node{attr: &inode{Entry: e}})
		return nil
	}
	if target == dir.children[base] {
		rd.warn(p, errors.New("hard link to itself: skipped"))
		return nil
	}
	rd.place(dir, base, p, &node{attr: target.attr})
	return nil
}

// attributes fills e from hdr for any type but a hard link.
func (rd *reader) attributes(e *tree.Entry, hdr *tar.Header, p string) error {
	if hdr.Uid < 0 || hdr.Uid > math.MaxUint32 || hdr.Gid < 0 || hdr.Gid > math.MaxUint32 {
		return fmt.Errorf("member %q: owner %d:%d out of range", short(hdr.Name), hdr.Uid, hdr.Gid)
	}
	e.UID, e.GID = uint32(hdr.Uid), uint32(hdr.Gid)
	e.Mode = uint32(hdr.Mode) & 0o7777
	mt, err := unixNano(hdr.ModTime)
	if err != nil {
		return fmt.Errorf("member %q: mtime %w", short(hdr.Name), err)
	}
	e.Mtime = mt
	switch e.Type {
	case tree.TypeFile:
		e.Size = hdr.Size
	case tree.TypeSymlink:
		e.Mode = 0o777
		e.LinkTarget = hdr.Linkname
		e.Size = int64(len(hdr.Linkname))
	case tree.TypeCharDev, tree.TypeBlockDev:
		if hdr.Devmajor < 0 || hdr.Devmajor > math.MaxUint32 || hdr.Devminor < 0 || hdr.Devminor > math.MaxUint32 {
			return fmt.Errorf("member %q: device %d,%d out of range", short(hdr.Name), hdr.Devmajor, hdr.Devminor)
		}
		e.Rdev = unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	}
	var selinux string
	acl := false
	for k, v := range hdr.PAXRecords {
		switch {
		case strings.HasPrefix(k, "SCHILY.xattr."):
			e.Xattrs = append(e.Xattrs, tree.Xattr{Name: k[len("SCHILY.xattr."):], Value: []byte(v)})
		case k == "RHT.security.selinux":
			selinux = v
		case strings.HasPrefix(k, "SCHILY.acl."):
			acl = true
		}
	}
	if selinux != "" && !slices.ContainsFunc(e.Xattrs, func(x tree.Xattr) bool { return x.Name == "security.selinux" }) {
		e.Xattrs = append(e.Xattrs, tree.Xattr{Name: "security.selinux", Value: []byte(selinux)})
	}
	sort.Slice(e.Xattrs, func(i, j int) bool { return e.Xattrs[i].Name < e.Xattrs[j].Name })
	if acl {
		rd.warn(p, errors.New("POSIX ACL stored as text (SCHILY.acl.*) is not carried: the extracted entry's system.posix_acl_* xattrs will differ"))
	}
	return nil
}

// unixNano returns t in nanoseconds since the epoch, if an int64 holds it.
func unixNano(t time.Time) (int64, error) {
	const lo, hi = math.MinInt64 / 1_000_000_000, math.MaxInt64 / 1_000_000_000
	if s := t.Unix(); s <= lo || s >= hi {
		return 0, fmt.Errorf("%d s outside the range fim records (years 1678 to 2262)", s)
	}
	return t.UnixNano(), nil
}

// linkTarget finds the earlier member a hard link names.
func (rd *reader) linkTarget(linkname string) (*node, error) {
	rel, err := clean(linkname)
	if err != nil {
		return nil, fmt.Errorf("hard link to %q: %w", short(linkname), err)
	}
	n := rd.root
	if rel != "." {
		for c := range strings.SplitSeq(rel, "/") {
			if n.attr.Type != tree.TypeDir {
				n = nil
				break
			}
			if n = n.children[c]; n == nil {
				break
			}
		}
	}
	switch {
	case n == nil:
		return nil, fmt.Errorf("hard link to %s, which is not an earlier member: skipped", recorded(rel))
	case n.attr.Type == tree.TypeDir:
		return nil, fmt.Errorf("hard link to directory %s: skipped", recorded(rel))
	}
	return n, nil
}

// parent returns the directory that holds rel and rel's last component, making the
// missing directories on the way. It warns and reports false when a component is not a
// directory.
func (rd *reader) parent(rel string) (*node, string, bool) {
	dir := rd.root
	for off := 0; ; {
		i := strings.IndexByte(rel[off:], '/')
		if i < 0 {
			return dir, rel[off:], true
		}
		c := rel[off : off+i]
		child := dir.children[c]
		if child == nil {
			child = &node{attr: synthDir(), synth: true}
			dir.addChild(c, child)
			rd.count++
		} else if t := child.attr.Type; t != tree.TypeDir {
			at := recorded(rel[:off+i])
			if t == tree.TypeSymlink {
				rd.warn(recorded(rel), fmt.Errorf("below %s, a symlink in the archive, which extraction would follow: skipped", at))
			} else {
				rd.warn(recorded(rel), fmt.Errorf("below %s, a %v in the archive, not a directory: skipped", at, t))
			}
			return nil, "", false
		}
		dir = child
		off += i + 1
	}
}

// place puts n under dir as base, replacing what is there as extraction would.
func (rd *reader) place(dir *node, base, p string, n *node) {
	old := dir.children[base]
	switch {
	case old == nil:
		rd.count++
	case old.attr.Type == tree.TypeDir && n.attr.Type == tree.TypeDir:
		if !old.synth {
			rd.warn(p, errors.New("appears again in the archive: the later entry's attributes win, what is below it stays"))
		}
		old.attr, old.synth = n.attr, false
		return
	case old.attr.Type == tree.TypeDir && len(old.children) > 0:
		rd.warn(p, fmt.Errorf("a %v replaces a directory of the archive and everything below it", n.attr.Type))
	default:
		rd.warn(p, errors.New("appears again in the archive: the later entry wins"))
	}
	dir.addChild(base, n)
}

func (n *node) addChild(name string, c *node) {
	if n.children == nil {
		n.children = map[string]*node{}
	}
	n.children[name] = c
}

// synthDir is a directory as extraction makes one for a missing parent. It is flagged
// as implied: a check compares only its type, since extraction gives it a mode, owner
// and times of its own.
func synthDir() *inode {
	return &inode{Entry: tree.Entry{Type: tree.TypeDir, Mode: 0o755, Flags: tree.FlagImplied}}
}

// hash reads the current member's content into e's hash, unless it is too large, or a
// sparse member with more holes than are left of the budget. p is its recorded path.
func (rd *reader) hash(e *tree.Entry, p, name string) error {
	if rd.opt.MaxFileSize > 0 && e.Size > rd.opt.MaxFileSize {
		e.Flags |= tree.FlagTooLarge
		return nil
	}
	rd.h.Reset()
	var total int64
	start := rd.in.n
	for {
		n, err := rd.tr.Read(rd.buf)
		rd.h.Write(rd.buf[:n])
		total += int64(n)
		// What archive/tar gave beyond what it read is the holes of a sparse member.
		if holes := total - (rd.in.n - start); rd.holes+holes > rd.opt.MaxHoles {
			rd.warn(p, fmt.Errorf("sparse member of %d bytes with holes over the budget of %d bytes hashed per archive: recorded as too large, without a hash", e.Size, rd.opt.MaxHoles))
			e.Flags |= tree.FlagTooLarge
			return nil // the rest of the member is skipped, holes unread
		} else if err == io.EOF {
			rd.holes += holes
			break
		}
		if err != nil {
			return rd.streamError(name, err)
		}
		if err := rd.ctx.Err(); err != nil {
			return err
		}
	}
	if total != e.Size {
		return fmt.Errorf("member %q: %d bytes of content, header says %d", short(name), total, e.Size)
	}
	rd.h.Sum(e.Hash[:0])
	e.Flags |= tree.FlagHashed
	return nil
}

// global warns of the records of a global PAX header, which are not applied.
func (rd *reader) global(hdr *tar.Header) {
	var keys []string
	for k := range hdr.PAXRecords {
		if k != "comment" {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		rd.warnName(hdr.Name, fmt.Errorf("global PAX header records not applied: %s", strings.Join(keys, ", ")))
	}
}

// entries returns the tree's selected entries in key order, with their link counts.
func (rd *reader) entries() []*tree.Entry {
	rd.root.count()
	out := make([]*tree.Entry, 0, rd.count+1)
	var emit func(n *node, p string)
	emit = func(n *node, p string) {
		if rd.opt.Select == nil || rd.opt.Select(p) {
			e := &n.attr.Entry // an inode with one name is its entry
			if n.attr.links > 1 {
				c := *e
				c.Xattrs = slices.Clone(e.Xattrs) // the caller may change one name's
				e = &c
			}
			e.Path, e.Nlink = p, n.attr.links
			out = append(out, e)
			if n.synth && rd.opt.Warn != nil {
				rd.opt.Warn(p, errSynthesized)
			}
		}
		names := make([]string, 0, len(n.children))
		for name := range n.children {
			names = append(names, name)
		}
		// Names hold no '/': siblings in bytewise order, depth first, is key order.
		sort.Strings(names)
		for _, name := range names {
			emit(n.children[name], tree.Join(p, name))
		}
	}
	emit(rd.root, "/")
	return out
}

// count sets the link counts of the tree below n: the names of each inode, and 2 plus
// the subdirectories of each directory.
func (n *node) count() {
	if n.attr.Type != tree.TypeDir {
		n.attr.links++
		return
	}
	n.attr.links = 2
	for _, c := range n.children {
		if c.attr.Type == tree.TypeDir {
			n.attr.links++
		}
		c.count()
	}
}

var errSynthesized = errors.New("directory not in the archive: recorded as implied by the entries below it; a check compares only its type")
