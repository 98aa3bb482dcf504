// Package check is the pipeline every command runs, from a baseline to events: Open
// opens a baseline and proves it (signature, freshness) and reads the policy it was made
// with; Walker builds the one walker of a policy; Compare merges the walk of the tree (or
// a second baseline, for fim diff) with the baseline's records into the differ's events;
// Check hands them to the report, then commits the walk as the baseline's successor
// (check --update: Baseline.Commit); Create and Record write a new baseline (fim
// baseline); Accept selects what fim accept takes, lays it over the baseline (Changes)
// and reports it before the commit; NewWatch and Watch.Run give fim watch its policy,
// walker and baseline, and annotate its batches as Compare does; List hands on the
// records of a proved baseline (fim list); VerifyPackages checks installed packages'
// files without a baseline, trusting a baseline's verdicts (fim verify-packages);
// ReadImage reads a tree from a tar stream or an mtree specification in place of a walk. The commands differ only in their ends: what they
// do with the events, and whether a new baseline is written.
//
// Contracts:
//   - A walk leaves out only the files fim holds open (Options.Own, the baseline's own
//     files and its package snapshot), by device and inode (walk.OwnFiles).
//   - The events are those of one ordered merge (diff.Join) of the whole walk with the
//     whole baseline, annotated after the merge (Annotate: package provenance with
//     Options.Provenance, then the policy's severity) and ordered: those the package
//     manager does not explain first, then the most severe first (diff.Rank), then by path; an Update writer
//     receives every walked entry, in key order, before the events are returned, and
//     nothing is committed here.
//   - A policy is adjusted (ReadImage) on a copy, before it is compiled.
//   - A baseline's successor has the key base of the policy it is checked with
//     (KeyBase), carries on its accept history and generation count, and is committed
//     only after the report is delivered: until then the baseline is left as it was.
//   - Every baseline written (Record, Commit, a watch's update) seals the package
//     snapshot beside it in its meta (baseline.Meta.Packages): with package provenance,
//     one written after the walk and put in place once the baseline is committed;
//     without (or when it cannot be written), a successor keeps the one of the
//     baseline it replaces (carry), and a new baseline (Record) seals none.
package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"fim/baseline"
	"fim/config"
	"fim/diff"
	"fim/provenance"
	"fim/severity"
	"fim/textcopy"
	"fim/tree"
	"fim/walk"
)

// ErrNeedsRoot says a baseline read from an image (--from-tar, --from-mtree) was
// checked without the directory the image is unpacked in.
var ErrNeedsRoot = errors.New("read from an image, not from this host: give the unpacked tree to check")

// ErrPackages says the package databases of a Compare's Provenance could not be read
// (the root they are under cannot be opened).
var ErrPackages = errors.New("package provenance")

// CopyKey returns the key of the secrets redacted in the copies of the baseline whose
// meta is m (baseline.Meta.CopyKey); a baseline that has none (it keeps no copies) has
// the zero key.
func CopyKey(m baseline.Meta) textcopy.Key {
	k, _ := textcopy.ParseKey(m.CopyKey) // checked when the meta was read
	return k
}

// Policy decodes and compiles the policy a baseline was made with, its walks keeping
// copies with the baseline's key (CopyKey). A policy that does
// not decode or compile makes the baseline unusable (baseline.ErrBadBaseline).
func Policy(r *baseline.Reader) (*config.Policy, *config.Compiled, error) {
	var pol config.Policy
	if err := json.Unmarshal(r.Meta().Policy, &pol); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: corrupt options in meta: %v", baseline.ErrBadBaseline, r.Path(), err)
	}
	comp, err := pol.Compile()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: bad options in meta: %v", baseline.ErrBadBaseline, r.Path(), err)
	}
	comp.SetCopyKey(CopyKey(r.Meta()))
	return &pol, comp, nil
}

// Root returns the directory a check of a baseline with policy pol reads the tree
// under: root when it is given, else the stored one. A baseline read from an image
// needs root (ErrNeedsRoot).
func Root(pol *config.Policy, root string) (string, error) {
	if root == "" {
		root = pol.Root
	} else {
		var err error
		if root, err = filepath.Abs(root); err != nil {
			return "", err
		}
	}
	if pol.Source != "" && root == "" {
		return "", fmt.Errorf("%w (it was read from %s)", ErrNeedsRoot, pol.Source)
	}
	return root, nil
}

// WalkerOptions are what a walker needs beyond the compiled policy.
type WalkerOptions struct {
	Root       string // the directory the tree is read under ("": the host's /)
	Workers    int    // 0: the walker's default (walk.Walker.Workers)
	MaxEntries int
	Warn       func(path string, err error)
	// Own are the files fim holds open: the baseline read, its lock, a baseline being
	// written. One that is not a file fim could have made is named to Warn and recorded.
	Own []*os.File
	// ReadLimit, if set, paces the reading of file content (--max-read-rate).
	ReadLimit *walk.ReadLimit
}

// Walker returns the walker of a compiled policy: the one way every command walks.
func Walker(comp *config.Compiled, o WalkerOptions) *walk.Walker {
	own := &walk.OwnFiles{}
	for _, f := range o.Own {
		if f == nil {
			continue
		}
		if err := own.Add(f); err != nil && o.Warn != nil {
			o.Warn(f.Name(), errors.New("not a file of fim's: recorded like any other"))
		}
	}
	return &walk.Walker{Roots: comp.Roots(), Prefix: o.Root, Workers: o.Workers, MaxEntries: o.MaxEntries, Warn: o.Warn, Own: own,
		ReadLimit: o.ReadLimit}
}

// Filter is the filter of a check of the baseline at db whose tree is read under root:
// the policy's, with extra attributes ignored everywhere and, on the directory that
// holds the baseline, what writing it changes (diff.DirEntryAttrs).
func Filter(comp *config.Compiled, db, root string, extra diff.AttrSet) diff.Filter {
	dbDir, dbDirRecorded := walk.RecordedPath(root, filepath.Dir(db))
	dbDirRecorded = dbDirRecorded && db != ""
	return func(p string) (diff.KindSet, diff.AttrSet) {
		kinds, ignore := comp.Filter(p)
		if dbDirRecorded && p == dbDir {
			ignore |= diff.DirEntryAttrs
		}
		return kinds, ignore | extra
	}
}

// Options say what to compare and what to do on the way.
type Options struct {
	Baseline *baseline.Reader
	Compiled *config.Compiled // the baseline's policy (Policy)
	DB       string           // where the baseline lives: its directory's own noise is ignored
	// Against, if set, is the current side in place of a walk of the tree: fim diff
	// compares two baselines, paths as recorded.
	Against *baseline.Reader
	Ignore  diff.AttrSet // attributes not compared anywhere, on top of the policy's
	// Fast keeps the recorded hash of a file whose device, inode, size, mtime and ctime
	// are as recorded (fim check --fast).
	Fast bool
	// Update, if set, receives every walked entry: the baseline that replaces this one.
	Update *baseline.Writer
	Walker WalkerOptions // Own need not list the baseline's and Update's files
	// Progress, if set, is called with every walked entry.
	Progress func(*tree.Entry)
	// Seen, if set, is called for every path with its recorded and current entries
	// (see diff.Differ.Seen).
	Seen func(old, cur *tree.Entry)
	// Severity, if set, grades the events in place of the policy's table (a
	// configuration's rules read for this run).
	Severity *severity.Table
	// Provenance, if set, annotates the events with what the package databases say
	// of them, after the diff (provenance.Annotator.Annotate). A walk leaves out the
	// package snapshot and the writer journal kept beside DB (provenance.OpenSnapshot,
	// OpenJournalFile).
	Provenance *provenance.Annotator
	// NoDiffs leaves the events without content diffs (--redact); a policy's redact
	// setting does the same.
	NoDiffs bool
}

// Compare walks the tree (or reads Against) beside the baseline and returns the
// differences, as events graded and ordered by Annotate. An error of the package
// databases' root is ErrPackages.
func Compare(ctx context.Context, o Options) ([]diff.Event, error) {
	d := &diff.Differ{Filter: Filter(o.Compiled, o.DB, o.Walker.Root, o.Ignore), Seen: o.Seen}
	it := o.Baseline.Iter()
	var current tree.Seq
	if o.Against != nil {
		current = o.Against.Entries(ctx)
	} else {
		wo := o.Walker
		wo.Own = append(append(append([]*os.File(nil), wo.Own...), o.Baseline.Files()...), updateFiles(o.Update)...)
		// the baseline's package snapshot and writer journal are fim's too
		for _, f := range []*os.File{provenance.OpenSnapshot(o.DB), provenance.OpenJournalFile(o.DB)} {
			if f != nil {
				defer f.Close()
				wo.Own = append(wo.Own, f)
			}
		}
		wk := Walker(o.Compiled, wo)
		if o.Provenance != nil {
			// a changed package file's digest is taken in the read that hashes it
			wk.Side = o.Provenance.Digests().ChangedSince(o.Baseline.Meta().Created)
		}
		if o.Fast || growing(wk.Roots) || wk.Side != nil {
			newLookup, done := it.Prior()
			defer done()
			wk.Prior, wk.Fast = newLookup, o.Fast
		}
		current = wk.Walk(ctx)
	}
	if err := diff.Join(d, it.Entries(ctx), o.passing(current)); err != nil {
		return nil, err
	}
	events := d.Events()
	if !o.NoDiffs && !o.Compiled.Redact() {
		cur := OwnCopy
		if o.Against != nil {
			cur = StoredCopy(o.Against)
		}
		AddDiffs(events, StoredCopy(o.Baseline), cur, o.Walker.Warn)
	}
	sev := o.Compiled.Severity()
	if o.Severity != nil {
		sev = o.Severity
	}
	if err := Annotate(events, o.Provenance, sev); err != nil {
		return nil, err
	}
	return events, nil
}

// passing is current, each entry shown to Progress and added to Update on its way to
// the merge; an error of Update ends it.
func (o *Options) passing(current tree.Seq) tree.Seq {
	if o.Progress == nil && o.Update == nil {
		return current
	}
	return func(yield func(*tree.Entry, error) bool) {
		for e, err := range current {
			if err == nil && o.Progress != nil {
				o.Progress(e)
			}
			if err == nil && o.Update != nil {
				if err = o.Update.Add(e); err != nil {
					e = nil
				}
			}
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

// Annotate is what every command adds to the differ's events: what the package
// databases say of them (prov, if set), then their severity and its reasons (sev, if
// set), which may depend on the verdict. It orders the events (diff.Rank). An error of prov is
// ErrPackages; the events are graded and ordered all the same.
func Annotate(events []diff.Event, prov *provenance.Annotator, sev *severity.Table) error {
	var err error
	if prov != nil {
		if perr := prov.Annotate(events); perr != nil {
			err = fmt.Errorf("%w: %w", ErrPackages, perr)
		}
	}
	if sev != nil {
		sev.Annotate(events)
	}
	diff.Rank(events)
	return err
}

// AtLeast returns the events of severity min or above, and the notices, in their
// order: all of them when min is diff.SeverityUnset. It shares the events' array when
// it keeps them all.
func AtLeast(events []diff.Event, min diff.Severity) []diff.Event {
	below := func(ev *diff.Event) bool { return ev.Severity < min && !ev.Kind.IsNotice() }
	if !slices.ContainsFunc(events, func(ev diff.Event) bool { return below(&ev) }) {
		return events
	}
	out := make([]diff.Event, 0, len(events))
	for i := range events {
		if !below(&events[i]) {
			out = append(out, events[i])
		}
	}
	return out
}

// growing reports whether a root has growing files, which the walk checks against
// their records.
func growing(roots []walk.Root) bool {
	return slices.ContainsFunc(roots, func(r walk.Root) bool { return r.Growing })
}

func updateFiles(w *baseline.Writer) []*os.File {
	if w == nil {
		return nil
	}
	return w.Files()
}

// Check compares the tree (or Options.Against) with b (Compare; Options.Baseline and
// Compiled are b's) and hands the events to report. With b's successor (OpenOptions.Replace) the walk is the
// new baseline, stamped s, committed once report has delivered the events, with a new
// package snapshot when Options.Provenance is set (Commit): a difference that could
// not be reported stays a difference. It returns the events and
// the meta committed (zero: none).
func Check(ctx context.Context, b *Baseline, o Options, s Stamp, report func([]diff.Event) error) ([]diff.Event, baseline.Meta, error) {
	o.Baseline, o.Compiled, o.Update = b.Reader, b.Compiled, b.next
	events, err := Compare(ctx, o)
	if err != nil {
		return nil, baseline.Meta{}, err
	}
	if err := report(events); err != nil {
		if b.next != nil {
			err = fmt.Errorf("baseline not updated: %w", err)
		}
		return events, baseline.Meta{}, err
	}
	if b.next == nil {
		return events, baseline.Meta{}, nil
	}
	meta, err := b.Commit(s, nil, o.Provenance)
	return events, meta, err
}
