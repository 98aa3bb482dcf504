package main

import (
	"fmt"
	"os"
	"os/user"
	"path"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"fim/baseline"
	"fim/check"
	"fim/config"
	"fim/diff"
	"fim/walk"
)

// globList is a repeatable flag whose values are kept whole: a glob's own commas
// ("/etc/{passwd,shadow}") do not split it, as they would in a StringSliceFlag.
type globList []string

func (g *globList) Set(s string) error { *g = append(*g, s); return nil }
func (g *globList) String() string     { return strings.Join(*g, " ") }

func acceptCommand() *cli.Command {
	return &cli.Command{
		Name:  "accept",
		Usage: "walk like check, then accept the selected differences into the baseline",
		Description: `Walks what the baseline recorded, as check does, and writes a new baseline in
which only the selected differences are accepted: their current state replaces the
recorded one (an accepted remove drops the record, an accepted create adds it). Every
other difference keeps its old record, so the next check reports it again.

A difference is selected when it matches a --path (on its path or, for a rename or
move, its old path) and a --type, where those are given. Each line of check's report is
one difference: a removed directory's entries are removes of their own ('/d' and
'/d/**' select them all); an accepted rename or move of a directory takes along what
moved with it unchanged. Without --path or --type nothing is accepted (exit 16).

Prints the accepted differences in --format on stdout and, on stderr, how many remain.
Records the user and time in the baseline's accept history (fim info). A signed
baseline needs --sign. The new baseline replaces the old one atomically.

Exit status: 0 when the baseline is written (or nothing matched, and it is left as it
was), 16 on a usage error, 17 if the baseline is unusable, 18 on any other error. The
report is delivered before the baseline is written: when it cannot be (--output fails),
the baseline is left as it was and the exit status is 18.`,
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			configFlag, dbFlag, rootFlag, workersFlag,
			&cli.GenericFlag{Name: "path", Value: &globList{}, Usage: "accept the differences at recorded paths matching `GLOB` (repeatable; '*' stops at '/', '**' crosses it)"},
			&cli.StringSliceFlag{Name: "type", Usage: "accept the differences of kind `KIND`: create, change, remove, chmod, rename, move (repeatable)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "say what would be accepted; write nothing"},
			reportFormatFlag, outputFlag, redactFlag,
			&cli.StringSliceFlag{Name: "ignore", Usage: "attributes not to compare, as in check"},
			verifyFlag, maxAgeFlag, minGenerationFlag, generationFileFlag, signFlag,
		},
		Action: runAccept,
	}
}

// selector says which differences fim accept takes.
type selector struct {
	globs    []walk.Matcher
	kinds    diff.KindSet
	anyKind  bool
	selected []string // the selecting flags, for the history
}

func (s *selector) match(ev *diff.Event) bool {
	if !s.anyKind && !s.kinds.Has(ev.Kind) {
		return false
	}
	if len(s.globs) == 0 {
		return true
	}
	for _, g := range s.globs {
		if g.Match(ev.Path) || ev.OldPath != "" && g.Match(ev.OldPath) {
			return true
		}
	}
	return false
}

func selectorFlags(c *cli.Context) (*selector, error) {
	s := &selector{anyKind: true}
	for _, p := range *c.Generic("path").(*globList) {
		g, err := config.CompileGlob(p)
		if err != nil {
			return nil, usageErr("--path: %v", err)
		}
		s.globs = append(s.globs, g)
		s.selected = append(s.selected, "--path="+p)
	}
	if types := c.StringSlice("type"); len(types) > 0 {
		kinds, err := diff.ParseKinds(types)
		if err != nil {
			return nil, usageErr("--type: %v", err)
		}
		s.kinds, s.anyKind = kinds, false
		for _, k := range types {
			s.selected = append(s.selected, "--type="+k)
		}
	}
	if len(s.selected) == 0 {
		return nil, usageErr("accept: nothing selected: give --path GLOB or --type KIND (--path '**' accepts every difference)")
	}
	return s, nil
}

func runAccept(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return usageErr("accept takes no PATH: select differences with --path GLOB")
	}
	sel, err := selectorFlags(c)
	if err != nil {
		return err
	}
	extraIgnore, err := ignoreFlag(c)
	if err != nil {
		return err
	}
	_, db, err := configAndDB(c)
	if err != nil {
		return err
	}
	signer, err := loadSigner(c)
	if err != nil {
		return err
	}
	dry := c.Bool("dry-run")
	// Take the lock before reading, so that no other writer replaces the baseline
	// between this read and the write.
	var w *baseline.Writer
	if _, err := os.Stat(db); err == nil && !dry {
		if w, err = baseline.Create(db); err != nil {
			return err
		}
		defer w.Abort() // no-op after a commit
	}
	k, err := openChecked(c, db)
	if err != nil {
		return err
	}
	defer k.close()
	r, pol, comp, root, rep := k.r, k.pol, k.comp, k.root, k.rep
	if r.Signed() && signer == nil && !dry {
		return usageErr("%s is signed: accept needs --sign KEYFILE to sign the new baseline", db)
	}
	if err := verifyBeforeResigning(r, signer); err != nil {
		return err
	}
	var own []*os.File
	if w != nil {
		own = w.Files()
	}
	ch := newChanges(extraIgnore)
	var warn warnings
	ch.events, err = check.Compare(c.Context, check.Options{
		Baseline: r, Compiled: comp, DB: db, Ignore: extraIgnore, Seen: ch.seen,
		Walker: check.WalkerOptions{Root: root, Workers: c.Int("workers"), MaxEntries: pol.MaxEntries, Warn: warn.add, Own: own},
	})
	if err != nil {
		return err
	}
	var accepted []diff.Event
	take := map[*diff.Event]bool{}
	for i := range ch.events {
		if ev := &ch.events[i]; sel.match(ev) {
			take[ev] = true
			accepted = append(accepted, *ev)
		}
	}
	remain := len(ch.events) - len(accepted)
	if len(accepted) == 0 {
		fmt.Fprintf(os.Stderr, "fim: no difference matches (%d in all): %s unchanged\n", len(ch.events), db)
		return nil
	}
	info := rep.info(false, warn.n)
	if dry {
		if err := rep.emit(accepted, info); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "fim: dry run: would accept %d of %d differences, %d would remain; %s unchanged\n",
			len(accepted), len(ch.events), remain, db)
		return nil
	}

	w.Signer = signer
	w.KeyBase = r.Meta().KeyBase
	next := baseline.Overlay(r.Iter().Next, ch.overlay(func(ev *diff.Event) bool { return take[ev] }))
	for {
		e, err := next()
		if err != nil {
			return fmt.Errorf("baseline not updated: %w", err)
		}
		if e == nil {
			break
		}
		if err := w.Add(e); err != nil {
			return fmt.Errorf("baseline not updated: %w", err)
		}
	}
	meta, err := newMeta(pol)
	if err != nil {
		return err
	}
	meta.Accepted = r.Meta().Accepted
	meta.Generation = r.Meta().Generation + 1
	name, uid := currentUser()
	meta.AddAcceptance(baseline.Acceptance{Time: info.Time, User: name, UID: uid, Selectors: sel.selected,
		Accepted: len(accepted), Remaining: remain})
	// The report goes out before the commit, as with check --update: a difference
	// whose acceptance could not be reported stays a difference.
	if err := rep.emit(accepted, info); err != nil {
		return fmt.Errorf("baseline not updated: %w", err)
	}
	if err := w.Commit(meta); err != nil {
		return fmt.Errorf("baseline not updated: %w", err)
	}
	k.fresh.saw(meta.Generation)
	if err := k.fresh.record(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "fim: accepted %d of %d differences into %s; %d remain\n", len(accepted), len(ch.events), db, remain)
	return nil
}

// currentUser names the user fim runs as.
func currentUser() (string, int) {
	uid := os.Getuid()
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username, uid
	}
	return "", uid
}

// changes is what a check found, kept so that the accepted part of it can be laid over
// the baseline: the events and, of the current entries, only those that differ.
type changes struct {
	events  []diff.Event
	created map[string]*walk.Entry // current entries at paths the baseline does not hold
	removed map[string]bool        // recorded paths that hold nothing now
	dirs    map[string]*walk.Entry // current directories that differ from their record
	// keep: attributes --ignore leaves out of the comparison, which an accepted
	// difference keeps as recorded, so that they are not accepted unseen.
	keep diff.AttrSet
}

func newChanges(keep diff.AttrSet) *changes {
	return &changes{created: map[string]*walk.Entry{}, removed: map[string]bool{}, dirs: map[string]*walk.Entry{}, keep: keep}
}

// seen is the Differ's Seen hook.
func (ch *changes) seen(old, cur *walk.Entry) {
	switch {
	case old == nil:
		ch.created[cur.Path] = cur
	case cur == nil:
		ch.removed[old.Path] = true
	case cur.Type == walk.TypeDir && diff.Compare(old, cur, ch.keep) != 0:
		ch.dirs[cur.Path] = diff.Keep(old, cur, ch.keep)
	}
}

// overlay returns the records to lay over the baseline (nil: drop the record) so that
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
func (ch *changes) overlay(take func(*diff.Event) bool) map[string]*walk.Entry {
	over := map[string]*walk.Entry{}
	named := map[string]bool{} // paths some event names
	movedTo, movedFrom := map[string]*diff.Event{}, map[string]*diff.Event{}
	for i := range ch.events {
		ev := &ch.events[i]
		named[ev.Path] = true
		if ev.OldPath != "" {
			named[ev.OldPath] = true
		}
		if (ev.Kind == diff.Rename || ev.Kind == diff.Move) && ev.Before.Type == walk.TypeDir && ev.After.Type == walk.TypeDir {
			movedTo[ev.Path], movedFrom[ev.OldPath] = ev, ev
		}
	}
	for i := range ch.events {
		ev := &ch.events[i]
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
	for i := range ch.events {
		ev := &ch.events[i]
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
