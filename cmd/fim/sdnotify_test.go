package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
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

	"fim/internal/fstest"
)

// notifyListener is the service manager's end of $NOTIFY_SOCKET: a unixgram socket
// that collects every message fim sends, one datagram each.
type notifyListener struct {
	t    *testing.T
	name string // what NOTIFY_SOCKET says
	conn *net.UnixConn
	msgs chan []string
}

func listenNotify(t *testing.T, abstract bool) *notifyListener {
	t.Helper()
	addr := &net.UnixAddr{Net: "unixgram", Name: filepath.Join(t.TempDir(), "notify")}
	name := addr.Name
	if abstract {
		name = "@fim-test-notify-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		addr.Name = "\x00" + name[1:]
	}
	conn, err := net.ListenUnixgram("unixgram", addr)
	must(t, err)
	l := &notifyListener{t: t, name: name, conn: conn, msgs: make(chan []string, 1024)}
	go func() {
		defer close(l.msgs)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			l.msgs <- strings.Split(strings.TrimSuffix(string(buf[:n]), "\n"), "\n")
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return l
}

// await returns the messages up to and including the first with field (e.g.
// "READY=1"); it fails the test after eventTimeout.
func (l *notifyListener) await(field string) [][]string {
	l.t.Helper()
	var got [][]string
	deadline := time.After(eventTimeout)
	for {
		select {
		case m, ok := <-l.msgs:
			if !ok {
				l.t.Fatalf("notify socket closed before %s; got %q", field, got)
			}
			got = append(got, m)
			if slices.Contains(m, field) {
				return got
			}
		case <-deadline:
			l.t.Fatalf("no %s within %v; got %q", field, eventTimeout, got)
		}
	}
}

// count returns how many messages of those read for d carry field.
func (l *notifyListener) count(field string, d time.Duration) int {
	n := 0
	deadline := time.After(d)
	for {
		select {
		case m := <-l.msgs:
			if slices.Contains(m, field) {
				n++
			}
		case <-deadline:
			return n
		}
	}
}

// notified is a `fim watch` started as a service manager starts it.
type notified struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string // stdout, line by line
	mu     sync.Mutex
	stderr []string
	exited chan struct{} // closed when stdout and stderr are read to their end
}

// startNotified runs prog (fim, or a program that becomes fim) with argv, NOTIFY_SOCKET
// naming l and env, in a mount namespace of its own.
func startNotified(t *testing.T, l *notifyListener, env []string, prog string, argv ...string) *notified {
	t.Helper()
	n := &notified{t: t, lines: make(chan string, 1<<16), exited: make(chan struct{})}
	n.cmd = exec.Command(prog, argv...)
	n.cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "FIM_DB=") || strings.HasPrefix(kv, "NOTIFY_SOCKET=") || strings.HasPrefix(kv, "WATCHDOG_")
	}), append([]string{"NOTIFY_SOCKET=" + l.name}, env...)...)
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	stdout, err := n.cmd.StdoutPipe()
	must(t, err)
	stderr, err := n.cmd.StderrPipe()
	must(t, err)
	must(t, n.cmd.Start())
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		defer close(n.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			n.lines <- sc.Text()
		}
	}()
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			n.mu.Lock()
			n.stderr = append(n.stderr, sc.Text())
			n.mu.Unlock()
		}
	}()
	go func() {
		readers.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		n.cmd.Process.Kill()
		<-n.exited
		n.cmd.Wait()
		if t.Failed() {
			t.Logf("fim %s\nstderr:\n%s", strings.Join(argv, " "), n.stderrText())
		}
	})
	return n
}

func (n *notified) stderrText() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.stderr, "\n")
}

// stop sends SIGTERM and waits for fim to exit 0.
func (n *notified) stop() {
	n.t.Helper()
	must(n.t, n.cmd.Process.Signal(syscall.SIGTERM))
	<-n.exited
	if err := n.cmd.Wait(); err != nil {
		n.t.Errorf("fim watch after SIGTERM: %v", err)
	}
}

// field returns the value of key in msg.
func field(msg []string, key string) string {
	for _, f := range msg {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

// notifyRoot makes the directory a test watches: on a tmpfs of its own for fanotify.
func notifyRoot(t *testing.T, b watchBackend) string {
	t.Helper()
	var root string
	if b.process {
		root = filepath.Join(tmpfs(t), "w")
		needFanotify(t, filepath.Dir(root))
	} else {
		root = filepath.Join(t.TempDir(), "w")
	}
	fstest.Tree{"a": fstest.File("a")}.Build(t, root)
	return root
}

// TestWatchNotify runs fim watch as a Type=notify service manager would, with
// NOTIFY_SOCKET and WATCHDOG_USEC set: fim says READY=1 with a STATUS= naming what it
// watches and the backend once its marks are in force, pets the watchdog every
// WATCHDOG_USEC/2 while it is healthy (and only when WATCHDOG_PID is unset or names
// it), and says STOPPING=1 on SIGTERM.
func TestWatchNotify(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		backend  watchBackend
		abstract bool
		pid      string // WATCHDOG_PID: "self" for fim's, else as is
		pets     bool
	}{
		{name: "fsnotify", backend: fsnotifyBackend, pets: true},
		{name: "fsnotify-abstract", backend: fsnotifyBackend, abstract: true, pid: "self", pets: true},
		{name: "fanotify", backend: fanotifyBackend, pets: true},
		{name: "watchdog-of-another", backend: fsnotifyBackend, pid: "1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			root := notifyRoot(t, c.backend)
			l := listenNotify(t, c.abstract)
			argv := append(append([]string{"watch", "--format", "json", "--interval", "0"}, c.backend.args...), root)
			env := []string{"WATCHDOG_USEC=200000"}
			if c.pid != "" && c.pid != "self" {
				env = append(env, "WATCHDOG_PID="+c.pid)
			}
			var n *notified
			if c.pid == "self" {
				// fim's pid is known only once it runs: a shell names itself, then
				// becomes fim.
				n = startNotified(t, l, env, "/bin/sh", append([]string{"-c", `WATCHDOG_PID=$$ exec "$0" "$@"`, fimBin}, argv...)...)
			} else {
				n = startNotified(t, l, env, fimBin, argv...)
			}
			got := l.await("READY=1")
			status := field(got[len(got)-1], "STATUS")
			if !strings.Contains(status, root) || !strings.Contains(status, "("+c.backend.source) {
				t.Errorf("READY=1 came with STATUS=%q, want it to name %s and the %s backend", status, root, c.backend.source)
			}
			if c.pets {
				l.await("WATCHDOG=1")
				l.await("WATCHDOG=1")
			} else if k := l.count("WATCHDOG=1", time.Second); k > 0 {
				t.Errorf("WATCHDOG_PID names another process, yet fim petted the watchdog %d times", k)
			}
			must(t, n.cmd.Process.Signal(syscall.SIGTERM))
			l.await("STOPPING=1")
			n.stop()
		})
	}
}

// TestWatchNotifyUnhealthy removes the watched directory: its inotify watch is gone,
// the watch is no longer healthy, and fim stops petting the watchdog.
func TestWatchNotifyUnhealthy(t *testing.T) {
	t.Parallel()
	root := notifyRoot(t, fsnotifyBackend)
	l := listenNotify(t, false)
	startNotified(t, l, []string{"WATCHDOG_USEC=200000"}, fimBin, "watch", "--format", "json", "--interval", "0", "--backend", "fsnotify", root)
	l.await("READY=1")
	l.await("WATCHDOG=1")
	must(t, os.RemoveAll(root))
	// A ping already on its way may arrive; after a few intervals none does.
	l.count("WATCHDOG=1", 500*time.Millisecond)
	if n := l.count("WATCHDOG=1", time.Second); n > 0 {
		t.Errorf("the watched directory is gone, yet fim petted the watchdog %d times in 1s", n)
	}
}

// TestWatchReload sends SIGHUP while a writer makes files: fim says RELOADING=1 with
// the MONOTONIC_USEC= systemd wants, re-reads its configuration (and says whether it
// changed: it applies the keys of the watch mapping it can, a heartbeat here, and names
// the rest), rescans, says READY=1 again, and reports every file made before, during
// and after the reloads.
func TestWatchReload(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		backend watchBackend
		edit    func(t *testing.T, cfg, root string) // what becomes of the config file before SIGHUP
		notice  string
		beats   bool // heartbeats come after the reload
	}{
		{name: "unchanged", backend: fsnotifyBackend, notice: "reload: the configuration is unchanged"},
		{name: "fanotify", backend: fanotifyBackend, notice: "reload: the configuration is unchanged"},
		{name: "changed", backend: fsnotifyBackend, notice: "reload: applying exclude",
			edit: func(t *testing.T, cfg, root string) {
				must(t, os.WriteFile(cfg, []byte("paths:\n  - path: "+root+"\nexclude: [x]\n"), 0o644))
			}},
		{name: "db", backend: fsnotifyBackend, notice: "reload: db changed: fim watch goes on without that change: restart it",
			edit: func(t *testing.T, cfg, root string) {
				must(t, os.WriteFile(cfg, []byte("db: "+filepath.Join(filepath.Dir(cfg), "other.db")+"\npaths:\n  - path: "+root+"\n"), 0o644))
			}},
		{name: "retuned", backend: fsnotifyBackend, notice: "reload: applying watch.batch_size, watch.heartbeat", beats: true,
			edit: func(t *testing.T, cfg, root string) {
				must(t, os.WriteFile(cfg, []byte("paths:\n  - path: "+root+"\nwatch:\n  heartbeat: 100ms\n  batch_size: 7\n  listen: 127.0.0.1:1\n"), 0o644))
			}},
		{name: "broken", backend: fsnotifyBackend, notice: ": the configuration in force stays",
			edit: func(t *testing.T, cfg, root string) { must(t, os.WriteFile(cfg, []byte("paths: [\n"), 0o644)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			root := notifyRoot(t, c.backend)
			cfg := filepath.Join(t.TempDir(), "fim.yaml")
			must(t, os.WriteFile(cfg, []byte("paths:\n  - path: "+root+"\n"), 0o644))
			l := listenNotify(t, false)
			n := startNotified(t, l, nil, fimBin, append([]string{"watch", "--format", "json", "--interval", "0", "--dedup-window", "0",
				"--batch-timeout", "50ms", "--config", cfg}, c.backend.args...)...)
			l.await("READY=1")
			if c.edit != nil {
				c.edit(t, cfg, root)
			}
			const files = 300
			writer := exec.Command("sh", "-c", `i=0; while [ $i -lt `+strconv.Itoa(files)+` ]; do echo $i > f$i; i=$((i+1)); done`)
			writer.Dir = root
			must(t, writer.Start())
			for range 3 {
				must(t, n.cmd.Process.Signal(syscall.SIGHUP))
				got := l.await("RELOADING=1")
				reloading := got[len(got)-1]
				var now unix.Timespec
				must(t, unix.ClockGettime(unix.CLOCK_MONOTONIC, &now))
				usec, err := strconv.ParseInt(field(reloading, "MONOTONIC_USEC"), 10, 64)
				if err != nil || usec <= 0 || usec > now.Nano()/1000 || now.Nano()/1000-usec > int64(eventTimeout/time.Microsecond) {
					t.Errorf("RELOADING=1 came with %q, want MONOTONIC_USEC= of the monotonic clock, which is at %d µs", reloading, now.Nano()/1000)
				}
				l.await("READY=1")
			}
			must(t, writer.Wait())
			seen := map[string]bool{}
			beat := false
			deadline := time.After(eventTimeout)
			for len(seen) < files || c.beats && !beat {
				select {
				case line, ok := <-n.lines:
					if !ok {
						t.Fatalf("fim exited with %d of %d files reported", len(seen), files)
					}
					var ev jsonEvent
					must(t, json.Unmarshal([]byte(line), &ev))
					if rel, ok := strings.CutPrefix(ev.Path, root+"/f"); ok && ev.Type == "create" {
						seen[rel] = true
					}
					beat = beat || ev.Type == "heartbeat"
				case <-deadline:
					t.Fatalf("%d of %d files reported within %v (heartbeat: %v)", len(seen), files, eventTimeout, beat)
				}
			}
			if !strings.Contains(n.stderrText(), c.notice) {
				t.Errorf("stderr does not say %q", c.notice)
			}
			n.stop()
		})
	}
}

// TestWatchReloadPolicy changes what a running watch watches with SIGHUP, on both
// backends, with and without --update: of the roots kept, old and new, the watch goes
// on with kept and new. The files written in kept while it reloads are all reported;
// what new held before is taken in as it is; what is made in new once the watch is
// ready again is reported, and what is made in old is not. With --update, the
// baseline written records the policy in force: a check of it, by its own policy,
// finds the tree as the watch left it, and it lists new's files and none of old's.
func TestWatchReloadPolicy(t *testing.T) {
	t.Parallel()
	for _, backend := range []watchBackend{fanotifyBackend, fsnotifyBackend} {
		for _, update := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/update=%v", backend.name, update), func(t *testing.T) {
				t.Parallel()
				top := notifyRoot(t, backend)
				kept, old, added := filepath.Join(top, "kept"), filepath.Join(top, "old"), filepath.Join(top, "new")
				fstest.Tree{"kept/a": fstest.File("a"), "old/a": fstest.File("a"), "new/there": fstest.File("there")}.Build(t, top)
				dir := t.TempDir()
				cfg, db := filepath.Join(dir, "fim.yaml"), filepath.Join(dir, "fim.db")
				policy := func(roots ...string) []byte {
					s := "paths:\n"
					for _, r := range roots {
						s += "  - path: " + r + "\n"
					}
					return []byte(s)
				}
				must(t, os.WriteFile(cfg, policy(kept, old), 0o644))
				args := []string{"watch", "--format", "json", "--interval", "0", "--dedup-window", "0", "--batch-timeout", "50ms", "--config", cfg}
				if update {
					args = append(args, "--db", db, "--update", "--update-every", "50ms")
				}
				l := listenNotify(t, false)
				n := startNotified(t, l, nil, fimBin, append(args, backend.args...)...)
				l.await("READY=1")
				must(t, os.WriteFile(cfg, policy(kept, added), 0o644))
				const files = 200
				writer := exec.Command("sh", "-c", `i=0; while [ $i -lt `+strconv.Itoa(files)+` ]; do echo $i > f$i; i=$((i+1)); done`)
				writer.Dir = kept
				must(t, writer.Start())
				must(t, n.cmd.Process.Signal(syscall.SIGHUP))
				l.await("RELOADING=1")
				l.await("READY=1")
				must(t, writer.Wait())
				must(t, os.WriteFile(filepath.Join(old, "after"), []byte("x"), 0o644))
				must(t, os.WriteFile(filepath.Join(added, "after"), []byte("x"), 0o644))
				must(t, os.WriteFile(filepath.Join(kept, "last"), []byte("x"), 0o644))
				seen := map[string]bool{}
				deadline := time.After(eventTimeout)
				for len(seen) < files || !seen["new/after"] || !seen["kept/last"] {
					select {
					case line, ok := <-n.lines:
						if !ok {
							t.Fatalf("fim exited with %d events reported", len(seen))
						}
						var ev jsonEvent
						must(t, json.Unmarshal([]byte(line), &ev))
						rel, _ := filepath.Rel(top, ev.Path)
						switch {
						case strings.HasPrefix(rel, "old/"), rel == "new/there":
							t.Errorf("reported %s %s, which the watch was not to report", ev.Type, ev.Path)
						case ev.Type != "create":
						case strings.HasPrefix(rel, "kept/f"):
							seen[rel] = true
						case rel == "new/after", rel == "kept/last":
							seen[rel] = true
						}
					case <-deadline:
						t.Fatalf("%d events reported within %v (new/after: %v, kept/last: %v)", len(seen), eventTimeout, seen["new/after"], seen["kept/last"])
					}
				}
				if s := n.stderrText(); !strings.Contains(s, "reload: applying paths") {
					t.Errorf("stderr does not say the paths are applied:\n%s", s)
				}
				n.stop()
				if !update {
					return
				}
				if out, errs, code := run(t, "check", "--db", db, "--format", "json"); code != 0 {
					t.Errorf("check of the baseline watch --update wrote: exit %d\n%s%s", code, out, errs)
				}
				out, errs, code := run(t, "list", "--db", db)
				if code != 0 {
					t.Fatalf("list: exit %d: %s", code, errs)
				}
				for _, p := range []string{added + "/there", added + "/after", kept + "/last", kept + "/f0"} {
					if !strings.Contains(out, " "+p+"\n") {
						t.Errorf("the baseline does not list %s:\n%s", p, out)
					}
				}
				if strings.Contains(out, old) {
					t.Errorf("the baseline lists what is below %s, no longer watched:\n%s", old, out)
				}
			})
		}
	}
}
