package check

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fim/diff"
)

func TestNewReporterRefuses(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "baseline.db")
	for _, tc := range []struct {
		name string
		o    ReporterOptions
		want string // "" for none
	}{
		{"unknown format", ReporterOptions{Format: "yaml"}, "--format: "},
		{"document in a stream", ReporterOptions{Format: "junit", Stream: true}, "--format junit writes one document per run"},
		{"document to syslog", ReporterOptions{Format: "sarif", Output: "syslog"}, "--format sarif is one document: syslog would split it"},
		// A file whose name starts like a syslog spec is a file.
		{"document to a file named syslog…", ReporterOptions{Format: "junit", Output: filepath.Join(dir, "syslog-report2.xml")}, ""},
		{"bad colour", ReporterOptions{Format: "text", Color: "sometimes"}, `--color: want auto, always or never, not "sometimes"`},
		{"http option to a file", ReporterOptions{Format: "json", Output: filepath.Join(dir, "r.json"), Color: "never", HTTPSet: []string{"gzip"}},
			"--gzip is for an http:// or https:// --output"},
		{"bad header", ReporterOptions{Format: "json", Output: "https://example.invalid/", Color: "never", HTTPSet: []string{"header"},
			Header: []string{"A: b", "no colon"}}, "--header (the 2nd): "},
		{"output is the baseline", ReporterOptions{Format: "text", Output: db, Color: "never", Own: Own{DBs: []string{db}}}, "--output " + db + ": that is"},
		{"metrics file is the baseline", ReporterOptions{Format: "text", Color: "never", MetricsFile: db, Own: Own{DBs: []string{db}}}, "--metrics-file " + db},
		{"bad severity", ReporterOptions{Format: "text", Color: "never", MinSeverity: "dire"}, "--min-severity: "},
		{"severity with an update", ReporterOptions{Format: "text", Color: "never", MinSeverity: "high", Update: true},
			"--min-severity leaves changes unreported that --update would take"},
		{"severity", ReporterOptions{Format: "text", Color: "never", MinSeverity: "high"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.o.Color == "" {
				tc.o.Color = "auto"
			}
			r, err := NewReporter(tc.o)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				r.Close()
				return
			}
			if err == nil {
				r.Close()
				t.Fatalf("accepted, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !errors.As(err, new(*OptionError)) {
				t.Errorf("err = %v (%T), want an *OptionError with %q", err, err, tc.want)
			}
		})
	}
}

func TestReporterColor(t *testing.T) {
	file := filepath.Join(t.TempDir(), "report")
	for _, tc := range []struct {
		color, output  string
		terminal, want bool
	}{
		{"auto", "", true, true},
		{"auto", "", false, false},
		{"auto", file, true, false}, // a terminal is standard output's
		{"always", file, false, true},
		{"never", "", true, false},
	} {
		r, err := NewReporter(ReporterOptions{Format: "text", Color: tc.color, Output: tc.output, Terminal: tc.terminal})
		if err != nil {
			t.Fatal(err)
		}
		if r.Color != tc.want {
			t.Errorf("--color %s, output %q, terminal %v: colour %v, want %v", tc.color, tc.output, tc.terminal, r.Color, tc.want)
		}
		r.Close()
	}
}

// Emit keeps the events of at least the least severity, redacts them, renders them and
// appends them to the output.
func TestReporterEmit(t *testing.T) {
	file := filepath.Join(t.TempDir(), "report.json")
	r, err := NewReporter(ReporterOptions{Format: "json", Output: file, Color: "auto", MinSeverity: "medium",
		Redact: []string{"/srv"}, Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	events := []diff.Event{
		{Kind: diff.Create, Path: "/srv/secret-name", Severity: diff.SeverityHigh},
		{Kind: diff.Remove, Path: "/srv/low", Severity: diff.SeverityLow},
		{Kind: diff.Create, Path: "/etc/motd", Severity: diff.SeverityMedium},
	}
	if got := r.Shown(events); len(got) != 2 || got[0].Path != "/srv/secret-name" || got[1].Path != "/etc/motd" {
		t.Errorf("Shown = %v, want the high and the medium events", got)
	}
	if err := r.Emit(events, r.Info(false, 0)); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), data)
	}
	for _, want := range []string{`"path":"/srv/[redacted]"`, `"path":"/etc/motd"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("report lacks %s:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), "secret-name") || strings.Contains(string(data), "/srv/low") {
		t.Errorf("report shows what it should not:\n%s", data)
	}
}
