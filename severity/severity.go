// Package severity grades events: a table of rules, each a set of conditions on an
// event (its path, its kind, the attributes that changed, what the entry gained, the
// package verdict) and either a level the event is raised to or a level it is capped
// at. The table is built from the configuration (config.Compiled.Severity, which holds
// fim's built-in rules with the configuration's overrides); this package only
// evaluates it.
//
// Contracts:
//   - An event's severity is the highest level of the raising rules that match it
//     (info when none does), then lowered to the lowest cap of the capping rules that
//     match it. Its reasons are the names of the rules that decided it: the raising
//     rules at that highest level, in table order, then the caps that lowered it.
//   - A rule's conditions all hold for a match; within one condition, any listed value
//     does. An absent condition holds for every event.
//   - A path condition matches the event's path or, for a rename or move, its old path.
//   - What an entry gained is judged against its recorded state at the old path for a
//     rename or move, and against nothing for a create: a new setuid file gained setuid.
//   - Evaluation does no I/O.
package severity

import (
	"fmt"
	"slices"
	"strings"

	"fim/diff"
	"fim/tree"
)

// Matcher matches a recorded path (a compiled glob).
type Matcher interface{ Match(string) bool }

// Path is one pattern of a rule's path condition, with the literal text every path it
// matches starts and ends with: most paths are ruled out by those before the pattern
// runs.
type Path struct {
	Matcher
	Text           string // the pattern as written
	prefix, suffix string
}

// NewPath returns the Path of a glob (config.CompileGlob) compiled from text.
func NewPath(m Matcher, text string) Path {
	p := Path{Matcher: m, Text: text}
	if strings.IndexByte(text, '\\') >= 0 {
		return p // an escape: no literal ends worked out
	}
	p.prefix, p.suffix = text, text
	if i := strings.IndexAny(text, "*?[{"); i >= 0 {
		p.prefix = text[:i]
	}
	if i := strings.LastIndexAny(text, "*?]}"); i >= 0 {
		p.suffix = text[i+1:]
	}
	return p
}

// Match reports whether the pattern matches s.
func (p *Path) Match(s string) bool {
	return strings.HasPrefix(s, p.prefix) && strings.HasSuffix(s, p.suffix) && p.Matcher.Match(s)
}

// Rule is one compiled rule.
type Rule struct {
	Name     string
	Paths    []Path       // none: any path
	Kinds    diff.KindSet // 0: any kind
	Changed  diff.AttrSet // 0: no condition; else any of these changed
	Gained   []Gain       // none: no condition; else any of these was gained
	Verdicts []string     // none: no condition; else the event's verdict is one of these
	Level    diff.Severity
	Max      diff.Severity // a cap instead of a level when set
}

// Table is an ordered list of compiled rules.
type Table struct {
	Rules []Rule
}

// Gain is something an entry can have now that it did not have before: a property
// of its mode, its xattrs or its place.
type Gain uint8

// The gains.
const (
	GainSetuid        Gain = iota // the setuid bit, on a file or directory
	GainSetgid                    // the setgid bit
	GainCapability                // a security.capability xattr (file capabilities)
	GainWorldWritable             // write permission for others, on anything but a symlink
	GainExecutable                // a regular file with an execute bit, new at its path or newly executable
	numGains
)

// gains is the gain table: a name and whether an entry has it.
var gains = [numGains]struct {
	name string
	has  func(e *tree.Entry) bool
}{
	GainSetuid:        {"setuid", func(e *tree.Entry) bool { return e.Mode&0o4000 != 0 }},
	GainSetgid:        {"setgid", func(e *tree.Entry) bool { return e.Mode&0o2000 != 0 }},
	GainCapability:    {"capability", func(e *tree.Entry) bool { return hasXattr(e, "security.capability") }},
	GainWorldWritable: {"world_writable", func(e *tree.Entry) bool { return e.Type != tree.TypeSymlink && e.Mode&0o002 != 0 }},
	GainExecutable:    {"executable", func(e *tree.Entry) bool { return e.Type == tree.TypeFile && e.Mode&0o111 != 0 }},
}

func (g Gain) String() string {
	if g < numGains {
		return gains[g].name
	}
	return fmt.Sprintf("gain(%d)", uint8(g))
}

// GainNames lists the names of the gains.
func GainNames() []string {
	out := make([]string, numGains)
	for i := range gains {
		out[i] = gains[i].name
	}
	return out
}

// ParseGain is the inverse of Gain.String.
func ParseGain(s string) (Gain, error) {
	for i := range gains {
		if gains[i].name == s {
			return Gain(i), nil
		}
	}
	return 0, fmt.Errorf("unknown gain %q (want one of %s)", s, strings.Join(GainNames(), ", "))
}

// Verdicts are the verdict names a rule may name: provenance's, and tampered (a
// package's own record of the file altered), which a package database check may give.
var Verdicts = []string{"match", "listed", "removed", "database", "script", "mismatch", "tampered", "conffile", "unowned", "unknown", "missing"}

func hasXattr(e *tree.Entry, name string) bool {
	for i := range e.Xattrs {
		if e.Xattrs[i].Name == name {
			return true
		}
	}
	return false
}

// gained reports whether the event's entry gained g: it has it now and did not have it
// at this path before (a create, rename or move is new at its path).
func gained(ev *diff.Event, g Gain) bool {
	if ev.After == nil || !gains[g].has(ev.After) {
		return false
	}
	if ev.Before == nil {
		return true
	}
	if g == GainExecutable && (ev.Kind == diff.Rename || ev.Kind == diff.Move) {
		return true // an executable new at this path
	}
	return !gains[g].has(ev.Before)
}

// Matches reports whether every condition of r holds for ev.
func (r *Rule) Matches(ev *diff.Event) bool {
	if r.Kinds != 0 && !r.Kinds.Has(ev.Kind) {
		return false
	}
	if r.Changed != 0 && ev.Changed&r.Changed == 0 {
		return false
	}
	if len(r.Verdicts) > 0 && !slices.Contains(r.Verdicts, string(ev.Verdict)) {
		return false
	}
	if len(r.Gained) > 0 && !slices.ContainsFunc(r.Gained, func(g Gain) bool { return gained(ev, g) }) {
		return false
	}
	return len(r.Paths) == 0 || r.MatchesPath(ev.Path) || ev.OldPath != "" && r.MatchesPath(ev.OldPath)
}

// MatchesPath reports whether r's path condition holds for p.
func (r *Rule) MatchesPath(p string) bool {
	if len(r.Paths) == 0 {
		return true
	}
	for i := range r.Paths {
		if r.Paths[i].Match(p) {
			return true
		}
	}
	return false
}

// Matching returns the pattern of r's path condition that p matches: "" when r has no
// path condition, ok false when p matches none.
func (r *Rule) Matching(p string) (pattern string, ok bool) {
	if len(r.Paths) == 0 {
		return "", true
	}
	for i := range r.Paths {
		if r.Paths[i].Match(p) {
			return r.Paths[i].Text, true
		}
	}
	return "", false
}

// Describe says what r does and when, but for its paths: "critical if it gained setuid",
// "at most info if the verdict is match, listed or removed".
func (r *Rule) Describe() string {
	var b strings.Builder
	if r.Max != diff.SeverityUnset {
		b.WriteString("at most " + r.Max.String())
	} else {
		b.WriteString(r.Level.String())
	}
	var conds []string
	if r.Kinds != 0 {
		var names []string
		for _, k := range diff.Kinds() {
			if r.Kinds.Has(k) {
				names = append(names, k.String())
			}
		}
		conds = append(conds, "on "+strings.Join(names, ", "))
	}
	if r.Changed != 0 {
		conds = append(conds, "if "+strings.Join(r.Changed.Strings(), " or ")+" changed")
	}
	if len(r.Gained) > 0 {
		var names []string
		for _, g := range r.Gained {
			names = append(names, g.String())
		}
		conds = append(conds, "if it gained "+strings.Join(names, " or "))
	}
	if len(r.Verdicts) > 0 {
		conds = append(conds, "if the verdict is "+strings.Join(r.Verdicts, " or "))
	}
	if len(conds) > 0 {
		b.WriteString(", " + strings.Join(conds, ", "))
	}
	return b.String()
}

// Grade returns the severity of ev and the names of the rules that decided it.
func (t *Table) Grade(ev *diff.Event) (diff.Severity, []string) {
	level := diff.SeverityInfo
	var raisedBy []int
	limit := diff.SeverityCritical
	var cappedBy []int
	for i := range t.Rules {
		r := &t.Rules[i]
		if !r.Matches(ev) {
			continue
		}
		switch {
		case r.Max != diff.SeverityUnset:
			if r.Max < limit {
				limit, cappedBy = r.Max, cappedBy[:0]
			}
			if r.Max == limit {
				cappedBy = append(cappedBy, i)
			}
		case r.Level > level:
			level, raisedBy = r.Level, append(raisedBy[:0], i)
		case r.Level == level:
			raisedBy = append(raisedBy, i)
		}
	}
	reasons := make([]string, 0, len(raisedBy)+len(cappedBy))
	for _, i := range raisedBy {
		reasons = append(reasons, t.Rules[i].Name)
	}
	if limit < level {
		level = limit
		for _, i := range cappedBy {
			reasons = append(reasons, t.Rules[i].Name)
		}
	}
	return level, reasons
}

// Annotate sets the Severity and Reasons of every event.
func (t *Table) Annotate(events []diff.Event) {
	for i := range events {
		events[i].Severity, events[i].Reasons = t.Grade(&events[i])
	}
}
