package main

import (
	"fim/internal/fstest"
	"os"
	"path/filepath"
	"testing"
)

// TestCheckFast: --fast reports what a full check reports when the inode's times tell,
// including a rewrite whose size and mtime were put back (ctime still moves).
func TestCheckFast(t *testing.T) {
	root := t.TempDir()
	db := filepath.Join(t.TempDir(), "b.db")
	fstest.Tree{"a": fstest.File("alpha"), "b": fstest.File("bravo"), "d/c": fstest.File("charlie")}.Build(t, root)
	mustRun(t, 0, "baseline", "--db", db, root)
	wantEvents(t, checkJSON(t, root, 0, "--db", db, "--fast"))

	rewriteKeepTimes(t, filepath.Join(root, "a"), "ALPHA")
	must(t, os.WriteFile(filepath.Join(root, "d/c"), []byte("charlie, longer"), 0o644))
	want := []string{"change T/a [content,ctime]", "change T/d/c [content,size,mtime,ctime]"}
	wantEvents(t, checkJSON(t, root, 4, "--db", db, "--fast"), want...)
	wantEvents(t, checkJSON(t, root, 4, "--db", db), want...)
}
