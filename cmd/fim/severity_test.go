package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fim/internal/fstest"
)

// severityRoot builds a small system tree and its baseline, read under --root, with
// the configuration's severity rules when cfg is not "".
func severityRoot(t *testing.T, cfg string) (root, db string) {
	t.Helper()
	tmp := t.TempDir()
	root, db = filepath.Join(tmp, "rootfs"), filepath.Join(tmp, "fim.db")
	fstest.Tree{
		"usr/bin/tool": fstest.File("tool").Mode(0o755),
		"etc/passwd":   fstest.File("root:x:0:0::/root:/bin/sh\n"),
		"data/":        fstest.Dir(),
	}.Build(t, root)
	if cfg == "" {
		mustRun(t, 0, "baseline", "--quiet", "--db", db, "--root", root, "/")
		return root, db
	}
	file := filepath.Join(tmp, "fim.yaml")
	must(t, os.WriteFile(file, []byte("db: "+db+"\nroot: "+root+"\npaths:\n  - path: /\n"+cfg), 0o644))
	mustRun(t, 0, "baseline", "--quiet", "--config", file)
	return root, db
}

// plant renames a program and makes it setuid, and adds a plain file.
func plant(t *testing.T, root string) {
	t.Helper()
	must(t, os.Rename(root+"/usr/bin/tool", root+"/usr/bin/zz"))
	must(t, os.Chmod(root+"/usr/bin/zz", os.ModeSetuid|0o755))
	must(t, os.WriteFile(root+"/data/new", []byte("n"), 0o644))
}

// TestSeverityCheck: a rename that gains setuid is reported critical and first in
// every format, whatever its path; --min-severity leaves out what is below it, from
// the report and from the exit bits.
func TestSeverityCheck(t *testing.T) {
	root, db := severityRoot(t, "")
	plant(t, root)

	out, _ := mustRun(t, exitCreated|exitChanged, "check", "--db", db, "--color", "never")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], " 1 rename, 0 move; 1 critical, 1 low; baseline generation 1, made ") {
		t.Fatalf("report:\n%s", out)
	}
	if !strings.HasPrefix(lines[1], "rename  /usr/bin/tool → /usr/bin/zz  mode: ") ||
		!strings.HasSuffix(lines[1], "  (critical: setuid-gained)") {
		t.Errorf("first event %q, want the rename, critical", lines[1])
	}
	if !strings.HasPrefix(lines[2], "create  /data/new") || !strings.HasSuffix(lines[2], "  (low: default)") {
		t.Errorf("second event %q, want the create, low", lines[2])
	}

	stdout, _ := mustRun(t, exitCreated|exitChanged, "check", "--db", db, "--format", "json")
	wantEvents(t, severities(parseJSON(t, stdout)), "rename /usr/bin/zz critical setuid-gained",
		"create /data/new low default")
	for _, f := range []string{"github", "ecs", "sarif", "junit"} {
		out, _ := mustRun(t, exitCreated|exitChanged, "check", "--db", db, "--format", f)
		if i, j := strings.Index(out, "/usr/bin/zz"), strings.Index(out, "/data/new"); i < 0 || j < 0 || i > j {
			t.Errorf("%s: the critical rename is not first:\n%s", f, out)
		}
	}
	github, _ := mustRun(t, exitCreated|exitChanged, "check", "--db", db, "--format", "github")
	if !strings.HasPrefix(github, "::error file=/usr/bin/zz,") || !strings.Contains(github, "\n::warning file=/data/new,") {
		t.Errorf("github:\n%s", github)
	}

	stdout, _ = mustRun(t, exitChanged, "check", "--db", db, "--format", "json", "--min-severity", "high")
	wantEvents(t, severities(parseJSON(t, stdout)), "rename /usr/bin/zz critical setuid-gained")
	out, _ = mustRun(t, exitChanged, "check", "--db", db, "--format", "text", "--min-severity", "critical")
	if !strings.HasPrefix(out, "fim: 1 change: 0 create, 0 change, 0 remove, 0 chmod, 1 rename, 0 move; 1 critical;") {
		t.Errorf("--min-severity critical:\n%s", out)
	}
	must(t, os.Chmod(root+"/usr/bin/zz", 0o755)) // what is left is low
	must(t, os.Rename(root+"/usr/bin/zz", root+"/usr/bin/tool"))
	out, _ = mustRun(t, exitOK, "check", "--db", db, "--min-severity", "medium")
	if !strings.HasPrefix(out, "fim: no changes;") {
		t.Errorf("nothing of medium or above:\n%s", out)
	}
	_, stderr := mustRun(t, exitUsage, "check", "--db", db, "--min-severity", "severe")
	if !strings.Contains(stderr, `--min-severity: unknown severity "severe" (want one of info, low, medium, high, critical)`) {
		t.Errorf("a bad --min-severity: %s", stderr)
	}
	// The baseline never gets ahead of the report: an update would take in what the
	// filter leaves out of it.
	before, err := os.ReadFile(db)
	must(t, err)
	for _, cmd := range [][]string{{"check", "--update"}, {"watch", "--update", "--interval", "0"}} {
		_, stderr = mustRun(t, exitUsage, append(cmd, "--db", db, "--min-severity", "high")...)
		if !strings.Contains(stderr, "--min-severity leaves changes unreported that --update would take into the baseline") {
			t.Errorf("%s --min-severity: %s", cmd, stderr)
		}
	}
	if after, err := os.ReadFile(db); err != nil || !bytes.Equal(before, after) {
		t.Errorf("the baseline changed: %v", err)
	}
}

// TestSeverityConfig: the configuration's severity rules are kept with the baseline
// and grade its checks; explain names the rules of a path, the configuration's too.
func TestSeverityConfig(t *testing.T) {
	root, db := severityRoot(t, `severity:
  - name: setuid-gained
    level: high
  - name: data
    paths: ["/data/**"]
    events: [create]
    level: critical
`)
	plant(t, root)
	stdout, _ := mustRun(t, exitCreated|exitChanged, "check", "--db", db, "--format", "json")
	wantEvents(t, severities(parseJSON(t, stdout)), "create /data/new critical data",
		"rename /usr/bin/zz high setuid-gained,system-executable-new")
	out, _ := mustRun(t, 0, "explain", "--db", db, "/data/new")
	for _, want := range []string{"severity: default: low\n", "severity: setuid-gained: high, if it gained setuid\n",
		"severity: data: critical, on create (path matches '/data/**')\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain: no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "sudoers") {
		t.Errorf("explain names a rule whose paths do not match:\n%s", out)
	}

	// A configuration given to check grades with its own rules, in place of those
	// stored with the baseline, without a new baseline.
	edited := filepath.Join(t.TempDir(), "edited.yaml")
	must(t, os.WriteFile(edited, []byte("db: "+db+"\npaths:\n  - path: /\nseverity:\n  - {name: data, paths: [/data/**], max: info}\n"), 0o644))
	stdout, _ = mustRun(t, exitCreated|exitChanged, "check", "--config", edited, "--format", "json")
	wantEvents(t, severities(parseJSON(t, stdout)), "rename /usr/bin/zz critical setuid-gained",
		"create /data/new info default,data")
	must(t, os.WriteFile(edited, []byte("db: "+db+"\npaths:\n  - path: /\nseverity:\n  - {name: data, max: severe}\n"), 0o644))
	_, stderr := mustRun(t, exitUsage, "check", "--config", edited)
	if !strings.Contains(stderr, edited+`:5: severity[0].max: unknown severity "severe"`) {
		t.Errorf("a bad rule: %s", stderr)
	}
}

func severities(events []jsonEvent) []string {
	var out []string
	for _, ev := range events {
		out = append(out, ev.Type+" "+ev.Path+" "+ev.Severity+" "+strings.Join(ev.Reasons, ","))
	}
	return out
}
