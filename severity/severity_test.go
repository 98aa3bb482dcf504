package severity_test

import (
	"slices"
	"strings"
	"testing"

	"fim/config"
	"fim/diff"
	"fim/severity"
	"fim/tree"
)

func table(t *testing.T, rules ...config.SeverityRule) interface {
	Grade(*diff.Event) (diff.Severity, []string)
} {
	t.Helper()
	comp, err := (&config.Policy{Rules: []config.Rule{{Path: "/"}}, Severity: rules}).Compile()
	if err != nil {
		t.Fatal(err)
	}
	return comp.Severity()
}

// TestVerdicts: the package verdict raises a mismatch and a tampered file, caps what
// the package manager explains, and leaves a conffile edit, an unowned path and an
// unknown verdict to the other rules. A verdict fim does not know of yet is no match.
func TestVerdicts(t *testing.T) {
	file := &tree.Entry{Path: "/usr/bin/ls", Type: tree.TypeFile, Mode: 0o755}
	suid := &tree.Entry{Path: "/usr/bin/ls", Type: tree.TypeFile, Mode: 0o4755}
	sudoers := &tree.Entry{Path: "/etc/sudoers", Type: tree.TypeFile, Mode: 0o440}
	change := func(before, after *tree.Entry, v diff.Verdict) *diff.Event {
		return &diff.Event{Kind: diff.Change, Path: after.Path, Before: before, After: after, Verdict: v,
			Changed: diff.AttrSet(0).With(diff.AttrContent)}
	}
	for _, c := range []struct {
		name string
		ev   *diff.Event
		want string
	}{
		{"mismatch", change(file, file, diff.VerdictMismatch), "high [package-mismatch]"},
		{"tampered", change(file, file, diff.Verdict("tampered")), "critical [package-tampered]"},
		{"match caps", change(file, file, diff.VerdictMatch), "info [system-file-changed,package-explained]"},
		{"match caps even setuid (rpm vouches for modes)", change(file, suid, diff.VerdictMatch), "info [setuid-gained,package-explained]"},
		{"listed caps", &diff.Event{Kind: diff.Create, Path: "/usr/lib/x", After: &tree.Entry{Type: tree.TypeDir, Mode: 0o755}, Verdict: diff.VerdictListed}, "info [default,package-explained]"},
		{"removed caps", &diff.Event{Kind: diff.Remove, Path: "/usr/bin/ls", Before: file, Verdict: diff.VerdictRemoved}, "info [system-file-changed,package-explained]"},
		{"conffile is a local edit", change(sudoers, sudoers, diff.VerdictConffile), "high [sudoers]"},
		{"script caps nothing: a lineage is evidence, not proof", change(sudoers, sudoers, diff.VerdictScript), "high [sudoers]"},
		{"unowned", change(file, file, diff.VerdictUnowned), "medium [system-file-changed]"},
		{"unknown", change(file, suid, diff.VerdictUnknown), "critical [setuid-gained]"},
		{"no provenance", change(file, file, ""), "medium [system-file-changed]"},
		{"a verdict fim does not know", change(file, file, diff.Verdict("forged")), "medium [system-file-changed]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sev, reasons := table(t).Grade(c.ev)
			if got := sev.String() + " [" + strings.Join(reasons, ",") + "]"; got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

// TestGradeCombines: the highest level wins, all rules at that level are reasons, and
// the lowest cap lowers it, naming the caps at that cap; with every rule off, info.
func TestGradeCombines(t *testing.T) {
	ev := &diff.Event{Kind: diff.Create, Path: "/srv/a", After: &tree.Entry{Type: tree.TypeFile, Mode: 0o644}}
	for _, c := range []struct {
		name  string
		rules []config.SeverityRule
		want  string
	}{
		{"default", nil, "low [default]"},
		{"two at the top", []config.SeverityRule{{Name: "a", Paths: []string{"/srv/**"}, Level: "high"},
			{Name: "b", Events: []string{"create"}, Level: "high"}, {Name: "c", Level: "medium"}}, "high [a,b]"},
		{"lowest cap", []config.SeverityRule{{Name: "a", Level: "critical"}, {Name: "c1", Max: "medium"},
			{Name: "c2", Max: "low"}, {Name: "c3", Max: "low"}}, "low [a,c2,c3]"},
		{"a cap above the level names nothing", []config.SeverityRule{{Name: "c", Max: "high"}}, "low [default]"},
		{"everything off", []config.SeverityRule{{Name: "default", Level: "off"}}, "info []"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sev, reasons := table(t, c.rules...).Grade(ev)
			if got := sev.String() + " [" + strings.Join(reasons, ",") + "]"; got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestParseSeverity(t *testing.T) {
	for s := diff.SeverityInfo; s <= diff.SeverityCritical; s++ {
		if got, err := diff.ParseSeverity(s.String()); err != nil || got != s {
			t.Errorf("%s: %v, %v", s, got, err)
		}
	}
	if _, err := diff.ParseSeverity(""); err == nil {
		t.Error(`"" parsed`)
	}
	if !slices.IsSorted([]diff.Severity{diff.SeverityUnset, diff.SeverityInfo, diff.SeverityLow, diff.SeverityMedium, diff.SeverityHigh, diff.SeverityCritical}) {
		t.Error("severities out of order")
	}
}

// BenchmarkGrade grades events of paths spread over a system tree with the built-in
// table: the cost severity adds to each event of a check.
func BenchmarkGrade(b *testing.B) {
	comp, err := (&config.Policy{Rules: []config.Rule{{Path: "/"}}}).Compile()
	if err != nil {
		b.Fatal(err)
	}
	t := comp.Severity()
	paths := []string{"/usr/bin/ls", "/usr/share/doc/x/copyright", "/etc/passwd", "/etc/sudoers.d/ops",
		"/home/u/.ssh/authorized_keys", "/var/log/syslog", "/usr/lib/x86_64-linux-gnu/security/pam_unix.so", "/etc/.hidden"}
	events := make([]diff.Event, 1024)
	for i := range events {
		before := &tree.Entry{Type: tree.TypeFile, Mode: 0o644}
		after := &tree.Entry{Type: tree.TypeFile, Mode: 0o755}
		events[i] = diff.Event{Kind: diff.Change, Path: paths[i%len(paths)], Before: before, After: after,
			Changed: diff.AttrSet(0).With(diff.AttrContent).With(diff.AttrMode)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t.Annotate(events)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
}

// FuzzPath checks that a Path's literal ends never rule out a path its pattern
// matches, nor let in one it does not: Path.Match is the glob's Match.
func FuzzPath(f *testing.F) {
	for _, r := range config.DefaultSeverity {
		for _, p := range r.Paths {
			f.Add(p, "/etc/sudoers.d/x")
			f.Add(p, "/home/u/.ssh/authorized_keys")
		}
	}
	f.Add(`/a\*b/**`, `/a*b/c`)
	f.Add("/a*a", "/a")
	f.Add("/x]y", "/x]y")
	f.Add("/[ab]c{d,e}", "/bce")
	f.Fuzz(func(t *testing.T, pattern, path string) {
		g, err := config.CompileGlob(pattern)
		if err != nil {
			return
		}
		p := severity.NewPath(g, pattern)
		if got, want := p.Match(path), g.Match(path); got != want {
			t.Fatalf("pattern %q on %q: Path.Match %v, the glob's %v", pattern, path, got, want)
		}
	})
}

// TestVerdictNames: a rule may name every verdict provenance gives.
func TestVerdictNames(t *testing.T) {
	for _, v := range []diff.Verdict{diff.VerdictMatch, diff.VerdictListed, diff.VerdictRemoved, diff.VerdictScript,
		diff.VerdictMismatch, diff.VerdictConffile, diff.VerdictUnowned, diff.VerdictUnknown, diff.VerdictMissing, diff.VerdictTampered} {
		if !slices.Contains(severity.Verdicts, string(v)) {
			t.Errorf("severity.Verdicts lacks %q", v)
		}
	}
}
