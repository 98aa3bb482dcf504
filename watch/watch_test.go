package watch

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fim/baseline"
	"fim/diff"
	"fim/internal/fstest"
	"fim/tree"
	"fim/walk"
)

// eventTimeout bounds each wait for the watcher.
const eventTimeout = 10 * time.Second

// TestQueue drives the ordering and dedup of delivery with explicit times. A change
// is delivered at once; true repeats of it (the same change leaving the same state,
// apart from times) are held until the window closes or until another event of the
// path comes, which they precede; a different change is never held; the event that
// stands for repeats has a count, and the attributes that differ between the state
// first reported and the last.
func TestQueue(t *testing.T) {
	var got []string
	w := &Watcher{DedupWindow: 2 * time.Second, BatchSize: 2, folds: map[string]*folded{},
		Emit: func(events []diff.Event) error {
			var s []string
			for _, ev := range events {
				s = append(s, describe(ev))
			}
			got = append(got, strings.Join(s, "; "))
			return nil
		}}
	// A state of /f: its content stands for itself, mtime and mode as given.
	state := func(p string, content string, mtime int64, mode uint32) *tree.Entry {
		return &tree.Entry{Path: p, Type: tree.TypeFile, Size: int64(len(content)), Hash: blake(content),
			Flags: tree.FlagHashed, Mtime: mtime, Mode: mode}
	}
	type st struct {
		content string
		mtime   int64
		mode    uint32
	}
	event := func(p string, from, to st) diff.Event {
		b, a := state(p, from.content, from.mtime, from.mode), state(p, to.content, to.mtime, to.mode)
		ch := diff.Compare(b, a, 0)
		return diff.Event{Kind: diff.KindOf(ch), Path: p, Changed: ch, Before: b, After: a}
	}
	remove := func(p string, from st) diff.Event {
		return diff.Event{Kind: diff.Remove, Path: p, Before: state(p, from.content, from.mtime, from.mode)}
	}
	t0 := time.Unix(1_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	queue := func(ms int, evs ...diff.Event) func() {
		return func() { w.queue(evs, &round{before: map[string]*tree.Entry{}}, at(ms)) }
	}
	expire := func(ms int) func() { return func() { w.expire(at(ms), false) } }
	steps := []struct {
		name string
		do   func()
		want []string // the Emit calls the step makes, after a deliver
	}{
		{"first", queue(0, event("/f", st{"a", 1, 0o644}, st{"b", 2, 0o644})), []string{"change /f b [content,mtime]"}},
		{"touched", queue(100, event("/f", st{"b", 2, 0o644}, st{"b", 3, 0o644})), []string{"change /f b [mtime]"}},
		{"touched again", queue(200, event("/f", st{"b", 3, 0o644}, st{"b", 4, 0o644})), nil},
		{"and again", queue(300, event("/f", st{"b", 4, 0o644}, st{"b", 5, 0o644})), nil},
		{"window open", expire(1000), nil},
		{"chmod after repeats", queue(1100, event("/f", st{"b", 5, 0o644}, st{"b", 5, 0o600})),
			[]string{"change /f b [mtime] count 2; chmod /f b [mode]"}},
		{"other content, same attributes", queue(1200, event("/f", st{"b", 5, 0o600}, st{"c", 6, 0o600})),
			[]string{"change /f c [content,mtime]"}},
		{"and another", queue(1300, event("/f", st{"c", 6, 0o600}, st{"d", 7, 0o600})),
			[]string{"change /f d [content,mtime]"}},
		{"one repeat", queue(1400, event("/g", st{"x", 1, 0o644}, st{"x", 2, 0o644}), event("/g", st{"x", 2, 0o644}, st{"x", 3, 0o644})),
			[]string{"change /g x [mtime]"}},
		{"window closed", expire(3400), []string{"change /g x [mtime] count 1"}},
		{"flap", queue(4000, event("/h", st{"x", 1, 0o644}, st{"x", 2, 0o644}), event("/h", st{"x", 2, 0o644}, st{"x", 1, 0o644}),
			event("/h", st{"x", 1, 0o644}, st{"x", 2, 0o644})), []string{"change /h x [mtime]"}},
		{"flap ends where it started", expire(6000), nil},
		{"repeat, then remove", queue(7000, event("/r", st{"x", 1, 0o644}, st{"x", 2, 0o644}), event("/r", st{"x", 2, 0o644}, st{"x", 3, 0o644}),
			remove("/r", st{"x", 3, 0o644})), []string{"change /r x [mtime]; change /r x [mtime] count 1", "remove /r"}},
		{"repeat below a removed directory", queue(8000, event("/d/f", st{"x", 1, 0o644}, st{"x", 2, 0o644}),
			event("/d/f", st{"x", 2, 0o644}, st{"x", 3, 0o644}), remove("/d", st{"", 1, 0o755})),
			[]string{"change /d/f x [mtime]; change /d/f x [mtime] count 1", "remove /d"}},
		{"nothing left at the end", func() { w.expire(at(8100), true) }, nil},
	}
	for _, s := range steps {
		got = nil
		s.do()
		if err := w.deliver(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, s.want) {
			t.Errorf("%s: emitted %q, want %q", s.name, got, s.want)
		}
	}
	if len(w.rounds) != 0 {
		t.Errorf("%d rounds left undelivered", len(w.rounds))
	}
}

func blake(s string) [32]byte {
	var h [32]byte
	copy(h[:], s)
	return h
}

func describe(ev diff.Event) string {
	s := ev.Kind.String() + " " + ev.Path
	if ev.After != nil {
		s += " " + strings.TrimRight(string(ev.After.Hash[:]), "\x00")
	}
	if ev.Changed != 0 {
		s += " [" + strings.Join(ev.Changed.Strings(), ",") + "]"
	}
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
	entry := func(p string, size int64) *tree.Entry {
		if size < 0 {
			return &tree.Entry{Path: p, Type: tree.TypeDir}
		}
		return &tree.Entry{Path: p, Type: tree.TypeFile, Size: size}
	}
	for _, e := range []*tree.Entry{entry("/t", -1), entry("/t/a", 1), entry("/t/b", 1), entry("/t/d", -1), entry("/t/d/x", 1), entry("/t/z", 1)} {
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
	st := newState(r)
	st.set("/t/a", entry("/t/a", 2))
	st.set("/t/b", nil)
	st.set("/t/c", entry("/t/c", 3))
	st.set("/t/d/y", entry("/t/d/y", 3))
	st.set("/t/d/x/", nil) // not a recorded path: harmless

	paths := func(es []*tree.Entry) []string {
		var s []string
		for _, e := range es {
			if e.Type == tree.TypeDir {
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
		if got := strings.Join(paths(slices.DeleteFunc([]*tree.Entry{e}, func(e *tree.Entry) bool { return e == nil })), ""); got != want {
			t.Errorf("get(%s) = %q, want %q", p, got, want)
		}
	}
	all := fstest.Collect(t, st.iter())
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
	mem := newState(nil)
	mem.put("/x", entry("/x", 1))
	mem.set("/x", nil)
	if len(mem.overlay) != 0 || len(mem.count) != 0 || len(mem.below) != 0 {
		t.Errorf("state after removal without a baseline: %v %v %v", mem.overlay, mem.count, mem.below)
	}
	// Nor does a path made and removed again since the baseline: no tombstones pile up.
	for i := range 1000 {
		p := fmt.Sprintf("/t/d/tmp%d", i)
		st.set(p, entry(p, 1))
		st.set(p, nil)
	}
	if got := st.overlayWithin("/t/d"); !slices.Equal(got, []string{"/t/d/x/", "/t/d/y"}) && !slices.Equal(got, []string{"/t/d/y"}) {
		t.Errorf("overlay below /t/d after 1000 files made and removed: %q", got)
	}
}

// TestStateIndex: the overlay's paths below a directory are those a scan of the whole
// overlay finds, whatever was put and dropped in between.
func TestStateIndex(t *testing.T) {
	st := newState(nil)
	rnd := rand.New(rand.NewPCG(1, 2))
	names := []string{"a", "b", "c", "d"}
	randPath := func() string {
		p := ""
		for range 1 + rnd.IntN(4) {
			p += "/" + names[rnd.IntN(len(names))]
		}
		return p
	}
	for range 5000 {
		p := randPath()
		if rnd.IntN(3) == 0 {
			st.set(p, nil)
		} else {
			st.put(p, &tree.Entry{Path: p})
		}
		q := randPath()
		var want []string
		for o := range st.overlay {
			if tree.IsWithin(o, q) {
				want = append(want, o)
			}
		}
		slices.SortFunc(want, tree.ComparePaths)
		if got := st.overlayWithin(q); !slices.Equal(got, want) {
			t.Fatalf("below %s: %q, want %q", q, got, want)
		}
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
			if strings.HasPrefix(msg, "watch: ready: ") {
				ready <- msg
			}
			if strings.HasPrefix(msg, "watch: overflow") {
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
	t.Cleanup(func() {
		if t.Failed() {
			// The test stopped reading: Emit would block on a full events channel and
			// the stop's failure would hide the test's own.
			go func() {
				for {
					select {
					case <-r.events:
					case <-r.done:
						return
					}
				}
			}()
		}
		r.stop()
	})
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
		buf := make([]byte, 8<<20)
		r.t.Fatalf("Run did not return within %v of the stop; where it is:\n%s", eventTimeout, buf[:runtime.Stack(buf, true)])
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

// backendDir returns a directory for a test of backend: its own tmpfs for fanotify,
// which marks whole filesystems; a temporary directory for inotify, which needs no
// privilege.
func backendDir(t *testing.T, backend string) string {
	t.Helper()
	if backend == "fanotify" {
		return tmpfs(t)
	}
	return t.TempDir()
}

// TestWatcher runs the engine in process under each backend: a few changes, the
// watcher's own writes (which fanotify leaves out), and a stop with a change pending.
func TestWatcher(t *testing.T) {
	for _, backend := range []string{"fanotify", "fsnotify"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			root := filepath.Join(backendDir(t, backend), "w")
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
			pid := r.run("tee", "last")
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

// TestRescanStopped stops a rescan after it has compared its first changed file: the
// rescan's events are not delivered, so the state (which --update writes as the
// baseline when fim stops) must not hold what it saw either.
func TestRescanStopped(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{"a", "b", "c"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &Watcher{Walker: &walk.Walker{Roots: []walk.Root{{Path: root}}}, folds: map[string]*folded{},
		Filter: func(p string) (diff.KindSet, diff.AttrSet) {
			if filepath.Base(p) == "a" {
				cancel() // the first changed file compared: stop
			}
			return diff.AllKinds, 0
		}}
	if _, err := w.loadState(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "c"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte("changed"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.rescan(ctx, SourcePeriodic, time.Now()); err == nil {
		t.Fatal("the rescan ran to its end: the test proves nothing")
	}
	for _, name := range []string{"a", "c"} {
		e, err := w.st.get(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if e == nil || e.Size != 1 {
			t.Errorf("state of %s after the stopped rescan: %+v, want the state before it", name, e)
		}
	}
	if len(w.pending) != 0 || len(w.rounds) != 0 {
		t.Errorf("%d events pending, %d rounds, after the stopped rescan", len(w.pending), len(w.rounds))
	}
}

// TestFullBacklog: while Emit says the backlog is full, the events are dropped and
// the state of their paths goes back to what was handed on; once Acked says the
// backlog is delivered, a rescan reports every change of the episode, once.
func TestFullBacklog(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "g"), []byte("g"), 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	full := false
	var got []diff.Event
	var taken uint64
	notes := make(chan string, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{
		Walker:       &walk.Walker{Roots: []walk.Root{{Path: root}}},
		Backend:      "fsnotify",
		BatchTimeout: 20 * time.Millisecond,
		BatchSize:    3,
		Emit: func(events []diff.Event) error {
			mu.Lock()
			defer mu.Unlock()
			if full {
				return fmt.Errorf("spool: %w", ErrFull)
			}
			got = append(got, events...)
			taken++
			return nil
		},
		Acked: func(time.Duration) (uint64, bool) {
			mu.Lock()
			defer mu.Unlock()
			return taken, !full
		},
		Logf: func(format string, args ...any) { notes <- fmt.Sprintf(format, args...) },
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	await := func(prefix string) {
		t.Helper()
		deadline := time.After(eventTimeout)
		for {
			select {
			case n := <-notes:
				if strings.HasPrefix(n, prefix) {
					return
				}
			case <-deadline:
				t.Fatalf("no notice %q", prefix)
			}
		}
	}
	await("watch: ready: ")
	mu.Lock()
	full = true
	mu.Unlock()
	var want []string
	for i := range 10 {
		p := filepath.Join(root, fmt.Sprintf("f%02d", i))
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, "create "+p)
	}
	if err := os.WriteFile(filepath.Join(root, "g"), []byte("gg"), 0o644); err != nil {
		t.Fatal(err)
	}
	want = append(want, "change "+filepath.Join(root, "g"))
	await("watch: changes are not queued")
	time.Sleep(100 * time.Millisecond) // more batches dropped
	mu.Lock()
	full = false
	mu.Unlock()
	await("watch: the delivery backlog is delivered")
	deadline := time.Now().Add(eventTimeout)
	for {
		mu.Lock()
		var have []string
		for _, ev := range got {
			have = append(have, ev.Kind.String()+" "+ev.Path)
		}
		mu.Unlock()
		count := map[string]int{}
		for _, h := range have {
			count[h]++
		}
		missing := slices.ContainsFunc(want, func(w string) bool { return count[w] == 0 })
		if !missing || time.Now().After(deadline) {
			for _, w := range want {
				if count[w] != 1 {
					t.Errorf("%s reported %d times, want once; reported:\n\t%s", w, count[w], strings.Join(have, "\n\t"))
				}
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWatcherGrowing watches a growing log under each backend: appending to it is not
// reported, rewriting its beginning is a change of prefix, cutting it short a change,
// and rotating it the rename of the old file and the create of the new.
func TestWatcherGrowing(t *testing.T) {
	for _, backend := range []string{"fanotify", "fsnotify"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			root := filepath.Join(backendDir(t, backend), "w")
			for _, p := range []string{"log", "~sync"} {
				if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(root, "log/app.log"), []byte("line 1\nline 2\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			r := startWatcher(t, backend, root, func(w *Watcher) { w.Walker.Roots[0].Growing = true })
			r.expect(backend, 0)
			r.run("sh", "-c", "echo line 3 >> log/app.log")
			r.expect(backend, 0)
			r.run("sh", "-c", "echo line 4 >> log/app.log")
			r.expect(backend, 0)
			r.run("sh", "-c", "printf LINE | dd of=log/app.log conv=notrunc status=none")
			r.expect(backend, 0, "change T/log/app.log [content,prefix,mtime,ctime]")
			r.run("sh", "-c", "echo line 5 >> log/app.log")
			r.expect(backend, 0)
			r.run("truncate", "-s", "3", "log/app.log")
			r.expect(backend, 0, "change T/log/app.log [content,prefix,size,mtime,ctime]")
			r.run("sh", "-c", "mv log/app.log log/app.log.1 && echo new > log/app.log")
			r.expect(backend, 0, "rename T/log/app.log.1 <- T/log/app.log", "create T/log/app.log")
			r.run("sh", "-c", "echo new 2 >> log/app.log")
			r.expect(backend, 0)
		})
	}
}
