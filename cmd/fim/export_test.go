package main

import (
	"fim/internal/fstest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportGomtree: go-mtree verifies the tree with fim's sha256 export, whose root
// and /usr lead to the recorded paths without being recorded, and catches a change.
func TestExportGomtree(t *testing.T) {
	gomtree, err := exec.LookPath("gomtree")
	if err != nil {
		fstest.Skipf(t, "gomtree is not installed (make bin/gomtree)")
	}
	tmp := t.TempDir()
	root := filepath.Join(tmp, "t")
	fstest.Tree{"etc/passwd": fstest.File("root:x:0:0"), "etc/name with space": fstest.File("s"), "usr/bin/su": fstest.File("su").Mode(0o4755), "usr/bin/sh": fstest.Link("su")}.Build(t, root)
	db, spec := filepath.Join(tmp, "f.db"), filepath.Join(tmp, "f.mtree")
	mustRun(t, 0, "baseline", "--db", db, "--root", root, "/etc", "/usr/bin")
	mustRun(t, 0, "export", "--db", db, "--root", root, "--sha256", "--output", spec)
	if out, err := exec.Command(gomtree, "validate", "-f", spec, "-p", root).CombinedOutput(); err != nil {
		t.Fatalf("gomtree validate on the unchanged tree: %v\n%s", err, out)
	}
	rewriteKeepTimes(t, filepath.Join(root, "etc/passwd"), "root::0:0x")
	out, err := exec.Command(gomtree, "validate", "-f", spec, "-p", root).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "etc/passwd") {
		t.Errorf("gomtree validate after a change: %v\n%s", err, out)
	}
}
