package baseline

import (
	"fim/tree"
	"maps"
	"slices"
)

// Overlay returns an iterator over the entries of next with over laid on top, in key
// order: an entry of over replaces the one recorded at its path or is added in its
// place, and a nil entry removes the path. next must yield entries in key order (as
// Iter.Next does) and end with nil; its errors are passed on. over is read as the
// iterator goes and must not change meanwhile.
func Overlay(next func() (*tree.Entry, error), over map[string]*tree.Entry) func() (*tree.Entry, error) {
	paths := slices.SortedFunc(maps.Keys(over), tree.ComparePaths)
	var pending *tree.Entry
	primed := false
	j := 0
	return func() (*tree.Entry, error) {
		for {
			if !primed {
				e, err := next()
				if err != nil {
					return nil, err
				}
				pending, primed = e, true
			}
			c := -1
			switch {
			case pending == nil && j == len(paths):
				return nil, nil
			case pending == nil:
				c = 1
			case j < len(paths):
				c = tree.ComparePaths(pending.Path, paths[j])
			}
			if c < 0 {
				primed = false
				return pending, nil
			}
			if c == 0 {
				primed = false
			}
			e := over[paths[j]]
			j++
			if e != nil {
				return e, nil
			}
		}
	}
}
