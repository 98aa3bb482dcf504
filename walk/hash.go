package walk

import (
	"bytes"
	"errors"
	"fim/textcopy"
	"fim/tree"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/zeebo/blake3"
	"golang.org/x/sys/unix"
)

// hashBuf is one worker's reusable read buffer, hasher and directory buffer.
type hashBuf struct {
	buf     []byte
	h       *blake3.Hasher
	dirents []byte
	kept    bytes.Buffer // the content kept for a copy, when one is asked for
}

// hashBufSize is the size of a worker's read buffer: the most one read returns.
const hashBufSize = 256 << 10

func newHashBuf() *hashBuf {
	return &hashBuf{buf: make([]byte, hashBufSize), h: blake3.New(), dirents: make([]byte, 64<<10)}
}

// hashBufs keeps workers' buffers from one walk to the next: fim watch walks one path
// at a time, thousands of times a second.
var hashBufs = sync.Pool{New: func() any { return newHashBuf() }}

// inlineHashMax is the size up to which a listing hashes a file itself.
const inlineHashMax = 64 << 10

// errChanged says the file changed, or was replaced, while it was being read.
var errChanged = errors.New("changed while being read")

// hashEntry hashes entry e, opening name relative to directory descriptor dirfd (name
// is a.real when dirfd is AT_FDCWD); maxSize is its root's MaxFileSize. A file that
// changes while it is read is read once more; if it changes again it is recorded as
// unstable, without a hash. With a.cachedOnly, a file whose content is not in the
// page cache is left as it is, and hashEntry reports false: its hash is still to be
// taken.
func (wk *walk) hashEntry(maxSize int64, e *tree.Entry, a *aux, hb *hashBuf, dirfd int, name string) bool {
	err := wk.hashOnce(e, a, hb, dirfd, name)
	if errors.Is(err, errNotCached) {
		return false
	}
	defer hashed(e, a)
	for attempt := 0; err != nil; attempt++ {
		if errors.Is(err, unix.ENOENT) {
			a.skip = true // removed since it was listed
			return true
		}
		if !errors.Is(err, errChanged) {
			e.Flags |= tree.FlagUnreadable
			a.err = err
			if a.xattrsAtHash {
				readXattrsAt(e, dirfd, name, a.followed) // a file that cannot be read may still list them
			}
			return true
		}
		if attempt == 1 {
			e.Flags |= tree.FlagUnstable
			a.err = errors.New("changed while being hashed, twice: recorded without a hash")
			return true
		}
		// Take the entry anew: it may have become something else than a regular file.
		flags := unix.AT_SYMLINK_NOFOLLOW
		if a.followed {
			flags = 0
		}
		var stx unix.Statx_t
		if err := unix.Statx(dirfd, name, flags|unix.AT_NO_AUTOMOUNT, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &stx); err != nil {
			if errors.Is(err, unix.ENOENT) {
				a.skip = true
			} else {
				e.Flags |= tree.FlagUnreadable
				a.err = err
			}
			return true
		}
		fillStat(e, &stx)
		// What is read next is kept only if the file, as it is now, may be kept: it
		// may have been made private since it was listed.
		if a.copyMax > 0 {
			if why := a.copies.reason(e, a.followed); why != tree.CopyNone {
				e.NoCopy, a.copyMax = why, 0
			}
		}
		// The new ctime may come from an xattr set since the listing read them: read them
		// again (a file's are read once more from the file opened next).
		readXattrsAt(e, dirfd, name, a.followed)
		if e.Type == tree.TypeFile && maxSize > 0 && e.Size > maxSize {
			e.Flags |= tree.FlagTooLarge // grew past the limit since it was listed
			return true
		}
		if e.Type != tree.TypeFile {
			e.NoCopy = tree.CopyNone
			if e.Type == tree.TypeSymlink {
				var buf [4096]byte
				if k, err := unix.Readlinkat(dirfd, name, buf[:]); err == nil {
					e.LinkTarget = string(buf[:k])
				}
			}
			return true
		}
		err = wk.hashOnce(e, a, hb, dirfd, name)
	}
	return true
}

// hashed hands the outcome of e's hash job to those waiting for it.
func hashed(e *tree.Entry, a *aux) {
	if a.slot != nil {
		a.slot.hash, a.slot.flags = e.Hash, e.Flags&(tree.FlagHashed|tree.FlagUnstable|tree.FlagUnreadable)
		if a.side != nil && e.Hashed() {
			read := *e
			a.slot.side, a.slot.read = a.side, &read
		}
		close(a.slot.done)
	}
	if a.done != nil {
		close(a.done)
	}
}

// hashLost ends e's hash job when the directory it was listed in cannot be opened
// again as that directory: gone (and the file with it), or replaced, and then the
// file cannot be pinned down.
func (wk *walk) hashLost(e *tree.Entry, a *aux, err error) {
	defer hashed(e, a)
	switch {
	case errors.Is(err, unix.ENOENT):
		a.skip = true
	case errors.Is(err, errDirReplaced):
		e.Flags |= tree.FlagUnstable
		a.err = err
	default:
		e.Flags |= tree.FlagUnreadable
		a.err = err
	}
}

// hashOnce opens the file the listing found (see openListed), hashes it, reads its
// extended attributes if the listing left them to it, and then checks with fstat that
// what was read is the regular file the listing stat'ed, unchanged: same inode, size,
// mtime and ctime. Any difference (a file replaced, or changed since it was listed or
// while it was read) is errChanged, and the caller takes the entry anew.
func (wk *walk) hashOnce(e *tree.Entry, a *aux, hb *hashBuf, dirfd int, name string) error {
	fd, err := wk.openListed(dirfd, name, e, a)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	// On /proc, sysfs and the like a size says nothing of the content: read to the end.
	want := e.Size
	sizeless := wk.sizeless(fd, e.Device)
	if sizeless {
		want = -1
	}
	prefix := int64(-1)
	if a.grow != nil {
		prefix = a.grow.Size
	}
	// A listing reads only what memory holds (see aux.cachedOnly): the beginning of the
	// file is read before anything is asked to take the content.
	have := 0
	if a.cachedOnly {
		a.cachedOnly = false // a file taken anew after a change is read by the listing
		if !sizeless && want > 0 {
			if have, err = readCached(fd, hb.buf, want); err != nil {
				return err
			}
		}
	}
	// Every byte read feeds the side digest and, for a file that keeps a copy, the copy.
	var sides []io.Writer
	keep := a.copyMax > 0 && !sizeless && e.Size <= a.copyMax
	if keep {
		hb.kept.Reset()
		sides = append(sides, &hb.kept)
	}
	var pkg io.Writer
	if wk.Side != nil {
		if pkg = wk.Side.For(e, a.prior); pkg != nil {
			sides = append(sides, pkg)
		}
	}
	var side io.Writer
	switch len(sides) {
	case 1:
		side = sides[0]
	case 2:
		side = io.MultiWriter(sides...)
	}
	sum, prefixSum, read, err := hb.hashFD(fd, have, want, prefix, side, wk)
	if errors.Is(err, unix.EAGAIN) {
		return errChanged // a FIFO or socket took the file's place
	}
	if err != nil {
		return err
	}
	// Read between the open and the fstat below, and kept only if the file proves to
	// be the one listed, with the ctime it had then: its attributes since.
	var xa tree.Entry
	if a.xattrsAtHash {
		readXattrsFD(&xa, fd)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Ino != e.Inode || st.Dev != e.Device ||
		st.Size != e.Size || st.Mtim.Nano() != e.Mtime || st.Ctim.Nano() != e.Ctime {
		return errChanged
	}
	// Times can stay put across a quick truncate-write-truncate (they tick coarser
	// than writes come): content of another length than the size is a torn read.
	if read != e.Size && !sizeless {
		return errChanged
	}
	e.Hash = sum
	e.Flags = e.Flags&^(tree.FlagUnreadable|tree.FlagUnstable|tree.FlagGrown) | tree.FlagHashed
	e.Copy = nil
	switch {
	case keep:
		e.Copy, e.NoCopy = textcopy.Take(hb.kept.Bytes(), a.copies.Key.For(e.Path))
	case a.copyMax > 0:
		e.NoCopy = tree.NoCopyTooLarge // grew past the limit since it was listed
	}
	// Taken anew after a change (hashEntry), e may be another inode than the record.
	if a.grow != nil && a.grow.SameInode(e) && read > a.grow.Size && prefixSum == a.grow.Hash {
		e.Flags |= tree.FlagGrown // it only grew
	}
	if a.xattrsAtHash {
		e.Xattrs = xa.Xattrs
		e.Flags = e.Flags&^tree.FlagXattrsUnreadable | xa.Flags&tree.FlagXattrsUnreadable
	}
	if pkg != nil {
		wk.Side.Done(e, pkg)
		a.side = pkg
	}
	return nil
}

// errPseudo says a file reached through a symlink lies on a pseudo-filesystem.
var errPseudo = errors.New("on a pseudo-filesystem, reached through a symlink: not read")

// openListed opens for reading the regular file e that the listing found as name in
// directory dirfd, and nothing else. It never follows a symlink unless the entry was
// reached through one, never blocks, and never opens anything but that file: the name
// is first opened with O_PATH, which opens nothing, and the type, device and inode are
// checked with fstat before the file itself is opened through that descriptor. A
// FIFO, a device or another file renamed over the name since the listing is
// errChanged, and was never opened. A file reached through a symlink is not read when
// it lies on a pseudo-filesystem (/proc/kmsg is a regular file whose read consumes the
// kernel log).
//
// In a sealed directory (see sealed) only root and fim's own user could have renamed
// something over the name, and the file is opened at once, then checked with fstat
// before a byte is read: the same outcome, for less than half the cost.
func (wk *walk) openListed(dirfd int, name string, e *tree.Entry, a *aux) (int, error) {
	if a.sealed && !a.followed {
		return openSealed(dirfd, name, e)
	}
	flags := unix.O_PATH | unix.O_CLOEXEC
	if !a.followed {
		flags |= unix.O_NOFOLLOW
	}
	pfd, err := openAt(dirfd, name, flags)
	if err != nil {
		return -1, err
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return -1, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Ino != e.Inode || st.Dev != e.Device {
		return -1, errChanged
	}
	if a.followed && wk.sizeless(pfd, e.Device) {
		return -1, errPseudo
	}
	return reopen(pfd)
}

// openSealed opens name in dirfd for reading, without following a symlink or
// blocking, and checks that it is the regular file e.
func openSealed(dirfd int, name string, e *tree.Entry) (int, error) {
	flags := unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_NOFOLLOW
	fd, err := openAt(dirfd, name, flags|unix.O_NOATIME)
	if errors.Is(err, unix.EPERM) {
		fd, err = openAt(dirfd, name, flags) // O_NOATIME needs ownership or CAP_FOWNER
	}
	if errors.Is(err, unix.ELOOP) {
		return -1, errChanged // replaced by a symlink
	}
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Ino != e.Inode || st.Dev != e.Device {
		unix.Close(fd)
		return -1, errChanged
	}
	return fd, nil
}

// reopen opens for reading, without blocking, the file that O_PATH descriptor pfd
// refers to: through its /proc/self/fd link, which leads to that very inode, whatever
// has been renamed since.
func reopen(pfd int) (int, error) {
	flags := unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY
	if procFD.dir < 0 {
		return -1, fmt.Errorf("open through /proc/self/fd: %w", procFD.err)
	}
	var buf [20]byte
	name := string(strconv.AppendInt(buf[:0], int64(pfd), 10))
	fd, err := openAt(procFD.dir, name, flags|unix.O_NOATIME)
	if errors.Is(err, unix.EPERM) {
		fd, err = openAt(procFD.dir, name, flags) // O_NOATIME needs ownership or CAP_FOWNER
	}
	return fd, err
}

// procFD is the directory /proc/self/fd, opened once.
var procFD = func() (p struct {
	dir int
	err error
}) {
	p.dir, p.err = unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if p.err != nil {
		p.dir = -1
	}
	return p
}()

// errNotCached says the content of a file is not in the page cache (readCached).
var errNotCached = errors.New("not in the page cache")

// readCached reads the beginning of fd into buf, as far as the page cache holds it,
// without waiting for the disk: when not even its first page is there it returns
// errNotCached, and the pages up to want bytes are on their way in (the kernel starts
// reading ahead on such a read; posix_fadvise(WILLNEED) asks for the rest). A
// filesystem that cannot read without waiting is read as usual, later.
func readCached(fd int, buf []byte, want int64) (int, error) {
	for {
		n, err := unix.Preadv2(fd, [][]byte{buf}, -1, unix.RWF_NOWAIT)
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			unix.Fadvise(fd, 0, want, unix.FADV_WILLNEED) // a hint: the read is made anyway
			return 0, errNotCached
		case unix.EOPNOTSUPP, unix.EINVAL, unix.ENOSYS:
			return 0, nil
		}
		return 0, err
	}
}

// hashFD reads fd and returns the BLAKE3 digest and the number of bytes read. It reads
// to the end of the file, or, when want is not negative, stops once it has read want
// bytes and the read came up short of the buffer (for a regular file, a short read is
// the end of the file). A file that fits the buffer is hashed in one call. When prefix
// is not negative, prefixSum is the digest of the first prefix bytes, taken from the
// same read (zero if the file is shorter). When side is not nil, every byte read is
// written to it as well (a copy kept for diffs, Walker.Side). The first have bytes of
// hb.buf were read from fd already (readCached). Each read is paid for to wk's
// ReadLimit.
func (hb *hashBuf) hashFD(fd, have int, want, prefix int64, side io.Writer, wk *walk) (sum, prefixSum [32]byte, total int64, err error) {
	n, err := wk.read(fd, hb.buf, have, want)
	if err != nil {
		return sum, prefixSum, 0, err
	}
	if want >= 0 && int64(n) > want {
		return sum, prefixSum, 0, errChanged // longer than listed: grown, or not the file listed
	}
	if side != nil {
		side.Write(hb.buf[:n])
	}
	if n < len(hb.buf) && prefix < 0 {
		return blake3.Sum256(hb.buf[:n]), prefixSum, int64(n), nil
	}
	hb.h.Reset()
	for n > 0 {
		chunk := hb.buf[:n]
		if prefix >= total && prefix <= total+int64(n) {
			// The recorded size falls in this chunk: the digest of what comes before it,
			// and the hasher goes on from there.
			hb.h.Write(chunk[:prefix-total])
			hb.h.Sum(prefixSum[:0])
			chunk = chunk[prefix-total:]
		}
		hb.h.Write(chunk)
		total += int64(n)
		if wk != nil && wk.stopped.Load() {
			return sum, prefixSum, 0, errors.New("walk stopped")
		}
		if want >= 0 && total >= want && n < len(hb.buf) {
			break
		}
		if want >= 0 && total > want {
			// Longer than listed: grown since, or not the file the listing saw (a
			// directory above it swapped for a symlink to /dev/zero, say). Never read on
			// without a bound.
			return sum, prefixSum, 0, errChanged
		}
		rest := int64(-1)
		if want >= 0 {
			rest = want - total
		}
		if n, err = wk.read(fd, hb.buf, 0, rest); err != nil {
			return sum, prefixSum, 0, err
		}
		if side != nil {
			side.Write(hb.buf[:n])
		}
	}
	if prefix == 0 && total == 0 {
		hb.h.Sum(prefixSum[:0]) // an empty file's recorded beginning is empty
	}
	hb.h.Sum(sum[:0])
	return sum, prefixSum, total, nil
}

// fsKind is what the walk needs to know of a filesystem.
type fsKind struct {
	// sizeless: sizes say nothing of the content (proc, sysfs and the like).
	sizeless bool
	// volatileDirInodes: a directory's inode number may change between two walks, or
	// within one, while the directory stays (see tree.FlagVolatileInode).
	volatileDirInodes bool
}

// filesystem says what the filesystem of the file open at fd is, remembering the
// answer per device; ok is false when fstatfs fails.
func (wk *walk) filesystem(fd int, dev uint64) (kind fsKind, ok bool) {
	wk.linksMu.Lock()
	kind, ok = wk.filesystems[dev]
	wk.linksMu.Unlock()
	if ok {
		return kind, true
	}
	var st unix.Statfs_t
	if unix.Fstatfs(fd, &st) != nil {
		return kind, false
	}
	switch st.Type {
	case unix.PROC_SUPER_MAGIC, unix.SYSFS_MAGIC, unix.DEBUGFS_MAGIC, unix.TRACEFS_MAGIC,
		unix.SECURITYFS_MAGIC, unix.CGROUP_SUPER_MAGIC, unix.CGROUP2_SUPER_MAGIC, unix.BPF_FS_MAGIC,
		unix.EFIVARFS_MAGIC, unix.PSTOREFS_MAGIC:
		kind.sizeless = true
	case unix.OVERLAYFS_SUPER_MAGIC:
		// With its layers on different filesystems and no xino mapping, overlayfs gives
		// a directory a number of its own each time its inode is read in. Its options do
		// not say otherwise for sure (xino=on falls back to such numbers for a real inode
		// number too large to map; layers on one filesystem show in no option), so every
		// overlayfs is taken for one.
		kind.volatileDirInodes = true
	}
	// Remember the answer for dev only if fd is on dev: a file swapped for one elsewhere
	// (through a symlink put in place of a directory) must not speak for the others.
	var fst unix.Stat_t
	if unix.Fstat(fd, &fst) != nil || uint64(fst.Dev) != dev {
		return kind, true
	}
	wk.linksMu.Lock()
	wk.filesystems[dev] = kind
	wk.linksMu.Unlock()
	return kind, true
}

// sizeless reports whether the file open at fd lives on a filesystem whose sizes say
// nothing of the content (proc, sysfs and the like).
func (wk *walk) sizeless(fd int, dev uint64) bool {
	kind, ok := wk.filesystem(fd, dev)
	return kind.sizeless || !ok // cannot tell: do not hold the size against the content
}

// read is readFull paced by the walk's ReadLimit (wk may be nil: no limit).
func (wk *walk) read(fd int, buf []byte, have int, want int64) (int, error) {
	n, err := readFull(fd, buf, have, want)
	if err != nil || wk == nil || wk.ReadLimit == nil {
		return n, err
	}
	if err := wk.ReadLimit.paid(wk.ctx, n); err != nil {
		return n, fmt.Errorf("walk stopped: %w", err)
	}
	return n, nil
}

// readFull reads until buf is full or the file ends, or, when want is not negative,
// until a read comes up short after want bytes: a regular file's read returns less
// than asked only at its end, so the read that would return 0 is saved. The first
// have bytes of buf were read already (by readCached, which may stop short of the
// end where the page cache does).
func readFull(fd int, buf []byte, have int, want int64) (int, error) {
	total := have
	if have > 0 && want >= 0 && int64(have) >= want && have < len(buf) {
		return have, nil
	}
	for total < len(buf) {
		n, err := unix.Read(fd, buf[total:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return total, err
		}
		if n == 0 {
			break
		}
		total += n
		if want >= 0 && int64(total) >= want && total < len(buf) {
			break
		}
	}
	return total, nil
}
