package check

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fim/baseline"
	"fim/config"
	"fim/diff"
	"fim/tree"
)

// fixture is a real tree under a temporary directory, with its policy.
type fixture struct {
	dir, tree, db string
	pol           *config.Policy
	comp          *config.Compiled
}

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	f.tree, f.db = filepath.Join(f.dir, "t"), filepath.Join(f.dir, "t", "var", "fim.db")
	for name, content := range files {
		write(t, filepath.Join(f.tree, name), content)
	}
	must(t, os.MkdirAll(filepath.Dir(f.db), 0o700))
	f.pol = &config.Policy{Rules: []config.Rule{{Path: f.tree, IncludeHidden: true}}}
	var err error
	if f.comp, err = f.pol.Compile(); err != nil {
		t.Fatal(err)
	}
	return f
}

func write(t *testing.T, path, content string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, []byte(content), 0o644))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// baseline writes the fixture's baseline as fim baseline does: a walk of the policy
// into a new baseline, fim's own files left out.
func (f *fixture) baseline(t testing.TB) Recorded {
	t.Helper()
	rec, err := Create(f.db, nil)
	must(t, err)
	defer rec.Close()
	f.comp.SetCopyKey(rec.CopyKey)
	st, err := rec.Record(context.Background(), f.pol, Walker(f.comp, WalkerOptions{Own: rec.Own()}).Walk(context.Background()), Stamp{}, nil)
	must(t, err)
	return st
}

// compare opens the baseline and compares the tree with it, returning the events as
// "kind path [changed]" with the tree's path cut.
func (f *fixture) compare(t *testing.T, o Options) []string {
	t.Helper()
	r, comp := f.open(t)
	defer r.Close()
	o.Baseline, o.Compiled, o.DB = r, comp, f.db
	events, err := Compare(context.Background(), o)
	must(t, err)
	var out []string
	for _, ev := range events {
		s := ev.Kind.String() + " " + strings.TrimPrefix(ev.Path, f.tree)
		if ev.Changed != 0 {
			s += " [" + strings.Join(ev.Changed.Strings(), ",") + "]"
		}
		out = append(out, s)
	}
	return out
}

// open opens the fixture's baseline with its policy.
func (f *fixture) open(t *testing.T) (*baseline.Reader, *config.Compiled) {
	t.Helper()
	r, err := baseline.Open(f.db)
	must(t, err)
	_, comp, err := Policy(r)
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	return r, comp
}

func TestCompare(t *testing.T) {
	for _, c := range []struct {
		name   string
		opts   Options
		mutate func(t *testing.T, tree string)
		want   []string
	}{
		{"unchanged", Options{}, func(*testing.T, string) {}, nil},
		{"every kind", Options{}, func(t *testing.T, tree string) {
			write(t, tree+"/new", "n")
			must(t, os.Remove(tree+"/gone"))
			write(t, tree+"/etc/passwd", "root:x:0:0:changed")
			must(t, os.Chmod(tree+"/bin/sh", 0o4755))
			must(t, os.Rename(tree+"/a", tree+"/b"))
			must(t, os.Rename(tree+"/etc/old", tree+"/bin/old"))
		}, []string{"rename /b", "chmod /bin/sh [mode,ctime]", "move /bin/old", "create /new",
			"change /etc/passwd [content,size,mtime,ctime]", "remove /gone"}},
		{"ignored attributes", Options{Ignore: diff.AttrSet(0).With(diff.AttrCtime).With(diff.AttrMode)}, func(t *testing.T, tree string) {
			must(t, os.Chmod(tree+"/bin/sh", 0o4755))
		}, nil},
		{"fast", Options{Fast: true}, func(t *testing.T, tree string) {
			write(t, tree+"/etc/passwd", "root:x:0:0:changed")
		}, []string{"change /etc/passwd [content,size,mtime,ctime]"}},
		{"fim's own files stay out", Options{}, func(t *testing.T, tree string) {
			write(t, tree+"/var/.fim.db.tmp-1", "not fim's: not held open")
		}, []string{"create /var/.fim.db.tmp-1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"a": "a", "gone": "g", "etc/passwd": "root:x:0:0",
				"etc/old": "o", "bin/sh": "#!"})
			f.baseline(t)
			c.mutate(t, f.tree)
			got := f.compare(t, c.opts)
			slices.Sort(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("events:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
			}
		})
	}
}

// TestCompareUpdate: an Update writer receives every walked entry, so that it can be
// committed as the new baseline, which then compares clean; its files stay out of the
// walk.
func TestCompareUpdate(t *testing.T) {
	f := newFixture(t, map[string]string{"a": "a", "d/b": "b"})
	f.baseline(t)
	write(t, f.tree+"/d/c", "c")
	b, err := Open(f.db, OpenOptions{Replace: true})
	must(t, err)
	defer b.Close()
	w := b.next
	var walked []string
	events, err := Compare(context.Background(), Options{Baseline: b.Reader, Compiled: b.Compiled, DB: f.db, Update: w,
		Progress: func(e *tree.Entry) { walked = append(walked, e.Path) }})
	must(t, err)
	if len(events) != 1 || events[0].Kind != diff.Create {
		t.Fatalf("events %v, want the create of d/c", events)
	}
	if w.Count() != uint64(len(walked)) {
		t.Errorf("the update holds %d entries, the walk gave %d", w.Count(), len(walked))
	}
	if _, err := b.Commit(Stamp{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.compare(t, Options{}); len(got) != 0 {
		t.Errorf("after the update: %v", got)
	}
}

func TestRoot(t *testing.T) {
	pol := &config.Policy{Root: "/img"}
	if root, err := Root(pol, ""); err != nil || root != "/img" {
		t.Errorf("stored root: %q, %v", root, err)
	}
	if root, err := Root(pol, "/other"); err != nil || root != "/other" {
		t.Errorf("given root: %q, %v", root, err)
	}
	image := &config.Policy{Source: "tar:img.tar"}
	if _, err := Root(image, ""); err == nil || !strings.Contains(err.Error(), "tar:img.tar") {
		t.Errorf("an image without a root: %v", err)
	}
}

// TestRecord: a baseline replacing another continues its generation and leaves out the
// files of both, and says what it wrote; one that fails leaves the old one in place.
func TestRecord(t *testing.T) {
	f := newFixture(t, map[string]string{"a": "aa", "d/b": "bbb"})
	first := f.baseline(t)
	// The tree, its var and d directories, a and d/b: the baseline is fim's own.
	if first != (Recorded{Entries: 5, Files: 2, Bytes: 5}) {
		t.Errorf("first baseline: %+v", first)
	}
	write(t, f.tree+"/c", "c")
	if second := f.baseline(t); second.Entries != 6 || second.Files != 3 {
		t.Errorf("second baseline: %+v", second)
	}
	r, err := baseline.Open(f.db)
	must(t, err)
	if g := r.Meta().Generation; g != 2 {
		t.Errorf("generation %d, want 2", g)
	}
	r.Close()

	// The meta is made here: the policy recorded with, the stamp, the time.
	rec, err := Create(f.db, nil)
	must(t, err)
	_, err = rec.Record(context.Background(), f.pol, Walker(f.comp, WalkerOptions{Own: rec.Own()}).Walk(context.Background()),
		Stamp{Version: "v1", Host: "h", HostID: "id"}, nil)
	rec.Close()
	must(t, err)
	r, err = baseline.Open(f.db)
	must(t, err)
	pol, _, err := Policy(r)
	must(t, err)
	m := r.Meta()
	r.Close()
	if m.FimVersion != "v1" || m.Host != "h" || m.HostID != "id" || time.Since(m.Created) > time.Minute ||
		m.Generation != 3 || m.KeyBase != KeyBase(f.comp) || pol.Rules[0].Path != f.tree {
		t.Errorf("meta %+v, policy %+v", m, pol)
	}

	rec, err = Create(f.db, nil)
	must(t, err)
	boom := errors.New("boom")
	_, err = rec.Record(context.Background(), f.pol, func(yield func(*tree.Entry, error) bool) { yield(nil, boom) }, Stamp{}, nil)
	rec.Close()
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "unchanged") {
		t.Errorf("a failed recording: %v", err)
	}
	if got := f.compare(t, Options{}); len(got) != 0 {
		t.Errorf("after a failed recording, the old baseline differs: %v", got)
	}
}
