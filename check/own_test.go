package check

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestOwnSpool: a watch of a baseline spools beside it unless told otherwise, and a
// file a command writes may not lie in that spool, nor in one named apart.
func TestOwnSpool(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	if got := SpoolDir(db); got != db+".spool" {
		t.Errorf("SpoolDir(%s) = %s", db, got)
	}
	if got := SpoolDir(""); got != "" {
		t.Errorf("SpoolDir of no baseline = %q, want none", got)
	}
	must(t, os.Mkdir(SpoolDir(db), 0o700))
	named := filepath.Join(dir, "elsewhere")
	must(t, os.Mkdir(named, 0o700))
	own := Own{DBs: []string{db}, Spool: named}
	var oe *OptionError
	for _, dest := range []string{filepath.Join(SpoolDir(db), "x"), filepath.Join(named, "x"), db} {
		if err := own.Refuse("output", dest); !errors.As(err, &oe) {
			t.Errorf("--output %s: %v, want it refused", dest, err)
		}
	}
	if err := own.Refuse("output", filepath.Join(dir, "report")); err != nil {
		t.Errorf("--output beside them: %v", err)
	}
}
