package watch

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fim/baseline"
	"fim/diff"
	"fim/walk"
)

// eventTimeout bounds each wait for the watcher.
const eventTimeout = 10 * time.Second

// TestEmitDedup drives the dedup window with explicit times: the first of a repeated
// event goes out at once, repeats fold into one event with a count and the last state
// when the window closes, another kind of event on the same path is never held back,
// and a different change ends the fold.
func TestEmitDedup(t *testing.T) {
	var calls [][]string
	w := &Watcher{DedupWindow: 2 * time.Second, BatchSize: 2, dedup: map[dedupKey]*folded{},
		Emit: func(events []diff.Event) error {
			var s []string
			for _, ev := range events {
				s = append(s, describe(ev))
			}
			calls = append(calls, s)
			return nil
		}}
	size := diff.AttrSet(0).With(diff.AttrContent).With(diff.AttrSize)
	state := func(p string, n int64) *walk.Entry { return &walk.Entry{Path: p, Type: walk.TypeFile, Size: n} }
	change := func(p string, from, to int64) diff.Event {
		return diff.Event{Kind: diff.Change, Path: p, Changed: size, Before: state(p, from), After: state(p, to)}
	}
	t0 := time.Unix(1_000_000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	mode := diff.AttrSet(0).With(diff.AttrMode)
	chmod := diff.Event{Kind: diff.Chmod, Path: "/f", Changed: mode, Before: state("/f", 2), After: state("/f", 2)}
	contentOnly := diff.Event{Kind: diff.Change, Path: "/f", Changed: diff.AttrSet(0).With(diff.AttrContent),
		Before: state("/f", 5), After: state("/f", 5)}

	steps := []struct {
		name string
		do   func() error
		want [][]string // the Emit calls the step makes
	}{
		{"first", func() error { return w.emit([]diff.Event{change("/f", 0, 1)}, at(0)) },
			[][]string{{"change /f 0→1"}}},
		{"repeat", func() error { return w.emit([]diff.Event{change("/f", 1, 2)}, at(100*time.Millisecond)) }, nil},
		{"chmod between", func() error { return w.emit([]diff.Event{chmod}, at(200*time.Millisecond)) },
			[][]string{{"chmod /f 2→2"}}},
		{"repeat again", func() error { return w.emit([]diff.Event{change("/f", 2, 3)}, at(300*time.Millisecond)) }, nil},
		{"window open", func() error { return w.emitFolded(at(time.Second), false) }, nil},
		{"window closed", func() error { return w.emitFolded(at(2*time.Second), false) },
			[][]string{{"change /f 1→3 count 2"}}},
		{"new window", func() error { return w.emit([]diff.Event{change("/f", 3, 4)}, at(2500*time.Millisecond)) },
			[][]string{{"change /f 3→4"}}},
		{"one repeat", func() error { return w.emit([]diff.Event{change("/f", 4, 5)}, at(2600*time.Millisecond)) }, nil},
		{"another change", func() error { return w.emit([]diff.Event{contentOnly}, at(2700*time.Millisecond)) },
			[][]string{{"change /f 4→5", "change /f 5→5"}}},
		{"final", func() error { return w.emitFolded(at(2800*time.Millisecond), true) }, nil},
		{"batches", func() error {
			return w.emit([]diff.Event{change("/a", 0, 1), change("/b", 0, 1), change("/c", 0, 1), change("/d", 0, 1), change("/e", 0, 1)}, at(time.Hour))
		}, [][]string{{"change /a 0→1", "change /b 0→1"}, {"change /c 0→1", "change /d 0→1"}, {"change /e 0→1"}}},
	}
	for _, s := range steps {
		calls = nil
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if fmt.Sprint(calls) != fmt.Sprint(s.want) {
			t.Errorf("%s: emitted %q, want %q", s.name, calls, s.want)
		}
	}
}

func describe(ev diff.Event) string {
	s := fmt.Sprintf("%s %s %d→%d", ev.Kind, ev.Path, ev.Before.Size, ev.After.Size)
	if ev.Count != 0 {
		s += fmt.Sprintf(" count %d", ev.Count)
	}
	return s
}

// TestState checks the overlay of what watch has seen over the baseline: lookups,
// removals, the whole state and subtrees in key order.
func TestState(t *testing.T) {
	db := filepath.Join(t.TempDir(), "fim.db")
	wr, err := baseline.Create(db)
	if err != nil {
		t.Fatal(err)
	}
	entry := func(p string, size int64) *walk.Entry {
		if size < 0 {
			return &walk.Entry{Path: p, Type: walk.TypeDir}
		}
		return &walk.Entry{Path: p, Type: walk.TypeFile, Size: size}
	}
	for _, e := range []*walk.Entry{entry("/t", -1), entry("/t/a", 1), entry("/t/b", 1), entry("/t/d", -1), entry("/t/d/x", 1), entry("/t/z", 1)} {
		if err := wr.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := wr.Commit(baseline.Meta{Policy: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	r, err := baseline.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	st := &state{base: r, overlay: map[string]*walk.Entry{}}
	st.set("/t/a", entry("/t/a", 2))
	st.set("/t/b", nil)
	st.set("/t/c", entry("/t/c", 3))
	st.set("/t/d/y", entry("/t/d/y", 3))
	st.set("/t/d/x/", nil) // not a recorded path: harmless

	paths := func(es []*walk.Entry) []string {
		var s []string
		for _, e := range es {
			if e.Type == walk.TypeDir {
				s = append(s, e.Path+":-1")
			} else {
				s = append(s, fmt.Sprintf("%s:%d", e.Path, e.Size))
			}
		}
		return s
	}
	for p, want := range map[string]string{"/t/a": "/t/a:2", "/t/b": "", "/t/d/x": "/t/d/x:1", "/t/c": "/t/c:3", "/t/q": ""} {
		e, err := st.get(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(paths(slices.DeleteFunc([]*walk.Entry{e}, func(e *walk.Entry) bool { return e == nil })), ""); got != want {
			t.Errorf("get(%s) = %q, want %q", p, got, want)
		}
	}
	var all []*walk.Entry
	next := st.iter()
	for {
		e, err := next()
		if err != nil {
			t.Fatal(err)
		}
		if e == nil {
			break
		}
		all = append(all, e)
	}
	want := []string{"/t:-1", "/t/a:2", "/t/c:3", "/t/d:-1", "/t/d/x:1", "/t/d/y:3", "/t/z:1"}
	if got := paths(all); !slices.Equal(got, want) {
		t.Errorf("iter: %q, want %q", got, want)
	}
	for p, want := range map[string][]string{
		"/t/d": {"/t/d:-1", "/t/d/x:1", "/t/d/y:3"},
		"/t/b": nil,
		"/t/c": {"/t/c:3"},
		"/t":   {"/t:-1", "/t/a:2", "/t/c:3", "/t/d:-1", "/t/d/x:1", "/t/d/y:3", "/t/z:1"},
	} {
		sub, err := st.subtree(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := paths(sub); !slices.Equal(got, want) {
			t.Errorf("subtree(%s): %q, want %q", p, got, want)
		}
	}

	// Without a baseline, a removal leaves nothing behind.
	mem := &state{overlay: map[string]*walk.Entry{"/x": entry("/x", 1)}}
	mem.set("/x", nil)
	if len(mem.overlay) != 0 {
		t.Errorf("overlay after removal without a baseline: %v", mem.overlay)
	}
}

// watcherRig runs a Watcher in the test's process, so that the race detector sees the
// engine at work.
type watcherRig struct {
	t      *testing.T
	root   string
	events chan diff.Event
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned err
	err    error
	syncs  int
	w      *Watcher
	lost   atomic.Int32 // "overflow" notices: rescans for lost events
}

func startWatcher(t *testing.T, backend, root string, opts ...func(*Watcher)) *watcherRig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &watcherRig{t: t, root: root, events: make(chan diff.Event, 1024), cancel: cancel, done: make(chan struct{})}
	ready := make(chan string, 1)
	w := &Watcher{
		Walker:       &walk.Walker{Roots: []walk.Root{{Path: root}}},
		Backend:      backend,
		BatchTimeout: 50 * time.Millisecond,
		Emit: func(events []diff.Event) error {
			for _, ev := range events {
				r.events <- ev
			}
			return nil
		},
		Logf: func(format string, args ...any) {
			msg := fmt.Sprintf(format, args...)
			if strings.HasPrefix(msg, "ready: ") {
				ready <- msg
			}
			if strings.HasPrefix(msg, "overflow") {
				r.lost.Add(1)
			}
		},
	}
	for _, o := range opts {
		o(w)
	}
	r.w = w
	go func() {
		r.err = w.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() { r.stop() })
	select {
	case msg := <-ready:
		if !strings.Contains(msg, "("+backend) {
			t.Fatalf("%q: not the %s backend", msg, backend)
		}
	case <-r.done:
		t.Fatalf("Run: %v before it was ready", r.err)
	case <-time.After(eventTimeout):
		t.Fatal("not ready")
	}
	return r
}

// stop ends the watcher's context and returns what Run returned.
func (r *watcherRig) stop() error {
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(eventTimeout):
		r.t.Fatalf("Run did not return within %v of the stop", eventTimeout)
	}
	return r.err
}

// run runs a command that changes the tree: another process, as fanotify does not
// report the watcher's own.
func (r *watcherRig) run(argv ...string) int {
	r.t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = r.root
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return cmd.Process.Pid
}

// expect makes a sentinel directory and checks the events reported before it.
func (r *watcherRig) expect(source string, pid int, want ...string) {
	r.t.Helper()
	r.syncs++
	sentinel := filepath.Join(r.root, "~sync", fmt.Sprint(r.syncs)) // see cmd/fim/watch_test.go
	r.run("mkdir", sentinel)
	var got []string
	deadline := time.After(eventTimeout)
	for {
		select {
		case ev := <-r.events:
			if ev.Kind == diff.Create && ev.Path == sentinel {
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					r.t.Errorf("events:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
				}
				return
			}
			got = append(got, r.summary(ev))
			if ev.Source != source {
				r.t.Errorf("%s %s: source %q, want %q", ev.Kind, ev.Path, ev.Source, source)
			}
			if pid != 0 && (ev.Process == nil || ev.Process.PID != pid) {
				r.t.Errorf("%s %s: process %+v, want pid %d", ev.Kind, ev.Path, ev.Process, pid)
			}
		case <-deadline:
			r.t.Fatalf("no sentinel after %v; events so far: %q", eventTimeout, got)
		}
	}
}

func (r *watcherRig) summary(ev diff.Event) string {
	rel := func(p string) string { return "T" + strings.TrimPrefix(p, r.root) }
	s := ev.Kind.String() + " " + rel(ev.Path)
	if ev.OldPath != "" {
		s += " <- " + rel(ev.OldPath)
	}
	if ev.Changed != 0 {
		s += " [" + strings.Join(ev.Changed.Strings(), ",") + "]"
	}
	return s
}

// TestWatcher runs the engine in process under each backend: a few changes, the
// watcher's own writes (which fanotify leaves out), and a stop with a change pending.
func TestWatcher(t *testing.T) {
	for _, backend := range []string{"fanotify", "fsnotify"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			var dir string
			if backend == "fanotify" {
				dir = tmpfs(t)
			} else {
				dir = t.TempDir() // inotify needs no privilege
			}
			root := filepath.Join(dir, "w")
			for _, p := range []string{"d/e", "~sync"} {
				if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(root, "a"), []byte("a"), 0o644); err != nil {
				t.Fatal(err)
			}
			r := startWatcher(t, backend, root)
			pidOf := func(pid int) int {
				if backend == "fanotify" {
					return pid
				}
				return 0
			}
			// tee, not touch: it creates a file in one system call.
			r.expect(backend, pidOf(r.run("tee", "new")), "create T/new")
			r.expect(backend, pidOf(r.run("chmod", "0600", "a")), "chmod T/a [mode,ctime]")
			r.expect(backend, pidOf(r.run("mv", "d", "d2")), "rename T/d2 <- T/d")
			r.expect(backend, pidOf(r.run("tee", "d2/e/f")), "create T/d2/e/f")
			r.expect(backend, pidOf(r.run("rm", "-r", "d2")), "remove T/d2", "remove T/d2/e", "remove T/d2/e/f")
			if backend != "fanotify" {
				if err := r.stop(); err != nil {
					t.Errorf("Run: %v", err)
				}
				return
			}
			// What the watcher's own process does is not reported: fim's database.
			if err := os.WriteFile(filepath.Join(root, "own"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			r.expect(backend, 0)
			// A change the kernel has queued when the watcher stops is reported.
			pid := r.run("touch", "last")
			if err := r.stop(); err != nil {
				t.Errorf("Run: %v", err)
			}
			close(r.events)
			var got []string
			for ev := range r.events {
				got = append(got, r.summary(ev))
				if ev.Process == nil || ev.Process.PID != pid {
					t.Errorf("%s: process %+v, want pid %d", r.summary(ev), ev.Process, pid)
				}
			}
			if !slices.Equal(got, []string{"create T/last"}) {
				t.Errorf("after the stop: %q, want the create of T/last", got)
			}
		})
	}
}
