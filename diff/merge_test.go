package diff

import (
	"errors"
	"fim/tree"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// propertyPaths is the universe of paths of the property test: names that sort
// differently bytewise and as keys ("/a-b" before "/a/b" bytewise, after it as keys).
var propertyPaths = []string{
	"/a", "/a/b", "/a/b/c", "/a/bc", "/a-b", "/a.b", "/a0", "/ab", "/b", "/b/a", "/b/a-b", "/b/ab",
	"/c", "/c/a", "/\xff", "/a/\xff",
}

// randomStates builds an old and a current state of files and symlinks from data: for
// each path, whether it exists on each side and with which inode, birth time, content
// and mode. Inodes and contents come from small ranges, so that renames, moves,
// reused inodes and ambiguous contents all happen.
func randomStates(data []byte) (old, cur []*tree.Entry) {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	contents := []string{"", "x", "y", "zz"}
	build := func(p string, b, c byte) *tree.Entry {
		var e *tree.Entry
		if b&0x80 != 0 {
			e = symlink(p, uint64(b&7), contents[c&3])
		} else {
			e = file(p, uint64(b&7), contents[c&3])
		}
		if b&0x08 != 0 {
			e.Btime, e.Flags = int64(b>>4&1), e.Flags|tree.FlagBtime
		}
		if c&0x04 != 0 {
			e.Mode = 0o600
		}
		if c&0x08 != 0 {
			e.Ctime++
		}
		return e
	}
	for _, p := range propertyPaths {
		presence := next()
		if presence&1 != 0 {
			old = append(old, build(p, next(), next()))
		}
		if presence&2 != 0 {
			cur = append(cur, build(p, next(), next()))
		}
	}
	return old, cur
}

// checkMergeProperties checks that every path of either state is accounted for exactly
// once: unchanged, or the path or old path of one event of the kind its presence
// implies; and that the events are sorted by key.
func checkMergeProperties(t *testing.T, old, cur []*tree.Entry) {
	t.Helper()
	events := run(t, nil, old, cur)
	if !slices.IsSortedFunc(events, func(a, b Event) int { return tree.ComparePaths(a.Path, b.Path) }) {
		t.Fatalf("events not sorted: %q", summary(events))
	}
	oldBy := map[string]*tree.Entry{}
	for _, e := range old {
		oldBy[e.Path] = e
	}
	curBy := map[string]*tree.Entry{}
	for _, e := range cur {
		curBy[e.Path] = e
	}
	seen := map[string]int{}
	for _, ev := range events {
		seen[ev.Path]++
		o, c := oldBy[ev.Path], curBy[ev.Path]
		switch ev.Kind {
		case Create:
			if o != nil || c == nil || ev.After != c || ev.Before != nil {
				t.Errorf("create %q: old %v, current %v", ev.Path, o != nil, c != nil)
			}
		case Remove:
			if o == nil || c != nil || ev.Before != o || ev.After != nil {
				t.Errorf("remove %q: old %v, current %v", ev.Path, o != nil, c != nil)
			}
		case Change, Chmod:
			if o == nil || c == nil {
				t.Errorf("%s %q: old %v, current %v", ev.Kind, ev.Path, o != nil, c != nil)
				continue
			}
			if want := Compare(o, c, 0); ev.Changed != want || want == 0 || ev.Kind != KindOf(want) {
				t.Errorf("%s %q %v: want %s %v", ev.Kind, ev.Path, ev.Changed.Strings(), KindOf(want), want.Strings())
			}
		case Rename, Move:
			seen[ev.OldPath]++
			oo := oldBy[ev.OldPath]
			if o != nil || c == nil || oo == nil || curBy[ev.OldPath] != nil {
				t.Errorf("%s %q <- %q: not a created and a removed path", ev.Kind, ev.Path, ev.OldPath)
				continue
			}
			if oo.Type != c.Type {
				t.Errorf("%s %q <- %q: %s paired with %s", ev.Kind, ev.Path, ev.OldPath, oo.Type, c.Type)
			}
			sameDir := tree.IsWithin(ev.Path, "/") && dirOf(ev.Path) == dirOf(ev.OldPath)
			if sameDir != (ev.Kind == Rename) {
				t.Errorf("%s %q <- %q: wrong kind", ev.Kind, ev.Path, ev.OldPath)
			}
			if ev.Changed.Has(AttrCtime) || ev.Changed.Has(AttrInode) || ev.Changed.Has(AttrDevice) {
				t.Errorf("%s %q <- %q: changed %v", ev.Kind, ev.Path, ev.OldPath, ev.Changed.Strings())
			}
		default:
			t.Errorf("unknown kind %v", ev.Kind)
		}
	}
	for _, p := range propertyPaths {
		o, c := oldBy[p], curBy[p]
		if o == nil && c == nil {
			if seen[p] != 0 {
				t.Errorf("%q in no state but in %d events", p, seen[p])
			}
			continue
		}
		unchanged := o != nil && c != nil && Compare(o, c, 0) == 0
		n := seen[p]
		if unchanged {
			n++
		}
		if n != 1 {
			t.Errorf("%q accounted for %d times (unchanged %v); events %q", p, n, unchanged, summary(events))
		}
	}
}

func dirOf(p string) string {
	i := len(p) - 1
	for i > 0 && p[i] != '/' {
		i--
	}
	if i == 0 {
		return "/"
	}
	return p[:i]
}

func TestMergeProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 5*len(propertyPaths))
	for range 3000 {
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		old, cur := randomStates(data)
		checkMergeProperties(t, old, cur)
		if t.Failed() {
			t.Fatalf("failed for %x", data)
		}
	}
}

func FuzzMerge(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 1, 1, 3, 1, 1})
	f.Add([]byte{1, 1, 1, 2, 1, 1, 2, 1, 1})
	f.Add([]byte{1, 0x89, 1, 2, 0x99, 1, 1, 1, 1, 2, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		old, cur := randomStates(data)
		checkMergeProperties(t, old, cur)
	})
}

// TestJoinErrors: an error of either side stops the join and is returned; nothing
// recorded after the failing current entry is taken for removed.
func TestJoinErrors(t *testing.T) {
	old := []*tree.Entry{file("/a", 1, "x"), file("/b", 2, "y")}
	boom := errors.New("boom")
	d := &Differ{}
	fail := func(yield func(*tree.Entry, error) bool) {
		if yield(file("/a", 1, "x"), nil) {
			yield(nil, boom)
		}
	}
	if err := Join(d, tree.Entries(old), fail); !errors.Is(err, boom) {
		t.Errorf("current side failing: %v", err)
	}
	if evs := d.Events(); len(evs) != 0 {
		t.Errorf("events after a failed join: %q", summary(evs))
	}
	d = &Differ{}
	bad := func(yield func(*tree.Entry, error) bool) { yield(nil, boom) }
	if err := Join(d, bad, tree.Entries(old)); !errors.Is(err, boom) {
		t.Errorf("recorded side failing: %v", err)
	}
}

// BenchmarkJoin: the join of two equal states of 100,000 files, as check meets an
// unchanged tree: what the merge itself costs per path.
func BenchmarkJoin(b *testing.B) {
	var es []*tree.Entry
	for i := range 100000 {
		es = append(es, file(fmt.Sprintf("/d%03d/f%05d", i/1000, i), uint64(i), "x"))
	}
	es = sortedEntries(es)
	b.ReportAllocs()
	for b.Loop() {
		if err := Join(&Differ{}, tree.Entries(es), tree.Entries(es)); err != nil {
			b.Fatal(err)
		}
	}
}
