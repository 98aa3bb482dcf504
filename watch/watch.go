// Package watch owns kernel event sources and their batching: fanotify on whole
// filesystems, inotify (fsnotify) where fanotify cannot be used, and a periodic rescan
// as the safety net of both. Notifications only say "look at this path again": the
// path is walked with the walk package, compared with the last known state by the diff
// package and rendered by the report package, so watch reports exactly what check would.
package watch

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"fim/baseline"
	"fim/diff"
	"fim/walk"
)

// Event sources, as reported in each event's source field.
const (
	SourceFanotify = "fanotify"
	SourceFsnotify = "fsnotify"
	SourcePeriodic = "periodic"
	SourceRescan   = "rescan" // after a lost-event overflow
)

// Hint is what a backend says: look at Path again. Paths are real paths.
type Hint struct {
	Path     string
	OldPath  string // the name it had, when one event carries a rename
	Dir      bool   // the event is about a directory
	Subtree  bool   // look at everything below Path too (a directory appeared, moved or went)
	Overflow bool   // events were lost: rescan everything
	Source   string
	Process  *diff.Process
	Err      error // why events were lost, with Overflow
}

// Watcher watches the roots of Walker and emits events as they happen.
type Watcher struct {
	Walker       *walk.Walker // roots, limits and prefix, as for baseline and check
	Filter       diff.Filter
	Backend      string // auto, fanotify, fsnotify or periodic
	Interval     time.Duration
	BatchSize    int
	BatchTimeout time.Duration
	DedupWindow  time.Duration
	// DB is the baseline to compare with; when it does not exist the first walk is the
	// state. Update keeps it current (Meta is written with it).
	DB     string
	Update bool
	Meta   baseline.Meta
	// Signer signs each baseline --update writes; KeyBase is its key base (see
	// baseline.Meta.KeyBase).
	Signer  ed25519.PrivateKey
	KeyBase string
	Emit    func([]diff.Event) error
	Logf    func(format string, args ...any) // notices: readiness, backend choice, overflow
	// FlushEvery bounds how often --update rewrites the baseline.
	FlushEvery time.Duration

	st       *state
	fan      *fanotify
	fsn      *fsnotifier
	backends sync.WaitGroup // the goroutines of fan and fsn
	dedup    map[dedupKey]*folded
	dirty    bool
	flushed  time.Time
}

type dedupKey struct {
	kind diff.Kind
	path string
}

// folded holds the repeats of an event inside the dedup window.
type folded struct {
	first   time.Time
	changed diff.AttrSet // what the first event changed: only the same change folds
	ev      diff.Event   // the folded repeats, last state wins
	n       int          // repeats folded, beyond the event already emitted
}

// result is the one event that stands for the folded repeats.
func (f *folded) result() diff.Event {
	ev := f.ev
	if f.n > 1 {
		ev.Count = f.n
	}
	return ev
}

func (w *Watcher) logf(format string, args ...any) {
	if w.Logf != nil {
		w.Logf(format, args...)
	}
}

// real and recorded translate between the walker's recorded paths and real paths.
func (w *Watcher) real(p string) string {
	pre := w.Walker.Prefix
	if pre == "" || pre == "/" {
		return p
	}
	if p == "/" {
		return pre
	}
	return pre + p
}

func (w *Watcher) recorded(real string) (string, bool) {
	pre := w.Walker.Prefix
	if pre == "" || pre == "/" {
		return real, true
	}
	if !walk.IsWithin(real, pre) {
		return "", false
	}
	return walk.CleanPath(real[len(pre):]), true
}

// inRoots reports whether a real path lies in a watched root.
func (w *Watcher) inRoots(real string) bool {
	p, ok := w.recorded(real)
	if !ok {
		return false
	}
	for i := range w.Walker.Roots {
		if walk.IsWithin(p, w.Walker.Roots[i].Path) {
			return true
		}
	}
	return false
}

// Run watches until ctx ends, then flushes what is pending and returns nil.
func (w *Watcher) Run(ctx context.Context) error {
	if w.BatchSize <= 0 {
		w.BatchSize = 500
	}
	if w.BatchTimeout <= 0 {
		w.BatchTimeout = time.Second
	}
	if w.FlushEvery <= 0 {
		w.FlushEvery = 10 * time.Second
	}
	w.dedup = map[dedupKey]*folded{}
	hints := make(chan Hint, 4096)
	// Ending bctx asks the backends to hand over what the kernel still holds and return;
	// closing abort makes them return at once.
	bctx, stopBackends := context.WithCancel(context.Background())
	defer stopBackends()
	abort := make(chan struct{})
	defer close(abort)
	errc := make(chan error, 2)
	// Marks first, state second: what changes while the state is read is seen again.
	if err := w.startBackends(bctx, abort, hints, errc); err != nil {
		return err
	}
	defer w.closeBackends()
	if err := w.loadState(ctx); err != nil {
		return err
	}
	defer w.closeState()
	w.flushed = time.Now()
	w.logf("ready: watching %s (%s)", w.describeRoots(), w.describeBackends())

	var periodic <-chan time.Time
	if w.Interval > 0 {
		t := time.NewTicker(w.Interval)
		defer t.Stop()
		periodic = t.C
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var batch []Hint
	var deadline <-chan time.Time
	// A batch is looked at to the end even when ctx ends meanwhile: what fim was told
	// of before it was stopped is reported.
	wctx := context.WithoutCancel(ctx)
	flush := func() error {
		stale := 0
		if slices.ContainsFunc(batch, func(h Hint) bool { return h.Overflow }) {
			stale = len(hints) // queued before the rescan starts: it covers them
		}
		events, err := w.process(wctx, batch)
		for ; stale > 0; stale-- {
			<-hints
		}
		batch, deadline = batch[:0], nil
		if err != nil {
			return err
		}
		return w.emit(events, time.Now())
	}
	for {
		select {
		case h := <-hints:
			batch = append(batch, h)
			if len(batch) == 1 {
				deadline = time.After(w.BatchTimeout)
			}
			if len(batch) >= w.BatchSize {
				if err := flush(); err != nil {
					return err
				}
			}
		case <-deadline:
			if err := flush(); err != nil {
				return err
			}
		case <-periodic:
			events, err := w.rescan(ctx, SourcePeriodic)
			if err != nil {
				if ctx.Err() != nil {
					continue // stopped during the rescan: the next round flushes and returns
				}
				return err
			}
			if err := w.emit(events, time.Now()); err != nil {
				return err
			}
		case <-tick.C:
			if err := w.emitFolded(time.Now(), false); err != nil {
				return err
			}
			if err := w.maybeFlushState(false); err != nil {
				return err
			}
		case err := <-errc:
			return err
		case <-ctx.Done():
			// Stop the backends and take in what they still read from the kernel, so
			// that every change made before the stop is reported; then flush everything.
			stopBackends()
			stopped := make(chan struct{})
			go func() {
				w.backends.Wait()
				close(stopped)
			}()
			for done := false; !done; {
				select {
				case h := <-hints:
					batch = append(batch, h)
				case <-stopped:
					done = true
				}
			}
			for drained := false; !drained; {
				select {
				case h := <-hints:
					batch = append(batch, h)
				default:
					drained = true
				}
			}
			if len(batch) > 0 {
				if err := flush(); err != nil {
					return err
				}
			}
			if err := w.emitFolded(time.Now(), true); err != nil {
				return err
			}
			return w.maybeFlushState(true)
		}
	}
}

func (w *Watcher) describeRoots() string {
	var s []string
	for _, r := range w.Walker.Roots {
		s = append(s, r.Path)
	}
	return strings.Join(s, ", ")
}

func (w *Watcher) describeBackends() string {
	var s []string
	if w.fan != nil && w.fan.marked() {
		s = append(s, "fanotify")
	}
	if w.fsn != nil && len(w.fsn.roots) > 0 {
		if n := w.fsn.count(); n == 1 {
			s = append(s, "fsnotify, 1 directory")
		} else {
			s = append(s, fmt.Sprintf("fsnotify, %d directories", n))
		}
	}
	if w.Interval > 0 {
		s = append(s, "rescan every "+w.Interval.String())
	}
	return strings.Join(s, "; ")
}

// startBackends marks what it can with fanotify and hands the rest to fsnotify.
func (w *Watcher) startBackends(ctx context.Context, abort <-chan struct{}, hints chan<- Hint, errc chan<- error) error {
	var roots []string
	for _, r := range w.Walker.Roots {
		roots = append(roots, w.real(r.Path))
	}
	var rest []string
	switch w.Backend {
	case "periodic":
		if w.Interval <= 0 {
			return fmt.Errorf("--backend periodic needs an --interval")
		}
		return nil
	case "fsnotify":
		rest = roots
	case "", "auto", "fanotify":
		fan, err := newFanotify()
		if err != nil {
			if w.Backend == "fanotify" {
				return err
			}
			w.logf("fsnotify instead of fanotify for every path: %v", err)
			rest = roots
			break
		}
		fan.inRoots, fan.logf = w.inRoots, w.logf
		for _, real := range w.markPaths(roots) {
			if err := fan.mark(real); err != nil {
				if w.Backend == "fanotify" {
					fan.close()
					return err
				}
				w.logf("fsnotify for %s: %v%s", real, err, markHint(err))
				rest = append(rest, real)
			}
		}
		if len(fan.mounts) == 0 {
			fan.close()
		} else {
			w.fan = fan
			w.backends.Add(1)
			go func() {
				defer w.backends.Done()
				if err := fan.run(ctx, abort, hints); err != nil {
					errc <- err
				}
			}()
		}
	default:
		return fmt.Errorf("unknown backend %q (want auto, fanotify, fsnotify or periodic)", w.Backend)
	}
	if len(rest) == 0 {
		return nil
	}
	fsn, err := newFsnotifier(w, rest)
	if err != nil {
		return err
	}
	w.fsn = fsn
	w.backends.Add(1)
	go func() {
		defer w.backends.Done()
		if err := fsn.run(ctx, abort, hints); err != nil {
			errc <- err
		}
	}()
	return nil
}

// markHint explains why a filesystem mark fails.
func markHint(err error) string {
	switch {
	case errors.Is(err, unix.EPERM):
		return " (filesystem marks need CAP_SYS_ADMIN)"
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENODEV), errors.Is(err, unix.EXDEV):
		return " (this filesystem does not support fanotify filesystem marks)"
	case errors.Is(err, unix.EINVAL):
		return " (this kernel lacks fanotify filesystem marks or name reporting)"
	}
	return ""
}

func isMissing(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, os.ErrNotExist)
}

func (w *Watcher) closeBackends() {
	if w.fan != nil {
		w.fan.close()
	}
	if w.fsn != nil {
		w.fsn.close()
	}
}

// loadState opens the baseline, or walks everything when there is none.
func (w *Watcher) loadState(ctx context.Context) error {
	w.st = &state{overlay: map[string]*walk.Entry{}}
	if w.DB != "" {
		r, err := baseline.Open(w.DB)
		if err == nil {
			w.st.base = r
			w.hold(r.Files())
			return nil
		}
		if !errors.Is(err, baseline.ErrBadBaseline) || !isMissing(w.DB) {
			return err
		}
	}
	err := w.Walker.Walk(ctx, func(e *walk.Entry) error {
		w.st.overlay[e.Path] = e
		return nil
	})
	w.dirty = w.Update && w.DB != ""
	return err
}

// hold counts files fim has open as its own, so that no walk records them; release
// stops counting them, before they are closed.
func (w *Watcher) hold(files []*os.File) {
	if w.Walker.Own == nil {
		w.Walker.Own = &walk.OwnFiles{}
	}
	for _, f := range files {
		if err := w.Walker.Own.Add(f); err != nil && w.Logf != nil {
			w.Logf("%v", err)
		}
	}
}

func (w *Watcher) release(files []*os.File) {
	for _, f := range files {
		w.Walker.Own.Remove(f)
	}
}

func (w *Watcher) closeState() {
	if w.st != nil && w.st.base != nil {
		w.release(w.st.base.Files())
		w.st.base.Close()
	}
}

// differ makes a differ that keeps the state current with what it sees.
func (w *Watcher) differ() *diff.Differ {
	return &diff.Differ{Filter: w.Filter, Seen: func(old, cur *walk.Entry) {
		switch {
		case cur == nil:
			w.st.set(old.Path, nil)
		case old == nil || diff.Compare(old, cur, 0) != 0 || old.Hash != cur.Hash:
			kept := *cur // not a pointer into the walk's listing, which it would keep alive
			w.st.set(cur.Path, &kept)
		default:
			return
		}
		w.dirty = true
	}}
}

// look is one path to look at again in a batch.
type look struct {
	path    string
	subtree bool
	hint    *Hint
}

// process turns a batch of hints into events.
func (w *Watcher) process(ctx context.Context, hints []Hint) ([]diff.Event, error) {
	if len(hints) == 0 {
		return nil, nil
	}
	for i := range hints {
		if hints[i].Overflow {
			if hints[i].Err != nil {
				w.logf("overflow: %v; rescanning", hints[i].Err)
			} else {
				w.logf("overflow: the kernel dropped events; rescanning")
			}
			return w.rescan(ctx, SourceRescan)
		}
	}
	looks := map[string]*look{}
	add := func(real string, subtree bool, h *Hint) {
		p, ok := w.recorded(real)
		if !ok {
			return
		}
		if l := looks[p]; l != nil {
			l.subtree = l.subtree || subtree
			if h != nil {
				l.hint = h
			}
			return
		}
		looks[p] = &look{path: p, subtree: subtree, hint: h}
	}
	for i := range hints {
		h := &hints[i]
		add(h.Path, h.Subtree, h)
		if h.OldPath != "" {
			add(h.OldPath, h.Dir, h)
		}
	}
	// An entry that appeared, went or moved changed its directory too (mtime, size,
	// nlink): look at the parents as well, so that their state stays current. The
	// differ leaves that noise out of the report.
	for _, p := range slices.Collect(maps.Keys(looks)) {
		if parent := path.Dir(p); parent != p && looks[parent] == nil {
			add(w.real(parent), false, nil)
		}
	}
	list := make([]*look, 0, len(looks))
	for _, l := range looks {
		list = append(list, l)
	}
	slices.SortFunc(list, func(a, b *look) int { return walk.ComparePaths(a.path, b.path) })
	d := w.differ()
	var under *look // the subtree being looked at covers what sorts after it within it
	for _, l := range list {
		if under != nil && walk.IsWithin(l.path, under.path) {
			continue
		}
		sub, err := w.lookAt(ctx, d, l)
		if err != nil {
			return nil, err
		}
		if sub {
			under = l
		}
	}
	events := d.Events()
	out := events[:0]
	for i := range events {
		ev := &events[i]
		l := coveringLook(list, ev.Path)
		if l == nil && ev.OldPath != "" {
			l = coveringLook(list, ev.OldPath)
		}
		if l == nil && ev.After != nil && ev.After.Type == walk.TypeDir && ev.Changed&^dirNoise == 0 {
			// A parent looked at only to keep its state current, whose times and size
			// moved because of entries whose own events are still on their way.
			continue
		}
		if l != nil {
			ev.Source, ev.Process = l.hint.Source, l.hint.Process
		}
		out = append(out, *ev)
	}
	return out, nil
}

// dirNoise are the attributes a directory's entries change.
const dirNoise = diff.AttrSet(1<<diff.AttrMtime | 1<<diff.AttrCtime | 1<<diff.AttrSize | 1<<diff.AttrNlink)

// coveringLook returns the look at p, or the nearest subtree look above it.
func coveringLook(looks []*look, p string) *look {
	var best *look
	for _, l := range looks {
		if l.hint == nil {
			continue
		}
		if l.path == p {
			return l
		}
		if l.subtree && walk.IsWithin(p, l.path) && (best == nil || len(l.path) > len(best.path)) {
			best = l
		}
	}
	return best
}

// lookAt compares the state of one path (and its subtree when that is asked for or
// when a directory appeared or went) with the filesystem. It reports whether it looked
// at the subtree.
func (w *Watcher) lookAt(ctx context.Context, d *diff.Differ, l *look) (bool, error) {
	if !l.subtree {
		old, err := w.st.get(l.path)
		if err != nil {
			return false, err
		}
		var cur *walk.Entry
		if err := w.Walker.WalkPath(ctx, l.path, false, func(e *walk.Entry) error { cur = e; return nil }); err != nil {
			return false, err
		}
		isDir := func(e *walk.Entry) bool { return e != nil && e.Type == walk.TypeDir }
		if isDir(old) != isDir(cur) || (isDir(old) && isDir(cur) && old.Inode != cur.Inode) {
			l.subtree = true // a directory appeared, went or was replaced: its contents did too
		} else {
			switch {
			case old == nil && cur == nil:
			case old == nil:
				d.Created(cur)
			case cur == nil:
				d.Removed(old)
			default:
				d.Both(old, cur)
			}
			if isDir(cur) && w.fsn != nil {
				w.fsn.add(w.real(cur.Path))
			}
			return false, nil
		}
	}
	olds, err := w.st.subtree(l.path)
	if err != nil {
		return false, err
	}
	i := 0
	m := diff.NewMerge(d, func() (*walk.Entry, error) {
		if i == len(olds) {
			return nil, nil
		}
		i++
		return olds[i-1], nil
	})
	err = w.Walker.WalkPath(ctx, l.path, true, func(e *walk.Entry) error {
		if e.Type == walk.TypeDir && w.fsn != nil {
			w.fsn.add(w.real(e.Path))
		}
		return m.Current(e)
	})
	if err == nil {
		err = m.Finish()
	}
	return true, err
}

// rescan compares everything with the filesystem, as check does.
func (w *Watcher) rescan(ctx context.Context, source string) ([]diff.Event, error) {
	d := w.differ()
	m := diff.NewMerge(d, w.st.iter())
	err := w.Walker.Walk(ctx, m.Current)
	if err == nil {
		err = m.Finish()
	}
	if err != nil {
		return nil, err
	}
	events := d.Events()
	for i := range events {
		events[i].Source = source
	}
	return events, nil
}

// emit folds repeats inside the dedup window and hands events on in batches.
func (w *Watcher) emit(events []diff.Event, now time.Time) error {
	out := events[:0]
	for _, ev := range events {
		if w.DedupWindow > 0 {
			k := dedupKey{ev.Kind, ev.Path}
			if f := w.dedup[k]; f != nil && now.Sub(f.first) < w.DedupWindow && f.changed == ev.Changed {
				if f.n == 0 {
					f.ev.Before = f.ev.After // the repeats start from the state already reported
					f.ev.Changed = 0
				}
				f.n++
				f.ev.After, f.ev.Process, f.ev.Source = ev.After, ev.Process, ev.Source
				f.ev.Changed |= ev.Changed
				continue
			}
			if f := w.dedup[k]; f != nil && f.n > 0 {
				// A different change: what was folded so far goes out first.
				out = append(out, f.result())
			}
			w.dedup[k] = &folded{first: now, ev: ev, changed: ev.Changed}
		}
		out = append(out, ev)
	}
	return w.emitBatches(out)
}

// emitFolded emits the repeats whose window has passed (all of them when final).
func (w *Watcher) emitFolded(now time.Time, final bool) error {
	var out []diff.Event
	for k, f := range w.dedup {
		if !final && now.Sub(f.first) < w.DedupWindow {
			continue
		}
		delete(w.dedup, k)
		if f.n > 0 {
			out = append(out, f.result())
		}
	}
	slices.SortFunc(out, func(a, b diff.Event) int { return walk.ComparePaths(a.Path, b.Path) })
	return w.emitBatches(out)
}

func (w *Watcher) emitBatches(events []diff.Event) error {
	for len(events) > 0 {
		n := min(len(events), w.BatchSize)
		if err := w.Emit(events[:n]); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

// maybeFlushState writes the state as the new baseline with --update: at most every
// FlushEvery, and at the end.
func (w *Watcher) maybeFlushState(final bool) error {
	if !w.Update || w.DB == "" || !w.dirty || !final && time.Since(w.flushed) < w.FlushEvery {
		return nil
	}
	wr, err := baseline.Create(w.DB)
	if err != nil {
		return err
	}
	w.hold(wr.Files())
	defer w.release(wr.Files())
	wr.Signer, wr.KeyBase = w.Signer, w.KeyBase
	next := w.st.iter()
	for {
		e, err := next()
		if err != nil {
			wr.Abort()
			return err
		}
		if e == nil {
			break
		}
		if err := wr.Add(e); err != nil {
			wr.Abort()
			return err
		}
	}
	meta := w.Meta
	meta.Created = time.Now().UTC()
	if err := wr.Commit(meta); err != nil {
		return err
	}
	w.flushed, w.dirty = time.Now(), false
	if w.st.base != nil {
		w.release(w.st.base.Files())
		w.st.base.Close()
	}
	r, err := baseline.Open(w.DB)
	if err != nil {
		return err
	}
	w.hold(r.Files())
	w.st.base, w.st.overlay = r, map[string]*walk.Entry{}
	return nil
}
