package tree

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// entries makes an entry of each path: a directory where it ends in "/" (which the
// path leaves out), else a regular file.
func entries(paths ...string) []*Entry {
	var es []*Entry
	for _, p := range paths {
		e := &Entry{Path: p, Type: TypeFile}
		if len(p) > 1 && strings.HasSuffix(p, "/") {
			e.Path, e.Type = strings.TrimSuffix(p, "/"), TypeDir
		}
		es = append(es, e)
	}
	return es
}

// pairs renders a merge as "a|b" per path, "-" for the side without an entry.
func pairs(t *testing.T, a, b Seq) []string {
	t.Helper()
	var out []string
	for p, err := range Merge(a, b) {
		if err != nil {
			t.Fatal(err)
		}
		side := func(e *Entry) string {
			if e == nil {
				return "-"
			}
			return e.Path
		}
		out = append(out, side(p.A)+"|"+side(p.B))
	}
	return out
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
		want []string
	}{
		{"empty", nil, nil, nil},
		{"a only", []string{"/a", "/a/b"}, nil, []string{"/a|-", "/a/b|-"}},
		{"b only", nil, []string{"/a", "/b"}, []string{"-|/a", "-|/b"}},
		{"same", []string{"/a", "/b"}, []string{"/a", "/b"}, []string{"/a|/a", "/b|/b"}},
		// "/" sorts before every other byte: /a/b before /a-b, though '-' < '/'.
		{"key order", []string{"/a", "/a-b", "/c"}, []string{"/a", "/a/b", "/b"},
			[]string{"/a|/a", "-|/a/b", "/a-b|-", "-|/b", "/c|-"}},
		{"a after b ends", []string{"/x", "/y"}, []string{"/a"}, []string{"-|/a", "/x|-", "/y|-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pairs(t, Entries(entries(tt.a...)), Entries(entries(tt.b...))); !slices.Equal(got, tt.want) {
				t.Errorf("merge:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// seq is a Seq of paths that fails with err after them, when err is set, and records
// how far its consumer took it.
type seq struct {
	paths  []string
	err    error
	yields int
	ended  bool // returned: ran out, failed, or its consumer stopped
}

func (s *seq) all(yield func(*Entry, error) bool) {
	defer func() { s.ended = true }()
	for _, e := range entries(s.paths...) {
		s.yields++
		if !yield(e, nil) {
			return
		}
	}
	if s.err != nil {
		yield(nil, s.err)
	}
}

// TestMergeErrors: the first error of either side is yielded, once, and ends the
// merge; a reads no further than the first directory from where b has come.
func TestMergeErrors(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name   string
		a, b   *seq
		want   []string // pairs before the error
		aReads int
	}{
		{"b fails", &seq{paths: []string{"/a/", "/b", "/c"}}, &seq{paths: []string{"/a"}, err: boom}, []string{"/a|/a"}, 1},
		{"b fails, a read to a directory", &seq{paths: []string{"/a", "/b/", "/c"}}, &seq{paths: []string{"/a"}, err: boom}, []string{"/a|/a"}, 2},
		{"a fails", &seq{paths: []string{"/a"}, err: boom}, &seq{paths: []string{"/a", "/b"}}, []string{"/a|/a"}, 1},
		{"a fails after a run", &seq{paths: []string{"/a", "/b"}, err: boom}, &seq{paths: []string{"/a", "/b", "/c"}}, []string{"/a|/a", "/b|/b"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var errs []error
			for p, err := range Merge(tc.a.all, tc.b.all) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				got = append(got, p.A.Path+"|"+p.B.Path)
			}
			if !slices.Equal(got, tc.want) || len(errs) != 1 || errs[0] != boom {
				t.Errorf("pairs %q and errors %v; want %q and %v", got, errs, tc.want, boom)
			}
			if tc.a.yields != tc.aReads || !tc.a.ended || !tc.b.ended {
				t.Errorf("a yielded %d (want %d), a ended %v, b ended %v", tc.a.yields, tc.aReads, tc.a.ended, tc.b.ended)
			}
		})
	}
}

// TestMergeBreak: a consumer that stops early stops both sides, the pulled one too.
func TestMergeBreak(t *testing.T) {
	a, b := &seq{paths: []string{"/a/", "/b/", "/c/"}}, &seq{paths: []string{"/a", "/b", "/c"}}
	n := 0
	for range Merge(a.all, b.all) {
		if n++; n == 2 {
			break
		}
	}
	if !a.ended || !b.ended || a.yields != 2 || b.yields != 2 {
		t.Errorf("after a break at the second path: a ended %v after %d, b ended %v after %d", a.ended, a.yields, b.ended, b.yields)
	}
}

// TestMergeReadAhead: a is read in runs, up to and including its next directory and at
// most runMax entries, so never below a directory b has not come to; the runs do not
// change the merge.
func TestMergeReadAhead(t *testing.T) {
	var paths, want []string
	add := func(p string, both bool) {
		paths = append(paths, p)
		p = strings.TrimSuffix(p, "/")
		if both {
			want = append(want, p+"|"+p)
		} else {
			want = append(want, p+"|-")
		}
	}
	add("/d/", true)
	for i := range 3*runMax + 5 { // runs cut at runMax
		add(fmt.Sprintf("/d/f%04d", i), i%7 != 0)
	}
	add("/d/s/", true)
	add("/d/s/x", false)
	add("/d/s/y/", true)
	add("/d/t", true)
	a := &seq{paths: paths}
	var bPaths []string
	for _, w := range want {
		if p, b, _ := strings.Cut(w, "|"); b != "-" {
			bPaths = append(bPaths, p)
		}
	}
	var got []string
	for p, err := range Merge(a.all, Entries(entries(bPaths...))) {
		if err != nil {
			t.Fatal(err)
		}
		pos := len(got) // index in a of the path merged
		// a may have been read up to its first directory from pos on, and at most runMax
		// entries beyond pos.
		d := pos
		for d < len(paths)-1 && !strings.HasSuffix(paths[d], "/") {
			d++
		}
		if limit := min(d+1, pos+runMax); a.yields > limit {
			t.Fatalf("at %s: a read %d entries, beyond %d (%s)", paths[pos], a.yields, limit, paths[limit-1])
		}
		side := func(e *Entry) string {
			if e == nil {
				return "-"
			}
			return e.Path
		}
		got = append(got, side(p.A)+"|"+side(p.B))
	}
	if !slices.Equal(got, want) {
		t.Errorf("merge:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
