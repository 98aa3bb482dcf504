// Package provenance says, for each event of a check, what the package manager makes
// of it: the package that owns the path, whether the file is what that package shipped
// (the verdict), and the package log's change of that package since the baseline was
// taken. It is the one enrichment step every command runs after the diff (check,
// accept, diff --root, watch): the differ knows nothing of packages, and the package
// databases (package pkgdb) know nothing of baselines.
//
// Contracts:
//   - Only paths that have an event are looked up, after the diff; a file's content is
//     read, in its package's own digest algorithm, only for those (pkgdb.Verdict), or
//     digested in the walk's own read of it (Digests) when the walk found it changed.
//     No event, no database read.
//   - Without a package database under the root, events are left as they are (Verdict
//     ""); so too when the snapshot taken with the baseline says no package lists a
//     path under its roots and no database file changed since. A damaged database is a warning of one line naming the file and the line,
//     and every verdict drawn from it is unknown: never explained.
//   - match is given only for what the database can vouch for. dpkg records no mode and
//     no owner: an event whose mode, uid or gid changed, and a new setuid or setgid
//     file, are unknown there even when the content matches.
//   - A directory or symlink a package lists (dpkg records no mode or target for
//     them) is explained (listed) only when the package log shows a transaction of
//     that package since the baseline, its mode and owner did not change, and a
//     symlink points to a path of the same package.
//   - A remove is explained (removed) only by evidence: the path was the package's in
//     the ownership snapshot taken with the baseline (Snapshot), the package log shows
//     that package removed or upgraded since, and no installed package lists the path
//     now. A path a package still lists is missing.
//   - The package database is evidence, not gospel: when an event shows that a package's
//     own database entries changed (dpkg's info/PKG.md5sums, .list or .conffiles; its
//     status file for every dpkg package) and the package log shows no transaction of
//     that package since the baseline, every verdict drawn from them, and the event of
//     the database file itself, is tampered. fim watch remembers such a change for the
//     events of later batches.
//   - dpkg's own database files (its status, lock and trigger files, updates/, each
//     package's info/PKG.*) are database when the package log shows a transaction
//     that writes them since the baseline (database.go), unless tampered.
//   - A change a package manager's descendant made (a maintainer script, a trigger) is
//     script, by the writer's lineage in fim watch or the writer journal in a check
//     (script.go says how it composes with the digest verdicts).
//   - Annotate puts the unexplained events first, each part in the order given.
package provenance

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"fim/diff"
	"fim/pkgdb"
	"fim/tree"
)

// Options say where the packages are and what the baseline is.
type Options struct {
	Root  string    // the directory the tree is read under ("": the host's /)
	Since time.Time // when the baseline was taken: the package log's later changes are named
	// Snapshot, if set, is the file of the ownership snapshot taken with the baseline
	// (PrepareSnapshot): it explains removes. A missing file explains none.
	Snapshot string
	// SnapshotDigest is the snapshot's digest sealed in the baseline's meta
	// (baseline.Meta.Packages): a snapshot of another digest is refused with a warning,
	// and then no remove is explained by it.
	SnapshotDigest string
	// Journal, if set, is the writer journal kept beside the baseline (JournalPath): its
	// records since Since explain the changes maintainer scripts made (script).
	Journal string
	// Logf, if set, is told of a damaged database or snapshot, one warning a line.
	Logf    func(format string, args ...any)
	Workers int // files read at once (0: four per CPU, as a walk's workers)
}

// Annotator annotates events. It keeps the package databases it read and reads them
// again when their files change (fim watch outlives package transactions). It is not
// safe for concurrent use.
type Annotator struct {
	o     Options
	db    *pkgdb.DB
	stamp string
	snap  *Snapshot
	read  bool  // the snapshot was read
	bad   error // why the snapshot was refused
	// edited are the dpkg packages whose database entries an event showed changed
	// (allDpkg: the status file, every package's), with the database file.
	edited map[string]string
	// sums are the dpkg packages whose .md5sums an event showed with other content.
	sums map[string]bool
	// journal holds the last journal record of each path since Since.
	journal     map[string]*journalRecord
	journalRead bool
	digests     *Digests // taken in the check's walk (Digests)
	// holdWarnings holds the warnings of databases read during a walk (Digests) in
	// held, until the events are annotated: a walk may yet end in an error.
	holdWarnings bool
	held         []error
	warned       int // the database's warnings told (warnLate)
}

// allDpkg stands for every dpkg package in Annotator.edited.
const allDpkg = ""

// New returns an Annotator; nothing is read until there are events.
func New(o Options) *Annotator {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Workers <= 0 {
		o.Workers = 4 * runtime.GOMAXPROCS(0) // a file waited for holds no CPU
	}
	return &Annotator{o: o}
}

// Close releases the databases.
func (a *Annotator) Close() error {
	if a == nil || a.db == nil {
		return nil
	}
	err := a.db.Close()
	a.db = nil
	return err
}

// dbFiles are the package database files whose change makes the databases be read
// again (dpkg's updates/: the directory, whose mtime moves with each record dpkg adds).
var dbFiles = []string{"var/lib/dpkg/status", "var/lib/dpkg/updates", "var/lib/dpkg/diversions", "var/log/dpkg.log",
	"usr/lib/sysimage/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite-wal", "var/lib/rpm/rpmdb.sqlite",
	"var/lib/rpm/rpmdb.sqlite-wal", "var/lib/rpm/Packages", "lib/apk/db/installed"}

// Stamp says the state of the package database files under root: when it is the
// same, no package database changed.
func Stamp(root string) string {
	if root == "" {
		root = "/"
	}
	return stampOf(root)
}

// stampOf says the size, mtime, ctime and inode of every database file.
func stampOf(root string) string {
	var b []byte
	for _, f := range dbFiles {
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join(root, f), &st) == nil {
			b = append(b, f...)
			b = append(b, byte(st.Ino), byte(st.Ino>>8), byte(st.Size), byte(st.Size>>8), byte(st.Size>>16),
				byte(st.Mtim.Nsec), byte(st.Mtim.Sec), byte(st.Ctim.Nsec), byte(st.Ctim.Sec))
		}
	}
	return string(b)
}

// Load reads the databases now rather than with the first events, so that a watch's
// first batch does not wait for them.
// The snapshot is read with the first events, once the baseline it belongs to has
// been proved.
func (a *Annotator) Load() error { return a.load() }

// open reads the snapshot, the first time, and the databases, again when they changed
// since they were read (load).
func (a *Annotator) open() error {
	if !a.holdWarnings {
		for _, err := range a.held {
			a.warn(err)
		}
		a.held = nil
	}
	a.readSnapshot()
	return a.load()
}

// load reads the databases, again when they changed since they were read. It reads
// none (a.db nil) when the snapshot says no package lists a path under the baseline's
// roots and no database file changed since it was taken: no event can be a package's.
func (a *Annotator) load() error {
	stamp := stampOf(a.o.Root)
	if a.stamp != "" && stamp == a.stamp {
		return nil
	}
	a.Close()
	a.stamp = stamp
	if a.snap != nil && a.snap.paths() == 0 && unchangedSince(a.o.Root, a.snap.Time) {
		return nil
	}
	db, err := pkgdb.OpenIndexed(a.o.Root, a.snap.Index()) // a nil snapshot indexes nothing
	if err != nil {
		a.stamp = ""
		return err
	}
	a.db, a.warned = db, 0
	a.warnLate()
	if a.snap != nil {
		a.snap.names = db.Names
	}
	return nil
}

// Snapshot returns the package snapshot taken with the baseline, read and checked
// against its sealed digest, or nil when there is none or it was refused (or a is
// nil).
func (a *Annotator) Snapshot() *Snapshot {
	if a == nil {
		return nil
	}
	a.readSnapshot()
	return a.snap
}

// readSnapshot reads the snapshot the first time it is called.
func (a *Annotator) readSnapshot() {
	if a.read || a.o.Snapshot == "" {
		return
	}
	a.read = true
	snap, err := ReadSnapshot(a.o.Snapshot, a.o.SnapshotDigest)
	switch {
	case errors.Is(err, os.ErrNotExist) && a.o.SnapshotDigest != "":
		a.bad = fmt.Errorf("package snapshot %s: gone, and the baseline seals one", a.o.Snapshot)
		a.warn(a.bad)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		a.bad = err
		a.warn(err)
	}
	a.snap = snap
	if snap != nil && a.db != nil {
		snap.names = a.db.Names
	}
}

// unchangedSince reports whether no package database file under root had its inode
// changed (ctime) at or after t.
func unchangedSince(root string, t time.Time) bool {
	for _, f := range dbFiles {
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join(root, f), &st) == nil && !time.Unix(st.Ctim.Unix()).Before(t) {
			return false
		}
	}
	return true
}

// warnLate tells the warnings of the databases not told yet: an indexed database reads
// some of its files only when a path asks for them (pkgdb.OpenIndexed).
func (a *Annotator) warnLate() {
	ws := a.db.Warnings()
	for _, w := range ws[min(a.warned, len(ws)):] {
		a.warn(w)
	}
	a.warned = len(ws)
}

func (a *Annotator) warn(err error) {
	if a.holdWarnings {
		a.held = append(a.held, err)
		return
	}
	if a.o.Logf != nil {
		a.o.Logf("warning: %v", err)
	}
}

// Annotate sets the verdict, package and transaction of every event, then puts the
// unexplained events first. Without a package database under the root only the
// script verdicts are given. It fails only when the root cannot be opened.
func (a *Annotator) Annotate(events []diff.Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := a.open(); err != nil {
		return err
	}
	a.readJournalOnce()
	if a.db == nil || len(a.db.Managers()) == 0 {
		a.scripts(events)
		Order(events)
		return nil
	}
	log := a.changes()
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(a.o.Workers, len(events)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				a.annotate(&events[i], log)
			}
		}()
	}
	for i := range events {
		next <- i
	}
	close(next)
	wg.Wait()
	a.warnLate()
	a.database(events, log)
	a.tampered(events, log)
	a.scripts(events)
	Order(events)
	return nil
}

// dpkgInfo is where dpkg keeps each package's list of paths and digests.
const dpkgInfo = "/var/lib/dpkg/info/"

// dbEntries says whose package database entries the file at recorded path p holds:
// dpkg's info/PKG[:ARCH].md5sums, .list and .conffiles hold PKG's, its status file
// every dpkg package's (allDpkg), and so do the records of updates/ (named by digits
// alone), which dpkg reads as part of it.
func dbEntries(p string) (pkg string, ok bool) {
	if p == "/var/lib/dpkg/status" {
		return allDpkg, true
	}
	if n, found := strings.CutPrefix(p, "/var/lib/dpkg/updates/"); found && n != "" && strings.Trim(n, "0123456789") == "" {
		return allDpkg, true
	}
	name, found := strings.CutPrefix(p, dpkgInfo)
	if !found || strings.Contains(name, "/") {
		return "", false
	}
	for _, ext := range []string{".md5sums", ".list", ".conffiles"} {
		if n, found := strings.CutSuffix(name, ext); found && n != "" {
			n, _, _ = strings.Cut(n, ":")
			return n, true
		}
	}
	return "", false
}

// contentAttrs are the changes that can change what a database file says.
const contentAttrs = diff.AttrSet(1<<diff.AttrType | 1<<diff.AttrContent | 1<<diff.AttrSize)

// tampered marks tampered the verdicts drawn from dpkg database entries that events
// show changed with no transaction of their package in the package log since the
// baseline (log), and the events of those database files.
func (a *Annotator) tampered(events []diff.Event, log map[string]pkgdb.Transaction) {
	a.recordsTampered(events)
	for i := range events {
		ev := &events[i]
		if pkg, ok := dbEntries(ev.Path); ok && (ev.Kind != diff.Change || ev.Changed&contentAttrs != 0) {
			if a.edited == nil {
				a.edited = map[string]string{}
			}
			a.edited[pkg] = ev.Path
			if strings.HasSuffix(ev.Path, ".md5sums") && ev.Changed.Has(diff.AttrContent) {
				if a.sums == nil {
					a.sums = map[string]bool{}
				}
				a.sums[pkg] = true
			}
		}
	}
	if len(a.edited) == 0 {
		return
	}
	why := func(pkg string) string {
		file, ok := a.edited[pkg]
		if !ok {
			return ""
		}
		if pkg == allDpkg {
			for _, t := range log {
				if a.agrees(t) {
					return ""
				}
			}
			return file + " changed since the baseline, and the package log shows no transaction since that dpkg's status agrees with"
		}
		if t, ok := log[pkg]; ok {
			if !a.agrees(t) {
				return file + " changed since the baseline, and dpkg's status does not agree with the package log's " + t.String()
			}
			if v := a.sameVersion(pkg); v != "" && a.sums[pkg] {
				return pkg + "'s .md5sums changed since the baseline, and " + pkg + " is at version " + v + " as it was then: a reinstall of one version writes the same digests"
			}
			return ""
		}
		return file + " changed since the baseline, and the package log shows no transaction of " + pkg + " since"
	}
	for i := range events {
		ev := &events[i]
		reason := ""
		if pkg, ok := dbEntries(ev.Path); ok {
			reason = why(pkg)
		}
		if p := ev.Package; p != nil && p.Manager == string(pkgdb.Dpkg) && reason == "" {
			reason = cmp.Or(why(p.Name), a.conffileTampered(ev.Path, p.Name, log), why(allDpkg))
		}
		if reason != "" {
			ev.Verdict, ev.Reason = diff.VerdictTampered, reason
		}
	}
}

// recordsTampered marks tampered the verdicts drawn from rpm and apk packages whose
// database record of their files (pkgdb.Package.Record) is not the one the snapshot
// taken with the baseline holds, with no transaction to explain it: rpm keeps no log,
// but a reinstall or upgrade gives the header a later install time; apk keeps none
// either, and a package's files change only with its version. The events of the
// database files themselves are tampered too.
func (a *Annotator) recordsTampered(events []diff.Event) {
	if a.snap == nil || len(a.snap.records) == 0 || a.db == nil {
		return
	}
	why := map[packageKey]string{}
	first := map[string]string{} // manager → the reason of one of its packages
	for _, pk := range a.db.Packages() {
		k := packageKey{string(pk.Manager), pk.Name}
		old, ok := a.snap.records[k]
		reason := forged(pk, old)
		if !ok || reason == "" {
			continue
		}
		why[k] = reason
		first[string(pk.Manager)] = cmp.Or(first[string(pk.Manager)], reason)
	}
	if len(why) == 0 {
		return
	}
	for i := range events {
		ev := &events[i]
		reason := first[dbFileManager(ev.Path)]
		if p := ev.Package; p != nil && reason == "" {
			reason = why[packageKey{p.Manager, p.Name}]
		}
		if reason != "" {
			ev.Verdict, ev.Reason = diff.VerdictTampered, reason
		}
	}
}

// forged says why pk's record of its files (pkgdb.Package.Record), not old, the record a
// snapshot holds of it, was changed by no transaction: rpm's install time did not move
// on, or apk's version stayed the same. "" when it was not changed, or a transaction
// changed it.
func forged(pk *pkgdb.Package, old packageRecord) string {
	if pk.Record == "" || old.record == "" || pk.Record == old.record {
		return ""
	}
	switch {
	case pk.Manager == pkgdb.RPM && pk.Installed <= old.installed:
		return "the rpm database's record of " + pk.Name + "'s files changed since the baseline, and its install time did not"
	case pk.Manager == pkgdb.APK && pk.Version == old.version:
		return apkInstalled + "'s record of " + pk.Name + "'s files changed since the baseline, and its version did not"
	}
	return ""
}

// apkInstalled is apk's database.
const apkInstalled = "/lib/apk/db/installed"

// dbFileManager says which package manager's database recorded path p is a file of
// ("" for none).
func dbFileManager(p string) string {
	switch {
	case p == apkInstalled:
		return string(pkgdb.APK)
	case strings.HasPrefix(p, "/var/lib/rpm/") || strings.HasPrefix(p, "/usr/lib/sysimage/rpm/"):
		return string(pkgdb.RPM)
	}
	return ""
}

// sameVersion returns the version dpkg's status holds installed for pkg when it is the
// version the baseline's snapshot recorded for it, else "". A transaction that leaves
// a package at its version (a reinstall) writes the digests that version shipped: what
// the baseline's .md5sums held.
func (a *Annotator) sameVersion(pkg string) string {
	if a.snap == nil || a.db == nil {
		return ""
	}
	for _, pk := range a.db.Packages() {
		if pk.Manager == pkgdb.Dpkg && pk.Name == pkg && strings.HasSuffix(pk.Status, " installed") {
			if pk.Version != "" && pk.Version == a.snap.Version(string(pkgdb.Dpkg), pkg) {
				return pk.Version
			}
		}
	}
	return ""
}

// agrees says whether dpkg's status agrees with t, the package log's last transaction
// of its package: installed or upgraded to the version status now records for it, or
// removed and no longer installed. A line appended to the log by hand that names
// another version than status explains nothing; one that names the version status
// holds (a reinstall, as apt reinstall logs it) cannot be told from a real one, but
// a reinstall does not change a package's digests (sameVersion).
func (a *Annotator) agrees(t pkgdb.Transaction) bool {
	installed := false
	for _, pk := range a.db.Packages() {
		if pk.Manager != pkgdb.Dpkg || pk.Name != t.Package {
			continue
		}
		if strings.HasSuffix(pk.Status, " installed") {
			installed = true
		}
		if t.New != "" && pk.Version == t.New {
			return true
		}
	}
	return t.New == "" && !installed
}

// conffileTampered says why the verdict of p, a conffile of pkg, is tampered: dpkg keeps
// conffile digests in its status file, not in pkg's own files, so a status file changed
// since the baseline vouches for them only where the package log shows a transaction
// of pkg itself since. Any transaction will not do: an unrelated upgrade would let an
// edited digest in status explain an edit of the conffile. "" when it is not.
func (a *Annotator) conffileTampered(p, pkg string, log map[string]pkgdb.Transaction) string {
	file, ok := a.edited[allDpkg]
	if !ok || a.db == nil {
		return ""
	}
	if t, ok := log[pkg]; ok && a.agrees(t) {
		return ""
	}
	for _, f := range a.db.Owners(p) {
		if f.IsConfig() && f.Package != nil && f.Package.Name == pkg {
			return file + " (which holds the digests of " + pkg + "'s conffiles) changed since the baseline, and the package log shows no transaction of " + pkg + " since"
		}
	}
	return ""
}

// Order puts the unexplained events first, keeping the order within each part.
func Order(events []diff.Event) {
	slices.SortStableFunc(events, func(x, y diff.Event) int {
		switch ex, ey := x.Verdict.Explained(), y.Verdict.Explained(); {
		case ex == ey:
			return 0
		case ey:
			return -1
		default:
			return 1
		}
	})
}

// Unexplained returns the events the package manager does not explain.
func Unexplained(events []diff.Event) []diff.Event {
	var out []diff.Event
	for i := range events {
		if !events[i].Verdict.Explained() {
			out = append(out, events[i])
		}
	}
	return out
}

// changes returns the last package log transaction of each package since Since.
func (a *Annotator) changes() map[string]pkgdb.Transaction {
	out := map[string]pkgdb.Transaction{}
	for _, t := range a.db.Log() {
		if since(t, a.o.Since) {
			out[t.Package] = t
		}
	}
	return out
}

// since reports whether the logged transaction t was not before the time when: the
// package log counts whole seconds, so one logged in the second of when counts.
func since(t pkgdb.Transaction, when time.Time) bool {
	return !t.Time.Before(when.Truncate(time.Second))
}

// modeAttrs are the attributes dpkg records nothing of.
const modeAttrs = diff.AttrSet(1<<diff.AttrMode | 1<<diff.AttrUID | 1<<diff.AttrGID)

func (a *Annotator) annotate(ev *diff.Event, log map[string]pkgdb.Transaction) {
	p := ev.Path
	v, ok := a.digests.verdict(a.db, p, ev.After)
	if !ok {
		v = a.db.Verdict(p, a.db.Opener(p))
	}
	ev.Verdict, ev.Reason = diff.Verdict(v.Kind), v.Reason
	if v.File != nil {
		ev.Package = newPackage(v.File.Package)
	}
	if v.Kind == pkgdb.Match && v.File.Meta == nil {
		switch {
		case ev.Changed&modeAttrs != 0:
			ev.Verdict, ev.Reason = diff.VerdictUnknown, "the content is the package's; its mode and owner are not recorded"
		case ev.Kind == diff.Create && ev.After != nil && ev.After.Mode&(syscall.S_ISUID|syscall.S_ISGID) != 0:
			ev.Verdict, ev.Reason = diff.VerdictUnknown, "setuid or setgid: the package records no mode to compare"
		}
	}
	if ev.Kind == diff.Remove && v.Kind == pkgdb.Unowned {
		a.removed(ev)
	}
	if ev.Package != nil && ev.Transaction == nil {
		if t, ok := log[ev.Package.Name]; ok && ev.Package.Manager == string(pkgdb.Dpkg) {
			ev.Transaction = newTransaction(t)
		}
	}
	if v.Kind == pkgdb.Unknown && v.File != nil && v.File.Digest == nil {
		a.listedBy(ev, log)
	}
}

// listedBy explains ev, at a path packages list without a digest (a directory, a
// symlink), by the transaction since the baseline of any package that lists it: a
// directory many packages list (/etc, /usr/bin) changes when one of them adds or
// removes a file in it, and that one need not be the owner the verdict names.
func (a *Annotator) listedBy(ev *diff.Event, log map[string]pkgdb.Transaction) {
	for _, f := range a.db.Owners(ev.Path) {
		if f.Digest != nil || f.Package.Manager != pkgdb.Dpkg {
			continue
		}
		t, ok := log[f.Package.Name]
		if !ok || !a.listed(ev, f) {
			continue
		}
		ev.Verdict, ev.Reason = diff.VerdictListed, ""
		ev.Package, ev.Transaction = newPackage(f.Package), newTransaction(t)
		return
	}
}

// listed says whether ev, at a path its package lists without a digest, is a
// directory or a symlink that package's transaction since the baseline explains:
// created or changed without a change of mode or owner, and, for a symlink, pointing
// where the baseline's did (replaced by an unpack of the same link) or to a path the
// same package lists (dpkg records no target to compare).
func (a *Annotator) listed(ev *diff.Event, f *pkgdb.File) bool {
	e := ev.After
	if e == nil || ev.Changed&modeAttrs != 0 {
		return false
	}
	switch e.Type {
	case tree.TypeDir:
		return true
	case tree.TypeSymlink:
		if b := ev.Before; b != nil && b.Type == tree.TypeSymlink && b.LinkTarget == e.LinkTarget {
			return true
		}
		target := e.LinkTarget
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(ev.Path), target)
		}
		for _, o := range a.db.Owners(path.Clean(target)) {
			if o.Package == f.Package {
				return true
			}
		}
	}
	return false
}

// removed explains the remove of a path no package lists now by the removal or upgrade,
// since the snapshot, of the package that listed it then.
func (a *Annotator) removed(ev *diff.Event) {
	if a.bad != nil {
		ev.Verdict, ev.Reason = diff.VerdictUnknown, "the package snapshot taken with the baseline is refused (see the warning)"
		return
	}
	if a.snap == nil {
		return
	}
	was := a.snap.Owner(ev.Path)
	if was == nil {
		return
	}
	ev.Package = was
	for _, t := range slices.Backward(a.db.Log()) {
		if !since(t, a.snap.Time) {
			break
		}
		if t.Package == was.Name && was.Manager == string(pkgdb.Dpkg) && t.Action != "install" {
			ev.Verdict, ev.Reason = diff.VerdictRemoved, ""
			ev.Transaction = newTransaction(t)
			return
		}
	}
	ev.Reason = "its package " + was.Name + " listed it, and the package log shows no removal or upgrade of it since"
}

func newPackage(p *pkgdb.Package) *diff.Package {
	return &diff.Package{Manager: string(p.Manager), Name: p.Name, Version: p.Version, Arch: p.Arch}
}

func newTransaction(t pkgdb.Transaction) *diff.Transaction {
	return &diff.Transaction{Time: t.Time, Action: t.Action, Old: t.Old, New: t.New}
}
