package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOwnFilesRefused: a --output or --metrics-file that names one of the command's
// own files, under its name or another (a symlink, a hard link, a symlinked
// directory), is refused with one line naming the flag and the file, exit 16, and the
// baseline and its package snapshot stay byte for byte as they were.
func TestOwnFilesRefused(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		args  []string
		flag  string // the flag and value the message names
	}{
		{"check metrics over the baseline", nil, []string{"check", "--db", "b.db", "--metrics-file", "b.db"}, "--metrics-file b.db"},
		{"baseline metrics over the package snapshot", nil, []string{"baseline", "-q", "--db", "b.db", "--metrics-file", "b.db.packages", "tree"}, "--metrics-file b.db.packages"},
		{"check report appended to the baseline", nil, []string{"check", "--db", "b.db", "--output", "b.db"}, "--output b.db"},
		{"check report to file:baseline", nil, []string{"check", "--db", "b.db", "--output", "file:./b.db"}, "--output ./b.db"},
		{"check report to the lock", nil, []string{"check", "--db", "b.db", "--output", "b.db.lock"}, "--output b.db.lock"},
		{"check report to the journal", nil, []string{"check", "--db", "b.db", "--output", "b.db.journal"}, "--output b.db.journal"},
		{"check report in the spool", func(t *testing.T, dir string) {
			must(t, os.Mkdir(filepath.Join(dir, "b.db.spool"), 0o700))
		}, []string{"check", "--db", "b.db", "--output", "b.db.spool/x"}, "--output b.db.spool/x"},
		{"check report to a hard link of the baseline", func(t *testing.T, dir string) {
			must(t, os.Link(filepath.Join(dir, "b.db"), filepath.Join(dir, "hard")))
		}, []string{"check", "--db", "b.db", "--output", "hard"}, "--output hard"},
		{"check report to a symlink to the baseline", func(t *testing.T, dir string) {
			must(t, os.Symlink("b.db", filepath.Join(dir, "sym")))
		}, []string{"check", "--db", "b.db", "--output", "sym"}, "--output sym"},
		{"check report through a symlinked directory", func(t *testing.T, dir string) {
			must(t, os.Mkdir(filepath.Join(dir, "other"), 0o755))
			must(t, os.Symlink("..", filepath.Join(dir, "other", "up")))
		}, []string{"check", "--db", "b.db", "--output", "other/up/b.db"}, "--output other/up/b.db"},
		{"check report to the journal, not yet made, through a symlinked directory", func(t *testing.T, dir string) {
			must(t, os.Mkdir(filepath.Join(dir, "other"), 0o755))
			must(t, os.Symlink("..", filepath.Join(dir, "other", "up")))
		}, []string{"check", "--db", "b.db", "--output", "other/up/b.db.journal"}, "--output other/up/b.db.journal"},
		{"baseline metrics over the signing key", keygenOwn, []string{"baseline", "-q", "--db", "b.db", "--sign", "k", "--metrics-file", "k", "tree"}, "--metrics-file k"},
		{"check metrics over the generation file", signedOwn, []string{"check", "--db", "b.db", "--verify", "k.pub", "--generation-file", "gen", "--metrics-file", "gen"}, "--metrics-file gen"},
		{"check report over the verify key", signedOwn, []string{"check", "--db", "b.db", "--verify", "k.pub", "--output", "k.pub"}, "--output k.pub"},
		{"export to a symlink to the baseline", func(t *testing.T, dir string) {
			must(t, os.Symlink(filepath.Join(dir, "b.db"), filepath.Join(dir, "sym")))
		}, []string{"export", "--db", "b.db", "--output", "sym"}, "--output sym"},
		{"export over the package snapshot", nil, []string{"export", "--db", "b.db", "-o", "b.db.packages"}, "--output b.db.packages"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.MkdirAll(filepath.Join(dir, "tree"), 0o755))
			must(t, os.WriteFile(filepath.Join(dir, "tree", "a"), []byte("a\n"), 0o644))
			if _, stderr, code := runIn(t, nil, dir, nil, "baseline", "-q", "--db", "b.db", "tree"); code != 0 {
				t.Fatalf("baseline: exit %d\n%s", code, stderr)
			}
			if c.setup != nil {
				c.setup(t, dir)
			}
			db, snap := readOwn(t, dir)
			_, stderr, code := runIn(t, nil, dir, nil, c.args...)
			if code != 16 {
				t.Fatalf("fim %s: exit %d, want 16\n%s", strings.Join(c.args, " "), code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.flag+": that is") {
				t.Errorf("fim %s: stderr %q, want one line naming %q", strings.Join(c.args, " "), stderr, c.flag)
			}
			if db2, snap2 := readOwn(t, dir); !bytes.Equal(db, db2) || !bytes.Equal(snap, snap2) {
				t.Errorf("fim %s: the baseline or its package snapshot changed", strings.Join(c.args, " "))
			}
			mustRun(t, 0, "check", "-q", "--db", filepath.Join(dir, "b.db"))
		})
	}
}

// keygenOwn makes the key pair k and k.pub in dir.
func keygenOwn(t *testing.T, dir string) {
	if _, stderr, code := runIn(t, nil, dir, nil, "keygen", "--out", "k"); code != 0 {
		t.Fatalf("keygen: exit %d\n%s", code, stderr)
	}
}

// signedOwn makes the key pair k and k.pub in dir and signs the baseline b.db of tree anew.
func signedOwn(t *testing.T, dir string) {
	keygenOwn(t, dir)
	if _, stderr, code := runIn(t, nil, dir, nil, "baseline", "-q", "--db", "b.db", "--sign", "k", "tree"); code != 0 {
		t.Fatalf("baseline --sign: exit %d\n%s", code, stderr)
	}
}

// readOwn returns the baseline b.db in dir and its package snapshot.
func readOwn(t *testing.T, dir string) (db, snap []byte) {
	t.Helper()
	db, err := os.ReadFile(filepath.Join(dir, "b.db"))
	must(t, err)
	snap, err = os.ReadFile(filepath.Join(dir, "b.db.packages"))
	must(t, err)
	return db, snap
}

// TestOwnFilesOtherwise: a --output, --metrics-file or export --output beside the
// baseline but not one of its files is written as before.
func TestOwnFilesOtherwise(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "tree"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "tree", "a"), []byte("a\n"), 0o644))
	if _, stderr, code := runIn(t, nil, dir, nil, "baseline", "-q", "--db", "b.db", "--metrics-file", "b.prom", "tree"); code != 0 {
		t.Fatalf("baseline: exit %d\n%s", code, stderr)
	}
	must(t, os.WriteFile(filepath.Join(dir, "tree", "a"), []byte("changed\n"), 0o644))
	if _, stderr, code := runIn(t, nil, dir, nil, "check", "--db", "b.db", "--output", "b.db.report", "--metrics-file", "b.db.prom"); code == 16 || code > 16 {
		t.Fatalf("check: exit %d\n%s", code, stderr)
	}
	if _, stderr, code := runIn(t, nil, dir, nil, "export", "--db", "b.db", "-o", "b.mtree"); code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	for name, want := range map[string]string{"b.prom": "fim_", "b.db.report": "tree/a", "b.db.prom": "fim_", "b.mtree": "a"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		must(t, err)
		if !strings.Contains(string(got), want) {
			t.Errorf("%s: %q, want it to hold %q", name, got, want)
		}
	}
}
