package check

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"fim/baseline"
	"fim/config"
	"fim/diff"
	"fim/output"
	"fim/provenance"
	"fim/textcopy"
	"fim/tree"
	"fim/walk"
	"fim/watch"
)

// ErrNeedsSigner says a signed baseline was to be replaced (check --update, watch
// --update) without a key to sign its successor: a signed baseline never gives way to
// an unsigned one.
var ErrNeedsSigner = errors.New("signed: its successor must be signed too")

// WatchOptions say what fim watch watches and what it compares with.
type WatchOptions struct {
	// What to watch: Paths (every hidden name included) if given, else the policy of
	// Config, else the policy DB was made with.
	Paths  []string
	Config *config.Config
	// DB is the baseline compared with when watch starts ("": watch starts from what
	// it sees); Update keeps it current, signed with Signer (needed when DB is signed),
	// each rewrite stamped Stamp.
	DB     string
	Update bool
	// Explained, with Update, takes into the baseline only the changes whose verdict
	// is explained (watch.Watcher.Explained).
	Explained bool
	Signer    ed25519.PrivateKey
	Stamp     Stamp
	Ignore    diff.AttrSet // attributes not compared anywhere, on top of the policy's
	// Walker are the walk's options; its root and entry limit are the policy's.
	Walker WalkerOptions
	// Provenance, if set, annotates every batch with what the package databases under
	// the policy's root say of it, as Compare does; its Root, Since, Snapshot and
	// SnapshotDigest are the watch's. With Update, each baseline written seals a
	// package snapshot written with it, a new one whenever a package database changed;
	// it keeps the old record of a package whose record was forged since
	// (provenance.PrepareSnapshot), so a held-out change stays tampered.
	Provenance *provenance.Options
	// Logf, if set, is told of the warnings of package provenance, one a line, and of
	// the spool's delivery.
	Logf func(format string, args ...any)
	// SpoolDir keeps the batches the output has not taken yet (Spool): SpoolDir(DB)
	// when "", in memory without a baseline; SpoolMax is the most it holds, a size such
	// as 64MiB ("": output.DefaultSpoolMax).
	SpoolDir, SpoolMax string
}

// Watch is fim watch's pipeline before it runs: the policy chosen and compiled, the one
// walker of it leaving out fim's own files, the meta of the baselines an update writes
// and the package provenance of its events.
type Watch struct {
	Policy   *config.Policy
	Compiled *config.Compiled
	o        WatchOptions
	walker   *walk.Walker
	meta     baseline.Meta
	prov     *provenance.Annotator
	snap     *os.File // the baseline's package snapshot, fim's own file
	journal  *provenance.Journal
	key      textcopy.Key
	inForce  *config.Config // the configuration a reload is compared with (Reconfigure)
	spoolMax int64
	// mu guards the policy against Emit and the package snapshots, and the annotator.
	mu sync.Mutex
}

// NewWatch chooses the policy of a watch (WatchOptions), compiles it, and prepares its
// walker, the meta an update carries on from DB (Continue) and the package provenance
// of its events. A policy that does not compile, or a path that has no absolute form,
// is an *OptionError; an update of a signed DB without a Signer is ErrNeedsSigner.
func NewWatch(o WatchOptions) (*Watch, error) {
	var spoolMax int64
	if o.SpoolMax != "" {
		n, err := config.ParseSize(o.SpoolMax)
		if err != nil || n == 0 {
			return nil, optionErr("--spool-max %q: want a size in bytes, e.g. 64MiB", o.SpoolMax)
		}
		spoolMax = n
	}
	pol, err := watchPolicy(o)
	if err != nil {
		return nil, err
	}
	comp, err := pol.Compile()
	if err != nil {
		return nil, &OptionError{err.Error()}
	}
	meta, err := NewMeta(pol, o.Stamp)
	if err != nil {
		return nil, err
	}
	prior, signed := Continue(o.DB, meta)
	// The copies the watch takes are compared with DB's, and kept in what an update
	// writes: they are redacted with DB's key, or a new one.
	key := textcopy.NewKey()
	if prior.CopyKey != "" {
		key = CopyKey(prior)
	}
	comp.SetCopyKey(key)
	if o.Update {
		if signed && o.Signer == nil {
			return nil, fmt.Errorf("%s: %w", o.DB, ErrNeedsSigner)
		}
		meta = prior
		if comp.KeepsCopies() && meta.CopyKey == "" {
			meta.CopyKey = key.Encode()
		}
	}
	wt := &Watch{Policy: pol, Compiled: comp, o: o, inForce: o.Config, meta: meta, snap: provenance.OpenSnapshot(o.DB), key: key, spoolMax: spoolMax}
	wo := o.Walker
	wo.Root, wo.MaxEntries = pol.Root, pol.MaxEntries
	wo.Own = append(slices.Clip(wo.Own), wt.snap)
	if o.DB != "" {
		if wt.journal, err = provenance.OpenJournal(o.DB); err != nil {
			wt.logf("warning: %v; the writers of changes are not journaled", err)
		} else {
			wo.Own = append(wo.Own, wt.journal.File())
		}
	}
	wt.walker = Walker(comp, wo)
	if o.Provenance != nil {
		po := *o.Provenance
		po.Root, po.Since, po.Snapshot = pol.Root, time.Now(), provenance.SnapshotPath(o.DB)
		po.SnapshotDigest = prior.Packages // what DB seals (carry)
		wt.prov = provenance.New(po)
		if err := wt.prov.Load(); err != nil {
			wt.logf("warning: package provenance: %v", err)
		}
	}
	return wt, nil
}

// watchPolicy chooses the policy of a watch: the paths, the configuration's, or the one
// the baseline was made with.
func watchPolicy(o WatchOptions) (*config.Policy, error) {
	switch {
	case len(o.Paths) > 0:
		return NewPolicy(PolicyOptions{Paths: o.Paths, Limits: config.Rule{IncludeHidden: true}})
	case o.Config != nil:
		return o.Config.Policy(), nil
	}
	b, err := Open(o.DB, OpenOptions{}) // the watch validates the whole baseline as it loads it
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return b.Policy, nil
}

func (wt *Watch) logf(format string, args ...any) {
	if wt.o.Logf != nil {
		wt.o.Logf(format, args...)
	}
}

// Hold counts f as one of fim's own files (a spool's), left out of every walk until
// Release; one that is not a file fim could have made is named to the walker's Warn.
func (wt *Watch) Hold(f *os.File) {
	if err := wt.walker.Own.Add(f); err != nil && wt.o.Walker.Warn != nil {
		wt.o.Walker.Warn(f.Name(), err)
	}
}

// Release stops counting f as fim's own, before it is closed.
func (wt *Watch) Release(f *os.File) { wt.walker.Own.Remove(f) }

// Spool puts a spool between rep and its output (output.OpenSpool): the batches the
// output has not taken yet are kept in the watch's SpoolDir, left out of every walk,
// and w is told of each one delivered. m, if set, is told of every attempt.
func (wt *Watch) Spool(rep *Reporter, w *watch.Watcher, m output.DeliveryMetrics) (*output.Spool, error) {
	spool, err := output.OpenSpool(rep.Sink, output.SpoolOptions{Dir: cmp.Or(wt.o.SpoolDir, SpoolDir(wt.o.DB)), Max: wt.spoolMax,
		Logf: wt.o.Logf, Hold: wt.Hold, Release: wt.Release, Metrics: m})
	if err != nil {
		return nil, err
	}
	rep.Sink, w.Acked = spool, spool.Delivered
	return spool, nil
}

// Run runs w, its event sources, batching and delivery as the caller set them, over the
// watch's walker, filter and baseline, until ctx ends. Every batch is annotated,
// graded and given its content diffs as Compare does a check's events (the recorded
// side's copies are the watch state's: DB's, or what the watch last read) (a failure of the package databases is a
// warning: the watch goes on), then handed to report, one batch at a time; report's errors are
// Emit's (watch.ErrFull).
func (wt *Watch) Run(ctx context.Context, w *watch.Watcher, report func([]diff.Event) error) error {
	w.Walker, w.Filter = wt.walker, Filter(wt.Compiled, "", "", wt.o.Ignore)
	w.DB, w.Update, w.Explained, w.Meta = wt.o.DB, wt.o.Update, wt.o.Explained, wt.meta
	if wt.o.Update {
		w.Signer, w.KeyBase = wt.o.Signer, KeyBase(wt.Compiled)
		if wt.prov != nil {
			w.Packages = wt.snapshots()
		}
	}
	w.Emit = func(events []diff.Event) error {
		wt.mu.Lock()
		defer wt.mu.Unlock()
		own := events
		// The watch keeps its own order; its notices go first, neither journaled nor
		// annotated.
		events = slices.Clone(events)
		slices.SortStableFunc(events, func(a, b diff.Event) int { return cmp.Compare(notice(b), notice(a)) })
		n := 0
		for n < len(events) && events[n].Kind.IsNotice() {
			n++
		}
		changes := events[n:]
		if wt.journal != nil {
			if err := wt.journal.Append(changes, time.Now()); err != nil {
				wt.logf("warning: %v", err)
			}
		}
		if err := Annotate(changes, wt.prov, wt.Compiled.Severity()); err != nil {
			wt.logf("warning: %v", err)
		}
		verdicts(own, changes)
		if !wt.Compiled.Redact() {
			// The state's records carry the copies they were read or walked with.
			AddDiffs(changes, OwnCopy, OwnCopy, wt.o.Walker.Warn)
		}
		return report(events)
	}
	return w.Run(ctx)
}

// Reload compares the policy of the configuration next (SIGHUP's) with the one in
// force. When the watch's policy is its configuration's (WatchOptions: no Paths) and
// next's differs, it returns the function that puts next's policy in force in w, the
// running watch: call it from a function handed to w's Retune (see
// watch.Watcher.Repolicy). The root the tree is read under stays the one in force.
// Otherwise it returns nil. A policy that does not compile is an *OptionError, and the
// policy in force stays.
//
// With Update, the baselines written from then on record next's policy: the one the
// watch compares with, so that a check of them compares what the watch did.
func (wt *Watch) Reload(next *config.Config) (func(w *watch.Watcher), error) {
	if len(wt.o.Paths) > 0 || wt.o.Config == nil || next == nil {
		return nil, nil
	}
	pol := next.Policy()
	pol.Root = wt.Policy.Root
	raw, err := json.Marshal(pol)
	if err != nil {
		return nil, err
	}
	if was, err := json.Marshal(wt.Policy); err == nil && bytes.Equal(raw, was) {
		return nil, nil
	}
	comp, err := pol.Compile()
	if err != nil {
		return nil, &OptionError{err.Error()}
	}
	comp.SetCopyKey(wt.key)
	wo := wt.o.Walker
	wo.Root, wo.MaxEntries = pol.Root, pol.MaxEntries
	walker := Walker(comp, wo)
	filter := Filter(comp, "", "", wt.o.Ignore)
	return func(w *watch.Watcher) {
		wt.mu.Lock()
		wt.Policy, wt.Compiled, wt.o.Config = pol, comp, next
		wt.mu.Unlock()
		w.Repolicy(watch.Policy{Walker: walker, Filter: filter, Meta: raw, KeyBase: KeyBase(comp)})
	}, nil
}

// notice is 1 for an event of a notice kind, else 0.
func notice(ev diff.Event) int {
	if ev.Kind.IsNotice() {
		return 1
	}
	return 0
}

// snapshots returns the watch.Watcher's Packages: the package snapshot of each baseline
// an update writes, when a package database changed since the last was written
// (provenance.Stamp), else nil, and the baseline keeps the one it has. The snapshot the
// watch's events are explained by is read before it is first replaced.
func (wt *Watch) snapshots() func() *provenance.PendingSnapshot {
	last := ""
	return func() *provenance.PendingSnapshot {
		wt.mu.Lock()
		defer wt.mu.Unlock()
		stamp := provenance.Stamp(wt.Policy.Root)
		if stamp == last {
			return nil
		}
		wt.prov.Snapshot()
		p := wt.prov.NextSnapshot(provenance.SnapshotPath(wt.o.DB), RootPaths(wt.Compiled), false)
		if p != nil {
			last = stamp
		}
		return p
	}
}

// Close lets go of the package databases, the snapshot and the journal.
func (wt *Watch) Close() {
	wt.prov.Close()
	if wt.journal != nil {
		wt.journal.Close()
	}
	if wt.snap != nil {
		wt.snap.Close()
	}
}

// verdicts gives each event of own the verdict of its copy among annotated, which
// Annotate reordered (watch.Watcher.Explained reads them).
func verdicts(own, annotated []diff.Event) {
	type id struct {
		kind          diff.Kind
		path, oldPath string
		before, after *tree.Entry
	}
	of := make(map[id]diff.Verdict, len(annotated))
	for _, ev := range annotated {
		of[id{ev.Kind, ev.Path, ev.OldPath, ev.Before, ev.After}] = ev.Verdict
	}
	for i, ev := range own {
		own[i].Verdict = of[id{ev.Kind, ev.Path, ev.OldPath, ev.Before, ev.After}]
	}
}

// QueuedEvents maps fim watch's --queue-events n to watch.Watcher.QueuedEvents: its
// default, watch.DefaultQueuedEvents, to the larger of it and the system's value (0),
// 0 or less to the system's value (-1), any other n to itself.
func QueuedEvents(n int) int {
	switch {
	case n == watch.DefaultQueuedEvents:
		return 0
	case n <= 0:
		return -1
	}
	return n
}
