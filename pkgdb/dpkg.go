package pkgdb

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Size limits of the database files read whole. They are far above what real hosts
// carry (a status of 3,000 packages is about 3 MiB, a .list rarely above 1 MiB), and
// keep a hostile or broken database from taking the memory of the host.
const (
	maxStatus     = 256 << 20
	maxInfoFile   = 64 << 20
	maxDiversions = 16 << 20
	maxLog        = 256 << 20
)

const (
	dpkgDir        = "var/lib/dpkg"
	dpkgStatus     = dpkgDir + "/status"
	dpkgInfo       = dpkgDir + "/info"
	dpkgDiversions = dpkgDir + "/diversions"
	dpkgUpdates    = dpkgDir + "/updates"
)

// statusEntry is one paragraph of dpkg's status file.
type statusEntry struct {
	Package, Version, Arch, Status string
	Conffiles                      []conffile
	line                           int // where the paragraph starts
}

// conffile is one line of a Conffiles field. Digest is nil for a conffile dpkg has not
// installed yet ("newconffile") or recorded without a digest.
type conffile struct {
	Path     string
	Digest   []byte
	Obsolete bool
}

// parseStatus parses dpkg's status file: paragraphs of "Field: value" lines, a
// continuation line starting with a space or tab, paragraphs separated by empty lines.
// Only the fields fim needs are kept; any line that is neither a field nor a
// continuation, a paragraph without Package, and a malformed Conffiles line are errors.
func parseStatus(data []byte) ([]statusEntry, error) {
	var out []statusEntry
	var cur *statusEntry
	field := "" // the field continuation lines belong to
	finish := func() error {
		if cur == nil {
			return nil
		}
		if cur.Package == "" {
			return &lineError{cur.line, "paragraph without Package field"}
		}
		out = append(out, *cur)
		cur = nil
		return nil
	}
	for n, line := range lines(data) {
		n++
		if len(bytes.TrimSpace(line)) == 0 {
			if err := finish(); err != nil {
				return nil, err
			}
			field = ""
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur == nil || field == "" {
				return nil, &lineError{n, "continuation line outside a field"}
			}
			if field == "conffiles" {
				c, err := parseConffile(string(bytes.TrimSpace(line)))
				if err != nil {
					return nil, &lineError{n, err.Error()}
				}
				cur.Conffiles = append(cur.Conffiles, c)
			}
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return nil, &lineError{n, fmt.Sprintf("not a field: %.40q", line)}
		}
		if cur == nil {
			cur = &statusEntry{line: n}
		}
		field = strings.ToLower(string(name))
		v := string(bytes.TrimSpace(value))
		switch field {
		case "package":
			cur.Package = v
		case "version":
			cur.Version = v
		case "architecture":
			cur.Arch = v
		case "status":
			cur.Status = v
		case "conffiles":
			if v != "" {
				return nil, &lineError{n, "Conffiles with a value on its first line"}
			}
		}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return out, nil
}

// parseConffile parses "PATH MD5 [obsolete|remove-on-upgrade]...".
func parseConffile(s string) (conffile, error) {
	f := strings.Fields(s)
	if len(f) < 2 || !strings.HasPrefix(f[0], "/") {
		return conffile{}, fmt.Errorf("malformed conffile line %.60q", s)
	}
	c := conffile{Path: path.Clean(f[0])}
	for _, flag := range f[2:] {
		if flag == "obsolete" {
			c.Obsolete = true
		}
	}
	if f[1] == "newconffile" || f[1] == "-" {
		return c, nil
	}
	d, err := hex.DecodeString(f[1])
	if err != nil || len(d) != 16 {
		return conffile{}, fmt.Errorf("conffile %.60q: digest %.40q is not an MD5", f[0], f[1])
	}
	c.Digest = d
	return c, nil
}

// installed says whether a package of status st has files on disk: every state but
// not-installed (config-files keeps its conffiles).
func installed(st string) bool {
	f := strings.Fields(st)
	return len(f) == 3 && f[2] != "not-installed"
}

// parseList parses an info/PKG.list file: one absolute path a line.
func parseList(data []byte) ([]string, error) {
	all := string(data) // one allocation: the paths are substrings of it
	out := make([]string, 0, bytes.Count(data, []byte("\n"))+1)
	for n := 1; all != ""; n++ {
		line, rest, _ := strings.Cut(all, "\n")
		all = rest
		if line == "" {
			continue
		}
		if line[0] != '/' {
			return nil, &lineError{n, fmt.Sprintf("not an absolute path: %.60q", line)}
		}
		out = append(out, cleanRecorded(line))
	}
	return out, nil
}

// cleanRecorded cleans a path a package recorded; dpkg lists the root as "/.". A path
// that is clean already (almost every one) is returned without path.Clean's work.
func cleanRecorded(p string) string {
	if len(p) > 1 && p[0] == '/' && p[len(p)-1] != '/' && !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return p
	}
	return path.Clean(p)
}

// eachMD5sum parses an info/PKG.md5sums file: "HEX32  PATH" lines, PATH relative to the
// root (md5sum's output format, a '*' before the name for binary mode). It calls yield,
// if not nil, with each line's path, absolute and clean, and its digest; both are
// reused for the next line. cleaned says whether a name was not written clean. It
// allocates only for such a name: a database is checked whole when it is read, and
// each package's digests are given to its files only when one of its paths needs them
// (DB.sums).
func eachMD5sum(data []byte, yield func(p []byte, digest *[16]byte)) (cleaned bool, err error) {
	name := make([]byte, 0, 256)
	var d [16]byte
	data = bytes.TrimSuffix(data, []byte("\n"))
	for n := 1; len(data) > 0; n++ {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		data = rest
		if len(line) == 0 {
			continue
		}
		if len(line) < 35 || line[32] != ' ' || (line[33] != ' ' && line[33] != '*') {
			return cleaned, &lineError{n, fmt.Sprintf("not \"MD5  PATH\": %.60q", line)}
		}
		if _, err := hex.Decode(d[:], line[:32]); err != nil {
			return cleaned, &lineError{n, fmt.Sprintf("digest %.32q is not hexadecimal", line[:32])}
		}
		name = append(append(name[:0], '/'), line[34:]...)
		if len(name) < 2 || name[len(name)-1] == '/' || bytes.Contains(name, []byte("//")) || bytes.Contains(name, []byte("/.")) {
			if c := path.Clean(string(name)); c != string(name) { // not a name like /etc/.pwd.lock
				name = append(name[:0], c...)
				cleaned = true
			}
		}
		if len(name) == 1 {
			return cleaned, &lineError{n, fmt.Sprintf("%.60q names no file", line[34:])}
		}
		if yield != nil {
			yield(name, &d)
		}
	}
	return cleaned, nil
}

// diversion is one entry of dpkg's diversions file: From is diverted to To by the
// package Package ("" for a local diversion, made by the administrator).
type diversion struct {
	From, To, Package string
}

// parseDiversions parses var/lib/dpkg/diversions: three lines per diversion (the
// diverted path, where it is diverted to, the diverting package or ":" for local).
func parseDiversions(data []byte) ([]diversion, error) {
	ls := lines(data)
	for len(ls) > 0 && len(ls[len(ls)-1]) == 0 {
		ls = ls[:len(ls)-1]
	}
	if len(ls)%3 != 0 {
		return nil, &lineError{len(ls), fmt.Sprintf("%d lines: not a diversion every three lines", len(ls))}
	}
	var out []diversion
	for i := 0; i < len(ls); i += 3 {
		from, to, pkg := string(ls[i]), string(ls[i+1]), string(ls[i+2])
		if !strings.HasPrefix(from, "/") || !strings.HasPrefix(to, "/") {
			return nil, &lineError{i + 1, fmt.Sprintf("diversion %.60q → %.60q: not absolute paths", from, to)}
		}
		if pkg == "" {
			return nil, &lineError{i + 3, "diversion without a package (\":\" for local)"}
		}
		if pkg == ":" {
			pkg = ""
		}
		out = append(out, diversion{From: path.Clean(from), To: path.Clean(to), Package: pkg})
	}
	return out, nil
}

// lines splits data at newlines; a last line without one counts, a final newline does
// not start one more.
func lines(data []byte) [][]byte {
	if len(data) == 0 {
		return nil
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	return bytes.Split(data, []byte("\n"))
}

// loadDpkg reads dpkg's database: the status file, every installed package's .list and
// .md5sums, the diversions and the log (OpenLists: the status and .list files only). It
// reports whether a dpkg database is there. The .md5sums are checked, and parsed only
// when a path of their package needs its digest (dpkgSums).
func (db *DB) loadDpkg() (bool, error) {
	data, err := db.root.ReadFile(dpkgStatus, maxStatus)
	if errors.Is(err, errNotExist) {
		return false, nil
	}
	if err != nil {
		return true, db.damage(Dpkg, dpkgStatus, err)
	}
	entries, err := parseStatus(data)
	if err != nil {
		return true, db.damage(Dpkg, dpkgStatus, err)
	}
	if entries, err = db.dpkgUpdates(entries); err != nil {
		return true, err
	}
	names, err := db.root.ReadDir(dpkgInfo)
	if err != nil {
		return true, db.damage(Dpkg, dpkgInfo, err)
	}
	info := make(map[string]bool, len(names))
	for _, n := range names {
		info[n] = true
	}
	// The packages' files are read and parsed in parallel, and recorded in the order
	// of the status file.
	type job struct {
		pkg       *Package
		base      string
		conffiles []conffile
		sums      bool
		indexed   bool // its .list is as the index holds it: not read
		sumsLater bool // its .md5sums is as the index holds it: read when needed
		read      dpkgFiles
	}
	stat := func(string) (FileID, bool) { return FileID{}, false }
	if db.index != nil {
		s, done, err := db.infoStats()
		if err != nil {
			return true, db.damage(Dpkg, dpkgInfo, err)
		}
		defer done()
		stat = s
	}
	var jobs []*job
	shared := map[string]int{} // how many installed packages have each info base name
	for i := range entries {
		e := &entries[i]
		if !installed(e.Status) {
			continue
		}
		pkg := &Package{Manager: Dpkg, Name: e.Package, Version: e.Version, Arch: e.Arch, Status: e.Status}
		base := e.Package + ":" + e.Arch
		if !info[base+".list"] {
			base = e.Package
		}
		if !info[base+".list"] {
			// dpkg assumes no files for a package whose list is missing; it is so
			// while dpkg unpacks a package new to the host, before it writes the list.
			if len(e.Conffiles) == 0 && (strings.HasSuffix(e.Status, " config-files") || strings.HasSuffix(e.Status, " half-installed")) {
				pkg.order = len(db.packages)
				db.packages = append(db.packages, pkg)
				continue
			}
			return true, db.damage(Dpkg, dpkgInfo+"/"+e.Package+".list",
				fmt.Errorf("missing: the files of %s %s are not known", e.Package, e.Version))
		}
		j := &job{pkg: pkg, base: base, conffiles: e.Conffiles, sums: info[base+".md5sums"]}
		if list, sums, ok := db.indexInfo(base); ok {
			id, found := stat(base + ".list")
			j.indexed = found && id == list
			id, found = stat(base + ".md5sums")
			j.sumsLater = j.indexed && j.sums && found && id == sums
		}
		jobs = append(jobs, j)
		shared[base]++
	}
	for _, j := range jobs {
		if shared[j.base] > 1 { // packages of one .list: each is made of it as read
			j.indexed, j.sumsLater = false, false
		}
	}
	var wg sync.WaitGroup
	next := make(chan *job)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for j := range next {
				j.read = db.readDpkgFiles(j.base, !j.indexed, j.sums && !j.sumsLater)
			}
		})
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	if len(db.owners) == 0 { // sized once for every path listed: no growth while linking
		n := 0
		for _, j := range jobs {
			n += len(j.read.paths)
		}
		db.owners = make(map[string]*File, n)
	}
	for _, j := range jobs {
		j.pkg.base = j.base
		if j.indexed {
			if err := db.addIndexed(j.pkg, j.conffiles, j.read, j.sumsLater); err != nil {
				return true, err
			}
			continue
		}
		if err := db.addDpkgPackage(j.pkg, j.conffiles, j.read); err != nil {
			return true, err
		}
	}
	db.indexing = len(db.indexed) > 0
	if !db.indexing {
		db.index, db.indexed, db.conffiles, db.merged = nil, nil, nil, nil
	}
	if db.lists {
		return true, nil
	}
	if data, err := db.root.ReadFile(dpkgDiversions, maxDiversions); err == nil {
		divs, err := parseDiversions(data)
		if err != nil {
			return true, db.damage(Dpkg, dpkgDiversions, err)
		}
		db.from = make(map[string]diversion, len(divs))
		db.to = make(map[string]diversion, len(divs))
		for _, d := range divs {
			db.from[d.From] = d
			db.to[d.To] = d
		}
	} else if !errors.Is(err, errNotExist) {
		return true, db.damage(Dpkg, dpkgDiversions, err)
	}
	return true, db.loadDpkgLog()
}

// dpkgUpdates returns the status entries with dpkg's journal of status changes applied,
// as dpkg reads its database: each file of updates/ named by digits alone holds the
// records of the packages whose status changed since dpkg last wrote the status file,
// applied in the order of their names, a record replacing the package's (of its
// architecture) or adding one. During a transaction the status file lags behind the
// package log, which names the versions being unpacked: the journal does not.
func (db *DB) dpkgUpdates(entries []statusEntry) ([]statusEntry, error) {
	names, err := db.root.ReadDir(dpkgUpdates)
	if err != nil {
		return nil, db.damage(Dpkg, dpkgUpdates, err)
	}
	names = slices.DeleteFunc(names, func(n string) bool {
		return n == "" || strings.Trim(n, "0123456789") != ""
	})
	if len(names) == 0 {
		return entries, nil
	}
	slices.Sort(names) // dpkg names them %04d, in order
	at := make(map[[2]string]int, len(entries))
	for i, e := range entries {
		at[[2]string{e.Package, e.Arch}] = i
	}
	for _, n := range names {
		p := dpkgUpdates + "/" + n
		data, err := db.root.ReadFile(p, maxStatus)
		if errors.Is(err, errNotExist) { // dpkg folded it into the status file meanwhile
			continue
		}
		if err != nil {
			return nil, db.damage(Dpkg, p, err)
		}
		recs, err := parseStatus(data)
		if err != nil {
			return nil, db.damage(Dpkg, p, err)
		}
		for _, r := range recs {
			k := [2]string{r.Package, r.Arch}
			if i, ok := at[k]; ok {
				entries[i] = r
				continue
			}
			at[k] = len(entries)
			entries = append(entries, r)
		}
	}
	return entries, nil
}

// dpkgFiles is what one package's .list and .md5sums say, or why they could not be
// read.
type dpkgFiles struct {
	paths []string
	sums  []byte // the .md5sums, checked (eachMD5sum)
	// sumsCleaned says a name in sums is not written clean (eachMD5sum).
	sumsCleaned    bool
	listID, sumsID FileID // the identities of the files read (sumsID: when undamaged)
	err            error
}

// dpkgSums are a package's .md5sums, checked but not parsed until a path of the
// package is asked for (DB.sums).
type dpkgSums struct {
	// base, for a package of an indexed DB whose .md5sums is as the index holds it,
	// names the file read when a path of the package is first asked for (load).
	base     string
	readOnce sync.Once
	once     sync.Once
	data     []byte // not changed once read
	// cleaned says a name in data is not written clean: a path cannot be looked for
	// in data as it is written (DB.sumsFor).
	cleaned bool
	parsed  atomic.Bool // set by once, when every file of the package has its digest
	// asked counts the paths looked for in data before it is parsed (DB.sumsFor):
	// each look reads the whole of data, so after a few the package is parsed once.
	asked atomic.Int32
	// byPath, for a package of an indexed DB looked up more than a few times, is
	// data's digest of each path, the first line naming it (byPathOnce).
	byPath     map[string][]byte
	byPathOnce sync.Once
	// later, for a package of an indexed DB, are the digests of its paths by path:
	// records made after the .md5sums was parsed take theirs from it (addRecord).
	later map[string][]byte
}

// load reads s's .md5sums, the first time, for a package of an indexed DB. It was
// checked when the index was made; one that cannot be read or parsed now gives no
// digests (the verdicts of its files are unknown) and a warning.
func (s *dpkgSums) load(db *DB) {
	if s.base == "" {
		return
	}
	s.readOnce.Do(func() {
		name := dpkgInfo + "/" + s.base + ".md5sums"
		data, err := db.root.ReadFile(name, maxInfoFile)
		cleaned := false
		if err == nil {
			cleaned, err = eachMD5sum(data, nil)
		}
		if err != nil {
			db.mu.Lock()
			db.warnings = append(db.warnings, db.damage(Dpkg, name, err))
			db.mu.Unlock()
			return
		}
		s.data, s.cleaned = data, cleaned
	})
}

// readDpkgFiles reads and parses info/BASE.list, if list, and info/BASE.md5sums, if
// sums. In OpenLists a damaged .md5sums is not an error: it has no identity (sumsID).
func (db *DB) readDpkgFiles(base string, list, sums bool) dpkgFiles {
	var out dpkgFiles
	if list {
		listName := dpkgInfo + "/" + base + ".list"
		data, id, err := db.root.readFileID(listName, maxInfoFile)
		if err != nil {
			return dpkgFiles{err: db.damage(Dpkg, listName, err)}
		}
		if out.paths, err = parseList(data); err != nil {
			return dpkgFiles{err: db.damage(Dpkg, listName, err)}
		}
		out.listID = id
	}
	if sums {
		sumsName := dpkgInfo + "/" + base + ".md5sums"
		data, id, err := db.root.readFileID(sumsName, maxInfoFile)
		var cleaned bool
		if err == nil {
			cleaned, err = eachMD5sum(data, nil)
		}
		switch {
		case err != nil && db.lists:
		case err != nil:
			return dpkgFiles{err: db.damage(Dpkg, sumsName, err)}
		case db.lists:
			out.sumsID = id // checked, not kept
		default:
			out.sums, out.sumsCleaned, out.sumsID = data, cleaned, id
		}
	}
	return out
}

// indexInfo is the index's Info, when there is an index.
func (db *DB) indexInfo(base string) (list, sums FileID, ok bool) {
	if db.index == nil {
		return FileID{}, FileID{}, false
	}
	return db.index.Info(base)
}

// addIndexed records dpkg package pkg, whose .list is as the index holds it: the
// records of its paths are made when a path is asked for (headLocked). With later its
// .md5sums is read then too; otherwise read holds it, read now.
func (db *DB) addIndexed(pkg *Package, conffiles []conffile, read dpkgFiles, later bool) error {
	if read.err != nil { // its .md5sums
		return read.err
	}
	list, sums, _ := db.index.Info(pkg.base)
	pkg.listID = list
	pkg.order = len(db.packages)
	db.packages = append(db.packages, pkg)
	db.indexed[pkg.base] = pkg
	db.conffiles[pkg] = conffiles
	switch {
	case later:
		pkg.sumsID = sums
		db.pending[pkg] = &dpkgSums{base: pkg.base}
	case len(read.sums) > 0:
		pkg.sumsID = read.sumsID
		db.pending[pkg] = &dpkgSums{data: read.sums, cleaned: read.sumsCleaned}
	}
	return nil
}

// addDpkgPackage records one package's files, their digests, and its conffiles.
func (db *DB) addDpkgPackage(pkg *Package, conffiles []conffile, read dpkgFiles) error {
	if read.err != nil {
		return read.err
	}
	recs := make([]File, len(read.paths)) // one allocation for the package's records
	files := make([]*File, 0, len(read.paths))
	for i, p := range read.paths {
		if db.keep != nil && !db.keep(p) {
			continue // not asked for
		}
		head := db.owners[p]
		if head != nil && head.Package == pkg {
			continue // listed twice
		}
		f := &recs[i]
		f.Path, f.Package, f.next = p, pkg, head
		files = append(files, f)
		db.owners[p] = f // link, with the one lookup
	}
	if len(read.sums) > 0 {
		db.pending[pkg] = &dpkgSums{data: read.sums, cleaned: read.sumsCleaned}
	}
	if db.lists {
		conffiles = nil // OpenLists: no digests
	}
	for _, c := range conffiles {
		f := db.ownedBy(c.Path, pkg)
		if f == nil {
			continue // obsolete, or no longer shipped: dpkg does not list it either
		}
		f.Flags |= FlagConfig // its digest is the Conffiles one, not the .md5sums one
		if c.Digest != nil {
			f.Algorithm, f.Digest = MD5, c.Digest
		}
	}
	if !db.lists {
		db.dpkgDirs(pkg, files, true)
	}
	pkg.order, pkg.listID, pkg.sumsID = len(db.packages), read.listID, read.sumsID
	db.packages = append(db.packages, pkg)
	db.files[pkg] = files
	return nil
}

// dpkgDirs marks the records of dpkg package pkg's paths that it lists a path directly
// below as its directories (File.dir): dpkg's .list names every parent directory of a
// package's files, and its .md5sums never records a directory, so none of them takes
// a digest from it. A path listed with nothing below it (an empty directory, or a
// file) is not marked: its .md5sums is looked in, as for any file. files are pkg's
// records, with atHead each at the head of its path's owners (as addDpkgPackage puts
// them), else anywhere among them (readIndexed, the lock held).
func (db *DB) dpkgDirs(pkg *Package, files []*File, atHead bool) {
	for _, f := range files {
		if f.Path == "/" {
			continue
		}
		parent := f.Path[:max(strings.LastIndexByte(f.Path, '/'), 1)]
		d := db.owners[parent]
		if !atHead {
			d = db.ownedBy(parent, pkg)
		}
		if d != nil && d.Package == pkg && !d.dir {
			d.dir = true
			if !d.IsConfig() { // given by the .md5sums before the index was read whole
				d.Algorithm, d.Digest = "", nil
			}
		}
	}
}

// sums gives the files of dpkg package pkg the digests of its .md5sums, parsed the
// first time they are needed. Like dpkg --verify, it gives them to the paths the
// package lists, the conffiles excepted (theirs are in the status file).
func (db *DB) sums(pkg *Package) {
	s := db.pending[pkg]
	if s == nil {
		return
	}
	s.load(db)
	s.once.Do(func() {
		if db.indexing { // records are being made: headLocked
			db.mu.Lock()
			defer db.mu.Unlock()
			if db.indexed[pkg.base] == pkg {
				// Records of its paths not made yet take their digests from later:
				// its names may not be written clean, or its .md5sums was read
				// at Open (changed since the index).
				s.later = map[string][]byte{}
			}
		}
		arena := make([]byte, 0, 16*(bytes.Count(s.data, []byte("\n"))+1)) // the digests kept
		eachMD5sum(s.data, func(p []byte, d *[16]byte) {                   // checked when read
			arena = append(arena, d[:]...)
			digest := arena[len(arena)-16 : len(arena) : len(arena)]
			if s.later != nil {
				s.later[string(p)] = digest
			}
			for f := db.owners[string(p)]; f != nil; f = f.next {
				if f.Package == pkg {
					if !f.IsConfig() && f.Digest == nil && !f.dir { // sumsFor may have given it
						f.Algorithm, f.Digest = MD5, digest
					}
					return
				}
			}
		})
		s.parsed.Store(true)
	})
}

// md5sumOf returns the digest a .md5sums data, checked and with every name written
// clean, records for the path p (absolute): the first line naming it.
func md5sumOf(data []byte, p string) ([]byte, bool) {
	if len(p) < 2 {
		return nil, false
	}
	at := -1                    // where the first line naming p starts
	first := func(i int) bool { // whether a name at i starts a line, the first found
		if i != 32 && (i < 32 || data[i-33] != '\n') {
			return false
		}
		if at < 0 || i-32 < at {
			at = i - 32
		}
		return true
	}
	for _, sep := range []string{"  ", " *"} {
		needle := []byte(sep + p[1:] + "\n")
		found := false
		for off := 0; !found; {
			i := bytes.Index(data[off:], needle)
			if i < 0 {
				break
			}
			found, off = first(off+i), off+i+1
		}
		if !found && bytes.HasSuffix(data, needle[:len(needle)-1]) { // the last line, without its newline
			first(len(data) - len(needle) + 1)
		}
	}
	if at < 0 {
		return nil, false
	}
	d := make([]byte, 16)
	if _, err := hex.Decode(d, data[at:at+32]); err != nil {
		return nil, false
	}
	return d, true
}

// sumsFor gives the files of f's dpkg package the digests of its .md5sums, as sums
// does, when they may name f's path: a directory many packages list (/usr/bin) has
// no digest in any of them, and needs none of their .md5sums read when they list a
// path below it (File.dir), nor parsed. Where every name
// in them is written clean, a line naming f.Path ends with f.Path without its leading
// "/", then a newline or the end of the file.
func (db *DB) sumsFor(f *File) {
	s := db.pending[f.Package]
	if s == nil || f.dir || s.parsed.Load() {
		return
	}
	s.load(db)
	// A look for one path in data reads all of it: a run that asks for every path of
	// a package (verify-packages, an upgrade of it) parses it once instead.
	often := s.asked.Add(1) > lookupsBeforeParse
	if s.base != "" && !s.cleaned { // an indexed package's: only f's line is looked for
		var d []byte
		var ok bool
		if often {
			s.byPathOnce.Do(func() { s.byPath = md5sumsByPath(s.data) })
			d, ok = s.byPath[f.Path]
		} else {
			d, ok = md5sumOf(s.data, f.Path)
		}
		if ok && !f.IsConfig() {
			db.mu.Lock()
			if f.Digest == nil {
				f.Algorithm, f.Digest = MD5, d
			}
			db.mu.Unlock()
		}
		return
	}
	if !s.cleaned && !often {
		rel := f.Path[1:]
		if !bytes.Contains(s.data, []byte(rel+"\n")) && !bytes.HasSuffix(s.data, []byte(rel)) {
			return
		}
	}
	db.sums(f.Package)
}

// lookupsBeforeParse is how many paths of a dpkg package sumsFor looks for in its
// .md5sums as written before it parses the file instead.
const lookupsBeforeParse = 8

// md5sumsByPath is the digest of each path a .md5sums data (checked, every name
// written clean) records, from the first line naming it, as md5sumOf finds it.
func md5sumsByPath(data []byte) map[string][]byte {
	n := bytes.Count(data, []byte("\n")) + 1
	m := make(map[string][]byte, n)
	arena := make([]byte, 0, 16*n)
	eachMD5sum(data, func(p []byte, d *[16]byte) {
		if _, ok := m[string(p)]; !ok {
			arena = append(arena, d[:]...)
			m[string(p)] = arena[len(arena)-16 : len(arena) : len(arena)]
		}
	})
	return m
}
