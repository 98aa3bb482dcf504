package check

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"fim/config"
	"fim/diff"
	"fim/watch"
)

// Reconfigure compares the configuration in force with next, the one SIGHUP read
// again, and returns the function that puts in force in w and rep what a running watch
// takes: the keys of the watch mapping in config.Reloadable, with the values values
// gives them by key (config.Config.Reloaded: the command line still wins over a key, a
// key removed takes its flag's default), and, when the watch's policy is its
// configuration's, next's policy (Reload). Call it from a function handed to w's
// Retune. It returns nil when none of those changed.
//
// What it cannot apply it names in a notice (WatchOptions.Logf), and the watch goes on
// without it; once the whole of next is taken, next is the configuration in force that
// the following reload is compared with. A value that does not parse, a policy that
// does not compile, or a min_severity with Update (it would leave changes unreported
// that the update takes in) is an error, and the configuration in force stays.
func (wt *Watch) Reconfigure(next *config.Config, values func(*config.Config) (map[string]any, error), w *watch.Watcher, rep *Reporter) (func(), error) {
	apply, whole, err := wt.reconfigure(next, values, w, rep)
	if err == nil && whole {
		wt.inForce = next
	}
	return apply, err
}

// reconfigure is Reconfigure, and says whether next is taken whole.
func (wt *Watch) reconfigure(next *config.Config, values func(*config.Config) (map[string]any, error), w *watch.Watcher, rep *Reporter) (func(), bool, error) {
	cfg := wt.inForce
	if cfg == nil || next == nil {
		if cfg != next {
			wt.logf("reload: the configuration changed; fim watch goes on with the one it started with: restart it to apply the change")
			return nil, false, nil
		}
		wt.logf("reload: the configuration is unchanged")
		return nil, true, nil
	}
	keys, top := cfg.Changes(next)
	var live, fixed []string
	for _, k := range keys {
		if slices.Contains(config.Reloadable, k) {
			live = append(live, "watch."+k)
		} else {
			fixed = append(fixed, "watch."+k)
		}
	}
	repolicy, err := wt.Reload(next)
	if err != nil {
		return nil, false, err
	}
	for _, k := range top {
		if repolicy != nil && slices.Contains(config.PolicyKeys, k) {
			live = append(live, k)
		} else {
			fixed = append(fixed, k)
		}
	}
	if len(fixed) > 0 {
		wt.logf("reload: %s changed: fim watch goes on without that change: restart it to apply it", strings.Join(fixed, ", "))
	}
	if len(live) == 0 {
		if len(fixed) == 0 {
			wt.logf("reload: the configuration is unchanged")
		}
		return nil, len(fixed) == 0, nil
	}
	v, err := values(next)
	if err != nil {
		return nil, false, err
	}
	minSeverity := diff.SeverityUnset
	if s := v["min_severity"].(string); s != "" {
		if minSeverity, err = diff.ParseSeverity(s); err != nil {
			return nil, false, fmt.Errorf("--min-severity: %w", err)
		}
		if wt.o.Update {
			return nil, false, errors.New("watch.min_severity leaves changes unreported that --update would take into the baseline")
		}
	}
	wt.logf("reload: applying %s", strings.Join(live, ", "))
	return func() {
		if repolicy != nil {
			repolicy(w)
		}
		w.BatchSize, w.BatchTimeout, w.DedupWindow = v["batch_size"].(int), v["batch_timeout"].(time.Duration), v["dedup_window"].(time.Duration)
		w.MaxEventsPerMinute, w.Heartbeat = v["max_events_per_minute"].(int), v["heartbeat"].(time.Duration)
		rep.Min, rep.Redact = minSeverity, nil
		if v["redact"].(bool) {
			rep.Redact = RootPaths(wt.Compiled)
		}
	}, len(fixed) == 0, nil
}
