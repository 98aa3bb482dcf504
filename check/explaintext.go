package check

import (
	"fmt"
	"io"
	"strings"

	"fim/config"
	"fim/diff"
	"fim/report"
	"fim/tree"
	"fim/walk"
)

// WriteText writes fim explain's text: "PATH: monitored" or "PATH: not monitored",
// then one indented "key: value" line each for the rule, the limits and the walk's
// decisions, the events reported, the severity rules, and the path's state now and in
// the baseline; o are the options x was explained with. Every path is escaped.
func (x *Explained) WriteText(w io.Writer, o ExplainOptions) error {
	var t explainer
	if x.Rule != nil {
		rule := report.EscapeText(x.Rule.Path)
		if x.RuleLine > 0 {
			rule += fmt.Sprintf(" (%s:%d)", report.EscapeText(o.Config), x.RuleLine)
		} else {
			rule += " (the baseline's options)"
		}
		t.line("rule", "%s", rule)
	}
	if x.Selected() {
		explainFilesystem(&t, x)
	} else {
		explainSelection(&t, &x.Explanation)
	}
	if x.Monitored {
		events := "all"
		if x.Events != diff.AllKinds {
			var names []string
			for _, k := range diff.Kinds() {
				if x.Events.Has(k) {
					names = append(names, k.String())
				}
			}
			events = strings.Join(names, ", ")
		}
		t.line("reports", "%s; ignores: %s", events, orNone(strings.Join(x.Ignore.Strings(), ", ")))
		if x.Rule != nil && x.Rule.Growing {
			t.line("growing", "a log: not reported when it only grew, a change of prefix when its beginning was altered")
		}
	}
	if x.Copy != "" {
		t.line("copy", "%s", x.Copy)
	}
	explainSeverity(&t, x)
	if cur := x.Looked.Entry; cur != nil {
		t.line("now", "%s", report.AppendEntry(nil, cur))
	}
	switch {
	case x.Recorded != nil:
		t.line("recorded", "%s", report.AppendEntry(nil, x.Recorded))
	case x.Baseline:
		t.line("recorded", "nothing, in %s", report.EscapeText(o.DB))
	}
	verdict := "monitored"
	if !x.Monitored {
		verdict = "not monitored"
	}
	_, err := fmt.Fprintf(w, "%s: %s\n%s", report.EscapeText(x.Path), verdict, t.b.String())
	return err
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

// explainSeverity says which severity rules can grade an event of the path, one line
// each, in table order: "sudoers: high (path matches '/etc/sudoers.d/**')".
func explainSeverity(x *explainer, ex *Explained) {
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
func explainFilesystem(x *explainer, ex *Explained) {
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
