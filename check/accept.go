package check

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path"
	"slices"
	"strconv"
	"time"

	"fim/baseline"
	"fim/diff"
	"fim/tree"
	"fim/walk"
)

// Selector says which differences fim accept takes: those matching one of Globs (on
// the path or, for a rename or move, the old path; no globs: any), of a kind in Kinds
// (with AnyKind: any) and, with Explained, that the package manager explains (a
// verdict of match or removed: see package provenance).
type Selector struct {
	Globs     []walk.Matcher
	Kinds     diff.KindSet
	AnyKind   bool
	Explained bool
}

// Match reports whether the selector takes ev.
func (s *Selector) Match(ev *diff.Event) bool {
	if !s.AnyKind && !s.Kinds.Has(ev.Kind) {
		return false
	}
	if s.Explained && !ev.Verdict.Explained() {
		return false
	}
	if len(s.Globs) == 0 {
		return true
	}
	for _, g := range s.Globs {
		if g.Match(ev.Path) || ev.OldPath != "" && g.Match(ev.OldPath) {
			return true
		}
	}
	return false
}

// Changes is what a check found, kept so that the accepted part of it can be laid over
// the baseline (fim accept): the events and, of the current entries, only those that
// differ. Its Seen is the Options.Seen of the Compare that found them.
type Changes struct {
	Events  []diff.Event
	created map[string]*tree.Entry // current entries at paths the baseline does not hold
	removed map[string]bool        // recorded paths that hold nothing now
	dirs    map[string]*tree.Entry // current directories that differ from their record
	// keep: attributes --ignore leaves out of the comparison, which an accepted
	// difference keeps as recorded, so that they are not accepted unseen.
	keep diff.AttrSet
}

// NewChanges returns an empty Changes; keep is the attributes the comparison ignored
// beyond the policy's (--ignore).
func NewChanges(keep diff.AttrSet) *Changes {
	return &Changes{created: map[string]*tree.Entry{}, removed: map[string]bool{}, dirs: map[string]*tree.Entry{}, keep: keep}
}

// Seen is the Differ's Seen hook.
func (ch *Changes) Seen(old, cur *tree.Entry) {
	switch {
	case old == nil:
		ch.created[cur.Path] = cur
	case cur == nil:
		ch.removed[old.Path] = true
	case cur.Type == tree.TypeDir && diff.Compare(old, cur, ch.keep) != 0:
		ch.dirs[cur.Path] = diff.Keep(old, cur, ch.keep)
	}
}

// Overlay returns the records to lay over the baseline (nil: drop the record) so that
// the events take accepts are differences no more, while every other event stays one:
//   - an accepted event's path gets its current entry (none for a remove), and the old
//     path of a rename or move loses its record;
//   - an accepted rename or move of a directory also moves every record that moved
//     with it: those the differ folded into its event (unchanged) get their current
//     entry, and those reported as changed since get their old record at the new path,
//     so that the change stays reported there. Each entry belongs to the nearest moved
//     directory above it that has an event, so an unaccepted move nested in an accepted
//     one stays as it was. What was created in it or removed from it stays too;
//   - the directory holding an accepted event's path (or old path) gets its current
//     entry when it differs without an event of its own: the differ leaves out a
//     directory whose only change is the mtime, ctime, size or nlink that entries
//     created or removed in it cause, which the next check would otherwise report.
func (ch *Changes) Overlay(take func(*diff.Event) bool) map[string]*tree.Entry {
	over := map[string]*tree.Entry{}
	named := map[string]bool{} // paths some event names
	movedTo, movedFrom := map[string]*diff.Event{}, map[string]*diff.Event{}
	for i := range ch.Events {
		ev := &ch.Events[i]
		named[ev.Path] = true
		if ev.OldPath != "" {
			named[ev.OldPath] = true
		}
		if (ev.Kind == diff.Rename || ev.Kind == diff.Move) && ev.Before.Type == tree.TypeDir && ev.After.Type == tree.TypeDir {
			movedTo[ev.Path], movedFrom[ev.OldPath] = ev, ev
		}
	}
	for i := range ch.Events {
		ev := &ch.Events[i]
		if !take(ev) {
			continue
		}
		if ev.Kind == diff.Remove {
			over[ev.Path] = nil
		} else {
			over[ev.Path] = diff.Keep(ev.Before, ev.After, ch.keep)
		}
		if ev.OldPath != "" {
			over[ev.OldPath] = nil
		}
		for _, p := range []string{ev.Path, ev.OldPath} {
			if p == "" || p == "/" {
				continue
			}
			dir := path.Dir(p)
			if cur := ch.dirs[dir]; cur != nil && !named[dir] {
				if _, set := over[dir]; !set {
					over[dir] = cur
				}
			}
		}
	}
	if len(movedTo) == 0 {
		return over
	}
	// owner is the nearest moved directory above p with an event.
	owner := func(p string, moved map[string]*diff.Event) *diff.Event {
		for p != "/" {
			p = path.Dir(p)
			if ev := moved[p]; ev != nil {
				return ev
			}
		}
		return nil
	}
	for i := range ch.Events {
		ev := &ch.Events[i]
		if ev.OldPath == "" || ev.Kind != diff.Change && ev.Kind != diff.Chmod || take(ev) {
			continue
		}
		// Moved along with an accepted directory, and changed: the record moves, its
		// change stays to be reported at the new path.
		if dir := owner(ev.Path, movedTo); dir != nil && take(dir) {
			moved := *ev.Before
			moved.Path = ev.Path
			over[ev.Path], over[ev.OldPath] = &moved, nil
		}
	}
	for p, cur := range ch.created {
		if ev := owner(p, movedTo); !named[p] && ev != nil && take(ev) {
			over[p] = cur
		}
	}
	for p := range ch.removed {
		if ev := owner(p, movedFrom); !named[p] && ev != nil && take(ev) {
			over[p] = nil
		}
	}
	return over
}

// Select returns the events sel takes, in order, and the take function of Overlay
// that says so of ch.Events.
func (ch *Changes) Select(sel *Selector) ([]diff.Event, func(*diff.Event) bool) {
	var accepted []diff.Event
	take := map[*diff.Event]bool{}
	for i := range ch.Events {
		if ev := &ch.Events[i]; sel.Match(ev) {
			take[ev] = true
			accepted = append(accepted, *ev)
		}
	}
	return accepted, func(ev *diff.Event) bool { return take[ev] }
}

// Write adds to w the records of r with the events take selects accepted (Overlay):
// the baseline that replaces r, less its commit.
func (ch *Changes) Write(w *baseline.Writer, r *baseline.Reader, take func(*diff.Event) bool) error {
	for e, err := range baseline.Overlay(r.Entries(context.Background()), ch.Overlay(take)) {
		if err == nil {
			err = w.Add(e)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// AcceptOptions say what fim accept compares and takes.
type AcceptOptions struct {
	Options           // the comparison: Accept sets its Baseline, Compiled and Seen
	Select  *Selector // the differences to accept
	Stamp   Stamp     // of the new baseline
	// Selectors are the flags that made Select, for the accept history, whose entry
	// also says when, by which user fim runs as, and how much was accepted and remains.
	Selectors []string
	// Report delivers the accepted differences. It is called before anything is
	// committed: when it fails, the baseline is left as it was.
	Report func(accepted []diff.Event) error
}

// Accepted is what an Accept found and took.
type Accepted struct {
	Events   []diff.Event  // every difference found
	Accepted []diff.Event  // those selected, reported
	Meta     baseline.Meta // the meta committed (zero: nothing was)
}

// Accept compares the tree with b and accepts the selected differences into the
// baseline that replaces it (Changes.Overlay): it writes the new baseline, reports the
// accepted differences, then commits it. A b opened without Replace makes a dry run,
// which reports and writes nothing; when nothing is selected nothing is reported or
// written.
func Accept(ctx context.Context, b *Baseline, o AcceptOptions) (*Accepted, error) {
	ch := NewChanges(o.Ignore)
	co := o.Options
	co.Baseline, co.Compiled, co.Seen = b.Reader, b.Compiled, ch.Seen
	co.Walker.Own = append(slices.Clone(co.Walker.Own), updateFiles(b.next)...)
	var err error
	if ch.Events, err = Compare(ctx, co); err != nil {
		return nil, err
	}
	accepted, take := ch.Select(o.Select)
	res := &Accepted{Events: ch.Events, Accepted: accepted}
	if len(accepted) == 0 {
		return res, nil
	}
	if b.next == nil {
		return res, o.Report(accepted)
	}
	if err := ch.Write(b.next, b.Reader, take); err != nil {
		return nil, fmt.Errorf("baseline not updated: %w", err)
	}
	acc := baseline.Acceptance{Time: time.Now().UTC(), Selectors: o.Selectors,
		Accepted: len(accepted), Remaining: len(ch.Events) - len(accepted)}
	acc.User, acc.UID = currentUser()
	// A difference whose acceptance could not be reported stays a difference.
	if err := o.Report(accepted); err != nil {
		return nil, fmt.Errorf("baseline not updated: %w", err)
	}
	if res.Meta, err = b.Commit(o.Stamp, &acc, o.Provenance); err != nil {
		return nil, err
	}
	return res, nil
}

// Summary says what an accept into db did: how many differences it accepted (would
// accept, on a dry run) of how many, and how many remain.
func (a *Accepted) Summary(db string, dry bool) string {
	all, n := len(a.Events), len(a.Accepted)
	switch {
	case n == 0:
		return fmt.Sprintf("no difference matches (%d in all): %s unchanged", all, db)
	case dry:
		return fmt.Sprintf("dry run: would accept %d of %d differences, %d would remain; %s unchanged", n, all, all-n, db)
	}
	return fmt.Sprintf("accepted %d of %d differences into %s; %d remain", n, all, db, all-n)
}

// currentUser names the user fim runs as.
func currentUser() (string, int) {
	uid := os.Getuid()
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username, uid
	}
	return "", uid
}
