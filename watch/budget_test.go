package watch

import (
	"context"
	"fim/baseline"
	"fim/diff"
	"fim/internal/fstest"
	"fim/walk"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRateLimit floods a watch of at most 5 events a window with 40 creates and a
// change of a file the window holds back: the first 5 events are delivered, then one
// rate_limited notice says how many were held back, then a rescan reports every
// change held back, once; nothing else is delivered. A second window after it
// delivers again as events come.
func TestRateLimit(t *testing.T) {
	root := t.TempDir()
	const limit, files = 5, 40
	r := startWatcher(t, "fsnotify", root, func(w *Watcher) {
		w.MaxEventsPerMinute = limit
		w.limit.window = time.Second
	})
	// Each file is written aside (in the same filesystem) and renamed in: one event each.
	aside := t.TempDir()
	want := map[string]bool{}
	for i := range files {
		name := fmt.Sprintf("f%02d", i)
		p := filepath.Join(root, name)
		if err := os.WriteFile(filepath.Join(aside, name), []byte("a"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(aside, name), p); err != nil {
			t.Fatal(err)
		}
		want["create "+p] = true
	}
	// A file made and removed again while events are held back: no net change for the
	// rescan to report, so the notice names it.
	transient := filepath.Join(root, "transient")
	if err := os.WriteFile(filepath.Join(aside, "transient"), []byte("t"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(aside, "transient"), transient); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // seen as made, and held back
	if err := os.Remove(transient); err != nil {
		t.Fatal(err)
	}
	var got []diff.Event
	seen := map[string]int{}
	deadline := time.After(eventTimeout)
	for len(seen) < len(want) {
		select {
		case ev := <-r.events:
			got = append(got, ev)
			if !ev.Kind.IsNotice() {
				k := ev.Kind.String() + " " + ev.Path
				if !want[k] {
					t.Fatalf("unexpected %s (%s)", k, ev.Source)
				}
				seen[k]++
			}
		case <-deadline:
			t.Fatalf("after %v: %d of %d creates reported: %v", eventTimeout, len(seen), len(want), summaries(got))
		}
	}
	var notices []diff.Event
	direct := 0
	for i, ev := range got {
		switch {
		case ev.Kind == diff.RateLimited:
			notices = append(notices, ev)
			if ev.Notice == nil || ev.Notice.HeldBack < files-direct {
				t.Fatalf("rate_limited notice %+v after %d events delivered: want at least %d held back", ev.Notice, direct, files-direct)
			}
			for k := range want {
				if p := strings.TrimPrefix(k, "create "); !seenDirect(got[:i], p) && !slices.Contains(ev.Notice.Paths, p) {
					t.Errorf("rate_limited notice does not name %s, held back", p)
				}
			}
			if !slices.Contains(ev.Notice.Paths, transient) || !slices.IsSorted(ev.Notice.Paths) {
				t.Errorf("rate_limited notice names %v: want %s, made and removed while held back, among them, sorted", ev.Notice.Paths, transient)
			}
		case len(notices) == 0:
			direct++
			if ev.Source != SourceFsnotify {
				t.Errorf("event %d before the notice: source %q", i, ev.Source)
			}
		case ev.Source != SourceRescan:
			t.Errorf("event %d after the notice: source %q, want rescan", i, ev.Source)
		}
	}
	if len(notices) != 1 || direct != limit {
		t.Errorf("%d events, then %d rate_limited notices; want %d, then 1: %v", direct, len(notices), limit, summaries(got))
	}
	for k, n := range seen {
		if !want[k] || n != 1 {
			t.Errorf("%s reported %d times", k, n)
		}
	}
	// The next window takes events again.
	time.Sleep(1100 * time.Millisecond)
	p := filepath.Join(root, "f00")
	if err := os.WriteFile(p, []byte("bb"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-r.events:
		if ev.Kind != diff.Change || ev.Path != p || ev.Source != SourceFsnotify {
			t.Errorf("after the window: %s, want a change of %s from fsnotify", r.summary(ev), p)
		}
	case <-time.After(eventTimeout):
		t.Fatalf("no event after the window")
	}
}

func summaries(events []diff.Event) string {
	var s []string
	for _, ev := range events {
		s = append(s, ev.Kind.String()+" "+ev.Path+" ("+ev.Source+")")
	}
	return strings.Join(s, "\n\t")
}

// seenDirect reports whether one of evs is of path p.
func seenDirect(evs []diff.Event, p string) bool {
	return slices.ContainsFunc(evs, func(ev diff.Event) bool { return ev.Path == p })
}

// TestHeartbeat watches a tree that has a baseline, every 100ms a heartbeat: each
// names the baseline's digest, the entries of the start-up comparison and the marks in
// force, and heartbeats go on while --max-events-per-minute holds events back.
func TestHeartbeat(t *testing.T) {
	root := t.TempDir()
	fstest.Tree{"a": fstest.File("a"), "d/x": fstest.File("x")}.Build(t, root)
	db := filepath.Join(t.TempDir(), "fim.db")
	wr, err := baseline.Create(db)
	if err != nil {
		t.Fatal(err)
	}
	for e, err := range (&walk.Walker{Roots: []walk.Root{{Path: root}}}).Walk(context.Background()) {
		if err == nil {
			err = wr.Add(e)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := wr.Commit(baseline.Meta{Policy: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	b, err := baseline.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	meta := b.Meta()
	b.Close()
	r := startWatcher(t, "fsnotify", root, func(w *Watcher) {
		w.DB, w.Heartbeat, w.MaxEventsPerMinute = db, 100*time.Millisecond, 1
	})
	changes := 0
	beat := func() {
		t.Helper()
		deadline := time.After(eventTimeout)
		for {
			select {
			case ev := <-r.events:
				if ev.Kind != diff.Heartbeat {
					changes++
					continue
				}
				n := ev.Notice
				if n == nil || n.Digest != meta.Digest || n.Entries != int(meta.Entries) || n.Entries != 4 || n.Marks[SourceFsnotify] < 1 || ev.Path != "" {
					t.Fatalf("heartbeat %+v, want digest %s, %d entries and fsnotify marks", n, meta.Digest, meta.Entries)
				}
				return
			case <-deadline:
				t.Fatal("no heartbeat")
			}
		}
	}
	beat()
	for _, name := range []string{"b", "c", "e"} { // one delivered, two held back
		if err := os.WriteFile(filepath.Join(root, "d", name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	beat()
	beat()
	if changes != 1 {
		t.Errorf("%d events besides heartbeats, want the 1 the limit lets through", changes)
	}
}
