package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fim/internal/fstest"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// These tests run `fim watch` (the binary TestMain builds) on real kernel events. Each
// test has a tmpfs of its own, mounted below t.TempDir(), and runs fim in a private
// mount namespace, so that the filesystem mark fanotify puts on that tmpfs sees only
// the test's traffic. A test waits for fim's readiness line, makes its changes with
// separate processes (so that it knows the writer's pid), then reads the NDJSON report
// up to a sentinel: a directory "~sync/N" the test creates below the watched root after
// the change. The kernel queues the sentinel's notification after the change's, events
// of one batch are sorted by path, and "~" sorts after every name the tests use: once
// the sentinel's create is read, everything the change caused has been reported (with
// --dedup-window 0, nothing is held back). The sentinels have a directory of their own
// because a batch that looks at a directory for another reason may see a sentinel
// already made there while its notification falls in the next batch; fim then reports
// the directory's new mtime, as it should. No test sleeps to assert, and none depends
// on how the kernel splits a change into notifications.

// eventTimeout bounds each wait for fim; generous for a loaded CI machine.
const eventTimeout = 10 * time.Second

// watchBackend is one way fim watch learns of changes.
type watchBackend struct {
	name    string
	args    []string // flags that select it
	nobody  bool     // run fim as uid 65534 without capabilities: fanotify marks fail, fim falls back to fsnotify
	source  string   // the source events carry
	process bool     // events name the writing process
}

var (
	fanotifyBackend = watchBackend{name: "fanotify", source: "fanotify", process: true}
	fsnotifyBackend = watchBackend{name: "fsnotify", args: []string{"--backend", "fsnotify"}, source: "fsnotify"}
	fallbackBackend = watchBackend{name: "fallback", nobody: true, source: "fsnotify"}
	watchBackends   = []watchBackend{fanotifyBackend, fsnotifyBackend, fallbackBackend}
)

// watchEvent is one line of `fim watch --format json`.
type watchEvent struct {
	jsonEvent
	File    *watchState `json:"file"`
	Before  *watchState `json:"before"`
	Time    string      `json:"time"`
	Source  string      `json:"source"`
	Process *struct {
		PID  int      `json:"pid"`
		Name string   `json:"name"`
		Args []string `json:"args"`
		UID  *int     `json:"uid"`
		Gone bool     `json:"gone"`
	} `json:"process"`
	Count int    `json:"count"`
	raw   string // the line as fim wrote it
}

type watchState struct {
	Type  string `json:"type"`
	Mtime string `json:"mtime"`
	Hash  string `json:"hash"`
	Size  int64  `json:"size"`
	Mode  string `json:"mode"`
	UID   uint32 `json:"uid"`
	GID   uint32 `json:"gid"`
}

// tmpfs mounts a tmpfs of the test's own on a fresh directory and returns it. It is
// unmounted when the test ends (after fim, whose cleanup is registered later, exits).
func tmpfs(t *testing.T) string {
	t.Helper()
	fstest.RequireRoot(t)
	dir := filepath.Join(t.TempDir(), "fs")
	must(t, os.Mkdir(dir, 0o755))
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64m"); err != nil {
		fstest.Skipf(t, "mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
			unix.Unmount(dir, unix.MNT_DETACH)
		}
	})
	return dir
}

// needFanotify skips (fails, with FIM_REQUIRE_ROOT=1) unless a fanotify group with
// name reporting can put a filesystem mark on dir.
func needFanotify(t *testing.T, dir string) {
	t.Helper()
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_REPORT_DFID_NAME, unix.O_RDONLY)
	if err != nil {
		fstest.Skipf(t, "fanotify_init with FAN_REPORT_DFID_NAME: %v", err)
	}
	defer unix.Close(fd)
	if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, unix.FAN_CREATE, unix.AT_FDCWD, dir); err != nil {
		fstest.Skipf(t, "fanotify filesystem mark on tmpfs: %v", err)
	}
}

// watchRig is a running `fim watch` and what it has written.
type watchRig struct {
	t      *testing.T
	root   string // the watched directory, as events name it ("T" in summaries)
	cmd    *exec.Cmd
	lines  chan string   // stdout, line by line; closed at EOF
	ready  chan struct{} // closed when stderr says ready
	exited chan struct{} // closed when fim has exited and its output is read
	mu     sync.Mutex
	stderr []string
	err    error // of cmd.Wait
	syncs  int
	seen   []string // every line read, for the log of a failed test
}

// startWatch starts `fim watch --format json` with the backend's flags, then args
// (flags first: the command line stops at the first path), and waits for readiness.
func startWatch(t *testing.T, b watchBackend, root string, args ...string) *watchRig {
	t.Helper()
	if b.nobody {
		// nobody must reach the tmpfs through t.TempDir's private directories.
		for d := filepath.Dir(root); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
			if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o005 != 0o005 {
				must(t, os.Chmod(d, st.Mode().Perm()|0o055))
			}
		}
	} else if b.process {
		needFanotify(t, root)
	}
	must(t, os.MkdirAll(filepath.Join(root, syncDir), 0o755))
	full := []string{"watch", "--format", "json", "--batch-timeout", "100ms", "--interval", "0", "--dedup-window", "0"}
	full = append(append(full, b.args...), args...)
	r := &watchRig{t: t, root: root, lines: make(chan string, 1<<16), ready: make(chan struct{}), exited: make(chan struct{})}
	r.cmd = exec.Command(fimBin, full...)
	r.cmd.Dir = "/"
	r.cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "FIM_DB=") || strings.HasPrefix(kv, "NO_COLOR=")
	}), "NO_COLOR=1")
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	if b.nobody {
		r.cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}
	}
	stdout, err := r.cmd.StdoutPipe()
	must(t, err)
	stderr, err := r.cmd.StderrPipe()
	must(t, err)
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start fim %s: %v", strings.Join(full, " "), err)
	}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		defer close(r.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			r.mu.Lock()
			r.stderr = append(r.stderr, sc.Text())
			r.mu.Unlock()
			if strings.HasPrefix(sc.Text(), "fim: watch: ready: ") {
				close(r.ready)
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		readers.Wait()
		r.err = r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-r.exited:
		default:
			r.cmd.Process.Kill()
			<-r.exited
		}
		for _, line := range r.notices() {
			if w := stutter(line); w != "" {
				t.Errorf("fim watch: %q says %q twice in a row", line, w)
			}
		}
		if t.Failed() {
			t.Logf("fim %s\nreport:\n%s\nstderr:\n%s", strings.Join(full, " "), strings.Join(r.seen, "\n"), r.stderrText())
		}
	})
	select {
	case <-r.ready:
	case <-r.exited:
		t.Fatalf("fim %s exited before it was ready: %v\nstderr:\n%s", strings.Join(full, " "), r.err, r.stderrText())
	case <-time.After(eventTimeout):
		t.Fatalf("fim %s: not ready after %v\nstderr:\n%s", strings.Join(full, " "), eventTimeout, r.stderrText())
	}
	if notices := r.notices(); !strings.Contains(notices[len(notices)-1], "("+b.source) {
		t.Fatalf("readiness line %q does not name the %s backend", notices[len(notices)-1], b.source)
	}
	if b.nobody {
		r.wantNoCapabilities()
	}
	return r
}

func (r *watchRig) stderrText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.stderr, "\n")
}

// notices returns fim's stderr lines.
func (r *watchRig) notices() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.stderr)
}

// wantNoCapabilities checks that fim runs without any effective or permitted capability.
func (r *watchRig) wantNoCapabilities() {
	r.t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.cmd.Process.Pid))
	must(r.t, err)
	for _, line := range strings.Split(string(status), "\n") {
		for _, key := range []string{"CapEff:", "CapPrm:", "Uid:"} {
			if v, ok := strings.CutPrefix(line, key); ok {
				v = strings.TrimSpace(v)
				if key == "Uid:" && strings.Fields(v)[1] != "65534" || key != "Uid:" && strings.Trim(v, "0") != "" {
					r.t.Fatalf("fim runs with %s %s, want uid 65534 without capabilities", key, v)
				}
			}
		}
	}
}

// next returns the next event, or false at the deadline or when fim has exited.
func (r *watchRig) next(deadline <-chan time.Time) (watchEvent, bool) {
	r.t.Helper()
	select {
	case line, ok := <-r.lines:
		if !ok {
			return watchEvent{}, false
		}
		var ev watchEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			r.t.Fatalf("bad json line %q: %v", line, err)
		}
		if ev.Changed == nil {
			r.t.Errorf("event without a changed list: %s", line)
		}
		ev.raw = line
		r.seen = append(r.seen, line)
		return ev, true
	case <-deadline:
		return watchEvent{}, false
	}
}

// await reads events until done says it has what it wants, and returns them; it fails
// the test after eventTimeout, or if fim exits first.
func (r *watchRig) await(what string, done func([]watchEvent) bool) []watchEvent {
	r.t.Helper()
	deadline := time.After(eventTimeout)
	var got []watchEvent
	for !done(got) {
		ev, ok := r.next(deadline)
		if !ok {
			r.t.Fatalf("waiting for %s: fim said only:\n\t%s\nstderr:\n%s", what, strings.Join(r.summary(got), "\n\t"), r.stderrText())
		}
		got = append(got, ev)
	}
	return got
}

// syncDir is the directory of the sentinels, below the watched root. It must be in
// the state fim starts from.
const syncDir = "~sync"

// sync creates a sentinel directory and returns the events that were reported before
// its creation was.
func (r *watchRig) sync() []watchEvent {
	r.t.Helper()
	r.syncs++
	sentinel := filepath.Join(r.root, syncDir, strconv.Itoa(r.syncs))
	must(r.t, os.Mkdir(sentinel, 0o755))
	got := r.await("the sentinel "+sentinel, func(evs []watchEvent) bool {
		return len(evs) > 0 && evs[len(evs)-1].Path == sentinel && evs[len(evs)-1].Type == "create"
	})
	return got[:len(got)-1]
}

// expect checks that the events reported up to the next sentinel are want, in any
// order, as summarized by summary.
func (r *watchRig) expect(want ...string) []watchEvent {
	r.t.Helper()
	got := r.sync()
	wantSet(r.t, r.summary(got), want)
	return got
}

func wantSet(t *testing.T, got, want []string) {
	t.Helper()
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("events:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// summary renders events as "type T/path [<- T/old_path] [changed,...]".
func (r *watchRig) summary(events []watchEvent) []string {
	plain := make([]jsonEvent, len(events))
	for i := range events {
		plain[i] = events[i].jsonEvent
	}
	return summarize(r.t, plain, r.root)
}

// stop sends sig and waits for fim to exit; it returns the events fim wrote meanwhile
// and its exit code.
func (r *watchRig) stop(sig syscall.Signal) ([]watchEvent, int) {
	r.t.Helper()
	must(r.t, r.cmd.Process.Signal(sig))
	select {
	case <-r.exited:
	case <-time.After(eventTimeout):
		r.t.Fatalf("fim did not exit within %v of %v\nstderr:\n%s", eventTimeout, sig, r.stderrText())
	}
	var rest []watchEvent
	for {
		ev, ok := r.next(nil)
		if !ok {
			break
		}
		rest = append(rest, ev)
	}
	code := 0
	if r.err != nil {
		code = -1
		var ee *exec.ExitError
		if errors.As(r.err, &ee) {
			code = ee.ExitCode()
		}
	}
	return rest, code
}

// writer is a process that changes the tree; it is reaped only after fim has
// reported what it did, so that fim can still read its name from /proc.
type writer struct {
	cmd *exec.Cmd
	out strings.Builder
}

// write runs argv in dir and waits until it has exited, without reaping it.
func write(t *testing.T, dir string, stdin string, argv ...string) *writer {
	t.Helper()
	w := &writer{cmd: exec.Command(argv[0], argv[1:]...)}
	w.cmd.Dir = dir
	w.cmd.Stdin = strings.NewReader(stdin)
	w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, w.cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			must(t, err)
			break
		}
	}
	t.Cleanup(func() { w.cmd.Wait() })
	return w
}

// reap collects the writer and fails the test if it failed.
func (w *writer) reap(t *testing.T) {
	t.Helper()
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(w.cmd.Args, " "), err, w.out.String())
	}
}

// watchCase is one change made while fim watches. The tree is built before fim starts;
// its paths are relative to the tmpfs, whose "w" is watched and "stage" is not. In cmd,
// "$W" stands for the watched directory and "$M" for the tmpfs. Each change is one
// system call, or several whose intermediate states give the same events, so that the
// report does not depend on where fim's batches fall.
type watchCase struct {
	name  string
	tree  fstest.Tree
	cmd   []string
	stdin string
	want  []string
}

var watchCases = []watchCase{
	{
		// Not touch: it creates the file, then sets its times, and a batch may fall
		// between the two (then fim rightly reports a create and a change). tee with
		// nothing to copy creates the file in one system call.
		name: "create",
		cmd:  []string{"tee", "$W/new"},
		want: []string{"create T/new"},
	},
	{
		name:  "append",
		tree:  fstest.Tree{"w/f": fstest.File("one\n")},
		cmd:   []string{"tee", "-a", "$W/f"},
		stdin: "two\n",
		want:  []string{"change T/f [content,size,mtime,ctime]"},
	},
	{
		name: "chmod",
		tree: fstest.Tree{"w/f": fstest.File("x")},
		cmd:  []string{"chmod", "0755", "$W/f"},
		want: []string{"chmod T/f [mode,ctime]"},
	},
	{
		name: "chown",
		tree: fstest.Tree{"w/f": fstest.File("x")},
		cmd:  []string{"chown", "1234:1234", "$W/f"},
		want: []string{"chmod T/f [uid,gid,ctime]"},
	},
	{
		name: "rename",
		tree: fstest.Tree{"w/a": fstest.File("a")},
		cmd:  []string{"mv", "$W/a", "$W/b"},
		want: []string{"rename T/b <- T/a"},
	},
	{
		name: "move",
		tree: fstest.Tree{"w/x/f": fstest.File("f"), "w/y": fstest.Dir()},
		cmd:  []string{"mv", "$W/x/f", "$W/y/f"},
		want: []string{"move T/y/f <- T/x/f"},
	},
	{
		name: "delete",
		tree: fstest.Tree{"w/f": fstest.File("f"), "w/g": fstest.File("g")},
		cmd:  []string{"rm", "$W/f"},
		want: []string{"remove T/f"},
	},
	{
		name: "symlink",
		cmd:  []string{"ln", "-s", "target", "$W/l"},
		want: []string{"create T/l"},
	},
	{
		// fim check would also report "chmod T/f [ctime,nlink]": the link count of the
		// other name changed. Neither fanotify nor inotify says so (the kernel notifies
		// the inode alone, with no directory and name), so watch does not know of it
		// until the next event on T/f or the next rescan.
		name: "hard link",
		tree: fstest.Tree{"w/f": fstest.File("f")},
		cmd:  []string{"ln", "$W/f", "$W/g"},
		want: []string{"create T/g"},
	},
	{
		name: "replace by rename",
		tree: fstest.Tree{"w/f": fstest.File("old"), "w/f.new": fstest.File("new content").At(time.Unix(1e9, 0))},
		cmd:  []string{"mv", "$W/f.new", "$W/f"},
		want: []string{"change T/f [content,size,mtime,ctime,inode]", "remove T/f.new"},
	},
	{
		name: "populated directory moved in",
		tree: fstest.Tree{"stage/d/e/f": fstest.File("f"), "stage/d/g": fstest.File("g")},
		cmd:  []string{"mv", "$M/stage/d", "$W/d"},
		want: []string{"create T/d", "create T/d/e", "create T/d/e/f", "create T/d/g"},
	},
	{
		name: "nested directories",
		cmd:  []string{"mkdir", "-p", "$W/d/e/f"},
		want: []string{"create T/d", "create T/d/e", "create T/d/e/f"},
	},
	{
		name: "directory rename",
		tree: fstest.Tree{"w/d/e/f": fstest.File("f")},
		cmd:  []string{"mv", "$W/d", "$W/d2"},
		want: []string{"rename T/d2 <- T/d"},
	},
	{
		name: "directory move",
		tree: fstest.Tree{"w/a/d/f": fstest.File("f"), "w/b": fstest.Dir()},
		cmd:  []string{"mv", "$W/a/d", "$W/b/d"},
		want: []string{"move T/b/d <- T/a/d"},
	},
	{
		name: "directory moved out",
		tree: fstest.Tree{"w/d/f": fstest.File("f"), "stage": fstest.Dir()},
		cmd:  []string{"mv", "$W/d", "$M/stage/d"},
		want: []string{"remove T/d", "remove T/d/f"},
	},
	{
		name: "directory delete",
		tree: fstest.Tree{"w/d/e/f": fstest.File("f")},
		cmd:  []string{"rm", "-r", "$W/d"},
		want: []string{"remove T/d", "remove T/d/e", "remove T/d/e/f"},
	},
}

// TestWatchEvents makes each change of watchCases under each backend and checks the
// events: paths, types, changed lists, source, and for fanotify the writer's pid, name
// and uid.
func TestWatchEvents(t *testing.T) {
	for _, b := range watchBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range watchCases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, b)
				})
			}
		})
	}
}

func (c *watchCase) run(t *testing.T, b watchBackend) {
	mnt := tmpfs(t)
	if b.nobody {
		must(t, os.Chmod(mnt, 0o777))
	}
	root := filepath.Join(mnt, "w")
	must(t, os.Mkdir(root, 0o755))
	c.tree.Build(t, mnt)
	r := startWatch(t, b, root, root)
	if b.nobody {
		wantFallbackNotice(t, r)
	}
	argv := make([]string, len(c.cmd))
	for i, a := range c.cmd {
		argv[i] = strings.NewReplacer("$W", root, "$M", mnt).Replace(a)
	}
	w := write(t, root, c.stdin, argv...)
	got := r.expect(c.want...)
	w.reap(t)
	for _, ev := range got {
		wantSource(t, ev, b.source)
		if b.process {
			wantProcess(t, ev, w.cmd.Process.Pid, filepath.Base(argv[0]))
		} else if ev.Process != nil {
			t.Errorf("%s names a process, which %s cannot know: %s", ev.Path, b.name, ev.raw)
		}
	}
}

func wantSource(t *testing.T, ev watchEvent, source string) {
	t.Helper()
	if ev.Source != source {
		t.Errorf("%s %s: source %q, want %q", ev.Type, ev.Path, ev.Source, source)
	}
}

func wantProcess(t *testing.T, ev watchEvent, pid int, name string) {
	t.Helper()
	p := ev.Process
	switch {
	case p == nil:
		t.Errorf("%s %s names no process, want %s (%d): %s", ev.Type, ev.Path, name, pid, ev.raw)
	case p.PID != pid || p.Name != name || p.Gone:
		t.Errorf("%s %s: process %d %q (gone %v), want %d %q: %s", ev.Type, ev.Path, p.PID, p.Name, p.Gone, pid, name, ev.raw)
	case p.UID == nil || *p.UID != os.Getuid():
		t.Errorf("%s %s: process uid %v, want %d: %s", ev.Type, ev.Path, p.UID, os.Getuid(), ev.raw)
	}
}

// wantFallbackNotice checks that fim said, in one line, that it uses fsnotify and why.
func wantFallbackNotice(t *testing.T, r *watchRig) {
	t.Helper()
	var fallback []string
	for _, line := range r.notices() {
		if !strings.HasPrefix(line, "fim: watch: ready: ") {
			fallback = append(fallback, line)
		}
	}
	if len(fallback) != 1 || !strings.Contains(fallback[0], "fsnotify") || !strings.Contains(fallback[0], "not permitted") {
		t.Errorf("stderr before readiness: %q; want one line saying fsnotify replaces fanotify, and why", fallback)
	}
}

// TestWatchRenamedDirectory checks that what happens inside a directory is still seen,
// under its new name, after the directory was renamed, moved, or removed and made again.
func TestWatchRenamedDirectory(t *testing.T) {
	for _, b := range watchBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			mnt := tmpfs(t)
			if b.nobody {
				must(t, os.Chmod(mnt, 0o777))
			}
			root := filepath.Join(mnt, "w")
			fstest.Tree{"w/d/e/f": fstest.File("f"), "w/x": fstest.Dir()}.Build(t, mnt)
			r := startWatch(t, b, root, root)
			step := func(want []string, argv ...string) {
				t.Helper()
				stdin := ""
				if argv[1] == "-a" {
					stdin = "more\n"
				}
				w := write(t, root, stdin, argv...)
				for _, ev := range r.expect(want...) {
					wantSource(t, ev, b.source)
					if b.process {
						wantProcess(t, ev, w.cmd.Process.Pid, argv[0])
					}
				}
				w.reap(t)
			}
			step([]string{"rename T/d2 <- T/d"}, "mv", "d", "d2")
			step([]string{"create T/d2/e/new"}, "tee", "d2/e/new")
			step([]string{"chmod T/d2/e/f [mode,ctime]"}, "chmod", "0755", "d2/e/f")
			step([]string{"move T/x/d2 <- T/d2"}, "mv", "d2", "x/d2")
			step([]string{"change T/x/d2/e/f [content,size,mtime,ctime]"}, "tee", "-a", "x/d2/e/f")
			step([]string{"rename T/x/d2/e2 <- T/x/d2/e"}, "mv", "x/d2/e", "x/d2/e2")
			step([]string{"remove T/x/d2/e2/new"}, "rm", "x/d2/e2/new")
			step([]string{"remove T/x", "remove T/x/d2", "remove T/x/d2/e2", "remove T/x/d2/e2/f"}, "rm", "-r", "x")
			step([]string{"create T/x"}, "mkdir", "x")
			step([]string{"create T/x/y"}, "tee", "x/y")
		})
	}
}

// TestWatchRules checks that exclusions, the hidden-name rule and the depth limit of
// the configuration hold for live events, and that nothing outside the configured
// paths is reported, though it is on the same filesystem.
func TestWatchRules(t *testing.T) {
	for _, b := range watchBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			mnt := tmpfs(t)
			if b.nobody {
				must(t, os.Chmod(mnt, 0o777))
			}
			root := filepath.Join(mnt, "w")
			fstest.Tree{
				"w/skip/old": fstest.File("old"),
				"w/d1/d2/f":  fstest.File("f"),
				"w/.hid/x":   fstest.File("x"),
				"w/keep":     fstest.File("keep"),
				"w/a.tmp":    fstest.File("a"),
				"other/z":    fstest.File("z"),
			}.Build(t, mnt)
			cfg := filepath.Join(mnt, "fim.yaml")
			must(t, os.WriteFile(cfg, []byte(strings.ReplaceAll(`exclude: ["**/*.tmp"]
paths:
  - path: $W
    exclude: ["$W/skip"]
    include_hidden: false
    max_depth: 2
`, "$W", root)), 0o644))
			// Directory sizes and times, which a new hidden or excluded entry changes
			// too, are not the point here.
			r := startWatch(t, b, root, "--ignore", "size,mtime,ctime,nlink", "--config", cfg)
			in := func(p string) string { return filepath.Join(root, p) }
			// Nothing of this is reported.
			must(t, os.WriteFile(in("skip/new"), nil, 0o644))
			must(t, os.Chmod(in("skip/old"), 0o600))
			must(t, os.WriteFile(in("b.tmp"), nil, 0o644))
			must(t, os.WriteFile(in(".hidden"), nil, 0o644))
			must(t, os.WriteFile(in(".hid/y"), nil, 0o644))
			must(t, os.Chmod(in(".hid/x"), 0o600))
			must(t, os.WriteFile(in("d1/d2/deep"), nil, 0o644))
			must(t, os.Mkdir(in("d1/d2/dd"), 0o755))
			must(t, os.WriteFile(in("d1/d2/f"), []byte("changed"), 0o644))
			must(t, os.WriteFile(filepath.Join(mnt, "other/new"), nil, 0o644))
			must(t, os.Chmod(filepath.Join(mnt, "other/z"), 0o600))
			must(t, os.Mkdir(filepath.Join(mnt, "other/d"), 0o755))
			r.expect()
			// What crosses a rule is reported as what it is on the watched side.
			must(t, os.WriteFile(in("d1/ok"), nil, 0o644))
			must(t, os.Rename(in("a.tmp"), in("a")))
			must(t, os.Rename(in("keep"), in(".keep")))
			must(t, os.Rename(filepath.Join(mnt, "other/z"), in("z")))
			must(t, os.Mkdir(in("d1/e"), 0o755)) // depth 2: recorded; what it holds is not
			must(t, os.WriteFile(in("d1/e/f"), nil, 0o644))
			r.expect("create T/d1/ok", "create T/a", "remove T/keep", "create T/z", "create T/d1/e")
		})
	}
}

// TestWatchUpdate checks that `fim watch --update`, stopped with SIGTERM, leaves a
// baseline against which `fim check` finds nothing of what it saw: with a baseline to
// start from, and without one.
func TestWatchUpdate(t *testing.T) {
	for _, existing := range []bool{true, false} {
		t.Run(fmt.Sprint("baseline=", existing), func(t *testing.T) {
			t.Parallel()
			mnt := tmpfs(t)
			root := filepath.Join(mnt, "w")
			db := filepath.Join(mnt, "db", "fim.db")
			fstest.Tree{"w/a": fstest.File("a"), "w/b": fstest.File("b"), "w/d/c": fstest.File("c"), "w/gone": fstest.File("x"), "w/" + syncDir: fstest.Dir(), "db": fstest.Dir()}.Build(t, mnt)
			if existing {
				mustRun(t, 0, "baseline", "--db", db, root)
			}
			r := startWatch(t, fanotifyBackend, root, "--update", "--db", db, root)
			in := func(p string) string { return filepath.Join(root, p) }
			// One system call each, so that no batch sees a state in between; what
			// creates or removes entries in the root before what only changes them (see
			// syncDir).
			must(t, os.WriteFile(in("new"), nil, 0o644))
			must(t, os.Rename(in("d/c"), in("d/c2")))
			must(t, os.Remove(in("gone")))
			must(t, os.Mkdir(in("e"), 0o755))
			must(t, os.WriteFile(in("e/f"), nil, 0o644))
			appendTo(t, in("a"), "changed")
			must(t, os.Chmod(in("b"), 0o600))
			r.expect("create T/new", "change T/a [content,size,mtime,ctime]", "chmod T/b [mode,ctime]",
				"rename T/d/c2 <- T/d/c", "remove T/gone", "create T/e", "create T/e/f")
			rest, code := r.stop(syscall.SIGTERM)
			if code != 0 || len(rest) != 0 {
				t.Fatalf("SIGTERM: exit %d, events %q; want exit 0 and no more events\nstderr:\n%s", code, r.summary(rest), r.stderrText())
			}
			got := checkJSON(t, root, 0, "--db", db)
			wantEvents(t, got)
			// The baseline records the tree as it is now, not as it was.
			must(t, os.Remove(in("e/f")))
			wantEvents(t, checkJSON(t, root, 2, "--db", db), "remove T/e/f")
		})
	}
}

// TestWatchDedup checks the dedup window under each backend. A file touched again and
// again (the same change, leaving the same state apart from its times) is reported
// once at once, then as one event with a count and the last state; a different
// change, even of the same attributes (new content after new content), is never held
// back; and the repeats held back for a path are delivered before any later event of
// that path (a chmod, its removal), never after it, when the window closes, or when
// fim stops.
func TestWatchDedup(t *testing.T) {
	for _, b := range []watchBackend{fanotifyBackend, fsnotifyBackend} {
		for _, end := range []string{"window closes", "stopped"} {
			t.Run(b.name+"/"+end, func(t *testing.T) {
				t.Parallel()
				mnt := tmpfs(t)
				root := filepath.Join(mnt, "w")
				fstest.Tree{"w/f": fstest.File(""), "w/g": fstest.File("g")}.Build(t, mnt)
				f, g := filepath.Join(root, "f"), filepath.Join(root, "g")
				window := "1h"
				if end == "window closes" {
					window = "6s"
				}
				r := startWatch(t, b, root, "--dedup-window", window, root)
				mtime := time.Unix(1e9, 0)
				touch := func(p string) {
					mtime = mtime.Add(time.Second)
					must(t, os.Chtimes(p, mtime, mtime))
				}
				const content = "change T/f [content,size,mtime,ctime]"
				const touched = "change T/f [mtime,ctime]"
				start := time.Now()
				appendTo(t, f, "one\n")
				r.expectInOrder(content)
				appendTo(t, f, "two\n") // another content: not a repeat
				r.expectInOrder(content)
				touch(f)
				r.expectInOrder(touched)
				for range 5 {
					touch(f)
					r.expectInOrder() // held back
				}
				must(t, os.Chmod(f, 0o600))
				r.expectInOrder(touched+" count 5", "chmod T/f [mode,ctime]")
				touch(f)
				r.expectInOrder(touched)
				touch(f)
				r.expectInOrder()
				must(t, os.Remove(f))
				r.expectInOrder(touched+" count 1", "remove T/f")
				// g: repeats left held until the window closes, or fim stops.
				touch(g)
				r.expectInOrder("change T/g [mtime,ctime]")
				touch(g)
				touch(g)
				r.expectInOrder()
				if time.Since(start) > 5*time.Second {
					t.Fatalf("the changes took %v, too long for the 6s window", time.Since(start))
				}
				var last []watchEvent
				if end == "stopped" {
					rest, code := r.stop(syscall.SIGINT)
					if code != 0 {
						t.Fatalf("SIGINT: exit %d\nstderr:\n%s", code, r.stderrText())
					}
					last = rest
				} else {
					last = r.await("the folded event", func(evs []watchEvent) bool { return len(evs) > 0 })
				}
				// One touch or two: the second may land in the look of the first.
				if got := r.counted(last); len(got) != 1 || !strings.HasPrefix(got[0], "change T/g [mtime,ctime] count ") {
					t.Errorf("at the end: %q, want the folded touches of T/g", got)
				}
				if ev := last[0]; ev.File == nil || ev.Before == nil || !parseTime(t, ev.File.Mtime).Equal(mtime) {
					t.Errorf("folded event without the last state: %s", ev.raw)
				}
			})
		}
	}
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	must(t, err)
	return tm
}

// expectInOrder checks that the events reported up to the next sentinel are want, in
// this order, as summarized by counted.
func (r *watchRig) expectInOrder(want ...string) []watchEvent {
	r.t.Helper()
	got := r.sync()
	wantEvents(r.t, r.counted(got), want...)
	return got
}

// counted is summary with the count of folded events.
func (r *watchRig) counted(events []watchEvent) []string {
	s := r.summary(events)
	for i, ev := range events {
		if ev.Count != 0 {
			s[i] += fmt.Sprintf(" count %d", ev.Count)
		}
	}
	return s
}

// TestWatchStart checks that what changed while watch was not running (after a kill,
// a reboot) is reported when it starts, with source "start", before it says it is
// ready, under each backend, and with no periodic rescan.
func TestWatchStart(t *testing.T) {
	for _, b := range []watchBackend{fanotifyBackend, fsnotifyBackend} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			mnt := tmpfs(t)
			root := filepath.Join(mnt, "w")
			db := filepath.Join(mnt, "db", "fim.db")
			fstest.Tree{"w/a": fstest.File("a"), "w/b": fstest.File("b"), "w/" + syncDir: fstest.Dir(), "db": fstest.Dir()}.Build(t, mnt)
			mustRun(t, 0, "baseline", "--db", db, root)
			in := func(p string) string { return filepath.Join(root, p) }
			appendTo(t, in("a"), "changed")
			must(t, os.Remove(in("b")))
			must(t, os.WriteFile(in("c"), nil, 0o644))
			r := startWatch(t, b, root, "--db", db, root)
			got := r.expect("change T/a [content,size,mtime,ctime]", "remove T/b", "create T/c")
			for _, ev := range got {
				wantSource(t, ev, "start")
			}
			appendTo(t, in("a"), "again")
			for _, ev := range r.expect("change T/a [content,size,mtime,ctime]") {
				wantSource(t, ev, b.source)
			}
		})
	}
}

// TestWatchUpdateHeld kills fim watch --update with SIGKILL while a repeat is held back
// by the dedup window, after the baseline was rewritten: the baseline holds the file as
// it was last reported, so check reports the repeat that fim never delivered.
func TestWatchUpdateHeld(t *testing.T) {
	for _, b := range []watchBackend{fanotifyBackend, fsnotifyBackend} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			mnt := tmpfs(t)
			root := filepath.Join(mnt, "w")
			db := filepath.Join(mnt, "db", "fim.db")
			fstest.Tree{"w/f": fstest.File("f"), "w/" + syncDir: fstest.Dir(), "db": fstest.Dir()}.Build(t, mnt)
			mustRun(t, 0, "baseline", "--db", db, root)
			f := filepath.Join(root, "f")
			r := startWatch(t, b, root, "--update", "--update-every", "50ms", "--dedup-window", "1h", "--db", db, root)
			must(t, os.Chtimes(f, time.Unix(1e9, 0), time.Unix(1e9, 0)))
			r.expectInOrder("change T/f [mtime,ctime]")
			must(t, os.Chtimes(f, time.Unix(2e9, 0), time.Unix(2e9, 0)))
			r.expectInOrder() // held back
			// Wait for a rewrite of the baseline made after the repeat was seen.
			ino := func() uint64 {
				st, err := os.Stat(db)
				must(t, err)
				return st.Sys().(*syscall.Stat_t).Ino
			}
			seen := ino()
			for deadline := time.Now().Add(eventTimeout); ino() == seen; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the baseline was not rewritten")
				}
			}
			must(t, r.cmd.Process.Kill())
			<-r.exited
			// The sentinels made after the repeat are not in the baseline either: it holds
			// nothing that came after what is still held back.
			got := slices.DeleteFunc(checkJSON(t, root, 5, "--db", db), func(s string) bool { return strings.HasPrefix(s, "create T/"+syncDir+"/") })
			wantEvents(t, got, "change T/f [mtime,ctime]")
		})
	}
}

// TestWatchObserved replaces a file's content and puts it back (content and mtime)
// within --batch-timeout: fim looks at the file when the change is notified, not when
// the batch is delivered, so the foreign content is reported, then its removal.
func TestWatchObserved(t *testing.T) {
	for _, b := range []watchBackend{fanotifyBackend, fsnotifyBackend} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			mnt := tmpfs(t)
			root := filepath.Join(mnt, "w")
			mtime := time.Unix(1e9, 0)
			fstest.Tree{"w/f": fstest.File("good").At(mtime)}.Build(t, mnt)
			f := filepath.Join(root, "f")
			r := startWatch(t, b, root, "--batch-timeout", "1h", root)
			// fim has read the file when it closes it: watch for that with inotify.
			in, err := unix.InotifyInit1(unix.IN_CLOEXEC)
			must(t, err)
			defer unix.Close(in)
			_, err = unix.InotifyAddWatch(in, f, unix.IN_CLOSE_NOWRITE)
			must(t, err)
			read := make(chan error, 1)
			go func() {
				_, err := unix.Read(in, make([]byte, 4096))
				read <- err
			}()
			w, err := os.OpenFile(f, os.O_WRONLY, 0)
			must(t, err)
			t.Cleanup(func() { w.Close() })
			_, err = w.WriteAt([]byte("evil"), 0)
			must(t, err)
			select {
			case err := <-read:
				must(t, err)
			case <-time.After(eventTimeout):
				t.Fatalf("fim did not read %s within %v of its change", f, eventTimeout)
			}
			_, err = w.WriteAt([]byte("good"), 0)
			must(t, err)
			must(t, w.Close())
			must(t, os.Chtimes(f, mtime, mtime))
			rest, code := r.stop(syscall.SIGTERM)
			if code != 0 {
				t.Fatalf("SIGTERM: exit %d\nstderr:\n%s", code, r.stderrText())
			}
			got := r.summary(rest)
			if len(got) < 2 || got[0] != "change T/f [content,mtime,ctime]" || !strings.Contains(got[1], "[content,") {
				t.Fatalf("events %q: want the foreign content, then the good one back", got)
			}
			first, last := rest[0], rest[len(rest)-1]
			if first.File.Hash == first.Before.Hash || last.File.Hash != first.Before.Hash {
				t.Errorf("contents: %s → %s, then back to %s; want another content, then the first back", first.Before.Hash, first.File.Hash, last.File.Hash)
			}
		})
	}
}

// appendTo appends s to a file with one write.
func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.WriteString(s)
	must(t, err)
	must(t, f.Close())
}

// TestWatchShutdown stops fim with SIGINT while its batch is still gathering (a 10s
// batch timeout): what it was told of is reported before it exits 0.
func TestWatchShutdown(t *testing.T) {
	t.Parallel()
	mnt := tmpfs(t)
	root := filepath.Join(mnt, "w")
	fstest.Tree{"w/a": fstest.File("a"), "w/b": fstest.File("b")}.Build(t, mnt)
	r := startWatch(t, fanotifyBackend, root, "--batch-timeout", "10s", root)
	writers := []*writer{
		write(t, root, "", "tee", "new"), // one open and close: touch also sets the times, a change of its own
		write(t, root, "", "chmod", "0600", "a"),
		write(t, root, "", "rm", "b"),
	}
	rest, code := r.stop(syscall.SIGINT)
	if code != 0 {
		t.Fatalf("SIGINT: exit %d\nstderr:\n%s", code, r.stderrText())
	}
	wantSet(t, r.summary(rest), []string{"create T/new", "chmod T/a [mode,ctime]", "remove T/b"})
	for _, ev := range rest {
		wantSource(t, ev, "fanotify")
	}
	for _, w := range writers {
		w.reap(t)
	}
}

// setSysctl writes value to a /proc/sys file and returns a function that puts the old
// value back; it is also called when the test ends.
func setSysctl(t *testing.T, file, value string) func() {
	t.Helper()
	old, err := os.ReadFile(file)
	if err != nil {
		fstest.Skipf(t, "%v", err)
	}
	if err := os.WriteFile(file, []byte(value), 0); err != nil {
		fstest.Skipf(t, "%v", err)
	}
	var once sync.Once
	restore := func() {
		once.Do(func() {
			if err := os.WriteFile(file, old, 0); err != nil {
				t.Errorf("restore %s: %v", file, err)
			}
		})
	}
	t.Cleanup(restore)
	return restore
}

// TestWatchOverflow makes the kernel drop events: the queue of fim's notification
// group is shrunk to 64 events and fim is stopped (SIGSTOP) while one process creates
// 3000 files. fim must say so on stderr and find every file by rescanning.
//
// Not parallel: the queue size is a system-wide setting, read when a group is made.
func TestWatchOverflow(t *testing.T) {
	const n = 3000
	for _, b := range []struct {
		watchBackend
		knob string
	}{
		{fanotifyBackend, "/proc/sys/fs/fanotify/max_queued_events"},
		{fsnotifyBackend, "/proc/sys/fs/inotify/max_queued_events"},
	} {
		t.Run(b.name, func(t *testing.T) {
			mnt := tmpfs(t)
			root := filepath.Join(mnt, "w")
			must(t, os.Mkdir(root, 0o755))
			if b.process {
				needFanotify(t, root)
			}
			restore := setSysctl(t, b.knob, "64")
			r := startWatch(t, b.watchBackend, root, "--queue-events", "0", root)
			restore()
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf("f%04d", i)
			}
			must(t, r.cmd.Process.Signal(syscall.SIGSTOP))
			// Each file is only created: touch would also set its times after the
			// create, a second change that a rescan may rightly report.
			w := write(t, root, "", append([]string{"sh", "-c", `for f; do : >"$f"; done`, "sh"}, names...)...)
			must(t, r.cmd.Process.Signal(syscall.SIGCONT))
			created := map[string]string{} // name → source
			got := r.await(fmt.Sprintf("%d creates", n), func(evs []watchEvent) bool {
				for _, ev := range evs[len(created):] {
					name, ok := strings.CutPrefix(ev.Path, root+"/")
					if ev.Type != "create" || !ok || created[name] != "" {
						t.Fatalf("unexpected event: %s", ev.raw)
					}
					created[name] = ev.Source
				}
				return len(created) == n
			})
			w.reap(t)
			rescanned := 0
			for _, ev := range got {
				switch ev.Source {
				case "rescan":
					rescanned++
				case b.source:
				default:
					t.Errorf("source %q: %s", ev.Source, ev.raw)
				}
			}
			// At most a queue's worth were reported before the overflow.
			if rescanned < n-64 {
				t.Errorf("%d of %d files found by the rescan, want at least %d", rescanned, n, n-64)
			}
			overflow := slices.ContainsFunc(r.notices(), func(line string) bool { return strings.Contains(line, "overflow") })
			if !overflow {
				t.Errorf("no overflow notice on stderr:\n%s", r.stderrText())
			}
			r.expect()
		})
	}
}

// TestWatchFallback runs fim as nobody without capabilities, where fanotify cannot
// mark the filesystem: one line says fsnotify takes over and why, the readiness line
// names fsnotify, and SIGTERM ends it with exit 0.
func TestWatchFallback(t *testing.T) {
	t.Parallel()
	mnt := tmpfs(t)
	must(t, os.Chmod(mnt, 0o777))
	root := filepath.Join(mnt, "w")
	must(t, os.Mkdir(root, 0o755))
	r := startWatch(t, fallbackBackend, root, root)
	wantFallbackNotice(t, r)
	if _, code := r.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0\nstderr:\n%s", code, r.stderrText())
	}
}

// TestWatchUpdateSigned: --update does not touch a signed baseline without the key, and
// with it leaves a baseline signed by that key.
func TestWatchUpdateSigned(t *testing.T) {
	mnt := tmpfs(t)
	root := filepath.Join(mnt, "w")
	db, key := filepath.Join(mnt, "db", "fim.db"), filepath.Join(mnt, "db", "k")
	fstest.Tree{"w/a": fstest.File("a"), "w/" + syncDir: fstest.Dir(), "db": fstest.Dir()}.Build(t, mnt)
	mustRun(t, 0, "keygen", "--out", key)
	mustRun(t, 0, "baseline", "--db", db, "--sign", key, root)

	_, stderr := mustRun(t, 16, "watch", "--update", "--db", db, root)
	if !strings.Contains(stderr, "--sign") {
		t.Errorf("watch --update of a signed baseline without a key: %q", stderr)
	}

	r := startWatch(t, fanotifyBackend, root, "--update", "--sign", key, "--db", db, root)
	appendTo(t, filepath.Join(root, "a"), "changed")
	r.expect("change T/a [content,size,mtime,ctime]")
	if rest, code := r.stop(syscall.SIGTERM); code != 0 || len(rest) != 0 {
		t.Fatalf("SIGTERM: exit %d, events %q\nstderr:\n%s", code, r.summary(rest), r.stderrText())
	}
	mustRun(t, 0, "verify", "--db", db, "--key", key+".pub")
	wantEvents(t, checkJSON(t, root, 0, "--db", db, "--verify", key+".pub"))
	if g := generation(t, db); g < 2 {
		t.Errorf("rewritten by watch --update: generation %d, want more than 1", g)
	}
}

// TestWatchUpdateKilled kills fim watch --update with SIGKILL at random moments while
// files change and the baseline is rewritten every 50 ms: afterwards the baseline is
// always a complete one that check can use, never damaged.
func TestWatchUpdateKilled(t *testing.T) {
	mnt := tmpfs(t)
	root := filepath.Join(mnt, "w")
	db := filepath.Join(mnt, "db", "fim.db")
	tr := fstest.Tree{"w/" + syncDir: fstest.Dir(), "db": fstest.Dir()}
	for i := range 2000 {
		tr[fmt.Sprintf("w/d%02d/f%04d", i%20, i)] = fstest.File("x")
	}
	tr.Build(t, mnt)
	mustRun(t, 0, "baseline", "--db", db, root)
	rng := rand.New(rand.NewPCG(1, 2))
	inode := func() uint64 {
		st, err := os.Stat(db)
		must(t, err)
		return st.Sys().(*syscall.Stat_t).Ino
	}
	rewritten, interrupted, rounds := 0, 0, 0
	// Six rounds, killed at random; on a machine too loaded for any of them to rewrite
	// the baseline first, up to six more that each run for two seconds.
	for round := 0; round < 6 || rewritten == 0 && round < 12; round++ {
		rounds++
		before := inode()
		r := startWatch(t, fanotifyBackend, root, "--update", "--update-every", "50ms", "--db", db, root)
		runFor := time.Duration(100+rng.IntN(500)) * time.Millisecond
		if round >= 6 {
			runFor = 2 * time.Second
		}
		stop := time.Now().Add(runFor)
		for n := 0; time.Now().Before(stop); n++ {
			appendTo(t, filepath.Join(root, fmt.Sprintf("d%02d/f%04d", n%20, rng.IntN(2000)/20*20+n%20)), "y")
			if n%10 == 0 {
				must(t, os.WriteFile(filepath.Join(root, fmt.Sprintf("d%02d/new-%d-%d", n%20, round, n)), nil, 0o644))
			}
		}
		must(t, r.cmd.Process.Kill())
		select {
		case <-r.exited:
		case <-time.After(eventTimeout):
			t.Fatal("fim did not exit after SIGKILL")
		}
		if inode() != before {
			rewritten++
		}
		if tmps, _ := filepath.Glob(filepath.Join(mnt, "db", ".fim.db.tmp-*")); len(tmps) > 0 {
			interrupted++ // killed in the middle of a rewrite
		}
		stdout, stderr, code := run(t, "check", "--db", db, "--format", "json")
		if code > 7 {
			t.Fatalf("round %d: check after SIGKILL exited %d: %s", round, code, stderr)
		}
		parseJSON(t, stdout) // a complete, well-formed report
	}
	if rewritten == 0 {
		t.Fatal("no round rewrote the baseline before it was killed: the test proves nothing")
	}
	t.Logf("%d of %d rounds rewrote the baseline, %d were killed during a rewrite", rewritten, rounds, interrupted)
}

// TestWatchNoProcess: --no-process, or no_process in the watch mapping, leaves the
// writer of a change unnamed where fanotify would name it.
func TestWatchNoProcess(t *testing.T) {
	for _, c := range []struct {
		name   string
		config string // the watch mapping's setting, or "" for the flag
	}{
		{name: "flag"},
		{name: "config", config: "no_process: true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(tmpfs(t), "w")
			must(t, os.Mkdir(root, 0o755))
			args := []string{"--no-process", root}
			if c.config != "" {
				cfg := filepath.Join(t.TempDir(), "fim.yaml")
				must(t, os.WriteFile(cfg, []byte("paths:\n  - path: "+root+"\nwatch:\n  "+c.config+"\n"), 0o644))
				args = []string{"--config", cfg}
			}
			r := startWatch(t, fanotifyBackend, root, args...)
			w := write(t, root, "", "tee", "new")
			got := r.expect("create T/new")
			w.reap(t)
			for _, ev := range got {
				wantSource(t, ev, "fanotify")
				if ev.Process != nil {
					t.Errorf("%s names a process: %s", ev.Path, ev.raw)
				}
			}
		})
	}
}
