package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

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
	var warn warnings
	o := check.ExplainOptions{Config: c.String("config"), ReadDB: c.IsSet("db")}
	o.Warn = warn.add
	if o.Config == "" || o.ReadDB { // with --config, only --db names a baseline to read
		var err error
		if o.DB, err = dbPath(c, nil); err != nil {
			return err
		}
	}
	ex, err := check.Explain(c.Context, c.Args().First(), o)
	if err != nil {
		return err
	}
	var x explainer
	if ex.Rule != nil {
		rule := report.EscapeText(ex.Rule.Path)
		if ex.RuleLine > 0 {
			rule += fmt.Sprintf(" (%s:%d)", report.EscapeText(o.Config), ex.RuleLine)
		} else {
			rule += " (the baseline's options)"
		}
		x.line("rule", "%s", rule)
	}
	if ex.Selected() {
		explainFilesystem(&x, ex)
	} else {
		explainSelection(&x, &ex.Explanation)
	}
	if ex.Monitored {
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
		if ex.Rule != nil && ex.Rule.Growing {
			x.line("growing", "a log: not reported when it only grew, a change of prefix when its beginning was altered")
		}
	}
	if ex.Copy != "" {
		x.line("copy", "%s", ex.Copy)
	}
	explainSeverity(&x, ex)
	if cur := ex.Looked.Entry; cur != nil {
		x.line("now", "%s", report.AppendEntry(nil, cur))
	}
	switch {
	case ex.Recorded != nil:
		x.line("recorded", "%s", report.AppendEntry(nil, ex.Recorded))
	case ex.Baseline:
		x.line("recorded", "nothing, in %s", report.EscapeText(o.DB))
	}
	verdict := "monitored"
	if !ex.Monitored {
		verdict = "not monitored"
	}
	fmt.Fprintf(os.Stdout, "%s: %s\n%s", report.EscapeText(ex.Path), verdict, x.b.String())
	if !ex.Monitored {
		return &exitError{code: 1}
	}
	return nil
}

// explainSeverity says which severity rules can grade an event of the path, one line
// each, in table order: "sudoers: high (path matches '/etc/sudoers.d/**')".
func explainSeverity(x *explainer, ex *check.Explained) {
	for _, r := range ex.Severity {
		line := report.EscapeText(r.Name) + ": " + r.Describe()
		if pattern, _ := r.Matching(ex.Path); pattern != "" {
			line += " (path matches '" + report.EscapeText(pattern) + "')"
		}
		x.line("severity", "%s", line)
	}
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

// explainFilesystem says what the limits that need the filesystem make of a path the
// rules select, as the walk decided (walk.Walker.Look).
func explainFilesystem(x *explainer, ex *check.Explained) {
	root, l := ex.Root, &ex.Looked
	x.line("depth", "%d below %s (max_depth: %s)", ex.Depth, report.EscapeText(root.Path), limit(root.MaxDepth))
	cur, at := l.Entry, report.EscapeText(l.At)
	switch l.Why {
	case walk.Missing:
		x.line("now", "does not exist; its creation would be reported")
		return
	case walk.BelowSymlink:
		x.line("why", "%s is a symlink (follow_symlinks: no): recorded as a link, nothing below it", at)
		return
	case walk.OtherFilesystem:
		x.line("why", "on another filesystem than %s, below the mount point %s (cross_mounts: no)", report.EscapeText(root.Path), at)
		return
	case walk.OwnFile:
		x.line("why", "fim's own file, open now (the baseline or its lock): anything else in its place would be recorded")
		return
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
