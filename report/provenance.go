package report

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"fim/diff"
)

// What the formats say of an event's provenance (diff.Event.Verdict, Package,
// Transaction), when the package databases were asked.
//
// Every line format tags an event that a package owns (or owned, for a remove its
// package's removal explains), or whose verdict is unknown, tampered, script or database, after its detail:
// "  [dpkg hello 2.10-3 amd64: mismatch, md5 differs from the package's; upgrade
// 2.10-3 → 2.10-4 2026-12-02 03:12:07]". An unowned path has no tag. The json, ecs and
// sarif formats carry the fields themselves.

// jsonPackage is a package in the json, ecs and sarif formats.
type jsonPackage struct {
	Manager string `json:"manager"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Arch    string `json:"arch,omitempty"`
}

// jsonTransaction is the package log's change of a package since the baseline.
type jsonTransaction struct {
	Time       string `json:"time"`
	Action     string `json:"action"`
	OldVersion string `json:"old_version,omitempty"`
	NewVersion string `json:"new_version,omitempty"`
}

func newJSONPackage(p *diff.Package) *jsonPackage {
	if p == nil {
		return nil
	}
	return &jsonPackage{Manager: p.Manager, Name: p.Name, Version: p.Version, Arch: p.Arch}
}

func newJSONTransaction(t *diff.Transaction) *jsonTransaction {
	if t == nil {
		return nil
	}
	return &jsonTransaction{Time: t.Time.UTC().Format(timeLayout), Action: t.Action, OldVersion: t.Old, NewVersion: t.New}
}

// tagged says whether an event's line carries its provenance.
func tagged(ev *diff.Event) bool {
	return ev.Package != nil || ev.Verdict == diff.VerdictUnknown || ev.Verdict == diff.VerdictTampered || ev.Verdict == diff.VerdictScript ||
		ev.Verdict == diff.VerdictDatabase
}

// appendProvenance appends an event's provenance tag, if it has one.
func appendProvenance(b []byte, ev *diff.Event) []byte {
	if !tagged(ev) {
		return b
	}
	b = append(b, "  ["...)
	if p := ev.Package; p != nil {
		b = appendPackage(b, p)
		b = append(b, ": "...)
	}
	b = append(b, ev.Verdict...)
	if ev.Reason != "" {
		b = append(b, ", "...)
		b = appendEscaped(b, ev.Reason)
	}
	if t := ev.Transaction; t != nil {
		b = append(b, "; "...)
		b = appendTransaction(b, t)
	}
	return append(b, ']')
}

// appendPackage appends "dpkg hello 2.10-3 amd64".
func appendPackage(b []byte, p *diff.Package) []byte {
	for i, s := range []string{p.Manager, p.Name, p.Version, p.Arch} {
		if s == "" {
			continue
		}
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendEscaped(b, s)
	}
	return b
}

// appendTransaction appends "upgrade 2.10-3 → 2.10-4 2026-12-02 03:12:07" (UTC).
func appendTransaction(b []byte, t *diff.Transaction) []byte {
	b = appendEscaped(b, t.Action)
	b = append(b, ' ')
	if t.Old != "" {
		b = appendEscaped(b, t.Old)
		b = append(b, " → "...)
	}
	if t.New != "" {
		b = appendEscaped(b, t.New)
	} else {
		b = append(b, "<none>"...)
	}
	b = append(b, ' ')
	return t.Time.UTC().AppendFormat(b, time.DateTime)
}

// provenanceShown says whether a report shows provenance: some event is owned by a
// package, explained, or of unknown verdict. A report of unowned paths only reads as
// it does without package databases.
func provenanceShown(events []diff.Event) bool {
	return slices.ContainsFunc(events, func(ev diff.Event) bool { return tagged(&ev) || ev.Verdict.Explained() })
}

// appendProvenanceSummary appends the summary's provenance part: "4 unexplained,
// 1239 explained by their packages (31 packages upgraded 2026-12-02 03:12–03:14)";
// with tampered verdicts, "4 unexplained (2 tampered: the package database changed
// outside any transaction), …".
func appendProvenanceSummary(b []byte, events []diff.Event) []byte {
	var explained, tampered int
	pkgs := map[string]bool{}
	actions := map[string]bool{}
	var first, last time.Time
	for i := range events {
		ev := &events[i]
		if ev.Verdict == diff.VerdictTampered {
			tampered++
		}
		if !ev.Verdict.Explained() {
			continue
		}
		explained++
		if t := ev.Transaction; t != nil && ev.Package != nil {
			pkgs[ev.Package.Manager+" "+ev.Package.Name] = true
			actions[t.Action] = true
			if first.IsZero() || t.Time.Before(first) {
				first = t.Time
			}
			if t.Time.After(last) {
				last = t.Time
			}
		}
	}
	b = strconv.AppendInt(b, int64(len(events)-explained), 10)
	b = append(b, " unexplained, "...)
	if tampered > 0 {
		b = b[:len(b)-2]
		b = append(b, " ("...)
		b = strconv.AppendInt(b, int64(tampered), 10)
		b = append(b, " tampered: the package database changed outside any transaction), "...)
	}
	b = strconv.AppendInt(b, int64(explained), 10)
	b = append(b, " explained by their packages"...)
	if len(pkgs) == 0 {
		return b
	}
	b = append(b, " ("...)
	b = appendCount(b, len(pkgs), "package", "packages")
	verb := "changed"
	if len(actions) == 1 {
		for a := range actions {
			verb = map[string]string{"install": "installed", "upgrade": "upgraded", "remove": "removed", "purge": "purged"}[a]
		}
	}
	b = append(b, ' ')
	b = append(b, verb...)
	b = append(b, ' ')
	b = first.UTC().AppendFormat(b, "2006-01-02 15:04")
	if f, l := first.UTC(), last.UTC(); l.Sub(f) >= time.Minute || l.Minute() != f.Minute() {
		b = append(b, "–"...)
		if l.Format(time.DateOnly) != f.Format(time.DateOnly) {
			b = l.AppendFormat(b, "2006-01-02 ")
		}
		b = l.AppendFormat(b, "15:04")
	}
	return append(b, " UTC)"...)
}

// foldExplained returns the events to list one by one and, unless all, the explained
// ones in groups of one package each (by manager, name and architecture, whatever the
// version), ordered by manager and name.
func foldExplained(events []diff.Event, all bool) ([]diff.Event, [][]*diff.Event) {
	if all {
		return events, nil
	}
	type key struct{ manager, name, arch string }
	var listed []diff.Event
	groups := map[key][]*diff.Event{}
	for i := range events {
		ev := &events[i]
		if !ev.Verdict.Explained() || ev.Package == nil {
			listed = append(listed, *ev)
			continue
		}
		k := key{ev.Package.Manager, ev.Package.Name, ev.Package.Arch}
		groups[k] = append(groups[k], ev)
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y key) int {
		return cmp.Or(cmp.Compare(x.manager, y.manager), cmp.Compare(x.name, y.name), cmp.Compare(x.arch, y.arch))
	})
	out := make([][]*diff.Event, len(keys))
	for i, k := range keys {
		out[i] = groups[k]
	}
	return listed, out
}

// appendFolded appends the line of one package's explained events:
// "package  dpkg hello 2.10-4 amd64: 3 changes explained (2 change, 1 remove); upgrade
// 2.10-3 → 2.10-4 2026-12-02 03:12:07".
func appendFolded(b []byte, group []*diff.Event) []byte {
	pkg := group[0].Package // the installed version where one matched, else the removed one
	for _, ev := range group {
		if ev.Verdict == diff.VerdictMatch {
			pkg = ev.Package
			break
		}
	}
	b = append(b, "package  "...)
	b = appendPackage(b, pkg)
	b = append(b, ": "...)
	b = appendCount(b, len(group), "change", "changes")
	b = append(b, " explained ("...)
	counts := map[diff.Kind]int{}
	var tr *diff.Transaction
	for _, ev := range group {
		counts[ev.Kind]++
		if t := ev.Transaction; t != nil && (tr == nil || t.Time.After(tr.Time)) {
			tr = t
		}
	}
	n := 0
	for _, k := range diff.Kinds() {
		if counts[k] == 0 {
			continue
		}
		if n > 0 {
			b = append(b, ", "...)
		}
		n++
		b = strconv.AppendInt(b, int64(counts[k]), 10)
		b = append(b, ' ')
		b = append(b, k.String()...)
	}
	b = append(b, ')')
	if tr != nil {
		b = append(b, "; "...)
		b = appendTransaction(b, tr)
	}
	return append(b, '\n')
}
