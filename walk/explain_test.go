package walk

import (
	"fim/internal/fstest"
	"fim/tree"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestExplain checks every path of a real tree, and some that are not there, against
// what a walk of it records: Explain selects exactly the recorded paths (those the
// filesystem does not keep out), and gives the limit that leaves each other one out.
func TestExplain(t *testing.T) {
	base := t.TempDir()
	fstest.Tree{
		"a/keep":            fstest.File("k"),
		"a/.hidden/x":       fstest.File("x"),
		"a/b/c/too-deep":    fstest.File("d"),
		"a/skip.swp":        fstest.File("s"),
		"a/cache/x":         fstest.File("c"),
		"a/nested/.dot":     fstest.File("n"),
		"a/nested/d1/d2/d3": fstest.File("3"),
		"outside/x":         fstest.File("o"),
	}.Build(t, base)
	root := filepath.Join(base, "a")
	nested := filepath.Join(root, "nested")
	w := &Walker{
		Roots: []Root{
			{Path: root, Options: Options{MaxDepth: 2, NoHidden: true, Exclude: globs(t, root, "**/*.swp", "/ROOT/cache")}},
			{Path: nested}, // governs its own subtree: hidden names, any depth
		},
	}
	res := run(t, w)
	if res.err != nil {
		t.Fatal(res.err)
	}
	recorded := map[string]bool{}
	for _, e := range res.entries {
		recorded[e.Path] = true
	}

	want := map[string]string{ // path below base → reason, at
		"a":                 "selected a",
		"a/keep":            "selected a/keep",
		"a/.hidden":         "hidden a/.hidden",
		"a/.hidden/x":       "hidden a/.hidden",
		"a/b":               "selected a/b",
		"a/b/c":             "selected a/b/c",
		"a/b/c/too-deep":    "too deep a/b/c/too-deep",
		"a/b/c/no/such":     "too deep a/b/c/no",
		"a/skip.swp":        "excluded a/skip.swp **/*.swp",
		"a/cache":           "excluded a/cache /ROOT/cache",
		"a/cache/x":         "excluded a/cache /ROOT/cache",
		"a/nested":          "selected a/nested",
		"a/nested/.dot":     "selected a/nested/.dot",
		"a/nested/d1/d2/d3": "selected a/nested/d1/d2/d3",
		"a/missing":         "selected a/missing",
		"outside":           "outside every root outside",
		"outside/x":         "outside every root outside/x",
	}
	for rel, w1 := range want {
		p := filepath.Join(base, rel)
		s := w.Explain(p)
		got := s.Reason.String() + " " + strings.TrimPrefix(s.At, base+"/")
		if s.Pattern != nil {
			got += " " + strings.ReplaceAll(fmt.Sprint(s.Pattern), root, "/ROOT")
		}
		if got != w1 {
			t.Errorf("Explain(%s) = %q, want %q", rel, got, w1)
		}
		if s.Selected() != w.Selects(p) {
			t.Errorf("%s: Explain says selected %v, Selects %v", rel, s.Selected(), w.Selects(p))
		}
		_, err := os.Lstat(p)
		if exists := err == nil; exists && s.Selected() != recorded[p] {
			t.Errorf("%s: Explain says selected %v, the walk recorded it: %v", rel, s.Selected(), recorded[p])
		}
	}
	// Every recorded path is one Explain selects, with its root and depth.
	for _, e := range res.entries {
		s := w.Explain(e.Path)
		if !s.Selected() {
			t.Errorf("%s recorded, but Explain says %v", e.Path, s.Reason)
		}
		wantRoot := root
		if tree.IsWithin(e.Path, nested) {
			wantRoot = nested
		}
		depth := 0
		if e.Path != wantRoot {
			depth = strings.Count(e.Path[len(wantRoot):], "/")
		}
		if s.Root == nil || s.Root.Path != wantRoot || s.Depth != depth {
			t.Errorf("%s: root %v depth %d, want %s depth %d", e.Path, s.Root, s.Depth, wantRoot, depth)
		}
	}
	if s := w.Explain(root + "//keep"); s.Reason != ReasonBadName {
		t.Errorf("unclean path: %v", s.Reason)
	}

	// Under a prefix, paths are recorded ones.
	wp := &Walker{Roots: []Root{{Path: "/a"}}, Prefix: base}
	var got []string
	for _, p := range []string{"/a/keep", "/outside"} {
		got = append(got, wp.Explain(p).Reason.String())
	}
	if want := []string{"selected", "outside every root"}; !slices.Equal(got, want) {
		t.Errorf("under a prefix: %q, want %q", got, want)
	}
}
