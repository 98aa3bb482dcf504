package check

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"fim/diff"
)

// TestNewSelector builds accept's selector from its flags and matches it against
// events: what each selects, the flags recorded for the history, and what is refused.
func TestNewSelector(t *testing.T) {
	events := []diff.Event{
		{Kind: diff.Create, Path: "/etc/new"},
		{Kind: diff.Change, Path: "/etc/passwd", Verdict: diff.VerdictMatch},
		{Kind: diff.Remove, Path: "/usr/bin/x", Verdict: diff.VerdictRemoved},
		{Kind: diff.Rename, Path: "/srv/b", OldPath: "/etc/{a}"},
		{Kind: diff.Chmod, Path: "/etc/sub/deep", Verdict: diff.VerdictMismatch},
	}
	for _, c := range []struct {
		name      string
		paths     []string
		types     []string
		explained bool
		given     []string
		selected  []string // paths of the events taken
		wrong     string   // the start of the *OptionError
	}{
		{"a glob, '*' stops at '/'; a rename by its old path", []string{"/etc/*"}, nil, false, []string{"--path=/etc/*"},
			[]string{"/etc/new", "/etc/passwd", "/srv/b"}, ""},
		{"'**' crosses '/'", []string{"/etc/**"}, nil, false, []string{"--path=/etc/**"},
			[]string{"/etc/new", "/etc/passwd", "/srv/b", "/etc/sub/deep"}, ""},
		{"a glob's own commas", []string{"/etc/{new,passwd}"}, nil, false, []string{"--path=/etc/{new,passwd}"},
			[]string{"/etc/new", "/etc/passwd"}, ""},
		{"kinds", nil, []string{"create", "remove"}, false, []string{"--type=create", "--type=remove"},
			[]string{"/etc/new", "/usr/bin/x"}, ""},
		{"explained", nil, nil, true, []string{"--explained"}, []string{"/etc/passwd", "/usr/bin/x"}, ""},
		{"all of them", []string{"/etc/**"}, []string{"change"}, true, []string{"--path=/etc/**", "--type=change", "--explained"},
			[]string{"/etc/passwd"}, ""},
		{"nothing selected", nil, nil, false, nil, nil, "accept: nothing selected"},
		{"a bad glob", []string{"/etc/["}, nil, false, nil, nil, "--path: "},
		{"a bad kind", nil, []string{"created"}, false, nil, nil, "--type: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			sel, given, err := NewSelector(c.paths, c.types, c.explained)
			if c.wrong != "" {
				var oe *OptionError
				if !errors.As(err, &oe) || !strings.HasPrefix(err.Error(), c.wrong) {
					t.Errorf("%v, want an OptionError starting %q", err, c.wrong)
				}
				return
			}
			must(t, err)
			if !slices.Equal(given, c.given) {
				t.Errorf("flags %q, want %q", given, c.given)
			}
			var selected []string
			for i := range events {
				if sel.Match(&events[i]) {
					selected = append(selected, events[i].Path)
				}
			}
			if !slices.Equal(selected, c.selected) {
				t.Errorf("selected %q, want %q", selected, c.selected)
			}
		})
	}
}
