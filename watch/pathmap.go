package watch

import "path"

// pathMap maps real paths to values, and drops a path with everything below it in
// time proportional to what is dropped, not to how many paths it holds: a directory
// removed or renamed anywhere costs what its own subtree costs. It is not safe for
// concurrent use.
type pathMap[V any] struct {
	nodes map[string]*pathNode[V]
}

// pathNode is a path that is a key, or that leads to keys below it.
type pathNode[V any] struct {
	kids map[string]struct{} // direct children that are nodes
	has  bool
	v    V
}

func newPathMap[V any]() *pathMap[V] { return &pathMap[V]{nodes: map[string]*pathNode[V]{}} }

func (m *pathMap[V]) len() int {
	n := 0
	for _, nd := range m.nodes {
		if nd.has {
			n++
		}
	}
	return n
}

func (m *pathMap[V]) get(p string) (V, bool) {
	if nd := m.nodes[p]; nd != nil && nd.has {
		return nd.v, true
	}
	var zero V
	return zero, false
}

// set makes p a key with value v.
func (m *pathMap[V]) set(p string, v V) {
	nd := m.nodes[p]
	if nd == nil {
		nd = &pathNode[V]{}
		m.nodes[p] = nd
		m.link(p)
	}
	nd.has, nd.v = true, v
}

// link makes the new node p a child of its parent, making the parent a node too when
// it is not one yet.
func (m *pathMap[V]) link(p string) {
	for {
		parent := path.Dir(p)
		if parent == p {
			return
		}
		pn := m.nodes[parent]
		fresh := pn == nil
		if fresh {
			pn = &pathNode[V]{}
			m.nodes[parent] = pn
		}
		if pn.kids == nil {
			pn.kids = map[string]struct{}{}
		}
		pn.kids[p] = struct{}{}
		if !fresh {
			return
		}
		p = parent
	}
}

// del drops the key p only; the keys below it stay.
func (m *pathMap[V]) del(p string) {
	nd := m.nodes[p]
	if nd == nil || !nd.has {
		return
	}
	var zero V
	nd.has, nd.v = false, zero
	m.prune(p)
}

// delTree drops p and every key below it, calling fn (if not nil) with each.
func (m *pathMap[V]) delTree(p string, fn func(p string, v V)) {
	if m.nodes[p] == nil {
		return
	}
	var walk func(q string)
	walk = func(q string) {
		nd := m.nodes[q]
		delete(m.nodes, q)
		for k := range nd.kids {
			walk(k)
		}
		if nd.has && fn != nil {
			fn(q, nd.v)
		}
	}
	walk(p)
	m.unlink(p)
}

// prune drops the node p when it is no longer a key and leads to none, and its
// ancestors likewise.
func (m *pathMap[V]) prune(p string) {
	if nd := m.nodes[p]; nd == nil || nd.has || len(nd.kids) > 0 {
		return
	}
	delete(m.nodes, p)
	m.unlink(p)
}

// unlink removes the dropped node p from its parent, and prunes the parent.
func (m *pathMap[V]) unlink(p string) {
	parent := path.Dir(p)
	if parent == p {
		return
	}
	if pn := m.nodes[parent]; pn != nil {
		delete(pn.kids, p)
		m.prune(parent)
	}
}
