package output

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ErrSpoolFull is returned by Spool.Write when a batch would take the spool past its
// size limit (or the disk it is on is full). The batch is not taken; everything taken
// before is still delivered.
var ErrSpoolFull = errors.New("spool full")

// SpoolOptions tunes a Spool.
type SpoolOptions struct {
	// Dir keeps the spool on disk, so that batches not delivered when fim stops are
	// delivered by the next fim that opens it, before anything new. Empty: in memory,
	// lost at exit.
	Dir string
	// Max bounds the bytes the spool holds. Default 256 MiB.
	Max int64
	// Logf is told when delivery fails, how large the backlog is while it fails, when
	// delivery resumes, and when the spool is full.
	Logf func(format string, args ...any)
	// Hold is given every file the spool keeps open, Release each one before it is
	// closed (so that a watch of the directory leaves them out, see walk.OwnFiles).
	Hold, Release func(*os.File)
	// Retry is the delay before a batch that failed is sent again; it doubles up to
	// MaxRetry. Defaults 1s and 30s.
	Retry, MaxRetry time.Duration
	// StopWait bounds how long Close waits for a delivery under way to give up.
	// Default 1s.
	StopWait time.Duration
	// Metrics, when set, is told of every attempt to deliver a batch.
	Metrics DeliveryMetrics
}

// DeliveryMetrics is told of each attempt to deliver a batch: whether it sends a batch
// again after a failure (retry), and its error (nil: the destination took it). It is
// called from the spool's delivering goroutine and must not block.
type DeliveryMetrics interface {
	Attempted(retry bool, err error)
}

// DefaultSpoolMax is the default size limit of a spool.
const DefaultSpoolMax = 256 << 20

// Spool is a Sink that takes each batch at once into a bounded queue, on disk or in
// memory, and delivers the queue to another Sink from a goroutine of its own: in the
// order the batches were written, each until the destination takes it (retrying with
// a growing delay), each removed from the queue only once taken. So a slow or absent
// destination never blocks the writer; what it has not taken stays queued.
//
// Every batch is given an Idempotency-Key when it is queued, kept with it on disk and
// sent with each of its attempts (http): a batch sent again after a restart, because
// fim stopped between the destination's taking it and the spool's noting it, carries
// the key it had, so the destination can drop it.
//
// On disk the spool is a directory (mode 0700, locked by the fim that uses it) of
// segment files (0600), NNNNNNNNNNNNNNNNNNNN.log after the sequence number of their
// first batch, each a series of records appended and fsync'd, and a file named
// cursor holding the sequence number of the last batch delivered. Segments are at
// most an eighth of the limit (a larger batch has one to itself) and are removed
// once delivered. A record cut short by a crash ends its segment; a record that does
// not read back ends its segment too, which is then kept as NAME.bad once the batches
// before that record are delivered.
type Spool struct {
	sink   Sink
	opt    SpoolOptions
	where  string   // the directory, or "memory"
	dir    *os.File // nil in memory
	cursor *os.File // nil in memory
	segMax int64

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when a batch is queued or delivered
	stop    chan struct{} // closed by Close
	done    chan struct{} // closed when the delivering goroutine returns
	segs    []*segment    // oldest first; the last is appended to
	size    int64         // bytes of segs
	next    uint64        // sequence number of the next batch
	acked   uint64        // sequence number of the last batch delivered
	base    uint64        // the first sequence number written by this Spool
	rd      int64         // offset in segs[0] of the next batch to deliver
	full    bool          // the spool refused a batch since it last took one
	closed  bool
}

// segment is one file of the spool.
type segment struct {
	f    *os.File
	name string
	size int64 // bytes that hold whole records; what follows is never read
	bad  bool  // the file has more, which does not read as records
	from int64 // at load: the offset of its first batch not delivered yet
}

// OpenSpool opens (creating it) the spool that opt describes and starts delivering
// what it holds to sink, which the Spool then owns.
func OpenSpool(sink Sink, opt SpoolOptions) (*Spool, error) {
	if opt.Max <= 0 {
		opt.Max = DefaultSpoolMax
	}
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	if opt.Hold == nil {
		opt.Hold = func(*os.File) {}
	}
	if opt.Release == nil {
		opt.Release = func(*os.File) {}
	}
	if opt.Retry <= 0 {
		opt.Retry = time.Second
	}
	if opt.MaxRetry <= 0 {
		opt.MaxRetry = 30 * time.Second
	}
	if opt.StopWait <= 0 {
		opt.StopWait = time.Second
	}
	s := &Spool{sink: sink, opt: opt, where: "memory", segMax: max(opt.Max/8, 64<<10), next: 1,
		changed: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	if opt.Dir != "" {
		s.where = opt.Dir
		if err := s.load(); err != nil {
			s.closeFiles()
			return nil, err
		}
	}
	s.base = s.next
	if n := s.next - 1 - s.acked; n > 0 {
		opt.Logf("spool %s: %d batches (%s) from before are delivered first", s.where, n, size(s.size-s.rd))
	}
	go s.run()
	return s, nil
}

// load opens the spool directory, locks it and reads what it holds.
func (s *Spool) load() error {
	dir := s.opt.Dir
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("spool: %w", err)
	}
	d, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return fmt.Errorf("spool %s: not a directory (fim follows no symbolic link to it)", dir)
		}
		return fmt.Errorf("spool: %w", err)
	}
	s.dir = d
	var st unix.Stat_t
	if err := unix.Fstat(int(d.Fd()), &st); err != nil {
		return fmt.Errorf("spool %s: %w", dir, err)
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("spool %s: owned by uid %d, not by the user fim runs as", dir, st.Uid)
	}
	if st.Mode&0o077 != 0 {
		if err := unix.Fchmod(int(d.Fd()), 0o700); err != nil {
			return fmt.Errorf("spool %s: %w", dir, err)
		}
	}
	if err := unix.Flock(int(d.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("spool %s: in use by another fim", dir)
		}
		return fmt.Errorf("spool %s: lock: %w", dir, err)
	}
	if s.cursor, err = s.openAt("cursor", os.O_RDWR|os.O_CREATE); err != nil {
		return err
	}
	var buf [cursorSize]byte
	n, err := s.cursor.ReadAt(buf[:], 0)
	if err != nil && err != io.EOF {
		return fmt.Errorf("spool %s: %w", s.cursor.Name(), err)
	}
	if n > 0 {
		if s.acked, err = parseCursor(buf[:n]); err != nil {
			// Delivering again what was delivered is safe (each batch keeps its key);
			// skipping what was not is not.
			s.opt.Logf("spool %s: %v: delivering every batch it holds", s.cursor.Name(), err)
		}
	}
	names, err := d.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("spool %s: %w", dir, err)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return !segmentName(n) })
	slices.Sort(names)
	var last uint64
	for i, name := range names {
		f, err := s.openAt(name, os.O_RDWR)
		if err != nil {
			return err
		}
		seg := &segment{f: f, name: name}
		s.segs = append(s.segs, seg)
		data, err := io.ReadAll(f)
		if err != nil {
			return fmt.Errorf("spool %s: %w", f.Name(), err)
		}
		for off := 0; off < len(data); {
			rec, n, err := parseRecord(data[off:])
			if err == nil && rec.seq <= last {
				err = fmt.Errorf("batch %d after batch %d", rec.seq, last)
			}
			if err != nil {
				if errors.Is(err, errShortRecord) && i == len(names)-1 {
					// An append cut short by a crash: never taken, so never promised.
					if err := f.Truncate(int64(off)); err != nil {
						return fmt.Errorf("spool %s: %w", f.Name(), err)
					}
				} else {
					seg.bad = true
					s.opt.Logf("spool %s: offset %d: %v: the rest of the file is not delivered, and is kept as %s.bad", f.Name(), off, err, name)
				}
				break
			}
			last = rec.seq
			off += n
			if rec.seq <= s.acked {
				seg.from = int64(off)
			}
			seg.size = int64(off)
		}
		s.size += seg.size
	}
	s.next = max(last, s.acked) + 1
	// Segments delivered in full (a crash came between the cursor and the removal) go.
	for len(s.segs) > 1 && s.segs[0].from == s.segs[0].size {
		if err := s.dropHead(); err != nil {
			return err
		}
	}
	if len(s.segs) > 0 {
		s.rd = s.segs[0].from
	}
	return nil
}

// openAt opens name in the spool directory: a regular file owned by fim's user,
// created 0600, no symbolic link followed.
func (s *Spool) openAt(name string, flag int) (*os.File, error) {
	p := filepath.Join(s.opt.Dir, name)
	fd, err := unix.Openat(int(s.dir.Fd()), name, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", p, err)
	}
	f := os.NewFile(uintptr(fd), p)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool %s: %w", p, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != os.Geteuid() {
		f.Close()
		return nil, fmt.Errorf("spool %s: not a regular file of fim's user", p)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool %s: %w", p, err)
	}
	s.opt.Hold(f)
	return f, nil
}

// segmentName reports whether name is the name of a segment file.
func segmentName(name string) bool {
	if len(name) != 24 || name[20:] != ".log" {
		return false
	}
	_, err := strconv.ParseUint(name[:20], 10, 64)
	return err == nil
}

// newSegment starts the segment whose first batch is seq.
func (s *Spool) newSegment(seq uint64) (*segment, error) {
	name := fmt.Sprintf("%020d.log", seq)
	var f *os.File
	if s.dir == nil {
		fd, err := unix.MemfdCreate("fim-spool-"+name, unix.MFD_CLOEXEC)
		if err != nil {
			return nil, fmt.Errorf("spool in memory: %w", err)
		}
		f = os.NewFile(uintptr(fd), "spool in memory")
	} else {
		var err error
		if f, err = s.openAt(name, os.O_RDWR|os.O_CREATE|os.O_EXCL); err != nil {
			return nil, err
		}
		if err := unix.Fsync(int(s.dir.Fd())); err != nil {
			return nil, fmt.Errorf("spool %s: %w", s.where, err)
		}
	}
	seg := &segment{f: f, name: name}
	s.segs = append(s.segs, seg)
	return seg, nil
}

// dropHead removes the oldest segment, delivered in full.
func (s *Spool) dropHead() error {
	seg := s.segs[0]
	s.opt.Release(seg.f)
	seg.f.Close()
	s.segs = s.segs[1:]
	s.size -= seg.size
	s.rd = 0
	if s.dir == nil {
		return nil
	}
	var err error
	if seg.bad {
		err = unix.Renameat(int(s.dir.Fd()), seg.name, int(s.dir.Fd()), seg.name+".bad")
	} else {
		err = unix.Unlinkat(int(s.dir.Fd()), seg.name, 0)
	}
	if err != nil {
		return fmt.Errorf("spool %s: %w", filepath.Join(s.where, seg.name), err)
	}
	return nil
}

// Write queues batch: it returns once the batch is in the spool (fsync'd, on disk),
// or ErrSpoolFull when it does not fit.
func (s *Spool) Write(batch []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("spool %s: closed", s.where)
	}
	rec := appendRecord(nil, s.next, idempotencyKey(), batch)
	n := int64(len(rec))
	if s.size+n > s.opt.Max && s.acked < s.next-1 {
		// A batch larger than the limit is taken when nothing else waits: the spool
		// never holds more than the limit or that one batch.
		return s.refuse(fmt.Errorf("%w: %s: %d batches (%s) wait for delivery, and this one (%s) would pass the limit of %s",
			ErrSpoolFull, s.where, s.next-1-s.acked, size(s.size-s.rd), size(n), size(s.opt.Max)))
	}
	var seg *segment
	if len(s.segs) > 0 {
		seg = s.segs[len(s.segs)-1]
	}
	if seg == nil || seg.bad || seg.size > 0 && seg.size+n > s.segMax {
		var err error
		if seg, err = s.newSegment(s.next); err != nil {
			return err
		}
	}
	_, err := seg.f.WriteAt(rec, seg.size) // after the last whole record, whatever follows
	if err == nil {
		err = unix.Fdatasync(int(seg.f.Fd()))
	}
	if err != nil {
		seg.f.Truncate(seg.size) // the record is not taken: nothing of it may be read
		if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
			return s.refuse(fmt.Errorf("%w: %s: %w", ErrSpoolFull, seg.f.Name(), err))
		}
		return fmt.Errorf("spool %s: %w", seg.f.Name(), err)
	}
	seg.size += n
	s.size += n
	s.next++
	s.full = false
	s.signal()
	return nil
}

// refuse returns err, logging it when it starts an episode of a full spool.
func (s *Spool) refuse(err error) error {
	if !s.full {
		s.full = true
		s.opt.Logf("%v", err)
	}
	return err
}

// signal wakes whoever waits for a change; the caller holds s.mu.
func (s *Spool) signal() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Delivered returns how many of the batches this Spool's Write took have been
// delivered, and whether every batch it holds is (those of an earlier fim included),
// waiting up to wait for that. Batches are delivered in the order they were written.
func (s *Spool) Delivered(wait time.Duration) (delivered uint64, idle bool) {
	deadline := time.Now().Add(wait)
	for {
		s.mu.Lock()
		n := uint64(0)
		if s.acked >= s.base {
			n = s.acked - s.base + 1
		}
		all := s.acked == s.next-1
		ch := s.changed
		s.mu.Unlock()
		left := time.Until(deadline)
		if all || left <= 0 {
			return n, all
		}
		t := time.NewTimer(left)
		select {
		case <-ch:
		case <-t.C:
		case <-s.stop:
		}
		t.Stop()
	}
}

// Backlog returns the batches waiting for delivery and the bytes they take.
func (s *Spool) Backlog() (batches uint64, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next - 1 - s.acked, s.size - s.rd
}

// run delivers the queue, in order, until Close.
func (s *Spool) run() {
	defer close(s.done)
	var failing time.Time // when the current run of failures began
	var told time.Time    // when the backlog was last logged
	retry := s.opt.Retry
	for {
		rec, ok := s.peek()
		if !ok {
			return
		}
		var err error
		if len(rec.data) > 0 {
			if k, isKeyed := s.sink.(keyedSink); isKeyed {
				err = k.writeKeyed(rec.data, rec.key)
			} else {
				err = s.sink.Write(rec.data)
			}
		}
		if err != nil {
			select {
			case <-s.stop:
				return
			default:
			}
			if s.opt.Metrics != nil {
				s.opt.Metrics.Attempted(!failing.IsZero(), err)
			}
			now := time.Now()
			if failing.IsZero() {
				failing, told = now, now
				s.opt.Logf("%v; the batch stays in the spool (%s) and is sent again", err, s.where)
			} else if now.Sub(told) >= time.Minute {
				told = now
				s.mu.Lock()
				n, b := s.next-1-s.acked, s.size-s.rd
				s.mu.Unlock()
				s.opt.Logf("spool %s: delivery failing for %v: %d batches (%s) wait: %v", s.where, now.Sub(failing).Round(time.Second), n, size(b), err)
			}
			t := time.NewTimer(retry)
			select {
			case <-t.C:
			case <-s.stop:
				t.Stop()
				return
			}
			retry = min(retry*2, s.opt.MaxRetry)
			continue
		}
		if s.opt.Metrics != nil && len(rec.data) > 0 {
			s.opt.Metrics.Attempted(!failing.IsZero(), nil)
		}
		if !failing.IsZero() {
			s.mu.Lock()
			n := s.next - 1 - rec.seq
			s.mu.Unlock()
			s.opt.Logf("spool %s: delivering again after %v of failures; %d batches wait", s.where, time.Since(failing).Round(time.Second), n)
			failing, retry = time.Time{}, s.opt.Retry
		}
		if err := s.ack(rec); err != nil {
			s.opt.Logf("%v", err)
			return
		}
	}
}

// peek waits for the next batch to deliver and reads it; it returns false once the
// Spool is closed.
func (s *Spool) peek() (record, bool) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return record{}, false
		}
		if len(s.segs) > 0 && s.rd == s.segs[0].size && len(s.segs) > 1 {
			if err := s.dropHead(); err != nil {
				s.opt.Logf("%v", err)
			}
			s.mu.Unlock()
			continue
		}
		if len(s.segs) > 0 && s.rd < s.segs[0].size {
			rec, err := s.read()
			s.mu.Unlock()
			if err != nil {
				s.opt.Logf("%v", err)
				return record{}, false
			}
			return rec, true
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-s.stop:
			return record{}, false
		}
	}
}

// read reads the record at s.rd in the head segment; the caller holds s.mu.
func (s *Spool) read() (record, error) {
	seg := s.segs[0]
	var head [recordHead]byte
	if _, err := seg.f.ReadAt(head[:], s.rd); err != nil {
		return record{}, fmt.Errorf("spool %s: %w", seg.f.Name(), err)
	}
	n := recordHead + int64(binary.BigEndian.Uint32(head[12:16]))
	if s.rd+n > seg.size {
		return record{}, fmt.Errorf("spool %s: offset %d: record runs past the end", seg.f.Name(), s.rd)
	}
	buf := make([]byte, n)
	if _, err := seg.f.ReadAt(buf, s.rd); err != nil {
		return record{}, fmt.Errorf("spool %s: %w", seg.f.Name(), err)
	}
	rec, _, err := parseRecord(buf)
	if err != nil {
		return record{}, fmt.Errorf("spool %s: offset %d: %w", seg.f.Name(), s.rd, err)
	}
	return rec, nil
}

// ack notes that rec was delivered: in the cursor file, fsync'd, then in memory.
func (s *Spool) ack(rec record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if s.cursor != nil {
		c := appendCursor(nil, rec.seq)
		if _, err := s.cursor.WriteAt(c, 0); err != nil {
			return fmt.Errorf("spool %s: %w", s.cursor.Name(), err)
		}
		if err := unix.Fdatasync(int(s.cursor.Fd())); err != nil {
			return fmt.Errorf("spool %s: %w", s.cursor.Name(), err)
		}
	}
	s.acked = rec.seq
	s.rd += int64(recordHead + len(rec.data))
	if seg := s.segs[0]; s.rd == seg.size {
		if len(s.segs) > 1 {
			if err := s.dropHead(); err != nil {
				return err
			}
		} else if err := seg.f.Truncate(0); err == nil {
			// Everything is delivered: the segment starts again from nothing.
			s.size -= seg.size
			seg.size, s.rd = 0, 0
		}
	}
	s.signal()
	return nil
}

// Close stops delivering, waiting up to StopWait for a delivery under way to give up,
// and closes the destination. What is not delivered stays in a spool on disk for the
// next fim that opens it (in memory, it is lost).
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	left := s.next - 1 - s.acked
	s.mu.Unlock()
	err := s.sink.Close() // ends an HTTP attempt under way
	t := time.NewTimer(s.opt.StopWait)
	select {
	case <-s.done:
	case <-t.C:
		s.opt.Logf("spool %s: the destination did not give up a delivery within %v; fim stops without it", s.where, s.opt.StopWait)
	}
	t.Stop()
	if left > 0 {
		where := "stay in the spool (" + s.where + ") for the next fim watch"
		if s.dir == nil {
			where = "are lost: the spool is in memory"
		}
		s.opt.Logf("%d batches not delivered %s", left, where)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeFiles()
	return err
}

// closeFiles closes what the spool holds open; the caller holds s.mu, or is the only
// user.
func (s *Spool) closeFiles() {
	for _, seg := range s.segs {
		s.opt.Release(seg.f)
		seg.f.Close()
	}
	s.segs = nil
	if s.cursor != nil {
		s.opt.Release(s.cursor)
		s.cursor.Close()
		s.cursor = nil
	}
	if s.dir != nil {
		s.dir.Close() // and the lock with it
		s.dir = nil
	}
}

// keyedSink is a Sink that sends a key with each batch (http: Idempotency-Key).
type keyedSink interface {
	writeKeyed(batch []byte, key string) error
}

// size formats a byte count.
func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// A record is one batch in a segment:
//
//	0   4   "FIMS"
//	4   8   sequence number, big-endian, from 1, increasing through the spool
//	12  4   length of the batch, big-endian
//	16  38  Idempotency-Key: a version 4 UUID, lower-case, in double quotes
//	54  4   CRC-32C of bytes 4 to 54 and of the batch, big-endian
//	58      the batch
type record struct {
	seq  uint64
	key  string
	data []byte
}

const (
	recordHead  = 58
	recordMagic = "FIMS"
	maxBatch    = 1 << 30 // a record says no more: a length past it is damage
	cursorSize  = 16
	cursorMagic = "FIMC"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errShortRecord says the bytes end inside a record.
var errShortRecord = errors.New("record cut short")

// appendRecord appends the record of a batch to b.
func appendRecord(b []byte, seq uint64, key string, batch []byte) []byte {
	start := len(b)
	b = append(b, recordMagic...)
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.BigEndian.AppendUint32(b, uint32(len(batch)))
	b = append(b, key...)
	sum := crc32.Update(crc32.Checksum(b[start+4:], castagnoli), castagnoli, batch)
	b = binary.BigEndian.AppendUint32(b, sum)
	return append(b, batch...)
}

// parseRecord reads the record at the start of b, and returns it and its length. It
// accepts only what appendRecord writes; errShortRecord says b ends inside it.
func parseRecord(b []byte) (record, int, error) {
	if len(b) < recordHead {
		if len(b) < len(recordMagic) && string(b) != recordMagic[:len(b)] {
			return record{}, 0, errors.New("not a record")
		}
		return record{}, 0, errShortRecord
	}
	if string(b[:4]) != recordMagic {
		return record{}, 0, errors.New("not a record")
	}
	seq := binary.BigEndian.Uint64(b[4:12])
	n := binary.BigEndian.Uint32(b[12:16])
	key := string(b[16:54])
	if seq == 0 || n > maxBatch || !validKey(key) {
		return record{}, 0, errors.New("damaged record header")
	}
	if len(b)-recordHead < int(n) {
		return record{}, 0, errShortRecord
	}
	data := b[recordHead : recordHead+int(n)]
	sum := crc32.Update(crc32.Checksum(b[4:54], castagnoli), castagnoli, data)
	if sum != binary.BigEndian.Uint32(b[54:58]) {
		return record{}, 0, errors.New("checksum mismatch")
	}
	return record{seq: seq, key: key, data: data}, recordHead + int(n), nil
}

// validKey reports whether k is a quoted version 4 UUID as idempotencyKey makes it.
func validKey(k string) bool {
	if len(k) != 38 || k[0] != '"' || k[37] != '"' || k[15] != '4' || !strings.ContainsAny(k[20:21], "89ab") {
		return false
	}
	for i := 1; i < 37; i++ {
		c := k[i]
		switch i {
		case 9, 14, 19, 24:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// The cursor file holds "FIMC", the sequence number of the last batch delivered
// (big-endian) and a CRC-32C of the two.
func appendCursor(b []byte, seq uint64) []byte {
	start := len(b)
	b = append(b, cursorMagic...)
	b = binary.BigEndian.AppendUint64(b, seq)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// parseCursor reads a cursor file's content.
func parseCursor(b []byte) (uint64, error) {
	if len(b) != cursorSize || string(b[:4]) != cursorMagic ||
		crc32.Checksum(b[:12], castagnoli) != binary.BigEndian.Uint32(b[12:]) {
		return 0, errors.New("damaged")
	}
	return binary.BigEndian.Uint64(b[4:12]), nil
}
