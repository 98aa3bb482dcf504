package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"fim/diff"
	"fim/tree"
)

// holdEmit makes the watcher's Emit wait, once armed, until release is closed: while
// it waits, the kernel's notifications queue up and are then looked at together, as
// when writers follow each other within one read of the queue.
func holdEmit(armed <-chan struct{}, held chan<- struct{}, release <-chan struct{}) func(*Watcher) {
	return func(w *Watcher) {
		emit := w.Emit
		w.Emit = func(events []diff.Event) error {
			select {
			case <-armed:
				select {
				case held <- struct{}{}:
					<-release
				default:
				}
			default:
			}
			return emit(events)
		}
	}
}

// TestWatchWriters makes two changes to one file by two programs while the watcher
// looks elsewhere (cp then chmod; dd then touch -r), so that one look at the file sees
// both: every writer is named by the events of the file, and the change of each
// attribute names the program that made it.
func TestWatchWriters(t *testing.T) {
	root := filepath.Join(tmpfs(t), "w")
	if err := os.MkdirAll(filepath.Join(root, "~sync"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"src": "new content", "a": "old", "b": "0123456789", "ref": ""} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(filepath.Join(root, "ref"), time.Unix(1e9, 0), time.Unix(1e9, 0)); err != nil {
		t.Fatal(err)
	}
	armed, held, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	r := startWatcher(t, "fanotify", root, holdEmit(armed, held, release))
	close(armed)
	r.run("tee", "block") // its event's delivery waits for release
	<-held
	pids := map[string]int{
		"cp":    r.run("cp", "src", "a"),
		"chmod": r.run("chmod", "0600", "a"),
		"dd":    r.run("dd", "if=/dev/zero", "of=b", "bs=4", "count=1", "conv=notrunc", "status=none"),
		"touch": r.run("touch", "-r", "ref", "b"),
	}
	close(release)

	// "a content" → the pids the events that change a's content name. A writer that
	// has exited when fim reads /proc is named by its pid alone.
	byAttr := map[string][]int{}
	r.settle(func(ev diff.Event) {
		name := filepath.Base(ev.Path)
		if name != "a" && name != "b" {
			return
		}
		var writers []int
		for _, p := range writersOf(&ev) {
			writers = append(writers, p.PID)
		}
		if ev.Writers != nil && !ev.Writers[len(ev.Writers)-1].Same(ev.Process) {
			t.Errorf("%s: writers %v do not end with the process %d", r.summary(ev), writers, ev.Process.PID)
		}
		for _, a := range ev.Changed.Strings() {
			byAttr[name+" "+a] = append(byAttr[name+" "+a], writers...)
		}
	})
	for key, want := range map[string]string{"a content": "cp", "a mode": "chmod", "b content": "dd", "b ctime": "touch"} {
		if !slices.Contains(byAttr[key], pids[want]) {
			t.Errorf("%s changed by %v, want %s (%d) among them; writers %v", key, byAttr[key], want, pids[want], pids)
		}
	}
}

// TestQueueWriters folds repeats made by several processes: the event that stands for
// them names each of them, the last one as its process.
func TestQueueWriters(t *testing.T) {
	var got []diff.Event
	w := &Watcher{DedupWindow: 2 * time.Second, BatchSize: 10, folds: map[string]*folded{},
		Emit: func(events []diff.Event) error { got = append(got, events...); return nil }}
	procs := map[string]*diff.Process{}
	for i, name := range []string{"a", "b", "c"} {
		procs[name] = &diff.Process{PID: 100 + i, Name: name, StartTime: uint64(i)}
	}
	t0 := time.Unix(1_000_000, 0)
	for i, by := range []string{"a", "b", "c", "b"} {
		b := &tree.Entry{Path: "/f", Type: tree.TypeFile, Mtime: int64(i)}
		a := &tree.Entry{Path: "/f", Type: tree.TypeFile, Mtime: int64(i + 1)}
		ev := diff.Event{Kind: diff.Change, Path: "/f", Changed: diff.Compare(b, a, 0), Before: b, After: a, Process: procs[by]}
		w.queue([]diff.Event{ev}, &round{before: map[string]*tree.Entry{}}, t0.Add(time.Duration(i)*time.Millisecond))
	}
	w.expire(t0, true)
	if err := w.deliver(); err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, ev := range got {
		var names []string
		for _, p := range ev.Writers {
			names = append(names, p.Name)
		}
		s = append(s, fmt.Sprintf("%s count %d by %s %v", ev.Kind, ev.Count, ev.Process.Name, names))
	}
	want := []string{"change count 0 by a []", "change count 3 by b [c b]"}
	if !slices.Equal(s, want) {
		t.Errorf("events %q, want %q", s, want)
	}
}

// TestLateWriters: a process whose notification finds nothing new at a path, because an
// earlier look already saw its change, is named among the writers of the change still
// waiting for delivery (and of a fold's repeats); a delivered change is not touched.
func TestLateWriters(t *testing.T) {
	proc := func(pid int, name string) *diff.Process {
		return &diff.Process{PID: pid, Name: name, StartTime: uint64(pid)}
	}
	dd, touch, cat := proc(1, "dd"), proc(2, "touch"), proc(3, "cat")
	w := &Watcher{folds: map[string]*folded{}}
	w.pending = []pending{
		{ev: diff.Event{Kind: diff.Change, Path: "/b", Process: dd}},
		{ev: diff.Event{Kind: diff.Change, Path: "/c", Process: cat}},
	}
	w.lateWriters("/b", []*diff.Process{touch})
	w.lateWriters("/gone", []*diff.Process{touch}) // nothing pending: nothing to name
	b := w.pending[0].ev
	if !b.Process.Same(touch) || len(b.Writers) != 2 || !b.Writers[0].Same(dd) || !b.Writers[1].Same(touch) {
		t.Errorf("/b: process %+v, writers %+v; want dd then touch", b.Process, b.Writers)
	}
	if c := w.pending[1].ev; !c.Process.Same(cat) || c.Writers != nil {
		t.Errorf("/c: process %+v, writers %+v; want cat alone", c.Process, c.Writers)
	}
	w.folds["/c"] = &folded{n: 1, writers: []*diff.Process{cat}}
	w.lateWriters("/c", []*diff.Process{touch})
	if f := w.folds["/c"]; len(f.writers) != 2 || !f.writers[1].Same(touch) {
		t.Errorf("fold of /c: writers %+v; want cat then touch", f.writers)
	}
}

// TestNoProcess: with NoProcess the fanotify events of a live writer name no process;
// without it, the same change names its writer.
func TestNoProcess(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoProcess=%v", off), func(t *testing.T) {
			root := filepath.Join(tmpfs(t), "w")
			if err := os.MkdirAll(filepath.Join(root, "~sync"), 0o755); err != nil {
				t.Fatal(err)
			}
			r := startWatcher(t, "fanotify", root, func(w *Watcher) { w.NoProcess = off })
			pid := r.run("tee", "new")
			var got []string
			r.settle(func(ev diff.Event) {
				if ev.Path != filepath.Join(root, "new") {
					return
				}
				s := r.summary(ev) + " by none"
				if ev.Process != nil {
					s = fmt.Sprintf("%s by %d", r.summary(ev), ev.Process.PID)
				}
				got = append(got, s)
			})
			want := []string{fmt.Sprintf("create T/new by %d", pid)}
			if off {
				want = []string{"create T/new by none"}
			}
			if !slices.Equal(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
		})
	}
}
