package provenance

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"fim/diff"
	"fim/pkgdb"

	"golang.org/x/sys/unix"
)

// A Snapshot is which package listed each path when a baseline was taken: what a
// remove is explained by, since the package database forgets a removed package's
// files. It is written beside the baseline (SnapshotPath) by fim baseline, as gzip'ed
// text:
//
//	fim-packages 1 TIME          (TIME: Unix nanoseconds when it was read)
//	package MANAGER NAME VERSION ARCH
//	/a/path/the/package/lists
//	...
//
// It is evidence of the same standing as the package database it was read from.
type Snapshot struct {
	Time   time.Time
	owners map[string]*diff.Package
	names  func(string) []string // the /usr-merge names of a path
}

// SnapshotPath is where the snapshot of the baseline db lives ("" for none: "").
func SnapshotPath(db string) string {
	if db == "" {
		return ""
	}
	return db + ".packages"
}

// OpenSnapshot opens the snapshot of the baseline db, if there is one, for a walk to
// leave out as one of fim's own files (walk.OwnFiles); nil when there is none, or no
// baseline ("").
func OpenSnapshot(db string) *os.File {
	if db == "" {
		return nil
	}
	f, err := os.OpenFile(SnapshotPath(db), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	return f
}

const snapshotHeader = "fim-packages 1 "

// maxSnapshot bounds what a snapshot decompresses to.
const maxSnapshot = 512 << 20

// WriteSnapshot reads the package databases under root and writes to file, replacing
// it atomically, which package lists each path under one of roots (recorded paths, as
// a baseline's roots are; under any /usr-merge name). It writes nothing, and removes an
// older snapshot, when there is no usable package database; it returns the database's
// warnings.
func WriteSnapshot(file, root string, roots []string) ([]error, error) {
	if root == "" {
		root = "/"
	}
	now := coarseNow()
	db, err := pkgdb.OpenLists(root, roots)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if len(db.Packages()) == 0 {
		if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
			return db.Warnings(), err
		}
		return db.Warnings(), nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), filepath.Base(file)+".*.tmp")
	if err != nil {
		return db.Warnings(), err
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing
	zw := gzip.NewWriter(tmp)
	bw := bufio.NewWriterSize(zw, 256<<10)
	fmt.Fprintf(bw, "%s%d\n", snapshotHeader, now.UnixNano())
	for _, p := range db.Packages() {
		named := false
		for _, f := range db.Files(p) {
			if strings.ContainsRune(f.Path, '\n') { // Files are those under roots
				continue
			}
			if !named {
				fmt.Fprintf(bw, "package %s %s %s %s\n", p.Manager, p.Name, p.Version, p.Arch)
				named = true
			}
			bw.WriteString(f.Path)
			bw.WriteByte('\n')
		}
	}
	err = bw.Flush()
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		return db.Warnings(), fmt.Errorf("package snapshot %s: %w", file, err)
	}
	return db.Warnings(), nil
}

// ReadSnapshot reads the snapshot in file. An error names the file and, for damage,
// the line.
func ReadSnapshot(file string) (*Snapshot, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("package snapshot %s: %w", file, err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, maxSnapshot+1))
	if err == nil && len(data) > maxSnapshot {
		err = fmt.Errorf("larger than %d bytes", maxSnapshot)
	}
	if err != nil {
		return nil, fmt.Errorf("package snapshot %s: %w", file, err)
	}
	s, err := parseSnapshot(data)
	if err != nil {
		return nil, fmt.Errorf("package snapshot %s: %w", file, err)
	}
	return s, nil
}

// parseSnapshot parses the text of a snapshot.
func parseSnapshot(data []byte) (*Snapshot, error) {
	s := &Snapshot{owners: map[string]*diff.Package{}}
	var cur *diff.Package
	for n := 1; len(data) > 0; n++ {
		line, rest, ok := bytes.Cut(data, []byte{'\n'})
		if !ok {
			return nil, fmt.Errorf("line %d: cut short", n)
		}
		data = rest
		switch {
		case n == 1:
			ts, ok := strings.CutPrefix(string(line), snapshotHeader)
			ns, err := strconv.ParseInt(ts, 10, 64)
			if !ok || err != nil || ns < 0 {
				return nil, fmt.Errorf("line 1: not a package snapshot")
			}
			s.Time = time.Unix(0, ns)
		case bytes.HasPrefix(line, []byte("package ")):
			f := strings.Split(string(line), " ")
			if len(f) != 5 || f[1] == "" || f[2] == "" {
				return nil, fmt.Errorf("line %d: want package MANAGER NAME VERSION ARCH", n)
			}
			cur = &diff.Package{Manager: f[1], Name: f[2], Version: f[3], Arch: f[4]}
		case len(line) > 0 && line[0] == '/' && cur != nil:
			p := string(line)
			if _, dup := s.owners[p]; !dup {
				s.owners[p] = cur
			}
		default:
			return nil, fmt.Errorf("line %d: want a package line or an absolute path after one", n)
		}
	}
	if s.Time.IsZero() {
		return nil, errors.New("empty")
	}
	return s, nil
}

// Owner returns the package that listed path p (under any of its /usr-merge names),
// or nil.
func (s *Snapshot) Owner(p string) *diff.Package {
	names := []string{p}
	if s.names != nil {
		names = s.names(p)
	}
	for _, n := range names {
		if o := s.owners[n]; o != nil {
			return o
		}
	}
	return nil
}

// coarseNow is the time now by the clock file times are taken from (the kernel's
// coarse clock, up to a tick behind time.Now), so that a database file changed after
// it never carries an earlier time: a snapshot's time is compared with them.
func coarseNow() time.Time {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_REALTIME_COARSE, &ts); err != nil {
		return time.Now().Add(-time.Second)
	}
	return time.Unix(ts.Unix())
}
