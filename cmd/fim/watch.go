package main

import (
	"flag"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"fim/check"
	"fim/config"
	"fim/internal/cmdline"
	"fim/metrics"
	"fim/watch"
)

func watchCommand() *cli.Command {
	return &cli.Command{
		Name:         "watch",
		Usage:        "report changes as they happen (fanotify, else inotify, plus a periodic rescan)",
		ArgsUsage:    "[PATH...]",
		OnUsageError: cmdline.OnUsageError,
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
			&cli.GenericFlag{Name: "update", Value: &cmdline.BoolOr{Name: "update", Words: []string{"explained"}}, Usage: "keep the baseline database current as events arrive; --update=explained takes in only the changes the package manager explains, and a check goes on reporting the others"},
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
	load := func() (*config.Config, error) { return check.LoadConfig(c.String("config"), len(paths) == 0 && !named) }
	cfg, err := load()
	if err != nil {
		return err
	}
	given := config.Given(c.IsSet, c.Value) // before the configuration's
	if err := cfg.Preset(c.IsSet, c.Set); err != nil {
		return &cmdline.UsageError{Err: err}
	}
	if err := applyPriority(c); err != nil {
		return err
	}
	extraIgnore, err := check.ParseIgnore(c.StringSlice("ignore"))
	if err != nil {
		return err
	}
	// The baseline is the state to compare with when one is named, or when nothing
	// else says what to watch; otherwise watch starts from what it sees.
	var db string
	if named || len(paths) == 0 && cfg == nil || updating(c) {
		if db, err = check.DBPath(c.String("db"), cfg); err != nil {
			return err
		}
	}
	srv, err := metrics.NewServer(c.String("listen"), metrics.Build{Version: version(), Commit: commit()})
	if err != nil {
		return err
	}
	defer srv.Close()
	signer, err := check.UpdateSigner(c.String("sign"), updating(c))
	if err != nil {
		return err
	}
	var warn warnings
	wt, err := check.NewWatch(check.WatchOptions{Paths: paths, Config: cfg, DB: db, Update: updating(c), Explained: c.String("update") == "explained",
		Signer: signer, Stamp: stamp(), Ignore: extraIgnore, Walker: check.WalkerOptions{Workers: c.Int("workers"), Warn: warn.add, ReadLimit: readLimit(c)},
		Provenance: provenanceOptions(c), Logf: logf, SpoolDir: c.String("spool"), SpoolMax: c.String("spool-max")})
	if err != nil {
		return signerErr(c, db, err)
	}
	defer wt.Close()
	rep, err := newReporter(c, true, check.RootPaths(wt.Compiled), ownFiles(c, db))
	if err != nil {
		return err
	}
	defer rep.Close()
	w := &watch.Watcher{Backend: c.String("backend"), Interval: c.Duration("interval"), BatchSize: c.Int("batch-size"), BatchTimeout: c.Duration("batch-timeout"),
		QueuedEvents: check.QueuedEvents(c.Int("queue-events")), DedupWindow: c.Duration("dedup-window"), NoProcess: c.Bool("no-process"),
		FlushEvery: c.Duration("update-every"), Logf: logf, Metrics: srv.Watch(), MaxEventsPerMinute: c.Int("max-events-per-minute"), Heartbeat: c.Duration("heartbeat")}
	spool, err := wt.Spool(rep, w, srv.Deliveries())
	if err != nil {
		return err
	}
	defer srv.Serve(c.Context, w.Marks, spool.Backlog, w.Health, logf)()
	stop, err := wt.Serve(c.Context, w, rep, check.ServiceOptions{ConfigFile: c.String("config"), Redacting: redacting, Load: load, Given: given,
		Defaults: func() (*flag.FlagSet, error) {
			return cmdline.Defaults(func() *cli.Command { return withReportFlags(watchCommand()) })
		}})
	if err != nil {
		return err
	}
	defer stop()
	return wt.Run(c.Context, w, rep.EmitBatch)
}
