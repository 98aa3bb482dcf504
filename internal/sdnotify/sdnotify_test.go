package sdnotify

import (
	"math"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFromEnv reads the environment a service manager sets, good and bad.
func TestFromEnv(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Net: "unixgram", Name: sock})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
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
