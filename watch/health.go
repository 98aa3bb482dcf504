package watch

import (
	"fmt"
	"strings"
	"time"

	"fim/diff"
)

// Metrics is told what a watch does, as it does it (see Watcher.Metrics). Its methods
// are called from the watch's loop, one at a time, and must not block.
type Metrics interface {
	// Handed is called with each batch Emit took.
	Handed(events []diff.Event)
	// Overflow is called when a backend says it lost events (source names it).
	Overflow(source string)
	// Rescanned is called after each comparison of everything with the filesystem
	// (source: start, periodic or rescan), with how long it took and its error.
	Rescanned(source string, took time.Duration, err error)
	// Entries is called with the number of entries the state holds after a full walk:
	// the first one, each rescan's.
	Entries(n int)
	// Queued is called as the loop turns with the events looked at and not yet handed
	// to Emit (the batch being gathered), and the notifications not yet looked at.
	Queued(pending, notifications int)
}

// DefaultStallAfter is how long the loop may go without turning before Health says it
// is stalled.
const DefaultStallAfter = time.Minute

// beat notes that the loop (or the walk it runs) is making progress.
func (w *Watcher) beat() { w.turned.Store(time.Now().UnixNano()) }

// Marks returns the marks in force, by backend: for fanotify the mounts of the marked
// filesystems, for fsnotify the directories of the roots with an inotify watch. It is
// safe to call from any goroutine; before the watch is ready it returns nil.
func (w *Watcher) Marks() map[string]int {
	if !w.ready.Load() {
		return nil
	}
	m := map[string]int{}
	if w.fan != nil {
		w.fan.mu.Lock()
		for _, ms := range w.fan.mounts {
			m[SourceFanotify] += len(ms)
		}
		w.fan.mu.Unlock()
	}
	if fsn := w.fsnPtr.Load(); fsn != nil {
		m[SourceFsnotify] = fsn.count()
	}
	return m
}

// Health returns nil when the watch is healthy, else why not. Healthy means:
//   - the watch is ready: its marks are placed and its starting state is read and
//     compared with the filesystem;
//   - the event loop is alive: it has turned (or a walk it runs, of a rescan or of a
//     directory that appeared, has reached another entry) within StallAfter;
//   - the marks are in force for every root: with fanotify, the root is there and its
//     filesystem is marked; with fsnotify, the root directory has its inotify watch,
//     which the kernel drops when the directory is removed or its filesystem
//     unmounted. With --backend periodic there are no marks to hold.
//
// It is safe to call from any goroutine.
func (w *Watcher) Health() error {
	if !w.ready.Load() {
		return fmt.Errorf("starting: the state is not read yet")
	}
	if w.stopping.Load() {
		return fmt.Errorf("stopping")
	}
	stall := w.StallAfter
	if stall <= 0 {
		stall = DefaultStallAfter
	}
	if idle := time.Since(time.Unix(0, w.turned.Load())); idle > stall {
		return fmt.Errorf("the event loop has not turned for %v", idle.Round(time.Second))
	}
	var lost []string
	fsn := w.fsnPtr.Load()
	for _, r := range w.rootPaths() {
		real := w.real(r)
		switch {
		case fsn != nil && fsn.within(real):
			fsn.mu.Lock()
			_, ok := fsn.dirs.get(real)
			fsn.mu.Unlock()
			if !ok {
				lost = append(lost, real+" (no inotify watch: the directory is gone or was replaced)")
			}
		case w.fan != nil:
			if !w.fan.covers(real) {
				lost = append(lost, real+" (its filesystem is not marked: the directory is gone or another filesystem is mounted there)")
			}
		}
	}
	if len(lost) > 0 {
		return fmt.Errorf("marks lost: %s", strings.Join(lost, "; "))
	}
	return nil
}
