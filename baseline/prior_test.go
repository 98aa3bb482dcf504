package baseline

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"fim/walk"
)

// TestPrior asks Prior for every recorded path and for absent paths in between, in
// ascending order (as a walk asks: the cursor steps forward), in descending and random
// order (it searches again), and from many goroutines at once; every answer must equal
// what Get says.
func TestPrior(t *testing.T) {
	db := filepath.Join(t.TempDir(), "fim.db")
	entries := testEntries(2000)
	writeBaseline(t, db, entries)
	r, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	var asks []string
	for i, e := range entries {
		asks = append(asks, e.Path, e.Path+"/absent", e.Path+"~")
		if i%150 == 0 {
			asks = append(asks, e.Path) // asked twice in a row
		}
	}
	asks = append([]string{"/", "/a", "/t"}, append(asks, "/t/zzz", "/u")...)
	reversed := make([]string, len(asks))
	for i, p := range asks {
		reversed[len(asks)-1-i] = p
	}
	shuffled := append([]string(nil), asks...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })

	it := r.Iter()
	newLookup, done := it.Prior()
	defer done()
	lookup := newLookup()
	for name, order := range map[string][]string{"ascending": asks, "descending": reversed, "random": shuffled} {
		found := 0
		for _, p := range order {
			got, want := lookup(p), mustGet(t, r, p)
			if (got == nil) != (want == nil) {
				t.Fatalf("%s: Prior(%q) = %v, Get = %v", name, p, got, want)
			}
			if want != nil {
				found++
				sameEntries(t, []*walk.Entry{got}, []*walk.Entry{want})
			}
		}
		if min := len(entries); found < min {
			t.Errorf("%s: %d paths found, want at least %d", name, found, min)
		}
	}

	// The iterator hands out what Prior decoded, and the same entries as a plain one.
	var got []*walk.Entry
	for {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e == nil {
			break
		}
		got = append(got, e)
	}
	sameEntries(t, got, entries)
	if p := lookup(entries[7].Path); p == got[7] {
		t.Error("a lookup after the iterator passed returned the handed-out entry")
	}
	if n := it.looked.count(); n != 1 {
		t.Errorf("%d entries kept after the iteration, want only the one looked up after it", n)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lookup := newLookup()
			for i := g; i < len(entries); i += 3 {
				if e := lookup(entries[i].Path); e == nil || e.Inode != entries[i].Inode {
					errs <- fmt.Errorf("goroutine %d: Prior(%q) = %v", g, entries[i].Path, e)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func mustGet(t *testing.T, r *Reader, p string) *walk.Entry {
	t.Helper()
	e, err := r.Get(p)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestPriorAlteredInPlace: a record altered in the file while the walk looks it up, and
// put back before the iteration reaches it, must not reach the check: the iterator hands
// out only what it decoded from the very bytes it digested.
func TestPriorAlteredInPlace(t *testing.T) {
	db := filepath.Join(t.TempDir(), "fim.db")
	entries := testEntries(50)
	target := entries[21]
	if !target.Hashed() {
		t.Fatal("entry 21 has no hash")
	}
	writeBaseline(t, db, entries)
	r, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	raw, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for i := 0; ; {
		j := bytes.Index(raw[i:], target.Hash[:])
		if j < 0 {
			break
		}
		offs = append(offs, int64(i+j))
		i += j + 1
	}
	if len(offs) == 0 {
		t.Fatal("the record's hash is not in the file")
	}
	f, err := os.OpenFile(db, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	write := func(b []byte) {
		for _, off := range offs {
			if _, err := f.WriteAt(b, off); err != nil {
				t.Fatal(err)
			}
		}
	}
	it := r.Iter()
	newLookup, done := it.Prior()
	defer done()
	lookup := newLookup()
	write(bytes.Repeat([]byte{0xee}, 32))
	if got := lookup(target.Path); got == nil || got.Hash == target.Hash {
		t.Fatalf("the lookup did not read the altered record: %v", got)
	}
	write(target.Hash[:])
	for {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e == nil {
			break
		}
		if e.Path == target.Path && e.Hash != target.Hash {
			t.Fatalf("the iterator handed out the altered record (hash %x), not the one it digested", e.Hash[:4])
		}
	}
}

// count returns the number of entries kept for Next.
func (l *lookedUp) count() int {
	n := 0
	for i := range l.shards {
		l.shards[i].mu.Lock()
		n += len(l.shards[i].m)
		l.shards[i].mu.Unlock()
	}
	return n
}
