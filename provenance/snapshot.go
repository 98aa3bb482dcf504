package provenance

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zeebo/blake3"

	"fim/diff"
	"fim/internal/atomicfile"
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
	Time time.Time
	// owners are the package of each path, built from data when first asked (Owner):
	// most checks have no remove to explain, and the paths are most of a snapshot.
	owners     map[string]*diff.Package
	ownersOnce sync.Once
	data       []byte                // the text, until owners is built
	paths      int                   // path lines
	names      func(string) []string // the /usr-merge names of a path
	// records are what the rpm and apk databases said of each package's files
	// (pkgdb.Package.Record, and rpm's install time), by manager and name.
	records map[packageKey]packageRecord
	// versions are the version of each package the snapshot lists, by manager and name.
	versions map[packageKey]string
}

type packageKey struct{ manager, name string }

// packageRecord is the optional last field of a package line: RECORD, or
// RECORD@INSTALLTIME for rpm.
type packageRecord struct {
	version, record string
	installed       int64
}

func (r packageRecord) String() string {
	if r.record == "" {
		return ""
	}
	if r.installed != 0 {
		return " " + r.record + "@" + strconv.FormatInt(r.installed, 10)
	}
	return " " + r.record
}

func parseRecord(version, f string) (packageRecord, bool) {
	rec, t, timed := strings.Cut(f, "@")
	r := packageRecord{version: version, record: rec}
	if _, err := hex.DecodeString(rec); err != nil || rec == "" {
		return r, false
	}
	if timed {
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil || n <= 0 || strconv.FormatInt(n, 10) != t {
			return r, false
		}
		r.installed = n
	}
	return r, true
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
func OpenSnapshot(db string) *os.File { return openBeside(SnapshotPath(db)) }

// OpenJournalFile opens the writer journal of the baseline db, if there is one, as
// OpenSnapshot opens its snapshot.
func OpenJournalFile(db string) *os.File { return openBeside(JournalPath(db)) }

func openBeside(p string) *os.File {
	if p == "" {
		return nil
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	return f
}

const snapshotHeader = "fim-packages 1 "

// maxSnapshot bounds what a snapshot decompresses to.
const maxSnapshot = 512 << 20

// A PendingSnapshot is a package snapshot written but not yet in place: its Digest goes
// into the meta of the baseline it belongs to (baseline.Meta.Packages), which seals it,
// and Commit puts it in place once that baseline is committed.
type PendingSnapshot struct {
	file, tmp string
	digest    string
	f         *os.File // tmp, held open so that a walk knows it (File)
}

// Digest is the snapshot's digest (SnapshotDigest), "" when there is no snapshot to keep
// (no usable package database) and for a nil PendingSnapshot.
func (p *PendingSnapshot) Digest() string {
	if p == nil {
		return ""
	}
	return p.digest
}

// File is the written snapshot, nil when there is none: one of fim's own files until it
// is in place.
func (p *PendingSnapshot) File() *os.File {
	if p == nil {
		return nil
	}
	return p.f
}

// Commit puts the snapshot in place, atomically, or removes an older one when there is
// none.
func (p *PendingSnapshot) Commit() error {
	if p == nil {
		return nil
	}
	if p.tmp == "" {
		if err := os.Remove(p.file); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("package snapshot %s: %w", p.file, err)
		}
		return nil
	}
	err := os.Rename(p.tmp, p.file)
	if err == nil {
		err = atomicfile.SyncDir(filepath.Dir(p.file))
	}
	p.Abort()
	if err != nil {
		return fmt.Errorf("package snapshot %s: %w", p.file, err)
	}
	return nil
}

// Abort gives up a snapshot not committed; after Commit it only lets go of the file.
func (p *PendingSnapshot) Abort() {
	if p == nil {
		return
	}
	if p.f != nil {
		p.f.Close()
		p.f = nil
	}
	if p.tmp != "" {
		os.Remove(p.tmp) // after Commit's rename: nothing
	}
}

// PrepareSnapshot reads the package databases under root and writes, beside file, which
// package lists each path under one of roots (recorded paths, as a baseline's roots
// are; under any /usr-merge name), to be put in place at file by Commit. prior is the
// snapshot of the baseline being replaced (nil for a new baseline): a new snapshot never
// takes in a record of an rpm or apk package's files that was changed with no
// transaction since prior (forged, what makes its verdicts tampered), but keeps prior's
// record of that package until a transaction replaces it, so that no rewrite of the
// baseline (fim watch --update, an accept of other paths, a restart) launders an edit
// of the database. With keep (for fim accept, whose new baseline keeps entries of the
// old one), the paths prior lists are kept too, with the packages and the time it
// gives: it explains the removes of the entries kept. There is no snapshot (Digest "")
// when there is no usable package database. It returns the database's warnings.
func PrepareSnapshot(file, root string, roots []string, prior *Snapshot, keep bool) (*PendingSnapshot, []error, error) {
	if root == "" {
		root = "/"
	}
	now := coarseNow()
	db, err := pkgdb.OpenLists(root, roots)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	p := &PendingSnapshot{file: file}
	if prior == nil {
		keep = false
	}
	if len(db.Packages()) == 0 && !keep {
		return p, db.Warnings(), nil
	}
	if keep {
		now = prior.Time
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), filepath.Base(file)+".*.tmp")
	if err != nil {
		return nil, db.Warnings(), err
	}
	p.tmp, p.f = tmp.Name(), tmp
	h := blake3.New()
	zw := gzip.NewWriter(io.MultiWriter(tmp, h))
	bw := bufio.NewWriterSize(zw, 256<<10)
	fmt.Fprintf(bw, "%s%d\n", snapshotHeader, now.UnixNano())
	for _, pk := range db.Packages() {
		named := false
		for _, f := range db.Files(pk) {
			if strings.ContainsRune(f.Path, '\n') { // Files are those under roots
				continue
			}
			if !named {
				rec := packageRecord{record: pk.Record, installed: pk.Installed}
				if old, ok := prior.record(pk); ok && forged(pk, old) != "" {
					rec = packageRecord{record: old.record, installed: old.installed}
				}
				fmt.Fprintf(bw, "package %s %s %s %s%s\n", pk.Manager, pk.Name, pk.Version, pk.Arch, rec)
				named = true
			}
			bw.WriteString(f.Path)
			bw.WriteByte('\n')
		}
	}
	if keep {
		prior.write(bw)
	}
	err = bw.Flush()
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if err != nil {
		p.Abort()
		return nil, db.Warnings(), fmt.Errorf("package snapshot %s: %w", file, err)
	}
	p.digest = digestPrefix + hex.EncodeToString(h.Sum(nil))
	return p, db.Warnings(), nil
}

// write writes the packages and paths of s, as PrepareSnapshot does, in an order of
// its own.
func (s *Snapshot) write(bw *bufio.Writer) {
	byPkg := map[*diff.Package][]string{}
	for p, o := range s.ownerMap() {
		byPkg[o] = append(byPkg[o], p)
	}
	pkgs := slices.SortedFunc(maps.Keys(byPkg), func(x, y *diff.Package) int {
		return cmp.Or(cmp.Compare(x.Manager, y.Manager), cmp.Compare(x.Name, y.Name), cmp.Compare(x.Version, y.Version), cmp.Compare(x.Arch, y.Arch))
	})
	for _, pk := range pkgs {
		rec := s.records[packageKey{pk.Manager, pk.Name}]
		if rec.version != pk.Version {
			rec = packageRecord{}
		}
		fmt.Fprintf(bw, "package %s %s %s %s%s\n", pk.Manager, pk.Name, pk.Version, pk.Arch, rec)
		paths := byPkg[pk]
		slices.Sort(paths)
		for _, p := range paths {
			bw.WriteString(p)
			bw.WriteByte('\n')
		}
	}
}

// WriteSnapshot writes the snapshot PrepareSnapshot makes in place at file at once, and
// returns its digest ("" when there is none).
func WriteSnapshot(file, root string, roots []string) (string, []error, error) {
	p, warns, err := PrepareSnapshot(file, root, roots, nil, false)
	if err != nil {
		return "", warns, err
	}
	return p.digest, warns, p.Commit()
}

// NextSnapshot writes the snapshot (PrepareSnapshot) of the baseline about to replace
// the one a annotates the events of, to be put in place at file: of the packages under
// a's root that list paths under roots, holding a's snapshot's records of the packages
// whose records were forged since, and, with keep, of what a's snapshot lists (for fim
// accept, whose new baseline keeps records of the old one). The databases'
// warnings go to a's Logf, and so does an error: then it returns nil, and the new
// baseline keeps the snapshot there is. A nil Annotator writes none.
func (a *Annotator) NextSnapshot(file string, roots []string, keep bool) *PendingSnapshot {
	if a == nil {
		return nil
	}
	p, warns, err := PrepareSnapshot(file, a.o.Root, roots, a.Snapshot(), keep)
	for _, w := range warns {
		a.warn(w)
	}
	if err != nil {
		a.warn(err)
		return nil
	}
	return p
}

const digestPrefix = "blake3:"

// SnapshotDigest is the digest of a snapshot's bytes as stored, as a baseline's meta
// records it.
func SnapshotDigest(data []byte) string {
	sum := blake3.Sum256(data)
	return digestPrefix + hex.EncodeToString(sum[:])
}

// ErrSnapshotTampered is wrapped by the error of a snapshot that is not the one its
// baseline sealed.
var ErrSnapshotTampered = errors.New("not the package snapshot the baseline sealed")

// ReadSnapshot reads the snapshot in file, which must have the digest sealed in its
// baseline's meta (digest; "" when the baseline sealed none: then any snapshot there is
// refused). An error names the file and, for damage, the line; a snapshot of another
// digest is ErrSnapshotTampered.
func ReadSnapshot(file, digest string) (*Snapshot, error) {
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return nil, fmt.Errorf("package snapshot %s: %w", file, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, fmt.Errorf("package snapshot %s: not a regular file", file)
	}
	raw, err := readSnapshotBytes(f, st.Size)
	if err != nil {
		return nil, fmt.Errorf("package snapshot %s: %w", file, err)
	}
	switch got := SnapshotDigest(raw); {
	case digest == "":
		return nil, fmt.Errorf("package snapshot %s: %w: the baseline seals none (make the baseline again)", file, ErrSnapshotTampered)
	case got != digest:
		return nil, fmt.Errorf("package snapshot %s: %w: its digest is %s, the baseline's %s", file, ErrSnapshotTampered, got, digest)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("package snapshot %s: %w", file, err)
	}
	var size int64 // what gzip's trailer says the text's size is (modulo 4 GiB): a hint
	if len(raw) >= 4 {
		size = int64(binary.LittleEndian.Uint32(raw[len(raw)-4:]))
	}
	data, err := readSnapshotBytes(zr, size)
	if err != nil {
		return nil, fmt.Errorf("package snapshot %s: %w", file, err)
	}
	s, err := parseSnapshot(data)
	if err != nil {
		return nil, fmt.Errorf("package snapshot %s: %w", file, err)
	}
	return s, nil
}

// readSnapshotBytes reads r whole, up to maxSnapshot bytes, into a buffer made for
// about size bytes at once.
func readSnapshotBytes(r io.Reader, size int64) ([]byte, error) {
	b := bytes.NewBuffer(make([]byte, 0, min(max(size, 0), maxSnapshot)+bytes.MinRead))
	if _, err := b.ReadFrom(io.LimitReader(r, maxSnapshot+1)); err != nil {
		return nil, err
	}
	if b.Len() > maxSnapshot {
		return nil, fmt.Errorf("larger than %d bytes", maxSnapshot)
	}
	return b.Bytes(), nil
}

// parseSnapshot parses the text of a snapshot: all of it is checked, and the packages'
// records kept; which package lists each path is left to Owner.
func parseSnapshot(data []byte) (*Snapshot, error) {
	s := &Snapshot{data: data}
	if err := s.parse(nil); err != nil {
		return nil, err
	}
	if s.Time.IsZero() {
		return nil, errors.New("empty")
	}
	return s, nil
}

// ownerMap returns which package lists each path, built the first time from the text
// parseSnapshot checked.
func (s *Snapshot) ownerMap() map[string]*diff.Package {
	s.ownersOnce.Do(func() {
		s.owners = make(map[string]*diff.Package, s.paths)
		s.parse(s.owners) // checked already
		s.data = nil
	})
	return s.owners
}

// parse reads s's text: with owners nil it checks every line, takes the time and the
// packages' records and counts the paths; otherwise it fills owners.
func (s *Snapshot) parse(owners map[string]*diff.Package) error {
	data := s.data
	var cur *diff.Package
	for n := 1; len(data) > 0; n++ {
		line, rest, ok := bytes.Cut(data, []byte{'\n'})
		if !ok {
			return fmt.Errorf("line %d: cut short", n)
		}
		data = rest
		switch {
		case n == 1:
			ts, ok := strings.CutPrefix(string(line), snapshotHeader)
			ns, err := strconv.ParseInt(ts, 10, 64)
			if !ok || err != nil || ns < 0 {
				return fmt.Errorf("line 1: not a package snapshot")
			}
			s.Time = time.Unix(0, ns)
		case bytes.HasPrefix(line, []byte("package ")):
			f := strings.Split(string(line), " ")
			if len(f) != 5 && len(f) != 6 || f[1] == "" || f[2] == "" {
				return fmt.Errorf("line %d: want package MANAGER NAME VERSION ARCH [RECORD[@INSTALLTIME]]", n)
			}
			cur = &diff.Package{Manager: f[1], Name: f[2], Version: f[3], Arch: f[4]}
			if owners == nil {
				if s.versions == nil {
					s.versions = map[packageKey]string{}
				}
				s.versions[packageKey{f[1], f[2]}] = f[3]
			}
			if len(f) == 6 && owners == nil {
				r, ok := parseRecord(f[3], f[5])
				if !ok {
					return fmt.Errorf("line %d: %.60q: want RECORD (hexadecimal) or RECORD@INSTALLTIME", n, f[5])
				}
				if s.records == nil {
					s.records = map[packageKey]packageRecord{}
				}
				s.records[packageKey{f[1], f[2]}] = r
			}
		case len(line) > 0 && line[0] == '/' && cur != nil:
			if owners == nil {
				s.paths++
			} else if _, dup := owners[string(line)]; !dup {
				owners[string(line)] = cur
			}
		default:
			return fmt.Errorf("line %d: want a package line or an absolute path after one", n)
		}
	}
	return nil
}

// record is what s holds of pk's files, if anything (a nil Snapshot holds nothing).
func (s *Snapshot) record(pk *pkgdb.Package) (packageRecord, bool) {
	if s == nil {
		return packageRecord{}, false
	}
	r, ok := s.records[packageKey{string(pk.Manager), pk.Name}]
	return r, ok
}

// Owner returns the package that listed path p (under any of its /usr-merge names),
// or nil.
func (s *Snapshot) Owner(p string) *diff.Package {
	names := []string{p}
	if s.names != nil {
		names = s.names(p)
	}
	owners := s.ownerMap()
	for _, n := range names {
		if o := owners[n]; o != nil {
			return o
		}
	}
	return nil
}

// Version returns the version of the package name of manager that the snapshot lists,
// "" when it lists none.
func (s *Snapshot) Version(manager, name string) string {
	return s.versions[packageKey{manager, name}]
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
