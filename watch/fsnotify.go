package watch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"fim/tree"
	"fim/walk"
)

// inMask is what fim asks inotify for on each directory: every change to names,
// content and attributes of its entries, and the close of a file written to — the one
// event a write through a shared mapping or with Linux AIO makes. The backend keeps
// its user-facing name, fsnotify, but talks to inotify itself: the fsnotify library
// (v1.10) does not let a watch ask for IN_CLOSE_WRITE, and hides which watch an
// IN_IGNORED or IN_UNMOUNT ends.
const inMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_DELETE_SELF | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_MOVE_SELF | unix.IN_ATTRIB | unix.IN_MODIFY | unix.IN_CLOSE_WRITE |
	unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW | unix.IN_EXCL_UNLINK

// fsnotifier is the inotify backend: one watch per directory below each root, added
// as directories appear. inotify names no process and reports renames as two events;
// the differ pairs them by inode when both land in one batch.
type fsnotifier struct {
	fd     int
	file   *os.File
	roots  atomic.Pointer[[]string] // the real roots, as a reload may change them (see rootList)
	mu     sync.Mutex
	wds    map[int32]string // watch → directory
	dirs   *pathMap[int32]  // directory → watch
	limit  bool             // the watch limit was hit once: say so once
	failed bool             // a watch failed otherwise once: say so once
	logf   func(string, ...any)
	// walkDirs calls fn with every directory the rules of enum select at or below real.
	walkDirs func(real string, fn func(real string)) error
	enum     atomic.Pointer[walk.Walker]
	rescans  *rescanLimit
	rootIDs  []rootAt // what each root was when it was first watched
	links    *links   // the files with more than one link, watched each by itself
}

// inFileMask is what fim asks inotify for on a file with more than one link: the
// changes to its content and attributes, whatever name it is changed through.
const inFileMask = unix.IN_ATTRIB | unix.IN_MODIFY | unix.IN_CLOSE_WRITE

// watchInode watches the file open at fd (see links).
func (f *fsnotifier) watchInode(fd int) (string, error) {
	wd, err := unix.InotifyAddWatch(f.fd, fmt.Sprintf("/proc/self/fd/%d", fd), inFileMask)
	if err != nil {
		return "", err
	}
	return wdToken(int32(wd)), nil
}

func (f *fsnotifier) unwatchInode(token string) {
	unix.InotifyRmWatch(f.fd, uint32(binary.NativeEndian.Uint32([]byte(token))))
}

func wdToken(wd int32) string {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(wd))
	return string(b[:])
}

func newFsnotifier(wt *Watcher, roots []string) (*fsnotifier, error) {
	var fd int
	err := withQueue("inotify", wt.QueuedEvents, func() (err error) {
		fd, err = unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	f := &fsnotifier{fd: fd, file: os.NewFile(uintptr(fd), "inotify"),
		wds: map[int32]string{}, dirs: newPathMap[int32](), logf: wt.logf}
	f.roots.Store(&roots)
	for _, r := range roots {
		f.rootIDs = append(f.rootIDs, rootAt{r, idOf(r)})
	}
	f.setWalker(wt.Walker)
	f.walkDirs = func(real string, fn func(string)) error {
		p, ok := wt.recorded(real)
		if !ok {
			return nil
		}
		for e, err := range f.enum.Load().WalkPath(context.Background(), p, true) {
			if err != nil {
				return err
			}
			if e.Type == tree.TypeDir {
				fn(wt.real(e.Path))
			}
		}
		return nil
	}
	if err := f.watchRoots(); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

// setWalker has directories found with the walker wk itself, so that the rules that
// select what is recorded select what is watched.
func (f *fsnotifier) setWalker(wk *walk.Walker) {
	enum := *wk
	enum.NoHash = true
	enum.Warn = nil
	f.enum.Store(&enum)
}

// rootList returns the real roots watched. It is safe to call from any goroutine.
func (f *fsnotifier) rootList() []string {
	if r := f.roots.Load(); r != nil {
		return *r
	}
	return nil
}

// watchRoots watches every directory of every root that is not watched yet: at the
// start, and after events were lost, when directories made meanwhile have none. The
// directory that holds a root is watched too, so that a root removed (or moved away)
// and made again is seen, and watched again.
func (f *fsnotifier) watchRoots() error {
	for _, real := range f.rootList() {
		if parent := path.Dir(real); parent != real && !f.within(parent) {
			f.add(parent)
		}
		if err := f.walkDirs(real, f.add); err != nil {
			return err
		}
	}
	return nil
}

// add watches one directory; watching it twice is harmless.
func (f *fsnotifier) add(real string) {
	f.watch(real, -1)
}

// addFD watches directory real, open as fd (a walk's Listing: the directory it is about
// to list, which is the one watched whatever happens to the name meanwhile).
func (f *fsnotifier) addFD(real string, fd int) {
	f.watch(real, fd)
}

// watch watches directory real, through fd when it is open (fd >= 0).
func (f *fsnotifier) watch(real string, fd int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.dirs.get(real); ok {
		return
	}
	byFD := func(fd int) (int, error) {
		return unix.InotifyAddWatch(f.fd, fmt.Sprintf("/proc/self/fd/%d", fd), inMask&^unix.IN_DONT_FOLLOW)
	}
	var wd int
	var err error
	if fd >= 0 {
		wd, err = byFD(fd)
	} else {
		wd, err = unix.InotifyAddWatch(f.fd, real, inMask)
	}
	if errors.Is(err, unix.ENAMETOOLONG) {
		// Deeper than PATH_MAX: through a descriptor opened piece by piece.
		var fd int
		if fd, err = walk.OpenLong(real, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC); err == nil {
			wd, err = byFD(fd)
			unix.Close(fd)
		}
	}
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
			// Gone already: its parent's event says so.
		case errors.Is(err, unix.ENOSPC):
			if !f.limit {
				f.limit = true
				max, _ := os.ReadFile("/proc/sys/fs/inotify/max_user_watches")
				f.logf("inotify watch limit reached at %d directories (fs.inotify.max_user_watches = %s): raise it with sysctl; the periodic rescan covers the rest",
					len(f.wds), strings.TrimSpace(string(max)))
			}
		case !f.failed:
			f.failed = true
			f.logf("inotify watch on %s: %v; the periodic rescan covers the directories not watched", real, err)
		}
		return
	}
	w := int32(wd)
	if old, ok := f.wds[w]; ok && old != real {
		// The same directory under another name (renamed, or a bind mount): the
		// watch now names it by this one.
		f.dirs.del(old)
	}
	f.wds[w] = real
	f.dirs.set(real, w)
}

// count returns how many directories of the roots are watched.
func (f *fsnotifier) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, d := range f.wds {
		if f.within(d) {
			n++
		}
	}
	return n
}

// forget drops the watches at or below real, a directory removed or renamed. The
// kernel drops the watch of a removed directory itself; that of a renamed one it keeps,
// but its events would go on being named by the old path: it is removed, to be added
// again under the new name when the directory is walked there.
func (f *fsnotifier) forget(real string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dirs.delTree(real, func(_ string, wd int32) {
		unix.InotifyRmWatch(f.fd, uint32(wd)) // fails for a removed directory: nothing left to remove
		delete(f.wds, wd)
	})
}

func (f *fsnotifier) within(real string) bool {
	for _, r := range f.rootList() {
		if tree.IsWithin(real, r) {
			return true
		}
	}
	return false
}

// run sends hints for what inotify reports. When ctx ends, it sends what the kernel
// has already queued, then returns; it returns at once when abort is closed.
func (f *fsnotifier) run(ctx context.Context, abort <-chan struct{}, out chan<- Hint) error {
	send := hintSender(out, abort)
	f.rescans = newRescanLimit(send)
	mctx, stopMounts := context.WithCancel(ctx)
	defer stopMounts()
	go watchMounts(mctx, f.rootIDs, func(real string) {
		// What was watched at real is hidden now, or gone: watch what is there.
		f.forget(real)
		f.watchRoots()
		send(Hint{Path: real, Dir: true, Subtree: true, Source: SourceFsnotify})
	})
	// One hint per path and kind for the events of one read: all of them happened
	// before the path is looked at (a write and the close after it make two events).
	sent := map[Hint]bool{}
	err := readKernel(ctx, f.file, f.fd, "inotify", func(buf []byte) bool {
		events, perr := ParseInotify(buf)
		clear(sent)
		for i := range events {
			for _, h := range f.hints(&events[i]) {
				if h.Overflow {
					if !f.overflow(h) {
						return false
					}
					continue
				}
				if sent[h] {
					continue
				}
				sent[h] = true
				if !send(h) {
					return false
				}
			}
		}
		if perr != nil {
			// The record stream is out of step: nothing after this point can be trusted.
			return f.overflow(Hint{Overflow: true, Source: SourceFsnotify, Err: perr})
		}
		return true
	})
	if err == nil {
		f.rescans.flush()
	}
	return err
}

// overflow watches the directories that appeared while events were lost, then asks
// for the rescan that finds what changed in them and everywhere else.
func (f *fsnotifier) overflow(h Hint) bool {
	if err := f.watchRoots(); err != nil && h.Err == nil {
		h.Err = err
	}
	return f.rescans.overflow(h)
}

// hints turns one inotify event into hints, and keeps the watches in step with the
// directories that appear and go.
func (f *fsnotifier) hints(ev *InotifyEvent) []Hint {
	if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
		return []Hint{{Overflow: true, Source: SourceFsnotify}}
	}
	f.mu.Lock()
	dir, ok := f.wds[ev.WD]
	if ok && ev.Mask&unix.IN_IGNORED != 0 {
		// The watch is gone: its directory was removed, or its filesystem unmounted.
		delete(f.wds, ev.WD)
		if wd, _ := f.dirs.get(dir); wd == ev.WD {
			f.dirs.del(dir)
		}
	}
	f.mu.Unlock()
	if !ok {
		return f.fileHints(ev) // not a directory's watch: a file's, or one just removed
	}
	if ev.Mask&unix.IN_IGNORED != 0 {
		return nil
	}
	if ev.Mask&unix.IN_UNMOUNT != 0 && f.within(dir) {
		// What was below the mount point is visible again: look at all of it.
		return []Hint{{Path: dir, Dir: true, Subtree: true, Source: SourceFsnotify}}
	}
	if ev.Name == "" {
		// An event on the directory itself: its own attributes, or (self-delete,
		// self-move) the end of a root, which its parent's event reports otherwise.
		if !f.within(dir) {
			return nil // the directory that holds a root
		}
		return []Hint{{Path: dir, Dir: true, Source: SourceFsnotify}}
	}
	p := joinReal(dir, ev.Name)
	if !f.within(p) {
		return nil
	}
	h := Hint{Path: p, Source: SourceFsnotify, Dir: ev.Mask&unix.IN_ISDIR != 0}
	if h.Dir && ev.Mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 {
		// A new directory: watch it before it is walked, so that what lands in it
		// from now on is seen; what is already there, the walk finds.
		f.add(p)
		h.Subtree = true
	}
	if h.Dir && ev.Mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0 {
		f.forget(p)
		h.Subtree = true
	}
	return []Hint{h}
}

// fileHints turns an event of a watch on a file with more than one link into a hint
// for each of its names in the roots: it was changed through one of them, or through
// one elsewhere.
func (f *fsnotifier) fileHints(ev *InotifyEvent) []Hint {
	token := wdToken(ev.WD)
	if ev.Mask&unix.IN_IGNORED != 0 {
		f.links.gone(token)
		return nil
	}
	var hs []Hint
	for _, p := range f.links.names(token) {
		hs = append(hs, Hint{Path: p, Source: SourceFsnotify})
	}
	return hs
}

func (f *fsnotifier) close() { f.file.Close() }
