package pkgdb

import (
	"fmt"
	"io/fs"
	"math"
	"strings"

	"golang.org/x/sys/unix"
)

// FileID is the identity of a database file as it was read: its device, inode, size,
// modification and change times (nanoseconds). A file whose FileID is the one recorded
// is taken to hold what it held then, as fim check --fast takes a file: rewriting it
// changes its ctime, which only the clock or the raw device can set back.
type FileID struct {
	Dev, Ino, Size uint64
	Mtime, Ctime   int64
}

// String is "DEV:INO:SIZE:MTIME:CTIME", decimal; "" for the zero FileID.
func (id FileID) String() string {
	if id == (FileID{}) {
		return ""
	}
	return fmt.Sprintf("%d:%d:%d:%d:%d", id.Dev, id.Ino, id.Size, id.Mtime, id.Ctime)
}

// ParseFileID parses what String writes, and nothing else.
func ParseFileID(s string) (FileID, bool) {
	var id FileID
	var f [5]string
	for i := range f {
		var ok bool
		if f[i], s, ok = strings.Cut(s, ":"); ok != (i < len(f)-1) {
			return FileID{}, false
		}
	}
	var ok [5]bool
	id.Dev, ok[0] = parseDecimal(f[0])
	id.Ino, ok[1] = parseDecimal(f[1])
	id.Size, ok[2] = parseDecimal(f[2])
	id.Mtime, ok[3] = parseSigned(f[3])
	id.Ctime, ok[4] = parseSigned(f[4])
	if ok != [5]bool{true, true, true, true, true} || id == (FileID{}) {
		return FileID{}, false
	}
	return id, true
}

// parseDecimal parses a number written in decimal as strconv writes it: digits, the
// first not 0 unless it is the only one, not over 2^64-1.
func parseDecimal(s string) (uint64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' || len(s) > 20 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		d := uint64(s[i] - '0')
		if d > 9 || n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parseSigned parses an int64 written in decimal as strconv writes it: parseDecimal's,
// or "-" and parseDecimal's but 0.
func parseSigned(s string) (int64, bool) {
	s, neg := strings.CutPrefix(s, "-")
	n, ok := parseDecimal(s)
	switch {
	case !ok || neg && n == 0:
		return 0, false
	case neg && n <= 1<<63:
		return int64(-n), true // -2^63 too
	case !neg && n < 1<<63:
		return int64(n), true
	}
	return 0, false
}

func fileID(st *unix.Stat_t) FileID {
	return FileID{Dev: st.Dev, Ino: st.Ino, Size: uint64(st.Size), Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}
}

// A ListIndex is what was recorded, at some earlier time, of which dpkg packages list
// each path at or below some roots, and of the info/BASE.list (and .md5sums) files
// that was read from: a package snapshot kept beside a baseline. OpenIndexed uses it
// in place of the .list files that are still as it recorded them.
type ListIndex interface {
	// Roots are the recorded paths whose paths the index holds: the paths at or below
	// them, under any of their names through Aliases.
	Roots() []string
	// Aliases are the /usr-merge aliases of the root when the index was made
	// (DB.Aliases).
	Aliases() map[string]string
	// Info returns the identities recorded of info/BASE.list and of info/BASE.md5sums
	// (zero when none was read, or it was damaged), ok false when BASE is not indexed.
	Info(base string) (list, sums FileID, ok bool)
	// Listed calls yield with the info base name of each indexed package that listed
	// the recorded path p, in the order of dpkg's status file then, and whether that
	// package listed a path directly below p too (then p is one of its directories,
	// which its .md5sums does not record; false when not known).
	Listed(p string, yield func(base string, dir bool))
}

// OpenIndexed is Open, with the paths listed by every dpkg package whose .list is as
// idx recorded it (FileID) taken from idx instead of read: the .list of a package
// installed, reinstalled, upgraded or edited since is read, and a removed package's
// entries are ignored. A .md5sums as recorded (checked when the index was made) is read
// only when one of its package's paths is asked for. A path outside idx's roots (a
// symlink's target) makes every indexed package's .list be read then, once. A nil idx,
// or one made with other /usr-merge aliases than the root has now, is Open.
func OpenIndexed(root string, idx ListIndex) (*DB, error) {
	return openWith(root, false, nil, idx)
}

// Aliases are the /usr-merge aliases of the root: "/bin" → "/usr/bin" where the root's
// bin is a symlink to usr/bin.
func (db *DB) Aliases() map[string]string { return db.aliases }

// Info returns the base name of dpkg package p's info files, and the identities of its
// .list and its .md5sums as they were read (the latter zero when it was not read, or
// was damaged), for an index (ListIndex). ok is false for a package that is not dpkg's
// or has no .list.
func (db *DB) Info(p *Package) (base string, list, sums FileID, ok bool) {
	if p.Manager != Dpkg || p.base == "" {
		return "", FileID{}, FileID{}, false
	}
	return p.base, p.listID, p.sumsID, true
}

// sameAliases says whether a and b are the same aliases.
func sameAliases(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// infoStats returns a function giving the identity of a regular file directly in dpkg's
// info directory, by name; ok false when it is not there or not a regular file.
func (db *DB) infoStats() (stat func(name string) (FileID, bool), done func(), err error) {
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	fd, err := unix.Openat2(db.root.fd, dpkgInfo, how)
	if err != nil {
		return nil, nil, &fs.PathError{Op: "open", Path: db.root.name(dpkgInfo), Err: err}
	}
	return func(name string) (FileID, bool) {
		var st unix.Stat_t
		if strings.Contains(name, "/") || unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			return FileID{}, false
		}
		return fileID(&st), true
	}, func() { unix.Close(fd) }, nil
}

// chain returns the records of the recorded path p, the first owner first.
func (db *DB) chain(p string) []*File {
	if db.indexing {
		db.mu.Lock()
		defer db.mu.Unlock()
	}
	var out []*File
	for f := db.headLocked(p); f != nil; f = f.next {
		out = append(out, f)
	}
	return out
}

// headLocked returns the first record of the recorded path p (then f.next). In an
// indexed DB, whose lock is held, it adds first the records of the indexed packages
// that list p.
func (db *DB) headLocked(p string) *File {
	if !db.indexing {
		return db.owners[p]
	}
	if db.index != nil && !db.within(p) {
		db.readIndexed()
	}
	if db.index != nil && !db.merged[p] {
		db.merged[p] = true
		db.index.Listed(p, func(base string, dir bool) {
			if pkg := db.indexed[base]; pkg != nil {
				db.addRecord(p, pkg, dir)
			}
		})
	}
	return db.owners[p]
}

// addRecord makes the record of the recorded path p that the indexed package pkg
// lists (with dir: and a path below it), as addDpkgPackage would have made it, and adds
// it to p's owners.
func (db *DB) addRecord(p string, pkg *Package, dir bool) *File {
	f := &File{Path: p, Package: pkg, dir: dir}
	for _, c := range db.conffiles[pkg] {
		if c.Path == p {
			f.Flags |= FlagConfig
			if c.Digest != nil {
				f.Algorithm, f.Digest = MD5, c.Digest
			}
		}
	}
	if s := db.pending[pkg]; s != nil && s.later != nil && !f.IsConfig() && !dir {
		if d, ok := s.later[p]; ok {
			f.Algorithm, f.Digest = MD5, d
		}
	}
	db.insert(f)
	return f
}

// insert adds f to the owners of its path in the order the packages were read (the
// last read first, as link does), unless its package is there already.
func (db *DB) insert(f *File) {
	head := db.owners[f.Path]
	var prev *File
	for o := head; o != nil; o = o.next {
		if o.Package == f.Package {
			return
		}
		if o.Package.order < f.Package.order {
			break
		}
		prev = o
	}
	if prev == nil {
		f.next = head
		db.owners[f.Path] = f
		return
	}
	f.next, prev.next = prev.next, f
}

// readIndexed reads the .list of every indexed package, for a path the index does not
// cover: from then on the DB is as Open would have made it. A .list that cannot be read
// now (it changed since Open) is a warning, and its package's paths outside the
// index's roots are then not known. The lock is held.
func (db *DB) readIndexed() {
	for _, pkg := range db.packages {
		if pkg.Manager != Dpkg || db.indexed[pkg.base] != pkg {
			continue
		}
		listName := dpkgInfo + "/" + pkg.base + ".list"
		data, err := db.root.ReadFile(listName, maxInfoFile)
		var paths []string
		if err == nil {
			paths, err = parseList(data)
		}
		if err != nil {
			db.warnings = append(db.warnings, db.damage(Dpkg, listName, err))
		}
		files := make([]*File, 0, len(paths))
		for _, p := range paths {
			if !db.merged[p] {
				files = append(files, db.addRecord(p, pkg, false))
			} else if f := db.ownedBy(p, pkg); f != nil {
				files = append(files, f)
			}
		}
		db.dpkgDirs(pkg, files, false)
		db.files[pkg] = files
	}
	db.index, db.indexed, db.merged = nil, nil, nil
}
