package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fim/internal/fstest"
)

// TestGrowingUpdate runs fim on a growing log: appends are not reported, by check or
// check --fast; check --update records the grown size and hash, so that cutting the log
// back to its first recorded size is a change of prefix; the text report says so.
func TestGrowingUpdate(t *testing.T) {
	tmp := t.TempDir()
	root, db, cfg := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db"), filepath.Join(tmp, "fim.yaml")
	fstest.Tree{"log/app.log": fstest.File("line 1\nline 2\n"), "etc/conf": fstest.File("a\n")}.Build(t, root)
	must(t, os.WriteFile(cfg, []byte("paths:\n  - path: "+root+"\n  - path: "+root+"/log\n    growing: true\n"), 0o644))
	mustRun(t, 0, "baseline", "--db", db, "--config", cfg)
	log := filepath.Join(root, "log/app.log")
	grow := func(s string) {
		f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
		must(t, err)
		_, err = f.WriteString(s)
		must(t, err)
		must(t, f.Close())
	}

	grow("line 3\n")
	wantEvents(t, checkJSON(t, root, 0, "--db", db))
	wantEvents(t, checkJSON(t, root, 0, "--db", db, "--fast"))
	wantEvents(t, checkJSON(t, root, 0, "--db", db, "--update"))
	// The baseline holds the grown log now: cut back to what it was, it lost a line.
	must(t, os.Truncate(log, int64(len("line 1\nline 2\n"))))
	stdout, _ := mustRun(t, 4, "check", "--db", db)
	if !strings.Contains(stdout, "prefix: 21 → 14") || !strings.Contains(stdout, "(high: log-rewritten)") {
		t.Errorf("text report of a cut log:\n%s", stdout)
	}
	wantEvents(t, checkJSON(t, root, 4, "--db", db), "change T/log/app.log [content,prefix,size,mtime,ctime]")
}
