package fstest

import (
	"slices"

	"fim/tree"
)

// Edit returns a copy of e with edits applied; the copy has its own Xattrs.
func Edit(e *tree.Entry, edits ...func(*tree.Entry)) *tree.Entry {
	c := *e
	c.Xattrs = slices.Clone(e.Xattrs)
	for _, ed := range edits {
		ed(&c)
	}
	return &c
}

// Next hands entries out one at a time, then nil, as a baseline reader's Next does.
func Next(entries []*tree.Entry) func() (*tree.Entry, error) {
	return func() (*tree.Entry, error) {
		if len(entries) == 0 {
			return nil, nil
		}
		e := entries[0]
		entries = entries[1:]
		return e, nil
	}
}
