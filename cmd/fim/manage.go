package main

import (
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"fim/check"
	"fim/config"
	"fim/diff"
	"fim/internal/cmdline"
	"fim/report"
	"fim/walk"
)

// The commands that read baselines without walking, or edit one: diff, list, info
// (here), accept (accept.go) and explain (explain.go).

// entryFormatFlag is --format for a command that prints recorded entries.
func entryFormatFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "format", Value: "text", Usage: "output format: " + strings.Join(report.EntryFormats, " or ") + " (one object per line)"}
}

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "compare two baselines, as check compares a baseline with the filesystem",
		ArgsUsage: "OLD.db NEW.db",
		Description: `Reports what changed from OLD to NEW (say, a golden image's baseline and a
production host's) with the events, formats and exit codes of check: the events and
attributes reported below each path are OLD's options. Paths are compared as recorded,
whatever paths the two baselines were made of. Both are checked against their digests
as they are read; --verify checks both signatures, --max-age both creation times.
Times and host in the report are NEW's; the baseline it names is OLD. With --root DIR,
the directory NEW was taken of, each change says what the package databases under DIR
make of it, as in check.`,
		OnUsageError: cmdline.OnUsageError,
		Flags: []cli.Flag{
			reportFormatFlag, outputFlag, redactFlag,
			&cli.StringSliceFlag{Name: "ignore", Usage: "attributes not to compare, e.g. mtime,ctime,inode,device,nlink"},
			verifyFlag, maxAgeFlag,
			&cli.StringFlag{Name: "root", Usage: "the tree NEW was taken of is under `DIR`: ask its package databases what they make of each change"},
			noProvenanceFlag, showExplainedFlag, explainedOKFlag, minSeverityFlag,
		},
		Action: runDiff,
	}
}

func runDiff(c *cli.Context) error {
	if c.Args().Len() != 2 {
		return cmdline.Usagef("diff takes two baselines: OLD.db NEW.db")
	}
	extraIgnore, err := check.ParseIgnore(c.StringSlice("ignore"))
	if err != nil {
		return err
	}
	oldB, _, err := openBaseline(c, c.Args().Get(0), check.OpenOptions{})
	if err != nil {
		return err
	}
	defer oldB.Close()
	newB, _, err := openBaseline(c, c.Args().Get(1), check.OpenOptions{})
	if err != nil {
		return err
	}
	defer newB.Close()
	rep, err := newReporter(c, false, check.RootPaths(oldB.Compiled), ownFiles(c, c.Args().Get(0), c.Args().Get(1)))
	if err != nil {
		return err
	}
	defer rep.Close()
	info, err := rep.DiffInfo(oldB, newB, c.String("root"))
	if err != nil {
		return err
	}
	o := check.DiffOptions{Ignore: extraIgnore, Root: c.String("root"), Provenance: provenanceOptions(c)}
	events, err := check.Diff(c.Context, oldB, newB, o, func(events []diff.Event) error { return rep.Emit(events, info) })
	if err != nil {
		return err
	}
	return eventsExit(rep.Shown(events), c.Bool("explained-ok"))
}

func listCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "print what a baseline recorded, one entry per line, like ls -l",
		ArgsUsage: "[GLOB]",
		Description: `Prints every recorded entry in key order, or those whose recorded path matches
GLOB ('*' and '?' stop at '/', '**' crosses it: '/etc/**' is everything below /etc).
Text: mode, uid, gid, size, mtime, the first 16 hex digits of the BLAKE3 hash (or why
there is none: unreadable, unstable, too_large) and the path, escaped. json: one object
per line, with the fields of the json report's "file" and the path; a name that is not
valid UTF-8 has its exact bytes in path_b64.`,
		OnUsageError: cmdline.OnUsageError,
		Flags:        []cli.Flag{configFlag, dbFlag, entryFormatFlag()},
		Action:       runList,
	}
}

func runList(c *cli.Context) error {
	if c.Args().Len() > 1 {
		return cmdline.Usagef("list takes at most one GLOB (quote it from the shell)")
	}
	var match walk.Matcher
	if c.Args().Present() {
		g, err := config.CompileGlob(c.Args().First())
		if err != nil {
			return cmdline.Usagef("list: %v", err)
		}
		match = g
	}
	ew, err := report.NewEntryWriter(os.Stdout, c.String("format"))
	if err != nil {
		return &cmdline.UsageError{Err: err}
	}
	_, db, err := check.ConfigAndDB(c.String("config"), c.String("db"))
	if err != nil {
		return err
	}
	err = check.List(c.Context, db, match, ew.Write)
	if ferr := ew.Flush(); err == nil {
		err = ferr
	}
	return err
}

func infoCommand() *cli.Command {
	return &cli.Command{
		Name:  "info",
		Usage: "describe a baseline: when, where and how it was made, its signature, what was accepted into it",
		Description: `Prints the baseline's meta: creation time, generation, host, fim version,
format, entry count, digest, key base, the options it was made with, its signature
status, the history of fim accept, and the file's size. It first reads every record
and checks them and the meta against the digest, and refuses (exit 17) a baseline
check would refuse. With --verify, also checks the signature (and prints what it
found, exit 17 if that fails); --max-age, --min-generation and --generation-file
refuse a stale baseline as check does.`,
		OnUsageError: cmdline.OnUsageError,
		Flags:        append([]cli.Flag{configFlag, dbFlag, entryFormatFlag(), verifyFlag}, freshFlags...),
		Action:       runInfo,
	}
}

func runInfo(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return cmdline.Usagef("info takes no PATH")
	}
	format := c.String("format")
	if !slices.Contains(report.EntryFormats, format) {
		return cmdline.Usagef("unknown format %q (want one of %s)", format, strings.Join(report.EntryFormats, ", "))
	}
	_, d, in, pub, err := describeDB(c, "verify")
	if err != nil {
		return err
	}
	if err := in.Write(os.Stdout, format, pub); err != nil {
		return err
	}
	if in.Verified != nil && !*in.Verified {
		return &exitError{code: exitBaseline}
	}
	return d.Record(in.Generation)
}
