package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fim/internal/fstest"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// collector is an HTTP endpoint that stores fim's batches, dropping a batch whose
// Idempotency-Key it has stored already, and that can be made to fail: answer 503,
// hang, or be down (nothing listening).
type collector struct {
	t    *testing.T
	addr string
	mu   sync.Mutex
	mode string // "ok", "503", "hang", "down"
	srv  *http.Server
	hung chan struct{} // closed to release the requests that hang
	seen map[string]bool
	evs  []storedEvent // stored, in the order they came
	dups int           // batches sent again with a key stored already
	fail int           // requests refused or hung
}

// storedEvent is what the tests read of an event the collector stored.
type storedEvent struct {
	Type    string   `json:"type"`
	Path    string   `json:"path"`
	Changed []string `json:"changed"`
	File    *struct {
		Size int64 `json:"size"`
	} `json:"file"`
}

func newCollector(t *testing.T) *collector {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	c := &collector{t: t, addr: ln.Addr().String(), mode: "ok", hung: make(chan struct{}), seen: map[string]bool{}}
	c.serve(ln)
	t.Cleanup(func() { c.set("ok"); c.srv.Close() })
	return c
}

func (c *collector) url() string { return "http://" + c.addr + "/in" }

func (c *collector) serve(ln net.Listener) {
	c.srv = &http.Server{Handler: http.HandlerFunc(c.handle)}
	go c.srv.Serve(ln)
}

// set changes the collector's behaviour.
func (c *collector) set(mode string) {
	c.mu.Lock()
	old := c.mode
	c.mode = mode
	if old == "hang" {
		close(c.hung)
		c.hung = make(chan struct{})
	}
	c.mu.Unlock()
	switch {
	case mode == "down" && old != "down":
		c.srv.Close()
	case old == "down" && mode != "down":
		ln, err := net.Listen("tcp", c.addr)
		must(c.t, err)
		c.serve(ln)
	}
}

func (c *collector) handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	c.mu.Lock()
	mode, hung := c.mode, c.hung
	if mode != "ok" {
		c.fail++
	}
	c.mu.Unlock()
	switch mode {
	case "503":
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	case "hang":
		select {
		case <-hung:
		case <-r.Context().Done():
		}
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	c.mu.Lock()
	defer c.mu.Unlock()
	if key == "" {
		c.t.Errorf("a batch without an Idempotency-Key")
	}
	if c.seen[key] {
		c.dups++
		return
	}
	c.seen[key] = true
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev storedEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			c.t.Errorf("bad json line %q: %v", sc.Text(), err)
		}
		c.evs = append(c.evs, ev)
	}
}

func (c *collector) failures() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fail
}

// await waits until the collector has stored an event for path, and returns what it
// has stored.
func (c *collector) await(path string) []storedEvent {
	c.t.Helper()
	deadline := time.Now().Add(3 * eventTimeout)
	for {
		c.mu.Lock()
		evs := append([]storedEvent(nil), c.evs...)
		c.mu.Unlock()
		for _, ev := range evs {
			if ev.Path == path {
				return evs
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the collector has no event for %s; it has:\n%s", path, storedSummary(evs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func storedSummary(evs []storedEvent) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "\t%s %s %v\n", ev.Type, ev.Path, ev.Changed)
	}
	return b.String()
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(6 * eventTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: it did not happen", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// spooled reports whether the spool in dir holds s in a batch not delivered yet (as
// bytes in one of its segments: the test makes s unique).
func spooled(t *testing.T, dir, s string) bool {
	segs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	must(t, err)
	for _, seg := range segs {
		b, err := os.ReadFile(seg)
		if err == nil && bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

// outageChanges makes the changes of an outage, in order: n files created, and a
// file grown by a byte after each (the changes of it that fim sees show their order by
// their size), then an empty file that ends them. It returns the files created, the
// end last. Their names sort in the order they are made: the events of paths fim
// looks at together (notified together, as on a loaded machine, or pending at a stop)
// come in path order, so only such names let wantOnceInOrder hold however fim's
// looks group them.
func outageChanges(t *testing.T, root string, n int) (created []string) {
	for i := range n {
		p := filepath.Join(root, fmt.Sprintf("f%03d", i))
		must(t, os.WriteFile(p, []byte("x"), 0o644))
		created = append(created, p)
		appendTo(t, filepath.Join(root, "log"), "y")
		time.Sleep(5 * time.Millisecond) // several batches
	}
	end := filepath.Join(root, "z-end")
	must(t, os.WriteFile(end, nil, 0o644))
	return append(created, end)
}

// wantOnceInOrder checks that the collector stored the creation of each of created
// exactly once and in that order, and changes of root/log growing each time and
// ending at logSize.
func wantOnceInOrder(t *testing.T, evs []storedEvent, root string, created []string, logSize int64) {
	t.Helper()
	var got []string
	count := map[string]int{}
	var sizes []int64
	for _, ev := range evs {
		switch {
		case ev.Type == "create":
			got = append(got, ev.Path)
			count[ev.Path]++
		case ev.Path == filepath.Join(root, "log") && ev.File != nil:
			sizes = append(sizes, ev.File.Size)
		}
	}
	i := 0
	for _, g := range got {
		if i < len(created) && g == created[i] {
			i++
		}
	}
	for _, c := range created {
		if count[c] != 1 {
			t.Errorf("the creation of %s stored %d times, want once", c, count[c])
		}
	}
	if i != len(created) {
		t.Errorf("creations out of order: %s is not where it belongs\nstored:\n%s", created[i], storedSummary(evs))
	}
	for k := 1; k < len(sizes); k++ {
		if sizes[k] <= sizes[k-1] {
			t.Errorf("the changes of log are stored out of order or twice: sizes %v", sizes)
			break
		}
	}
	if len(sizes) == 0 || sizes[len(sizes)-1] != logSize {
		t.Errorf("the changes of log stored end at sizes %v, want %d", sizes, logSize)
	}
}

func running(r *watchRig) bool {
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

// TestWatchCollectorOutage: a collector that answers 503, hangs or is down while
// changes are made: fim keeps watching and, once the collector is back, every change
// arrives exactly once, in order.
func TestWatchCollectorOutage(t *testing.T) {
	for _, mode := range []string{"503", "hang", "down"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			mnt := tmpfs(t)
			root := filepath.Join(mnt, "w")
			spool := filepath.Join(mnt, "spool")
			fstest.Tree{"w/log": fstest.File("")}.Build(t, mnt)
			c := newCollector(t)
			r := startWatch(t, fanotifyBackend, root, "--output", c.url(), "--spool", spool, root)
			must(t, os.WriteFile(filepath.Join(root, "before"), nil, 0o644))
			c.await(filepath.Join(root, "before"))
			c.set(mode)
			created := outageChanges(t, root, 40)
			end := created[len(created)-1]
			waitFor(t, "the end of the outage's changes in the spool", func() bool { return spooled(t, spool, end) })
			if mode != "down" {
				waitFor(t, "fim to try the collector", func() bool { return c.failures() > 0 })
			}
			if !running(r) {
				t.Fatalf("fim exited during the outage: %v\nstderr:\n%s", r.err, r.stderrText())
			}
			c.set("ok")
			evs := c.await(end)
			wantOnceInOrder(t, evs, root, created, 40)
			if !running(r) {
				t.Fatalf("fim exited: %v\nstderr:\n%s", r.err, r.stderrText())
			}
			if _, code := r.stop(syscall.SIGTERM); code != 0 {
				t.Fatalf("SIGTERM: exit %d\nstderr:\n%s", code, r.stderrText())
			}
		})
	}
}

// TestWatchSpoolKilled: fim killed (SIGKILL) while the collector is down; the next fim
// delivers what the first had spooled, in order, before what changes after it
// starts, each batch with the key it had.
func TestWatchSpoolKilled(t *testing.T) {
	t.Parallel()
	mnt := tmpfs(t)
	root := filepath.Join(mnt, "w")
	spool := filepath.Join(mnt, "spool")
	fstest.Tree{"w/log": fstest.File("")}.Build(t, mnt)
	c := newCollector(t)
	c.set("503")
	r := startWatch(t, fanotifyBackend, root, "--output", c.url(), "--spool", spool, root)
	created := outageChanges(t, root, 30)
	end := created[len(created)-1]
	waitFor(t, "the end of the changes in the spool", func() bool { return spooled(t, spool, end) })
	waitFor(t, "fim to try the collector", func() bool { return c.failures() > 0 })
	must(t, r.cmd.Process.Kill())
	<-r.exited
	c.set("ok")
	r = startWatch(t, fanotifyBackend, root, "--output", c.url(), "--spool", spool, root)
	after := filepath.Join(root, "after")
	must(t, os.WriteFile(after, nil, 0o644))
	evs := c.await(after)
	wantOnceInOrder(t, evs, root, append(created, after), 30)
	if _, code := r.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM: exit %d\nstderr:\n%s", code, r.stderrText())
	}
}

// TestWatchStopStalled: SIGTERM stops fim within the bound the README gives while
// its destination takes nothing: a collector that hangs, a standard output nobody
// reads. What the collector did not take is delivered by the next fim.
func TestWatchStopStalled(t *testing.T) {
	t.Run("collector", func(t *testing.T) {
		t.Parallel()
		mnt := tmpfs(t)
		root := filepath.Join(mnt, "w")
		spool := filepath.Join(mnt, "spool")
		fstest.Tree{"w/log": fstest.File("")}.Build(t, mnt)
		c := newCollector(t)
		c.set("hang")
		r := startWatch(t, fanotifyBackend, root, "--output", c.url(), "--spool", spool, root)
		created := outageChanges(t, root, 10)
		end := created[len(created)-1]
		waitFor(t, "fim to try the collector", func() bool { return c.failures() > 0 })
		// r.stop fails the test unless fim exits within eventTimeout, twice the bound.
		if _, code := r.stop(syscall.SIGTERM); code != 0 {
			t.Fatalf("SIGTERM: exit %d\nstderr:\n%s", code, r.stderrText())
		}
		c.set("ok")
		r = startWatch(t, fanotifyBackend, root, "--output", c.url(), "--spool", spool, root)
		wantOnceInOrder(t, c.await(end), root, created, 10)
		r.stop(syscall.SIGTERM)
	})
	t.Run("stdout", func(t *testing.T) {
		t.Parallel()
		mnt := tmpfs(t)
		root := filepath.Join(mnt, "w")
		fstest.Tree{"w/log": fstest.File("")}.Build(t, mnt)
		out, unread, err := os.Pipe() // nobody reads out
		must(t, err)
		defer out.Close()
		cmd := exec.Command(fimBin, "watch", "--format", "json", "--batch-timeout", "100ms", "--interval", "0", root)
		cmd.Stdout = unread
		stderr, err := cmd.StderrPipe()
		must(t, err)
		must(t, cmd.Start())
		unread.Close()
		ready := make(chan struct{})
		var lines []string
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				lines = append(lines, sc.Text())
				if strings.HasPrefix(sc.Text(), "fim: watch: ready: ") {
					close(ready)
				}
			}
		}()
		t.Cleanup(func() { cmd.Process.Kill() })
		select {
		case <-ready:
		case <-time.After(eventTimeout):
			t.Fatal("fim not ready")
		}
		// More than a pipe holds (64 KiB): the report fills it and blocks.
		for i := range 1000 {
			must(t, os.WriteFile(filepath.Join(root, fmt.Sprintf("file-with-a-long-name-%04d", i)), nil, 0o644))
		}
		waitFor(t, "the pipe to be full", func() bool {
			n, err := unix.IoctlGetInt(int(out.Fd()), unix.TIOCINQ)
			return err == nil && n >= 60<<10
		})
		must(t, cmd.Process.Signal(syscall.SIGTERM))
		exited := make(chan error, 1)
		go func() { <-done; exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatal(err)
			}
			if err != nil {
				t.Fatalf("SIGTERM: exit %d\nstderr:\n%s", ee.ExitCode(), strings.Join(lines, "\n"))
			}
		case <-time.After(eventTimeout):
			t.Fatalf("fim did not exit within %v of SIGTERM with its standard output not read", eventTimeout)
		}
	})
}

// TestWatchUpdateUndelivered: with --update and a collector that takes nothing, the
// baseline fim writes does not hold the changes: fim check reports them.
func TestWatchUpdateUndelivered(t *testing.T) {
	t.Parallel()
	mnt := tmpfs(t)
	root := filepath.Join(mnt, "w")
	db := filepath.Join(mnt, "db", "fim.db")
	fstest.Tree{"w/log": fstest.File(""), "w/keep": fstest.File("k"), "db": fstest.Dir()}.Build(t, mnt)
	mustRun(t, 0, "baseline", "--db", db, root)
	c := newCollector(t)
	c.set("503")
	r := startWatch(t, fanotifyBackend, root, "--update", "--update-every", "50ms", "--db", db, "--output", c.url())
	created := outageChanges(t, root, 5)
	end := created[len(created)-1]
	waitFor(t, "the changes in the spool beside the baseline", func() bool { return spooled(t, db+".spool", end) })
	time.Sleep(200 * time.Millisecond) // rewrites of the baseline, every 50ms
	if _, code := r.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM: exit %d\nstderr:\n%s", code, r.stderrText())
	}
	stdout, stderr, code := run(t, "check", "--db", db, "--format", "json")
	if code == 0 || code > 7 {
		t.Fatalf("check after the watch exited %d: %s", code, stderr)
	}
	got := map[string]bool{}
	for _, ev := range parseJSON(t, stdout) {
		got[ev.Type+" "+ev.Path] = true
	}
	for _, w := range []string{"create " + created[0], "create " + end, "change " + filepath.Join(root, "log")} {
		if !got[w] {
			t.Errorf("fim check does not report %s: the baseline took a change the collector never took\n%s", w, stdout)
		}
	}
}

// TestWatchSpoolFull: a spool far smaller than the changes of an outage: fim says so
// once, keeps watching, the spool stays within its limit, and once the collector is
// back every change arrives exactly once (what did not fit, from a rescan).
func TestWatchSpoolFull(t *testing.T) {
	t.Parallel()
	mnt := tmpfs(t)
	root := filepath.Join(mnt, "w")
	spool := filepath.Join(mnt, "spool")
	fstest.Tree{"w/log": fstest.File("")}.Build(t, mnt)
	c := newCollector(t)
	c.set("503")
	const limit = 64 << 10
	r := startWatch(t, fanotifyBackend, root, "--output", c.url(), "--spool", spool, "--spool-max", "64KiB", "--batch-size", "50", root)
	var want []string
	for i := range 600 {
		p := filepath.Join(root, fmt.Sprintf("file-with-a-long-name-%04d", i))
		must(t, os.WriteFile(p, nil, 0o644))
		want = append(want, "create "+p)
		if i%50 == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor(t, "fim to say the spool is full", func() bool { return strings.Contains(r.stderrText(), "spool full") })
	end := filepath.Join(root, "end")
	must(t, os.WriteFile(end, nil, 0o644))
	want = append(want, "create "+end)
	time.Sleep(300 * time.Millisecond)
	var total int64
	segs, _ := filepath.Glob(filepath.Join(spool, "*.log"))
	for _, s := range segs {
		st, err := os.Stat(s)
		must(t, err)
		total += st.Size()
	}
	if total > limit {
		t.Errorf("the spool holds %d bytes, more than --spool-max %d", total, limit)
	}
	if n := strings.Count(r.stderrText(), "spool full"); n != 1 {
		t.Errorf("fim said the spool is full %d times, want once", n)
	}
	c.set("ok")
	var evs []storedEvent
	for _, w := range want {
		evs = c.await(strings.TrimPrefix(w, "create "))
	}
	got := map[string]int{}
	for _, ev := range evs {
		got[ev.Type+" "+ev.Path]++
	}
	for _, w := range want {
		if got[w] != 1 {
			t.Errorf("%s stored %d times, want once", w, got[w])
		}
	}
	if !running(r) {
		t.Fatalf("fim exited: %v", r.err)
	}
	r.stop(syscall.SIGTERM)
}
