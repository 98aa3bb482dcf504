package debtest

import (
	"path/filepath"
	"testing"

	"fim/internal/fstest"
)

// RPMRoot builds the package of spec with the real rpmbuild and installs it into a new
// root with the real rpm (no scripts, no dependencies), its database in dbpath (the
// sqlite back end). It returns the root and the package file.
func RPMRoot(t testing.TB, spec, dbpath string) (root, pkg string) {
	t.Helper()
	pkg = RPMBuild(t, spec)
	root = t.TempDir()
	Run(t, "rpm", RPMArgs(root, dbpath, "--initdb")...)
	Run(t, "rpm", RPMArgs(root, dbpath, "-i", "--nodeps", "--noscripts", pkg)...)
	return root, pkg
}

// RPMBuild builds the package of spec with the real rpmbuild and returns its file.
func RPMBuild(t testing.TB, spec string) string {
	t.Helper()
	fstest.RequireTool(t, "rpmbuild", "Debian package rpm")
	fstest.RequireTool(t, "rpm", "Debian package rpm")
	spec, err := filepath.Abs(spec)
	if err != nil {
		t.Fatal(err)
	}
	top := t.TempDir()
	Run(t, "rpmbuild", "-bb", "--define", "_topdir "+top, spec)
	rpms, _ := filepath.Glob(filepath.Join(top, "RPMS", "*", "*.rpm"))
	if len(rpms) != 1 {
		t.Fatalf("rpmbuild made %v", rpms)
	}
	return rpms[0]
}

// RPMArgs are the arguments that make rpm work on root with its database in dbpath
// (sqlite), not on this host.
func RPMArgs(root, dbpath string, more ...string) []string {
	return append([]string{"--root", root, "--dbpath", dbpath, "--define", "_db_backend sqlite"}, more...)
}
