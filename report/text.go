package report

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"fim/diff"
	"fim/tree"
)

// kindWidth is the width of the kind column: the longest kind name.
const kindWidth = len("create")

// ANSI colours of the kind column.
const (
	ansiReset   = "\x1b[0m"
	ansiRed     = "\x1b[31m"
	ansiGreen   = "\x1b[32m"
	ansiYellow  = "\x1b[33m"
	ansiMagenta = "\x1b[35m"
	ansiCyan    = "\x1b[36m"
)

var kindColors = map[diff.Kind]string{
	diff.Create: ansiGreen,
	diff.Remove: ansiRed,
	diff.Change: ansiYellow,
	diff.Chmod:  ansiCyan,
	diff.Rename: ansiMagenta,
	diff.Move:   ansiMagenta,
}

// Text renders events for people: a summary line with counts per kind, then one line
// per event with a fixed-width kind column, the path ("old → new" for a rename or move)
// and the changed attributes as "attr: old → new". A create shows the type, size, mode,
// owner and hash prefix of the new entry, a remove the same of the removed one.
//
// Times are RFC 3339 in UTC, with nanoseconds when the two sides differ below the
// second; hashes are shortened to their first 16 hex digits; modes read like ls and
// octal ("-rwsr-xr-x (4755)"); devices are "major:minor". Paths, link targets and
// extended attribute names are escaped (see the package doc), so no file name can start
// a line of its own or send a control sequence to the terminal.
//
// When the package databases were asked (see package provenance), the summary counts
// the unexplained changes and those their packages explain, with the packages' changes
// since the baseline; the events come as given (the unexplained first), each tagged
// with its package and verdict, and, unless info.ShowExplained, the explained ones are
// folded into one "package" line per package, after the others.
func Text(w io.Writer, events []diff.Event, info Info) error {
	bw := bufio.NewWriter(w)
	// Write errors are sticky in bufio.Writer and reported by Flush.
	var line []byte
	if !info.Stream {
		line = appendSummary(line, events, info.Warnings, info.Baseline)
		_, _ = bw.Write(line)
	}
	listed, folded := foldExplained(events, info.ShowExplained || !provenanceShown(events))
	for i := range listed {
		line = appendEvent(line[:0], &listed[i], info.Color)
		_, _ = bw.Write(line)
	}
	for _, group := range folded {
		line = appendFolded(line[:0], group)
		_, _ = bw.Write(line)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write text report: %w", err)
	}
	return nil
}

// appendSummary appends the summary line: "fim: 3 changes: 1 create, 1 change,
// 0 remove, 1 chmod, 0 rename, 0 move, 2 warnings; baseline generation 4, made
// 2024-02-29T12:00:00Z" (the baseline part when base names one).
func appendSummary(b []byte, events []diff.Event, warnings int, base Baseline) []byte {
	kinds := diff.Kinds()
	counts := make([]int, len(kinds))
	changes := 0 // notices are not changes
	for i := range events {
		if k := int(events[i].Kind); k < len(counts) {
			counts[k]++
			changes++
		}
	}
	b = append(b, "fim: "...)
	if changes == 0 {
		b = append(b, "no changes"...)
	} else {
		b = appendCount(b, changes, "change", "changes")
		b = append(b, ':')
		if provenanceShown(events) {
			b = append(b, ' ')
			b = appendProvenanceSummary(b, events)
			b = append(b, ';')
		}
		for i, k := range kinds {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(counts[k]), 10)
			b = append(b, ' ')
			b = append(b, k.String()...)
		}
	}
	b = appendSeverityCounts(b, events)
	if warnings > 0 {
		b = append(b, ", "...)
		b = appendCount(b, warnings, "warning", "warnings")
	}
	if base.Generation > 0 {
		b = append(b, "; baseline generation "...)
		b = strconv.AppendUint(b, base.Generation, 10)
		b = append(b, ", made "...)
		b = base.Created.UTC().AppendFormat(b, time.RFC3339)
	}
	return append(b, '\n')
}

// appendSeverityCounts appends how many events there are of each severity present, the
// most severe first: "; 1 critical, 2 low".
func appendSeverityCounts(b []byte, events []diff.Event) []byte {
	var counts [diff.SeverityCritical + 1]int
	for i := range events {
		if s := events[i].Severity; s <= diff.SeverityCritical {
			counts[s]++
		}
	}
	sep := "; "
	for s := diff.SeverityCritical; s > diff.SeverityUnset; s-- {
		if counts[s] > 0 {
			b = append(b, sep...)
			b = strconv.AppendInt(b, int64(counts[s]), 10)
			b = append(b, ' ')
			b = append(b, s.String()...)
			sep = ", "
		}
	}
	return b
}

func appendCount(b []byte, n int, one, many string) []byte {
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ' ')
	if n == 1 {
		return append(b, one...)
	}
	return append(b, many...)
}

// appendEvent appends the line of one event.
func appendEvent(b []byte, ev *diff.Event, color bool) []byte {
	name := ev.Kind.String()
	if c, ok := kindColors[ev.Kind]; ok && color {
		b = append(b, c...)
		b = append(b, name...)
		b = append(b, ansiReset...)
	} else {
		b = append(b, name...)
	}
	for n := len(name); n < kindWidth; n++ {
		b = append(b, ' ')
	}
	b = append(b, "  "...)
	b = appendDetail(b, ev)
	b = append(b, '\n')
	return appendDiff(b, ev.Diff, "    ", "\n")
}

// appendDiff appends an event's content diff, each line after indent, escaped as a
// path is (so no line of the file can pass for a line of the report or drive the
// terminal), and ended with eol.
func appendDiff(b []byte, d, indent, eol string) []byte {
	for d != "" {
		line := d
		if i := strings.IndexByte(d, '\n'); i >= 0 {
			line, d = d[:i], d[i+1:]
		} else {
			d = ""
		}
		b = append(b, indent...)
		b = appendEscaped(b, line)
		b = append(b, eol...)
	}
	return b
}

// appendDetail appends what an event line shows after the kind column: the path ("old →
// new" for a rename or move), what changed, and the origin, all escaped.
func appendDetail(b []byte, ev *diff.Event) []byte {
	if ev.Kind.IsNotice() {
		return appendOrigin(appendNotice(b, ev), ev)
	}
	if ev.OldPath != "" {
		b = appendEscaped(b, ev.OldPath)
		b = append(b, " → "...)
	}
	b = appendEscaped(b, ev.Path)

	switch ev.Kind {
	case diff.Create:
		b = appendState(b, ev.After)
	case diff.Remove:
		b = appendState(b, ev.Before)
	default:
		for i, a := range ev.Changed.List() {
			if i == 0 {
				b = append(b, "  "...)
			} else {
				b = append(b, ", "...)
			}
			b = appendChange(b, a, ev.Before, ev.After)
		}
	}
	b = appendSeverity(appendProvenance(appendOrigin(b, ev), ev), ev)
	if ev.NoDiff != "" {
		b = append(b, "  no_diff: "...)
		b = append(b, ev.NoDiff...)
	}
	return b
}

// appendSeverity appends an event's severity and the rules that decided it:
// "  (critical: setuid-gained)".
func appendSeverity(b []byte, ev *diff.Event) []byte {
	if ev.Severity == diff.SeverityUnset {
		return b
	}
	b = append(b, "  ("...)
	b = append(b, ev.Severity.String()...)
	for i, r := range ev.Reasons {
		if i == 0 {
			b = append(b, ": "...)
		} else {
			b = append(b, ", "...)
		}
		b = appendEscaped(b, r)
	}
	return append(b, ')')
}

// appendOrigin appends what fim watch knows of an event's cause:
// "  [fanotify, by vi[4242] uid 1000, ×3]".
func appendOrigin(b []byte, ev *diff.Event) []byte {
	if ev.Source == "" && ev.Process == nil && ev.Count == 0 {
		return b
	}
	b = append(b, "  ["...)
	b = append(b, ev.Source...)
	if p := ev.Process; p != nil {
		b = append(b, ", by "...)
		for _, w := range ev.Writers[:max(len(ev.Writers)-1, 0)] {
			b = appendWho(b, w)
			b = append(b, " and "...)
		}
		b = appendWho(b, p)
		if p.UID >= 0 {
			b = append(b, " uid "...)
			b = strconv.AppendInt(b, int64(p.UID), 10)
		}
		if p.Gone {
			b = append(b, " (exited)"...)
		}
	}
	if ev.Count > 0 {
		b = append(b, ", ×"...)
		b = strconv.AppendInt(b, int64(ev.Count), 10)
	}
	return append(b, ']')
}

// appendWho appends "name[pid]".
func appendWho(b []byte, p *diff.Process) []byte {
	b = appendEscaped(b, p.Name)
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(p.PID), 10)
	return append(b, ']')
}

// appendState appends what a create or remove shows of an entry.
func appendState(b []byte, e *tree.Entry) []byte {
	if e == nil {
		return b
	}
	b = append(b, "  type: "...)
	b = append(b, e.Type.String()...)
	b = append(b, ", size: "...)
	b = strconv.AppendInt(b, e.Size, 10)
	b = append(b, ", mode: "...)
	b = appendMode(b, e)
	b = append(b, ", owner: "...)
	b = strconv.AppendUint(b, uint64(e.UID), 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(e.GID), 10)
	switch e.Type {
	case tree.TypeFile:
		b = append(b, ", hash: "...)
		b = appendHash(b, e)
	case tree.TypeSymlink:
		b = append(b, ", target: "...)
		b = appendEscaped(b, e.LinkTarget)
	case tree.TypeCharDev, tree.TypeBlockDev:
		b = append(b, ", rdev: "...)
		b = appendDev(b, e.Rdev)
	}
	return b
}

// appendChange appends "attr: old → new" for one changed attribute.
func appendChange(b []byte, a diff.Attr, before, after *tree.Entry) []byte {
	b = append(b, a.String()...)
	b = append(b, ": "...)
	if a.Value() == diff.ValueXattrs {
		return appendXattrChange(b, before, after)
	}
	if before == nil || after == nil {
		return append(b, '?')
	}
	// Times get nanoseconds when the sides differ below the second, so that the two
	// never read the same.
	layout := time.RFC3339
	if a.Value() == diff.ValueTime {
		layout = timePairLayout(int64(a.Number(before)), int64(a.Number(after)))
	}
	b = appendAttr(b, a, before, layout)
	b = append(b, " → "...)
	return appendAttr(b, a, after, layout)
}

// appendAttr appends the readable value of one attribute of e; layout is for times.
func appendAttr(b []byte, a diff.Attr, e *tree.Entry, layout string) []byte {
	switch a.Value() {
	case diff.ValueType:
		return append(b, e.Type.String()...)
	case diff.ValueHash:
		return appendHash(b, e)
	case diff.ValueInt:
		return strconv.AppendInt(b, int64(a.Number(e)), 10)
	case diff.ValueUint:
		return strconv.AppendUint(b, a.Number(e), 10)
	case diff.ValueTime:
		return time.Unix(0, int64(a.Number(e))).UTC().AppendFormat(b, layout)
	case diff.ValueDevice:
		return appendDev(b, a.Number(e))
	case diff.ValueText:
		return appendEscaped(b, a.Text(e))
	case diff.ValueMode:
		return appendMode(b, e)
	}
	return append(b, '?')
}

// timePairLayout is RFC 3339 with nanoseconds if the sub-second parts of two times
// differ, else RFC 3339 to the second.
func timePairLayout(a, b int64) string {
	if time.Unix(0, a).Nanosecond() != time.Unix(0, b).Nanosecond() {
		return timeLayout
	}
	return time.RFC3339
}

// appendHash appends the first 16 hex digits of the content hash, or why there is none.
func appendHash(b []byte, e *tree.Entry) []byte {
	if e.Hashed() {
		return hex.AppendEncode(b, e.Hash[:8])
	}
	b = append(b, '(')
	n := 0
	for _, f := range flagNames {
		if e.Flags&f.flag != 0 && f.flag != tree.FlagXattrsUnreadable {
			if n > 0 {
				b = append(b, ',')
			}
			b = append(b, f.name...)
			n++
		}
	}
	if n == 0 {
		b = append(b, "none"...)
	}
	return append(b, ')')
}

// appendMode appends the mode as ls shows it, then in octal: "-rwsr-xr-x (4755)".
// Setuid, setgid and sticky show in the execute positions, in lower case when the
// execute bit is also set.
func appendMode(b []byte, e *tree.Entry) []byte {
	m := e.Mode
	s := [10]byte{typeChar(e.Type), 'r', 'w', 'x', 'r', 'w', 'x', 'r', 'w', 'x'}
	for i := 0; i < 9; i++ {
		if m&(1<<(8-i)) == 0 {
			s[1+i] = '-'
		}
	}
	specials := [...]struct {
		bit      uint32
		pos      int
		set, off byte
	}{{0o4000, 3, 's', 'S'}, {0o2000, 6, 's', 'S'}, {0o1000, 9, 't', 'T'}}
	for _, sp := range specials {
		if m&sp.bit != 0 {
			if s[sp.pos] == '-' {
				s[sp.pos] = sp.off
			} else {
				s[sp.pos] = sp.set
			}
		}
	}
	b = append(b, s[:]...)
	b = append(b, " ("...)
	b = append(b, octalMode(m)...)
	return append(b, ')')
}

func typeChar(t tree.Type) byte {
	switch t {
	case tree.TypeFile:
		return '-'
	case tree.TypeDir:
		return 'd'
	case tree.TypeSymlink:
		return 'l'
	case tree.TypeFIFO:
		return 'p'
	case tree.TypeSocket:
		return 's'
	case tree.TypeCharDev:
		return 'c'
	case tree.TypeBlockDev:
		return 'b'
	}
	return '?'
}

// appendDev appends a Linux device number as "major:minor".
func appendDev(b []byte, dev uint64) []byte {
	major := (dev>>8)&0xfff | (dev>>32)&^0xfff
	minor := dev&0xff | (dev>>12)&^0xff
	b = strconv.AppendUint(b, major, 10)
	b = append(b, ':')
	return strconv.AppendUint(b, minor, 10)
}

// appendXattrChange appends the names of the extended attributes that were added (+),
// removed (-) or changed (~), in name order. A side whose attributes could not be
// listed is shown as "unreadable" instead.
func appendXattrChange(b []byte, before, after *tree.Entry) []byte {
	unreadable := func(e *tree.Entry) bool { return e == nil || e.Flags&tree.FlagXattrsUnreadable != 0 }
	if unreadable(before) || unreadable(after) {
		b = appendXattrNames(b, before)
		b = append(b, " → "...)
		return appendXattrNames(b, after)
	}
	old := make(map[string][]byte, len(before.Xattrs))
	for _, x := range before.Xattrs {
		old[x.Name] = x.Value
	}
	type mark struct {
		sign byte
		name string
	}
	var marks []mark
	for _, x := range after.Xattrs {
		v, ok := old[x.Name]
		switch {
		case !ok:
			marks = append(marks, mark{'+', x.Name})
		case string(v) != string(x.Value):
			marks = append(marks, mark{'~', x.Name})
		}
		delete(old, x.Name)
	}
	for name := range old {
		marks = append(marks, mark{'-', name})
	}
	if len(marks) == 0 {
		return append(b, "(same)"...)
	}
	slices.SortFunc(marks, func(x, y mark) int {
		switch {
		case x.name < y.name:
			return -1
		case x.name > y.name:
			return 1
		}
		return int(x.sign) - int(y.sign)
	})
	for i, m := range marks {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, m.sign)
		b = appendEscaped(b, m.name)
	}
	return b
}

// appendXattrNames appends the attribute names of one side, "none" or "unreadable".
func appendXattrNames(b []byte, e *tree.Entry) []byte {
	switch {
	case e == nil:
		return append(b, '?')
	case e.Flags&tree.FlagXattrsUnreadable != 0:
		return append(b, "unreadable"...)
	case len(e.Xattrs) == 0:
		return append(b, "none"...)
	}
	for i, x := range e.Xattrs {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendEscaped(b, x.Name)
	}
	return b
}

// appendEscaped appends s with every byte or rune that could forge a line or drive a
// terminal escaped: backslash as \\, newline and tab as \n and \t, other control bytes
// and bytes that are not valid UTF-8 as \xNN, and runes that are not printable (C1
// controls, bidirectional overrides, …) as \uNNNN or \UNNNNNNNN.
func appendEscaped(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\\':
				b = append(b, `\\`...)
			case c == '\n':
				b = append(b, `\n`...)
			case c == '\t':
				b = append(b, `\t`...)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		case !strconv.IsPrint(r):
			if r <= 0xffff {
				b = append(b, `\u`...)
				b = appendHexPadded(b, uint64(r), 4)
			} else {
				b = append(b, `\U`...)
				b = appendHexPadded(b, uint64(r), 8)
			}
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return b
}

func appendHexPadded(b []byte, v uint64, width int) []byte {
	h := strconv.FormatUint(v, 16)
	for n := len(h); n < width; n++ {
		b = append(b, '0')
	}
	return append(b, h...)
}

// EscapeText returns s escaped as the text report escapes paths, for one-line messages
// that name a file (warnings on stderr).
func EscapeText(s string) string { return string(appendEscaped(nil, s)) }
