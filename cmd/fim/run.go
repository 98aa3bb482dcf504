package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"fim/check"
	"fim/config"
	"fim/diff"
	"fim/internal/cmdline"
	"fim/internal/terminal"
	"fim/metrics"
)

var quietFlag = &cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress line and no closing summary on stderr (warnings and errors still go there)"}

// policyFromFlags builds the policy of `fim baseline` from a config file or from PATH
// arguments and the limit flags (check.LoadPolicy).
func policyFromFlags(c *cli.Context) (*config.Policy, *config.Config, error) {
	o := check.PolicyOptions{Paths: c.Args().Slice(), ConfigFile: c.String("config"), Image: imageSource(c) != "",
		StdinImage: c.String("from-tar") == "-" || c.String("from-mtree") == "-", Exclude: c.StringSlice("exclude"), MaxFileSize: c.String("max-file-size"),
		Limits: config.Rule{MaxDepth: c.Int("max-depth"), IncludeHidden: !c.Bool("no-hidden"), FollowSymlinks: c.Bool("follow-symlinks"), ContentDiff: c.Bool("content-diff")}}
	for _, f := range []string{"max-depth", "max-file-size", "no-hidden", "follow-symlinks", "content-diff"} {
		if c.IsSet(f) {
			o.LimitsSet = append(o.LimitsSet, f)
		}
	}
	if c.IsSet("max-entries") {
		o.MaxEntries = new(c.Int("max-entries"))
	}
	if c.IsSet("cross-mounts") {
		o.CrossMounts = new(c.Bool("cross-mounts"))
	}
	if c.IsSet("root") {
		o.Root = new(c.String("root"))
	}
	return check.LoadPolicy(o)
}

func runBaseline(c *cli.Context) error {
	pol, cfg, err := policyFromFlags(c)
	if err != nil {
		return err
	}
	comp, err := pol.Compile()
	if err != nil {
		return &cmdline.UsageError{Err: err}
	}
	db, err := check.DBPath(c.String("db"), cfg)
	if err != nil {
		return err
	}
	if err := ownFiles(c, db).Refuse("metrics-file", c.String("metrics-file")); err != nil {
		return err
	}
	signer, err := check.LoadSigner(c.String("sign"))
	if err != nil {
		return err
	}
	start := time.Now()
	rec, err := check.Create(db, signer)
	if err != nil {
		return err
	}
	defer rec.Close()
	rec.Snapshot = provenanceOptions(c)
	var warn warnings
	im, closeImage, err := image(c, &warn)
	if err != nil {
		return err
	}
	defer closeImage()
	pol, src, done, err := rec.Source(c.Context, pol, comp, check.Sources{Walker: walkerOptions(c, pol.Root, pol.MaxEntries, &warn),
		PackageDigests: c.Bool("package-digests"), Logf: logf, Image: im})
	if err != nil {
		return err
	}
	defer done()
	prog := terminal.StartProgress("baseline", rec.Expect, c.Bool("quiet"))
	st, err := rec.Record(c.Context, pol, src, stamp(), prog.Add)
	prog.Finish()
	if err != nil {
		return err
	}
	if err := writeMetrics(c, metrics.Run{Command: "baseline", Took: time.Since(start), Entries: st.Entries, Warns: warn.n}); err != nil {
		return err
	}
	if !c.Bool("quiet") {
		logf("%s", st.Summary(db, time.Since(start), warn.n))
	}
	return nil
}

// writeMetrics writes the figures of a run to --metrics-file, when given.
func writeMetrics(c *cli.Context, r metrics.Run) error {
	if c.String("metrics-file") == "" {
		return nil
	}
	return metrics.WriteFile(c.String("metrics-file"), metrics.Build{Version: version(), Commit: commit()}, r)
}

func runCheck(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return cmdline.Usagef("check takes no PATH: it walks what the baseline recorded")
	}
	extraIgnore, err := check.ParseIgnore(c.StringSlice("ignore"))
	if err != nil {
		return err
	}
	cfg, db, err := check.ConfigAndDB(c.String("config"), c.String("db"))
	if err != nil {
		return err
	}
	sev, err := check.SeverityTable(cfg)
	if err != nil {
		return err
	}
	signer, err := check.UpdateSigner(c.String("sign"), c.Bool("update"))
	if err != nil {
		return err
	}
	k, err := openChecked(c, db, check.OpenOptions{Signer: signer, Replace: c.Bool("update")})
	if err != nil {
		return err
	}
	defer k.Close()
	var warn warnings
	start := time.Now()
	prog := terminal.StartProgress("check", k.Meta().Entries, c.Bool("quiet"))
	o := check.Options{DB: db, Ignore: extraIgnore, Fast: c.Bool("fast"), Walker: walkerOptions(c, k.Root, k.Policy.MaxEntries, &warn), Provenance: k.Provenance,
		Progress: prog.Add, Severity: sev}
	events, meta, err := check.Check(c.Context, k.Baseline, o, stamp(), func(events []diff.Event) error {
		prog.Finish()
		return k.Reporter.Emit(events, k.Reporter.Info(false, warn.n))
	})
	prog.Finish()
	if err != nil {
		return err
	}
	if err := k.Demand.Record(meta.Generation); err != nil {
		return err
	}
	if err := writeMetrics(c, metrics.Run{Command: "check", Took: time.Since(start), Entries: k.Meta().Entries, Events: k.Reporter.Shown(events), Warns: warn.n}); err != nil {
		return err
	}
	return eventsExit(k.Reporter.Shown(events), c.Bool("explained-ok"))
}

func baselineCommand() *cli.Command {
	return &cli.Command{
		Name:         "baseline",
		Usage:        "walk the paths and store a snapshot of them",
		ArgsUsage:    "[PATH...]",
		OnUsageError: cmdline.OnUsageError,
		Flags: []cli.Flag{
			configFlag, dbFlag, rootFlag, workersFlag, maxReadRateFlag(), niceFlag, ioClassFlag,
			&cli.IntFlag{Name: "max-depth", Usage: "levels below each path to record (0: unlimited)"},
			&cli.StringFlag{Name: "max-file-size", Usage: "record larger files without hashing them, e.g. 64MiB (0: unlimited)"},
			&cli.StringSliceFlag{Name: "exclude", Usage: "skip absolute paths matching `GLOB` (repeatable; ** crosses directories; a matching directory is pruned)"},
			&cli.BoolFlag{Name: "no-hidden", Usage: "skip names starting with a dot (recorded by default)"},
			&cli.BoolFlag{Name: "follow-symlinks", Usage: "record what symlinks point to and descend into linked directories"},
			&cli.BoolFlag{Name: "cross-mounts", Usage: "descend into other filesystems"},
			&cli.IntFlag{Name: "max-entries", Usage: "fail rather than record more than `N` entries (0: unlimited)"},
			signFlag, quietFlag, fromTarFlag, fromMtreeFlag, metricsFileFlag,
			&cli.BoolFlag{Name: "no-provenance", Usage: "do not keep which package lists each path beside the baseline (DB.packages), which explains a later remove"},
			&cli.BoolFlag{Name: "package-digests", Usage: "also read the package files against their packages' digests, and record which matched, for fim verify-packages --db to trust while they are unchanged"},
		},
		Before: applyPriority,
		Action: runBaseline,
	}
}

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:         "check",
		Usage:        "walk what the baseline recorded and report the differences",
		OnUsageError: cmdline.OnUsageError,
		Flags: []cli.Flag{
			configFlag, dbFlag, rootFlag, workersFlag, maxReadRateFlag(), niceFlag, ioClassFlag,
			reportFormatFlag, outputFlag, redactFlag,
			&cli.StringSliceFlag{Name: "ignore", Usage: "attributes not to compare, e.g. mtime,ctime,inode,device,nlink"},
			&cli.BoolFlag{Name: "update", Usage: "after reporting, replace the baseline with the current state"},
			&cli.BoolFlag{Name: "fast", Usage: "re-read only files whose device, inode, size, mtime or ctime changed (see README: what --fast trusts)"},
			verifyFlag, maxAgeFlag, minGenerationFlag, generationFileFlag,
			signFlag, quietFlag, noProvenanceFlag, showExplainedFlag, explainedOKFlag, minSeverityFlag, metricsFileFlag,
		},
		Before: applyPriority,
		Action: runCheck,
	}
}
