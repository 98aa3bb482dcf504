package baseline

import (
	"bytes"
	"fim/tree"
	"hash/maphash"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Prior returns a maker of lookups of recorded entries, and a function that releases
// them. Each lookup it makes serves one goroutine, with a read transaction, cursor and
// key buffer of its own: a walk makes one per worker. A record that cannot be read is
// reported as absent: whoever asks then does the work itself, and the iteration reports
// the damage. The entries a lookup decodes are kept for Next, which hands them out when
// it reaches the same bytes rather than decoding the records twice: how check --fast
// both looks up and merges.
//
// Lookups are cheapest in ascending key order, as a walk makes them: the cursor steps
// forward a few records before it searches the tree again.
func (it *Iter) Prior() (newLookup func() func(path string) *tree.Entry, done func()) {
	r := it.r
	if it.looked == nil {
		it.looked = newLookedUp()
	}
	looked := it.looked
	var mu sync.Mutex
	var all []*bolt.Tx
	none := func(string) *tree.Entry { return nil }
	newLookup = func() (lookup func(path string) *tree.Entry) {
		// A fault on the mapping (a file cut short under us) is a panic, not the end of
		// the process, only on a goroutine that asked for it: each caller asks.
		defer guard(r.path, nil, func() { lookup = none })()
		tx, err := r.db.Begin(false)
		if err != nil {
			return none
		}
		mu.Lock()
		all = append(all, tx)
		mu.Unlock()
		pc := &priorCursor{c: tx.Bucket(bucketEntries).Cursor()}
		return func(path string) (e *tree.Entry) {
			defer guard(r.path, nil, func() { e, pc.k = nil, nil })()
			var ok bool
			if pc.key, ok = appendKeyOf(pc.key[:0], r.meta.KeyBase, path); !ok {
				return nil
			}
			v := pc.find(pc.key)
			if v == nil {
				return nil
			}
			// Decode and hash one copy: the mapping may change in between.
			pc.val = append(pc.val[:0], v...)
			e = &tree.Entry{Path: path}
			if DecodeRecord(pc.val, e) != nil {
				return nil
			}
			looked.put(pc.key, pc.val, e)
			return e
		}
	}
	done = func() {
		mu.Lock()
		defer mu.Unlock()
		for _, tx := range all {
			tx.Rollback()
		}
		all = nil
	}
	return newLookup, done
}

// priorCursor is a cursor, the key it rests on (nil: not positioned), and buffers for
// the key looked up and a copy of its value.
type priorCursor struct {
	c        *bolt.Cursor
	k        []byte
	key, val []byte
}

// find returns the value stored under key, or nil, leaving the cursor on the first key
// at or after it.
func (pc *priorCursor) find(key []byte) []byte {
	if pc.k != nil && bytes.Compare(pc.k, key) < 0 {
		for range 8 {
			k, v := pc.c.Next()
			pc.k = k
			if k == nil {
				return nil // past the last key
			}
			switch c := bytes.Compare(k, key); {
			case c == 0:
				return v
			case c > 0:
				return nil
			}
		}
	}
	k, v := pc.c.Seek(key)
	pc.k = k
	if k == nil || !bytes.Equal(k, key) {
		return nil
	}
	return v
}

// lookedUp holds the entries Prior decoded, under a keyed hash of the key and value
// they were decoded from, until Next reads the same bytes. (The bytes themselves are
// the file's mapping, which an edit in place changes: both sides work on a copy, and
// only a hash of the copy decoded can tell Next that what it digests is what was
// decoded.) It is
// split in shards, each with its own lock, as the walk's workers fill it while the
// merge empties it.
type lookedUp struct {
	keySeed, valSeed maphash.Seed
	shards           [16]lookedShard
}

type lookedShard struct {
	mu sync.Mutex
	m  map[uint64]*tree.Entry
}

// maxLooked bounds the entries Prior keeps for Next: those a walk has looked up and the
// merge has not reached yet, which the walk's own bound keeps far below it.
const maxLooked = 1 << 17

func newLookedUp() *lookedUp {
	l := &lookedUp{keySeed: maphash.MakeSeed(), valSeed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].m = map[uint64]*tree.Entry{}
	}
	return l
}

// sum is the keyed hash of a record: of its key and of its value, each with a seed of
// its own.
func (l *lookedUp) sum(k, v []byte) uint64 {
	return maphash.Bytes(l.keySeed, k) ^ maphash.Bytes(l.valSeed, v)
}

func (l *lookedUp) put(k, v []byte, e *tree.Entry) {
	s := l.sum(k, v)
	sh := &l.shards[s%uint64(len(l.shards))]
	sh.mu.Lock()
	if len(sh.m) < maxLooked/len(l.shards) {
		sh.m[s] = e
	}
	sh.mu.Unlock()
}

// take returns and forgets the entry decoded from record k, v, or nil.
func (l *lookedUp) take(k, v []byte) *tree.Entry {
	s := l.sum(k, v)
	sh := &l.shards[s%uint64(len(l.shards))]
	sh.mu.Lock()
	e := sh.m[s]
	if e != nil {
		delete(sh.m, s)
	}
	sh.mu.Unlock()
	return e
}
