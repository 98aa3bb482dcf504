package watch

import (
	"slices"

	"fim/baseline"
	"fim/walk"
)

// state is the last known record of every watched path: the baseline database, when
// there is one, under an overlay of what watch has seen change since.
type state struct {
	base    *baseline.Reader       // nil: everything is in the overlay
	overlay map[string]*walk.Entry // recorded path → entry; nil: removed
}

func (s *state) get(p string) (*walk.Entry, error) {
	if e, ok := s.overlay[p]; ok {
		return e, nil
	}
	if s.base == nil {
		return nil, nil
	}
	return s.base.Get(p)
}

func (s *state) set(p string, e *walk.Entry) {
	if e == nil && s.base == nil {
		delete(s.overlay, p)
		return
	}
	s.overlay[p] = e
}

// overlayWithin returns the overlay's paths at or below p, in key order.
func (s *state) overlayWithin(p string) []string {
	var paths []string
	for q := range s.overlay {
		if walk.IsWithin(q, p) {
			paths = append(paths, q)
		}
	}
	slices.SortFunc(paths, walk.ComparePaths)
	return paths
}

// subtree returns the entries at and below p, in key order.
func (s *state) subtree(p string) ([]*walk.Entry, error) {
	var base []*walk.Entry
	if s.base != nil {
		if err := s.base.Subtree(p, func(e *walk.Entry) error { base = append(base, e); return nil }); err != nil {
			return nil, err
		}
	}
	return s.merge(base, s.overlayWithin(p)), nil
}

// merge lays the overlay's paths over base entries, both in key order.
func (s *state) merge(base []*walk.Entry, over []string) []*walk.Entry {
	out := make([]*walk.Entry, 0, len(base)+len(over))
	i, j := 0, 0
	for i < len(base) || j < len(over) {
		var c int
		switch {
		case i == len(base):
			c = 1
		case j == len(over):
			c = -1
		default:
			c = walk.ComparePaths(base[i].Path, over[j])
		}
		if c < 0 {
			out = append(out, base[i])
			i++
			continue
		}
		if c == 0 {
			i++
		}
		if e := s.overlay[over[j]]; e != nil {
			out = append(out, e)
		}
		j++
	}
	return out
}

// iter returns every entry in key order, as a merge reads the baseline.
func (s *state) iter() func() (*walk.Entry, error) {
	next := func() (*walk.Entry, error) { return nil, nil }
	if s.base != nil {
		next = s.base.Iter().Next
	}
	return baseline.Overlay(next, s.overlay)
}
