package watch

import "container/list"

// dirCacheMax bounds the directory paths the fanotify backend keeps: the least
// recently used go first, and are found again with open_by_handle_at when needed.
const dirCacheMax = 4096

// dirCache maps directory handles to real paths, for at most dirCacheMax
// directories. Every operation costs the same whatever it holds, but forget, which
// costs the subtree it drops. It is not safe for concurrent use.
type dirCache struct {
	byKey  map[string]*list.Element // handle key → *dirSeen
	byPath *pathMap[*list.Element]
	lru    list.List // front: the most recently used
}

type dirSeen struct{ key, path string }

func newDirCache() *dirCache {
	return &dirCache{byKey: map[string]*list.Element{}, byPath: newPathMap[*list.Element]()}
}

func (c *dirCache) len() int { return len(c.byKey) }

func (c *dirCache) get(key string) (string, bool) {
	e := c.byKey[key]
	if e == nil {
		return "", false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*dirSeen).path, true
}

// put records that the directory of handle key is at path.
func (c *dirCache) put(key, path string) {
	if e := c.byKey[key]; e != nil {
		c.remove(e)
	}
	if e, ok := c.byPath.get(path); ok {
		c.remove(e) // another directory was there before
	}
	e := c.lru.PushFront(&dirSeen{key, path})
	c.byKey[key] = e
	c.byPath.set(path, e)
	for c.lru.Len() > dirCacheMax {
		c.remove(c.lru.Back())
	}
}

func (c *dirCache) remove(e *list.Element) {
	s := e.Value.(*dirSeen)
	c.lru.Remove(e)
	delete(c.byKey, s.key)
	c.byPath.del(s.path)
}

// forget drops the paths at or below path (a directory removed or renamed: the
// handles stay valid, the paths do not).
func (c *dirCache) forget(path string) {
	c.byPath.delTree(path, func(_ string, e *list.Element) {
		c.lru.Remove(e)
		delete(c.byKey, e.Value.(*dirSeen).key)
	})
}

// clear drops everything.
func (c *dirCache) clear() {
	clear(c.byKey)
	c.byPath = newPathMap[*list.Element]()
	c.lru.Init()
}
