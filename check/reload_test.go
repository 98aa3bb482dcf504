package check

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"fim/config"
	"fim/diff"
	"fim/internal/fstest"
	"fim/watch"
)

// TestReconfigure: a SIGHUP's configuration puts in force the reloadable watch keys
// (the command line still winning) and the configuration's policy, names in a notice
// what needs a restart, and refuses what does not parse; once taken whole, it is what
// the next reload is compared with.
func TestReconfigure(t *testing.T) {
	f := newFixture(t, map[string]string{"a": "a"})
	f.baseline(t)
	paths := fmt.Sprintf("paths:\n  - path: %s\n", f.tree)
	const start = "watch:\n  batch_size: 5\n"
	parse := func(s string) *config.Config {
		c, err := config.Parse("fim.yaml", []byte(s))
		must(t, err)
		return c
	}
	for _, tt := range []struct {
		name, next string
		paths      bool           // the watch is of paths, not of the configuration's policy
		update     bool           // the watch keeps its baseline current
		given      map[string]any // the flags given on the command line
		notice     string         // the last notice
		err        string         // the error, "": none
		applied    bool           // a function to apply came back
		check      func(t *testing.T, wt *Watch, w *watch.Watcher, rep *Reporter)
		whole      bool // the next reload of the same file is unchanged
	}{
		{name: "unchanged", next: paths + start, notice: "reload: the configuration is unchanged", whole: true},
		{name: "retuned", next: paths + "watch:\n  batch_size: 6\n  heartbeat: 1m\n", notice: "reload: applying watch.batch_size, watch.heartbeat",
			applied: true, whole: true, check: func(t *testing.T, wt *Watch, w *watch.Watcher, rep *Reporter) {
				if w.BatchSize != 6 || w.Heartbeat != time.Minute || w.BatchTimeout != time.Second || w.DedupWindow != 2*time.Second {
					t.Errorf("batch size %d, heartbeat %v, timeout %v, dedup %v; want 6, 1m, the defaults 1s and 2s", w.BatchSize, w.Heartbeat, w.BatchTimeout, w.DedupWindow)
				}
			}},
		{name: "command line wins", next: paths + "watch:\n  batch_size: 6\n", given: map[string]any{"batch-size": 9},
			notice: "reload: applying watch.batch_size", applied: true, whole: true, check: func(t *testing.T, wt *Watch, w *watch.Watcher, rep *Reporter) {
				if w.BatchSize != 9 {
					t.Errorf("batch size %d, want the command line's 9", w.BatchSize)
				}
			}},
		{name: "restart", next: paths + start + "  workers: 3\n", notice: "reload: watch.workers changed: fim watch goes on without that change: restart it to apply it"},
		{name: "policy", next: paths + "exclude: [x]\n" + start, notice: "reload: applying exclude", applied: true, whole: true,
			check: func(t *testing.T, wt *Watch, w *watch.Watcher, rep *Reporter) {
				if !slices.Equal(wt.Policy.Exclude, []string{"x"}) {
					t.Errorf("exclude %v in force, want [x]", wt.Policy.Exclude)
				}
			}},
		{name: "policy of paths", next: paths + "exclude: [x]\n" + start, paths: true,
			notice: "reload: exclude changed: fim watch goes on without that change: restart it to apply it"},
		{name: "policy and db", next: "db: /x.db\n" + paths + "exclude: [x]\n" + start, applied: true,
			notice: "reload: applying exclude"},
		{name: "severity and redact", next: paths + "watch:\n  min_severity: high\n  redact: true\n", notice: "reload: applying watch.batch_size, watch.min_severity, watch.redact",
			applied: true, whole: true, check: func(t *testing.T, wt *Watch, w *watch.Watcher, rep *Reporter) {
				if rep.Min != diff.SeverityHigh || !slices.Equal(rep.Redact, []string{f.tree}) || w.BatchSize != 500 {
					t.Errorf("min %v, redact %v, batch size %d; want high, [%s] and the default 500", rep.Min, rep.Redact, w.BatchSize, f.tree)
				}
			}},
		{name: "severity with update", next: paths + start + "  min_severity: high\n", update: true,
			err: "watch.min_severity leaves changes unreported that --update would take into the baseline"},
		{name: "bad severity", next: paths + start + "  min_severity: dire\n", err: "--min-severity: "},
		{name: "bad value", next: paths + "watch:\n  batch_size: many\n", err: `fim.yaml:4: watch.batch_size: invalid value "many" for --batch-size: `},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var notices []string
			o := WatchOptions{Config: parse(paths + start), DB: f.db, Update: tt.update, Logf: func(format string, args ...any) {
				notices = append(notices, fmt.Sprintf(format, args...))
			}}
			if tt.paths {
				o.Paths = []string{f.tree}
			}
			wt, err := NewWatch(o)
			must(t, err)
			defer wt.Close()
			w := &watch.Watcher{BatchSize: 1, BatchTimeout: time.Hour}
			rep := &Reporter{Min: diff.SeverityUnset}
			values := func(next *config.Config) (map[string]any, error) { return next.Reloaded(fstest.WatchFlags(), tt.given) }
			apply, err := wt.Reconfigure(parse(tt.next), values, w, rep)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			must(t, err)
			if len(notices) == 0 || notices[len(notices)-1] != tt.notice {
				t.Errorf("notices %q, want the last %q", notices, tt.notice)
			}
			if (apply != nil) != tt.applied {
				t.Fatalf("something to apply: %v, want %v", apply != nil, tt.applied)
			}
			if apply == nil {
				if w.BatchSize != 1 || w.BatchTimeout != time.Hour || rep.Min != diff.SeverityUnset {
					t.Errorf("nothing to apply, yet the watch changed: %+v, %+v", w, rep)
				}
			} else {
				apply()
			}
			if tt.check != nil {
				tt.check(t, wt, w, rep)
			}
			notices = nil
			if _, err := wt.Reconfigure(parse(tt.next), values, w, rep); err != nil || tt.whole != slices.Contains(notices, "reload: the configuration is unchanged") {
				t.Errorf("the same file again (%v): notices %q; want it unchanged: %v", err, notices, tt.whole)
			}
		})
	}
	t.Run("no configuration", func(t *testing.T) {
		var notices []string
		wt, err := NewWatch(WatchOptions{Paths: []string{f.tree}, DB: f.db, Logf: func(format string, args ...any) { notices = append(notices, fmt.Sprintf(format, args...)) }})
		must(t, err)
		defer wt.Close()
		for _, next := range []*config.Config{nil, parse(paths)} {
			apply, err := wt.Reconfigure(next, nil, &watch.Watcher{}, &Reporter{})
			if apply != nil || err != nil {
				t.Errorf("%v: apply %v, error %v; want neither", next, apply != nil, err)
			}
		}
		want := []string{"reload: the configuration is unchanged",
			"reload: the configuration changed; fim watch goes on with the one it started with: restart it to apply the change"}
		if !slices.Equal(notices, want) {
			t.Errorf("notices %q, want %q", notices, want)
		}
	})
}
