package main

import (
	"fim/internal/fstest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLocked: while another fim holds the baseline, a second writer gives up after a
// short wait with exit 18 and one clear line, and the baseline is untouched.
func TestLocked(t *testing.T) {
	root, db := t.TempDir(), filepath.Join(t.TempDir(), "b.db")
	fstest.Tree{"a": fstest.File("a")}.Build(t, root)
	mustRun(t, 0, "baseline", "--db", db, root)
	before, err := os.ReadFile(db)
	must(t, err)

	lock, err := os.OpenFile(db+".lock", os.O_RDWR, 0)
	must(t, err)
	defer lock.Close()
	must(t, unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB))

	must(t, os.WriteFile(filepath.Join(root, "b"), []byte("b"), 0o644))
	for _, args := range [][]string{{"baseline", "--db", db, root}, {"check", "--db", db, "--update"}} {
		stdout, stderr := mustRun(t, 18, args...)
		if stdout != "" || !strings.Contains(stderr, "locked by another fim") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: stdout %q stderr %q", args[0], stdout, stderr)
		}
	}
	after, err := os.ReadFile(db)
	must(t, err)
	if string(before) != string(after) {
		t.Error("the baseline changed while another fim held it")
	}
	// A reader does not need the lock.
	wantEvents(t, checkJSON(t, root, 1, "--db", db), "create T/b")
}
