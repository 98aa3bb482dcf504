// Package sdnotify tells the service manager that started fim how it is doing, with
// the sd_notify protocol: one datagram per message, "KEY=value" lines, sent to the unix
// socket named by $NOTIFY_SOCKET (a name starting with '@' is in the abstract
// namespace). Without $NOTIFY_SOCKET every message is dropped: fim was not started by
// a manager that listens.
//
// The watchdog interval is read from $WATCHDOG_USEC, and applies to this process only
// when $WATCHDOG_PID is unset or names it.
package sdnotify

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Notifier sends messages to the service manager. The nil Notifier (no
// $NOTIFY_SOCKET) sends nothing.
type Notifier struct {
	conn *net.UnixConn
	// Watchdog is how often the manager wants WATCHDOG=1, half its timeout: 0 when it
	// wants none.
	Watchdog time.Duration
}

// FromEnv returns the Notifier the environment asks for, nil when $NOTIFY_SOCKET is
// unset. It unsets $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID, so that the
// programs fim starts do not speak for it.
func FromEnv() (*Notifier, error) {
	name := os.Getenv("NOTIFY_SOCKET")
	usec, pid := os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID")
	for _, k := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} {
		os.Unsetenv(k)
	}
	if name == "" {
		return nil, nil
	}
	if name[0] != '/' && name[0] != '@' {
		return nil, fmt.Errorf("NOTIFY_SOCKET %q: want an absolute path or an abstract name starting with @", name)
	}
	every, err := watchdog(usec, pid, os.Getpid())
	if err != nil {
		return nil, err
	}
	n := &Notifier{Watchdog: every}
	addr := &net.UnixAddr{Net: "unixgram", Name: name}
	if name[0] == '@' {
		addr.Name = "\x00" + name[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, addr)
	if err != nil {
		return nil, fmt.Errorf("NOTIFY_SOCKET %s: %w", name, err)
	}
	n.conn = conn
	return n, nil
}

// watchdog returns how often to pet the watchdog that $WATCHDOG_USEC and $WATCHDOG_PID
// ask of process self: half the timeout, 0 for none.
func watchdog(usec, pid string, self int) (time.Duration, error) {
	if usec == "" || pid != "" && pid != strconv.Itoa(self) {
		return 0, nil
	}
	us, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || us == 0 || us > uint64(math.MaxInt64/time.Microsecond) {
		return 0, fmt.Errorf("WATCHDOG_USEC %q: want a positive number of microseconds", usec)
	}
	return time.Duration(us) * time.Microsecond / 2, nil
}

// Send sends one message: lines of KEY=value. A newline in a value is replaced by a
// space, so that a value cannot add a line of its own.
func (n *Notifier) Send(fields ...string) error {
	if n == nil {
		return nil
	}
	for i, f := range fields {
		fields[i] = strings.ReplaceAll(f, "\n", " ")
	}
	_, err := n.conn.Write([]byte(strings.Join(fields, "\n") + "\n"))
	if err != nil {
		return fmt.Errorf("notify the service manager: %w", err)
	}
	return nil
}

// Reloading is the message that says a reload starts: systemd wants the time it
// started on CLOCK_MONOTONIC with it.
func Reloading() []string {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		ts = unix.Timespec{} // cannot happen on Linux
	}
	return []string{"RELOADING=1", "MONOTONIC_USEC=" + strconv.FormatInt(ts.Nano()/1000, 10)}
}

// Close closes the socket.
func (n *Notifier) Close() error {
	if n == nil {
		return nil
	}
	return n.conn.Close()
}

// PetWatchdog sends WATCHDOG=1 every n.Watchdog until ctx ends, each time healthy
// returns nil: a watch that is stuck, or has lost its marks, stops petting the
// watchdog and the manager acts on its WatchdogSec=.
func (n *Notifier) PetWatchdog(ctx context.Context, healthy func() error, logf func(string, ...any)) {
	if n == nil || n.Watchdog <= 0 {
		return
	}
	t := time.NewTicker(n.Watchdog)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := healthy(); err != nil {
			logf("watchdog not petted: %v", err)
			continue
		}
		if err := n.Send("WATCHDOG=1"); err != nil {
			logf("%v", err)
		}
	}
}

// Serve pets the watchdog while healthy says so (see PetWatchdog), and sends
// STOPPING=1 once ctx ends (fim ends ctx on SIGTERM and SIGINT), until the function it
// returns is called.
func (n *Notifier) Serve(ctx context.Context, healthy func() error, logf func(string, ...any)) (stop func()) {
	if n == nil {
		return func() {}
	}
	sent := make(chan struct{})
	stopping := context.AfterFunc(ctx, func() {
		defer close(sent)
		if err := n.Send("STOPPING=1"); err != nil {
			logf("%v", err)
		}
	})
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.PetWatchdog(wctx, healthy, logf)
	}()
	return func() {
		cancel()
		<-done
		if !stopping() {
			<-sent // STOPPING=1 goes out before the socket is closed
		}
	}
}

// ServeReloads reloads on every value received from sig (fim's SIGHUP) until the
// function it returns is called, as a Type=notify-reload service does: it sends
// RELOADING=1 (Reloading), calls reload, and once reload returns nil sends READY=1 with
// the STATUS= line status returns. A reload that fails, or ctx ending, ends the
// serving without READY=1: the service is then ending, and says why. The nil Notifier
// reloads all the same, telling no one; errors of sending go to logf.
func (n *Notifier) ServeReloads(ctx context.Context, sig <-chan os.Signal, reload func(context.Context) error,
	status func() string, logf func(string, ...any)) (stop func()) {
	send := func(fields ...string) {
		if err := n.Send(fields...); err != nil {
			logf("%v", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
			}
			send(Reloading()...)
			if reload(ctx) != nil {
				return
			}
			send("READY=1", status())
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
