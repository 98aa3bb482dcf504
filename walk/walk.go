package walk

import (
	"context"
	"errors"
	"fim/tree"
	"fmt"
	"io"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// ErrTooManyEntries is returned when a walk exceeds Walker.MaxEntries.
var ErrTooManyEntries = errors.New("too many entries")

// ErrSymlinkedRoot is returned when a directory above a configured path is a symlink:
// a walk records no path through a symlink, so it would record nothing there.
var ErrSymlinkedRoot = errors.New("a directory above it is a symlink")

// Walker walks configured roots in parallel and yields their entries one at a time, in
// key order (see tree.Seq): a directory, then its descendants, then its next sibling.
type Walker struct {
	Roots []Root
	// Prefix is the real directory that recorded path "/" stands for ("" means "/"): an
	// image unpacked at ./rootfs is walked with Prefix "./rootfs" and recorded as "/...".
	Prefix string
	// Workers is the number of goroutines listing directories and hashing files
	// (default: four per CPU, one per CPU for single paths; see ioWorkers).
	Workers int
	// MaxEntries stops the walk with ErrTooManyEntries after that many entries (0: no limit).
	MaxEntries int
	// Warn receives problems that do not stop the walk (an unreadable file or directory,
	// a symlink loop), in key order. It may be nil.
	Warn func(path string, err error)
	// Own, if set, holds the files fim itself has open (its baseline, the lock, a
	// baseline being written): the only entries left out whatever their names.
	Own *OwnFiles
	// NoHash records regular files without reading them (to enumerate a tree cheaply).
	NoHash bool
	// Prior, if set, makes a lookup of the recorded entry of a path, for one goroutine:
	// each goroutine of the walk makes its own. A regular file below a Growing root that
	// is the recorded inode is checked against its record as it is hashed (see
	// Options.Growing).
	Prior func() func(path string) *tree.Entry
	// Fast, with Prior: an entry whose type, device, inode and ctime match its prior
	// entry takes the prior extended attributes without listing them, and a file whose
	// size and mtime match too takes the prior hash without being read: `fim check
	// --fast`.
	Fast bool
	// Side, if set, takes a second digest of regular files' content in the read that
	// hashes them (see SideDigest).
	Side SideDigest
	// ReadLimit, if set, paces the reading of file content (see ReadLimit); walkers
	// may share one.
	ReadLimit *ReadLimit
	// Listing, if set, is called with the real path and an open descriptor of each
	// directory the walk lists, once it is opened and checked and before its names are
	// read, from any goroutine of the walk: fim watch watches the directory there, so
	// that what is made in it after the listing has an event and what was made before
	// is listed. fd is the walk's, and stays open only during the call.
	Listing func(real string, fd int)
}

// SideDigest is a second digest of regular files' content, taken in the walk's one
// read of each file (fim: a package file's digest in its package's algorithm), so that
// no file is read twice. Its methods are called from any goroutine of the walk. A file
// with several names (e.Nlink > 1) is read under one of them only, unless each name
// keeps a copy of its content (Copies): For is asked with that name's entry, and the
// writer it returns must serve every name, which the walk hands to Done with each
// name's entry found of the same inode, size, mtime and ctime as the read.
type SideDigest interface {
	// NeedsPrior reports whether For needs regular file e's recorded entry to decide:
	// the walk looks the entry up (when it has a Prior) only then, or when it needs it
	// itself (Fast, a growing root).
	NeedsPrior(e *tree.Entry) bool
	// For returns what to feed the content of regular file e with, or nil for nothing;
	// prior is e's recorded entry when the walk has a Prior, one is recorded, and
	// NeedsPrior(e) said so or the walk looked it up for itself. It is asked once for
	// every read of the file.
	For(e, prior *tree.Entry) io.Writer
	// Done is handed w once the read fed all of e's content to it and proved to be of
	// e, unchanged; it is called before e is delivered, and may set e's flags. For a
	// file with several names it is called for each, one after another.
	Done(e *tree.Entry, w io.Writer)
}

// node is a directory to list: a configured root, a directory below one, or a transit
// directory that is not recorded but leads to a root below it.
type node struct {
	real     string // path to open
	path     string // recorded path
	key      []byte
	root     *Root
	depth    int    // levels below root
	rootDev  uint64 // device of the root, for CrossMounts
	dev, ino uint64
	parent   *node // for symlink-loop detection
	transit  bool
	followed bool // reached through a symlink: open without O_NOFOLLOW
	sealed   bool // no one but root and fim's own user can change its entries (see sealed)
	volatile bool // its inode number may change while it stays (tree.FlagVolatileInode)

	listed  chan struct{} // closed when entries and aux are filled
	err     error
	entries []tree.Entry
	aux     []aux
}

// aux is what the walk knows of an entry beyond the Entry itself.
type aux struct {
	real     string
	sub      *node         // directory to descend into
	done     chan struct{} // closed when the entry's hash job is done; nil without one
	key      []byte        // key of the hash job
	slot     *linkSlot     // shared hash of a multiply-linked inode
	err      error         // warning to report (unreadable, loop)
	skip     bool          // vanished, or a transit directory: not recorded
	followed bool          // stat and open through a symlink
	sealed   bool          // in a sealed directory (see sealed)
	// xattrsAtHash: the hash job reads the extended attributes from the open file.
	xattrsAtHash bool
	grow         *tree.Entry // the record a growing file's beginning is checked against
	copyMax      int64       // > 0: keep a copy of the content, if it is at most this long
	prior        *tree.Entry // the record of a file, for Walker.Side
	copies       *Copies     // the rule's, when copyMax > 0
	side         io.Writer   // the side digest the hash job fed, once Done was given it
	// cachedOnly: the listing hashes the file only if the page cache holds its
	// beginning, and otherwise hands it to a worker (see planHash).
	cachedOnly bool
}

// linkSlot makes the hash of an inode with several names computed once, and its side
// digest (Walker.Side) with it.
type linkSlot struct {
	done  chan struct{}
	key   []byte
	hash  [32]byte
	flags tree.Flags
	side  io.Writer   // the side digest the read fed and Done was given, or nil
	read  *tree.Entry // the entry the read proved the file to be, with side
}

type devIno struct{ dev, ino uint64 }

type walk struct {
	*Walker
	ctx     context.Context
	flat    bool // WalkPath without recursion: never descend
	s       *sched
	roots   map[string]*Root
	stopped atomic.Bool
	linksMu sync.Mutex // guards links and filesystems
	links   map[devIno]*linkSlot
	// filesystems: device → what its filesystem is (see filesystem)
	filesystems map[uint64]fsKind
	// held, in WalkPaths only, keeps the parent directory opened last and the devices
	// of the roots, for the paths that follow; hb is the caller's hash buffer.
	held *heldParent
	hb   *hashBuf
}

// heldParent is the parent directory WalkPaths opened last, and how it was asked for.
type heldParent struct {
	r        *Root
	dir      string
	depth    int
	o        openedDir
	err      error
	rootDevs map[*Root]uint64
}

// Walk walks every root and yields each entry, in key order, on the goroutine that
// ranges over it; the consumer may keep the Entry. Breaking out of the loop stops the
// walk; an error of the walk (ctx done, ErrTooManyEntries, a root below a symlink) is
// yielded last.
func (w *Walker) Walk(ctx context.Context) tree.Seq {
	return entries(func(fn func(*tree.Entry) error) error {
		if err := w.checkRoots(); err != nil {
			return err
		}
		return w.run(ctx, false, func(wk *walk, count *int) error {
			top := &node{path: "/", real: wk.real("/"), transit: true}
			if r := wk.roots["/"]; r != nil {
				// The whole filesystem: "/" itself is a root and is recorded like any other.
				_, err := wk.emitPath("/", r, 0, count, fn)
				return err
			}
			top.key = tree.Key("/")
			top.listed = make(chan struct{})
			wk.s.push(&job{key: top.key, n: top, i: -1})
			return wk.emit(top, count, fn)
		})
	})
}

// errStopped ends a walk whose consumer stopped ranging over it.
var errStopped = errors.New("walk stopped by its consumer")

// entries is the Seq of walk, which hands its entries to fn and stops at fn's error:
// walk's own error is yielded last, unless the consumer stopped it.
func entries(walk func(fn func(*tree.Entry) error) error) tree.Seq {
	return func(yield func(*tree.Entry, error) bool) {
		stopped := false
		err := walk(func(e *tree.Entry) error {
			if !yield(e, nil) {
				stopped = true
				return errStopped
			}
			return nil
		})
		if err != nil && !stopped {
			yield(nil, err)
		}
	}
}

// checkRoots refuses a root below a symlink, which would record nothing (/lib/modules
// where /lib is a link to usr/lib, as on every merged-/usr system), and warns of a root
// that does not exist, rather than let either pass for an empty tree.
func (w *Walker) checkRoots() error {
	for _, r := range w.Roots {
		var st unix.Stat_t
		for q := path.Dir(r.Path); q != "/"; q = path.Dir(q) {
			if unix.Lstat(w.real(q), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK {
				continue
			}
			to, _ := readlinkat(unix.AT_FDCWD, w.real(q))
			return fmt.Errorf("%s: %w (%s -> %s): name the path it leads to", r.Path, ErrSymlinkedRoot, q, to)
		}
		if err := unix.Lstat(w.real(r.Path), &st); errors.Is(err, unix.ENOENT) && w.Warn != nil {
			w.Warn(r.Path, errors.New("no such file or directory: nothing recorded there"))
		}
	}
	return nil
}

// WalkPath yields the entry at the recorded path p, if the roots select it (see
// Selects) and it exists, and, when recursive and p is a directory the rules enter,
// everything below it: the same entries, in the same order, as a full walk would give
// for that subtree. It is how a watcher looks at one path again.
func (w *Walker) WalkPath(ctx context.Context, p string, recursive bool) tree.Seq {
	return entries(func(fn func(*tree.Entry) error) error {
		r, depth, ok := w.selects(p)
		if !ok {
			return nil
		}
		return w.run(ctx, !recursive, func(wk *walk, count *int) error {
			_, err := wk.emitPath(p, r, depth, count, fn)
			return err
		})
	})
}

// WalkPaths yields the entry at each recorded path of ps, as WalkPath(ctx, p, false)
// would, in the order of ps: one pool of workers serves them all, a parent
// directory is opened once for the paths of it that follow one another, and small
// files are hashed by the calling goroutine. It is how a watcher looks at a batch of
// paths again; a directory replaced between two of its paths is seen by the next
// batch, as its event comes.
func (w *Walker) WalkPaths(ctx context.Context, ps []string) tree.Seq {
	return entries(func(fn func(*tree.Entry) error) error {
		return w.run(ctx, true, func(wk *walk, count *int) error {
			wk.held = &heldParent{o: openedDir{fd: -1}, rootDevs: map[*Root]uint64{}}
			defer wk.held.close()
			wk.hb = hashBufs.Get().(*hashBuf)
			defer hashBufs.Put(wk.hb)
			for _, p := range ps {
				if err := ctx.Err(); err != nil {
					return err
				}
				r, depth, ok := w.selects(p)
				if !ok {
					continue
				}
				if _, err := wk.emitPath(p, r, depth, count, fn); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

func (h *heldParent) close() {
	if h.o.fd >= 0 {
		unix.Close(h.o.fd)
	}
	h.o.fd, h.r = -1, nil
}

// parent opens the parent directory of an entry, as openParent does, or returns the
// one WalkPaths holds; release is called when the caller is done with it.
func (wk *walk) parent(r *Root, dir string, depth int) (o openedDir, release func(), err error) {
	h := wk.held
	if h == nil {
		o, err = wk.openParent(r, dir, depth)
		return o, func() { unix.Close(o.fd) }, err
	}
	if h.r != r || h.dir != dir || h.depth != depth {
		h.close()
		h.o, h.err = wk.openParent(r, dir, depth)
		h.r, h.dir, h.depth = r, dir, depth
	}
	return h.o, func() {}, h.err
}

// Absence says why a walk records nothing at a path its roots select (Look).
type Absence uint8

const (
	Recorded        Absence = iota // not absent: the walk records it
	Missing                        // nothing is there
	BelowSymlink                   // a directory on the way from the root is a symlink the root does not follow
	OtherFilesystem                // it lies on another filesystem than its root's, below a mount point
	OwnFile                        // one of fim's own files (Walker.Own)
)

// Stop says why a walk records a directory but does not enter it.
type Stop uint8

const (
	Enters     Stop = iota // not stopped: the walk enters it
	MountPoint             // another filesystem is mounted there, and the root does not cross mounts
	DepthLimit             // it lies max_depth levels below its root
)

// stop says what keeps a walk out of directory e, depth levels below root r, whose
// device is rootDev: the limits of r alone, before a root configured below e makes the
// walk enter it anyway.
func stop(r *Root, depth int, e *tree.Entry, rootDev uint64) Stop {
	switch {
	case !r.CrossMounts && e.Device != rootDev:
		return MountPoint
	case r.MaxDepth > 0 && depth >= r.MaxDepth:
		return DepthLimit
	}
	return Enters
}

// Looked is what a walk makes of one recorded path (Look).
type Looked struct {
	Entry *tree.Entry // what it records; nil unless Why is Recorded
	Why   Absence
	At    string // the path that decides: the symlink or mount point on the way, or the path
	Stop  Stop   // for a directory it records: whether it enters it, or why not
}

// Watched reports whether a walk records the path (Recorded), or would when it appears
// (Missing): nothing on the way keeps the walk out of it.
func (l *Looked) Watched() bool { return l.Why == Recorded || l.Why == Missing }

// Look is what a walk makes of the recorded path p: the entry it records, or why it
// records none, with the path that decides (the symlink or the mount point on the way,
// or p), and whether it enters a directory. It decides as WalkPath does, because it is
// WalkPath's own decision; a path the roots do not select is Missing (see Explain for
// why).
func (w *Walker) Look(ctx context.Context, p string) (Looked, error) {
	l := Looked{Why: Missing, At: p}
	r, depth, ok := w.selects(p)
	if !ok {
		return l, nil
	}
	err := w.run(ctx, true, func(wk *walk, count *int) error {
		var err error
		l.Why, err = wk.emitPath(p, r, depth, count, func(x *tree.Entry) error { l.Entry = x; return nil })
		if err != nil || l.Entry == nil || l.Entry.Type != tree.TypeDir {
			return err
		}
		rootDev := l.Entry.Device
		if depth > 0 {
			if rootDev, err = wk.rootDevice(r); err != nil {
				return nil // the root went meanwhile: nothing is entered
			}
		}
		if l.Stop = stop(r, depth, l.Entry, rootDev); wk.leadsToRoot(p) {
			l.Stop = Enters // toward a root configured below it
		}
		return nil
	})
	if l.Why == BelowSymlink || l.Why == OtherFilesystem {
		l.At = w.decidingDir(r, p, l.Why)
	}
	return l, err
}

// decidingDir returns the directory between root r and p that is a symlink, or the
// first that lies on another filesystem than r, for Look.
func (w *Walker) decidingDir(r *Root, p string, why Absence) string {
	var rootSt unix.Stat_t
	if unix.Stat(w.real(r.Path), &rootSt) != nil {
		return p
	}
	var st unix.Stat_t
	if why == BelowSymlink && unix.Lstat(w.real(r.Path), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return r.Path
	}
	q := r.Path
	for name := range strings.SplitSeq(strings.TrimPrefix(p[len(r.Path):], "/"), "/") {
		q = tree.Join(q, name)
		var st unix.Stat_t
		if unix.Lstat(w.real(q), &st) != nil {
			break
		}
		if why == BelowSymlink && st.Mode&unix.S_IFMT == unix.S_IFLNK || why == OtherFilesystem && st.Dev != rootSt.Dev {
			return q
		}
	}
	return p
}

// ioWorkers is the default number of workers of a walk that descends: more than there
// are CPUs (GOMAXPROCS), so that while the pages of directories, inodes and files come
// from disk several reads are in flight. A worker waiting for the disk holds no CPU; on
// a warm cache the extra workers only wait for jobs, and listings hash small files
// themselves as long as no more than those extra workers wait (see sched.starved). A
// walk of single paths (flat) has one worker per CPU.
func ioWorkers(flat bool) int {
	if flat {
		return runtime.GOMAXPROCS(0)
	}
	return 4 * runtime.GOMAXPROCS(0)
}

// maxUnconsumed bounds the entries a walk lists ahead of its consumer (see sched):
// with more workers than CPUs the workers, not the consumer, get most of the CPU, and
// the listings (with the records a check looks up for them) run up to this bound.
// 16,384 keeps a check --fast of a million files near 57 MiB of peak RSS (65,536:
// 130 MiB).
const maxUnconsumed = 1 << 14

// run starts the worker pool, calls body, and stops the pool.
func (w *Walker) run(ctx context.Context, flat bool, body func(wk *walk, count *int) error) error {
	workers := w.Workers
	if workers <= 0 {
		workers = ioWorkers(flat)
	}
	wk := &walk{Walker: w, ctx: ctx, flat: flat, s: newSched(maxUnconsumed, workers-runtime.GOMAXPROCS(0)), roots: map[string]*Root{}, links: map[devIno]*linkSlot{}, filesystems: map[uint64]fsKind{}}
	for i := range w.Roots {
		wk.roots[w.Roots[i].Path] = &w.Roots[i]
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wk.work()
		}()
	}
	defer func() {
		wk.stopped.Store(true)
		wk.s.close()
		wg.Wait()
	}()
	count := 0
	return body(wk, &count)
}

// emitPath records the entry at recorded path p, governed by root r at depth below it,
// outside any listing of its parent. The parent is opened first, and p stat'ed and
// opened relative to it: below a root, the way there from the root must hold no
// symlink (unless r follows them) and, unless r crosses mounts, no other filesystem,
// as a full walk would find it.
func (wk *walk) emitPath(p string, r *Root, depth int, count *int, fn func(*tree.Entry) error) (Absence, error) {
	real := wk.real(p)
	rootDev, err := wk.rootDevice(r)
	if err != nil {
		return Missing, nil // the root itself is gone: nothing below it exists either
	}
	dir, name := path.Dir(real), path.Base(real)
	parent, release, err := wk.parent(r, dir, depth)
	switch {
	case errors.Is(err, unix.ELOOP):
		return BelowSymlink, nil // no walk goes through a symlink it does not follow
	case errors.Is(err, unix.EXDEV):
		return OtherFilesystem, nil
	case err != nil:
		return Missing, nil // the way to p is gone: nothing to record there
	}
	defer release()
	if depth > 0 && !r.CrossMounts && parent.dev != rootDev {
		return OtherFilesystem, nil // the walk records a mount point but does not enter it
	}
	e, a, ok := wk.stat(parent.fd, name, p, r.FollowSymlinks && (depth > 0 || p == "/"))
	if !ok {
		return Missing, nil
	}
	if !a.followed && wk.Own.Has(&e) {
		return OwnFile, nil
	}
	if depth == 0 {
		rootDev = e.Device
	}
	a.real = real
	return Recorded, wk.emitOne(&e, &a, &node{real: dir, dev: parent.dev, ino: parent.ino, followed: parent.followed, sealed: parent.sealed},
		inline{hb: wk.hb, dirfd: parent.fd, name: name}, r, depth, rootDev, count, fn)
}

// openedDir is an O_PATH descriptor of a directory, and what it is.
type openedDir struct {
	fd       int
	dev, ino uint64
	followed bool // reached through symlinks
	sealed   bool
}

// openParent opens dir, the real parent of an entry depth levels below root r. The
// parent of a root (depth 0) is opened as configured. Below a root, it is opened from
// the root without following a symlink (unless r follows them) and without leaving
// the root's filesystem (unless r crosses mounts).
func (wk *walk) openParent(r *Root, dir string, depth int) (openedDir, error) {
	o := openedDir{fd: -1}
	const flags = unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC
	var err error
	if depth == 0 || r.FollowSymlinks {
		o.fd, err = openRetry(dir, flags)
		o.followed = true
	} else {
		rootReal := wk.real(r.Path)
		rel := strings.TrimPrefix(strings.TrimPrefix(dir, rootReal), "/")
		var rootfd int
		if rootfd, err = openRetry(rootReal, flags|unix.O_NOFOLLOW); err != nil {
			return o, err
		}
		resolve := uint64(unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS)
		if !r.CrossMounts {
			resolve |= unix.RESOLVE_NO_XDEV
		}
		o.fd, err = openBeneath(rootfd, rel, flags, resolve)
		unix.Close(rootfd)
	}
	if err != nil {
		return o, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(o.fd, &st); err != nil {
		unix.Close(o.fd)
		return o, err
	}
	o.dev, o.ino, o.sealed = st.Dev, st.Ino, sealed(&st)
	return o, nil
}

// euid is fim's effective user id.
var euid = uint32(unix.Geteuid())

// sealed reports whether only root and fim's own user can add, remove or rename
// entries in the directory of st: owned by one of them, and writable neither by its
// group nor by others (a POSIX ACL that lets another user write shows in the group
// bits, which then hold the ACL's mask). Where no one else can put a FIFO or a device
// in the place of a listed file, openListed can open files directly.
func sealed(st *unix.Stat_t) bool {
	return st.Mode&0o022 == 0 && (st.Uid == 0 || st.Uid == euid)
}

// rootDevice returns the device of root r, for its cross-mount limit: once per
// WalkPaths.
func (wk *walk) rootDevice(r *Root) (uint64, error) {
	if wk.held != nil {
		if dev, ok := wk.held.rootDevs[r]; ok {
			return dev, nil
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(wk.real(r.Path), &st); err != nil {
		return 0, err
	}
	if wk.held != nil {
		wk.held.rootDevs[r] = st.Dev
	}
	return st.Dev, nil
}

// real returns the path on this host of recorded path path (under the Prefix).
func (w *Walker) real(path string) string { return RealPath(w.Prefix, path) }

// RealPath returns the path on this host of the recorded path p of a tree read under
// prefix ("" or "/": the host's own tree): the one mapping of recorded paths to real
// ones that every package uses.
func RealPath(prefix, p string) string {
	if prefix == "" || prefix == "/" {
		return p
	}
	if p == "/" {
		return prefix
	}
	return prefix + p
}

// RecordedPath is the inverse of RealPath: the recorded path of the real path real, if
// it lies under prefix.
func RecordedPath(prefix, real string) (string, bool) {
	if prefix == "" || prefix == "/" {
		return real, true
	}
	if !tree.IsWithin(real, prefix) {
		return "", false
	}
	return tree.CleanPath(real[len(prefix):]), true
}

// emit hands n's entries and, depth first, those below them to fn.
func (wk *walk) emit(n *node, count *int, fn func(*tree.Entry) error) error {
	wk.s.wait(n.listed, n.key)
	defer func() { wk.s.consumed(len(n.entries)) }()
	for i := range n.entries {
		a := &n.aux[i]
		e := &n.entries[i]
		if a.done != nil {
			wk.s.wait(a.done, a.key)
		}
		if a.slot != nil {
			wk.s.wait(a.slot.done, a.slot.key)
			e.Hash, e.Flags = a.slot.hash, e.Flags&^(tree.FlagHashed|tree.FlagUnstable|tree.FlagUnreadable)|a.slot.flags
			// Another name of the file the job read: its side digest is this name's too.
			if r := a.slot.read; a.done == nil && r != nil && r.SameInode(e) && r.Size == e.Size && r.Mtime == e.Mtime && r.Ctime == e.Ctime {
				wk.Side.Done(e, a.slot.side)
			}
		}
		if a.skip && a.sub == nil {
			continue
		}
		if err := wk.ctx.Err(); err != nil {
			return err
		}
		if a.sub != nil {
			wk.s.wait(a.sub.listed, a.sub.key)
			if errors.Is(a.sub.err, unix.ENOENT) {
				continue // removed since it was listed, like a file removed before it is hashed
			}
			if a.sub.err != nil {
				e.Flags |= tree.FlagUnreadable
				if a.err == nil {
					a.err = a.sub.err
				}
			}
		}
		if !a.skip {
			if a.err != nil && wk.Warn != nil {
				wk.Warn(e.Path, a.err)
			}
			*count++
			if wk.MaxEntries > 0 && *count > wk.MaxEntries {
				return fmt.Errorf("%w: more than %d (raise --max-entries or narrow the paths)", ErrTooManyEntries, wk.MaxEntries)
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		if a.sub != nil && a.sub.err == nil {
			if err := wk.emit(a.sub, count, fn); err != nil {
				return err
			}
		}
		// Done with this subtree: let its listings go, so that memory follows the depth
		// of the walk and not the size of the tree.
		a.sub = nil
	}
	return nil
}

// emitOne records an entry made outside any listing, found in directory dir.
func (wk *walk) emitOne(e *tree.Entry, a *aux, dir *node, in inline, r *Root, depth int, rootDev uint64, count *int, fn func(*tree.Entry) error) error {
	n := dir
	n.entries, n.aux, n.listed = []tree.Entry{*e}, []aux{*a}, make(chan struct{})
	wk.plan(n, 0, nil, r, depth, rootDev, wk.lookup(), in)
	close(n.listed)
	wk.s.listed(1)
	return wk.emit(n, count, fn)
}

// lookup makes the calling goroutine's lookup of recorded entries, nil without Prior.
func (wk *walk) lookup() func(string) *tree.Entry {
	if wk.Prior == nil {
		return nil
	}
	return wk.Prior()
}

// work runs jobs until the scheduler closes.
func (wk *walk) work() {
	buf := hashBufs.Get().(*hashBuf)
	defer hashBufs.Put(buf)
	prior := wk.lookup()
	var dir listedDir
	defer dir.close()
	for {
		j := wk.s.next()
		if j == nil {
			return
		}
		if j.i < 0 {
			wk.list(j.n, buf, prior)
			close(j.n.listed)
			continue
		}
		wk.hashJob(j, buf, &dir)
	}
}

// hashJob hashes the file of job j, relative to its directory as listed.
func (wk *walk) hashJob(j *job, buf *hashBuf, dir *listedDir) {
	fd, err := dir.open(wk, j.n)
	if err != nil {
		wk.hashLost(j.e, j.a, err)
		return
	}
	wk.hashEntry(j.maxSize, j.e, j.a, buf, fd, j.a.real[strings.LastIndexByte(j.a.real, '/')+1:])
}

// listedDir is a worker's descriptor of the directory it hashes files in: a hash job
// opens its file relative to the directory that was listed, never by a path that a
// directory swapped for a symlink could lead elsewhere. Jobs come in key order, so
// one directory serves the files of a directory in a row.
type listedDir struct {
	n   *node
	fd  int
	err error
}

// errDirReplaced says a directory was replaced after its entries were listed.
var errDirReplaced = errors.New("its directory was replaced after it was listed: not read")

// open returns a descriptor of directory n (O_PATH), checked with fstat to be the
// directory that was listed (see sameDir).
func (d *listedDir) open(wk *walk, n *node) (int, error) {
	if d.n == n {
		return d.fd, d.err
	}
	d.close()
	d.n, d.fd, d.err = n, -1, nil
	flags := unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC
	if !n.followed {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := openRetry(n.real, flags)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			err = errDirReplaced // a symlink or a file took its place
		}
		d.err = err
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		d.err = err
		return -1, err
	}
	if (st.Dev != n.dev || st.Ino != n.ino) && !wk.sameDir(n, &st) {
		unix.Close(fd)
		d.err = errDirReplaced
		return -1, d.err
	}
	d.fd = fd
	return fd, nil
}

// sameDir reports whether directory n, open as st with another device or inode number
// than it was listed with, is n all the same: its inode number does not last
// (tree.FlagVolatileInode), st is on its device, and the directory at its path from
// its root, opened again as a parent is (openParent: no symlink on the way, unless
// the root follows them), is the one open as st. While st's directory is open the
// kernel keeps its inode, and its number: another directory, or one reached through a
// symlink put on the way, has another. O_DIRECTORY made st a directory's, and
// O_NOFOLLOW kept a symlink in n's own place from being followed.
func (wk *walk) sameDir(n *node, st *unix.Stat_t) bool {
	if !n.volatile || n.root == nil || st.Dev != n.dev {
		return false
	}
	o, err := wk.openParent(n.root, n.real, n.depth+1)
	if err != nil {
		return false
	}
	unix.Close(o.fd)
	return o.dev == st.Dev && o.ino == st.Ino
}

func (d *listedDir) close() {
	if d.fd >= 0 && d.n != nil {
		unix.Close(d.fd)
	}
	d.n, d.fd = nil, -1
}

// list reads directory n: names sorted bytewise, each selected by name, stat'ed relative
// to the directory, then selected by stat; it schedules the hashing of regular files and
// the listing of subdirectories.
func (wk *walk) list(n *node, hb *hashBuf, prior func(string) *tree.Entry) {
	if wk.stopped.Load() {
		n.err = context.Canceled
		return
	}
	flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC | unix.O_NONBLOCK
	if !n.followed {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := openRetry(n.real, flags)
	if err != nil {
		n.err = err
		return
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		n.err = err
		return
	}
	if n.transit {
		n.dev, n.ino = st.Dev, st.Ino // what the hash jobs of its files check it against
	} else if st.Ino != n.ino || st.Dev != n.dev {
		if !wk.sameDir(n, &st) {
			n.err = errors.New("directory replaced during the walk")
			return
		}
		n.ino = st.Ino // the number it has now, for the hash jobs and the symlink loops below
	}
	n.sealed = sealed(&st)
	if wk.Listing != nil && !n.transit {
		wk.Listing(n.real, fd)
	}
	names, err := readNames(fd, hb.dirents)
	if err != nil {
		n.err = err
		return
	}
	sort.Strings(names)
	n.entries = make([]tree.Entry, 0, len(names))
	n.aux = make([]aux, 0, len(names))
	// Most directories have no root below them and none of fim's own files in them:
	// their entries need not be looked for among those.
	rootsBelow := n.transit || wk.leadsToRoot(n.path)
	for _, name := range names {
		path := tree.Join(n.path, name)
		r, depth, rootDev, transit := n.root, n.depth+1, n.rootDev, false
		var nr *Root
		if rootsBelow {
			nr = wk.roots[path]
		}
		if nr != nil {
			r, depth = nr, 0
		} else if n.transit || wk.pruned(r, name, path) {
			if !rootsBelow || !wk.leadsToRoot(path) {
				continue
			}
			transit = true
		}
		real := path
		if n.real != n.path {
			real = tree.Join(n.real, name) // n.real is "/" for the top of a walk without Prefix
		}
		follow := r != nil && r.FollowSymlinks && !transit
		e, a, ok := wk.stat(fd, name, path, follow)
		if !ok {
			continue // vanished since the listing
		}
		if !a.followed && wk.Own.Has(&e) {
			continue
		}
		a.real = real
		if transit {
			if e.Type != tree.TypeDir {
				continue
			}
			a.skip = true
		}
		if depth == 0 {
			rootDev = e.Device
		}
		n.entries = append(n.entries, e)
		n.aux = append(n.aux, a)
		wk.plan(n, len(n.entries)-1, n, r, depth, rootDev, prior, inline{hb, fd, name})
	}
	wk.s.listed(len(n.entries))
}

// Selects reports whether the recorded path p is one a walk of the roots records: inside
// a root, and neither excluded, hidden (with NoHidden), deeper than MaxDepth below it,
// nor one of fim's own files. Limits that need the filesystem (other mounts, symlinks)
// are applied by WalkPath.
func (w *Walker) Selects(p string) bool {
	_, _, ok := w.selects(p)
	return ok
}

func (w *Walker) selects(p string) (*Root, int, bool) {
	s := w.Explain(p)
	return s.Root, s.Depth, s.Selected()
}

// pruned reports whether a name below root r is left out by r's options.
// (Depth needs no check here: a directory is listed only when its children are within
// MaxDepth; see plan.)
func (wk *walk) pruned(r *Root, name, path string) bool {
	if r == nil {
		return true
	}
	if r.NoHidden && name[0] == '.' {
		return true
	}
	return r.excluded(path)
}

// leadsToRoot reports whether a configured root lies strictly below path.
func (wk *walk) leadsToRoot(path string) bool {
	for p := range wk.roots {
		if p != path && tree.IsWithin(p, path) {
			return true
		}
	}
	return false
}

// stat makes the entry for name relative to dirfd.
func (wk *walk) stat(dirfd int, name, path string, follow bool) (tree.Entry, aux, bool) {
	e := tree.Entry{Path: path}
	var a aux
	var stx unix.Statx_t
	mask := unix.STATX_BASIC_STATS | unix.STATX_BTIME
	err := unix.Statx(dirfd, name, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, mask, &stx)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return e, a, false
		}
		a.err = err
		e.Flags |= tree.FlagUnreadable
		return e, a, true
	}
	fillStat(&e, &stx)
	if e.Type == tree.TypeSymlink {
		e.LinkTarget, a.err = readlinkat(dirfd, name)
		if follow {
			var tgt unix.Statx_t
			if unix.Statx(dirfd, name, unix.AT_NO_AUTOMOUNT, mask, &tgt) == nil {
				fillStat(&e, &tgt)
				a.followed = true
			}
		}
	}
	if e.Type == tree.TypeDir && wk.volatileDirInodes(dirfd, name, e.Device, a.followed) {
		e.Flags |= tree.FlagVolatileInode
	}
	return e, a, true
}

// volatileDirInodes reports whether the inode numbers of directories on device dev,
// where directory name in dirfd lies, may change while the directories stay. The
// directory is opened only to learn what a device not met before is.
func (wk *walk) volatileDirInodes(dirfd int, name string, dev uint64, followed bool) bool {
	wk.linksMu.Lock()
	kind, ok := wk.filesystems[dev]
	wk.linksMu.Unlock()
	if ok {
		return kind.volatileDirInodes
	}
	flags := unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC
	if !followed {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := openAt(dirfd, name, flags)
	if err != nil {
		return false // gone, or not a directory now: its listing will say so
	}
	defer unix.Close(fd)
	kind, _ = wk.filesystem(fd, dev)
	return kind.volatileDirInodes
}

// plan decides, for entry i of n, what is left to do: hash it, descend into it, read its
// extended attributes. lookup is the calling goroutine's lookup made by Prior, if any;
// in, if its buffers are set, what it needs to hash a small file itself.
func (wk *walk) plan(n *node, i int, parent *node, r *Root, depth int, rootDev uint64, lookup func(string) *tree.Entry, in inline) {
	e, a := &n.entries[i], &n.aux[i]
	readable := e.Flags&tree.FlagUnreadable == 0 && !a.skip
	// With Prior, an entry whose type, device, inode and ctime are as recorded keeps its
	// recorded extended attributes (setting one changes the ctime; a directory whose
	// inode number does not last is taken for its record without it), and a file whose
	// size and mtime are as recorded too keeps its recorded hash.
	// A regular file under a growing policy where a regular file is recorded is marked
	// FlagGrowing; when it is the inode recorded, its hash job checks its beginning.
	var prior *tree.Entry
	// A file with several names is hashed under one of them (see planHash): the others
	// could not tell their records' beginnings, and are compared as any file.
	growing := r != nil && r.Growing && e.Type == tree.TypeFile && e.Nlink == 1
	if lookup != nil && readable && (wk.Fast || growing || wk.Side != nil && e.Type == tree.TypeFile && wk.Side.NeedsPrior(e)) {
		if p := lookup(e.Path); p != nil {
			a.prior = p
			same := p.Type == e.Type && p.Device == e.Device && (p.Inode == e.Inode || e.Flags&tree.FlagVolatileInode != 0)
			if growing && p.Type == tree.TypeFile {
				e.Flags |= tree.FlagGrowing
				if p.SameInode(e) && p.Hashed() {
					a.grow = p
				}
			}
			if wk.Fast && same && p.Ctime == e.Ctime {
				prior = p
			}
		}
	}
	// Extended attributes still to be read: those of a file about to be hashed are read
	// from the open file (see hashOnce), the others' here.
	xattrs := readable
	if readable && prior != nil && prior.Flags&tree.FlagXattrsUnreadable == 0 {
		e.Xattrs, xattrs = prior.Xattrs, false
	}
	// Once a hash job is scheduled, e is the job's until it is done: it rewrites the
	// entry when the file changes as it is read.
	typ := e.Type
	hashing := typ == tree.TypeFile && wk.planHash(n, i, r, prior, xattrs, in)
	if xattrs && !hashing {
		readXattrsAt(e, in.dirfd, in.name, a.followed)
	}
	switch typ {
	case tree.TypeDir:
		descend, transit := a.skip, a.skip // transit directories lead to a root
		if !a.skip && r != nil {
			descend = stop(r, depth, e, rootDev) == Enters
			if !descend && wk.leadsToRoot(e.Path) {
				// Recorded but not entered under r; a root configured below it still is.
				descend, transit = true, true
			} else if descend && a.followed {
				for p := parent; p != nil; p = p.parent {
					if p.dev == e.Device && p.ino == e.Inode {
						a.err = fmt.Errorf("symlink loop to %s: not descended", p.path)
						descend = false
						break
					}
				}
			}
		}
		if !descend || wk.flat {
			return // a mount point or the depth limit: recorded, not entered
		}
		sub := &node{real: a.real, path: e.Path, key: tree.Key(e.Path), root: r, depth: depth, rootDev: rootDev,
			dev: e.Device, ino: e.Inode, parent: parent, transit: transit, followed: a.followed,
			volatile: e.Flags&tree.FlagVolatileInode != 0, listed: make(chan struct{})}
		a.sub = sub
		wk.s.push(&job{key: sub.key, n: sub, i: -1})
	}
}

// inline is where an entry was found, the directory's descriptor and the entry's name
// in it, and what a listing needs to hash a file itself: the worker's buffers (nil
// outside a listing).
type inline struct {
	hb    *hashBuf
	dirfd int
	name  string
}

// planHash schedules the hashing of regular file i of n, unless it is unreadable, keeps
// its prior hash, is too large, or is another name of an inode hashed already. It
// reports whether it scheduled a job for this entry; the job reads the file's extended
// attributes too when xattrs is set. A small file with a single name is hashed at once,
// when in has buffers and no worker waits for a job (or WalkPaths waits for it): a job
// would cost more than the read. A listing does so only when the page cache holds the
// file's beginning: a file to be read from disk is handed to a worker, with its read
// under way, so that the reads of a directory's files from disk overlap and the
// listing goes on meanwhile.
func (wk *walk) planHash(n *node, i int, r *Root, prior *tree.Entry, xattrs bool, in inline) bool {
	e, a := &n.entries[i], &n.aux[i]
	if e.Flags&tree.FlagUnreadable != 0 || a.skip || wk.NoHash {
		return false
	}
	var copies *Copies
	if r != nil && r.Copies != nil && !wk.NoHash {
		copies = r.Copies
		if e.NoCopy = copies.reason(e, a.followed); e.NoCopy == tree.CopyNone {
			a.copyMax, a.copies = copies.Max, copies
			prior = nil // the content is read for its copy
		}
	}
	if prior != nil && prior.Hashed() && prior.Size == e.Size && prior.Mtime == e.Mtime {
		e.Hash = prior.Hash
		e.Flags |= tree.FlagHashed
		return false
	}
	var maxSize int64
	if r != nil {
		maxSize = r.MaxFileSize
	}
	if maxSize > 0 && e.Size > maxSize {
		e.Flags |= tree.FlagTooLarge
		if copies != nil {
			e.NoCopy, a.copyMax = tree.NoCopyTooLarge, 0
		}
		return false
	}
	a.sealed = n.sealed
	// WalkPaths hashes in place whatever workers wait for: its caller waits for the
	// hash anyway.
	if in.hb != nil && e.Nlink == 1 && e.Size <= inlineHashMax && (wk.held != nil || !wk.s.starved()) {
		a.xattrsAtHash, a.cachedOnly = xattrs, wk.held == nil
		if wk.hashEntry(maxSize, e, a, in.hb, in.dirfd, in.name) {
			return true
		}
	}
	a.key = tree.Key(e.Path)
	if e.Nlink > 1 && a.copyMax == 0 {
		wk.linksMu.Lock()
		id := devIno{e.Device, e.Inode}
		slot := wk.links[id]
		if slot != nil {
			wk.linksMu.Unlock()
			a.slot = slot
			return false
		}
		slot = &linkSlot{done: make(chan struct{}), key: a.key}
		wk.links[id] = slot
		wk.linksMu.Unlock()
		a.slot = slot
	}
	a.xattrsAtHash = xattrs
	a.done = make(chan struct{})
	wk.s.push(&job{key: a.key, n: n, i: i, e: e, a: a, maxSize: maxSize})
	return true
}

func fillStat(e *tree.Entry, st *unix.Statx_t) {
	e.Type = tree.TypeFromMode(uint32(st.Mode))
	e.Mode = uint32(st.Mode) & 0o7777
	e.UID, e.GID = st.Uid, st.Gid
	e.Size = int64(st.Size)
	e.Mtime = st.Mtime.Sec*1e9 + int64(st.Mtime.Nsec)
	e.Ctime = st.Ctime.Sec*1e9 + int64(st.Ctime.Nsec)
	if st.Mask&unix.STATX_BTIME != 0 {
		e.Btime = st.Btime.Sec*1e9 + int64(st.Btime.Nsec)
		e.Flags |= tree.FlagBtime
	} else {
		e.Btime = 0
		e.Flags &^= tree.FlagBtime
	}
	e.Inode = st.Ino
	e.Device = unix.Mkdev(st.Dev_major, st.Dev_minor)
	e.Nlink = uint64(st.Nlink)
	e.Rdev = 0
	if e.Type == tree.TypeCharDev || e.Type == tree.TypeBlockDev {
		e.Rdev = unix.Mkdev(st.Rdev_major, st.Rdev_minor)
	}
}

func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// readNames returns the names in directory fd, without "." and "..".
func readNames(fd int, buf []byte) ([]string, error) {
	var names []string
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}
