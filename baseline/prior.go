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
// the damage. The entries a lookup decodes are kept for Iter.Entries, which hands them out when
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
		pc := &priorCursor{ec: entryCursor{c: tx.Bucket(bucketEntries).Cursor(), copy: true}}
		return func(path string) (e *tree.Entry) {
			defer guard(r.path, nil, func() { e, pc.ok = nil, false })()
			var ok bool
			if pc.key, ok = appendKeyOf(pc.key[:0], r.meta.KeyBase, path); !ok {
				return nil
			}
			if !pc.find(pc.key) {
				return nil
			}
			// The block is a copy: what is decoded is what is hashed, whatever the
			// mapping holds meanwhile.
			br := &pc.ec.br
			e = &tree.Entry{Path: path}
			if br.decode(e) != nil {
				return nil
			}
			looked.put(br.key, br.base(), br.rec, e)
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

// priorCursor is a cursor over copies of the blocks, whether it rests on an entry, and
// a buffer for the key looked up.
type priorCursor struct {
	ec  entryCursor
	ok  bool
	key []byte
}

// find moves the cursor to the entry recorded under key and reports true, or reports
// false and leaves it on the first entry after key (or nowhere).
func (pc *priorCursor) find(key []byte) bool {
	var err error
	if pc.ok && bytes.Compare(pc.ec.br.key, key) <= 0 {
		// Ascending, as a walk asks: step forward, within this block and into the
		// next, before searching the tree again.
		for range 64 {
			c := bytes.Compare(pc.ec.br.key, key)
			if c >= 0 {
				return c == 0
			}
			if pc.ok, err = pc.ec.next(); !pc.ok || err != nil {
				pc.ok = false
				return false
			}
		}
	}
	if pc.ok, err = pc.ec.seek(key); !pc.ok || err != nil {
		pc.ok = false
		return false
	}
	return bytes.Equal(pc.ec.br.key, key)
}

// lookedUp holds the entries Prior decoded, under a keyed hash of the key and value
// they were decoded from, until Iter.Entries reads the same bytes. (The bytes themselves are
// the file's mapping, which an edit in place changes: both sides work on a copy, and
// only a hash of the copy decoded can tell it that what it digests is what was
// decoded.) It is
// split in shards, each with its own lock, as the walk's workers fill it while the
// merge empties it.
type lookedUp struct {
	keySeed, baseSeed, valSeed maphash.Seed
	shards                     [16]lookedShard
}

type lookedShard struct {
	mu sync.Mutex
	m  map[uint64]*tree.Entry
}

// maxLooked bounds the entries Prior keeps for Iter.Entries: those a walk has looked up and the
// merge has not reached yet, which the walk's own bound keeps far below it.
const maxLooked = 1 << 17

func newLookedUp() *lookedUp {
	l := &lookedUp{keySeed: maphash.MakeSeed(), baseSeed: maphash.MakeSeed(), valSeed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].m = map[uint64]*tree.Entry{}
	}
	return l
}

// sum is the keyed hash of a record: of its key, of the record it is relative to (nil
// for the first of a block) and of its value, each with a seed of its own.
func (l *lookedUp) sum(k, base, v []byte) uint64 {
	return maphash.Bytes(l.keySeed, k) ^ maphash.Bytes(l.baseSeed, base) ^ maphash.Bytes(l.valSeed, v)
}

func (l *lookedUp) put(k, base, v []byte, e *tree.Entry) {
	s := l.sum(k, base, v)
	sh := &l.shards[s%uint64(len(l.shards))]
	sh.mu.Lock()
	if len(sh.m) < maxLooked/len(l.shards) {
		sh.m[s] = e
	}
	sh.mu.Unlock()
}

// take returns and forgets the entry decoded from record k, v relative to base, or nil.
func (l *lookedUp) take(k, base, v []byte) *tree.Entry {
	s := l.sum(k, base, v)
	sh := &l.shards[s%uint64(len(l.shards))]
	sh.mu.Lock()
	e := sh.m[s]
	if e != nil {
		delete(sh.m, s)
	}
	sh.mu.Unlock()
	return e
}
