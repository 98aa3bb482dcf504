package check

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fim/diff"
	"fim/provenance"
)

// TestDiff compares two baselines of a real tree, taken before and after changes, as
// fim diff does: the events are OLD's against NEW's records, not against the tree.
func TestDiff(t *testing.T) {
	f := newFixture(t, map[string]string{"a": "x", "b": "y", "d/c": "z"})
	f.baseline(t)
	oldDB := filepath.Join(f.dir, "old.db")
	must(t, os.Rename(f.db, oldDB))
	write(t, filepath.Join(f.tree, "a"), "changed")
	must(t, os.Remove(filepath.Join(f.tree, "b")))
	write(t, filepath.Join(f.tree, "new"), "n")
	must(t, os.Chmod(filepath.Join(f.tree, "d/c"), 0o600))
	f.baseline(t)
	write(t, filepath.Join(f.tree, "after"), "not in either baseline")

	diffs := func(t *testing.T, o DiffOptions) ([]string, error) {
		t.Helper()
		old, err := Open(oldDB, OpenOptions{})
		must(t, err)
		defer old.Close()
		cur, err := Open(f.db, OpenOptions{})
		must(t, err)
		defer cur.Close()
		var reported []diff.Event
		events, err := Diff(context.Background(), old, cur, o, func(evs []diff.Event) error {
			reported = evs
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(reported) != len(events) {
			t.Errorf("reported %d events, returned %d", len(reported), len(events))
		}
		var out []string
		for _, ev := range events {
			out = append(out, ev.Kind.String()+" "+strings.TrimPrefix(ev.Path, f.tree)+" "+strings.Join(ev.Changed.Strings(), ","))
		}
		slices.Sort(out)
		return out, nil
	}
	for _, c := range []struct {
		name string
		o    DiffOptions
		want []string
	}{
		{"as recorded", DiffOptions{}, []string{"change /a content,size,mtime,ctime", "change /var mtime,ctime",
			"chmod /d/c mode,ctime", "create /new ", "remove /b "}},
		{"times ignored", DiffOptions{Ignore: diff.AttrSet(0).With(diff.AttrMtime).With(diff.AttrCtime)}, []string{"change /a content,size",
			"chmod /d/c mode", "create /new ", "remove /b "}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := diffs(t, c.o)
			must(t, err)
			if !slices.Equal(got, c.want) {
				t.Errorf("events %q, want %q", got, c.want)
			}
		})
	}
	// The package databases of a root that is no directory cannot be asked: the
	// user named the wrong root.
	_, err := diffs(t, DiffOptions{Root: filepath.Join(f.tree, "a"), Provenance: &provenance.Options{}})
	var oe *OptionError
	if !errors.As(err, &oe) || !strings.HasPrefix(err.Error(), "--root: ") {
		t.Errorf("a file as the root: %v, want an OptionError about --root", err)
	}
}
