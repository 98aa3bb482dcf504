package check

import (
	"context"
	"errors"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"fim/baseline"
	"fim/config"
	"fim/tree"
	"fim/walk"
)

// TestList: fim list hands on the records a glob matches, in key order, and nothing of
// a baseline whose records do not match its digest.
func TestList(t *testing.T) {
	f := newFixture(t, map[string]string{"a": "a", "d/b": "b", "d/e/c": "c", "d.txt": "t"})
	f.baseline(t)
	list := func(match walk.Matcher) ([]string, error) {
		var got []string
		err := List(context.Background(), f.db, match, func(e *tree.Entry) error {
			got = append(got, e.Path[len(f.tree):])
			return nil
		})
		return got, err
	}
	for _, c := range []struct {
		glob string // "": no glob
		want []string
	}{
		{"", []string{"", "/a", "/d", "/d/b", "/d/e", "/d/e/c", "/d.txt", "/var"}},
		{f.tree + "/d/*", []string{"/d/b", "/d/e"}},
		{f.tree + "/d/**", []string{"/d/b", "/d/e", "/d/e/c"}},
		{f.tree + "/*.txt", []string{"/d.txt"}},
	} {
		var match walk.Matcher
		if c.glob != "" {
			g, err := config.CompileGlob(c.glob)
			must(t, err)
			match = g
		}
		got, err := list(match)
		must(t, err)
		if !slices.Equal(got, c.want) {
			t.Errorf("list %q: %q, want %q", c.glob, got, c.want)
		}
	}

	// A record gone behind fim's back: the digest no longer holds, and nothing is
	// listed.
	bdb, err := bolt.Open(f.db, 0o600, nil)
	must(t, err)
	must(t, bdb.Update(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket([]byte("entries")).Cursor().Last()
		return tx.Bucket([]byte("entries")).Delete(k)
	}))
	must(t, bdb.Close())
	got, err := list(nil)
	if !errors.Is(err, baseline.ErrBadBaseline) || len(got) != 0 {
		t.Errorf("a baseline short of a record: listed %q, error %v", got, err)
	}
}
