package check

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fim/baseline"
	"fim/config"
	"fim/diff"
	"fim/output"
	"fim/watch"
)

// TestWatchPolicy: a watch watches its paths (hidden names included), else the
// configuration's, else what its baseline was made with; a policy that does not
// compile is the caller's mistake.
func TestWatchPolicy(t *testing.T) {
	f := newFixture(t, map[string]string{"a": "a"})
	f.baseline(t)
	wd, err := os.Getwd()
	must(t, err)
	for _, c := range []struct {
		name   string
		o      WatchOptions
		want   string // the first rule's path; "": refused
		hidden bool
	}{
		{"paths", WatchOptions{Paths: []string{"x/y"}, DB: f.db}, filepath.Join(wd, "x/y"), true},
		{"config", WatchOptions{Config: &config.Config{Rules: []config.Rule{{Path: "/etc"}}}, DB: f.db}, "/etc", false},
		{"baseline", WatchOptions{DB: f.db}, f.tree, true},
		{"no baseline", WatchOptions{DB: filepath.Join(f.dir, "missing.db")}, "", false},
		{"relative config path", WatchOptions{Config: &config.Config{Rules: []config.Rule{{Path: "etc"}}}}, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			wt, err := NewWatch(c.o)
			if c.want == "" {
				if err == nil {
					wt.Close()
					t.Fatal("a watch of nothing to watch started")
				}
				return
			}
			must(t, err)
			defer wt.Close()
			if r := wt.Policy.Rules[0]; r.Path != c.want || r.IncludeHidden != c.hidden {
				t.Errorf("rule %+v, want path %s, hidden %v", r, c.want, c.hidden)
			}
		})
	}
	var oe *OptionError
	if _, err := NewWatch(WatchOptions{Config: &config.Config{Rules: []config.Rule{{Path: "etc"}}}}); !errors.As(err, &oe) {
		t.Errorf("a policy that does not compile: %v, want an OptionError", err)
	}
}

// runWatch runs a periodic watch of wt until its first batch (the comparison of the
// baseline with the tree as the watch starts) is reported, and returns that batch.
func runWatch(t *testing.T, wt *Watch) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- wt.Run(ctx, &watch.Watcher{Backend: "periodic", Interval: time.Hour, BatchTimeout: 10 * time.Millisecond}, func(events []diff.Event) error {
			for _, ev := range events {
				if ev.Source != watch.SourceStart {
					t.Errorf("%s: source %q, want %q", ev.Path, ev.Source, watch.SourceStart)
				}
				got = append(got, ev.Kind.String()+" "+ev.Path[len(wt.Policy.Rules[0].Path):])
			}
			cancel()
			return nil
		})
	}()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(time.Minute):
		t.Fatal("no batch in a minute")
	}
	slices.Sort(got)
	return got
}

// TestWatchRun: a watch compares its baseline with the tree as it starts, as check
// does, leaving out the files fim holds (a spool's).
func TestWatchRun(t *testing.T) {
	f := newFixture(t, map[string]string{"a": "a", "b": "b"})
	f.db = filepath.Join(f.dir, "fim.db") // outside the tree
	f.baseline(t)
	write(t, f.tree+"/a", "changed")
	write(t, f.tree+"/c", "new")
	write(t, f.tree+"/spool", "fim's own")
	wt, err := NewWatch(WatchOptions{DB: f.db})
	must(t, err)
	defer wt.Close()
	spool, err := os.Open(f.tree + "/spool")
	must(t, err)
	defer spool.Close()
	wt.Hold(spool)
	want := []string{"change /a", "create /c"}
	if got := runWatch(t, wt); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestWatchUpdate: an update of a signed baseline needs the key to sign its successor;
// with it, the baseline watch writes carries on the generation count, is signed, stamped
// and has the key base of the watch's policy.
func TestWatchUpdate(t *testing.T) {
	_, key, err := ed25519.GenerateKey(nil)
	must(t, err)
	f := newFixture(t, map[string]string{"a": "a"})
	f.db = filepath.Join(f.dir, "fim.db")
	f.signedBaseline(t, key, 4, time.Now().UTC())
	write(t, f.tree+"/a", "changed")

	if wt, err := NewWatch(WatchOptions{DB: f.db, Update: true}); !errors.Is(err, ErrNeedsSigner) {
		if err == nil {
			wt.Close()
		}
		t.Fatalf("update without a key: %v, want ErrNeedsSigner", err)
	}
	wt, err := NewWatch(WatchOptions{DB: f.db, Update: true, Signer: key, Stamp: Stamp{Version: "v9", Host: "here"}})
	must(t, err)
	defer wt.Close()
	if got := runWatch(t, wt); !slices.Equal(got, []string{"change /a"}) {
		t.Errorf("events %q", got)
	}
	r, err := baseline.Open(f.db)
	must(t, err)
	defer r.Close()
	m := r.Meta()
	if m.Generation != 5 || m.FimVersion != "v9" || m.Host != "here" || m.KeyBase != KeyBase(f.comp) {
		t.Errorf("meta: generation %d, version %q, host %q, key base %q", m.Generation, m.FimVersion, m.Host, m.KeyBase)
	}
	must(t, r.VerifySignature(key.Public().(ed25519.PublicKey)))
}

// TestOpenReplaceSigned: a signed baseline is replaced only by one signed too.
func TestOpenReplaceSigned(t *testing.T) {
	_, key, err := ed25519.GenerateKey(nil)
	must(t, err)
	f := newFixture(t, map[string]string{"a": "a"})
	f.signedBaseline(t, key, 1, time.Now().UTC())
	b, err := Open(f.db, OpenOptions{Replace: true})
	if !errors.Is(err, ErrNeedsSigner) {
		if err == nil {
			b.Close()
		}
		t.Fatalf("replaced without a key: %v, want ErrNeedsSigner", err)
	}
	b, err = Open(f.db, OpenOptions{Replace: true, Signer: key})
	must(t, err)
	b.Close()
}

// TestWatchContentDiffs: a watch gives the events of content_diff files their diffs,
// as check does: those of the comparison as it starts against the baseline's copies,
// and those of a later look against the copies it read itself. With --update the
// baseline it writes keeps the copies current, with its key: a check afterwards shows
// the diff from what the watch last saw, and the carried files keep theirs.
func TestWatchContentDiffs(t *testing.T) {
	f := contentDiffFixture(t, config.Rule{})
	f.db = filepath.Join(f.dir, "fim.db") // outside the tree
	f.baseline(t)
	write(t, f.tree+"/etc/ssh/sshd_config", "Port 22\nPermitRootLogin yes\nPasswordAuthentication no\nUsePAM yes\n")
	write(t, f.tree+"/etc/new.conf", "fresh\n")
	must(t, os.Remove(f.tree+"/etc/gone.conf"))
	wt, err := NewWatch(WatchOptions{DB: f.db, Update: true})
	must(t, err)
	defer wt.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	batches := make(chan map[string]diff.Event, 4)
	rescan := make(chan func(error))
	done := make(chan error, 1)
	go func() {
		w := &watch.Watcher{Backend: "periodic", Interval: time.Hour, BatchTimeout: 10 * time.Millisecond, Rescan: rescan}
		done <- wt.Run(ctx, w, func(events []diff.Event) error {
			got := map[string]diff.Event{}
			for _, ev := range events {
				got[strings.TrimPrefix(ev.Path, f.tree)] = ev
			}
			batches <- got
			return nil
		})
	}()
	next := func() map[string]diff.Event {
		t.Helper()
		select {
		case b := <-batches:
			return b
		case err := <-done:
			t.Fatalf("watch ended: %v", err)
		case <-time.After(time.Minute):
			t.Fatal("no batch in a minute")
		}
		return nil
	}
	diffs := func(b map[string]diff.Event, want map[string]string) {
		t.Helper()
		for p, d := range want {
			if got := b[p].Diff; got != d {
				t.Errorf("%s: diff\n%s\nwant\n%s", p, got, d)
			}
		}
	}
	first := next()
	diffs(first, map[string]string{
		"/etc/ssh/sshd_config": "@@ -1,4 +1,4 @@\n Port 22\n-PermitRootLogin no\n+PermitRootLogin yes\n PasswordAuthentication no\n UsePAM yes\n",
		"/etc/new.conf":        "@@ -0,0 +1 @@\n+fresh\n",
		"/etc/gone.conf":       "@@ -1 +0,0 @@\n-last line\n",
	})

	write(t, f.tree+"/etc/ssh/sshd_config", "Port 22\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nUsePAM yes\n")
	write(t, f.tree+"/etc/new.conf", "fresh\nsecond\n")
	ran := make(chan error, 1)
	rescan <- func(err error) { ran <- err }
	must(t, <-ran)
	diffs(next(), map[string]string{
		"/etc/ssh/sshd_config": "@@ -1,4 +1,4 @@\n Port 22\n-PermitRootLogin yes\n+PermitRootLogin prohibit-password\n PasswordAuthentication no\n UsePAM yes\n",
		"/etc/new.conf":        "@@ -1 +1,2 @@\n fresh\n+second\n",
	})
	cancel()
	must(t, <-done)

	write(t, f.tree+"/etc/ssh/sshd_config", "Port 22\nPermitRootLogin no\nPasswordAuthentication no\nUsePAM yes\n")
	write(t, f.tree+"/etc/app.conf", "user=app\npassword=hunter2\nport=9090\n")
	events, warnings := f.diffs(t)
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	diffs(events, map[string]string{
		"/etc/ssh/sshd_config": "@@ -1,4 +1,4 @@\n Port 22\n-PermitRootLogin prohibit-password\n+PermitRootLogin no\n PasswordAuthentication no\n UsePAM yes\n",
	})
	if d := events["/etc/app.conf"].Diff; !strings.Contains(d, "\n password=[redacted: ") || !strings.Contains(d, "-port=8080\n+port=9090\n") {
		t.Errorf("app.conf, carried by the update: diff\n%s\nwant the port, the password as context", d)
	}
}

// TestQueuedEvents: --queue-events' default asks for at least it, 0 for the system's
// queue, any other length for itself.
func TestQueuedEvents(t *testing.T) {
	for _, c := range []struct{ flag, want int }{
		{watch.DefaultQueuedEvents, 0}, {0, -1}, {-5, -1}, {1, 1}, {16384, 16384}, {watch.DefaultQueuedEvents + 1, watch.DefaultQueuedEvents + 1},
	} {
		if got := QueuedEvents(c.flag); got != c.want {
			t.Errorf("--queue-events %d: QueuedEvents %d, want %d", c.flag, got, c.want)
		}
	}
}

// TestWatchSpool: a watch's spool is kept beside its baseline (DB.spool) unless told
// where, takes the reporter's output and tells the watcher of each batch delivered; a
// size it cannot hold is refused before anything is opened.
func TestWatchSpool(t *testing.T) {
	f := newFixture(t, map[string]string{"a": "a"})
	f.baseline(t)
	for _, max := range []string{"0", "lots"} {
		_, err := NewWatch(WatchOptions{DB: f.db, SpoolMax: max})
		if want := `--spool-max "` + max + `": want a size in bytes, e.g. 64MiB`; !errors.As(err, new(*OptionError)) || err.Error() != want {
			t.Errorf("SpoolMax %q: %v, want %q", max, err, want)
		}
	}
	for _, dir := range []string{"", filepath.Join(f.dir, "elsewhere")} {
		wt, err := NewWatch(WatchOptions{DB: f.db, SpoolDir: dir, SpoolMax: "64KiB"})
		must(t, err)
		rep, err := NewReporter(ReporterOptions{Format: "json", Output: filepath.Join(f.dir, "report.json"), Color: "never"})
		must(t, err)
		w := &watch.Watcher{}
		spool, err := wt.Spool(rep, w, nil)
		must(t, err)
		if rep.Sink != output.Sink(spool) || w.Acked == nil {
			t.Errorf("spool in %q: the reporter delivers to %T, the watcher's Acked is %p", dir, rep.Sink, w.Acked)
		}
		if _, err := os.Stat(cmp.Or(dir, f.db+".spool")); err != nil {
			t.Errorf("spool in %q: %v", dir, err)
		}
		must(t, rep.Close())
		wt.Close()
	}
}
