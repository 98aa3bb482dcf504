package watch

import (
	"context"
	"errors"
	"fim/diff"
	"fim/walk"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRescans asks a running watch for a rescan: it finds what changed since, and the
// asking waits for it; a watch that is not running leaves the asking to its context.
func TestRescans(t *testing.T) {
	root := t.TempDir()
	events := make(chan diff.Event, 16)
	ready := make(chan struct{})
	w := &Watcher{
		Walker:       &walk.Walker{Roots: []walk.Root{{Path: root}}},
		Backend:      SourcePeriodic,
		Interval:     time.Hour,
		BatchTimeout: 10 * time.Millisecond,
		Ready:        func(string, string) { close(ready) },
		Emit: func(evs []diff.Event) error {
			for _, ev := range evs {
				events <- ev
			}
			return nil
		},
	}
	rescan := w.Rescans()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	select {
	case <-ready:
	case <-time.After(eventTimeout):
		t.Fatal("not ready")
	}
	if err := os.WriteFile(filepath.Join(root, "new"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rescan(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev.Path != filepath.Join(root, "new") || ev.Source != SourcePeriodic { // as the periodic rescan reports
			t.Errorf("event %s from %s, want %s from %s", ev.Path, ev.Source, filepath.Join(root, "new"), SourcePeriodic)
		}
	case <-time.After(eventTimeout):
		t.Fatal("the rescan reported nothing")
	}
	stop()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := rescan(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("asked of a watch that ended: %v, want the context's error", err)
	}
}
