package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultQueuedEvents is the length of the kernel queue fim asks for, in events, for
// its fanotify and inotify groups, unless told otherwise (Watcher.QueuedEvents): the
// kernel's default (fs.*.max_queued_events, 16384) holds about half a second of a
// writer creating 10,000 files a second, so that a moment of work elsewhere in fim (a
// batch of large files to hash, a slow delivery) makes it overflow, and each overflow
// is a rescan. The kernel reads the limit when a group is made: fim sets the sysctl
// (as root), makes its group and puts the old value back at once, so that no other
// group gets fim's queue. An event takes about 100 bytes of kernel memory with its
// name, charged to fim: a full queue holds about 30 MiB. fanotify's
// FAN_UNLIMITED_QUEUE is not used: it would leave that memory unbounded while fim
// falls behind, where this bound is fim's own.
const DefaultQueuedEvents = 1 << 18

// withQueue calls init, which makes a notification group of the kind named
// ("fanotify" or "inotify"), with that kind's max_queued_events set to n for the
// time of the call: 0 means the larger of DefaultQueuedEvents and the system's value,
// a negative n the system's value. Without the right to set it, the group gets the
// system's value. The sysctl is one for the whole system: fim holds an exclusive flock
// on it from reading it to putting it back, so that two fim processes starting at once
// (or a test's) never take each other's temporary value for the system's and leave it
// behind; a lock someone else holds for more than two seconds leaves fim the system's
// value.
func withQueue(kind string, n int, init func() error) error {
	file := "/proc/sys/fs/" + kind + "/max_queued_events"
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		return init() // no right to set it: the system's value
	}
	defer f.Close()
	if !lockQueue(f) {
		return init() // another holds it too long: the system's value
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	b := make([]byte, 32)
	k, err := f.ReadAt(b, 0)
	old, perr := strconv.Atoi(strings.TrimSpace(string(b[:k])))
	if err != nil && k == 0 || perr != nil {
		return init()
	}
	if n == 0 {
		n = max(DefaultQueuedEvents, old)
	}
	if n < 0 || old == n {
		return init()
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(n)), 0); err != nil {
		return init()
	}
	defer f.WriteAt([]byte(strconv.Itoa(old)), 0)
	return init()
}

// lockQueue takes the exclusive flock on the sysctl file f, trying for at most two
// seconds: anyone may open the file and hold a lock on it, which must not stop fim
// from starting.
func lockQueue(f *os.File) bool {
	for deadline := time.Now().Add(2 * time.Second); ; {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return true
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readKernel reads records from a non-blocking notification descriptor (fanotify or
// inotify) and hands each buffer to handle until handle returns false. When ctx ends,
// it reads what the kernel still holds without waiting for more, then returns.
func readKernel(ctx context.Context, file *os.File, fd int, what string, handle func([]byte) bool) error {
	stop := context.AfterFunc(ctx, func() {
		if file.SetReadDeadline(time.Now()) != nil { // unblocks Read
			file.Close()
		}
	})
	defer stop()
	buf := make([]byte, 256<<10)
	for {
		n, err := file.Read(buf)
		if err != nil && ctx.Err() != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				return nil // closed
			}
			// Stopping: the descriptor is non-blocking, so this read returns what is
			// queued, or EAGAIN when nothing is.
			n, err = unix.Read(fd, buf)
			if err != nil || n <= 0 {
				return nil
			}
		}
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("read %s events: %w", what, err)
		}
		if !handle(buf[:n]) {
			return nil
		}
	}
}

// RescanGap is the shortest time between two rescans after lost events: a queue
// that overflows again and again (a writer elsewhere on a watched filesystem that
// churns faster than fim reads) costs one rescan per RescanGap, not one per overflow.
// The first overflow after a quiet RescanGap is rescanned at once; later ones are
// folded into one rescan at the end of the gap.
const RescanGap = 10 * time.Second

// rescanLimit passes the overflow hints of one backend at most once per RescanGap.
type rescanLimit struct {
	mu      sync.Mutex
	last    time.Time
	pending *Hint // an overflow held back until the gap has passed
	timer   *time.Timer
	send    func(Hint) bool
	count   int // overflows seen, for tests
}

func newRescanLimit(send func(Hint) bool) *rescanLimit { return &rescanLimit{send: send} }

// hintSender returns how a backend sends a hint to out: it reports false, the hint
// not sent, once abort is closed.
func hintSender(out chan<- Hint, abort <-chan struct{}) func(Hint) bool {
	return func(h Hint) bool {
		select {
		case out <- h:
			return true
		case <-abort:
			return false
		}
	}
}

// overflow sends h now, or once the gap since the last one has passed. It reports
// false when the watcher is aborting.
func (l *rescanLimit) overflow(h Hint) bool {
	l.mu.Lock()
	l.count++
	now := time.Now()
	if l.pending == nil && now.Sub(l.last) >= RescanGap {
		l.last = now
		l.mu.Unlock()
		return l.send(h)
	}
	if l.pending == nil {
		l.timer = time.AfterFunc(l.last.Add(RescanGap).Sub(now), func() { l.flush() })
	}
	if l.pending == nil || l.pending.Err == nil {
		l.pending = &h
	}
	l.mu.Unlock()
	return true
}

// flush sends the overflow held back, if any: when its gap has passed, and when the
// backend stops (what was lost is still looked for).
func (l *rescanLimit) flush() bool {
	l.mu.Lock()
	h := l.pending
	l.pending = nil
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.last = time.Now()
	l.mu.Unlock()
	if h == nil {
		return true
	}
	return l.send(*h)
}

// overflows returns how many overflows the backend has seen.
func (l *rescanLimit) overflows() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count
}
