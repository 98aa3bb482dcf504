package baseline

import (
	"bytes"
	"context"
	"path"
	"path/filepath"
	"testing"

	"fim/tree"
)

// TestReadCopies: every way of reading records (Iter, Get, Subtree) gives a file its
// copy, or the reason it has none, as written; the others have neither.
func TestReadCopies(t *testing.T) {
	file := filepath.Join(t.TempDir(), "b.db")
	w, err := Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w.KeyBase = "/t"
	want := map[string]*tree.Entry{}
	for i, e := range testEntries(300) {
		switch {
		case e.Type != tree.TypeFile:
		case i%3 == 0:
			e.Copy = []byte("copy of " + e.Path)
		case i%3 == 1:
			e.NoCopy = tree.NoCopyTooLarge
		}
		want[e.Path] = e
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(testMeta()); err != nil {
		t.Fatal(err)
	}
	r, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	st := r.CopyStats()
	if st.Copies == 0 || st.NoCopies == 0 {
		t.Fatalf("counts %+v: the test keeps no copies", st)
	}
	seen := map[string]int{}
	check := func(how string, e *tree.Entry) {
		seen[how]++
		w := want[e.Path]
		if w == nil || !bytes.Equal(e.Copy, w.Copy) || e.NoCopy != w.NoCopy {
			t.Errorf("%s %s: copy %q, reason %v; want %q, %v", how, e.Path, e.Copy, e.NoCopy, w.Copy, w.NoCopy)
		}
	}
	for e, err := range r.Entries(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		check("Iter", e)
		g, err := r.Get(e.Path)
		if err != nil {
			t.Fatal(err)
		}
		check("Get", g)
	}
	for p := range want {
		if path.Dir(p) == "/t" {
			for e, err := range r.Subtree(p) {
				if err != nil {
					t.Fatal(err)
				}
				check("Subtree", e)
			}
		}
	}
	if seen["Iter"] != len(want) || seen["Get"] != len(want) || seen["Subtree"] < len(want)-1 {
		t.Errorf("read %v of %d", seen, len(want))
	}
}
