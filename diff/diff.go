// Package diff owns meaning: it compares a baseline with the current state and says what
// happened, as events (create, change, remove, chmod, rename, move) each carrying the
// attributes that differ. It does no I/O.
//
// Ordering and folding rules:
//   - Both states arrive in key order (tree.Seq); Join merges them in one pass (tree.Merge).
//   - A removed and a created entry are paired into a rename (same directory) or a move
//     (another directory) by (device, inode) and type, with the birth time when both
//     sides know it (so a reused inode number is not taken for a rename); failing that,
//     by identical non-empty content when exactly one removed and one created file have it.
//   - A renamed or moved directory is one event: descendants that moved with it are not
//     reported unless they changed too (then as change or chmod, with old_path).
//   - The ctime a rename itself sets is not reported on rename and move events.
//   - A directory whose only differences are mtime, ctime, size or nlink, and inside which
//     an entry was created, removed, renamed, moved or replaced (another type, inode or
//     birth time at the same path, as when an editor saves through a temporary file), is
//     not reported: its children's events say what happened. A directory that moved
//     counts what happened under its old path too.
//   - A growing file (tree.FlagGrowing) that only grew is not reported; one whose
//     recorded content is no longer its beginning is a change of "prefix". One that is
//     another inode now is a rotation when the recorded inode is found under another
//     name: a rename or move of it, and a create; otherwise a change, as any file.
//   - Below a directory that cannot be read now, nothing recorded is reported as removed.
//   - The inode number of a directory whose number does not last (tree.FlagVolatileInode,
//     overlayfs) is neither compared nor used to pair a rename: every other attribute is.
//   - Events are returned sorted by path in key order.
package diff

import (
	"fim/tree"
	"path"
	"slices"
)

// Filter gives, for a recorded path, the kinds of event to report and the attributes
// to ignore there.
type Filter func(path string) (KindSet, AttrSet)

// Differ collects the differences between two states and turns them into events.
type Differ struct {
	Filter Filter // nil: every kind, no attribute ignored
	// Seen, if set, is called for every path the merge meets, with its baseline entry
	// and its current one (either may be nil), before any filtering: fim watch keeps
	// its state current with it.
	Seen    func(old, cur *tree.Entry)
	events  []Event
	removed []*tree.Entry
	created []*tree.Entry
	rotated map[*tree.Entry]*tree.Entry // a growing file's new inode → the record it replaced
}

func (d *Differ) filter(p string) (KindSet, AttrSet) {
	if d.Filter == nil {
		return AllKinds, 0
	}
	return d.Filter(p)
}

// Compare returns the attributes that differ between old and cur, less those ignored.
func Compare(old, cur *tree.Entry, ignore AttrSet) AttrSet {
	if old.Flags&tree.FlagImplied != 0 {
		ignore |= ^AttrSet(0) &^ AttrSet(1<<AttrType) // only the type was known
	}
	if cur.Flags&tree.FlagGrown != 0 && old.Type == tree.TypeFile && old.SameInode(cur) && cur.Size > old.Size {
		ignore |= grownAttrs // it only grew
	}
	if cur.Flags&tree.FlagVolatileInode != 0 {
		ignore = ignore.With(AttrInode) // its number says nothing of which directory it is
	}
	var s AttrSet
	for a := range attrs {
		if !attrs[a].equal(old, cur) {
			s = s.With(Attr(a))
		}
	}
	return s &^ ignore
}

// Keep returns a copy of cur whose attributes in keep are those of old: the state to
// record when the differences in keep were not looked at (fim accept --ignore), so
// that they stay differences.
func Keep(old, cur *tree.Entry, keep AttrSet) *tree.Entry {
	e := *cur
	if old == nil || keep == 0 {
		return &e
	}
	for a := range attrs {
		if keep.Has(Attr(a)) && attrs[a].copy != nil {
			attrs[a].copy(&e, old)
		}
	}
	return &e
}

// KindOf classifies a set of differences between two states of one path.
func KindOf(changed AttrSet) Kind {
	if changed&contentAttrs != 0 {
		return Change
	}
	return Chmod
}

// Both records that path exists in both states.
func (d *Differ) Both(old, cur *tree.Entry) {
	if d.Seen != nil {
		d.Seen(old, cur)
	}
	_, ignore := d.filter(cur.Path)
	if cur.Flags&tree.FlagGrowing != 0 && old.Type == tree.TypeFile && !ignore.Has(AttrInode) && !ignore.Has(AttrDevice) &&
		!old.SameInode(cur) {
		// A growing file that is another inode now: rotated, when the recorded inode
		// turns up under another name (Events pairs it into a rename). Events takes it
		// back for a change if it does not.
		if d.rotated == nil {
			d.rotated = map[*tree.Entry]*tree.Entry{}
		}
		d.rotated[cur] = old
		d.removed = append(d.removed, old)
		d.created = append(d.created, cur)
		return
	}
	if changed := Compare(old, cur, ignore); changed != 0 {
		d.events = append(d.events, Event{Kind: KindOf(changed), Path: cur.Path, Changed: changed, Before: old, After: cur})
	}
}

// Removed records an entry present only in the baseline.
func (d *Differ) Removed(old *tree.Entry) {
	if d.Seen != nil {
		d.Seen(old, nil)
	}
	d.removed = append(d.removed, old)
}

// Created records an entry present only now.
func (d *Differ) Created(cur *tree.Entry) {
	if d.Seen != nil {
		d.Seen(nil, cur)
	}
	d.created = append(d.created, cur)
}

type devIno struct{ dev, ino uint64 }

// Events pairs removed and created entries into renames and moves, folds what those
// imply, applies the filter and returns every event sorted by path.
func (d *Differ) Events() []Event {
	pairs := d.pair()
	// Directories that moved: new path → old path.
	movedDirs := map[string]string{}
	for cur, old := range pairs {
		if cur.Type == tree.TypeDir && old.Type == tree.TypeDir {
			movedDirs[cur.Path] = old.Path
		}
	}
	events := slices.Clone(d.events) // filtered in place below; Events may be called again
	structural := map[string]bool{}  // directories in which something appeared or vanished
	note := func(p string) { structural[path.Dir(p)] = true }
	for i := range d.events {
		if d.replaced(&d.events[i]) {
			note(d.events[i].Path)
		}
	}
	pairedOld := map[*tree.Entry]bool{}
	for _, old := range pairs {
		pairedOld[old] = true
	}
	for _, cur := range d.created {
		old := pairs[cur]
		if was := d.rotated[cur]; old == nil && was != nil && !pairedOld[was] {
			// Replaced, not rotated: the recorded inode is nowhere else now.
			pairedOld[was] = true
			note(cur.Path)
			_, ignore := d.filter(cur.Path)
			if changed := Compare(was, cur, ignore); changed != 0 {
				events = append(events, Event{Kind: KindOf(changed), Path: cur.Path, Changed: changed, Before: was, After: cur})
			}
			continue
		}
		if old == nil {
			note(cur.Path)
			events = append(events, Event{Kind: Create, Path: cur.Path, After: cur})
			continue
		}
		pairedOld[old] = true
		_, ignore := d.filter(cur.Path)
		changed := Compare(old, cur, ignore.With(AttrInode).With(AttrDevice))
		if oldDir, ok := movedDirs[path.Dir(cur.Path)]; ok && tree.Join(oldDir, path.Base(cur.Path)) == old.Path {
			// Moved along with its directory: reported only if it changed too.
			if changed != 0 {
				events = append(events, Event{Kind: KindOf(changed), Path: cur.Path, OldPath: old.Path, Changed: changed, Before: old, After: cur})
			}
			continue
		}
		note(cur.Path)
		note(old.Path)
		kind := Move
		if path.Dir(cur.Path) == path.Dir(old.Path) {
			kind = Rename
		}
		changed &^= 1 << AttrCtime // set by the rename itself
		events = append(events, Event{Kind: kind, Path: cur.Path, OldPath: old.Path, Changed: changed, Before: old, After: cur})
	}
	for _, old := range d.removed {
		if !pairedOld[old] {
			note(old.Path)
			events = append(events, Event{Kind: Remove, Path: old.Path, Before: old})
		}
	}
	out := events[:0]
	for _, ev := range events {
		if (ev.Kind == Change || ev.Kind == Chmod) && ev.After != nil && ev.After.Type == tree.TypeDir &&
			ev.Changed&^DirEntryAttrs == 0 && (structural[ev.Path] || ev.OldPath != "" && structural[ev.OldPath]) {
			continue
		}
		if kinds, _ := d.filter(ev.Path); !kinds.Has(ev.Kind) {
			continue
		}
		out = append(out, ev)
	}
	slices.SortStableFunc(out, func(a, b Event) int { return tree.ComparePaths(a.Path, b.Path) })
	return out
}

// replaced reports whether a path compared on both sides holds another entry now: one
// of another type, another inode number, or the same number born again. Birth times
// count only where inode numbers do.
func (d *Differ) replaced(ev *Event) bool {
	if ev.Changed.Has(AttrType) || ev.Changed.Has(AttrInode) {
		return true
	}
	_, ignore := d.filter(ev.Path)
	return !ignore.Has(AttrInode) && ev.Before.Flags&ev.After.Flags&tree.FlagBtime != 0 && ev.Before.Btime != ev.After.Btime
}

// pair matches created entries with removed ones: first by (device, inode), type and,
// where both know it, birth time; then the remaining regular files by identical
// non-empty content when that content is unique on both sides.
func (d *Differ) pair() map[*tree.Entry]*tree.Entry {
	pairs := map[*tree.Entry]*tree.Entry{}
	if len(d.removed) == 0 || len(d.created) == 0 {
		return pairs
	}
	byInode := make(map[devIno]*tree.Entry, len(d.removed))
	for _, old := range d.removed {
		byInode[devIno{old.Device, old.Inode}] = old
	}
	taken := map[*tree.Entry]bool{}
	for _, cur := range d.created {
		if _, ignore := d.filter(cur.Path); ignore.Has(AttrInode) || ignore.Has(AttrDevice) {
			continue // inode numbers mean nothing here (a tree unpacked elsewhere)
		}
		if cur.Flags&tree.FlagVolatileInode != 0 {
			continue // a number of its own, which another directory may have had
		}
		old := byInode[devIno{cur.Device, cur.Inode}]
		if old == nil || taken[old] || old.Type != cur.Type {
			continue
		}
		if old.Flags&cur.Flags&tree.FlagBtime != 0 && old.Btime != cur.Btime {
			continue // the inode number was reused by another file
		}
		pairs[cur] = old
		taken[old] = true
	}
	type hashCount struct {
		e *tree.Entry
		n int
	}
	oldByHash := map[[32]byte]*hashCount{}
	for _, old := range d.removed {
		if !taken[old] && old.Type == tree.TypeFile && old.Hashed() && old.Size > 0 {
			if h := oldByHash[old.Hash]; h != nil {
				h.n++
			} else {
				oldByHash[old.Hash] = &hashCount{old, 1}
			}
		}
	}
	if len(oldByHash) == 0 {
		return pairs
	}
	curByHash := map[[32]byte]*hashCount{}
	for _, cur := range d.created {
		if pairs[cur] == nil && cur.Type == tree.TypeFile && cur.Hashed() && cur.Size > 0 {
			if h := curByHash[cur.Hash]; h != nil {
				h.n++
			} else {
				curByHash[cur.Hash] = &hashCount{cur, 1}
			}
		}
	}
	for h, c := range curByHash {
		if o := oldByHash[h]; o != nil && o.n == 1 && c.n == 1 {
			pairs[c.e] = o.e
		}
	}
	return pairs
}
