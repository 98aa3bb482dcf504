package proctrack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Bounds of the table: the processes it holds, and how long it keeps one that exited
// (long enough for a backlog of fanotify events to be read).
const (
	MaxEntries = 1 << 15
	Grace      = 60 * time.Second
)

// A Tracker listens to the proc connector and keeps the table. Lookup reads what the
// socket holds first: a process forked before its pid was looked up is in the table,
// whether or not the tracker's goroutine has got to it.
type Tracker struct {
	mu     sync.Mutex
	fd     int
	file   *os.File
	t      *table
	buf    []byte
	closed bool
	lost   int // times the socket overflowed
	err    error
	done   chan struct{}
}

// Open starts listening. It fails without CAP_NET_ADMIN, outside the initial pid and
// user namespaces (where the kernel ignores the request: Open waits a second for the
// answer that does not come), and where the kernel has no proc connector.
func Open() (*Tracker, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("proc connector: socket: %w", err)
	}
	// A burst of forks must not overflow the socket before the goroutine reads it.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("proc connector: bind: %w", err)
	}
	tr := &Tracker{fd: fd, t: newTable(MaxEntries, uint64(Grace), readComm), buf: make([]byte, 16<<10), done: make(chan struct{})}
	if err := tr.listen(); err != nil {
		unix.Close(fd)
		return nil, err
	}
	tr.file = os.NewFile(uintptr(fd), "proc connector")
	go tr.run()
	return tr, nil
}

// listen asks the kernel for the events and waits for its answer, taking in the
// events that come before it.
func (tr *Tracker) listen() error {
	cookie := uint32(os.Getpid())<<8 ^ uint32(time.Now().UnixNano())
	if err := tr.request(mcastListen, cookie); err != nil {
		return fmt.Errorf("proc connector: listen: %w", err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		answered, errno := false, uint32(0)
		err := tr.drain(func(ev Event) bool {
			if ev.What == EventNone && ev.Ack == cookie+1 {
				answered, errno = true, ev.Err
			}
			return true
		})
		if err != nil {
			return err
		}
		if answered {
			if errno != 0 {
				return fmt.Errorf("proc connector: listen: %w", syscall.Errno(errno))
			}
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return errors.New("proc connector: the kernel did not answer (not in the initial pid and user namespaces?)")
		}
		unix.Poll([]unix.PollFd{{Fd: int32(tr.fd), Events: unix.POLLIN}}, int(left/time.Millisecond)+1)
	}
}

// request sends the connector a listen or ignore request (op), cookie its sequence
// number.
func (tr *Tracker) request(op, cookie uint32) error {
	msg := make([]byte, nlmsgHdrLen+cnMsgLen+4)
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], unix.NLMSG_DONE)
	ne.PutUint32(msg[8:], cookie) // seq
	c := msg[nlmsgHdrLen:]
	ne.PutUint32(c[0:], cnIdxProc)
	ne.PutUint32(c[4:], cnValProc)
	ne.PutUint32(c[8:], cookie) // seq
	ne.PutUint32(c[12:], cookie)
	ne.PutUint16(c[16:], 4)
	ne.PutUint32(c[cnMsgLen:], op)
	return unix.Sendto(tr.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
}

// drain reads what the socket holds, without waiting, and applies it to the table;
// seen, when set, is told of every event first (false leaves it out of the table).
// Only the kernel's messages are read. A socket that overflowed lost events, among
// them maybe the fork that gave a pid to another process: the table starts over.
func (tr *Tracker) drain(seen func(Event) bool) error {
	for {
		n, from, err := unix.Recvfrom(tr.fd, tr.buf, unix.MSG_DONTWAIT)
		switch {
		case err == unix.EAGAIN || err == unix.EWOULDBLOCK:
			return nil
		case err == unix.EINTR:
			continue
		case err == unix.ENOBUFS:
			tr.lost++
			tr.t.reset()
			continue
		case err != nil:
			return fmt.Errorf("proc connector: %w", err)
		}
		if nl, ok := from.(*unix.SockaddrNetlink); !ok || nl.Pid != 0 {
			continue // not the kernel's
		}
		// An error in a message leaves the rest of the datagram unread: each event is
		// a datagram of its own.
		Parse(tr.buf[:n], func(ev Event) {
			if seen == nil || seen(ev) {
				tr.t.apply(ev)
			}
		})
	}
}

// run reads the socket as events come, until Close.
func (tr *Tracker) run() {
	defer close(tr.done)
	rc, err := tr.file.SyscallConn()
	if err != nil {
		tr.mu.Lock()
		tr.err = err
		tr.mu.Unlock()
		return
	}
	rc.Read(func(uintptr) bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		if tr.closed {
			return true
		}
		if err := tr.drain(nil); err != nil {
			tr.err = err
			return true
		}
		return false // wait for more
	})
}

// Lookup returns the table's entry of the process pid (a process's pid: its thread
// group id), having read what the socket holds.
func (tr *Tracker) Lookup(pid int) (Entry, bool) {
	if tr == nil {
		return Entry{}, false
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.closed {
		return Entry{}, false
	}
	if tr.err == nil {
		tr.err = tr.drain(nil)
	}
	tr.t.expire(monotonic())
	e, ok := tr.t.procs[pid]
	return e, ok
}

// Lost returns how many times events were lost (the socket overflowed).
func (tr *Tracker) Lost() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.lost
}

// Err returns why the tracker stopped reading events, if it did.
func (tr *Tracker) Err() error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.err
}

// Close stops listening.
func (tr *Tracker) Close() error {
	if tr == nil {
		return nil
	}
	tr.mu.Lock()
	if tr.closed {
		tr.mu.Unlock()
		return nil
	}
	tr.closed = true
	// The kernel counts its listeners, and makes events while there are any: this one
	// is done.
	tr.request(mcastIgnore, 0)
	tr.mu.Unlock()
	err := tr.file.Close()
	<-tr.done
	return err
}

// StartedBy reports whether a process whose /proc/PID/stat gives start (clock ticks
// since boot) had started by when (an Entry's Forked): a process that started after
// a child of its pid was forked is not that child's parent, whose pid it took.
// start counts boot time (CLOCK_BOOTTIME), the connector's times do not
// (CLOCK_MONOTONIC): they differ by the time the host was suspended, taken as it is
// now, which errs on the side of a process that started earlier.
func StartedBy(start, when uint64) bool {
	var boot, mono unix.Timespec
	if unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot) != nil || unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono) != nil {
		return false
	}
	offset := uint64(max(boot.Nano()-mono.Nano(), 0))
	return start*(uint64(time.Second)/clockTicks) <= when+offset
}

// clockTicks is USER_HZ, the unit of /proc's times: 100 on every Linux.
const clockTicks = 100

func monotonic() uint64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}

// readComm reads /proc/PID/comm ("" when gone).
func readComm(pid int) string {
	var b [64]byte
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/comm", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	n, err := unix.Read(fd, b[:])
	if err != nil || n <= 0 {
		return ""
	}
	return strings.TrimSuffix(string(b[:n]), "\n")
}
