package pkgdb

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

var errNotExist = fs.ErrNotExist

// Transaction is one package action of the package log.
type Transaction struct {
	Time    time.Time // as logged, in the local time zone of the reader
	Action  string    // install, upgrade, remove or purge
	Package string
	Arch    string
	Old     string // the version before; "" for install
	New     string // the version after; "" for remove and purge
}

func (t Transaction) String() string {
	old, nw := t.Old, t.New
	if old == "" {
		old = "<none>"
	}
	if nw == "" {
		nw = "<none>"
	}
	return fmt.Sprintf("%s %s %s %s → %s", t.Time.Format("2006-01-02 15:04:05"), t.Action, t.Package, old, nw)
}

const dpkgLogDir = "var/log"

// dpkgLogName matches dpkg.log and its rotations by logrotate: dpkg.log.1,
// dpkg.log.2.gz and so on.
var dpkgLogName = regexp.MustCompile(`^dpkg\.log(?:\.([0-9]{1,6})(\.gz)?)?$`)

// parseDpkgLog parses dpkg.log: "YYYY-MM-DD HH:MM:SS ACTION ..." lines. The package
// actions (install, upgrade, remove, purge: "ACTION PKG[:ARCH] OLD NEW", "<none>" for
// no version) are kept; the others (status, configure, trigproc, startup, conffile)
// are skipped. A line that is not of that shape is an error, except a last line cut
// short without a newline (dpkg was stopped while it wrote it).
func parseDpkgLog(data []byte) ([]Transaction, error) {
	var out []Transaction
	ls := lines(data)
	cut := len(data) > 0 && data[len(data)-1] != '\n'
	for n, line := range ls {
		t, ok, err := parseDpkgLogLine(line)
		if err != nil {
			if cut && n == len(ls)-1 {
				break
			}
			return nil, &lineError{n + 1, err.Error()}
		}
		if ok {
			out = append(out, t)
		}
	}
	return out, nil
}

func parseDpkgLogLine(line []byte) (Transaction, bool, error) {
	if len(line) == 0 {
		return Transaction{}, false, nil
	}
	if len(line) < 20 || line[19] != ' ' {
		return Transaction{}, false, fmt.Errorf("not a dpkg.log line: %.60q", line)
	}
	tm, err := time.ParseInLocation("2006-01-02 15:04:05", string(line[:19]), time.Local)
	if err != nil {
		return Transaction{}, false, fmt.Errorf("bad time %.19q", line[:19])
	}
	f := strings.Fields(string(line[20:]))
	if len(f) == 0 {
		return Transaction{}, false, fmt.Errorf("no action after the time")
	}
	switch f[0] {
	case "install", "upgrade", "remove", "purge":
	default:
		return Transaction{}, false, nil
	}
	if len(f) != 4 {
		return Transaction{}, false, fmt.Errorf("%s with %d fields, want 3: %.60q", f[0], len(f)-1, line)
	}
	name, arch, _ := strings.Cut(f[1], ":")
	if name == "" {
		return Transaction{}, false, fmt.Errorf("%s without a package: %.60q", f[0], line)
	}
	none := func(v string) string {
		if v == "<none>" {
			return ""
		}
		return v
	}
	return Transaction{Time: tm, Action: f[0], Package: name, Arch: arch, Old: none(f[2]), New: none(f[3])}, true, nil
}

// loadDpkgLog reads dpkg.log and its rotations, oldest first.
func (db *DB) loadDpkgLog() error {
	names, err := db.root.ReadDir(dpkgLogDir)
	if err != nil {
		db.warnings = append(db.warnings, db.damage(Dpkg, dpkgLogDir, err))
		return nil
	}
	type logFile struct {
		name string
		n    int
		gz   bool
	}
	var files []logFile
	for _, n := range names {
		m := dpkgLogName.FindStringSubmatch(n)
		if m == nil {
			continue
		}
		num := 0
		if m[1] != "" {
			num, _ = strconv.Atoi(m[1])
		}
		files = append(files, logFile{n, num, m[2] != ""})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].n > files[j].n }) // oldest first
	for _, lf := range files {
		name := dpkgLogDir + "/" + lf.name
		data, err := db.readLog(name, lf.gz)
		if err == nil {
			var ts []Transaction
			ts, err = parseDpkgLog(data)
			db.log = append(db.log, ts...)
		}
		if err != nil {
			// The log explains removals and dates changes; the database itself is
			// still good, so a damaged log is a warning of its own.
			db.warnings = append(db.warnings, db.damage(Dpkg, name, err))
		}
	}
	return nil
}

// readLog reads one log file, decompressing a rotated .gz, at most maxLog bytes.
func (db *DB) readLog(name string, gz bool) ([]byte, error) {
	f, err := db.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if !gz {
		var size int64
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		return readLimited(f, f.Name(), maxLog, size)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	data, err := readLimited(zr, f.Name(), maxLog, 0)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, err
	}
	return data, nil
}
