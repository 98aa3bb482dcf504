package watch

import (
	"encoding/json"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"fim/diff"
	"fim/tree"
	"fim/walk"
)

// Policy is what a watch compares: the walker of its roots and limits (as Walker: the
// same Prefix), the filter of its rules (as Filter), and with Update the policy the
// baselines it writes record (baseline.Meta.Policy) and their key base (as KeyBase).
type Policy struct {
	Walker  *walk.Walker
	Filter  diff.Filter
	Meta    json.RawMessage
	KeyBase string
}

// Repolicy puts p in force in the running watch (SIGHUP with a changed policy). Call it
// from a function handed to Retune: once that function returns, on the watch's loop,
// the marks of the roots p adds are placed, then p's walker and filter replace the
// watch's, then the marks of the roots it drops are removed, so that nothing happening
// meanwhile in a root kept goes unseen. The state lets go silently of the paths p does
// not select; the paths it selects that the policy before it did not are taken into
// the state silently by the next rescan (see takeIn), which the caller asks for
// (Rescans) and which compares everything p selects. With Update, each baseline written
// from then on records p's policy.
func (w *Watcher) Repolicy(p Policy) { w.next = &p }

// applyPolicy puts in force the policy Repolicy handed over, if any.
func (w *Watcher) applyPolicy() error {
	if w.next == nil {
		return nil
	}
	p := *w.next
	w.next = nil
	old := w.Walker
	if p.Walker.Prefix != old.Prefix {
		return fmt.Errorf("reload: the root the tree is read under cannot change (%q, now %q)", old.Prefix, p.Walker.Prefix)
	}
	p.Walker.Own = old.Own // fim's own files stay its own
	reals := func(wk *walk.Walker) []string {
		var out []string
		for _, r := range wk.Roots {
			out = append(out, w.real(r.Path))
		}
		return out
	}
	before, now := reals(old), reals(p.Walker)
	w.Walker, w.Filter = p.Walker, p.Filter
	w.growing()
	w.remark(now)
	w.setRoots()
	w.unmark(before, now)
	if w.Update {
		w.Meta.Policy, w.KeyBase = p.Meta, p.KeyBase
		w.dirty = true // the baseline records the policy in force
	}
	if err := w.prune(); err != nil {
		return err
	}
	w.scope = old
	w.logf("reload: watching %s (%s)", w.describeRoots(), w.describeBackends())
	return nil
}

// remark places the marks of the real roots of now (Walker's) not marked yet: with
// fanotify where the watch has it and the filesystem takes a mark, else with fsnotify.
// A root neither takes is left to the periodic rescan.
func (w *Watcher) remark(now []string) {
	if w.Backend == "periodic" {
		return
	}
	var rest []string
	var marked []string
	if w.fan != nil {
		marked = w.fan.rootList()
	}
	if w.fsn != nil {
		marked = append(slices.Clip(marked), w.fsn.rootList()...)
	}
	for _, real := range w.markPaths(now) {
		switch {
		case slices.Contains(marked, real):
			continue
		case w.fan != nil:
			if err := w.fan.mark(real); err == nil {
				w.fan.addRoot(real)
				continue
			} else if w.Backend == "fanotify" {
				w.logf("reload: %s is not watched, but by the periodic rescan: %v%s", real, err, markHint(err))
				continue
			} else {
				w.logf("fsnotify for %s: %v%s", real, err, markHint(err))
			}
		}
		if slices.Contains(now, real) { // a mount below a root is the root's watches' to cover
			rest = append(rest, real)
		}
	}
	if w.fan != nil {
		w.fan.reflush.Store(true) // a directory ignored until now may lead to a root added
		unix.FanotifyMark(w.fan.fd, unix.FAN_MARK_FLUSH, 0, unix.AT_FDCWD, "")
	}
	if w.fsn == nil {
		if len(rest) > 0 {
			if err := w.startFsn(rest); err != nil {
				w.logf("reload: %s not watched, but by the periodic rescan: %v", rest, err)
			}
		}
		return
	}
	w.fsn.setWalker(w.Walker)
	roots := append(slices.Clone(w.fsn.rootList()), rest...)
	w.fsn.roots.Store(&roots)
	if err := w.fsn.watchRoots(); err != nil {
		w.logf("reload: fsnotify: %v; the periodic rescan covers what is not watched", err)
	}
}

// unmark removes the marks of the real roots of before that are not among now: the
// inotify watches of the directories no root in now holds, and the fanotify mark of a
// filesystem no root in now lies on.
func (w *Watcher) unmark(before, now []string) {
	within := func(real string) bool {
		return slices.ContainsFunc(now, func(r string) bool { return tree.IsWithin(real, r) })
	}
	if w.fan != nil {
		marks := w.markPaths(now)
		w.fan.keepRoots(slices.DeleteFunc(slices.Clone(w.fan.rootList()), func(r string) bool { return !slices.Contains(marks, r) }))
	}
	if w.fsn == nil {
		return
	}
	roots := slices.DeleteFunc(slices.Clone(w.fsn.rootList()), func(r string) bool { return !slices.Contains(now, r) })
	w.fsn.roots.Store(&roots)
	for _, real := range before {
		if !within(real) {
			w.fsn.forget(real)
		}
	}
}

// prune lets go of the paths of the state Walker does not select, silently: they are
// not watched any more, not removed.
func (w *Watcher) prune() error {
	var out []string
	for e, err := range w.st.iter() {
		if err != nil {
			return err
		}
		if s := w.Walker.Explain(e.Path); !s.Selected() {
			out = append(out, e.Path)
		}
	}
	for _, p := range out {
		w.st.set(p, nil)
		w.links.note(w.real(p), nil)
	}
	return nil
}

// takeIn leaves out of events the creation of the paths the policy before a reload
// did not select (scope): they were there before, unwatched, and are taken into the
// state as they are, nothing of them reported; what changes in them from here on is.
func (w *Watcher) takeIn(events []diff.Event, r *round) []diff.Event {
	if w.scope == nil {
		return events
	}
	return slices.DeleteFunc(events, func(ev diff.Event) bool {
		if ev.Kind != diff.Create {
			return false
		}
		if s := w.scope.Explain(ev.Path); s.Selected() {
			return false
		}
		delete(r.before, ev.Path) // nothing of it waits for delivery
		return true
	})
}
