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

func (f *fsnotifier) forget(real string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for d := range f.dirs {
		if d == real || strings.HasPrefix(d, real+"/") {
			delete(f.dirs, d) // the kernel drops a watch when its directory goes
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

func (f *fsnotifier) run(ctx context.Context, out chan<- Hint) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case err, ok := <-f.w.Errors:
			if !ok {
				return nil
			}
			h := Hint{Source: SourceFsnotify}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				h.Overflow = true
			} else {
				h.Overflow, h.Err = true, err
			}
			select {
			case out <- h:
			case <-ctx.Done():
				return nil
			}
		case ev, ok := <-f.w.Events:
			if !ok {
				return nil
			}
			if !f.within(ev.Name) {
				continue
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
			select {
			case out <- h:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

func (f *fsnotifier) close() { f.w.Close() }
