package main

import (
	"fim/internal/fstest"
	"path/filepath"
	"testing"
	"time"
)

// TestCheckReadRate checks a tree of 3 MiB with --max-read-rate 2MiB/s: the check
// takes at least as long as the rate allows for what it read beyond one buffer.
func TestCheckReadRate(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"a": fstest.Blob(2<<20, 1), "b": fstest.Blob(1<<20, 2)}.Build(t, root)
	mustRun(t, 0, "baseline", "--no-provenance", "--db", db, root)
	start := time.Now()
	mustRun(t, 0, "check", "--no-provenance", "--max-read-rate", "2MiB/s", "--workers", "4", "--db", db)
	if took, floor := time.Since(start), 1250*time.Millisecond; took < floor {
		t.Errorf("check read 3 MiB at 2MiB/s in %v: under %v", took, floor)
	}
}
