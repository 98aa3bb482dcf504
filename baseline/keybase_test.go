package baseline

import (
	"context"
	"fim/internal/fstest"
	"fim/tree"
	"path/filepath"
	"slices"
	"testing"
)

func TestKeyBaseFor(t *testing.T) {
	for _, tc := range []struct {
		roots []string
		want  string
	}{
		{[]string{"/var/tmp/tree"}, "/var/tmp"},
		{[]string{"/etc", "/usr"}, ""},
		{[]string{"/"}, ""},
		{[]string{"/a/b/c", "/a/b/d/e"}, "/a/b"},
		{[]string{"/a/b", "/a/b/c"}, "/a"},
		{[]string{"/a/bc", "/a/b/c"}, "/a"},
	} {
		if got := KeyBaseFor(tc.roots); got != tc.want {
			t.Errorf("KeyBaseFor(%q) = %q, want %q", tc.roots, got, tc.want)
		}
	}
}

// TestKeyBase: with a key base the store reads back the same paths, in the same order,
// through every way of reading, and refuses a path outside the base.
func TestKeyBase(t *testing.T) {
	paths := []string{"/var/tmp/x", "/var/tmp/x/a", "/var/tmp/x/a/z", "/var/tmp/x-b", "/var/tmp/y"}
	db := filepath.Join(t.TempDir(), "b.db")
	w, err := Create(db)
	if err != nil {
		t.Fatal(err)
	}
	w.KeyBase = "/var/tmp"
	for _, p := range paths {
		if err := w.Add(&tree.Entry{Path: p, Type: tree.TypeDir}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Add(&tree.Entry{Path: "/var/tmpz", Type: tree.TypeDir}); err == nil {
		t.Error("Add outside the key base succeeded")
	}
	if err := w.Commit(Meta{}); err != nil {
		t.Fatal(err)
	}
	r, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Meta().KeyBase != "/var/tmp" {
		t.Errorf("meta key base %q", r.Meta().KeyBase)
	}
	var got []string
	for _, e := range fstest.Collect(t, r.Entries(context.Background())) {
		got = append(got, e.Path)
	}
	if !slices.Equal(got, paths) {
		t.Errorf("iterated %q, want %q", got, paths)
	}
	for _, p := range []string{"/var/tmp/x/a", "/var/tmp/y"} {
		if e, err := r.Get(p); err != nil || e == nil || e.Path != p {
			t.Errorf("Get(%q) = %v, %v", p, e, err)
		}
	}
	for _, p := range []string{"/etc", "/var/tmp", "/var/tmpz", "/"} {
		if e, err := r.Get(p); err != nil || e != nil {
			t.Errorf("Get(%q) = %v, %v; want nothing", p, e, err)
		}
	}
	subtree := func(p string) []string {
		var out []string
		for _, e := range fstest.Collect(t, r.Subtree(p)) {
			out = append(out, e.Path)
		}
		return out
	}
	for p, want := range map[string][]string{
		"/":              paths,
		"/var":           paths,
		"/var/tmp":       paths,
		"/var/tmp/x":     {"/var/tmp/x", "/var/tmp/x/a", "/var/tmp/x/a/z"},
		"/var/tmp/x/a/z": {"/var/tmp/x/a/z"},
		"/var/tmp/q":     nil,
		"/etc":           nil,
	} {
		if got := subtree(p); !slices.Equal(got, want) {
			t.Errorf("Subtree(%q) = %q, want %q", p, got, want)
		}
	}
	newLookup, done := r.Iter().Prior()
	defer done()
	lookup := newLookup()
	if e := lookup("/var/tmp/x-b"); e == nil || e.Path != "/var/tmp/x-b" {
		t.Errorf("Prior lookup: %v", e)
	}
	if e := lookup("/etc"); e != nil {
		t.Errorf("Prior lookup outside the base: %v", e)
	}
}
