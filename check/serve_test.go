package check

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fim/config"
	"fim/watch"
)

// TestServeReloadWhileReady: a watch becomes ready in one goroutine while a SIGHUP
// reloads it in another (go test -race sees whether they share the status safely);
// under a service manager, the READY=1 a reload ends with names what the watch said it
// watches once ready.
func TestServeReloadWhileReady(t *testing.T) {
	const ready = "READY=1\nSTATUS=watching /r (periodic)\n"
	for _, managed := range []bool{false, true} {
		t.Run(map[bool]string{false: "alone", true: "under a service manager"}[managed], func(t *testing.T) {
			var l *net.UnixConn
			t.Setenv("NOTIFY_SOCKET", "")
			if managed {
				sock := filepath.Join(t.TempDir(), "notify")
				var err error
				l, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Net: "unixgram", Name: sock})
				must(t, err)
				defer l.Close()
				t.Setenv("NOTIFY_SOCKET", sock)
			}
			read := func() string {
				t.Helper()
				must(t, l.SetReadDeadline(time.Now().Add(10*time.Second)))
				buf := make([]byte, 512)
				n, err := l.Read(buf)
				must(t, err)
				return string(buf[:n])
			}
			logs := make(chan string, 10)
			wt, err := NewWatch(WatchOptions{Paths: []string{t.TempDir()}, Logf: func(format string, _ ...any) { logs <- format }})
			must(t, err)
			defer wt.Close()
			w := &watch.Watcher{}
			stop, err := wt.Serve(context.Background(), w, nil, ServiceOptions{ConfigFile: config.Stdin})
			must(t, err)
			defer func() {
				if stop != nil {
					stop()
				}
			}()
			readied := make(chan struct{})
			go func() { w.Ready("/r", "periodic"); close(readied) }() // as the watch's own goroutine does
			if managed {
				if got := read(); got != ready {
					t.Fatalf("once ready: sent %q, want %q", got, ready)
				}
			}
			must(t, syscall.Kill(syscall.Getpid(), syscall.SIGHUP))
			ask := <-w.Rescan // the rescan the reload asks for
			ask(nil)
			if managed {
				if got := read(); !strings.HasPrefix(got, "RELOADING=1\n") {
					t.Errorf("reload: sent %q, want RELOADING=1 first", got)
				}
				if got := read(); got != ready {
					t.Errorf("after a reload: sent %q, want %q", got, ready)
				}
			}
			stop()
			stop = nil
			<-readied
			close(logs)
			var said []string
			for s := range logs {
				said = append(said, s)
			}
			if len(said) == 0 || said[len(said)-1] != "watch: reload: rescanned: ready" {
				t.Errorf("logged %q, want the rescan last", said)
			}
		})
	}
}

// TestServeReloadBeforeReady: a SIGHUP that comes before the watch is ready tells the
// service manager nothing and rescans nothing until it is; then the watch says READY=1
// once, and the reload follows with its own RELOADING=1 and READY=1, each naming what
// the watch watches.
func TestServeReloadBeforeReady(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Net: "unixgram", Name: sock})
	must(t, err)
	defer l.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	read := func(within time.Duration) (string, error) {
		must(t, l.SetReadDeadline(time.Now().Add(within)))
		buf := make([]byte, 512)
		n, err := l.Read(buf)
		return string(buf[:n]), err
	}
	wt, err := NewWatch(WatchOptions{Paths: []string{t.TempDir()}, Logf: func(string, ...any) {}})
	must(t, err)
	defer wt.Close()
	w := &watch.Watcher{}
	stop, err := wt.Serve(context.Background(), w, nil, ServiceOptions{ConfigFile: config.Stdin})
	must(t, err)
	defer stop()
	must(t, syscall.Kill(syscall.Getpid(), syscall.SIGHUP))
	rescans := make(chan struct{}, 2)
	go func() { // as the watch's loop does, here at any time
		for ask := range w.Rescan {
			rescans <- struct{}{}
			ask(nil)
		}
	}()
	if got, err := read(300 * time.Millisecond); err == nil {
		t.Errorf("before the watch is ready: sent %q, want nothing", got)
	}
	select {
	case <-rescans:
		t.Errorf("before the watch is ready: a rescan was asked for")
	default:
	}
	const ready = "READY=1\nSTATUS=watching /r (periodic)\n"
	w.Ready("/r", "periodic")
	var sent []string
	for range 3 {
		got, err := read(10 * time.Second)
		if err != nil {
			break
		}
		sent = append(sent, got)
	}
	if len(sent) != 3 || sent[0] != ready || !strings.HasPrefix(sent[1], "RELOADING=1\n") || sent[2] != ready {
		t.Errorf("once ready: sent %q, want %q, RELOADING=1, %q", sent, ready, ready)
	}
	select {
	case <-rescans:
	case <-time.After(10 * time.Second):
		t.Errorf("once ready: no rescan for the reload")
	}
}

// TestServeHangupAfterStop: a SIGHUP that comes once Serve is stopped, while fim closes
// its reporter and spool, is ignored rather than left to end the process. The watch
// runs in a child process of the test binary, which sends itself the signal.
func TestServeHangupAfterStop(t *testing.T) {
	if os.Getenv("FIM_TEST_HANGUP_CHILD") == "1" {
		t.Setenv("NOTIFY_SOCKET", "")
		wt, err := NewWatch(WatchOptions{Paths: []string{t.TempDir()}, Logf: func(string, ...any) {}})
		must(t, err)
		defer wt.Close()
		stop, err := wt.Serve(context.Background(), &watch.Watcher{}, nil, ServiceOptions{ConfigFile: config.Stdin})
		must(t, err)
		stop()
		must(t, syscall.Kill(syscall.Getpid(), syscall.SIGHUP))
		time.Sleep(200 * time.Millisecond) // time for the signal to end the process, were it not ignored
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestServeHangupAfterStop$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FIM_TEST_HANGUP_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the watch sent itself a SIGHUP after Serve stopped: %v\n%s", err, out)
	}
}
