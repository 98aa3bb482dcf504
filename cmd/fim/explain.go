package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"fim/check"
	"fim/internal/cmdline"
)

func explainCommand() *cli.Command {
	return &cli.Command{
		Name:      "explain",
		Usage:     "say whether a path is monitored, and which rule and limit decide it",
		ArgsUsage: "PATH",
		Description: `Says whether a walk records PATH and why: the configured path (rule) that governs
it, with its file and line when the options come from --config, or else which limit
leaves it out: outside every configured path, an exclude pattern (named), a hidden name,
max_depth, a symlink not followed, another filesystem; and for what is recorded,
whether a file is hashed or too large (max_file_size), whether a directory is entered,
which events are reported there and which attributes ignored, whether a file keeps a
copy of its content for diffs (content_diff) and what keeps it from one, and the severity rules
that can grade its events (the built-in ones and the configuration's). The decision is
the walk's own.

The options are --config's if given, else those the baseline was made with (--db,
$FIM_DB, the default database). The baseline's record of PATH is shown too, unless
only --config is given. Under a root (--root at baseline time), PATH is a recorded
path, relative to the root.

Exit status: 0 if PATH is monitored (recorded when it exists; its creation reported
when it does not), 1 if it is not, 16 on a usage error, 17 if the baseline is
unusable.`,
		OnUsageError: cmdline.OnUsageError,
		Flags:        []cli.Flag{configFlag, dbFlag},
		Action:       runExplain,
	}
}

func runExplain(c *cli.Context) error {
	if c.Args().Len() != 1 {
		return cmdline.Usagef("explain takes one PATH")
	}
	var warn warnings
	o := check.ExplainOptions{Config: c.String("config"), ReadDB: c.IsSet("db")}
	o.Warn = warn.add
	if o.Config == "" || o.ReadDB { // with --config, only --db names a baseline to read
		var err error
		if o.DB, err = check.DBPath(c.String("db"), nil); err != nil {
			return err
		}
	}
	ex, err := check.Explain(c.Context, c.Args().First(), o)
	if err != nil {
		return err
	}
	if err := ex.WriteText(os.Stdout, o); err != nil {
		return fmt.Errorf("write explanation: %w", err)
	}
	if !ex.Monitored {
		return &exitError{code: 1}
	}
	return nil
}
