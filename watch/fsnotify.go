package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"

	"fim/walk"
)

// fsnotifier is the inotify backend: one watch per directory below each root, added
// as directories appear. inotify names no process and reports renames as two events;
// the differ pairs them by inode when both land in one batch.
type fsnotifier struct {
	w     *fsnotify.Watcher
	roots []string
	mu    sync.Mutex
	dirs  map[string]bool
	limit bool // the watch limit was hit once: say so once
	logf  func(string, ...any)
}

func newFsnotifier(wt *Watcher, roots []string) (*fsnotifier, error) {
	fw, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	f := &fsnotifier{w: fw, roots: roots, dirs: map[string]bool{}, logf: wt.logf}
	// Watch every directory the rules select, found with the walker itself.
	enum := *wt.Walker
	enum.NoHash = true
	enum.Warn = nil
	for _, real := range roots {
		p, ok := wt.recorded(real)
		if !ok {
			continue
		}
		err := enum.WalkPath(context.Background(), p, true, func(e *walk.Entry) error {
			if e.Type == walk.TypeDir {
				f.add(wt.real(e.Path))
			}
			return nil
		})
		if err != nil {
			fw.Close()
			return nil, err
		}
	}
	return f, nil
}

// add watches one directory; watching it twice is harmless.
func (f *fsnotifier) add(real string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dirs[real] {
		return
	}
	if err := f.w.Add(real); err != nil {
		if errors.Is(err, unix.ENOSPC) && !f.limit {
			f.limit = true
			max, _ := os.ReadFile("/proc/sys/fs/inotify/max_user_watches")
			f.logf("inotify watch limit reached at %d directories (fs.inotify.max_user_watches = %s): raise it with sysctl; the periodic rescan covers the rest",
				len(f.dirs), strings.TrimSpace(string(max)))
		}
		return
	}
	f.dirs[real] = true
}

func (f *fsnotifier) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.dirs)
}

// forget drops the watches at or below real, a directory removed or renamed. The
// kernel drops the watch of a removed directory itself; that of a renamed one it keeps,
// but fsnotify would go on naming its events by the old path (and hand the same watch
// back, under the old path, when the new one is added): it is removed, to be added
// again under the new name when the directory is walked there.
func (f *fsnotifier) forget(real string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for d := range f.dirs {
		if d == real || strings.HasPrefix(d, real+"/") {
			f.w.Remove(d) // fails for a removed directory: nothing left to remove
			delete(f.dirs, d)
		}
	}
}

func (f *fsnotifier) within(real string) bool {
	for _, r := range f.roots {
		if walk.IsWithin(real, r) {
			return true
		}
	}
	return false
}

// run sends hints for what fsnotify reports. When ctx ends, it sends what fsnotify has
// already read from the kernel, then returns; it returns at once when abort is closed.
func (f *fsnotifier) run(ctx context.Context, abort <-chan struct{}, out chan<- Hint) error {
	send := func(h Hint) bool {
		select {
		case out <- h:
			return true
		case <-abort:
			return false
		}
	}
	done := ctx.Done()
	for {
		var ev fsnotify.Event
		var err error
		var ok, isErr bool
		if done == nil { // stopping: only what fsnotify has already read
			select {
			case err, ok = <-f.w.Errors:
				isErr = true
			case ev, ok = <-f.w.Events:
			default:
				return nil
			}
		} else {
			select {
			case <-done:
				done = nil
				continue
			case err, ok = <-f.w.Errors:
				isErr = true
			case ev, ok = <-f.w.Events:
			}
		}
		if !ok {
			return nil
		}
		h, want := errHint(err), true
		if !isErr {
			h, want = f.hint(ev)
		}
		if want && !send(h) {
			return nil
		}
	}
}

// errHint turns an fsnotify error into a hint: events were lost.
func errHint(err error) Hint {
	h := Hint{Source: SourceFsnotify, Overflow: true}
	if !errors.Is(err, fsnotify.ErrEventOverflow) {
		h.Err = err
	}
	return h
}

// hint turns one fsnotify event into a hint, and keeps the watches in step with the
// directories that appear and go.
func (f *fsnotifier) hint(ev fsnotify.Event) (Hint, bool) {
	if !f.within(ev.Name) {
		return Hint{}, false
	}
	h := Hint{Path: ev.Name, Source: SourceFsnotify}
	if ev.Has(fsnotify.Create) {
		// A new directory: watch it before it is walked, so that what lands in it
		// from now on is seen; what is already there, the walk finds.
		if st, err := os.Lstat(ev.Name); err == nil && st.IsDir() {
			f.add(ev.Name)
			h.Dir, h.Subtree = true, true
		}
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		f.mu.Lock()
		wasDir := f.dirs[ev.Name]
		f.mu.Unlock()
		if wasDir {
			f.forget(ev.Name)
			h.Dir, h.Subtree = true, true
		}
	}
	return h, true
}

func (f *fsnotifier) close() { f.w.Close() }
