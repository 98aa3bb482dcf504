package watch

import (
	"context"
	"path"
	"slices"
	"sync"

	"fim/baseline"
	"fim/tree"
)

// state is the last known record of every watched path: the baseline database, when
// there is one, under an overlay of what watch has seen change since.
//
// The overlay holds a path only while it differs from the baseline's record: a path
// created and removed again since the baseline was read leaves nothing behind. Its
// paths are indexed by directory, so that what lies below one directory is found in
// time proportional to that, not to the size of the state.
type state struct {
	// mu guards the overlay against the walk's workers, which look up records (lookup)
	// while the state is changed; getMu makes their reads of the baseline one at a time
	// with the state's own (Reader.Get promises nothing of concurrent calls).
	mu      *sync.RWMutex
	getMu   *sync.Mutex
	base    *baseline.Reader       // nil: everything is in the overlay
	overlay map[string]*tree.Entry // recorded path → entry; nil: removed
	below   map[string]map[string]struct{}
	count   map[string]int // paths of the overlay at or below each indexed path
}

func newState(base *baseline.Reader) *state {
	return &state{mu: &sync.RWMutex{}, getMu: &sync.Mutex{}, base: base, overlay: map[string]*tree.Entry{}, below: map[string]map[string]struct{}{}, count: map[string]int{}}
}

// reset makes the state the baseline base under overlay.
func (s *state) reset(base *baseline.Reader, overlay map[string]*tree.Entry) {
	n := newState(base)
	s.mu.Lock()
	s.base, s.overlay, s.below, s.count = n.base, n.overlay, n.below, n.count
	s.mu.Unlock()
	for p, e := range overlay {
		s.put(p, e)
	}
}

func (s *state) get(p string) (*tree.Entry, error) {
	if e, ok := s.overlay[p]; ok {
		return e, nil
	}
	if s.base == nil {
		return nil, nil
	}
	return s.baseGet(s.base, p)
}

// baseGet is base.Get, one call at a time.
func (s *state) baseGet(base *baseline.Reader, p string) (*tree.Entry, error) {
	s.getMu.Lock()
	defer s.getMu.Unlock()
	return base.Get(p)
}

// lookup is get for the walk's workers (walk.Walker.Prior): nil when p has no record
// or it cannot be read.
func (s *state) lookup(p string) *tree.Entry {
	s.mu.RLock()
	e, ok := s.overlay[p]
	base := s.base
	s.mu.RUnlock()
	if ok || base == nil {
		return e
	}
	e, _ = s.baseGet(base, p)
	return e
}

// set records the entry at p (nil: nothing is there).
func (s *state) set(p string, e *tree.Entry) {
	if e == nil {
		recorded := false
		if s.base != nil {
			// A baseline that cannot be read here keeps the record of the removal.
			old, err := s.baseGet(s.base, p)
			recorded = old != nil || err != nil
		}
		if !recorded {
			s.drop(p) // nothing there, as the baseline says: no record of its removal
			return
		}
	}
	s.put(p, e)
}

// put lays e over p, indexing p.
func (s *state) put(p string, e *tree.Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.overlay[p]; !ok {
		for q := p; ; q = path.Dir(q) {
			if s.count[q]++; s.count[q] == 1 && q != "/" {
				parent := path.Dir(q)
				if s.below[parent] == nil {
					s.below[parent] = map[string]struct{}{}
				}
				s.below[parent][q] = struct{}{}
			}
			if q == "/" || q == "." {
				break
			}
		}
	}
	s.overlay[p] = e
}

// drop takes p out of the overlay and its index.
func (s *state) drop(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.overlay[p]; !ok {
		return
	}
	delete(s.overlay, p)
	for q := p; ; q = path.Dir(q) {
		if s.count[q]--; s.count[q] <= 0 {
			delete(s.count, q)
			if q != "/" {
				parent := path.Dir(q)
				delete(s.below[parent], q)
				if len(s.below[parent]) == 0 {
					delete(s.below, parent)
				}
			}
		}
		if q == "/" || q == "." {
			break
		}
	}
}

// overlayWithin returns the overlay's paths at or below p, in key order.
func (s *state) overlayWithin(p string) []string {
	if s.count[p] == 0 {
		return nil
	}
	var paths []string
	stack := []string{p}
	for len(stack) > 0 {
		q := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := s.overlay[q]; ok {
			paths = append(paths, q)
		}
		for c := range s.below[q] {
			stack = append(stack, c)
		}
	}
	slices.SortFunc(paths, tree.ComparePaths)
	return paths
}

// subtree returns the entries at and below p, in key order: the baseline's under the
// overlay's (baseline.Overlay, as iter reads the state).
func (s *state) subtree(p string) ([]*tree.Entry, error) {
	base := tree.Entries(nil)
	if s.base != nil {
		base = s.base.Subtree(p)
	}
	within := s.overlayWithin(p)
	over := make(map[string]*tree.Entry, len(within))
	for _, q := range within {
		over[q] = s.overlay[q]
	}
	var out []*tree.Entry
	for e, err := range baseline.Overlay(base, over) {
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// iter is every entry in key order, as a merge reads the baseline. It reads the state
// as it goes: the state must not change meanwhile. It reads to the end: a rescan stops
// with its walk, and a state written out is written whole.
func (s *state) iter() tree.Seq {
	base := tree.Entries(nil)
	if s.base != nil {
		base = s.base.Entries(context.Background())
	}
	return baseline.Overlay(base, s.overlay)
}
