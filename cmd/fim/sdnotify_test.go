package main

import (
	"bufio"
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

// TestWatchNotify runs fim watch as a Type=notify service manager would, with
// NOTIFY_SOCKET and WATCHDOG_USEC set: fim says READY=1 with a STATUS= naming what it
// watches and the backend once its marks are in force, pets the watchdog every
// WATCHDOG_USEC/2 while it is healthy, stops petting it when its marks are lost, and
// says STOPPING=1 on SIGTERM.
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
			var root string
			if c.backend.process {
				root = filepath.Join(tmpfs(t), "w")
				needFanotify(t, filepath.Dir(root))
			} else {
				root = filepath.Join(t.TempDir(), "w")
			}
			fstest.Tree{"a": fstest.File("a")}.Build(t, root)
			l := listenNotify(t, c.abstract)
			args := append([]string{"watch", "--format", "json", "--interval", "0"}, c.backend.args...)
			cmd := exec.Command(fimBin, append(args, root)...)
			cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
				return strings.HasPrefix(kv, "FIM_DB=") || strings.HasPrefix(kv, "NOTIFY_SOCKET=") || strings.HasPrefix(kv, "WATCHDOG_")
			}), "NOTIFY_SOCKET="+l.name, "WATCHDOG_USEC=200000")
			cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
			stderr, err := cmd.StderrPipe()
			must(t, err)
			var (
				mu    sync.Mutex
				lines []string
			)
			scanned := make(chan struct{})
			if c.pid == "self" {
				// fim's pid is known once it runs: a wrapper shell names itself, then
				// becomes fim.
				cmd.Args = append([]string{"sh", "-c", `WATCHDOG_PID=$$ exec "$0" "$@"`, fimBin}, cmd.Args[1:]...)
				cmd.Path = "/bin/sh"
			} else if c.pid != "" {
				cmd.Env = append(cmd.Env, "WATCHDOG_PID="+c.pid)
			}
			must(t, cmd.Start())
			go func() {
				defer close(scanned)
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					mu.Lock()
					lines = append(lines, sc.Text())
					mu.Unlock()
				}
			}()
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-scanned
				cmd.Wait()
				if t.Failed() {
					mu.Lock()
					t.Logf("stderr:\n%s", strings.Join(lines, "\n"))
					mu.Unlock()
				}
			})
			got := l.await("READY=1")
			ready := got[len(got)-1]
			status := ""
			for _, f := range ready {
				if s, ok := strings.CutPrefix(f, "STATUS="); ok {
					status = s
				}
			}
			if !strings.Contains(status, root) || !strings.Contains(status, "("+c.backend.source) {
				t.Errorf("READY=1 came with STATUS=%q, want it to name %s and the %s backend", status, root, c.backend.source)
			}
			if c.pets {
				l.await("WATCHDOG=1")
				l.await("WATCHDOG=1")
			} else if n := l.count("WATCHDOG=1", time.Second); n > 0 {
				t.Errorf("WATCHDOG_PID names another process, yet fim petted the watchdog %d times", n)
			}
			must(t, cmd.Process.Signal(syscall.SIGTERM))
			l.await("STOPPING=1")
			<-scanned
			if err := cmd.Wait(); err != nil {
				t.Errorf("fim watch after SIGTERM: %v", err)
			}
		})
	}
}

// TestWatchNotifyUnhealthy removes the watched directory: its inotify watch is gone,
// the watch is no longer healthy, and fim stops petting the watchdog.
func TestWatchNotifyUnhealthy(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "w")
	fstest.Tree{"a": fstest.File("a")}.Build(t, root)
	l := listenNotify(t, false)
	cmd := exec.Command(fimBin, "watch", "--format", "json", "--interval", "0", "--backend", "fsnotify", root)
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "FIM_DB=") || strings.HasPrefix(kv, "WATCHDOG_")
	}), "NOTIFY_SOCKET="+l.name, "WATCHDOG_USEC=200000")
	must(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	l.await("READY=1")
	l.await("WATCHDOG=1")
	must(t, os.RemoveAll(root))
	// A ping already on its way may arrive; after a few intervals none does.
	l.count("WATCHDOG=1", 500*time.Millisecond)
	if n := l.count("WATCHDOG=1", time.Second); n > 0 {
		t.Errorf("the watched directory is gone, yet fim petted the watchdog %d times in 1s", n)
	}
}
