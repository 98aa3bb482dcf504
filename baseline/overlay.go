package baseline

import (
	"fim/tree"
	"maps"
	"slices"
)

// Overlay is the entries of base with over laid on top, in key order: an entry of over
// replaces the one recorded at its path or is added in its place, and a nil entry
// removes the path. base must be in key order (as Reader.Entries is); its error is
// passed on. It is the ordered merge (tree.Merge) of base with the paths over holds
// now; the entry laid at a path is read from over when the sequence reaches it. base
// is the side ranged over, so that a small overlay costs a large base nothing but the
// comparisons.
func Overlay(base tree.Seq, over map[string]*tree.Entry) tree.Seq {
	sorted := slices.SortedFunc(maps.Keys(over), tree.ComparePaths)
	// over's paths, each as an entry of its path alone: the merge needs only the path.
	paths := func(yield func(*tree.Entry, error) bool) {
		for _, p := range sorted {
			if !yield(&tree.Entry{Path: p}, nil) {
				return
			}
		}
	}
	return func(yield func(*tree.Entry, error) bool) {
		for p, err := range tree.Merge(paths, base) {
			if err != nil {
				yield(nil, err)
				return
			}
			e := p.B
			if p.A != nil {
				e = over[p.A.Path]
			}
			if e != nil && !yield(e, nil) {
				return
			}
		}
	}
}
