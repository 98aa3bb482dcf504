package pkgdb

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", pure Go
)

// rpmDirs are where the rpm database lives: /usr/lib/sysimage/rpm since rpm 4.16
// (Fedora 36, RHEL 9, openSUSE), /var/lib/rpm before (often a symlink to the first).
var rpmDirs = []string{"usr/lib/sysimage/rpm", "var/lib/rpm"}

// The rpm database back ends, by file name: sqlite (rpm 4.16 and later), ndb
// (openSUSE) and Berkeley DB (RHEL 8 and before).
const (
	rpmSQLite = "rpmdb.sqlite"
	rpmNDB    = "Packages.db"
	rpmBDB    = "Packages"
	maxRPMDB  = 4 << 30
)

// loadRPM reads the rpm database: the sqlite and Berkeley DB back ends are read; a
// database in the ndb back end is found and said to be unread (its verdicts are
// unknown).
func (db *DB) loadRPM() (bool, error) {
	for _, dir := range rpmDirs {
		db.rpmDir = dir
		name := dir + "/" + rpmSQLite
		f, err := db.root.Open(name)
		if err == nil {
			defer f.Close()
			return true, db.loadRPMSQLite(name, f)
		}
		if !errors.Is(err, errNotExist) {
			return true, db.damage(RPM, name, err)
		}
		name = dir + "/" + rpmBDB
		f, err = db.root.Open(name)
		if err == nil {
			defer f.Close()
			return true, db.loadRPMBDB(name, f)
		}
		if !errors.Is(err, errNotExist) {
			return true, db.damage(RPM, name, err)
		}
		name = dir + "/" + rpmNDB
		if f, err := db.root.Open(name); err == nil {
			f.Close()
			return true, db.damage(RPM, name, errors.New("the ndb back end is not read (rpmdb.sqlite and Berkeley DB Packages are)"))
		} else if !errors.Is(err, errNotExist) {
			return true, db.damage(RPM, name, err)
		}
	}
	db.rpmDir = ""
	return false, nil
}

// loadRPMSQLite reads the headers of the Packages table of rpmdb.sqlite, opened as f.
// The database is opened read-only and immutable through the descriptor fim opened
// inside the root, so sqlite neither follows a path out of the root nor writes beside
// the database. A write-ahead log that holds transactions not yet in the database
// would be ignored that way: then the database and its log are copied to a private
// directory and read there, as sqlite would read them.
func (db *DB) loadRPMSQLite(name string, f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return db.damage(RPM, name, err)
	}
	if st.Size() > maxRPMDB {
		return db.damage(RPM, name, fmt.Errorf("larger than %d bytes", int64(maxRPMDB)))
	}
	dsn := "file:/proc/self/fd/" + strconv.Itoa(int(f.Fd())) + "?mode=ro&immutable=1"
	wal, err := db.root.Open(name + "-wal")
	if err == nil {
		defer wal.Close()
		if wst, err := wal.Stat(); err != nil {
			return db.damage(RPM, name+"-wal", err)
		} else if wst.Size() > 0 {
			dir, err := os.MkdirTemp("", "fim-rpmdb-")
			if err != nil {
				return db.damage(RPM, name, err)
			}
			defer os.RemoveAll(dir)
			for _, c := range []struct {
				from *os.File
				to   string
			}{{f, rpmSQLite}, {wal, rpmSQLite + "-wal"}} {
				if err := copyFile(c.from, filepath.Join(dir, c.to), maxRPMDB); err != nil {
					return db.damage(RPM, name, err)
				}
			}
			dsn = (&url.URL{Scheme: "file", Path: filepath.Join(dir, rpmSQLite)}).String()
		}
	} else if !errors.Is(err, errNotExist) {
		return db.damage(RPM, name+"-wal", err)
	}
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return db.damage(RPM, name, err)
	}
	defer sdb.Close()
	rows, err := sdb.Query("SELECT hnum, blob FROM Packages ORDER BY hnum")
	if err != nil {
		return db.damage(RPM, name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var hnum int64
		var blob []byte
		if err := rows.Scan(&hnum, &blob); err != nil {
			return db.damage(RPM, name, err)
		}
		if len(blob) > maxHeader {
			return db.damage(RPM, name, fmt.Errorf("package %d: header larger than %d bytes", hnum, maxHeader))
		}
		pkg, files, err := rpmPackage(blob)
		if err != nil {
			return db.damage(RPM, name, fmt.Errorf("package %d: %w", hnum, err))
		}
		db.addPackage(pkg, files)
	}
	if err := rows.Err(); err != nil {
		return db.damage(RPM, name, err)
	}
	return nil
}

// loadRPMBDB reads the headers of rpm's Berkeley DB Packages file, opened as f.
func (db *DB) loadRPMBDB(name string, f *os.File) error {
	blobs, err := readBDBHash(f)
	if err != nil {
		return db.damage(RPM, name, err)
	}
	for i, blob := range blobs {
		pkg, files, err := rpmPackage(blob)
		if err != nil {
			return db.damage(RPM, name, fmt.Errorf("record %d: %w", i+1, err))
		}
		db.addPackage(pkg, files)
	}
	return nil
}

// copyFile copies from, at most limit bytes, to a new file to.
func copyFile(from *os.File, to string, limit int64) error {
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(io.NewSectionReader(from, 0, limit+1), limit+1))
	if err == nil && n > limit {
		err = fmt.Errorf("%s: larger than %d bytes", from.Name(), limit)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
