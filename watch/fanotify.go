package watch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"fim/diff"
	"fim/tree"
)

// fanMask is what fim asks fanotify for: every change to names, content and attributes,
// for directories too.
const fanMask = unix.FAN_CREATE | unix.FAN_DELETE | unix.FAN_MOVED_FROM | unix.FAN_MOVED_TO |
	unix.FAN_ATTRIB | unix.FAN_MODIFY | unix.FAN_CLOSE_WRITE | unix.FAN_DELETE_SELF |
	unix.FAN_MOVE_SELF | unix.FAN_ONDIR

// fanotify is the backend that watches whole filesystems through one notification group
// with file-handle reporting: each event names the parent directory by handle plus the
// entry's name, so paths are rebuilt without racing the file itself.
type fanotify struct {
	fd      int
	file    *os.File
	rename  bool // FAN_RENAME with old and new names in one event (Linux 5.17+)
	self    int32
	mu      sync.Mutex
	mounts  map[uint64][]markedMount // fsid → the mounts of roots on that filesystem
	dirs    *dirCache                // fsid+handle → real directory path
	procs   *procCache
	inRoots func(real string) bool
	roots   atomic.Pointer[[]string] // the real roots marked (see rootList)
	// reflush asks run to remove the ignore marks before it handles more events: a
	// reload put roots in force that directories ignored until then may lead to.
	reflush atomic.Bool
	rescans *rescanLimit
	// Directories outside the roots get an ignore mark, so that the kernel leaves
	// out what happens in them (see ignore).
	ignores    int    // ignore marks added since the last flush
	noIgnore   bool   // the kernel refused one: do not try again
	lastRename string // the new name of the last directory renamed from a known place
	outside    atomic.Int64
	running    bool // run has started: roots are fixed
	rootIDs    []rootAt
	logf       func(string, ...any)
	// The files of the roots with more than one link each have an inode mark in a
	// group of their own (see links): the ignore marks of this group would leave out
	// their changes made through a directory outside the roots.
	linkFile *os.File
	linkFD   int
	links    *links
}

// linkMask is what the inode mark of a file with more than one link asks for.
const linkMask = unix.FAN_MODIFY | unix.FAN_CLOSE_WRITE | unix.FAN_ATTRIB

// newFanotify makes the notification group, with a queue of queue events (see
// withQueue). Without CAP_SYS_ADMIN or on an old kernel
// it fails; marks are added with mark, which fails per filesystem.
func newFanotify(queue int) (*fanotify, error) {
	base := uint(unix.FAN_CLASS_NOTIF | unix.FAN_CLOEXEC | unix.FAN_NONBLOCK)
	var fd int
	var rename bool
	err := withQueue("fanotify", queue, func() (err error) {
		fd, err = unix.FanotifyInit(base|unix.FAN_REPORT_DFID_NAME_TARGET, unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
		rename = err == nil
		if err != nil {
			fd, err = unix.FanotifyInit(base|unix.FAN_REPORT_DFID_NAME, unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fanotify_init with FID reporting: %w", err)
	}
	// Events of an ignored directory are left out whatever other mark the group has on
	// the file they happen to, so the inode marks live in a group with no ignore mark.
	lfd, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK|unix.FAN_REPORT_FID,
		unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("fanotify_init with FID reporting: %w", err)
	}
	return &fanotify{fd: fd, file: os.NewFile(uintptr(fd), "fanotify"), rename: rename,
		self: int32(os.Getpid()), mounts: map[uint64][]markedMount{}, dirs: newDirCache(), procs: newProcCache(),
		linkFD: lfd, linkFile: os.NewFile(uintptr(lfd), "fanotify inode marks")}, nil
}

// watchInode puts an inode mark on the file open at fd (see links), and returns its
// filesystem id and handle, as the events of the mark name the file.
func (f *fanotify) watchInode(fd int) (string, error) {
	h, _, err := unix.NameToHandleAt(fd, "", unix.AT_EMPTY_PATH)
	if err != nil {
		return "", err
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return "", err
	}
	if err := unix.FanotifyMark(f.linkFD, unix.FAN_MARK_ADD|unix.FAN_MARK_INODE, linkMask, unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", fd)); err != nil {
		return "", err
	}
	return handleKey(&FID{Fsid: fsidOfStatfs(&st), HandleType: h.Type(), Handle: h.Bytes()}), nil
}

// unwatchInode removes the inode mark of the file token names, found by its handle;
// a file that is gone took its mark with it.
func (f *fanotify) unwatchInode(token string) {
	fsid := binary.NativeEndian.Uint64([]byte(token[0:8]))
	h := unix.NewFileHandle(int32(binary.NativeEndian.Uint32([]byte(token[8:12]))), []byte(token[12:]))
	f.mu.Lock()
	mounts := f.mounts[fsid]
	f.mu.Unlock()
	if len(mounts) == 0 {
		return
	}
	fd, err := unix.OpenByHandleAt(mounts[0].fd, h, unix.O_PATH|unix.O_CLOEXEC)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	unix.FanotifyMark(f.linkFD, unix.FAN_MARK_REMOVE|unix.FAN_MARK_INODE, linkMask, unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", fd))
}

// errSameFsid is why a filesystem is not marked when another one with the same id
// is: fanotify names a filesystem by its id, so their events could not be told apart.
var errSameFsid = errors.New("another filesystem has the same id (a cloned image?)")

// mark adds a filesystem mark on the filesystem holding real (a directory), and keeps
// a descriptor of real's mount to open the handles of its events through: one per
// mount, since a bind mount shows only a part of its filesystem, under its own path.
func (f *fanotify) mark(real string) error {
	mask := uint64(fanMask)
	if f.rename {
		mask |= unix.FAN_RENAME
	}
	fsid, err := fsidOf(real)
	if err != nil {
		return err
	}
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, real, unix.AT_STATX_SYNC_AS_STAT, unix.STATX_MNT_ID, &stx); err != nil {
		return fmt.Errorf("statx %s: %w", real, err)
	}
	dev := unix.Mkdev(stx.Dev_major, stx.Dev_minor)
	f.mu.Lock()
	defer f.mu.Unlock()
	mounts := f.mounts[fsid]
	if len(mounts) > 0 && mounts[0].dev != dev {
		return fmt.Errorf("fanotify filesystem mark on %s: %w", real, errSameFsid)
	}
	if err := openHandles(real); err != nil {
		return err
	}
	if err := unix.FanotifyMark(f.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, mask, unix.AT_FDCWD, real); err != nil {
		return fmt.Errorf("fanotify filesystem mark on %s: %w", real, err)
	}
	if roots := f.rootList(); !slices.Contains(roots, real) && !f.running {
		roots = append(slices.Clip(roots), real)
		f.roots.Store(&roots)
		f.rootIDs = append(f.rootIDs, rootAt{real, idOf(real)})
	}
	if slices.ContainsFunc(mounts, func(m markedMount) bool { return m.id == stx.Mnt_id }) {
		return nil
	}
	mfd, err := unix.Open(real, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", real, err)
	}
	f.mounts[fsid] = append(mounts, markedMount{fd: mfd, id: stx.Mnt_id, dev: dev, path: real})
	return nil
}

// openHandles checks that fim can open what fanotify's events name on real's
// filesystem: they name directories by file handle, and opening a handle takes
// CAP_DAC_READ_SEARCH (and a filesystem that can decode handles). Without it every
// event would be dropped unseen, so the filesystem is left to fsnotify instead.
func openHandles(real string) error {
	dfd, err := unix.Open(real, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", real, err)
	}
	defer unix.Close(dfd)
	h, _, err := unix.NameToHandleAt(dfd, "", unix.AT_EMPTY_PATH)
	if err == nil {
		var fd int
		if fd, err = unix.OpenByHandleAt(dfd, h, unix.O_PATH|unix.O_CLOEXEC); err == nil {
			unix.Close(fd)
			return nil
		}
	}
	return fmt.Errorf("fanotify names files by handle, and opening a handle on %s failed (it takes CAP_DAC_READ_SEARCH): %w", real, err)
}

// markedMount is a mount of a marked filesystem.
type markedMount struct {
	fd   int    // a directory on it, for open_by_handle_at
	id   uint64 // mount id
	dev  uint64 // device of the filesystem
	path string // the root it was opened at
}

// markAgain marks the filesystem that now shows the root real, after the mount table
// changed (see watchMounts), and lets go of the mount it was opened at before.
func (f *fanotify) markAgain(real string) error {
	f.mu.Lock()
	for fsid, ms := range f.mounts {
		ms = slices.DeleteFunc(ms, func(m markedMount) bool {
			if m.path == real {
				unix.Close(m.fd)
				return true
			}
			return false
		})
		if len(ms) == 0 {
			delete(f.mounts, fsid)
		} else {
			f.mounts[fsid] = ms
		}
	}
	f.dirs.clear()
	f.mu.Unlock()
	return f.mark(real)
}

func fsidOf(real string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(real, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", real, err)
	}
	return fsidOfStatfs(&st), nil
}

// fsidOfStatfs returns the filesystem id of st as fanotify's records carry it.
func fsidOfStatfs(st *unix.Statfs_t) uint64 {
	var b [8]byte
	binary.NativeEndian.PutUint32(b[0:], uint32(st.Fsid.Val[0]))
	binary.NativeEndian.PutUint32(b[4:], uint32(st.Fsid.Val[1]))
	return binary.NativeEndian.Uint64(b[:])
}

func handleKey(fid *FID) string {
	var b [12]byte
	binary.NativeEndian.PutUint64(b[0:], fid.Fsid)
	binary.NativeEndian.PutUint32(b[8:], uint32(fid.HandleType))
	return string(b[:]) + string(fid.Handle)
}

// dirPath resolves a directory handle to its real path: from the cache, else through
// open_by_handle_at and /proc/self/fd, which then fills the cache. A directory that
// neither lies in a root nor leads to one gets an ignore mark instead (see ignore).
func (f *fanotify) dirPath(fid *FID) (string, error) {
	key := handleKey(fid)
	f.mu.Lock()
	p, ok := f.dirs.get(key)
	mounts := f.mounts[fid.Fsid]
	f.mu.Unlock()
	if ok {
		return p, nil
	}
	if len(mounts) == 0 {
		return "", fmt.Errorf("event on an unmarked filesystem")
	}
	// Through each mount of a root on the filesystem, until one shows it in a root.
	fd := -1
	var err error
	for i, m := range mounts {
		var mfd int
		mfd, err = unix.OpenByHandleAt(m.fd, unix.NewFileHandle(fid.HandleType, fid.Handle), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
		if err != nil {
			return "", err // ESTALE: the directory is gone
		}
		var q string
		q, err = os.Readlink(fmt.Sprintf("/proc/self/fd/%d", mfd))
		if errors.Is(err, unix.ENAMETOOLONG) {
			q, err = longPath(mfd)
		}
		if err != nil {
			unix.Close(mfd)
			return "", err
		}
		if i == 0 || f.leadsToRoots(q) {
			if fd >= 0 {
				unix.Close(fd)
			}
			fd, p = mfd, q
		} else {
			unix.Close(mfd)
		}
		if f.leadsToRoots(q) {
			break
		}
	}
	defer unix.Close(fd)
	if strings.HasSuffix(p, " (deleted)") {
		return "", unix.ESTALE
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ignore(fd, p) {
		return p, nil // not worth a place in the cache: the kernel leaves it out now
	}
	f.dirs.put(key, p)
	return p, nil
}

// ignoreMax bounds the ignore marks: past it, they are flushed and made again as
// events come.
const ignoreMax = 2 * dirCacheMax

// outsideMask is what an ignore mark on a directory outside the roots leaves out:
// everything, for its entries and itself. rootParentMask is what it leaves out of a
// directory that leads to a root: changes to the content and attributes of its files,
// but none of its names, since a root can be made, removed or renamed there.
const (
	outsideMask    = fanMask | unix.FAN_RENAME | unix.FAN_EVENT_ON_CHILD
	rootParentMask = unix.FAN_MODIFY | unix.FAN_CLOSE_WRITE | unix.FAN_ATTRIB | unix.FAN_EVENT_ON_CHILD
)

// ignore puts an ignore mark on the directory fd (at real) when it is outside the
// roots, so that the kernel stops queueing what happens in it: a user churning files
// in /tmp, on the filesystem of a watched tree, then costs fim one event per directory
// rather than one per change, and cannot overflow its queue. The mark is evictable
// (it does not keep the directory in memory) and covers only the directory's own
// entries: the kernel has no subtree marks, so each directory below gets its own mark
// on its first event. It reports whether real is outside the roots altogether.
func (f *fanotify) ignore(fd int, real string) bool {
	if f.inRoots != nil && f.inRoots(real) {
		return false
	}
	mask, outside := uint64(outsideMask), true
	if f.leadsToRoots(real) {
		mask, outside = rootParentMask, false
	}
	if f.noIgnore {
		return outside
	}
	if f.ignores >= ignoreMax {
		f.flushIgnores()
	}
	err := unix.FanotifyMark(f.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_IGNORE|unix.FAN_MARK_IGNORED_SURV_MODIFY|unix.FAN_MARK_EVICTABLE,
		mask, fd, "")
	if err != nil {
		f.noIgnore = true // before Linux 6.0: events outside are left out here, one by one
		return outside
	}
	f.ignores++
	return outside
}

// flushIgnores removes every ignore mark: when there are too many, and when a
// directory that may hold marked ones moves into a root.
func (f *fanotify) flushIgnores() {
	if f.ignores == 0 {
		return
	}
	unix.FanotifyMark(f.fd, unix.FAN_MARK_FLUSH, 0, unix.AT_FDCWD, "") // inode marks: the ignore marks only
	f.ignores = 0
}

// forget drops cached directory paths at or below real (a directory removed or renamed:
// the handles stay valid, the paths do not).
func (f *fanotify) forget(real string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dirs.forget(real)
}

// cached returns how many directory paths the backend keeps.
func (f *fanotify) cached() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dirs.len()
}

// run reads events and sends hints with real paths. When ctx ends, it reads what the
// kernel still holds without waiting for more, then returns; it returns at once when
// abort is closed.
func (f *fanotify) run(ctx context.Context, abort <-chan struct{}, out chan<- Hint) error {
	send := hintSender(out, abort)
	f.rescans = newRescanLimit(send)
	f.mu.Lock()
	f.running = true
	f.mu.Unlock()
	mctx, stopMounts := context.WithCancel(ctx)
	defer stopMounts()
	go watchMounts(mctx, f.rootIDs, func(real string) {
		if err := f.markAgain(real); err != nil && f.logf != nil {
			f.logf("%v; the periodic rescan covers %s", err, real)
		}
		send(Hint{Path: real, Dir: true, Subtree: true, Source: SourceFanotify})
	})
	linksDone := make(chan error, 1)
	go func() { linksDone <- f.runLinks(ctx, send) }()
	err := readKernel(ctx, f.file, f.fd, "fanotify", func(buf []byte) bool {
		if f.reflush.Swap(false) {
			f.ignores = max(f.ignores, 1)
			f.flushIgnores()
		}
		events, perr := ParseEvents(buf)
		for i := range events {
			if h, ok := f.hint(&events[i]); ok {
				if h.Overflow {
					if !f.rescans.overflow(h) {
						return false
					}
				} else if !send(h) {
					return false
				}
			}
		}
		if perr != nil {
			// The record stream is out of step: nothing after this point can be trusted.
			return f.rescans.overflow(Hint{Overflow: true, Source: SourceFanotify, Err: perr})
		}
		return true
	})
	if lerr := <-linksDone; err == nil {
		err = lerr
	}
	if err == nil {
		f.rescans.flush()
	}
	return err
}

// runLinks reads the events of the inode marks on files with more than one link, and
// sends a hint for each name of the file in the roots, with the process that made the
// change: it may have been made through a name outside them.
func (f *fanotify) runLinks(ctx context.Context, send func(Hint) bool) error {
	return readKernel(ctx, f.linkFile, f.linkFD, "fanotify", func(buf []byte) bool {
		events, perr := ParseEvents(buf)
		for i := range events {
			ev := &events[i]
			if ev.FD >= 0 {
				unix.Close(int(ev.FD))
			}
			if ev.Mask&unix.FAN_Q_OVERFLOW != 0 {
				if !f.rescans.overflow(Hint{Overflow: true, Source: SourceFanotify}) {
					return false
				}
				continue
			}
			if ev.PID == f.self {
				continue
			}
			for j := range ev.FIDs {
				if ev.FIDs[j].Kind != infoFID {
					continue
				}
				var p *diff.Process
				for _, name := range f.links.names(handleKey(&ev.FIDs[j])) {
					if p == nil {
						p = f.procs.get(int(ev.PID))
					}
					if !send(Hint{Path: name, Source: SourceFanotify, Process: p}) {
						return false
					}
				}
			}
		}
		if perr != nil {
			return f.rescans.overflow(Hint{Overflow: true, Source: SourceFanotify, Err: perr})
		}
		return true
	})
}

// hint turns one event into a hint.
func (f *fanotify) hint(ev *RawEvent) (Hint, bool) {
	if ev.FD >= 0 {
		unix.Close(int(ev.FD)) // not asked for with FID reporting, but never leak one
	}
	if ev.Mask&unix.FAN_Q_OVERFLOW != 0 {
		f.mu.Lock()
		f.flushIgnores() // a directory may have moved into a root unseen
		f.mu.Unlock()
		return Hint{Overflow: true, Source: SourceFanotify}, true
	}
	if ev.PID == f.self {
		return Hint{}, false
	}
	h := Hint{Source: SourceFanotify, Dir: ev.Mask&unix.FAN_ONDIR != 0}
	var self bool
	for i := range ev.FIDs {
		fid := &ev.FIDs[i]
		if fid.Kind == infoFID || fid.Kind == infoDFID {
			continue // the object itself; the name record says more
		}
		dir, err := f.dirPath(fid)
		if err != nil {
			continue
		}
		p := dir
		if fid.Name != "" && fid.Name != "." {
			p = joinReal(dir, fid.Name)
		} else {
			self = true
		}
		switch fid.Kind {
		case infoOldDFIDName:
			h.OldPath = p
		default:
			h.Path = p
		}
	}
	if h.Path == "" && h.OldPath != "" {
		h.Path, h.OldPath = h.OldPath, ""
	}
	if h.Path == "" {
		return Hint{}, false
	}
	if h.Dir && ev.Mask&(unix.FAN_CREATE|unix.FAN_MOVED_TO|unix.FAN_RENAME|unix.FAN_DELETE|unix.FAN_MOVED_FROM|unix.FAN_DELETE_SELF|unix.FAN_MOVE_SELF) != 0 && !self {
		h.Subtree = true
		if ev.Mask&(unix.FAN_DELETE|unix.FAN_MOVED_FROM|unix.FAN_RENAME) != 0 {
			f.forget(h.Path)
			if h.OldPath != "" {
				f.forget(h.OldPath)
			}
		}
	}
	if h.Dir && ev.Mask&(unix.FAN_RENAME|unix.FAN_MOVED_TO) != 0 {
		f.movedDir(ev.Mask, h.Path, h.OldPath)
	}
	if f.inRoots != nil && !f.inRoots(h.Path) && (h.OldPath == "" || !f.inRoots(h.OldPath)) {
		f.outside.Add(1)
		return Hint{}, false
	}
	h.Process = f.procs.get(int(ev.PID))
	return h, true
}

// movedDir keeps the ignore marks true when a directory moves to newPath: one that
// comes from outside the roots (or from where fim does not know: its old directory's
// events may be ignored, and then only its arrival is reported) may hold ignore marks,
// on itself and below, that would hide changes in a root. They are all flushed.
func (f *fanotify) movedDir(mask uint64, newPath, oldPath string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ignores == 0 || !f.leadsToRoots(newPath) {
		f.lastRename = ""
		return
	}
	if mask&unix.FAN_RENAME != 0 {
		// The rename comes first, with both names; the move to the new directory
		// follows it.
		if oldPath == "" || !f.leadsToRoots(oldPath) {
			f.flushIgnores()
		}
		f.lastRename = newPath
		return
	}
	if f.lastRename != newPath {
		f.flushIgnores()
	}
	f.lastRename = ""
}

// leadsToRoots reports whether real lies in a root or leads to one.
func (f *fanotify) leadsToRoots(real string) bool {
	if f.inRoots != nil && f.inRoots(real) {
		return true
	}
	for _, r := range f.rootList() {
		if tree.IsWithin(r, real) {
			return true
		}
	}
	return false
}

// longPath finds the path of the directory fd when it is too long for the kernel to
// name (PATH_MAX): it climbs to the nearest ancestor whose path the kernel can name,
// and names each directory on the way by its inode in its parent.
func longPath(fd int) (string, error) {
	var names []string
	cur := fd
	defer func() {
		if cur != fd {
			unix.Close(cur)
		}
	}()
	for {
		var st unix.Stat_t
		if err := unix.Fstat(cur, &st); err != nil {
			return "", err
		}
		up, err := unix.Openat(cur, "..", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return "", err
		}
		if cur != fd {
			unix.Close(cur)
		}
		cur = up
		name, err := nameOf(up, st.Dev, st.Ino)
		if err != nil {
			return "", err
		}
		names = append(names, name)
		p, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", up))
		if err == nil {
			slices.Reverse(names)
			return joinReal(p, strings.Join(names, "/")), nil
		}
		if !errors.Is(err, unix.ENAMETOOLONG) {
			return "", err
		}
	}
}

// nameOf returns the name of the entry of directory dirfd that is inode ino of dev.
func nameOf(dirfd int, dev, ino uint64) (string, error) {
	dup, err := unix.Dup(dirfd)
	if err != nil {
		return "", err
	}
	dir := os.NewFile(uintptr(dup), "..")
	defer dir.Close()
	for {
		names, err := dir.Readdirnames(256)
		for _, n := range names {
			var st unix.Stat_t
			if unix.Fstatat(dirfd, n, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Ino == ino && st.Dev == dev {
				return n, nil
			}
		}
		if err != nil {
			return "", unix.ESTALE // moved or removed meanwhile
		}
	}
}

func (f *fanotify) close() {
	f.file.Close()
	f.linkFile.Close()
	if f.procs != nil {
		f.procs.anc.track.Close()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ms := range f.mounts {
		for _, m := range ms {
			unix.Close(m.fd)
		}
	}
	f.mounts = map[uint64][]markedMount{}
}

func joinReal(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// rootList returns the real roots marked. It is safe to call from any goroutine.
func (f *fanotify) rootList() []string {
	if r := f.roots.Load(); r != nil {
		return *r
	}
	return nil
}

// marked reports whether a filesystem is marked.
func (f *fanotify) marked() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.mounts) > 0
}

// covers reports whether the directory real is there, on a marked filesystem.
func (f *fanotify) covers(real string) bool {
	fsid, err := fsidOf(real)
	if err != nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.mounts[fsid]) > 0
}

// addRoot counts real among the roots marked, once run has started (a reload).
func (f *fanotify) addRoot(real string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if roots := f.rootList(); !slices.Contains(roots, real) {
		roots = append(slices.Clip(roots), real)
		f.roots.Store(&roots)
	}
}

// keepRoots makes roots the real roots marked, after a reload dropped others: the
// filesystem mark of a filesystem none of roots lies on is removed, with the mounts
// kept to open its handles.
func (f *fanotify) keepRoots(roots []string) {
	on := map[uint64]bool{}
	for _, r := range roots {
		if fsid, err := fsidOf(r); err == nil {
			on[fsid] = true
		}
	}
	mask := uint64(fanMask)
	if f.rename {
		mask |= unix.FAN_RENAME
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roots.Store(&roots)
	for fsid, ms := range f.mounts {
		if on[fsid] {
			continue
		}
		unix.FanotifyMark(f.fd, unix.FAN_MARK_REMOVE|unix.FAN_MARK_FILESYSTEM, mask, ms[0].fd, "")
		for _, m := range ms {
			unix.Close(m.fd)
		}
		delete(f.mounts, fsid)
	}
}
