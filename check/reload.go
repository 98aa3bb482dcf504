package check

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"fim/config"
	"fim/diff"
	"fim/internal/sdnotify"
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

// ServiceOptions say how a watch reads its configuration again on SIGHUP (Serve).
type ServiceOptions struct {
	// ConfigFile is what the configuration was read from: config.Stdin has nothing more
	// to read, and a reload keeps the configuration in force.
	ConfigFile string
	// Load reads the configuration again.
	Load func() (*config.Config, error)
	// Defaults returns the flags of fim watch, each at its default, and Given the
	// values the command line gives them, by flag name: the values of the keys a reload
	// sets are the next configuration's Reloaded with them (Reconfigure).
	Defaults func() (*flag.FlagSet, error)
	Given    map[string]any
	// Redacting is told the roots --redact keeps once a reload is applied (nil: none).
	Redacting func(roots []string)
}

// Serve runs w as a service until the function it returns is called. It tells the
// service manager that started fim ($NOTIFY_SOCKET, internal/sdnotify) READY=1 with a
// STATUS= naming the roots and backends once w is ready, pets its watchdog while w is
// healthy and says STOPPING=1 once ctx ends. On SIGHUP it reads the configuration
// again, puts in force in w and rep what a running watch takes (Reconfigure) and
// rescans; the marks stay in place throughout a reload, so nothing happening meanwhile
// is lost. A SIGHUP before w is ready is served once it is, and one after stop is
// ignored. A rescan that fails ends the watch, which says why. Call it before Run.
func (wt *Watch) Serve(ctx context.Context, w *watch.Watcher, rep *Reporter, o ServiceOptions) (stop func(), err error) {
	sd, err := sdnotify.FromEnv()
	if err != nil {
		return nil, err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	rescan, retune := w.Rescans(), w.Retunes()
	reload := func(ctx context.Context) error {
		if apply := wt.reread(w, rep, o); apply != nil {
			if err := retune(ctx, apply); err != nil {
				return err
			}
		}
		if err := rescan(ctx); err != nil {
			return err
		}
		wt.logf("watch: reload: rescanned: ready")
		return nil
	}
	// Reloads are served from the time w is ready: a SIGHUP before waits in hup, so
	// that the service manager hears neither RELOADING=1 nor READY=1 before the watch
	// is ready.
	var mu sync.Mutex
	stopped, stopReloads := false, func() {}
	w.Ready = func(roots, backends string) {
		status := "STATUS=watching " + roots + " (" + backends + ")"
		if err := sd.Send("READY=1", status); err != nil {
			wt.logf("%v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			stopReloads = sd.ServeReloads(ctx, hup, reload, func() string { return status }, wt.logf)
		}
	}
	stopNotify := sd.Serve(ctx, w.Health, wt.logf)
	return func() {
		mu.Lock()
		stopped = true
		stopReloads()
		mu.Unlock()
		// From here on a SIGHUP is ignored, not left to its default, which would end
		// fim while what follows Serve closes the reporter and the spool.
		signal.Ignore(syscall.SIGHUP)
		signal.Stop(hup)
		stopNotify()
		sd.Close()
	}, nil
}

// reread reads the configuration again and returns what of it to apply, or nil.
func (wt *Watch) reread(w *watch.Watcher, rep *Reporter, o ServiceOptions) func() {
	if o.ConfigFile == config.Stdin {
		wt.logf("reload: the configuration came on standard input, which has nothing more to read: the configuration in force stays")
		return nil
	}
	next, err := o.Load()
	if err != nil {
		wt.logf("reload: %v: the configuration in force stays", err)
		return nil
	}
	apply, err := wt.Reconfigure(next, func(next *config.Config) (map[string]any, error) {
		fs, err := o.Defaults()
		if err != nil {
			return nil, err
		}
		return next.Reloaded(fs, o.Given)
	}, w, rep)
	if err != nil {
		wt.logf("reload: %v: the configuration in force stays", err)
		return nil
	}
	if apply == nil {
		return nil
	}
	return func() {
		apply()
		if o.Redacting != nil {
			o.Redacting(rep.Redact)
		}
	}
}
