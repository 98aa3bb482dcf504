package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"fim/check"
	"fim/internal/cmdline"
	"fim/provenance"
)

func verifyPackagesCommand() *cli.Command {
	return &cli.Command{
		Name:         "verify-packages",
		Usage:        "check the files of installed packages against the digests their packages recorded, without a baseline",
		ArgsUsage:    "[PATH...]",
		OnUsageError: cmdline.OnUsageError,
		Flags: []cli.Flag{
			rootFlag, workersFlag, reportFormatFlag, outputFlag, redactFlag,
			&cli.StringFlag{Name: "db", Usage: "a baseline of the tree made with --package-digests: a file as it recorded, which matched its package then, is not read again"},
		},
		Action: runVerifyPackages,
	}
}

func runVerifyPackages(c *cli.Context) error {
	root := c.String("root")
	paths, err := check.RecordedPaths(c.Args().Slice(), root != "") // under --root, recorded paths
	if err != nil {
		return err
	}
	rep, err := newReporter(c, false, paths, ownFiles(c, c.String("db")))
	if err != nil {
		return err
	}
	defer rep.Close()
	var warned int
	o := provenance.VerifyOptions{Root: root, Paths: paths, Workers: c.Int("workers"),
		Logf: func(format string, args ...any) { warned++; logf(format, args...) }}
	events, err := check.VerifyPackages(c.Context, c.String("db"), o)
	if errors.Is(err, check.ErrPackages) {
		return cmdline.Usagef("--root: %v", err)
	}
	if err != nil {
		return err
	}
	if err := rep.Emit(events, rep.Info(false, warned)); err != nil {
		return err
	}
	return eventsExit(events, false)
}
