package baseline

import (
	"fmt"
	"math/rand/v2"
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
	lookup, done := it.Prior()
	defer done()
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
	if n := len(it.looked); n != 1 {
		t.Errorf("%d entries kept after the iteration, want only the one looked up after it", n)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
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
