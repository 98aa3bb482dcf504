package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"fim/baseline"
	"fim/check"
	"fim/config"
	"fim/diff"
	"fim/report"
	"fim/tree"
	"fim/walk"
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
which events are reported there and which attributes ignored. The decision is the
walk's own.

The options are --config's if given, else those the baseline was made with (--db,
$FIM_DB, the default database). The baseline's record of PATH is shown too, unless
only --config is given. Under a root (--root at baseline time), PATH is a recorded
path, relative to the root.

Exit status: 0 if PATH is monitored (recorded when it exists; its creation reported
when it does not), 1 if it is not, 16 on a usage error, 17 if the baseline is
unusable.`,
		OnUsageError: onUsageError,
		Flags:        []cli.Flag{configFlag, dbFlag},
		Action:       runExplain,
	}
}

// explainer gathers what fim explain prints, one "key: value" line each.
type explainer struct {
	b strings.Builder
}

func (x *explainer) line(key, format string, args ...any) {
	fmt.Fprintf(&x.b, "  %-10s", key+":")
	fmt.Fprintf(&x.b, format, args...)
	x.b.WriteByte('\n')
}

func runExplain(c *cli.Context) error {
	if c.Args().Len() != 1 {
		return usageErr("explain takes one PATH")
	}
	var (
		pol   *config.Policy
		lines map[string]int
		r     *baseline.Reader
		db    string
		err   error
	)
	cfgFile := c.String("config")
	if cfgFile != "" {
		var cfg *config.Config
		if cfg, lines, err = config.LoadLines(cfgFile); err != nil {
			return &exitError{exitUsage, err}
		}
		pol = cfg.Policy()
		if db, err = dbPath(c, cfg); err != nil {
			return err
		}
	} else if db, err = dbPath(c, nil); err != nil {
		return err
	}
	if cfgFile == "" || c.IsSet("db") {
		if r, err = baseline.Open(db); err != nil {
			return err
		}
		defer r.Close()
		if err := r.Validate(); err != nil { // explain reads its meta and one record
			return err
		}
		if pol == nil {
			if pol, _, err = check.Policy(r); err != nil {
				return err
			}
		}
	}
	comp, err := pol.Compile()
	if err != nil {
		return &exitError{exitUsage, err}
	}
	arg := c.Args().First()
	p := tree.CleanPath(arg) // relative to the root
	if pol.Root == "" {
		if p, err = filepath.Abs(arg); err != nil {
			return usageErr("%s: %v", arg, err)
		}
	}
	var warn warnings
	var own []*os.File
	if r != nil {
		own = r.Files()
	}
	wk := walker(c, comp, pol, pol.Root, &warn, own...)
	ex := comp.Explain(wk, p)

	var x explainer
	if ex.Rule != nil {
		rule := report.EscapeText(ex.Rule.Path)
		if line := lines[ex.Rule.Path]; line > 0 {
			rule += fmt.Sprintf(" (%s:%d)", report.EscapeText(cfgFile), line)
		} else {
			rule += " (the baseline's options)"
		}
		x.line("rule", "%s", rule)
	}
	monitored := ex.Selected()
	var cur *tree.Entry
	if monitored {
		cur, monitored, err = explainFilesystem(c, &x, wk, &ex, p)
		if err != nil {
			return err
		}
	} else {
		explainSelection(&x, &ex)
	}
	if monitored {
		events := "all"
		if ex.Events != diff.AllKinds {
			var names []string
			for _, k := range diff.Kinds() {
				if ex.Events.Has(k) {
					names = append(names, k.String())
				}
			}
			events = strings.Join(names, ", ")
		}
		x.line("reports", "%s; ignores: %s", events, orNone(strings.Join(ex.Ignore.Strings(), ", ")))
	}
	if cur != nil {
		x.line("now", "%s", report.AppendEntry(nil, cur))
	}
	if r != nil {
		rec, err := r.Get(p)
		if err != nil {
			return err
		}
		if rec != nil {
			x.line("recorded", "%s", report.AppendEntry(nil, rec))
		} else {
			x.line("recorded", "nothing, in %s", report.EscapeText(db))
		}
	}
	verdict := "monitored"
	if !monitored {
		verdict = "not monitored"
	}
	fmt.Fprintf(os.Stdout, "%s: %s\n%s", report.EscapeText(p), verdict, x.b.String())
	if !monitored {
		return &exitError{code: 1}
	}
	return nil
}

// explainSelection says which limit leaves the path out, as the walker decided.
func explainSelection(x *explainer, ex *config.Explanation) {
	at := report.EscapeText(ex.At)
	switch ex.Reason {
	case walk.ReasonOutside:
		x.line("why", "below no configured path")
	case walk.ReasonBadName:
		x.line("why", "not a clean path")
	case walk.ReasonHidden:
		x.line("why", "%s is hidden (include_hidden: no): not recorded, nor anything below it", at)
	case walk.ReasonTooDeep:
		x.line("why", "%s is %d levels below %s, deeper than max_depth %d", at, ex.Depth,
			report.EscapeText(ex.Root.Path), ex.Root.MaxDepth)
	case walk.ReasonExcluded:
		whose := "the rule's"
		if ex.PolicyExclude {
			whose = "the exclude of every path"
		}
		pattern := "?"
		if s, ok := ex.Pattern.(fmt.Stringer); ok {
			pattern = report.EscapeText(s.String())
		}
		x.line("why", "%s matches exclude pattern '%s' (%s): not recorded, nor anything below it", at, pattern, whose)
	}
}

// explainFilesystem decides, for a path the rules select, what the limits that need the
// filesystem make of it: the walker records (WalkPath) what exists; a symlink or another
// filesystem above it keeps the walk out. It returns the entry a walk records now, if
// any, and whether the path is monitored.
func explainFilesystem(c *cli.Context, x *explainer, wk *walk.Walker, ex *config.Explanation, p string) (*tree.Entry, bool, error) {
	root := ex.Root
	x.line("depth", "%d below %s (max_depth: %s)", ex.Depth, report.EscapeText(root.Path), limit(root.MaxDepth))
	l, err := wk.Look(c.Context, p)
	if err != nil {
		return nil, false, err
	}
	cur, at := l.Entry, report.EscapeText(l.At)
	switch l.Why {
	case walk.Missing:
		x.line("now", "does not exist; its creation would be reported")
		return nil, true, nil
	case walk.BelowSymlink:
		x.line("why", "%s is a symlink (follow_symlinks: no): recorded as a link, nothing below it", at)
		return nil, false, nil
	case walk.OtherFilesystem:
		x.line("why", "on another filesystem than %s, below the mount point %s (cross_mounts: no)", report.EscapeText(root.Path), at)
		return nil, false, nil
	case walk.OwnFile:
		x.line("why", "fim's own file, open now (the baseline or its lock): anything else in its place would be recorded")
		return nil, false, nil
	}
	switch {
	case cur.Type == tree.TypeFile && cur.Flags&tree.FlagTooLarge != 0:
		x.line("content", "%d bytes, more than max_file_size %s: recorded without its hash",
			cur.Size, config.FormatSize(root.MaxFileSize))
	case cur.Type == tree.TypeFile && cur.Hashed():
		x.line("content", "%d bytes, within max_file_size %s: recorded with its hash", cur.Size, limitSize(root.MaxFileSize))
	case cur.Type == tree.TypeFile:
		x.line("content", "not readable now: recorded without its hash")
	case cur.Type == tree.TypeSymlink:
		x.line("symlink", "to %s: recorded as the link itself (follow_symlinks: no)", report.EscapeText(cur.LinkTarget))
	case cur.Type == tree.TypeDir && l.Stop == walk.MountPoint:
		x.line("entered", "no: another filesystem is mounted here (cross_mounts: no); recorded itself")
	case cur.Type == tree.TypeDir && l.Stop == walk.DepthLimit:
		x.line("entered", "no: at max_depth %d; recorded itself", root.MaxDepth)
	case cur.Type == tree.TypeDir:
		x.line("entered", "yes")
	}
	if cur.Type != tree.TypeSymlink && cur.LinkTarget != "" {
		x.line("symlink", "to %s: recorded as what it points to (follow_symlinks: yes)", report.EscapeText(cur.LinkTarget))
	}
	return cur, true, nil
}

func limit(n int) string {
	if n == 0 {
		return "unlimited"
	}
	return fmt.Sprint(n)
}

func limitSize(n int64) string {
	if n == 0 {
		return "unlimited"
	}
	return config.FormatSize(n)
}
