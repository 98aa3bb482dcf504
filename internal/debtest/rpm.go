package debtest

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"

	"fim/internal/fstest"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", pure Go
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

// ForgeRPMDigest edits the header of the one package in root's sqlite rpmdb (dbpath)
// as an intruder would: where it records the SHA-256 of shipped, it records that of
// forged. The returned function puts the header back as rpm wrote it.
func ForgeRPMDigest(t testing.TB, root, dbpath string, shipped, forged []byte) (restore func()) {
	t.Helper()
	file := "file:" + filepath.Join(root, dbpath, "rpmdb.sqlite")
	old, sum := sha256.Sum256(shipped), sha256.Sum256(forged)
	var hnum int64
	var blob []byte
	withDB(t, file, func(db *sql.DB) error {
		if err := db.QueryRow("SELECT hnum, blob FROM Packages").Scan(&hnum, &blob); err != nil {
			return err
		}
		edited := bytes.Replace(blob, []byte(hex.EncodeToString(old[:])), []byte(hex.EncodeToString(sum[:])), 1)
		if bytes.Equal(edited, blob) {
			return fmt.Errorf("the header records no SHA-256 %x", old)
		}
		_, err := db.Exec("UPDATE Packages SET blob = ? WHERE hnum = ?", edited, hnum)
		return err
	})
	return func() {
		withDB(t, file, func(db *sql.DB) error {
			_, err := db.Exec("UPDATE Packages SET blob = ? WHERE hnum = ?", blob, hnum)
			return err
		})
	}
}

// withDB runs f on the sqlite database file, and fails the test if it fails.
func withDB(t testing.TB, file string, f func(*sql.DB) error) {
	t.Helper()
	db, err := sql.Open("sqlite", file)
	if err == nil {
		err = f(db)
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}
