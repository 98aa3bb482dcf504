package sdnotify

import (
	"context"
	"errors"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// listenNotify listens where a service manager would: a datagram socket, closed when
// the test ends.
func listenNotify(t *testing.T) (*net.UnixConn, string) {
	sock := filepath.Join(t.TempDir(), "notify")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Net: "unixgram", Name: sock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, sock
}

// TestFromEnv reads the environment a service manager sets, good and bad.
func TestFromEnv(t *testing.T) {
	l, sock := listenNotify(t)
	for _, c := range []struct {
		name, socket, usec, pid string
		watchdog                time.Duration
		err                     string // a part of the error; "" for none
	}{
		{name: "unset"},
		{name: "no watchdog", socket: sock},
		{name: "watchdog", socket: sock, usec: "3000000", watchdog: 1500 * time.Millisecond},
		{name: "watchdog of another", socket: sock, usec: "3000000", pid: "1"},
		{name: "relative", socket: "notify", err: `NOTIFY_SOCKET "notify": want an absolute path`},
		{name: "bad usec", socket: sock, usec: "3s", err: `WATCHDOG_USEC "3s"`},
		{name: "zero usec", socket: sock, usec: "0", err: `WATCHDOG_USEC "0"`},
		{name: "no listener", socket: sock + ".gone", err: "NOTIFY_SOCKET " + sock + ".gone: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("NOTIFY_SOCKET", c.socket)
			t.Setenv("WATCHDOG_USEC", c.usec)
			t.Setenv("WATCHDOG_PID", c.pid)
			n, err := FromEnv()
			switch {
			case c.err != "":
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("FromEnv: %v, want an error with %q", err, c.err)
				}
				return
			case err != nil:
				t.Fatal(err)
			case c.socket == "":
				if n != nil {
					t.Fatalf("FromEnv without NOTIFY_SOCKET: %+v, want nil", n)
				}
				return
			}
			defer n.Close()
			if n.Watchdog != c.watchdog {
				t.Errorf("Watchdog %v, want %v", n.Watchdog, c.watchdog)
			}
			if err := n.Send("STATUS=a\nb", "READY=1"); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 100)
			k, err := l.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(buf[:k]), "STATUS=a b\nREADY=1\n"; got != want {
				t.Errorf("sent %q, want %q", got, want)
			}
		})
	}
}

// FuzzWatchdog reads any $WATCHDOG_USEC and $WATCHDOG_PID: an interval is half the
// timeout asked of this process, and every value that is not a positive number of
// microseconds is refused.
func FuzzWatchdog(f *testing.F) {
	for _, s := range [][2]string{{"3000000", ""}, {"3000000", "42"}, {"", ""}, {"0", ""}, {"-1", ""}, {"9223372036854775807", ""}, {"1e6", "42"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, usec, pid string) {
		d, err := watchdog(usec, pid, 42)
		mine := usec != "" && (pid == "" || pid == "42")
		us, perr := strconv.ParseUint(usec, 10, 64) // digits only, as systemd writes it
		switch {
		case !mine:
			if d != 0 || err != nil {
				t.Fatalf("watchdog(%q, %q) = %v, %v: not this process's, want 0, nil", usec, pid, d, err)
			}
		case perr != nil || us == 0 || us > math.MaxInt64/1000:
			if err == nil {
				t.Fatalf("watchdog(%q, %q) = %v, want an error", usec, pid, d)
			}
		case err != nil || d != time.Duration(us)*time.Microsecond/2:
			t.Fatalf("watchdog(%q, %q) = %v, %v, want %v", usec, pid, d, err, time.Duration(us)*time.Microsecond/2)
		}
	})
}

// TestServeReloads reloads on each signal: RELOADING=1, the reload, READY=1 with the
// status; a reload that fails sends no READY=1 and ends the serving.
func TestServeReloads(t *testing.T) {
	l, sock := listenNotify(t)
	t.Setenv("NOTIFY_SOCKET", sock)
	n, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	read := func() string {
		t.Helper()
		if err := l.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 200)
		k, err := l.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:k])
	}
	sig := make(chan os.Signal)
	reloads := make(chan error)
	logf := func(format string, args ...any) { t.Errorf("logged "+format, args...) }
	stop := n.ServeReloads(context.Background(), sig, func(context.Context) error { return <-reloads },
		func() string { return "STATUS=watching /" }, logf)
	defer stop()
	for i := range 2 {
		sig <- syscall.SIGHUP
		if got := read(); !strings.HasPrefix(got, "RELOADING=1\nMONOTONIC_USEC=") {
			t.Errorf("reload %d: sent %q, want RELOADING=1 first", i, got)
		}
		reloads <- nil
		if got, want := read(), "READY=1\nSTATUS=watching /\n"; got != want {
			t.Errorf("reload %d: sent %q, want %q", i, got, want)
		}
	}
	sig <- syscall.SIGHUP
	read()
	reloads <- errors.New("rescan failed")
	select {
	case sig <- syscall.SIGHUP:
		t.Error("still serving after a reload failed")
	case <-time.After(100 * time.Millisecond):
	}
	if err := l.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if k, err := l.Read(make([]byte, 200)); err == nil {
		t.Errorf("sent a message of %d bytes after a reload failed", k)
	}
}

// TestServeReloadsNil: without a service manager, the reloads happen all the same.
func TestServeReloadsNil(t *testing.T) {
	var n *Notifier
	sig := make(chan os.Signal)
	reloaded := make(chan struct{})
	stop := n.ServeReloads(context.Background(), sig, func(context.Context) error { close(reloaded); return nil },
		func() string { return "STATUS=x" }, func(format string, args ...any) { t.Errorf(format, args...) })
	defer stop()
	sig <- syscall.SIGHUP
	select {
	case <-reloaded:
	case <-time.After(10 * time.Second):
		t.Fatal("no reload")
	}
}
