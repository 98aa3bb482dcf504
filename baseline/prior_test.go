package baseline

import (
	"bytes"
	"context"
	"errors"
	"fim/internal/fstest"
	"fim/tree"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
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
				sameEntries(t, []*tree.Entry{got}, []*tree.Entry{want})
			}
		}
		if min := len(entries); found < min {
			t.Errorf("%s: %d paths found, want at least %d", name, found, min)
		}
	}

	// The iterator hands out what Prior decoded, and the same entries as a plain one.
	got := fstest.Collect(t, it.Entries(context.Background()))
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

func mustGet(t *testing.T, r *Reader, p string) *tree.Entry {
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
	write := hashWriter(t, db, target.Hash[:])
	it := r.Iter()
	newLookup, done := it.Prior()
	defer done()
	lookup := newLookup()
	write(bytes.Repeat([]byte{0xee}, 32))
	if got := lookup(target.Path); got == nil || got.Hash == target.Hash {
		t.Fatalf("the lookup did not read the altered record: %v", got)
	}
	write(target.Hash[:])
	for _, e := range fstest.Collect(t, it.Entries(context.Background())) {
		if e.Path == target.Path && e.Hash != target.Hash {
			t.Fatalf("the iterator handed out the altered record (hash %x), not the one it digested", e.Hash[:4])
		}
	}
}

// TestPriorRecordFlipping: a record flipped back and forth in the file while it is
// looked up again and again. Whatever the lookup keeps for Next must be the decoding
// of the very bytes its hash vouches for.
func TestPriorRecordFlipping(t *testing.T) {
	db := filepath.Join(t.TempDir(), "fim.db")
	entries := testEntries(50)
	target := entries[21]
	writeBaseline(t, db, entries)
	r, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	key := tree.Key(target.Path)
	orig := bytes.Clone(r.tx.Bucket(bucketEntries).Get(key))
	alt := bytes.Repeat([]byte{0xee}, 32)
	altered := bytes.Replace(orig, target.Hash[:], alt, 1)
	write := hashWriter(t, db, target.Hash[:])
	stop := make(chan struct{})
	flipped := make(chan struct{})
	go func() {
		defer close(flipped)
		for {
			select {
			case <-stop:
				return
			default:
				write(alt)
				write(target.Hash[:])
			}
		}
	}()
	defer func() { close(stop); <-flipped }()
	it := r.Iter()
	newLookup, done := it.Prior()
	defer done()
	lookup := newLookup()
	for i := range 20000 {
		lookup(target.Path)
		if e := it.looked.take(key, nil, orig); e != nil && e.Hash != target.Hash {
			t.Fatalf("lookup %d: the entry kept for the original bytes has hash %x", i, e.Hash[:4])
		}
		if e := it.looked.take(key, nil, altered); e != nil && e.Hash == target.Hash {
			t.Fatalf("lookup %d: the entry kept for the altered bytes has the original hash", i)
		}
	}
}

// TestPriorTruncated: the baseline cut short under a check --fast, so that a lookup on
// a walk's goroutine touches pages no longer in the file. The lookup must report the
// record absent (the iteration then reports the damage), not end the process with
// SIGBUS. A fatal signal cannot be recovered in a test, so a copy of the test binary
// does the lookup.
func TestPriorTruncated(t *testing.T) {
	const marker = "lookup after truncation: "
	if db := os.Getenv("FIM_PRIOR_TRUNCATED_DB"); db != "" {
		r, err := Open(db)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		newLookup, done := r.Iter().Prior()
		defer done()
		res := make(chan *tree.Entry)
		go func() {
			lookup := newLookup()
			if err := os.Truncate(db, 64<<10); err != nil {
				panic(err)
			}
			res <- lookup(os.Getenv("FIM_PRIOR_TRUNCATED_PATH"))
		}()
		fmt.Printf("%s%v\n", marker, <-res)
		return
	}
	db := filepath.Join(t.TempDir(), "fim.db")
	entries := testEntries(20000)
	writeBaseline(t, db, entries)
	inChild(t, marker+"<nil>", "FIM_PRIOR_TRUNCATED_DB="+db, "FIM_PRIOR_TRUNCATED_PATH="+entries[len(entries)-1].Path)
}

// TestSubtreeTruncated: a baseline cut short while fim watch reads a subtree of it gives
// an unusable-baseline error, not a crash.
func TestSubtreeTruncated(t *testing.T) {
	const marker = "subtree after truncation: "
	if db := os.Getenv("FIM_SUBTREE_TRUNCATED_DB"); db != "" {
		r, err := Open(db)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if err := os.Truncate(db, 64<<10); err != nil {
			t.Fatal(err)
		}
		for _, err = range r.Subtree("/") {
		}
		fmt.Printf("%s%v\n", marker, errors.Is(err, ErrBadBaseline))
		return
	}
	db := filepath.Join(t.TempDir(), "fim.db")
	writeBaseline(t, db, testEntries(20000))
	inChild(t, marker+"true", "FIM_SUBTREE_TRUNCATED_DB="+db)
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

// hashWriter returns a function that writes b wherever hash appears in file db.
func hashWriter(t *testing.T, db string, hash []byte) func(b []byte) {
	t.Helper()
	raw, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for i := 0; ; {
		j := bytes.Index(raw[i:], hash)
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
	t.Cleanup(func() { f.Close() })
	return func(b []byte) {
		for _, off := range offs {
			if _, err := f.WriteAt(b, off); err != nil {
				t.Error(err)
			}
		}
	}
}

// TestIterTruncatedOtherGoroutine: a baseline cut short while its entries are read on
// a goroutine other than the one that made the iterator gives an unusable-baseline
// error, not a crash.
func TestIterTruncatedOtherGoroutine(t *testing.T) {
	const marker = "iteration after truncation: "
	if db := os.Getenv("FIM_ITER_TRUNCATED_DB"); db != "" {
		r, err := Open(db)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		it := r.Iter()
		if err := os.Truncate(db, 64<<10); err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() {
			for _, err := range it.Entries(context.Background()) {
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		fmt.Printf("%s%v\n", marker, errors.Is(<-done, ErrBadBaseline))
		return
	}
	db := filepath.Join(t.TempDir(), "fim.db")
	writeBaseline(t, db, testEntries(20000))
	inChild(t, marker+"true", "FIM_ITER_TRUNCATED_DB="+db)
}

// inChild runs the test again in a copy of the test binary, with env added to its
// environment (a fatal signal ends the copy, not this test), and fails unless the
// copy's output holds want.
func inChild(t *testing.T, want string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte(want)) {
		t.Fatalf("the read did not survive the truncation: %v\n%s", err, out)
	}
}
