package report

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"fim/config"
	"fim/diff"
	"fim/internal/fstest"
	"fim/tree"
)

// provenanceEvents are the events of a check after an upgrade, as the engine leaves
// them (graded by fim's built-in severity rules, diff.Rank): the unexplained first, the
// most severe first (a setuid shell and a preload file, critical; a trojaned package
// binary, high; a path of a damaged database, medium), then what two packages' upgrade
// and purge explain, info.
func provenanceEvents() []diff.Event {
	logged := time.Date(2026, 12, 2, 3, 12, 7, 0, time.UTC)
	hello := &diff.Package{Manager: "dpkg", Name: "hello", Version: "2.10-4", Arch: "amd64"}
	upgrade := &diff.Transaction{Time: logged, Action: "upgrade", Old: "2.10-3", New: "2.10-4"}
	tirpc := &diff.Package{Manager: "dpkg", Name: "libtirpc-common", Version: "1.3.3+ds-1", Arch: "all"}
	purge := &diff.Transaction{Time: logged.Add(2 * time.Minute), Action: "purge", Old: "1.3.3+ds-1"}

	ls := file("/usr/bin/ls", 138208, 0o755, 0x10)
	trojan := modify(diff.Change, ls, fstest.Edit(ls, func(e *tree.Entry) { e.Hash = digest(0x11) }), diff.AttrContent)
	trojan.Verdict, trojan.Reason = diff.VerdictMismatch, "md5 differs from the package's"
	trojan.Package = &diff.Package{Manager: "dpkg", Name: "coreutils", Version: "9.1-1", Arch: "amd64"}
	shell := create(file("/usr/local/bin/sh", 125640, 0o4755, 0x20))
	shell.Verdict = diff.VerdictUnowned
	preload := create(file("/etc/ld.so.preload", 13, 0o644, 0x30))
	preload.Verdict = diff.VerdictUnowned
	rpmFile := file("/usr/lib/libfoo.so", 10, 0o755, 0x40)
	damaged := modify(diff.Change, rpmFile, fstest.Edit(rpmFile, func(e *tree.Entry) { e.Hash = digest(0x41) }), diff.AttrContent)
	damaged.Verdict, damaged.Reason = diff.VerdictUnknown, "rpm database damaged: /var/lib/rpm/rpmdb.sqlite: file is not a database"

	bin := file("/usr/bin/hello", 26856, 0o755, 0x50)
	newBin := modify(diff.Change, bin, fstest.Edit(bin, func(e *tree.Entry) { e.Hash, e.Inode = digest(0x51), 2000 }),
		diff.AttrContent, diff.AttrInode)
	newBin.Verdict, newBin.Package, newBin.Transaction = diff.VerdictMatch, hello, upgrade
	doc := file("/usr/share/doc/hello/copyright", 2264, 0o644, 0x60)
	sameDoc := modify(diff.Chmod, doc, fstest.Edit(doc, func(e *tree.Entry) { e.Inode = 2001 }), diff.AttrInode)
	sameDoc.Verdict, sameDoc.Package, sameDoc.Transaction = diff.VerdictMatch, hello, upgrade
	news := remove(file("/usr/share/doc/hello/NEWS.gz", 1868, 0o644, 0x70))
	news.Verdict, news.Package, news.Transaction = diff.VerdictRemoved, &diff.Package{Manager: "dpkg", Name: "hello",
		Version: "2.10-3", Arch: "amd64"}, upgrade
	netconfig := remove(file("/etc/netconfig", 767, 0o644, 0x80))
	netconfig.Verdict, netconfig.Package, netconfig.Transaction = diff.VerdictRemoved, tirpc, purge
	events := []diff.Event{trojan, shell, preload, damaged, newBin, sameDoc, news, netconfig}
	comp, err := (&config.Policy{Rules: []config.Rule{{Path: "/"}}}).Compile()
	if err != nil {
		panic(err)
	}
	comp.Severity().Annotate(events)
	diff.Rank(events)
	return events
}

// TestTextProvenance renders the events of a check after an upgrade, folded and in
// full, and compares with the golden files.
func TestTextProvenance(t *testing.T) {
	for _, all := range []bool{false, true} {
		name := "text_provenance"
		if all {
			name += "_all"
		}
		t.Run(name, func(t *testing.T) {
			info := checkInfo
			info.ShowExplained = all
			out := render(t, Text, provenanceEvents(), info)
			golden(t, name, out)
			assertNoControl(t, out)
			lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			want := "fim: 8 changes: 4 unexplained, 4 explained by their packages (2 packages changed 2026-12-02 03:12–03:14 UTC); "
			if !strings.HasPrefix(lines[0], want) {
				t.Errorf("summary %q, want it to start %q", lines[0], want)
			}
			for i, p := range []string{"/usr/local/bin/sh", "/etc/ld.so.preload", "/usr/bin/ls", "/usr/lib/libfoo.so"} {
				if !strings.Contains(lines[1+i], p) {
					t.Errorf("line %d %q: want the unexplained %s", 1+i, lines[1+i], p)
				}
			}
			if n := len(lines) - 5; all && n != 4 || !all && n != 2 {
				t.Errorf("%d lines after the unexplained, want %d", n, map[bool]int{true: 4, false: 2}[all])
			}
		})
	}
}

// TestProvenanceFormats shows that every format carries an event's provenance: the
// line formats in the message, json, sarif and ecs as fields (ecs in its package set).
func TestProvenanceFormats(t *testing.T) {
	events := provenanceEvents()
	for _, f := range formatRenderers {
		t.Run(f.name, func(t *testing.T) {
			out := render(t, f.render, events, checkInfo)
			golden(t, f.name+"_provenance", out)
			if f.name == "json" {
				return // no message: the fields follow
			}
			for _, s := range []string{"dpkg coreutils 9.1-1 amd64: mismatch, md5 differs", "dpkg hello 2.10-4 amd64: match; upgrade 2.10-3 → 2.10-4 2026-12-02 03:12:07"} {
				if !bytes.Contains(out, []byte(s)) {
					t.Errorf("no %q in\n%s", s, out)
				}
			}
		})
	}
	doc := parseSARIF(t, render(t, SARIF, events, checkInfo))
	for i, r := range doc.Runs[0].Results {
		ev := &events[i]
		if r.Properties["verdict"] != string(ev.Verdict) {
			t.Errorf("sarif result %d: verdict %v, want %s", i, r.Properties["verdict"], ev.Verdict)
		}
		if want := map[diff.Severity]string{diff.SeverityCritical: "error", diff.SeverityHigh: "error",
			diff.SeverityMedium: "warning", diff.SeverityInfo: "note"}[ev.Severity]; r.Level != want {
			t.Errorf("sarif result %d: level %s, want %s", i, r.Level, want)
		}
		if r.Properties["severity"] != ev.Severity.String() || r.RuleID != "fim/"+ev.Kind.String()+"/"+ev.Severity.String() {
			t.Errorf("sarif result %d: severity %v rule %s, want %s", i, r.Properties["severity"], r.RuleID, ev.Severity)
		}
		if r.PartialFingerprints["primaryLocationLineHash"] != sarifLineHash("fim/"+ev.Kind.String(), ev.Path) {
			t.Errorf("sarif result %d: the fingerprint is not its kind's", i)
		}
		rule := slices.IndexFunc(doc.Runs[0].Tool.Driver.Rules, func(ru sarifDocRule) bool { return ru.ID == r.RuleID })
		if rule < 0 {
			t.Errorf("sarif result %d: no rule %s", i, r.RuleID)
		} else if ru := doc.Runs[0].Tool.Driver.Rules[rule]; ru.DefaultConfiguration.Level != r.Level || ru.Properties == nil ||
			ru.Properties.SecuritySeverity != securitySeverity[ev.Severity] {
			t.Errorf("sarif result %d: rule %+v", i, ru)
		}
		if pkg, _ := r.Properties["package"].(map[string]any); (pkg != nil) != (ev.Package != nil) || pkg != nil && pkg["name"] != ev.Package.Name {
			t.Errorf("sarif result %d: package %v, want %v", i, pkg, ev.Package)
		}
	}
	docs := parseECS(t, render(t, ECS, events, checkInfo))
	for i, d := range docs {
		ev := &events[i]
		if field(d, "event.severity") != float64(ev.Severity) || field(d, "event.risk_score") != riskScore[ev.Severity] ||
			field(d, "fim.severity") != ev.Severity.String() {
			t.Errorf("ecs %d: severity %v %v %v, want %s", i, field(d, "event.severity"), field(d, "event.risk_score"),
				field(d, "fim.severity"), ev.Severity)
		}
		if field(d, "fim.verdict") != string(ev.Verdict) {
			t.Errorf("ecs %d: fim.verdict %v, want %s", i, field(d, "fim.verdict"), ev.Verdict)
		}
		if ev.Package == nil {
			if field(d, "package") != nil {
				t.Errorf("ecs %d: a package set for an unowned path", i)
			}
			continue
		}
		if field(d, "package.name") != ev.Package.Name || field(d, "package.version") != ev.Package.Version ||
			field(d, "package.type") != ev.Package.Manager {
			t.Errorf("ecs %d: package %v, want %+v", i, field(d, "package"), *ev.Package)
		}
		if (ev.Transaction != nil) != (field(d, "fim.transaction.action") != nil) {
			t.Errorf("ecs %d: transaction %v, want %+v", i, field(d, "fim.transaction"), ev.Transaction)
		}
	}
	lines, _ := renderJSON(t, events)
	for i, m := range lines {
		ev := &events[i]
		if m["verdict"] != string(ev.Verdict) || (m["package"] != nil) != (ev.Package != nil) ||
			(m["transaction"] != nil) != (ev.Transaction != nil) {
			t.Errorf("json %d: verdict %v, package %v, transaction %v; want %s, %+v, %+v",
				i, m["verdict"], m["package"], m["transaction"], ev.Verdict, ev.Package, ev.Transaction)
		}
	}
}
