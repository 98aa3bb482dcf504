package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"fim/check"
	"fim/config"
	"fim/diff"
	"fim/internal/sdnotify"
	"fim/metrics"
	"fim/output"
	"fim/watch"
)

func watchCommand() *cli.Command {
	return &cli.Command{
		Name:         "watch",
		Usage:        "report changes as they happen (fanotify, else inotify, plus a periodic rescan)",
		ArgsUsage:    "[PATH...]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			configFlag, dbFlag, workersFlag, maxReadRateFlag(), niceFlag, ioClassFlag,
			&cli.StringFlag{Name: "backend", Value: "auto", Usage: "auto, fanotify, fsnotify or periodic"},
			&cli.DurationFlag{Name: "interval", Value: 5 * time.Minute, Usage: "rescan everything this often (0: never, except with --backend periodic)"},
			reportFormatFlag, outputFlag, redactFlag, minSeverityFlag,
			&cli.IntFlag{Name: "batch-size", Value: 500, Usage: "deliver at most `N` events at once"},
			&cli.DurationFlag{Name: "batch-timeout", Value: time.Second, Usage: "deliver what has gathered after this long"},
			&cli.IntFlag{Name: "queue-events", Value: watch.DefaultQueuedEvents, Usage: "the kernel's event queue for fim holds `N` events (more when the system's fs.*.max_queued_events is higher; 0: the system's)"},
			&cli.DurationFlag{Name: "dedup-window", Value: 2 * time.Second, Usage: "fold repeats of one event on one path within this window into one, with a count (0: off)"},
			&cli.StringSliceFlag{Name: "ignore", Usage: "attributes not to compare, e.g. mtime,ctime"},
			&cli.GenericFlag{Name: "update", Value: &updateMode{}, Usage: "keep the baseline database current as events arrive; --update=explained takes in only the changes the package manager explains, and a check goes on reporting the others"},
			&cli.DurationFlag{Name: "update-every", Value: 10 * time.Second, Usage: "with --update, rewrite the baseline at most this often (and on exit)"},
			&cli.StringFlag{Name: "spool", Usage: "keep batches not yet delivered in `DIR` (default: DB.spool beside the baseline; in memory without one)"},
			&cli.StringFlag{Name: "spool-max", Value: "256MiB", Usage: "the most the spool holds, e.g. 64MiB; when full, changes are found again by a rescan once it is delivered"},
			signFlag, noProvenanceFlag,
			&cli.BoolFlag{Name: "no-process", Usage: "do not name the process that made each change: fim reads nothing of other processes in /proc"},
			&cli.StringFlag{Name: "listen", Usage: "serve Prometheus metrics at /metrics and the watch's health at /healthz on `ADDR` (HOST:PORT)"},
			&cli.IntFlag{Name: "max-events-per-minute", Usage: "deliver at most `N` events a minute; past it, one rate_limited event says how many were held back, and a rescan at the minute's end reports their changes (0: no limit)"},
			&cli.DurationFlag{Name: "heartbeat", Usage: "deliver a heartbeat event this often, with the baseline's digest, the entries and the marks in force (0: none)"},
		},
		Action: runWatch, // which applies --nice and --io-class once the configuration's are known
	}
}

func runWatch(c *cli.Context) error {
	paths := c.Args().Slice()
	// A baseline named on the command line says what to watch, unless --config does:
	// the default config file is for a watch that names neither.
	named := c.IsSet("db") || os.Getenv("FIM_DB") != ""
	cfg, err := loadConfig(c, len(paths) == 0 && !named)
	if err != nil {
		return err
	}
	given := givenReloadable(c) // before the configuration's
	if err := applySettings(c, cfg); err != nil {
		return err
	}
	if err := applyPriority(c); err != nil {
		return err
	}
	extraIgnore, err := ignoreFlag(c)
	if err != nil {
		return err
	}
	// The baseline is the state to compare with when one is named, or when nothing
	// else says what to watch; otherwise watch starts from what it sees.
	var db string
	if named || len(paths) == 0 && cfg == nil || updating(c) {
		if db, err = dbPath(c, cfg); err != nil {
			return err
		}
	}
	lis, err := listen(c)
	if err != nil {
		return err
	}
	if lis != nil {
		defer lis.l.Close()
	}
	spoolMax, err := config.ParseSize(c.String("spool-max"))
	if err != nil || spoolMax == 0 {
		return usageErr("--spool-max %q: want a size in bytes, e.g. 64MiB", c.String("spool-max"))
	}
	if c.String("sign") != "" && !updating(c) {
		return usageErr("--sign goes with --update (it signs the updated baseline)")
	}
	signer, err := loadSigner(c)
	if err != nil {
		return err
	}
	var warn warnings
	o := check.WatchOptions{Paths: paths, Config: cfg, DB: db, Update: updating(c), Explained: c.String("update") == "explained", Signer: signer, Stamp: stamp(),
		Ignore: extraIgnore, Walker: check.WalkerOptions{Workers: c.Int("workers"), Warn: warn.add, ReadLimit: readLimit(c)}, Logf: logf}
	o.Provenance = provenanceOptions(c)
	wt, err := check.NewWatch(o)
	if err != nil {
		return signerErr(c, db, err)
	}
	defer wt.Close()
	rep, err := newReporter(c, true, check.RootPaths(wt.Compiled), ownFiles(c, db))
	if err != nil {
		return err
	}
	spool, err := output.OpenSpool(rep.Sink, output.SpoolOptions{Dir: cmp.Or(c.String("spool"), check.SpoolDir(db)), Max: spoolMax, Logf: logf, Hold: wt.Hold, Release: wt.Release,
		Metrics: lis.deliveries()})
	if err != nil {
		rep.Close()
		return err
	}
	rep.Sink = spool
	defer rep.Close()
	w := &watch.Watcher{
		Backend:      c.String("backend"),
		Interval:     c.Duration("interval"),
		BatchSize:    c.Int("batch-size"),
		BatchTimeout: c.Duration("batch-timeout"),
		QueuedEvents: check.QueuedEvents(c.Int("queue-events")),
		DedupWindow:  c.Duration("dedup-window"),
		NoProcess:    c.Bool("no-process"),
		FlushEvery:   c.Duration("update-every"),
		Logf:         logf,
		Acked:        spool.Delivered,
		Metrics:      lis.watch(),

		MaxEventsPerMinute: c.Int("max-events-per-minute"),
		Heartbeat:          c.Duration("heartbeat"),
	}
	defer lis.serve(c, w, spool)()
	sd, err := sdnotify.FromEnv()
	if err != nil {
		return &exitError{exitRuntime, err}
	}
	defer sd.Close()
	var status string
	w.Ready = func(roots, backends string) {
		status = "STATUS=watching " + roots + " (" + backends + ")"
		if err := sd.Send("READY=1", status); err != nil {
			logf("%v", err)
		}
	}
	defer sd.Serve(c.Context, w.Health, logf)()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	rescan, retune := w.Rescans(), w.Retunes()
	// reread reads the configuration again and returns what of it to apply, or nil.
	reread := func() func() {
		if c.String("config") == config.Stdin {
			logf("reload: the configuration came on standard input, which has nothing more to read: the configuration in force stays")
			return nil
		}
		again, err := loadConfig(c, len(paths) == 0 && !named)
		if err != nil {
			logf("reload: %v: the configuration in force stays", err)
			return nil
		}
		apply, err := wt.Reconfigure(again, func(next *config.Config) (map[string]any, error) {
			fs, err := flagDefaults(c)
			if err != nil {
				return nil, err
			}
			return next.Reloaded(fs, given)
		}, w, rep)
		if err != nil {
			logf("reload: %v: the configuration in force stays", err)
			return nil
		}
		if apply == nil {
			return nil
		}
		return func() {
			apply()
			redacting(rep.Redact)
		}
	}
	// The marks stay in place throughout a reload, so nothing happening meanwhile is lost.
	defer sd.ServeReloads(c.Context, hup, func(ctx context.Context) error {
		if apply := reread(); apply != nil {
			if err := retune(ctx, apply); err != nil {
				return err
			}
		}
		if err := rescan(ctx); err != nil {
			return err // it ends the watch, which says why
		}
		logf("watch: reload: rescanned: ready")
		return nil
	}, func() string { return status }, logf)()
	return wt.Run(c.Context, w, func(events []diff.Event) error {
		if events = rep.Shown(events); len(events) == 0 {
			return nil // nothing of --min-severity in this batch
		}
		err := rep.Emit(events, rep.Info(true, 0))
		if errors.Is(err, output.ErrSpoolFull) {
			return fmt.Errorf("%w: %w", watch.ErrFull, err)
		}
		return err
	})
}

// listener is what --listen serves: nil without it.
type listener struct {
	l   net.Listener
	reg *metrics.Watch
}

// listen binds --listen before anything else is started, so that a port taken fails
// at once.
func listen(c *cli.Context) (*listener, error) {
	addr := c.String("listen")
	if addr == "" {
		return nil, nil
	}
	l, err := metrics.Listen(addr)
	switch {
	case errors.Is(err, metrics.ErrAddress):
		return nil, usageErr("--listen %q: %v", addr, err)
	case err != nil:
		return nil, &exitError{exitRuntime, fmt.Errorf("--listen %s: %w", addr, err)}
	}
	return &listener{l: l, reg: metrics.NewWatch(metrics.Build{Version: version(), Commit: commit()})}, nil
}

func (s *listener) deliveries() output.DeliveryMetrics {
	if s == nil {
		return nil
	}
	return s.reg
}

func (s *listener) watch() watch.Metrics {
	if s == nil {
		return nil
	}
	return s.reg
}

// serve serves the metrics and health of w until the function it returns is called.
func (s *listener) serve(c *cli.Context, w *watch.Watcher, spool *output.Spool) func() {
	if s == nil {
		return func() {}
	}
	s.reg.ReadMarks(w.Marks, spool.Backlog)
	ctx, stop := context.WithCancel(c.Context)
	done := make(chan struct{})
	go func() {
		defer close(done)
		metrics.Serve(ctx, s.l, s.reg, w.Health, logf)
	}()
	return func() {
		stop()
		<-done
	}
}
