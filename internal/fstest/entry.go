package fstest

import (
	"slices"
	"testing"

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

// Collect returns the entries of s, failing t at its error.
func Collect(t testing.TB, s tree.Seq) []*tree.Entry {
	t.Helper()
	var out []*tree.Entry
	for e, err := range s {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}
