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
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/zeebo/blake3"

	"fim/diff"
	"fim/internal/atomicfile"
	"fim/pkgdb"

	"golang.org/x/sys/unix"
)

// A Snapshot is which package listed each path when a baseline was taken: what a
// remove is explained by, since the package database forgets a removed package's
// files; and, for each dpkg package, the identity of the info/PKG.list (and checked
// .md5sums) it was read from, so that a check reads only the .list files that changed
// since (pkgdb.OpenIndexed). It is written beside the baseline (SnapshotPath) by fim
// baseline, as text in one zstd frame (version 1 was gzip'ed; both, and plain text, are
// read):
//
//	fim-packages 2 TIME                  (TIME: Unix nanoseconds when it was read)
//	root /a/baseline/root                (the recorded paths it holds the paths under)
//	alias /bin /usr/bin                  (the root's /usr-merge aliases then)
//	package MANAGER NAME VERSION ARCH [RECORD[@INSTALLTIME]]
//	info BASE LISTID [SUMSID]            (after a dpkg package: pkgdb.FileID)
//	...
//	/a/path/a/package/lists IDS          (sorted; IDS: the packages that list it,
//	...                                   "0,7", by the order of their package lines)
//
// Version 1 (package lines each followed by its paths, no roots, aliases or info) is
// still read; it explains removes, and indexes nothing. It is evidence of the same
// standing as the package database it was read from.
type Snapshot struct {
	Time time.Time
	pkgs []*diff.Package // by the order of the package lines
	// bases are the info base name of each dpkg package of pkgs with an info line
	// ("" for the others); infos their identities, by base name.
	bases []string
	infos map[string]snapshotInfo
	// block holds the path lines, sorted by path, at the offsets in lines; nothing is
	// built from them: a path is found by binary search.
	block   []byte
	lines   []int32
	roots   []string          // nil for version 1: no index
	aliases map[string]string // the /usr-merge aliases when it was taken
	names   func(string) []string
	// records are what the rpm and apk databases said of each package's files
	// (pkgdb.Package.Record, and rpm's install time), by manager and name.
	records map[packageKey]packageRecord
	// versions are the version of each package the snapshot lists, by manager and name.
	versions map[packageKey]string
}

// snapshotInfo is an info line: the identities of a package's .list and .md5sums.
type snapshotInfo struct{ list, sums pkgdb.FileID }

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

// zstdMagic begins a zstd frame (RFC 8878), as the snapshot is written.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// The headers of the snapshot's versions: 2 is written, 1 still read.
const (
	snapshotHeader   = "fim-packages 2 "
	snapshotHeaderV1 = "fim-packages 1 "
)

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
	// The text is compressed whole, so that its frame records the text's size (RFC
	// 8878's Frame_Content_Size) and a reader decompresses it into one buffer of that
	// size, with no copy as it grows.
	var text bytes.Buffer
	bw := bufio.NewWriterSize(&text, 256<<10)
	writeSnapshot(bw, now, db, roots, prior, keep)
	bw.Flush() // into memory: no error
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		p.Abort()
		return nil, db.Warnings(), fmt.Errorf("package snapshot %s: %w", file, err)
	}
	raw := zw.EncodeAll(text.Bytes(), nil)
	zw.Close()
	_, err = tmp.Write(raw)
	if err == nil {
		err = tmp.Sync()
	}
	if err != nil {
		p.Abort()
		return nil, db.Warnings(), fmt.Errorf("package snapshot %s: %w", file, err)
	}
	p.digest = SnapshotDigest(raw)
	return p, db.Warnings(), nil
}

// snapshotPath is a path line's path and the package (its number) that lists it.
type snapshotPath struct {
	path string
	id   int
}

// writeSnapshot writes the text of a snapshot taken at now of the packages of db that
// list paths under roots (and every dpkg package, for its info line), holding prior's
// records of the packages forged since (PrepareSnapshot), and, with keep, prior's
// packages and paths after db's. A path holding a newline is left out, and so is a
// root, and then the index with it (no info lines).
func writeSnapshot(bw *bufio.Writer, now time.Time, db *pkgdb.DB, roots []string, prior *Snapshot, keep bool) {
	fmt.Fprintf(bw, "%s%d\n", snapshotHeader, now.UnixNano())
	if roots == nil {
		roots = []string{"/"}
	}
	index := true
	for _, r := range roots {
		if strings.ContainsRune(r, '\n') || !strings.HasPrefix(r, "/") {
			index = false
			continue
		}
		fmt.Fprintf(bw, "root %s\n", r)
	}
	aliases := db.Aliases()
	for _, alias := range slices.Sorted(maps.Keys(aliases)) {
		fmt.Fprintf(bw, "alias %s %s\n", alias, aliases[alias])
	}
	var paths []snapshotPath
	n := 0
	for _, pk := range db.Packages() {
		base, list, sums, dpkg := db.Info(pk)
		files := db.Files(pk) // those under roots
		if len(files) == 0 && !dpkg {
			continue
		}
		rec := packageRecord{record: pk.Record, installed: pk.Installed}
		if old, ok := prior.record(pk); ok && forged(pk, old) != "" {
			rec = packageRecord{record: old.record, installed: old.installed}
		}
		fmt.Fprintf(bw, "package %s %s %s %s%s\n", pk.Manager, pk.Name, pk.Version, pk.Arch, rec)
		if dpkg && index && !strings.ContainsAny(base, " \n") {
			fmt.Fprintf(bw, "info %s %s", base, list)
			if sums != (pkgdb.FileID{}) {
				fmt.Fprintf(bw, " %s", sums)
			}
			bw.WriteByte('\n')
		}
		for _, f := range files {
			if !strings.ContainsRune(f.Path, '\n') {
				paths = append(paths, snapshotPath{f.Path, n})
			}
		}
		n++
	}
	if keep {
		for _, pk := range prior.pkgs {
			rec := prior.records[packageKey{pk.Manager, pk.Name}]
			if rec.version != pk.Version {
				rec = packageRecord{}
			}
			fmt.Fprintf(bw, "package %s %s %s %s%s\n", pk.Manager, pk.Name, pk.Version, pk.Arch, rec)
		}
		prior.eachPath(func(p string, ids []int) {
			for _, id := range ids {
				paths = append(paths, snapshotPath{p, n + id})
			}
		})
	}
	writePaths(bw, paths)
}

// writePaths writes the path lines of paths, sorted by path, each path once with the
// numbers of the packages that list it, ascending.
func writePaths(bw *bufio.Writer, paths []snapshotPath) {
	slices.SortFunc(paths, func(x, y snapshotPath) int { return cmp.Or(strings.Compare(x.path, y.path), x.id-y.id) })
	for i, p := range paths {
		switch {
		case i > 0 && paths[i-1] == p:
			continue
		case i > 0 && paths[i-1].path == p.path:
			bw.WriteByte(',')
		default:
			if i > 0 {
				bw.WriteByte('\n')
			}
			bw.WriteString(p.path)
			bw.WriteByte(' ')
		}
		bw.WriteString(strconv.Itoa(p.id))
	}
	if len(paths) > 0 {
		bw.WriteByte('\n')
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
	data := raw // plain text, searched in place
	switch {
	case bytes.HasPrefix(raw, zstdMagic):
		zr, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxSnapshot))
		if err != nil {
			return nil, fmt.Errorf("package snapshot %s: %w", file, err)
		}
		defer zr.Close()
		size := 8 * len(raw) // a guess, for a frame that does not record its size (older snapshots)
		var hdr zstd.Header
		if hdr.Decode(raw) == nil && hdr.HasFCS {
			size = int(min(hdr.FrameContentSize, maxSnapshot))
		}
		if data, err = zr.DecodeAll(raw, make([]byte, 0, min(size, maxSnapshot))); err != nil {
			return nil, fmt.Errorf("package snapshot %s: %w", file, err)
		}
	case bytes.HasPrefix(raw, []byte{0x1f, 0x8b}): // gzip, as version 1 wrote it
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("package snapshot %s: %w", file, err)
		}
		var size int64 // what gzip's trailer says the text's size is (modulo 4 GiB): a hint
		if len(raw) >= 4 {
			size = int64(binary.LittleEndian.Uint32(raw[len(raw)-4:]))
		}
		if data, err = readSnapshotBytes(zr, size); err != nil {
			return nil, fmt.Errorf("package snapshot %s: %w", file, err)
		}
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

// parseSnapshot parses the text of a snapshot, of either version; all of it is
// checked.
func parseSnapshot(data []byte) (*Snapshot, error) {
	if len(data) > math.MaxInt32 {
		return nil, fmt.Errorf("larger than %d bytes", math.MaxInt32)
	}
	var s *Snapshot
	var err error
	if bytes.HasPrefix(data, []byte(snapshotHeaderV1)) {
		s, err = parseSnapshotV1(data)
	} else {
		s, err = parseSnapshotV2(data)
	}
	if err != nil {
		return nil, err
	}
	if s.Time.IsZero() {
		return nil, errors.New("empty")
	}
	return s, nil
}

// snapshotLines calls line with each line of data, its number and where it starts; a
// last line without its newline is an error.
func snapshotLines(data []byte, line func(n, off int, l []byte) error) error {
	off := 0
	for n := 1; off < len(data); n++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return fmt.Errorf("line %d: cut short", n)
		}
		if err := line(n, off, data[off:off+i]); err != nil {
			return err
		}
		off += i + 1
	}
	return nil
}

// parseHeader parses the first line of a snapshot of header's version.
func (s *Snapshot) parseHeader(l []byte, header string) error {
	ts, ok := strings.CutPrefix(string(l), header)
	ns, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || ns < 0 {
		return fmt.Errorf("line 1: not a package snapshot")
	}
	s.Time = time.Unix(0, ns)
	return nil
}

// parsePackage parses a package line and adds its package.
func (s *Snapshot) parsePackage(n int, l []byte) error {
	f := strings.Split(string(l), " ")
	if len(f) != 5 && len(f) != 6 || f[1] == "" || f[2] == "" {
		return fmt.Errorf("line %d: want package MANAGER NAME VERSION ARCH [RECORD[@INSTALLTIME]]", n)
	}
	s.pkgs = append(s.pkgs, &diff.Package{Manager: f[1], Name: f[2], Version: f[3], Arch: f[4]})
	s.bases = append(s.bases, "")
	if s.versions == nil {
		s.versions = map[packageKey]string{}
	}
	s.versions[packageKey{f[1], f[2]}] = f[3]
	if len(f) == 6 {
		r, ok := parseRecord(f[3], f[5])
		if !ok {
			return fmt.Errorf("line %d: %.60q: want RECORD (hexadecimal) or RECORD@INSTALLTIME", n, f[5])
		}
		if s.records == nil {
			s.records = map[packageKey]packageRecord{}
		}
		s.records[packageKey{f[1], f[2]}] = r
	}
	return nil
}

// parseSnapshotV2 parses the text of a snapshot of version 2.
func parseSnapshotV2(data []byte) (*Snapshot, error) {
	s := &Snapshot{block: data, roots: []string{}, aliases: map[string]string{}, infos: map[string]snapshotInfo{},
		lines: make([]int32, 0, bytes.Count(data, []byte{'\n'}))} // most lines are path lines
	var last []byte // the last path line's path
	var ids []int   // a path line's package numbers
	err := snapshotLines(data, func(n, off int, l []byte) error {
		switch {
		case n == 1:
			return s.parseHeader(l, snapshotHeader)
		case len(l) > 0 && l[0] == '/':
			sp := bytes.LastIndexByte(l, ' ')
			if sp < 0 || len(s.pkgs) == 0 {
				return fmt.Errorf("line %d: want PATH IDS after the packages", n)
			}
			if last != nil && bytes.Compare(last, l[:sp]) >= 0 {
				return fmt.Errorf("line %d: %.60q not after %.60q", n, l[:sp], last)
			}
			var ok bool
			if ids, ok = s.ids(l[sp+1:], ids[:0]); !ok {
				return fmt.Errorf("line %d: %.60q: want numbers of the packages above, ascending", n, l[sp+1:])
			}
			last = l[:sp]
			s.lines = append(s.lines, int32(off))
		case last != nil:
			return fmt.Errorf("line %d: want a path line", n)
		case bytes.HasPrefix(l, []byte("root /")) && len(s.pkgs) == 0 && len(s.aliases) == 0:
			s.roots = append(s.roots, string(l[len("root "):]))
		case bytes.HasPrefix(l, []byte("alias ")) && len(s.pkgs) == 0:
			f := strings.Split(string(l), " ")
			if len(f) != 3 || !strings.HasPrefix(f[1], "/") || !strings.HasPrefix(f[2], "/") {
				return fmt.Errorf("line %d: want alias PATH PATH", n)
			}
			s.aliases[f[1]] = f[2]
		case bytes.HasPrefix(l, []byte("package ")):
			return s.parsePackage(n, l)
		case bytes.HasPrefix(l, []byte("info ")) && len(s.pkgs) > 0:
			return s.parseInfo(n, l)
		default:
			return fmt.Errorf("line %d: want a root, alias, package or info line, or a path line after them", n)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// parseInfo parses an info line, of the dpkg package above it.
func (s *Snapshot) parseInfo(n int, l []byte) error {
	f := strings.Split(string(l), " ")
	if len(f) != 3 && len(f) != 4 || f[1] == "" || s.pkgs[len(s.pkgs)-1].Manager != string(pkgdb.Dpkg) || s.bases[len(s.bases)-1] != "" {
		return fmt.Errorf("line %d: want info BASE LISTID [SUMSID] after a dpkg package line", n)
	}
	if _, dup := s.infos[f[1]]; dup {
		return fmt.Errorf("line %d: info %.60q twice", n, f[1])
	}
	var in snapshotInfo
	var ok bool
	if in.list, ok = pkgdb.ParseFileID(f[2]); !ok {
		return fmt.Errorf("line %d: %.60q is not DEV:INO:SIZE:MTIME:CTIME", n, f[2])
	}
	if len(f) == 4 {
		if in.sums, ok = pkgdb.ParseFileID(f[3]); !ok {
			return fmt.Errorf("line %d: %.60q is not DEV:INO:SIZE:MTIME:CTIME", n, f[3])
		}
	}
	s.infos[f[1]] = in
	s.bases[len(s.bases)-1] = f[1]
	return nil
}

// ids parses a path line's package numbers, appending them to out: ok is false unless
// they are ascending numbers of packages s holds, each written canonically.
func (s *Snapshot) ids(b []byte, out []int) ([]int, bool) {
	prev := -1
	for {
		num, rest, more := bytes.Cut(b, []byte{','})
		id := 0
		for i, c := range num {
			if c < '0' || c > '9' || i > 0 && id == 0 || id >= len(s.pkgs) {
				return out, false // not a number of a package, or not written as strconv does
			}
			id = id*10 + int(c-'0')
		}
		if len(num) == 0 || id <= prev || id >= len(s.pkgs) {
			return out, false
		}
		out = append(out, id)
		prev = id
		if !more {
			return out, true
		}
		b = rest
	}
}

// parseSnapshotV1 parses the text of a snapshot of version 1 into the form of one of
// version 2, without an index.
func parseSnapshotV1(data []byte) (*Snapshot, error) {
	s := &Snapshot{}
	var paths []snapshotPath
	err := snapshotLines(data, func(n, _ int, l []byte) error {
		switch {
		case n == 1:
			return s.parseHeader(l, snapshotHeaderV1)
		case bytes.HasPrefix(l, []byte("package ")):
			return s.parsePackage(n, l)
		case len(l) > 0 && l[0] == '/' && len(s.pkgs) > 0:
			paths = append(paths, snapshotPath{string(l), len(s.pkgs) - 1})
			return nil
		}
		return fmt.Errorf("line %d: want a package line or an absolute path after one", n)
	})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	bw := bufio.NewWriter(&b)
	writePaths(bw, paths)
	bw.Flush()
	s.block = b.Bytes()
	return s, snapshotLines(s.block, func(_, off int, _ []byte) error {
		s.lines = append(s.lines, int32(off))
		return nil
	})
}

// line returns the path and the package numbers of path line i.
func (s *Snapshot) line(i int) (path, ids []byte) {
	l := s.block[s.lines[i]:]
	l = l[:bytes.IndexByte(l, '\n')]
	sp := bytes.LastIndexByte(l, ' ')
	return l[:sp], l[sp+1:]
}

// find returns the numbers of the packages that list the path p, nil for none: a
// binary search of the path lines.
func (s *Snapshot) find(p string) []int {
	key := []byte(p)
	i, found := sort.Find(len(s.lines), func(i int) int {
		path, _ := s.line(i)
		return bytes.Compare(key, path)
	})
	if !found {
		return nil
	}
	_, b := s.line(i)
	ids, _ := s.ids(b, nil)
	return ids
}

// eachPath calls yield with every path line's path and package numbers, in order.
func (s *Snapshot) eachPath(yield func(p string, ids []int)) {
	var ids []int
	for i := range s.lines {
		path, b := s.line(i)
		ids, _ = s.ids(b, ids[:0])
		yield(string(path), ids)
	}
}

// paths is how many paths s lists.
func (s *Snapshot) paths() int { return len(s.lines) }

// record is what s holds of pk's files, if anything (a nil Snapshot holds nothing).
func (s *Snapshot) record(pk *pkgdb.Package) (packageRecord, bool) {
	if s == nil {
		return packageRecord{}, false
	}
	r, ok := s.records[packageKey{string(pk.Manager), pk.Name}]
	return r, ok
}

// Owner returns the package that listed path p (under any of its /usr-merge names),
// or nil; of several, the first listed.
func (s *Snapshot) Owner(p string) *diff.Package {
	names := []string{p}
	if s.names != nil {
		names = s.names(p)
	}
	for _, n := range names {
		if ids := s.find(n); len(ids) > 0 {
			return s.pkgs[ids[0]]
		}
	}
	return nil
}

// Index returns what s holds of dpkg's .list files, for pkgdb.OpenIndexed; nil when it
// holds nothing (a snapshot of version 1, or one without info lines).
func (s *Snapshot) Index() pkgdb.ListIndex {
	if s == nil || s.roots == nil || len(s.infos) == 0 {
		return nil
	}
	return snapshotIndex{s}
}

// snapshotIndex is a Snapshot as a pkgdb.ListIndex.
type snapshotIndex struct{ s *Snapshot }

func (x snapshotIndex) Roots() []string            { return x.s.roots }
func (x snapshotIndex) Aliases() map[string]string { return x.s.aliases }

func (x snapshotIndex) Info(base string) (list, sums pkgdb.FileID, ok bool) {
	in, ok := x.s.infos[base]
	return in.list, in.sums, ok
}

func (x snapshotIndex) Listed(p string, yield func(base string, dir bool)) {
	ids := x.s.find(p)
	var dirs []bool
	for i, id := range ids {
		if b := x.s.bases[id]; b != "" {
			if dirs == nil {
				dirs = x.s.below(p, ids)
			}
			yield(b, dirs[i])
		}
	}
}

// below says, of each of the packages ids (ascending) that list the path p, whether
// it lists a path directly below p too. The path lines below p follow p's, after
// those of its siblings that p is a prefix of (/etc-, /etc.d): it searches for the
// first, then steps from each path directly below p to the next, over the paths below
// that one, until every package of ids is found.
func (s *Snapshot) below(p string, ids []int) []bool {
	dirs := make([]bool, len(ids))
	prefix := []byte(p + "/")
	if p == "/" {
		prefix = prefix[:1]
	}
	next := func(key []byte) int { // the first path line not before key
		i, _ := sort.Find(len(s.lines), func(i int) int {
			path, _ := s.line(i)
			return bytes.Compare(key, path)
		})
		return i
	}
	var listed []int
	left := len(ids)
	for i := next(prefix); i < len(s.lines) && left > 0; {
		path, b := s.line(i)
		rest, ok := bytes.CutPrefix(path, prefix)
		if !ok {
			break
		}
		if j := bytes.IndexByte(rest, '/'); j >= 0 { // below the path q below p: past q's
			q := path[: len(prefix)+j : len(prefix)+j]
			i = max(next(append(q, '0')), i+1) // '0' follows '/'
			continue
		}
		if len(rest) == 0 { // p/ (not a path dpkg writes)
			i++
			continue
		}
		listed, _ = s.ids(b, listed[:0])
		for _, id := range listed {
			if k, found := slices.BinarySearch(ids, id); found && !dirs[k] {
				dirs[k] = true
				left--
			}
		}
		i++
	}
	return dirs
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
