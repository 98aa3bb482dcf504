package metrics

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fim/diff"
	"fim/internal/fstest"
)

var build = Build{Version: "1.2.3", Commit: "0123abcd"}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestWatchScrape tells a Watch what a watch and its spool do, scrapes it over HTTP,
// checks the exposition with promtool and reads each figure back.
func TestWatchScrape(t *testing.T) {
	m := NewWatch(build)
	m.Handed([]diff.Event{{Kind: diff.Create, Source: "fanotify"}, {Kind: diff.Create, Source: "fanotify"}, {Kind: diff.Remove, Source: "periodic"}})
	m.Handed(nil)
	m.Overflow("fsnotify")
	m.Rescanned("periodic", 2*time.Second, nil)
	m.Rescanned("rescan", time.Second, errors.New("stopped"))
	m.Entries(42)
	m.Queued(3, 7)
	m.Attempted(false, errors.New("refused"))
	m.Attempted(true, errors.New("refused"))
	m.Attempted(true, nil)
	m.Attempted(false, nil)
	m.ReadMarks(func() map[string]int { return map[string]int{"fanotify": 2} }, func() (uint64, int64) { return 5, 1000 })
	srv := httptest.NewServer(Handler(m, func() error { return nil }))
	defer srv.Close()
	code, text := get(t, srv.URL+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	fstest.PromCheck(t, text)
	mfs := fstest.PromFamilies(t, text)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"fim_build_info", []string{"version=1.2.3", "commit=0123abcd"}, 1},
		{"fim_events_total", []string{"kind=create", "source=fanotify"}, 2},
		{"fim_events_total", []string{"kind=remove", "source=periodic"}, 1},
		{"fim_events_total", []string{"kind=move", "source=start"}, 0},
		{"fim_watch_overflows_total", []string{"backend=fsnotify"}, 1},
		{"fim_rescan_duration_seconds", []string{"source=periodic"}, 1},
		{"fim_rescan_duration_seconds", []string{"source=rescan"}, 1},
		{"fim_rescan_failures_total", []string{"source=rescan"}, 1},
		{"fim_baseline_entries", nil, 42},
		{"fim_watch_pending_events", nil, 3},
		{"fim_watch_queued_notifications", nil, 7},
		{"fim_delivery_batches_total", nil, 2},
		{"fim_delivery_failures_total", nil, 2},
		{"fim_delivery_retries_total", nil, 2},
		{"fim_watch_marks", []string{"backend=fanotify"}, 2},
		{"fim_watch_marks", []string{"backend=fsnotify"}, 0},
		{"fim_spool_batches", nil, 5},
		{"fim_spool_bytes", nil, 1000},
	} {
		if got := fstest.PromValue(t, mfs, c.name, c.labels...); got != c.want {
			t.Errorf("%s{%s} = %v, want %v", c.name, strings.Join(c.labels, ","), got, c.want)
		}
	}
	now := float64(time.Now().Unix())
	for _, name := range []string{"fim_last_event_timestamp_seconds", "fim_last_rescan_success_timestamp_seconds"} {
		if got := fstest.PromValue(t, mfs, name); got < now-60 || got > now+1 {
			t.Errorf("%s = %v, want about %v", name, got, now)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if mfs[name] == nil {
			t.Errorf("no %s: the Go and process collectors are not registered", name)
		}
	}
}

// TestHealthz checks the answers of /healthz: 200 and ok, or 503 and the reason.
func TestHealthz(t *testing.T) {
	var why atomic.Pointer[error]
	srv := httptest.NewServer(Handler(NewWatch(build), func() error {
		if p := why.Load(); p != nil {
			return *p
		}
		return nil
	}))
	defer srv.Close()
	for _, c := range []struct {
		err  error
		code int
		body string
	}{
		{nil, 200, "ok\n"},
		{errors.New("marks lost: /w"), 503, "unhealthy: marks lost: /w\n"},
		{nil, 200, "ok\n"},
	} {
		if c.err != nil {
			why.Store(&c.err)
		} else {
			why.Store(nil)
		}
		code, body := get(t, srv.URL+"/healthz")
		if code != c.code || string(body) != c.body {
			t.Errorf("health %v: %d %q, want %d %q", c.err, code, body, c.code, c.body)
		}
	}
}

// TestListen checks the two ways a bind fails: an address that is not one, and a port
// that is taken.
func TestListen(t *testing.T) {
	for _, addr := range []string{"9464", "localhost", "127.0.0.1:http-alt-nonesuch", "[::1:9464"} {
		if l, err := Listen(addr); !errors.Is(err, ErrAddress) {
			if l != nil {
				l.Close()
			}
			t.Errorf("Listen(%q): %v, want ErrAddress", addr, err)
		}
	}
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = Listen(l.Addr().String())
	if err == nil || errors.Is(err, ErrAddress) || err.Error() != "bind: address already in use" {
		t.Errorf("Listen on a taken port: %v, want bind: address already in use", err)
	}
	var _ net.Listener = l
}

// TestWriteFile writes the textfile of a check and of a baseline, checks each with
// promtool and reads the figures back.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	events := []diff.Event{{Kind: diff.Create}, {Kind: diff.Change}, {Kind: diff.Change}}
	for _, c := range []struct {
		run  Run
		want map[string]float64
	}{
		{Run{Command: "check", Took: 1500 * time.Millisecond, Entries: 7, Events: events, Warns: 1},
			map[string]float64{"fim_run_duration_seconds": 1.5, "fim_baseline_entries": 7, "fim_run_warnings": 1, "fim_build_info": 1}},
		{Run{Command: "baseline", Took: time.Second, Entries: 9},
			map[string]float64{"fim_run_duration_seconds": 1, "fim_baseline_entries": 9, "fim_run_warnings": 0, "fim_build_info": 1}},
	} {
		path := filepath.Join(dir, c.run.Command+".prom")
		if err := WriteFile(path, build, c.run); err != nil {
			t.Fatal(err)
		}
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fstest.PromCheck(t, text)
		mfs := fstest.PromFamilies(t, text)
		for name, want := range c.want {
			if got := fstest.PromValue(t, mfs, name, "command="+c.run.Command); got != want {
				t.Errorf("%s: %s = %v, want %v", c.run.Command, name, got, want)
			}
		}
		if c.run.Command == "check" {
			for kind, want := range map[string]float64{"create": 1, "change": 2, "remove": 0} {
				if got := fstest.PromValue(t, mfs, "fim_run_events", "command=check", "kind="+kind); got != want {
					t.Errorf("fim_run_events{kind=%s} = %v, want %v", kind, got, want)
				}
			}
		} else if mfs["fim_run_events"] != nil {
			t.Errorf("baseline writes fim_run_events")
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v, %v: want mode 0644", path, st.Mode(), err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 2 {
		t.Errorf("files left in the directory: %q, want the two textfiles", left)
	}
	if err := WriteFile(filepath.Join(dir, "no", "such.prom"), build, Run{Command: "check"}); err == nil || !strings.Contains(err.Error(), "metrics file "+dir) {
		t.Errorf("a file in a missing directory: %v, want an error naming it", err)
	}
}

// TestWriteFileAtomic reads the textfile over and over while it is rewritten: every
// read sees a whole file, each family there.
func TestWriteFileAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fim.prom")
	run := Run{Command: "check", Events: make([]diff.Event, 100)}
	if err := WriteFile(path, build, run); err != nil {
		t.Fatal(err)
	}
	families := len(fstest.PromFamilies(t, must(os.ReadFile(path))))
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			text, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("read: %v", err)
				return
			}
			if n := len(fstest.PromFamilies(t, text)); n != families {
				t.Errorf("a read saw %d families of %d:\n%s", n, families, text)
				return
			}
			reads.Add(1)
		}
	}()
	for i := range 300 {
		run.Entries = uint64(i)
		if err := WriteFile(path, build, run); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if reads.Load() == 0 {
		t.Fatal("no read ran while the file was rewritten")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
