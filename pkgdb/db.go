package pkgdb

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Manager names a package database format.
type Manager string

// The package managers whose databases are read.
const (
	Dpkg Manager = "dpkg"
	RPM  Manager = "rpm"
	APK  Manager = "apk"
)

// Package is one installed package.
type Package struct {
	Manager Manager
	Name    string
	Version string // dpkg: the Version field; rpm: [EPOCH:]VERSION-RELEASE; apk: V:
	Arch    string
	Status  string // dpkg's Status field ("install ok installed"); empty for rpm and apk
	// Installed is when rpm installed it (its header's INSTALLTIME, Unix seconds); 0
	// for dpkg and apk.
	Installed int64
	// Record is a digest of what an rpm or apk database says of the package's files
	// (paths, digests, modes, owners, flags): a change of it without a transaction is
	// an edit of the database. "" for dpkg, whose files say it (info/PKG.*).
	Record string

	rpm            *rpmTrust // rpm: its header's signatures, or the keys it imports; nil when neither
	order          int       // when it was read: the first package 0 (DB.insert)
	base           string    // dpkg: its info files' name, info/BASE.list
	listID, sumsID FileID    // dpkg: its .list and checked .md5sums as read (DB.Info)
}

// String is "name version arch (manager)".
func (p *Package) String() string {
	return fmt.Sprintf("%s %s %s (%s)", p.Name, p.Version, p.Arch, p.Manager)
}

// Algorithm names the digest a package recorded for a file.
type Algorithm string

// The digests package managers record.
const (
	MD5    Algorithm = "md5"
	SHA1   Algorithm = "sha1"
	SHA224 Algorithm = "sha224"
	SHA256 Algorithm = "sha256"
	SHA384 Algorithm = "sha384"
	SHA512 Algorithm = "sha512"
)

// FileFlags are what a package says about one of its files.
type FileFlags uint32

// File flags: Config is a dpkg conffile or an rpm %config file; Ghost, Doc and
// MissingOK are rpm's %ghost, %doc and %config(missingok).
const (
	FlagConfig FileFlags = 1 << iota
	FlagGhost
	FlagDoc
	FlagMissingOK
)

// File is what one package records about one of its paths.
type File struct {
	Path      string // as the package records it (absolute, as dpkg or rpm wrote it)
	Package   *Package
	Algorithm Algorithm // "" when no digest is recorded
	Digest    []byte    // nil when no digest is recorded (directories, symlinks, ghosts)
	Flags     FileFlags
	// Meta is what rpm (all of it) and apk (mode, owner, group) record of the file
	// beside its digest; nil when nothing is recorded (dpkg records none).
	Meta *FileMeta

	next *File // the next owner of the same path
	// dir says the package (dpkg's) lists a path directly below this one: it is one of
	// the package's directories, which its .md5sums does not record (dpkgDirs), so
	// that file is neither read nor searched for it.
	dir bool
}

// FileMeta is what rpm and apk record of a file's mode, owner and more. It is a record
// of its own so that the files of dpkg, which records none of it, take less room.
type FileMeta struct {
	Mode   uint32 // st_mode bits: type and permissions
	Owner  string // a user name (rpm) or number (apk)
	Group  string
	Size   int64
	Mtime  int64 // seconds since the epoch
	LinkTo string
}

// IsConfig says whether the file is a dpkg conffile or an rpm %config file.
func (f *File) IsConfig() bool { return f.Flags&FlagConfig != 0 }

// Damage says a package database file could not be read or parsed. Every verdict
// drawn from that manager is then unknown.
type Damage struct {
	Manager Manager
	File    string // the file under the root
	Line    int    // 0 when the file as a whole is unusable
	Err     error
}

func (d *Damage) Error() string {
	if d.Line > 0 {
		return fmt.Sprintf("%s database damaged: %s:%d: %v", d.Manager, d.File, d.Line, d.Err)
	}
	return fmt.Sprintf("%s database damaged: %s: %v", d.Manager, d.File, d.Err)
}

func (d *Damage) Unwrap() error { return d.Err }

// lineError is a parser's complaint about one line of its input.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// damage turns an error about file (relative to the root) into a Damage that names
// the file as it is reached from outside the root.
func (db *DB) damage(m Manager, file string, err error) *Damage {
	name := db.root.name(file)
	var le *lineError
	if errors.As(err, &le) {
		return &Damage{Manager: m, File: name, Line: le.line, Err: errors.New(le.msg)}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == name {
		err = pe.Err // named already
	}
	return &Damage{Manager: m, File: name, Err: err}
}

// DB is the package databases found under one root. It is read whole by Open and not
// changed afterwards: it is safe for concurrent use.
type DB struct {
	root     *Root
	owners   map[string]*File     // by recorded path: the first owner, then f.next
	from     map[string]diversion // dpkg diversions, by the diverted path
	to       map[string]diversion // dpkg diversions, by where the diverted file lives
	aliases  map[string]string    // "/bin" → "/usr/bin", where the root has that symlink
	present  []Manager            // databases found, in the order read
	damaged  map[Manager]*Damage  // managers whose verdicts are unknown
	warnings []error
	log      []Transaction
	packages []*Package
	files    map[*Package][]*File
	pending  map[*Package]*dpkgSums         // dpkg packages whose .md5sums are parsed when needed
	rpmKeys  map[uint64][]*packet.PublicKey // the keys rpm trusts (rpmKeyring), by key ID
	rpmDir   string                         // where the rpm database was found
	lists    bool                           // OpenLists: which paths each package lists, nothing more
	keep     func(string) bool              // OpenLists: the paths recorded (nil: all)

	algsOnce sync.Once
	algs     []Algorithm // every digest algorithm fim knows that a file records (NewSumsAny)

	idsOnce sync.Once
	idMaps  *idMaps

	// An indexed DB (OpenIndexed) makes the records of the packages whose .list its
	// index holds as they are when a path is asked for, under mu.
	indexing  bool
	mu        sync.Mutex
	index     ListIndex           // nil once every .list was read (readIndexed)
	within    func(string) bool   // the paths the index covers
	indexed   map[string]*Package // by info base name: not read, in the index
	conffiles map[*Package][]conffile
	merged    map[string]bool // paths whose indexed owners were added
}

// usrAliases are the directories a merged /usr makes symlinks to /usr/NAME.
var usrAliases = []string{"bin", "sbin", "lib", "lib32", "lib64", "libx32", "libo32"}

// Open reads the package databases under the directory root ("/" for this host). It
// fails only when root cannot be opened; a database that is missing is not an error,
// and one that is damaged is a warning (Warnings) that makes every verdict drawn from
// that manager unknown. Close releases the root.
func Open(root string) (*DB, error) { return openWith(root, false, nil, nil) }

// OpenLists reads under root only which paths each installed package lists below
// roots (recorded paths, under any of their Names; nil: everywhere), as Open does, at a
// fraction of its cost: dpkg's status and .list files, not its .md5sums, diversions or
// log (rpm and apk keep all of it in one file, read whole), and only the paths below
// roots are recorded. Packages (every one), Files (those paths, without digests),
// Names and Within answer as after Open; verdicts do not.
func OpenLists(root string, roots []string) (*DB, error) { return openWith(root, true, roots, nil) }

func openWith(root string, lists bool, roots []string, idx ListIndex) (*DB, error) {
	r, err := OpenRoot(root)
	if err != nil {
		return nil, err
	}
	db := &DB{
		lists:   lists,
		root:    r,
		owners:  make(map[string]*File),
		files:   make(map[*Package][]*File),
		pending: make(map[*Package]*dpkgSums),
		aliases: make(map[string]string),
		damaged: make(map[Manager]*Damage),
	}
	for _, name := range usrAliases {
		if t, err := r.readlink(name); err == nil && strings.TrimPrefix(path.Clean(t), "/") == "usr/"+name {
			db.aliases["/"+name] = "/usr/" + name
		}
	}
	if lists && roots != nil {
		db.keep = db.Within(roots)
	}
	if idx != nil && sameAliases(idx.Aliases(), db.aliases) {
		db.index, db.within = idx, db.Within(idx.Roots())
		db.indexed, db.conffiles, db.merged = map[string]*Package{}, map[*Package][]conffile{}, map[string]bool{}
	}
	for _, m := range []struct {
		name Manager
		load func(*DB) (bool, error)
	}{{Dpkg, (*DB).loadDpkg}, {RPM, (*DB).loadRPM}, {APK, (*DB).loadAPK}} {
		found, err := m.load(db)
		if found {
			db.present = append(db.present, m.name)
		}
		if err != nil {
			var d *Damage
			if !errors.As(err, &d) {
				d = &Damage{Manager: m.name, Err: err}
			}
			db.damaged[m.name] = d
			db.warnings = append(db.warnings, d)
			db.drop(m.name)
		}
	}
	db.rpmKeyring()
	sort.SliceStable(db.log, func(i, j int) bool { return db.log[i].Time.Before(db.log[j].Time) })
	return db, nil
}

// Close releases the root directory.
func (db *DB) Close() error { return db.root.Close() }

// Root is the directory the databases were read under.
func (db *DB) Root() *Root { return db.root }

// Warnings are the damaged databases found, one line each, naming the file and the
// line (errors of type *Damage), and other problems that left a verdict unknown.
func (db *DB) Warnings() []error {
	if db.indexing {
		db.mu.Lock()
		defer db.mu.Unlock()
	}
	return slices.Clip(db.warnings)
}

// Managers are the package databases found under the root, damaged or not.
func (db *DB) Managers() []Manager { return db.present }

// Damaged returns the damage that made manager m's verdicts unknown, or nil.
func (db *DB) Damaged(m Manager) *Damage { return db.damaged[m] }

// Packages are the installed packages of the databases that could be read.
func (db *DB) Packages() []*Package { return db.packages }

// Log is the package log (dpkg.log and its rotations), oldest first.
func (db *DB) Log() []Transaction { return db.log }

// drop forgets every file and package of manager m.
func (db *DB) drop(m Manager) {
	for p, f := range db.owners {
		var head, tail *File
		for ; f != nil; f = f.next {
			if f.Package.Manager == m {
				continue
			}
			if head == nil {
				head = f
			} else {
				tail.next = f
			}
			tail = f
		}
		if head == nil {
			delete(db.owners, p)
		} else {
			tail.next = nil
			db.owners[p] = head
		}
	}
	keep := db.packages[:0]
	for _, p := range db.packages {
		if p.Manager != m {
			keep = append(keep, p)
		} else {
			delete(db.files, p)
		}
	}
	db.packages = keep
	if m == Dpkg {
		db.from, db.to, db.log, db.pending = nil, nil, nil, nil
		db.indexing, db.index, db.indexed, db.conffiles, db.merged = false, nil, nil, nil, nil
	}
}

// addPackage records pkg and its files, each under its path.
func (db *DB) addPackage(pkg *Package, files []*File) {
	if pkg.Manager != Dpkg {
		pkg.Record = record(files)
	}
	if db.keep != nil {
		files = slices.DeleteFunc(files, func(f *File) bool { return !db.keep(f.Path) })
	}
	pkg.order = len(db.packages)
	db.packages = append(db.packages, pkg)
	db.files[pkg] = files
	for _, f := range files {
		db.link(f)
	}
}

// link adds f to the owners of its path, first: the package being read finds its own
// records at the head (ownedBy).
func (db *DB) link(f *File) {
	f.next = db.owners[f.Path]
	db.owners[f.Path] = f
}

// ownedBy returns pkg's record of path p, or nil, of those made (an indexed DB makes
// records when a path is asked for: headLocked). An indexed DB's lock is held.
func (db *DB) ownedBy(p string, pkg *Package) *File {
	for f := db.owners[p]; f != nil; f = f.next {
		if f.Package == pkg {
			return f
		}
	}
	return nil
}

// Files returns what package p records about its files, in the order it lists them
// (dpkg: its .list; a path only its .md5sums names is not one, as for dpkg --verify).
func (db *DB) Files(p *Package) []*File {
	if db.indexing {
		db.mu.Lock()
		if db.index != nil && db.indexed[p.base] == p {
			db.readIndexed()
		}
		db.mu.Unlock()
	}
	db.sums(p)
	return db.files[p]
}

// Names are the names path p (absolute, clean) may be recorded under: p itself first,
// then p through the /usr-merge aliases the root has (/usr/sbin/x for /sbin/x, and the
// other way).
func (db *DB) Names(p string) []string { return db.variants(p) }

// variants is Names.
func (db *DB) variants(p string) []string {
	out := []string{p}
	if len(db.aliases) == 0 {
		return out
	}
	for alias, target := range db.aliases {
		if rest, ok := strings.CutPrefix(p, target+"/"); ok {
			out = append(out, alias+"/"+rest)
		} else if rest, ok := strings.CutPrefix(p, alias+"/"); ok {
			out = append(out, target+"/"+rest)
		}
	}
	return out
}

// Within returns whether a path (absolute, clean) is, under one of its Names, one of
// roots (recorded paths) or below one. It looks at each path without allocating.
func (db *DB) Within(roots []string) func(p string) bool {
	var at, below []string // paths within: one of at or below it, and strictly below
	for _, r := range roots {
		if r == "/" {
			return func(string) bool { return true }
		}
		at = append(at, db.variants(r)...) // below an alias or its target: the other name
		for alias, target := range db.aliases {
			if target == r || strings.HasPrefix(target, r+"/") { // /usr holds /usr/bin: /bin/x too
				below = append(below, alias)
			}
			if alias == r {
				below = append(below, target)
			}
		}
	}
	return func(p string) bool {
		for _, r := range at {
			if strings.HasPrefix(p, r) && (len(p) == len(r) || p[len(r)] == '/') {
				return true
			}
		}
		for _, r := range below {
			if strings.HasPrefix(p, r) && len(p) > len(r) && p[len(r)] == '/' {
				return true
			}
		}
		return false
	}
}

// Owners returns the records of the packages that own the file at path p (absolute,
// under the root) as it is on disk: after dpkg diversions (a diverted path belongs to
// the diverting package's file; the file moved aside belongs to the package that
// shipped it under the original name) and the /usr-merge aliases of the root (dpkg
// records /sbin/e2fsck for what is reached as /usr/sbin/e2fsck, and rpm the other
// way). Most paths have one owner or none; directories and Multi-Arch: same files of
// dpkg have several.
func (db *DB) Owners(p string) []*File {
	p = path.Clean("/" + p)
	for _, v := range db.variants(p) {
		if files := db.ownersAt(v); len(files) > 0 {
			for _, f := range files {
				db.sumsFor(f)
			}
			return files
		}
	}
	return nil
}

// Where returns the path (under the root) at which f's file lives: f.Path, or where a
// dpkg diversion by another package (or by the administrator) moved it.
func (db *DB) Where(f *File) string {
	if d, ok := db.from[f.Path]; ok && f.Package.Manager == Dpkg && (d.Package == "" || f.Package.Name != d.Package) {
		return d.To
	}
	return f.Path
}

// ownersAt applies the diversions to the recorded path p.
func (db *DB) ownersAt(p string) []*File {
	var out []*File
	if d, ok := db.to[p]; ok {
		// p holds the file some other package shipped as d.From.
		for _, f := range db.chain(d.From) {
			if !(f.Package.Manager == Dpkg && f.Package.Name == d.Package) {
				out = append(out, f)
			}
		}
		return out
	}
	d, diverted := db.from[p]
	for _, f := range db.chain(p) {
		// A diverted p holds only the diverting package's own file (a local
		// diversion, made by the administrator, leaves p to no package).
		if !diverted || f.Package.Manager == Dpkg && f.Package.Name == d.Package && d.Package != "" {
			out = append(out, f)
		}
	}
	return out
}

// record is the digest of what a package database says of files (Package.Record).
func record(files []*File) string {
	h := sha256.New()
	for _, f := range files {
		var m FileMeta
		if f.Meta != nil {
			m = *f.Meta
		}
		fmt.Fprintf(h, "%q %s %x %o %q %q %d\n", f.Path, f.Algorithm, f.Digest, m.Mode, m.Owner, m.Group, f.Flags)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
