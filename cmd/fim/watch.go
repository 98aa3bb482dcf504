package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"fim/baseline"
	"fim/check"
	"fim/config"
	"fim/diff"
	"fim/output"
	"fim/provenance"
	"fim/walk"
	"fim/watch"
)

func watchCommand() *cli.Command {
	return &cli.Command{
		Name:         "watch",
		Usage:        "report changes as they happen (fanotify, else inotify, plus a periodic rescan)",
		ArgsUsage:    "[PATH...]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			configFlag, dbFlag, workersFlag,
			&cli.StringFlag{Name: "backend", Value: "auto", Usage: "auto, fanotify, fsnotify or periodic"},
			&cli.DurationFlag{Name: "interval", Value: 5 * time.Minute, Usage: "rescan everything this often (0: never, except with --backend periodic)"},
			reportFormatFlag, outputFlag, redactFlag,
			&cli.IntFlag{Name: "batch-size", Value: 500, Usage: "deliver at most `N` events at once"},
			&cli.DurationFlag{Name: "batch-timeout", Value: time.Second, Usage: "deliver what has gathered after this long"},
			&cli.IntFlag{Name: "queue-events", Value: watch.DefaultQueuedEvents, Usage: "the kernel's event queue for fim holds `N` events (more when the system's fs.*.max_queued_events is higher; 0: the system's)"},
			&cli.DurationFlag{Name: "dedup-window", Value: 2 * time.Second, Usage: "fold repeats of one event on one path within this window into one, with a count (0: off)"},
			&cli.StringSliceFlag{Name: "ignore", Usage: "attributes not to compare, e.g. mtime,ctime"},
			&cli.BoolFlag{Name: "update", Usage: "keep the baseline database current as events arrive"},
			&cli.DurationFlag{Name: "update-every", Value: 10 * time.Second, Usage: "with --update, rewrite the baseline at most this often (and on exit)"},
			&cli.StringFlag{Name: "spool", Usage: "keep batches not yet delivered in `DIR` (default: DB.spool beside the baseline; in memory without one)"},
			&cli.StringFlag{Name: "spool-max", Value: "256MiB", Usage: "the most the spool holds, e.g. 64MiB; when full, changes are found again by a rescan once it is delivered"},
			signFlag, noProvenanceFlag,
		},
		Action: runWatch,
	}
}

func runWatch(c *cli.Context) error {
	extraIgnore, err := ignoreFlag(c)
	if err != nil {
		return err
	}
	paths := c.Args().Slice()
	// A baseline named on the command line says what to watch, unless --config does:
	// the default config file is for a watch that names neither.
	named := c.IsSet("db") || os.Getenv("FIM_DB") != ""
	cfg, err := loadConfig(c, len(paths) == 0 && !named)
	if err != nil {
		return err
	}
	// The baseline is the state to compare with when one is named, or when nothing
	// else says what to watch; otherwise watch starts from what it sees.
	useDB := named || len(paths) == 0 && cfg == nil
	var db string
	if useDB || c.Bool("update") {
		if db, err = dbPath(c, cfg); err != nil {
			return err
		}
		useDB = true
	}
	var pol *config.Policy
	switch {
	case len(paths) > 0:
		abs := make([]string, len(paths))
		for i, p := range paths {
			if abs[i], err = filepath.Abs(p); err != nil {
				return usageErr("%s: %v", p, err)
			}
		}
		pol = config.NewPolicy(abs, config.Rule{IncludeHidden: true})
	case cfg != nil:
		pol = cfg.Policy()
	default:
		b, err := check.Open(db, check.OpenOptions{}) // the watch validates the whole baseline as it loads it
		if err != nil {
			return err
		}
		pol = b.Policy
		b.Close()
	}
	comp, err := pol.Compile()
	if err != nil {
		return &exitError{exitUsage, err}
	}
	spoolMax, err := config.ParseSize(c.String("spool-max"))
	if err != nil || spoolMax == 0 {
		return usageErr("--spool-max %q: want a size in bytes, e.g. 64MiB", c.String("spool-max"))
	}
	meta, err := newMeta(pol)
	if err != nil {
		return err
	}
	var warn warnings
	wk := walker(c, comp, pol, pol.Root, &warn) // watch adds the baseline's files as it opens them
	if wk.Own == nil {
		wk.Own = &walk.OwnFiles{}
	}
	rep, err := newReporter(c, true, check.RootPaths(comp))
	if err != nil {
		return err
	}
	spoolDir := c.String("spool")
	if spoolDir == "" && db != "" {
		spoolDir = db + ".spool"
	}
	spool, err := output.OpenSpool(rep.sink, output.SpoolOptions{
		Dir:  spoolDir,
		Max:  spoolMax,
		Logf: func(f string, args ...any) { fmt.Fprintf(os.Stderr, "fim: "+f+"\n", args...) },
		Hold: func(f *os.File) {
			if err := wk.Own.Add(f); err != nil {
				fmt.Fprintf(os.Stderr, "fim: %v\n", err)
			}
		},
		Release: wk.Own.Remove,
	})
	if err != nil {
		rep.close()
		return err
	}
	rep.sink = spool
	defer rep.close()
	var dbMeta baseline.Meta // what the baseline says of its package snapshot
	if db != "" {
		if r, err := baseline.Open(db); err == nil {
			dbMeta = r.Meta()
			r.Close()
		}
	}
	prov := annotator(c, pol.Root, db, dbMeta, time.Now())
	if prov != nil {
		defer prov.Close()
		if err := prov.Load(); err != nil {
			warnLine(fmt.Errorf("package provenance: %w", err))
		}
		if f := provenance.OpenSnapshot(db); f != nil {
			defer f.Close()
			if err := wk.Own.Add(f); err != nil {
				warnLine(err)
			}
		}
	}
	var mu sync.Mutex
	w := &watch.Watcher{
		Walker:       wk,
		Filter:       check.Filter(comp, "", "", extraIgnore),
		Backend:      c.String("backend"),
		Interval:     c.Duration("interval"),
		BatchSize:    c.Int("batch-size"),
		BatchTimeout: c.Duration("batch-timeout"),
		QueuedEvents: queuedEvents(c.Int("queue-events")),
		DedupWindow:  c.Duration("dedup-window"),
		Update:       c.Bool("update"),
		FlushEvery:   c.Duration("update-every"),
		Meta:         meta,
		Logf: func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "fim: watch: "+format+"\n", args...)
		},
		Emit: func(events []diff.Event) error {
			mu.Lock()
			defer mu.Unlock()
			if prov != nil {
				events = slices.Clone(events)
				if err := prov.Annotate(events); err != nil {
					warnLine(fmt.Errorf("package provenance: %w", err))
				}
			}
			err := rep.emit(events, rep.info(true, 0))
			if errors.Is(err, output.ErrSpoolFull) {
				return fmt.Errorf("%w: %w", watch.ErrFull, err)
			}
			return err
		},
		Acked: spool.Delivered,
	}
	if useDB {
		w.DB = db
	}
	if c.Bool("update") {
		if w.Signer, err = loadSigner(c); err != nil {
			return err
		}
		w.KeyBase = keyBase(comp)
		if prov != nil {
			w.Packages = packageSnapshots(db, pol.Root, comp)
		}
		if r, err := baseline.Open(db); err == nil {
			signed := r.Signed()
			w.Meta.Accepted = r.Meta().Accepted     // the accept history outlives rewrites
			w.Meta.Generation = r.Meta().Generation // each rewrite is one more
			w.Meta.Packages = r.Meta().Packages     // kept until a new snapshot is sealed
			r.Close()
			if signed && w.Signer == nil {
				return usageErr("%s is signed: --update needs --sign KEYFILE to sign the new baseline", db)
			}
		}
	} else if c.String("sign") != "" {
		return usageErr("--sign goes with --update (it signs the updated baseline)")
	}
	return w.Run(c.Context)
}

// packageSnapshots writes the package snapshot of each baseline watch --update writes
// at db, of the packages under root, when a package database changed since the last
// (provenance.Stamp); nil when none did.
func packageSnapshots(db, root string, comp *config.Compiled) func() (*provenance.PendingSnapshot, error) {
	last := ""
	return func() (*provenance.PendingSnapshot, error) {
		stamp := provenance.Stamp(root)
		if stamp == last {
			return nil, nil
		}
		p, warns, err := check.PackageSnapshot(db, root, comp, nil)
		warnAll(warns, nil)
		if err == nil {
			last = stamp
		}
		return p, err
	}
}

// queuedEvents maps --queue-events to Watcher.QueuedEvents: its default to the
// larger of it and the system's value, 0 to the system's.
func queuedEvents(n int) int {
	switch {
	case n == watch.DefaultQueuedEvents:
		return 0
	case n <= 0:
		return -1
	}
	return n
}
