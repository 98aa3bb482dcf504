package pkgdb

import (
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fim/internal/debtest"
	"fim/internal/fstest"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rpmRoot builds testdata/rpm/fimtest.spec with the real rpmbuild and installs the
// package into a new root with the real rpm, its database in dbpath (sqlite).
func rpmRoot(t *testing.T, dbpath string) string {
	t.Helper()
	root, _ := debtest.RPMRoot(t, "testdata/rpm/fimtest.spec", dbpath)
	return root
}

// TestRPMReal installs a package built from a spec with the real rpm and checks what
// is read of each file and the verdict of each kind of change.
func TestRPMReal(t *testing.T) {
	for _, dbpath := range []string{"/usr/lib/sysimage/rpm", "/var/lib/rpm"} {
		t.Run(strings.ReplaceAll(dbpath, "/", "_"), func(t *testing.T) {
			root := rpmRoot(t, dbpath)
			at := func(p string) string { return filepath.Join(root, p) }
			writeFile(t, at("etc/fimtest/main.conf"), "setting=2\n")
			writeFile(t, at("usr/share/doc/fimtest/README"), "changed\n")
			if err := os.Remove(at("etc/fimtest/optional.conf")); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(at("usr/bin/fimtest-suid"), 0o755); err != nil { // setuid dropped
				t.Fatal(err)
			}

			db := openDB(t, root)
			if w := db.Warnings(); len(w) > 0 {
				t.Fatal(w)
			}
			if ps := db.Packages(); len(ps) != 1 || ps[0].String() != "fimtest 2:1.0-1 noarch (rpm)" {
				t.Fatalf("packages %v", ps)
			}
			for _, c := range []struct {
				path  string
				kind  Kind
				flags FileFlags
				mode  uint32
				group string
			}{
				{"/usr/bin/fimtest", Match, 0, 0o100755, "root"},
				{"/usr/bin/fimtest-suid", Mismatch, 0, 0o104750, "daemon"},
				{"/usr/bin/fimtest-link", Unknown, 0, 0o120777, "root"},
				{"/etc/fimtest/main.conf", Conffile, FlagConfig, 0o100644, "root"},
				{"/etc/fimtest/optional.conf", Unknown, FlagConfig | FlagMissingOK, 0o100644, "root"},
				{"/var/log/fimtest.log", Unknown, FlagGhost, 0o100000, "root"},
				{"/usr/share/doc/fimtest/README", Mismatch, FlagDoc, 0o100644, "root"},
				{"/etc/fimtest", Unknown, 0, 0o40755, "root"},
				{"/etc/passwd", Unowned, 0, 0, ""},
			} {
				v := db.Verdict(c.path, db.Opener(c.path))
				if v.Kind != c.kind {
					t.Errorf("%s: %s (%s), want %s", c.path, v.Kind, v.Reason, c.kind)
				}
				if c.kind == Unowned {
					continue
				}
				f := v.File
				if f == nil || f.Flags != c.flags || f.Meta == nil || f.Meta.Mode != c.mode || f.Meta.Owner != "root" || f.Meta.Group != c.group {
					t.Errorf("%s: recorded %+v, want flags %b mode %o root:%s", c.path, f, c.flags, c.mode, c.group)
				}
				if f != nil && f.Meta != nil && f.Meta.Mode&0o170000 == 0o100000 && f.Flags&FlagGhost == 0 && (f.Algorithm != SHA256 || f.Meta.Size == 0 || f.Meta.Mtime == 0) {
					t.Errorf("%s: %s digest, size %d, mtime %d; want sha256 and both", c.path, f.Algorithm, f.Meta.Size, f.Meta.Mtime)
				}
			}
			if f := db.Owners("/usr/bin/fimtest-link"); len(f) != 1 || f[0].Meta == nil || f[0].Meta.LinkTo != "fimtest" {
				t.Errorf("link: %+v", f)
			}

			run(t, "rpm", "--root", root, "--dbpath", dbpath, "-e", "--nodeps", "--noscripts", "fimtest")
			db = openDB(t, root)
			if v := db.Verdict("/usr/bin/fimtest", db.Opener("/usr/bin/fimtest")); v.Kind != Unowned || len(db.Packages()) != 0 {
				t.Errorf("after rpm -e: %s, packages %v", v.Kind, db.Packages())
			}
		})
	}
}

// TestRPMWriteAheadLog: a transaction still in rpmdb.sqlite-wal is read, as sqlite
// reads it, though the database is opened read-only and nothing is written beside it.
func TestRPMWriteAheadLog(t *testing.T) {
	const dbpath = "/usr/lib/sysimage/rpm"
	root := rpmRoot(t, dbpath)
	dbfile := filepath.Join(root, dbpath, rpmSQLite)
	before, err := os.ReadFile(dbfile)
	if err != nil {
		t.Fatal(err)
	}
	// Remove the package in a transaction left in the log: keep the log as it is
	// while the connection is open, and the database file as it was.
	sdb, err := sql.Open("sqlite", "file:"+dbfile)
	if err != nil {
		t.Fatal(err)
	}
	sdb.SetMaxOpenConns(1)
	for _, q := range []string{"PRAGMA journal_mode=WAL", "PRAGMA wal_autocheckpoint=0", "DELETE FROM Packages"} {
		if _, err := sdb.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	wal, err := os.ReadFile(dbfile + "-wal")
	if err != nil || len(wal) == 0 {
		t.Fatalf("no write-ahead log: %v", err)
	}
	sdb.Close()
	writeFile(t, dbfile, string(before))
	writeFile(t, dbfile+"-wal", string(wal))
	os.Remove(dbfile + "-shm")

	entries, _ := os.ReadDir(filepath.Dir(dbfile))
	db := openDB(t, root)
	if w := db.Warnings(); len(w) > 0 {
		t.Fatal(w)
	}
	if ps := db.Packages(); len(ps) != 0 {
		t.Errorf("packages %v: the transaction in the log was not read", ps)
	}
	if after, _ := os.ReadDir(filepath.Dir(dbfile)); len(after) != len(entries) {
		t.Errorf("reading wrote beside the database: %v, was %v", after, entries)
	}
}

// TestRPMOtherBackends: a database in the ndb back end, which is not read, and a
// Berkeley DB that is not one, are a warning each, and the verdicts are unknown.
func TestRPMOtherBackends(t *testing.T) {
	for name, want := range map[string]string{
		"var/lib/rpm/Packages":             "var/lib/rpm/Packages: metadata page: EOF",
		"usr/lib/sysimage/rpm/Packages.db": "usr/lib/sysimage/rpm/Packages.db: the ndb back end is not read",
	} {
		root := t.TempDir()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, name), "whatever\n")
		db := openDB(t, root)
		if w := db.Warnings(); len(w) != 1 || !strings.Contains(w[0].Error(), want) {
			t.Errorf("%s: warnings %v, want %q", name, w, want)
		}
		if v := db.Verdict("/usr/bin/x", db.Opener("/usr/bin/x")); v.Kind != Unknown {
			t.Errorf("%s: %s, want unknown", name, v.Kind)
		}
	}
}

// TestRPMBerkeleyDB writes the headers rpm recorded into a Berkeley DB Packages file
// with the real libdb (db5.3_load), in page sizes that put them in overflow chains and
// on the page, checks that the real rpm reads it (bdb_ro), and reads it.
func TestRPMBerkeleyDB(t *testing.T) {
	load := fstest.RequireTool(t, "db5.3_load", "Debian package db5.3-util")
	const dbpath = "/var/lib/rpm"
	root := rpmRoot(t, dbpath)
	dir := filepath.Join(root, dbpath)
	sdb, err := sql.Open("sqlite", "file:"+filepath.Join(dir, rpmSQLite)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := sdb.Query("SELECT hnum, blob FROM Packages")
	if err != nil {
		t.Fatal(err)
	}
	dump := "VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize=%d\nHEADER=END\n" +
		" 00000000\n 02000000\n" // rpm's next instance number, under key 0
	for rows.Next() {
		var hnum uint32
		var blob []byte
		if err := rows.Scan(&hnum, &blob); err != nil {
			t.Fatal(err)
		}
		key := binary.LittleEndian.AppendUint32(nil, hnum) // native order: this machine's
		dump += " " + hex.EncodeToString(key) + "\n " + hex.EncodeToString(blob) + "\n"
	}
	rows.Close()
	sdb.Close()
	dump += "DATA=END\n"
	for _, f := range []string{rpmSQLite, rpmSQLite + "-wal", rpmSQLite + "-shm"} {
		os.Remove(filepath.Join(dir, f))
	}
	writeFile(t, filepath.Join(root, "usr/bin/fimtest"), "changed\n")

	for _, pageSize := range []int{512, 65536} {
		t.Run(fmt.Sprint(pageSize), func(t *testing.T) {
			pkgs := filepath.Join(dir, rpmBDB)
			os.Remove(pkgs)
			dumpFile := filepath.Join(t.TempDir(), "dump")
			writeFile(t, dumpFile, fmt.Sprintf(dump, pageSize))
			run(t, load, "-f", dumpFile, pkgs)
			if out := run(t, "rpm", "--root", root, "--dbpath", dbpath, "--define", "_db_backend bdb_ro", "-qa"); !strings.Contains(out, "fimtest-1.0-1.noarch") {
				t.Fatalf("rpm does not read the database: %s", out)
			}
			db := openDB(t, root)
			if w := db.Warnings(); len(w) > 0 {
				t.Fatal(w)
			}
			if ps := db.Packages(); len(ps) != 1 || ps[0].String() != "fimtest 2:1.0-1 noarch (rpm)" {
				t.Fatalf("packages %v", ps)
			}
			for p, want := range map[string]Kind{"/usr/bin/fimtest": Mismatch, "/etc/fimtest/main.conf": Match, "/var/log/fimtest.log": Unknown, "/etc/passwd": Unowned} {
				if v := db.Verdict(p, db.Opener(p)); v.Kind != want {
					t.Errorf("%s: %s (%s), want %s", p, v.Kind, v.Reason, want)
				}
			}
		})
	}
}
