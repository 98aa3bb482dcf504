package check

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"fim/baseline"
	"fim/config"
	"fim/diff"
)

// accept compares the fixture's tree with its baseline, lays the events sel selects
// over the baseline as fim accept does, and returns every event of the comparison.
func (f *fixture) accept(t *testing.T, sel Selector) []diff.Event {
	t.Helper()
	b, err := Open(f.db, OpenOptions{Replace: true})
	must(t, err)
	defer b.Close()
	var reported []diff.Event
	res, err := Accept(context.Background(), b, AcceptOptions{Options: Options{DB: f.db}, Select: &sel,
		Report: func(accepted []diff.Event) error { reported = accepted; return nil }})
	must(t, err)
	for i := range res.Events {
		if ev := &res.Events[i]; sel.Match(ev) != slices.ContainsFunc(reported, func(a diff.Event) bool { return a.Path == ev.Path && a.Kind == ev.Kind }) {
			t.Errorf("Accept: %s %s reported %v, matched %v", ev.Kind, ev.Path, !sel.Match(ev), sel.Match(ev))
		}
	}
	if !slices.EqualFunc(reported, res.Accepted, func(a, b diff.Event) bool { return a.Path == b.Path && a.Kind == b.Kind }) {
		t.Errorf("Accept reported %d differences, says it accepted %d", len(reported), len(res.Accepted))
	}
	return res.Events
}

// kindPaths summarizes events as "kind path", sorted.
func kindPaths(f *fixture, events []diff.Event) []string {
	var out []string
	for _, ev := range events {
		out = append(out, ev.Kind.String()+" "+strings.TrimPrefix(ev.Path, f.tree))
	}
	slices.Sort(out)
	return out
}

// TestAccept: after accepting the selected differences, a check reports exactly the
// others, whatever the selection: each kind alone, a path, a directory moved with a
// changed file in it (whose change stays, at the new path), everything, nothing.
func TestAccept(t *testing.T) {
	mutate := func(t *testing.T, tree string) {
		write(t, tree+"/new", "n")
		must(t, os.Remove(tree+"/gone"))
		write(t, tree+"/etc/passwd", "root:x:0:0:changed")
		must(t, os.Chmod(tree+"/bin/sh", 0o4755))
		must(t, os.Rename(tree+"/a", tree+"/b"))
		must(t, os.Rename(tree+"/lib", tree+"/usr/lib"))
		write(t, tree+"/usr/lib/libc.so", "patched")
	}
	kinds := func(ks ...diff.Kind) func(*testing.T, string) Selector {
		return func(*testing.T, string) Selector {
			var set diff.KindSet
			for _, k := range ks {
				set = set.With(k)
			}
			return Selector{Kinds: set}
		}
	}
	globs := func(patterns ...string) func(*testing.T, string) Selector {
		return func(t *testing.T, tree string) Selector {
			sel := Selector{AnyKind: true}
			for _, p := range patterns {
				g, err := config.CompileGlob(tree + p)
				must(t, err)
				sel.Globs = append(sel.Globs, g)
			}
			return sel
		}
	}
	for _, c := range []struct {
		name string
		sel  func(t *testing.T, tree string) Selector
	}{
		{"nothing", kinds()},
		{"everything", globs()},
		{"creates", kinds(diff.Create)},
		{"removes", kinds(diff.Remove)},
		{"changes", kinds(diff.Change)},
		{"chmods", kinds(diff.Chmod)},
		{"renames and moves", kinds(diff.Rename, diff.Move)},
		{"a path", globs("/etc/**")},
		{"the moved directory alone", globs("/usr/lib")},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"a": "a", "gone": "g", "etc/passwd": "root:x:0:0",
				"bin/sh": "#!", "lib/libc.so": "libc", "lib/ld.so": "ld", "usr/x": "x"})
			f.baseline(t)
			mutate(t, f.tree)
			sel := c.sel(t, f.tree)
			first := f.accept(t, sel)
			var rest []diff.Event
			for _, ev := range first {
				if !sel.Match(&ev) {
					rest = append(rest, ev)
				}
			}
			r, err := baseline.Open(f.db)
			must(t, err)
			_, comp, err := Policy(r)
			must(t, err)
			again, err := Compare(context.Background(), Options{Baseline: r, Compiled: comp, DB: f.db})
			r.Close()
			must(t, err)
			if got, want := kindPaths(f, again), kindPaths(f, rest); !slices.Equal(got, want) {
				t.Errorf("after accepting, the check reports\n\t%s\nwant the differences not accepted\n\t%s\nof\n\t%s",
					strings.Join(got, "\n\t"), strings.Join(want, "\n\t"), strings.Join(kindPaths(f, first), "\n\t"))
			}
		})
	}
}
