package check

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"fim/diff"
	"fim/internal/fstest"
)

// TestAddSHA256 walks a real tree, changes parts of it behind the walk's back, and
// checks that AddSHA256 gives the SHA-256 of exactly the files that are still what
// the walk saw, under the host's / and under a --root.
func TestAddSHA256(t *testing.T) {
	f := newFixture(t, map[string]string{
		"same.txt": "unchanged content", "rewritten": "old content", "swapped": "original",
		"dir/inner": "below a directory made a link", "empty": "", "gone": "removed after the walk",
	})
	must(t, syscall.Mkfifo(filepath.Join(f.tree, "fifo"), 0o644))
	var events []diff.Event
	for _, e := range fstest.Collect(t, Walker(f.comp, WalkerOptions{}).Walk(context.Background())) {
		events = append(events, diff.Event{Kind: diff.Create, Path: e.Path, After: e})
	}
	// Behind the walk's back: the same size, another content; a file replaced by a
	// symlink to itself's copy; a directory replaced by a link to a copy of it.
	write(t, filepath.Join(f.tree, "rewritten"), "new content")
	write(t, filepath.Join(f.dir, "copy"), "original")
	must(t, os.Remove(filepath.Join(f.tree, "swapped")))
	must(t, os.Symlink(filepath.Join(f.dir, "copy"), filepath.Join(f.tree, "swapped")))
	must(t, os.Rename(filepath.Join(f.tree, "dir"), filepath.Join(f.dir, "dir")))
	must(t, os.Symlink(filepath.Join(f.dir, "dir"), filepath.Join(f.tree, "dir")))
	must(t, os.Remove(filepath.Join(f.tree, "gone")))

	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	want := map[string]string{"/same.txt": sum("unchanged content"), "/empty": sum("")}
	check := func(t *testing.T, events []diff.Event, cut string) {
		seen := 0
		for _, ev := range events {
			rel := strings.TrimPrefix(ev.Path, cut)
			if ev.SHA256 != want[rel] {
				t.Errorf("%s: sha256 %q, want %q", rel, ev.SHA256, want[rel])
			}
			if _, ok := want[rel]; ok {
				seen++
			}
		}
		if seen != len(want) {
			t.Errorf("%d of the %d files to hash have an event", seen, len(want))
		}
	}
	t.Run("host", func(t *testing.T) {
		evs := append([]diff.Event(nil), events...)
		must(t, AddSHA256("", evs))
		check(t, evs, f.tree)
	})
	t.Run("root", func(t *testing.T) {
		// The same events as a check under --root f.tree reports them.
		evs := append([]diff.Event(nil), events...)
		for i := range evs {
			evs[i].Path = "/" + strings.TrimPrefix(strings.TrimPrefix(evs[i].Path, f.tree), "/")
		}
		must(t, AddSHA256(f.tree, evs))
		check(t, evs, "")
	})
	t.Run("no root", func(t *testing.T) {
		if err := AddSHA256(filepath.Join(f.dir, "absent"), events); err == nil || !strings.Contains(err.Error(), "absent") {
			t.Errorf("a missing root: %v", err)
		}
	})
}
