package check

import (
	"fmt"

	"fim/baseline"
	"fim/diff"
	"fim/textcopy"
	"fim/textdiff"
	"fim/tree"
)

// The shape of a content diff: lines of context around each change, and the most
// lines shown.
const (
	DiffContext  = 3
	DiffMaxLines = 200
)

// CopyOf finds what is kept of an entry's content: its copy (a zstd frame) or why
// there is none; ok is false when nothing is kept for it.
type CopyOf func(e *tree.Entry) (frame []byte, why tree.NoCopy, ok bool, err error)

// OwnCopy is the copy an entry carries itself: what a walk read.
func OwnCopy(e *tree.Entry) ([]byte, tree.NoCopy, bool, error) {
	return e.Copy, e.NoCopy, e.Copy != nil || e.NoCopy != tree.CopyNone, nil
}

// StoredCopy is the copy a baseline keeps of an entry it recorded.
func StoredCopy(r *baseline.Reader) CopyOf {
	return func(e *tree.Entry) ([]byte, tree.NoCopy, bool, error) { return r.Copy(e.Path) }
}

// AddDiffs gives events of regular files whose content is kept the difference of that
// content (diff.Event.Diff): a change of content its unified diff, a create its first
// lines, a remove its last recorded content, each at most DiffMaxLines lines; where a
// side's content is not kept for a reason, the event says it (diff.Event.NoDiff). old
// reads the recorded side, cur the current one. A copy that cannot be read or decoded
// is named to warn, and its event has no diff; the others go on.
func AddDiffs(events []diff.Event, old, cur CopyOf, warn func(path string, err error)) {
	for i := range events {
		ev := &events[i]
		needOld := ev.Kind == diff.Remove || ev.Kind != diff.Create && ev.Changed.Has(diff.AttrContent)
		needNew := ev.Kind == diff.Create || ev.Kind != diff.Remove && ev.Changed.Has(diff.AttrContent)
		if !needOld && !needNew {
			continue
		}
		var before, after string
		var why tree.NoCopy
		ok := true
		if needOld {
			before, ok = text(ev.Before, old, &why, warn)
		}
		if needNew && ok {
			after, ok = text(ev.After, cur, &why, warn)
		}
		switch {
		case why != tree.CopyNone:
			ev.NoDiff = why.String()
		case ok:
			ev.Diff = textdiff.Unified(before, after, DiffContext, DiffMaxLines)
		}
	}
}

// text returns the kept content of e, a regular file. ok is false when there is none:
// nothing kept, a reason (set in why), or a copy that does not read (named to warn).
func text(e *tree.Entry, of CopyOf, why *tree.NoCopy, warn func(string, error)) (string, bool) {
	if e == nil || e.Type != tree.TypeFile {
		return "", false
	}
	frame, reason, ok, err := of(e)
	if err == nil && ok && reason == tree.CopyNone {
		var s string
		if s, err = textcopy.Decode(frame); err == nil {
			return s, true
		}
	}
	if err != nil {
		if warn != nil {
			warn(e.Path, fmt.Errorf("no content diff: %w", err))
		}
		return "", false
	}
	if ok {
		*why = reason
	}
	return "", false
}
