// Package watch owns kernel event sources and their batching: fanotify on whole
// filesystems, inotify (fsnotify) where fanotify cannot be used, and a periodic rescan
// as the safety net of both. Notifications only say "look at this path again": the
// path is walked with the walk package and compared with the last known state by the
// diff package, and the events go to Emit as check's do, so watch reports exactly what
// check would; rendering and delivery are the caller's.
package watch

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"fim/baseline"
	"fim/diff"
	"fim/idname"
	"fim/internal/proctrack"
	"fim/provenance"
	"fim/tree"
	"fim/walk"
)

// ErrFull is what Emit returns (wrapped) when it cannot take a batch for now.
var ErrFull = errors.New("delivery backlog full")

// Event sources, as reported in each event's source field.
const (
	SourceFanotify = "fanotify"
	SourceFsnotify = "fsnotify"
	SourcePeriodic = "periodic"
	SourceRescan   = "rescan" // after a lost-event overflow
	SourceStart    = "start"  // the baseline compared with the tree when watch starts
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
	// QueuedEvents is the length of the kernel queue of each fanotify or inotify group
	// fim makes, in events: 0 means the larger of DefaultQueuedEvents and the system's
	// fs.*.max_queued_events, -1 the system's (see withQueue).
	QueuedEvents int
	DedupWindow  time.Duration
	// NoProcess leaves the writer of each change unnamed: fim reads nothing of other
	// processes in /proc (their command lines, environments, cgroups).
	NoProcess bool
	// DB is the baseline to compare with; when it does not exist the first walk is the
	// state. It is validated (every record and the meta against its digest) before
	// use. Update keeps it current (Meta is written with it, each rewrite one
	// generation after Meta.Generation, which it then holds).
	DB     string
	Update bool
	Meta   baseline.Meta
	// Explained, with Update, takes into the baseline only the changes whose events
	// Emit gave an explained verdict (it sets the events' Verdict): the path of any
	// other delivered event keeps in the baseline the entry it had before that event
	// (what lies below a directory's path too) until an explained event of it is
	// delivered, and a check goes on reporting it until it is accepted.
	Explained bool
	// Signer signs each baseline --update writes; KeyBase is its key base (see
	// baseline.Meta.KeyBase).
	Signer  ed25519.PrivateKey
	KeyBase string
	// Packages, if set, writes the package snapshot of each baseline Update writes,
	// before it is committed: its digest is sealed in the meta (Meta.Packages), and it
	// is put in place once the baseline is committed. nil keeps the snapshot there is,
	// and Meta.Packages.
	Packages func() *provenance.PendingSnapshot
	snapFile *os.File // the snapshot Packages last put in place, one of fim's own files
	// Emit hands a batch on. An error that is ErrFull says the batch could not be
	// taken for now (a full delivery backlog): watch then drops the events it has not
	// handed on, keeps watching, and rescans once Acked says the backlog is delivered,
	// comparing with what it last handed on. Any other error ends Run.
	Emit func([]diff.Event) error
	// Acked, when set, says how many of the batches Emit took are delivered (they are
	// delivered in the order Emit took them), and whether nothing waits for delivery,
	// waiting up to wait for that. Without it a batch is delivered when Emit returns.
	// With Update, only what is delivered reaches the baseline.
	Acked func(wait time.Duration) (delivered uint64, idle bool)
	// DrainWait bounds how long a stop waits for the batches Emit took to be
	// delivered before the last baseline is written. Default 3s.
	DrainWait time.Duration
	// Logf, if set, is told of notices (readiness, backend choice, overflow), one a
	// line, each starting "watch: ".
	Logf func(format string, args ...any)
	// FlushEvery bounds how often --update rewrites the baseline.
	FlushEvery time.Duration
	// Metrics, when set, is told what the watch does (see Metrics).
	Metrics Metrics
	// Ready, when set, is called once the marks are in force and the starting state
	// is compared (when Logf is told "ready"), with the roots watched and the backends
	// that watch them, as that line says them.
	Ready func(roots, backends string)
	// Rescan, when set, asks for a rescan now: each function received is called with
	// the error of a rescan run once it is received (as the periodic one, its events
	// handed to Emit), and the watch goes on with its marks in place throughout.
	Rescan <-chan func(error)
	// Retune, when set, takes functions that change the watch's settings as it runs
	// (SIGHUP with a changed configuration): each is called on the watch's loop,
	// between two batches, and may set BatchSize, BatchTimeout, DedupWindow,
	// MaxEventsPerMinute and Heartbeat, and what Emit reads; the watch goes on with
	// them, its marks, state and pending events untouched.
	Retune <-chan func()
	// StallAfter is how long the loop may go without turning before Health reports
	// it stalled. Default DefaultStallAfter.
	StallAfter time.Duration
	// MaxEventsPerMinute, when positive, bounds the events handed to Emit within each
	// minute. Past it, the events of the rest of the minute are held back: the state
	// of their paths goes back to what was last handed on, as when the delivery backlog
	// is full. When the minute ends, one diff.RateLimited event says how many were held
	// back, and a rescan (source rescan) reports, whatever the bound, the net change of
	// every path since what was handed on: nothing is lost, only summarized. Notices
	// do not count.
	MaxEventsPerMinute int
	limit              rateLimit
	// Heartbeat, when positive, is how often a diff.Heartbeat notice is handed on,
	// whatever MaxEventsPerMinute says: the digest of the baseline compared with, the
	// entries of the last full comparison, and the marks in force (Marks).
	Heartbeat time.Duration
	digest    string // of the baseline at DB the state starts from: as read, or as --update last wrote it
	entries   int    // in the state after the last full walk

	roots    atomic.Pointer[[]string] // the recorded paths of Walker's roots (see rootPaths)
	turned   atomic.Int64             // when the loop last turned, in Unix nanoseconds (see Health)
	ready    atomic.Bool              // the marks are placed and the starting state compared
	stopping atomic.Bool

	st     *state
	fan    *fanotify
	fsn    *fsnotifier
	fsnPtr atomic.Pointer[fsnotifier] // fsn, for the goroutines of Health and Marks
	// startFsn starts fsn watching the real roots given, when it is not running (at the
	// start, or when a reload puts roots fanotify cannot mark in force).
	startFsn func(roots []string) error
	// next is the policy a reload put in force, applied once the function handed to
	// Retune returns; scope is the walker of the policy before it, until the rescan
	// after the reload is done (see takeIn).
	next     *Policy
	scope    *walk.Walker
	links    *links         // files with more than one link, watched by their inode
	backends sync.WaitGroup // the goroutines of fan and fsn
	folds    map[string]*folded
	pending  []pending  // looked at, not yet delivered, in the order they happened
	rounds   []*round   // the rounds not yet delivered in full, oldest first
	inflight [][]*round // the rounds of each batch Emit took that is not delivered yet
	acked    uint64     // batches Emit took that are delivered
	full     bool       // Emit said ErrFull: events are dropped until the backlog is delivered
	dirty    bool
	flushed  time.Time
	stateDir string // fim's own state file is there, once the state was folded
	foldAt   int    // overlayMax, unless a test sets it
	// kept is the baseline of --db once the state reads its own file: kept open, so
	// that its files stay fim's own (Walker.Own) until it is rewritten.
	kept *baseline.Reader
	// held are the paths Explained keeps out of the baseline, with the entry the
	// baseline keeps for each (nil: none).
	held map[string]*tree.Entry
}

// rateLimit is the minute of MaxEventsPerMinute under way.
type rateLimit struct {
	window time.Duration // a minute, unless a test sets it
	start  time.Time     // when the window began; zero before the first event
	sent   int           // events handed on in the window
	held   int           // events held back in the window
	exempt bool          // the notice and rescan that end a window are delivered whole
	// paths are the paths of the events held back (at most maxHeldPaths; more counts
	// the rest), which the notice names: a path created and removed again within the
	// window has no net change for the rescan to report, but is named.
	paths map[string]bool
	more  int
}

// maxHeldPaths bounds the paths a diff.RateLimited notice names.
const maxHeldPaths = 1000

// hold notes the paths of events held back.
func (l *rateLimit) hold(evs []pending) {
	if l.paths == nil {
		l.paths = map[string]bool{}
	}
	for _, p := range evs {
		for _, path := range []string{p.ev.Path, p.ev.OldPath} {
			switch {
			case path == "" || l.paths[path]:
			case len(l.paths) < maxHeldPaths:
				l.paths[path] = true
			default:
				l.more++
			}
		}
	}
}

// room returns how many more events the window takes (-1: any number), beginning a
// new window when the last one ended with nothing held back.
func (w *Watcher) room(now time.Time) int {
	l := &w.limit
	if w.MaxEventsPerMinute <= 0 || l.exempt {
		return -1
	}
	if l.held == 0 && (l.start.IsZero() || now.Sub(l.start) >= l.window) {
		l.start, l.sent = now, 0
	}
	if l.held > 0 {
		return 0
	}
	return max(w.MaxEventsPerMinute-l.sent, 0)
}

// endWindow ends a window that held events back, once it has passed: it hands on the
// diff.RateLimited notice, then rescans and delivers what the rescan finds.
func (w *Watcher) endWindow(ctx context.Context, now time.Time) error {
	l := &w.limit
	if l.held == 0 || now.Sub(l.start) < l.window || w.full {
		return nil
	}
	w.logf("rate limit: %d events held back since %s: rescanning for their changes", l.held, l.start.Format(time.TimeOnly))
	n := &diff.Notice{HeldBack: l.held, Paths: slices.Sorted(maps.Keys(l.paths)), MorePaths: l.more}
	if err := w.notify(diff.Event{Kind: diff.RateLimited, Source: SourceRescan, Notice: n}); err != nil {
		return err
	}
	l.exempt = true
	defer func() { l.exempt = false }()
	if err := w.rescan(ctx, SourceRescan, now); err != nil {
		return err
	}
	l.start, l.sent, l.held, l.paths, l.more = time.Now(), 0, 0, nil, 0
	return w.deliver()
}

// notify hands on a notice, after what is pending (as MaxEventsPerMinute lets it
// through), whatever MaxEventsPerMinute says.
func (w *Watcher) notify(ev diff.Event) error {
	if err := w.deliver(); err != nil {
		return err
	}
	exempt := w.limit.exempt
	w.limit.exempt = true
	defer func() { w.limit.exempt = exempt }()
	w.pending = append(w.pending, pending{ev: ev})
	return w.deliver()
}

// ticker returns the ticks of a ticker of period d and the function that stops it;
// no ticks for a d that is not positive.
func ticker(d time.Duration) (<-chan time.Time, func()) {
	if d <= 0 {
		return nil, func() {}
	}
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// heartbeat hands on a diff.Heartbeat notice.
func (w *Watcher) heartbeat() error {
	return w.notify(diff.Event{Kind: diff.Heartbeat, Notice: &diff.Notice{Digest: w.digest, Entries: w.entries, Marks: w.Marks()}})
}

// round is one look at the filesystem (a batch of notifications, a rescan): the
// state before it of every path whose state it changed, and how many of its events are
// not delivered yet. Until a round and every round before it are delivered, the
// baseline --update writes holds its paths as they were before it.
type round struct {
	before map[string]*tree.Entry // nil: the path was not in the state
	left   int
}

// pending is one event waiting to be delivered, and the rounds it stands for.
type pending struct {
	ev     diff.Event
	rounds []*round
}

// folded is the last event delivered (or about to be) for a path within the dedup
// window, and the repeats of it held back since.
type folded struct {
	first   time.Time
	ev      diff.Event      // the event that opened the window: its after state is what was reported
	last    diff.Event      // the last repeat
	n       int             // repeats held back
	rounds  []*round        // the rounds of the repeats
	writers []*diff.Process // the processes of the repeats
}

func (w *Watcher) logf(format string, args ...any) {
	if w.Logf != nil {
		w.Logf("watch: "+format, args...)
	}
}

// real and recorded translate between the walker's recorded paths and real paths.
func (w *Watcher) real(p string) string { return walk.RealPath(w.Walker.Prefix, p) }

func (w *Watcher) recorded(real string) (string, bool) {
	return walk.RecordedPath(w.Walker.Prefix, real)
}

// inRoots reports whether a real path lies in a watched root. It is safe to call from
// any goroutine.
func (w *Watcher) inRoots(real string) bool {
	p, ok := w.recorded(real)
	if !ok {
		return false
	}
	for _, r := range w.rootPaths() {
		if tree.IsWithin(p, r) {
			return true
		}
	}
	return false
}

// rootPaths returns the recorded paths of the roots in force (those of Walker until a
// reload puts others in force). It is safe to call from any goroutine.
func (w *Watcher) rootPaths() []string {
	if r := w.roots.Load(); r != nil {
		return *r
	}
	return nil
}

// setRoots notes the roots of Walker as the roots in force.
func (w *Watcher) setRoots() {
	var roots []string
	for _, r := range w.Walker.Roots {
		roots = append(roots, r.Path)
	}
	w.roots.Store(&roots)
}

// Run watches until ctx ends, then delivers what is pending and returns nil.
//
// A path is looked at (stat'ed, hashed and compared) as soon as its notification
// arrives; only the delivery of the events waits for --batch-timeout or --batch-size.
// Events of one path are delivered in the order they happened: a repeat held back by
// the dedup window goes out before any later event of its path. With --update the
// baseline written holds, for every path, only what has been delivered of it.
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
	if w.DrainWait <= 0 {
		w.DrainWait = 3 * time.Second
	}
	w.folds = map[string]*folded{}
	w.setRoots()
	if w.limit.window <= 0 {
		w.limit.window = time.Minute
	}
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
	w.growing()
	walked, err := w.loadState(ctx)
	if err != nil {
		return err
	}
	defer w.removeStateDir()
	defer w.closeState()
	w.flushed = time.Now()

	var batch []Hint
	// A batch is looked at to the end even when ctx ends meanwhile: what fim was told
	// of before it was stopped is reported.
	wctx := context.WithoutCancel(ctx)
	observe := func(b []Hint) error {
		if len(b) == 0 {
			return nil
		}
		stale := 0
		if slices.ContainsFunc(b, func(h Hint) bool { return h.Overflow }) {
			stale = len(hints) // queued before the rescan starts: it covers them
		}
		err := w.observe(wctx, b, time.Now())
		for ; stale > 0; stale-- {
			<-hints
		}
		if err != nil {
			return err
		}
		return w.maybeFoldState()
	}
	if walked {
		// The first walk is the state; what the backends reported while it ran may have
		// changed a path before or after the walk reached it. Those paths have no known
		// starting state: they are left out of it, so that looking at them now reports
		// what is there (as created) instead of taking it in silently.
		for drained := false; !drained; {
			select {
			case h := <-hints:
				if err := w.forgetStart(h); err != nil {
					return err
				}
				batch = append(batch, h)
			default:
				drained = true
			}
		}
	} else {
		// A baseline: what changed while fim was not watching is found by comparing it
		// with the tree, now that the marks are live (what changes from here on is
		// notified, whether the comparison sees it or not).
		if err := w.rescan(ctx, SourceStart, time.Now()); err != nil {
			if ctx.Err() != nil {
				return w.finish(stopBackends, hints, batch, observe)
			}
			return err
		}
	}
	if err := observe(batch); err != nil {
		return err
	}
	batch = nil
	if err := w.deliver(); err != nil {
		return err
	}
	w.beat()
	w.ready.Store(true)
	w.logf("ready: watching %s (%s)", w.describeRoots(), w.describeBackends())
	if w.Ready != nil {
		w.Ready(w.describeRoots(), w.describeBackends())
	}

	heartbeat, stopHeartbeat := ticker(w.Heartbeat)
	defer func() { stopHeartbeat() }()
	var periodic <-chan time.Time
	if w.Interval > 0 {
		t := time.NewTicker(w.Interval)
		defer t.Stop()
		periodic = t.C
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var deadline <-chan time.Time
	deliver := func() error {
		deadline = nil
		return w.deliver()
	}
	// rescanAll is the periodic rescan, delivered at once.
	rescanAll := func() error {
		if w.full {
			return nil // the rescan that ends the episode covers it
		}
		if err := w.rescan(ctx, SourcePeriodic, time.Now()); err != nil {
			if ctx.Err() != nil {
				return nil // stopped during the rescan: the next round delivers and returns
			}
			return err
		}
		if err := w.maybeFoldState(); err != nil {
			return err
		}
		return deliver()
	}
	for {
		w.beat()
		if w.Metrics != nil {
			w.Metrics.Queued(len(w.pending), len(hints))
		}
		select {
		case h := <-hints:
			// Everything already queued is looked at together: a rename that inotify
			// reports in two halves is paired when both are there.
			batch = append(batch, h)
			for len(batch) < w.BatchSize && len(hints) > 0 {
				batch = append(batch, <-hints)
			}
			err := observe(batch)
			batch = batch[:0]
			if err != nil {
				return err
			}
			if len(w.pending) >= w.BatchSize {
				if err := deliver(); err != nil {
					return err
				}
			} else if len(w.pending) > 0 && deadline == nil {
				deadline = time.After(w.BatchTimeout)
			}
		case <-deadline:
			if err := deliver(); err != nil {
				return err
			}
		case <-periodic:
			if err := rescanAll(); err != nil {
				return err
			}
		case <-heartbeat:
			if err := w.heartbeat(); err != nil {
				return err
			}
		case retune := <-w.Retune:
			beat := w.Heartbeat
			retune()
			if err := w.applyPolicy(); err != nil {
				return err
			}
			if w.BatchSize <= 0 {
				w.BatchSize = 500
			}
			if w.BatchTimeout <= 0 {
				w.BatchTimeout = time.Second
			}
			if w.Heartbeat != beat {
				stopHeartbeat()
				heartbeat, stopHeartbeat = ticker(w.Heartbeat)
			}
		case done := <-w.Rescan:
			err := rescanAll()
			done(err)
			if err != nil {
				return err
			}
		case <-tick.C:
			if w.collect(0) && w.full {
				w.full = false
				w.logf("the delivery backlog is delivered: rescanning for what changed while it was full")
				if err := w.rescan(ctx, SourceRescan, time.Now()); err != nil {
					if ctx.Err() != nil {
						continue
					}
					return err
				}
				if err := deliver(); err != nil {
					return err
				}
			}
			if w.expire(time.Now(), false) {
				if err := deliver(); err != nil {
					return err
				}
			}
			if err := w.endWindow(ctx, time.Now()); err != nil {
				if ctx.Err() != nil {
					continue
				}
				return err
			}
			if err := w.maybeFlushState(false); err != nil {
				return err
			}
		case err := <-errc:
			return err
		case <-ctx.Done():
			return w.finish(stopBackends, hints, batch, observe)
		}
	}
}

// growing has the growing files of Walker's roots checked against their last known
// state as they are read.
func (w *Watcher) growing() {
	if w.Walker.Prior == nil && slices.ContainsFunc(w.Walker.Roots, func(r walk.Root) bool { return r.Growing }) {
		w.Walker.Prior = func() func(string) *tree.Entry { return func(p string) *tree.Entry { return w.st.lookup(p) } }
	}
}

// finish stops the backends, looks at what they still read from the kernel, so that
// every change made before the stop is reported, delivers everything and writes the
// baseline with --update.
func (w *Watcher) finish(stopBackends func(), hints chan Hint, batch []Hint, observe func([]Hint) error) error {
	w.stopping.Store(true)
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
	for len(hints) > 0 {
		batch = append(batch, <-hints)
	}
	if err := observe(batch); err != nil {
		return err
	}
	w.expire(time.Now(), true)
	if w.limit.held > 0 {
		w.logf("rate limit: stopped with %d events held back: with a baseline, the next start's comparison reports their changes", w.limit.held)
	}
	w.limit.exempt = true // what was looked at before the stop goes out whole
	if err := w.deliver(); err != nil {
		return err
	}
	w.collect(w.DrainWait)
	return w.maybeFlushState(true)
}

func (w *Watcher) describeRoots() string {
	return strings.Join(w.rootPaths(), ", ")
}

func (w *Watcher) describeBackends() string {
	var s []string
	if w.fan != nil && w.fan.marked() {
		if w.fan.procs != nil && w.fan.procs.anc.track != nil {
			s = append(s, "fanotify, proc connector")
		} else {
			s = append(s, "fanotify")
		}
	}
	if w.fsn != nil && len(w.fsn.rootList()) > 0 {
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
		fan, err := newFanotify(w.QueuedEvents)
		if err != nil {
			if w.Backend == "fanotify" {
				return err
			}
			w.logf("fsnotify instead of fanotify for every path: %v", err)
			rest = roots
			break
		}
		w.links = w.newLinks()
		fan.inRoots, fan.logf, fan.links = w.inRoots, w.logf, w.links
		if w.NoProcess {
			fan.procs = nil
		} else {
			fan.procs.names = idname.New(w.Walker.Prefix)
		}
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
			if fan.procs != nil {
				// Before the starting state is read: a writer forked from here on that
				// exits before fim reads its event is placed under its parent.
				if tr, err := proctrack.Open(); err != nil {
					w.logf("a writer that exits before fim reads its event has no lineage: %v", err)
				} else {
					fan.procs.anc.track = tr
				}
			}
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
	w.startFsn = func(rest []string) error {
		fsn, err := newFsnotifier(w, rest)
		if err != nil {
			return err
		}
		if w.links == nil {
			w.links = w.newLinks()
		}
		fsn.links = w.links
		w.fsn = fsn
		w.fsnPtr.Store(fsn)
		w.backends.Add(1)
		go func() {
			defer w.backends.Done()
			if err := fsn.run(ctx, abort, hints); err != nil {
				errc <- err
			}
		}()
		return nil
	}
	if len(rest) == 0 {
		return nil
	}
	return w.startFsn(rest)
}

// newLinks has the files with more than one link watched by their inode, by the
// backend that watches their roots (see links); the walks find them.
func (w *Watcher) newLinks() *links {
	return newLinks(func(real string) inodeWatcher {
		if w.fsn != nil && w.fsn.within(real) {
			return w.fsn
		}
		if w.fan != nil {
			return w.fan
		}
		return nil
	}, w.logf)
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

// loadState opens the baseline, or walks everything when there is none; it reports
// whether it walked.
func (w *Watcher) loadState(ctx context.Context) (bool, error) {
	w.st = newState(nil)
	if w.DB != "" {
		r, err := baseline.Open(w.DB)
		if err == nil {
			// Lookups read single records: check them all, and the meta, against
			// the digest once, before anything is compared with them.
			if err := r.Validate(); err != nil {
				r.Close()
				return false, err
			}
			w.st.reset(r, nil)
			w.hold(r.Files())
			w.digest, w.entries = r.Meta().Digest, int(r.Meta().Entries)
			return false, nil
		}
		if !errors.Is(err, baseline.ErrBadBaseline) || !isMissing(w.DB) {
			return false, err
		}
	}
	n := 0
	var err error
	for e, werr := range w.Walker.Walk(ctx) {
		if err = werr; err != nil {
			break
		}
		n++
		w.st.put(e.Path, e)
		w.links.note(w.real(e.Path), e)
		if err = w.maybeFoldState(); err != nil {
			break
		}
	}
	w.dirty = w.Update && w.DB != ""
	w.entries = n
	if err == nil && w.Metrics != nil {
		w.Metrics.Entries(n)
	}
	return true, err
}

// forgetStart leaves out of the starting state the paths a notification names that
// arrived while the first walk ran (everything below them too, for a directory).
func (w *Watcher) forgetStart(h Hint) error {
	for _, real := range []string{h.Path, h.OldPath} {
		p, ok := w.recorded(real)
		if real == "" || !ok {
			continue
		}
		w.st.set(p, nil)
		if h.Dir || h.Subtree {
			// The state may be in its file already (see maybeFoldState).
			below, err := w.st.subtree(p)
			if err != nil {
				return err
			}
			for _, e := range below {
				w.st.set(e.Path, nil)
			}
		}
	}
	return nil
}

// hold counts files fim has open as its own, so that no walk records them; release
// stops counting them, before they are closed.
func (w *Watcher) hold(files []*os.File) {
	if w.Walker.Own == nil {
		w.Walker.Own = &walk.OwnFiles{}
	}
	for _, f := range files {
		if err := w.Walker.Own.Add(f); err != nil {
			w.logf("%v", err)
		}
	}
}

func (w *Watcher) release(files []*os.File) {
	for _, f := range files {
		w.Walker.Own.Remove(f)
	}
}

// closeState closes the baseline the state reads, and the one of --db it was folded
// from.
func (w *Watcher) closeState() {
	if w.st != nil && w.st.base != nil {
		w.release(w.st.base.Files())
		w.st.base.Close()
		w.st.base = nil
	}
	if w.kept != nil {
		w.release(w.kept.Files())
		w.kept.Close()
		w.kept = nil
	}
}

// removeStateDir removes fim's own state file, once the state is closed.
func (w *Watcher) removeStateDir() {
	if w.stateDir != "" {
		os.RemoveAll(w.stateDir)
		w.stateDir = ""
	}
}

// differ makes a differ that keeps the state current with what it sees, and notes in
// r the state before of what it changes.
func (w *Watcher) differ(r *round) *diff.Differ {
	return &diff.Differ{Filter: w.Filter, Seen: func(old, cur *tree.Entry) {
		if cur != nil {
			w.links.note(w.real(cur.Path), cur)
		} else {
			w.links.note(w.real(old.Path), nil)
		}
		var p string
		switch {
		case cur == nil:
			p = old.Path
			w.st.set(p, nil)
		case old == nil || diff.Compare(old, cur, 0) != 0 || old.Hash != cur.Hash:
			p = cur.Path
			kept := *cur // not a pointer into the walk's listing, which it would keep alive
			w.st.set(p, &kept)
		default:
			return
		}
		if _, ok := r.before[p]; !ok {
			r.before[p] = old
		}
		w.dirty = true
	}}
}

// observe looks at what a batch of hints names and queues the events.
func (w *Watcher) observe(ctx context.Context, hints []Hint, now time.Time) error {
	for i := range hints {
		if hints[i].Overflow {
			if w.Metrics != nil {
				w.Metrics.Overflow(hints[i].Source)
			}
			if hints[i].Err != nil {
				w.logf("overflow: %v; rescanning", hints[i].Err)
			} else {
				w.logf("overflow: the kernel dropped events; rescanning")
			}
			return w.rescan(ctx, SourceRescan, now)
		}
	}
	r := &round{before: map[string]*tree.Entry{}}
	events, err := w.process(ctx, w.differ(r), hints)
	if err != nil {
		w.undo(r)
		return err
	}
	w.queue(w.takeIn(events, r), r, now)
	return nil
}

// undo puts back the state a round that failed had changed: nothing of it was
// reported, so nothing of it may reach the baseline.
func (w *Watcher) undo(r *round) {
	for p, e := range r.before {
		w.st.set(p, e)
	}
}

// look is one path to look at again in a batch.
type look struct {
	path    string
	subtree bool
	hint    *Hint
	parent  bool            // looked at only as the parent of what hint names
	writers []*diff.Process // the processes of the hints that name it: one look may stand for several changes
}

// process turns a batch of hints into events, with d.
func (w *Watcher) process(ctx context.Context, d *diff.Differ, hints []Hint) ([]diff.Event, error) {
	looks := map[string]*look{}
	add := func(real string, subtree bool, h *Hint, parent bool) {
		p, ok := w.recorded(real)
		if !ok {
			return
		}
		l := looks[p]
		if l == nil {
			l = &look{path: p, subtree: subtree, hint: h, parent: parent}
			looks[p] = l
		}
		l.subtree = l.subtree || subtree
		if !parent {
			l.hint, l.parent = h, false
			l.writers = diff.AddWriter(l.writers, h.Process)
		}
	}
	for i := range hints {
		h := &hints[i]
		add(h.Path, h.Subtree, h, false)
		if h.OldPath != "" {
			add(h.OldPath, h.Dir, h, false)
		}
	}
	// An entry that appeared, went or moved changed its directory too (mtime, size,
	// nlink): look at the parents as well, so that their state stays current. The
	// differ leaves that noise out of the report. What else such a look finds (the
	// directory itself went, with its children's events still on their way) is told
	// as noticed through the child's notification.
	for _, p := range slices.Collect(maps.Keys(looks)) {
		if parent := path.Dir(p); parent != p && looks[parent] == nil {
			add(w.real(parent), false, looks[p].hint, true)
		}
	}
	list := make([]*look, 0, len(looks))
	for _, l := range looks {
		list = append(list, l)
	}
	slices.SortFunc(list, func(a, b *look) int { return tree.ComparePaths(a.path, b.path) })
	// The paths looked at alone are walked together first, in one pass (see WalkPaths);
	// what a subtree look covers is left to it.
	var alone []string
	var under *look // the subtree being looked at covers what sorts after it within it
	for _, l := range list {
		if under != nil && tree.IsWithin(l.path, under.path) {
			continue
		}
		if l.subtree {
			under = l
		} else {
			alone = append(alone, l.path)
		}
	}
	cur := make(map[string]*tree.Entry, len(alone))
	for e, err := range w.Walker.WalkPaths(ctx, alone) {
		if err != nil {
			return nil, err
		}
		cur[e.Path] = e
	}
	under = nil
	for _, l := range list {
		if under != nil && tree.IsWithin(l.path, under.path) {
			continue
		}
		sub, err := w.lookAt(ctx, d, l, cur[l.path])
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
		l := coveringLook(looks, ev.Path)
		if l == nil && ev.OldPath != "" {
			l = coveringLook(looks, ev.OldPath)
		}
		if (l == nil || l.parent && l.path == ev.Path) && ev.After != nil && ev.After.Type == tree.TypeDir && ev.Changed&^diff.DirEntryAttrs == 0 {
			// A parent looked at only to keep its state current, whose times and size
			// moved because of entries whose own events are still on their way.
			continue
		}
		if l != nil {
			ev.Source, ev.Process, ev.Writers = l.hint.Source, l.hint.Process, diff.Writers(l.writers)
		}
		out = append(out, *ev)
	}
	for _, l := range list {
		if !l.parent && !l.subtree && len(l.writers) > 0 && !slices.ContainsFunc(out, func(ev diff.Event) bool { return ev.Path == l.path }) {
			w.lateWriters(l.path, l.writers)
		}
	}
	return out, nil
}

// lateWriters names ws among the writers of the change of p still waiting for delivery:
// their notifications found nothing new at p because an earlier look, made after they
// wrote, already saw their change (the looks of a busy watcher lag behind the writers).
func (w *Watcher) lateWriters(p string, ws []*diff.Process) {
	if f := w.folds[p]; f != nil && f.n > 0 {
		for _, q := range ws {
			f.writers = diff.AddWriter(f.writers, q)
		}
		return
	}
	for i := len(w.pending) - 1; i >= 0; i-- {
		ev := &w.pending[i].ev
		if ev.Path != p {
			continue
		}
		if ev.Kind == diff.Change || ev.Kind == diff.Chmod || ev.Kind == diff.Create {
			all := writersOf(ev)
			for _, q := range ws {
				all = diff.AddWriter(all, q)
			}
			ev.Writers = diff.Writers(all)
			ev.Process = all[len(all)-1]
		}
		return
	}
}

// coveringLook returns the look at p, or the nearest subtree look above it: in time
// proportional to p's depth, not to the size of the batch.
func coveringLook(looks map[string]*look, p string) *look {
	if l := looks[p]; l != nil && l.hint != nil {
		return l
	}
	for q := p; ; {
		parent := path.Dir(q)
		if parent == q {
			return nil
		}
		q = parent
		if l := looks[q]; l != nil && l.hint != nil && l.subtree {
			return l
		}
	}
}

// lookAt compares the state of one path (and its subtree when that is asked for or
// when a directory appeared or went) with the filesystem: cur is what a walk of the
// path alone found there. It reports whether it looked at the subtree.
func (w *Watcher) lookAt(ctx context.Context, d *diff.Differ, l *look, cur *tree.Entry) (bool, error) {
	if !l.subtree {
		old, err := w.st.get(l.path)
		if err != nil {
			return false, err
		}
		isDir := func(e *tree.Entry) bool { return e != nil && e.Type == tree.TypeDir }
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
	walked := w.beating(w.watchingWalker().WalkPath(ctx, l.path, true), func(*tree.Entry) {})
	return true, diff.Join(d, tree.Entries(olds), walked)
}

// watchingWalker is the walker, which under fsnotify watches each directory as it lists
// it, before its names are read: what is made in it afterwards has an event, what was
// made before is listed. (Watched once the walk handed it over, a directory a worker
// had listed ahead lost what was made in it in between.)
func (w *Watcher) watchingWalker() *walk.Walker {
	if w.fsn == nil {
		return w.Walker
	}
	c := *w.Walker
	c.Listing = w.fsn.addFD
	return &c
}

// beating is the walk s, beating the loop's heart (and handing each entry to each) as
// it goes: a long walk is the loop at work, not a stall.
func (w *Watcher) beating(s tree.Seq, each func(*tree.Entry)) tree.Seq {
	return func(yield func(*tree.Entry, error) bool) {
		for e, err := range s {
			if err == nil {
				w.beat()
				each(e)
			}
			if !yield(e, err) {
				return
			}
		}
	}
}

// rescan compares everything with the filesystem, as check does, and queues the events.
// Stopped or failed, it leaves the state as it was.
func (w *Watcher) rescan(ctx context.Context, source string, now time.Time) error {
	r := &round{before: map[string]*tree.Entry{}}
	d := w.differ(r)
	start, n := time.Now(), 0
	err := diff.Join(d, w.st.iter(), w.beating(w.watchingWalker().Walk(ctx), func(*tree.Entry) { n++ }))
	if err == nil {
		w.entries = n
	}
	if w.Metrics != nil {
		w.Metrics.Rescanned(source, time.Since(start), err)
		if err == nil {
			w.Metrics.Entries(n)
		}
	}
	if err != nil {
		w.undo(r)
		return err
	}
	events := w.takeIn(d.Events(), r)
	w.scope = nil // what the policy of a reload brought in is in the state now
	for i := range events {
		events[i].Source = source
	}
	w.queue(events, r, now)
	return nil
}

// queue puts the events of round r in the order of delivery, folding true repeats
// within the dedup window.
//
// A repeat is an event of the same kind, changing the same attributes, that leaves the
// path as the event that opened the window did, apart from its times (mtime, ctime): a
// file touched or rewritten with the same content again and again. Any other event is
// a different change and is never held back; before it goes, the repeats held for its
// path (and, for an event that creates, removes or moves a path, for every path below
// it) go out, so that a consumer replaying the stream sees each path's events in the
// order they happened.
func (w *Watcher) queue(events []diff.Event, r *round, now time.Time) {
	r.left += len(events)
	w.rounds = append(w.rounds, r)
	for _, ev := range events {
		if f := w.folds[ev.Path]; f != nil && now.Sub(f.first) < w.DedupWindow && w.repeats(f, &ev) {
			f.n++
			f.last = ev
			for _, p := range writersOf(&ev) {
				f.writers = diff.AddWriter(f.writers, p)
			}
			f.rounds = append(f.rounds, r)
			continue
		}
		w.closeFolds(ev.Path, ev.Kind != diff.Change && ev.Kind != diff.Chmod || ev.Changed.Has(diff.AttrType))
		if ev.OldPath != "" {
			w.closeFolds(ev.OldPath, true)
		}
		w.pending = append(w.pending, pending{ev: ev, rounds: []*round{r}})
		if w.DedupWindow > 0 && (ev.Kind == diff.Change || ev.Kind == diff.Chmod) {
			w.folds[ev.Path] = &folded{first: now, ev: ev}
		}
	}
}

// repeats reports whether ev repeats the event that opened f's window.
func (w *Watcher) repeats(f *folded, ev *diff.Event) bool {
	if ev.Kind != f.ev.Kind || ev.Changed != f.ev.Changed || ev.OldPath != "" || ev.After == nil || f.ev.After == nil {
		return false
	}
	times := diff.AttrSet(0).With(diff.AttrMtime).With(diff.AttrCtime)
	return diff.Compare(f.ev.After, ev.After, times) == 0 && f.ev.After.Hash == ev.After.Hash
}

// writersOf returns the processes an event names.
func writersOf(ev *diff.Event) []*diff.Process {
	if ev.Writers != nil {
		return ev.Writers
	}
	if ev.Process != nil {
		return []*diff.Process{ev.Process}
	}
	return nil
}

// closeFolds closes the dedup window of p (and of every path below it, with subtree):
// the repeats held back are queued now.
func (w *Watcher) closeFolds(p string, subtree bool) {
	if len(w.folds) == 0 {
		return
	}
	var paths []string
	if f := w.folds[p]; f != nil {
		paths = append(paths, p)
	}
	if subtree {
		for q := range w.folds {
			if q != p && tree.IsWithin(q, p) {
				paths = append(paths, q)
			}
		}
		slices.SortFunc(paths, tree.ComparePaths)
	}
	for _, q := range paths {
		w.closeFold(q)
	}
}

// closeFold ends the dedup window of p: one event stands for the repeats held back, from
// the state reported when the window opened to the last one, with the attributes that
// differ between the two and the number of repeats. Repeats that end where the window
// opened changed nothing a consumer does not already know, and are not reported.
func (w *Watcher) closeFold(p string) {
	f := w.folds[p]
	delete(w.folds, p)
	if f.n == 0 {
		return
	}
	ev := f.last
	ev.Before, ev.OldPath = f.ev.After, ""
	var ignore diff.AttrSet
	if w.Filter != nil {
		_, ignore = w.Filter(p)
	}
	ev.Changed = diff.Compare(ev.Before, ev.After, ignore)
	if ev.Changed == 0 {
		for _, r := range f.rounds {
			r.left--
		}
		return
	}
	ev.Kind = diff.KindOf(ev.Changed)
	ev.Count = f.n
	ev.Writers = diff.Writers(f.writers)
	w.pending = append(w.pending, pending{ev: ev, rounds: f.rounds})
}

// expire closes the dedup windows that have passed (every one, when final), and
// reports whether that queued events.
func (w *Watcher) expire(now time.Time, final bool) bool {
	n := len(w.pending)
	var paths []string
	for p, f := range w.folds {
		if final || now.Sub(f.first) >= w.DedupWindow {
			paths = append(paths, p)
		}
	}
	slices.SortFunc(paths, tree.ComparePaths)
	for _, p := range paths {
		w.closeFold(p)
	}
	return len(w.pending) > n
}

// deliver hands the pending events on, in batches of at most BatchSize, as many as
// MaxEventsPerMinute lets through; it holds back the rest.
func (w *Watcher) deliver() error {
	w.pairAcross()
	room := w.room(time.Now())
	for len(w.pending) > 0 && !w.full && room != 0 {
		n := min(len(w.pending), w.BatchSize)
		if room > 0 {
			n = min(n, room)
		}
		events := make([]diff.Event, n)
		for i := range events {
			events[i] = w.pending[i].ev
		}
		if err := w.Emit(events); err != nil {
			if !errors.Is(err, ErrFull) {
				return err
			}
			w.full = true
			w.logf("changes are not queued for delivery until the backlog is delivered; then a rescan reports them")
			break
		}
		if w.Metrics != nil {
			w.Metrics.Handed(events)
		}
		if room > 0 {
			room -= n
			w.limit.sent += n
		}
		var rounds []*round
		for i, p := range w.pending[:n] {
			rounds = append(rounds, p.rounds...)
			if w.Update && w.Explained {
				w.holdOut(events[i], p.rounds)
			}
		}
		w.pending = w.pending[n:]
		if w.Acked == nil {
			for _, r := range rounds {
				r.left--
			}
		} else {
			w.inflight = append(w.inflight, rounds)
		}
	}
	if room == 0 && !w.full {
		// Past MaxEventsPerMinute: what is pending, and the repeats the dedup window
		// holds, wait for the rescan that ends the window.
		w.expire(time.Now(), true)
	}
	if room == 0 && !w.full && len(w.pending) > 0 {
		if w.limit.held == 0 {
			w.logf("rate limit: more than %d events within a minute: holding back the rest until %s, then a rescan reports them",
				w.MaxEventsPerMinute, w.limit.start.Add(w.limit.window).Format(time.TimeOnly))
		}
		w.limit.held += len(w.pending)
		w.limit.hold(w.pending)
		w.shed()
	}
	if w.full {
		w.shed()
	}
	w.pending = nil
	w.retire()
	return nil
}

// holdOut notes what ev, handed on in the rounds it stands for, means for the
// baseline Explained writes: an explained event releases its paths, and any other keeps
// them (and what lies below them) at their entries before the first of its rounds,
// unless they are kept already.
func (w *Watcher) holdOut(ev diff.Event, rounds []*round) {
	paths := map[string]bool{ev.Path: true}
	if ev.OldPath != "" {
		paths[ev.OldPath] = true
	}
	if ev.Verdict.Explained() {
		for p := range paths {
			delete(w.held, p)
		}
		return
	}
	if w.held == nil {
		w.held = map[string]*tree.Entry{}
	}
	for _, r := range rounds { // oldest first: the earliest state wins
		for p, e := range r.before {
			if _, kept := w.held[p]; !kept && withinAny(p, paths) {
				w.held[p] = e
			}
		}
	}
}

// collect notes the batches delivered since it was last called, waiting up to wait
// for them all, and reports whether nothing waits for delivery.
func (w *Watcher) collect(wait time.Duration) bool {
	if w.Acked == nil {
		return true
	}
	n, idle := w.Acked(wait)
	for ; w.acked < n && len(w.inflight) > 0; w.acked++ {
		for _, r := range w.inflight[0] {
			r.left--
		}
		w.inflight[0] = nil
		w.inflight = w.inflight[1:]
	}
	w.retire()
	return idle
}

// shed drops the events not handed on while the backlog is full, with the repeats the
// dedup window holds: the state of their paths (and of what lies below them) goes
// back to what it was before the first round that changed it without being handed
// on, so that the rescan made once the backlog is delivered reports them, and a
// baseline written meanwhile holds them as they were.
func (w *Watcher) shed() {
	w.expire(time.Now(), true)
	if len(w.pending) == 0 {
		return
	}
	roots := map[*round]map[string]bool{}
	for _, p := range w.pending {
		for _, r := range p.rounds {
			if roots[r] == nil {
				roots[r] = map[string]bool{}
			}
			roots[r][p.ev.Path] = true
			if p.ev.OldPath != "" {
				roots[r][p.ev.OldPath] = true
			}
			r.left--
		}
	}
	reverted := map[string]bool{}
	for _, r := range w.rounds { // oldest first: the earliest state wins
		in := roots[r]
		if in == nil {
			continue
		}
		for p, e := range r.before {
			if reverted[p] || !withinAny(p, in) {
				continue
			}
			reverted[p] = true
			w.st.set(p, e)
		}
	}
	w.dirty = true
	w.pending = nil
}

// withinAny reports whether p is one of roots or lies below one.
func withinAny(p string, roots map[string]bool) bool {
	for {
		if roots[p] {
			return true
		}
		parent := path.Dir(p)
		if parent == p {
			return false
		}
		p = parent
	}
}

// retire drops the rounds delivered in full from the head of the list.
func (w *Watcher) retire() {
	i := 0
	for i < len(w.rounds) && w.rounds[i].left <= 0 {
		i++
	}
	w.rounds = w.rounds[i:]
}

// pairAcross joins a pending remove and a later pending create of the same entry, looked
// at in different rounds (inotify reports a rename in two halves, which need not arrive
// together), into the rename or move one look at both would have reported; what moved
// along with a directory is then folded into its event, as in check.
func (w *Watcher) pairAcross() {
	var removed, created []int
	removedAt := map[string]bool{}
	for i, p := range w.pending {
		switch p.ev.Kind {
		case diff.Remove:
			removed = append(removed, i)
			removedAt[p.ev.Path] = true
		case diff.Create:
			if len(removed) > 0 && !removedAt[p.ev.Path] {
				created = append(created, i)
			}
		}
	}
	if len(created) == 0 {
		return
	}
	d := &diff.Differ{Filter: w.Filter}
	for _, i := range removed {
		d.Removed(w.pending[i].ev.Before)
	}
	for _, i := range created {
		d.Created(w.pending[i].ev.After)
	}
	pairs := map[string]diff.Event{} // new path → the event that stands for both halves
	keep := map[diff.Kind]map[string]bool{diff.Create: {}, diff.Remove: {}}
	for _, ev := range d.Events() {
		if ev.OldPath != "" {
			pairs[ev.Path] = ev
		} else if keep[ev.Kind] != nil {
			keep[ev.Kind][ev.Path] = true
		}
	}
	if len(pairs) == 0 {
		return
	}
	fed := map[int]bool{}
	for _, i := range append(removed, created...) {
		fed[i] = true
	}
	var gone []*round // the rounds of the halves that go: delivered with what stays
	out := w.pending[:0]
	for i, p := range w.pending {
		if fed[i] {
			if ev, ok := pairs[p.ev.Path]; ok && p.ev.Kind == diff.Create {
				ev.Source, ev.Process, ev.Writers = p.ev.Source, p.ev.Process, p.ev.Writers
				p.ev = ev
			} else if !keep[p.ev.Kind][p.ev.Path] {
				gone = append(gone, p.rounds...)
				continue
			}
		}
		out = append(out, p)
	}
	out[len(out)-1].rounds = append(out[len(out)-1].rounds, gone...)
	clear(w.pending[len(out):])
	w.pending = out
}

// maybeFlushState writes the state as the new baseline with --update: at most every
// FlushEvery, and at the end. A path whose events are not all delivered yet is written
// as it was before the first of them: the baseline never holds a change that was not
// reported.
func (w *Watcher) maybeFlushState(final bool) error {
	if !w.Update || w.DB == "" || !w.dirty || !final && time.Since(w.flushed) < w.FlushEvery {
		return nil
	}
	w.retire()
	undelivered := map[string]*tree.Entry{}
	for _, r := range w.rounds {
		for p, e := range r.before {
			if _, ok := undelivered[p]; !ok {
				undelivered[p] = e
			}
		}
	}
	waiting := len(undelivered) > 0
	for p, e := range w.held { // kept since before anything undelivered
		undelivered[p] = e
	}
	meta := w.Meta
	meta.Generation++
	snap := w.packages()
	defer snap.Abort()
	if snap != nil {
		meta.Packages = snap.Digest()
	}
	if err := w.writeState(w.DB, baseline.Overlay(w.st.iter(), undelivered), meta, w.Signer, w.KeyBase); err != nil {
		return err
	}
	w.Meta.Generation, w.Meta.Packages = meta.Generation, meta.Packages
	if snap != nil {
		f := snap.File()
		if err := snap.Commit(); err != nil {
			return err
		}
		if w.snapFile != nil {
			w.release([]*os.File{w.snapFile})
		}
		w.snapFile = f
	}
	// The state goes on from the new baseline, with what watch has seen of the paths
	// it left as they were.
	overlay := make(map[string]*tree.Entry, len(undelivered))
	for p := range undelivered {
		var err error
		if overlay[p], err = w.st.get(p); err != nil {
			return err
		}
	}
	w.flushed, w.dirty = time.Now(), waiting
	w.closeState()
	w.removeStateDir() // the baseline holds all of the state now
	r, err := baseline.Open(w.DB)
	if err != nil {
		return err
	}
	w.hold(r.Files())
	w.st.reset(r, overlay)
	w.digest = r.Meta().Digest
	return nil
}

// packages writes the package snapshot of the baseline about to be written (Packages),
// held as one of fim's own files; nil when there is none to write.
func (w *Watcher) packages() *provenance.PendingSnapshot {
	if w.Packages == nil {
		return nil
	}
	snap := w.Packages()
	if f := snap.File(); f != nil {
		w.hold([]*os.File{f})
	}
	return snap
}

// writeState writes entries as the baseline file, with meta, signed by signer when
// set.
func (w *Watcher) writeState(file string, entries tree.Seq, meta baseline.Meta, signer ed25519.PrivateKey, keyBase string) error {
	wr, err := baseline.Create(file)
	if err != nil {
		return err
	}
	w.hold(wr.Files())
	defer w.release(wr.Files())
	wr.Signer, wr.KeyBase = signer, keyBase
	for e, err := range entries {
		if err == nil {
			err = wr.Add(e)
		}
		if err != nil {
			wr.Abort()
			return err
		}
	}
	meta.Created = time.Now().UTC()
	return wr.Commit(meta)
}

// overlayMax bounds the paths the state holds in memory (see maybeFoldState).
const overlayMax = 1 << 16

// maybeFoldState writes the whole state, the baseline (if any) under what watch has
// seen since, to fim's own state file, and reads it from there, when more than
// overlayMax paths have changed since the baseline was read: fim's memory then follows
// the changes of the last moments, not the size of the tree nor everything created
// since it started. The state file is a baseline in a private directory (0700) under
// $TMPDIR, removed when watch ends; the baseline of --db is not touched (--update
// rewrites it as before). It is called between rounds, never while a walk reads the
// state.
func (w *Watcher) maybeFoldState() error {
	max := w.foldAt
	if max <= 0 {
		max = overlayMax
	}
	if len(w.st.overlay) <= max {
		return nil
	}
	if w.stateDir == "" {
		dir, err := os.MkdirTemp("", "fim-watch-")
		if err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
		w.stateDir = dir
		w.logf("state: more than %d paths changed since the start: the state is kept in %s from now on", max, dir)
	}
	file := filepath.Join(w.stateDir, "state.db")
	if err := w.writeState(file, w.st.iter(), w.Meta, nil, ""); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	r, err := baseline.Open(file)
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	if old := w.st.base; old != nil && old.Path() == w.DB && w.kept == nil {
		// Still fim's own file: a walk must go on leaving it out.
		w.kept, w.st.base = old, nil
	} else if old != nil {
		w.release(old.Files())
		old.Close()
	}
	w.hold(r.Files())
	w.st.reset(r, nil)
	return nil
}
