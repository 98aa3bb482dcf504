package baseline

import (
	"fim/tree"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// benchBaseline writes a baseline of n entries and opens it.
func benchBaseline(b *testing.B, n int) (*Reader, []string) {
	db := filepath.Join(b.TempDir(), "fim.db")
	entries := testEntries(n)
	writeBaseline(b, db, entries)
	r, err := Open(db)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	paths := make([]string, len(entries))
	for i, e := range entries {
		paths[i] = e.Path
	}
	return r, paths
}

// BenchmarkGet looks recorded paths up in random order, as watch does.
func BenchmarkGet(b *testing.B) {
	r, paths := benchBaseline(b, 200000)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if e, err := r.Get(paths[i%len(paths)]); e == nil || err != nil {
			b.Fatal(paths[i%len(paths)], err)
		}
		i++
	}
}

// BenchmarkPrior looks every recorded path up in ascending order, as a walk's worker
// does for check --fast.
func BenchmarkPrior(b *testing.B) {
	r, paths := benchBaseline(b, 200000)
	b.ReportAllocs()
	i := 0
	var lookup func(string) *tree.Entry
	var done func()
	for b.Loop() {
		if i%len(paths) == 0 {
			if done != nil {
				done()
			}
			var newLookup func() func(string) *tree.Entry
			newLookup, done = r.Iter().Prior()
			lookup = newLookup()
		}
		if lookup(paths[i%len(paths)]) == nil {
			b.Fatal(paths[i%len(paths)])
		}
		i++
	}
	done()
}

// BenchmarkSubtree reads the entries recorded at and below directories in random order,
// as watch does for a directory it rescans: each holds 100 entries.
func BenchmarkSubtree(b *testing.B) {
	r, paths := benchBaseline(b, 200000)
	var dirs []string
	for i := 0; i < len(paths); i += 100 {
		dirs = append(dirs, paths[i])
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(dirs), func(i, j int) { dirs[i], dirs[j] = dirs[j], dirs[i] })
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		n := 0
		var err error
		for _, err = range r.Subtree(dirs[i%len(dirs)]) {
			n++
		}
		if err != nil || n != 100 {
			b.Fatal(dirs[i%len(dirs)], n, err)
		}
		i++
	}
}
