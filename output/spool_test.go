package output

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// collecting is an HTTP endpoint that refuses (503) while down is set and otherwise
// stores each batch with its Idempotency-Key, and every key it was sent.
type collecting struct {
	mu      sync.Mutex
	down    bool
	batches []string
	keys    []string // of the stored batches
	tried   map[string]int
}

func newCollecting(t *testing.T) (*collecting, *httptest.Server) {
	c := &collecting{tried: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key := r.Header.Get("Idempotency-Key")
		c.mu.Lock()
		defer c.mu.Unlock()
		c.tried[key]++
		if c.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if slices.Contains(c.keys, key) {
			return // stored already
		}
		c.batches = append(c.batches, string(body))
		c.keys = append(c.keys, key)
	}))
	t.Cleanup(srv.Close)
	return c, srv
}

func (c *collecting) set(down bool) {
	c.mu.Lock()
	c.down = down
	c.mu.Unlock()
}

func (c *collecting) stored() ([]string, []string, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tried := map[string]int{}
	for k, v := range c.tried {
		tried[k] = v
	}
	return slices.Clone(c.batches), slices.Clone(c.keys), tried
}

// fastRetry makes a spool retry quickly.
func fastRetry(opt SpoolOptions) SpoolOptions {
	opt.Retry, opt.MaxRetry = 5*time.Millisecond, 20*time.Millisecond
	return opt
}

func openHTTPSpool(t *testing.T, srv *httptest.Server, opt SpoolOptions) *Spool {
	t.Helper()
	sink, err := Open(srv.URL, Options{Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenSpool(sink, fastRetry(opt))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitDelivered waits until the spool has delivered everything it holds.
func waitDelivered(t *testing.T, s *Spool) uint64 {
	t.Helper()
	for range 1000 {
		if n, idle := s.Delivered(10 * time.Millisecond); idle {
			return n
		}
	}
	t.Fatal("the spool did not deliver its batches")
	return 0
}

// counted counts what a spool tells its DeliveryMetrics.
type counted struct{ taken, failed, retries atomic.Int64 }

func (a *counted) Attempted(retry bool, err error) {
	if retry {
		a.retries.Add(1)
	}
	if err != nil {
		a.failed.Add(1)
	} else {
		a.taken.Add(1)
	}
}

// TestSpoolOutage: batches written while the collector refuses them are delivered
// once it takes them, each once, in order, each with one key on all its attempts; the
// writer is never blocked, in memory and on disk. Its metrics count every attempt the
// collector saw, the backlog while it waits and none after.
func TestSpoolOutage(t *testing.T) {
	for _, where := range []string{"memory", "disk"} {
		t.Run(where, func(t *testing.T) {
			c, srv := newCollecting(t)
			var counts counted
			opt := SpoolOptions{Metrics: &counts}
			if where == "disk" {
				opt.Dir = filepath.Join(t.TempDir(), "spool")
			}
			s := openHTTPSpool(t, srv, opt)
			defer s.Close()
			c.set(true)
			var want []string
			for i := range 20 {
				b := fmt.Sprintf("batch %d\n", i)
				want = append(want, b)
				if err := s.Write([]byte(b)); err != nil {
					t.Fatal(err)
				}
			}
			for {
				if _, _, tried := c.stored(); len(tried) > 0 {
					for _, n := range tried {
						if n > 1 {
							goto retried
						}
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
		retried:
			if n, idle := s.Delivered(0); n != 0 || idle {
				t.Fatalf("Delivered says %d, %v during the outage", n, idle)
			}
			if n, size := s.Backlog(); n != 20 || size < 20*int64(len("batch 10\n")) {
				t.Errorf("Backlog during the outage: %d batches, %d bytes, want 20 and their size", n, size)
			}
			c.set(false)
			if n := waitDelivered(t, s); n != 20 {
				t.Errorf("Delivered says %d, want 20", n)
			}
			if n, size := s.Backlog(); n != 0 || size != 0 {
				t.Errorf("Backlog once delivered: %d batches, %d bytes", n, size)
			}
			got, keys, tried := c.stored()
			sent := 0
			for _, n := range tried {
				sent += n
			}
			// One run of failures: every attempt after its first is a retry, the
			// one that ends it too.
			if taken, failed, retries := counts.taken.Load(), counts.failed.Load(), counts.retries.Load(); taken != 20 || failed != int64(sent-20) || retries != failed {
				t.Errorf("metrics: %d taken, %d failed, %d retries; want 20, %d, %d", taken, failed, retries, sent-20, sent-20)
			}
			if !slices.Equal(got, want) {
				t.Errorf("stored %q, want %q", got, want)
			}
			if len(tried) != 20 || len(keys) != 20 {
				t.Errorf("%d keys sent for 20 batches", len(tried))
			}
			// Delivered in full, the spool starts again from nothing, and goes on.
			if err := s.Write([]byte("after\n")); err != nil {
				t.Fatal(err)
			}
			waitDelivered(t, s)
			if got, _, _ := c.stored(); !slices.Equal(got, append(want, "after\n")) {
				t.Errorf("stored %q after the backlog, want %q", got[len(want):], "after\n")
			}
		})
	}
}

// TestSpoolRestart: what a closed spool did not deliver is delivered by the next,
// first, with the keys it had; a spool in use is refused to another.
func TestSpoolRestart(t *testing.T) {
	c, srv := newCollecting(t)
	dir := filepath.Join(t.TempDir(), "spool")
	c.set(true)
	s := openHTTPSpool(t, srv, SpoolOptions{Dir: dir})
	for i := range 5 {
		if err := s.Write(fmt.Appendf(nil, "old %d\n", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := OpenSpool(stdoutSink{}, SpoolOptions{Dir: dir}); err == nil {
		t.Fatal("a second spool opened the directory in use")
	}
	for {
		if _, _, tried := c.stored(); len(tried) > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.Close()
	_, _, before := c.stored()
	for _, name := range []string{"", "cursor"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]os.FileMode{"": 0o700 | os.ModeDir, "cursor": 0o600}[name]; fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", fi.Name(), fi.Mode(), want)
		}
	}

	c.set(false)
	s = openHTTPSpool(t, srv, SpoolOptions{Dir: dir})
	if err := s.Write([]byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if n := waitDelivered(t, s); n != 1 {
		t.Errorf("Delivered says %d, want 1 (only what this spool took)", n)
	}
	s.Close()
	got, keys, _ := c.stored()
	want := []string{"old 0\n", "old 1\n", "old 2\n", "old 3\n", "old 4\n", "new\n"}
	if !slices.Equal(got, want) {
		t.Errorf("stored %q, want %q", got, want)
	}
	for _, k := range keys[:1] {
		if before[k] == 0 {
			t.Errorf("batch sent after the restart with key %s, not the one it had", k)
		}
	}
	// Delivered in full: nothing is sent again.
	s = openHTTPSpool(t, srv, SpoolOptions{Dir: dir})
	waitDelivered(t, s)
	s.Close()
	if again, _, _ := c.stored(); len(again) != len(want) {
		t.Errorf("a third spool stored %d batches, want none", len(again)-len(want))
	}
}

// TestSpoolFull: a spool refuses what passes its limit, says so once, holds no more
// than the limit on disk, and takes batches again once it has delivered.
func TestSpoolFull(t *testing.T) {
	c, srv := newCollecting(t)
	dir := filepath.Join(t.TempDir(), "spool")
	c.set(true)
	var logs []string
	var mu sync.Mutex
	const limit = 16 << 10
	s := openHTTPSpool(t, srv, SpoolOptions{Dir: dir, Max: limit, Logf: func(f string, a ...any) {
		mu.Lock()
		logs = append(logs, fmt.Sprintf(f, a...))
		mu.Unlock()
	}})
	defer s.Close()
	batch := make([]byte, 1000)
	taken, refused := 0, 0
	for range 40 {
		err := s.Write(batch)
		switch {
		case err == nil:
			taken++
		case errors.Is(err, ErrSpoolFull):
			refused++
		default:
			t.Fatal(err)
		}
	}
	if refused == 0 || taken == 0 {
		t.Fatalf("took %d, refused %d", taken, refused)
	}
	var total int64
	segs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, seg := range segs {
		fi, err := os.Stat(seg)
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
	}
	if total > limit {
		t.Errorf("the spool holds %d bytes, more than its limit %d", total, limit)
	}
	mu.Lock()
	full := 0
	for _, l := range logs {
		if strings.Contains(l, "spool full") {
			full++
		}
	}
	mu.Unlock()
	if full != 1 {
		t.Errorf("said the spool is full %d times, want once: %q", full, logs)
	}
	c.set(false)
	waitDelivered(t, s)
	if got, _, _ := c.stored(); len(got) != taken {
		t.Errorf("stored %d batches, want the %d taken", len(got), taken)
	}
	if err := s.Write(batch); err != nil {
		t.Errorf("after delivery: %v", err)
	}
}

// blockedSink never returns from Write until released.
type blockedSink struct{ release chan struct{} }

func (b blockedSink) Write([]byte) error { <-b.release; return nil }
func (b blockedSink) Close() error       { return nil }

// TestSpoolCloseStalled: Close returns while the destination is stuck in a write it
// cannot interrupt (a standard output nobody reads), and the batch stays spooled.
func TestSpoolCloseStalled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	b := blockedSink{release: make(chan struct{})}
	defer close(b.release)
	s, err := OpenSpool(b, SpoolOptions{Dir: dir, StopWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write([]byte("stuck\n")); err != nil {
		t.Fatal(err)
	}
	s.Delivered(20 * time.Millisecond)
	s.Close()
	c, srv := newCollecting(t)
	s = openHTTPSpool(t, srv, SpoolOptions{Dir: dir})
	waitDelivered(t, s)
	s.Close()
	if got, _, _ := c.stored(); !slices.Equal(got, []string{"stuck\n"}) {
		t.Errorf("stored %q after the restart, want the stuck batch", got)
	}
}

// TestSpoolTorn: a record cut short by a crash is not delivered, and the spool goes
// on after the whole records; a damaged record before the end keeps its segment as
// NAME.bad.
func TestSpoolTorn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	s, err := OpenSpool(blockedSink{release: make(chan struct{})}, SpoolOptions{Dir: dir, StopWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.Close() // makes the directory; the sink never saw a batch
	seg := filepath.Join(dir, "00000000000000000001.log")
	var b []byte
	b = appendRecord(b, 1, idempotencyKey(), []byte("one\n"))
	b = appendRecord(b, 2, idempotencyKey(), []byte("two\n"))

	b = appendRecord(b, 3, idempotencyKey(), []byte("three\n"))
	if err := os.WriteFile(seg, b[:len(b)-3], 0o600); err != nil {
		t.Fatal(err)
	}
	c, srv := newCollecting(t)
	s = openHTTPSpool(t, srv, SpoolOptions{Dir: dir})
	if err := s.Write([]byte("four\n")); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, s)
	s.Close()
	if got, _, _ := c.stored(); !slices.Equal(got, []string{"one\n", "two\n", "four\n"}) {
		t.Errorf("stored %q", got)
	}

	// A flipped byte in a segment that is not the last.
	bad := appendRecord(nil, 10, idempotencyKey(), []byte("ten\n"))
	bad = appendRecord(bad, 11, idempotencyKey(), []byte("eleven\n"))
	bad[len(bad)-2] ^= 1
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000010.log"), bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000012.log"), appendRecord(nil, 12, idempotencyKey(), []byte("twelve\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	s = openHTTPSpool(t, srv, SpoolOptions{Dir: dir})
	waitDelivered(t, s)
	s.Close()
	got, _, _ := c.stored()
	if want := []string{"one\n", "two\n", "four\n", "ten\n", "twelve\n"}; !slices.Equal(got, want) {
		t.Errorf("stored %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "00000000000000000010.log.bad")); err != nil {
		t.Errorf("the damaged segment is not kept: %v", err)
	}
}

// FuzzParseRecord: the record and cursor decoders accept only what their encoders
// write, and never panic.
func FuzzParseRecord(f *testing.F) {
	f.Add(appendRecord(nil, 1, idempotencyKey(), []byte("batch\n")))
	f.Add(appendRecord(nil, 1<<40, idempotencyKey(), nil))
	f.Add(appendCursor(nil, 7))
	f.Add([]byte("FIMS"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if rec, n, err := parseRecord(b); err == nil {
			again := appendRecord(nil, rec.seq, rec.key, rec.data)
			if string(again) != string(b[:n]) {
				t.Fatalf("record %x reads as %+v, which encodes as %x", b[:n], rec, again)
			}
		}
		if seq, err := parseCursor(b); err == nil {
			if again := appendCursor(nil, seq); string(again) != string(b) {
				t.Fatalf("cursor %x reads as %d, which encodes as %x", b, seq, again)
			}
		}
	})
}
