package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"fim/check"
	"fim/internal/cmdline"
	"fim/mtree"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write a baseline as a BSD mtree specification",
		Description: `Writes what the baseline recorded as an mtree specification, one line per entry
in full-path form. By default each file carries its BLAKE3 hash as the keyword
blake3digest, which fim --from-mtree reads back but stock mtree refuses; with --sha256
every file is read again under the baseline's root (or --root), its BLAKE3 checked
against the baseline, and a sha256digest written instead, so that
"mtree -e -f SPEC -p ROOT" verifies the tree.`,
		OnUsageError: cmdline.OnUsageError,
		Flags: []cli.Flag{
			configFlag, dbFlag, rootFlag, verifyFlag, maxAgeFlag, minGenerationFlag,
			&cli.StringFlag{Name: "format", Value: "mtree", Usage: "specification format: mtree"},
			&cli.BoolFlag{Name: "sha256", Usage: "read the files again and write sha256digest, for stock mtree"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` (replaced atomically, mode 0600) instead of stdout"},
		},
		Action: runExport,
	}
}

func runExport(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return cmdline.Usagef("export takes no argument")
	}
	if f := c.String("format"); f != "mtree" {
		return cmdline.Usagef("--format: unknown format %q (want mtree)", f)
	}
	_, db, err := check.ConfigAndDB(c.String("config"), c.String("db"))
	if err != nil {
		return err
	}
	if out := c.String("output"); out != "-" {
		if err := ownFiles(c, db).Refuse("output", out); err != nil {
			return err
		}
	}
	r, _, err := openBaseline(c, db, check.OpenOptions{})
	if err != nil {
		return err
	}
	defer r.Close()
	var root string // the tree --sha256 reads again, found as check finds it
	if c.Bool("sha256") {
		if root, err = r.TreeRoot(c.String("root")); err != nil {
			return err
		}
	}
	var warn warnings
	opt := mtree.WriteOptions{SHA256: c.Bool("sha256"), Root: root, Warn: warn.add}
	return check.Export(r, os.Stdout, c.String("output"), opt)
}
