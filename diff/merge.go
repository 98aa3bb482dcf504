package diff

import (
	"context"
	"fim/tree"
)

// Source delivers entries in key order to fn: a walk of the tree (walk.Walker.Walk), a
// baseline's records (baseline.Reader.Walk), an image read into memory.
type Source func(ctx context.Context, fn func(*tree.Entry) error) error

// Entries is a Source of es, which are in key order.
func Entries(es []*tree.Entry) Source {
	return func(ctx context.Context, fn func(*tree.Entry) error) error {
		for _, e := range es {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	}
}

// Join feeds d the merge of the recorded entries, read in key order through next, with
// those cur delivers: the one comparison of a recorded state with a current one that
// check, diff and watch run.
func Join(ctx context.Context, d *Differ, next func() (*tree.Entry, error), cur Source) error {
	m := NewMerge(d, next)
	if err := cur(ctx, m.Current); err != nil {
		return err
	}
	return m.Finish()
}

// Merge joins the baseline, read in key order through next, with the current entries,
// handed to Current in key order, and feeds the Differ.
type Merge struct {
	d       *Differ
	next    func() (*tree.Entry, error)
	pending *tree.Entry
	primed  bool
	// shadow is a directory unreadable now: what the baseline holds below it is unknown,
	// not removed.
	shadow string
}

// NewMerge starts a merge of the baseline entries from next into d.
func NewMerge(d *Differ, next func() (*tree.Entry, error)) *Merge {
	return &Merge{d: d, next: next}
}

func (m *Merge) peek() (*tree.Entry, error) {
	if !m.primed {
		e, err := m.next()
		if err != nil {
			return nil, err
		}
		m.pending, m.primed = e, true
	}
	return m.pending, nil
}

// drain reports as removed the baseline entries that sort before cur (all when cur is nil).
func (m *Merge) drain(cur *tree.Entry) (*tree.Entry, error) {
	for {
		old, err := m.peek()
		if err != nil || old == nil {
			return nil, err
		}
		c := -1
		if cur != nil {
			c = tree.ComparePaths(old.Path, cur.Path)
		}
		if c > 0 {
			return nil, nil
		}
		m.primed = false
		if c == 0 {
			return old, nil
		}
		if m.shadow != "" && tree.IsWithin(old.Path, m.shadow) && old.Path != m.shadow {
			continue
		}
		m.d.Removed(old)
	}
}

// Current takes the next current entry.
func (m *Merge) Current(cur *tree.Entry) error {
	old, err := m.drain(cur)
	if err != nil {
		return err
	}
	if old == nil {
		m.d.Created(cur)
	} else {
		m.d.Both(old, cur)
	}
	if cur.Type == tree.TypeDir && cur.Flags&tree.FlagUnreadable != 0 {
		m.shadow = cur.Path
	}
	return nil
}

// Finish reports what is left of the baseline as removed.
func (m *Merge) Finish() error {
	_, err := m.drain(nil)
	return err
}
