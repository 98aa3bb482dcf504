package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"fim/check"
	"fim/diff"
	"fim/internal/cmdline"
)

// globList is a repeatable flag whose values are kept whole: a glob's own commas
// ("/etc/{passwd,shadow}") do not split it, as they would in a StringSliceFlag.
type globList []string

func (g *globList) Set(s string) error { *g = append(*g, s); return nil }
func (g *globList) String() string     { return strings.Join(*g, " ") }

func acceptCommand() *cli.Command {
	return &cli.Command{
		Name:  "accept",
		Usage: "walk like check, then accept the selected differences into the baseline",
		Description: `Walks what the baseline recorded, as check does, and writes a new baseline in
which only the selected differences are accepted: their current state replaces the
recorded one (an accepted remove drops the record, an accepted create adds it). Every
other difference keeps its old record, so the next check reports it again.

A difference is selected when it matches a --path (on its path or, for a rename or
move, its old path), a --type and --explained, where those are given. --explained takes
what the package manager explains (see check: provenance): a file whose content is what
its package shipped, and a remove by a package's removal or upgrade; mismatches,
unowned and unknown changes stay in the report. Each line of check's report is
one difference: a removed directory's entries are removes of their own ('/d' and
'/d/**' select them all); an accepted rename or move of a directory takes along what
moved with it unchanged. Without --path, --type or --explained nothing is accepted
(exit 16).

Prints the accepted differences in --format on stdout and, on stderr, how many remain.
Records the user and time in the baseline's accept history (fim info). A signed
baseline needs --sign. The new baseline replaces the old one atomically.

Exit status: 0 when the baseline is written (or nothing matched, and it is left as it
was), 16 on a usage error, 17 if the baseline is unusable, 18 on any other error. The
report is delivered before the baseline is written: when it cannot be (--output fails),
the baseline is left as it was and the exit status is 18.`,
		OnUsageError: cmdline.OnUsageError,
		Flags: []cli.Flag{
			configFlag, dbFlag, rootFlag, workersFlag,
			&cli.GenericFlag{Name: "path", Value: &globList{}, Usage: "accept the differences at recorded paths matching `GLOB` (repeatable; '*' stops at '/', '**' crosses it)"},
			&cli.StringSliceFlag{Name: "type", Usage: "accept the differences of kind `KIND`: create, change, remove, chmod, rename, move (repeatable)"},
			&cli.BoolFlag{Name: "explained", Usage: "accept the differences the package manager explains: content that matches its package, and removes by a package's removal or upgrade"},
			&cli.BoolFlag{Name: "dry-run", Usage: "say what would be accepted; write nothing"},
			reportFormatFlag, outputFlag, redactFlag, noProvenanceFlag, showExplainedFlag,
			&cli.StringSliceFlag{Name: "ignore", Usage: "attributes not to compare, as in check"},
			verifyFlag, maxAgeFlag, minGenerationFlag, generationFileFlag, signFlag,
		},
		Action: runAccept,
	}
}

// selectorFlags reads --path, --type and --explained (check.NewSelector).
func selectorFlags(c *cli.Context) (*check.Selector, []string, error) {
	sel, given, err := check.NewSelector(*c.Generic("path").(*globList), c.StringSlice("type"), c.Bool("explained"))
	if err == nil && sel.Explained && c.Bool("no-provenance") {
		return nil, nil, cmdline.Usagef("--explained needs provenance: drop --no-provenance")
	}
	return sel, given, err
}

func runAccept(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return cmdline.Usagef("accept takes no PATH: select differences with --path GLOB")
	}
	sel, given, err := selectorFlags(c)
	if err != nil {
		return err
	}
	extraIgnore, err := check.ParseIgnore(c.StringSlice("ignore"))
	if err != nil {
		return err
	}
	_, db, err := check.ConfigAndDB(c.String("config"), c.String("db"))
	if err != nil {
		return err
	}
	signer, err := check.LoadSigner(c.String("sign"))
	if err != nil {
		return err
	}
	dry := c.Bool("dry-run")
	k, err := openChecked(c, db, check.OpenOptions{Signer: signer, Replace: !dry})
	if err != nil {
		return err
	}
	defer k.Close()
	var warn warnings
	res, err := check.Accept(c.Context, k.Baseline, check.AcceptOptions{
		Options: check.Options{DB: db, Ignore: extraIgnore, Walker: walkerOptions(c, k.Root, k.Policy.MaxEntries, &warn), Provenance: k.Provenance},
		Select:  sel, Selectors: given, Stamp: stamp(),
		Report: func(accepted []diff.Event) error { return k.Reporter.Emit(accepted, k.Reporter.Info(false, warn.n)) },
	})
	if err != nil {
		return err
	}
	if len(res.Accepted) > 0 && !dry {
		if err := k.Demand.Record(res.Meta.Generation); err != nil {
			return err
		}
	}
	logf("%s", res.Summary(db, dry))
	return nil
}
