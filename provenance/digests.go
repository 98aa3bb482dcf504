package provenance

import (
	"io"
	"sync"
	"time"

	"fim/pkgdb"
	"fim/tree"
)

// Digests takes package files' digests, in their packages' own algorithms (MD5 for
// dpkg, the recorded one for rpm, SHA-1 for apk), in the walk's one read of each file
// (it is a walk.SideDigest): fim baseline --package-digests records which matched
// (tree.FlagPackageVerified), and a check's verdicts use them instead of reading the
// changed files again. Only a path a package lists with a digest is digested. The
// package databases are read when the first file asks, not before.
type Digests struct {
	load    func() *pkgdb.DB // reads the databases (nil when there are none)
	changed bool             // only files not as their prior entry records (a check)
	since   int64            // with changed, and not 0: only files of a ctime since then (ns)
	once    sync.Once
	db      *pkgdb.DB

	mu    sync.Mutex
	taken map[string]takenSums // a check's sums, by path, until its verdict asks
}

// takenSums are a file's sums and the state it had when they were taken.
type takenSums struct {
	state tree.Entry
	sums  *pkgdb.Sums
}

// NewDigests returns the Digests of fim baseline --package-digests of the tree under
// root: every package file the walk reads is digested, and marked
// tree.FlagPackageVerified when it matched its package ("" root: the host's /). The
// databases it opens are closed by Close; their warnings go to logf.
func NewDigests(root string, logf func(string, ...any)) *Digests {
	if root == "" {
		root = "/"
	}
	return &Digests{load: func() *pkgdb.DB {
		db, err := pkgdb.Open(root)
		if err != nil {
			if logf != nil {
				logf("warning: package digests not taken: %v", err)
			}
			return nil
		}
		for _, w := range db.Warnings() {
			if logf != nil {
				logf("warning: %v", w)
			}
		}
		return db
	}}
}

// Close releases the databases NewDigests opened.
func (d *Digests) Close() error {
	if d == nil || d.db == nil || d.changed {
		return nil // a check's are its Annotator's
	}
	return d.db.Close()
}

// Digests returns the Digests of a check's walk, which the verdicts of Annotate use:
// only a file that is new, or whose type, inode, size, mtime or ctime is not its prior
// entry's, is digested (an unchanged file has no event), with the databases Annotate
// reads. A watch reads its databases again as they change and takes none (nil).
func (a *Annotator) Digests() *Digests {
	if a.digests == nil {
		a.digests = &Digests{changed: true, taken: map[string]takenSums{}, load: func() *pkgdb.DB {
			a.holdWarnings = true // told when the events are annotated
			defer func() { a.holdWarnings = false }()
			if a.open() != nil {
				return nil
			}
			return a.db
		}}
	}
	return a.digests
}

// ChangedSince makes a check's Digests take no sums of a file whose ctime is before t
// (the baseline's time), nor ask for its prior entry: a file changed since has a later
// ctime. One that has an event all the same (the clock was set back, or the baseline
// recorded another tree) is read again for its verdict, as any file without sums is.
func (d *Digests) ChangedSince(t time.Time) *Digests {
	if d != nil && d.changed && !t.IsZero() {
		d.since = t.Add(-time.Second).UnixNano() // file times lag the clock by a tick
	}
	return d
}

// unchanged reports whether a check takes no sums of e by its ctime (ChangedSince).
func (d *Digests) unchanged(e *tree.Entry) bool {
	return d.changed && d.since != 0 && e.Ctime < d.since
}

// NeedsPrior reports whether For needs e's prior entry (walk.SideDigest): a check's
// does for a file with one name and a ctime since the baseline's.
func (d *Digests) NeedsPrior(e *tree.Entry) bool {
	return d.changed && e.Nlink <= 1 && !d.unchanged(e)
}

// For returns the sums to take of regular file e, or nil (walk.SideDigest). A file with
// several names is read under one of them for all (walk.SideDigest): its sums are taken
// in every algorithm the packages record, whether or not this name changed or a package
// lists it, for any other name that did and that one lists.
func (d *Digests) For(e, prior *tree.Entry) io.Writer {
	linked := e.Nlink > 1
	if d.changed && !linked && (d.unchanged(e) || prior != nil && prior.Hashed() && sameState(prior, e)) {
		return nil
	}
	d.once.Do(func() { d.db = d.load() })
	if d.db == nil {
		return nil
	}
	s := d.db.NewSums(e.Path)
	if linked {
		s = d.db.NewSumsAny()
	}
	if s == nil {
		return nil
	}
	return s
}

// Done records the sums w of e, taken by the walk (walk.SideDigest): a baseline's
// entry is marked tree.FlagPackageVerified when its content and (rpm, apk) mode and
// owner are its package's; a check keeps them for Annotate.
func (d *Digests) Done(e *tree.Entry, w io.Writer) {
	s := w.(*pkgdb.Sums)
	s.Mode, s.UID, s.GID = e.Mode, e.UID, e.GID
	if d.changed {
		d.mu.Lock()
		d.taken[e.Path] = takenSums{state: *e, sums: s}
		d.mu.Unlock()
		return
	}
	e.Flags &^= tree.FlagPackageVerified
	if v, ok := d.db.VerdictOf(e.Path, s); ok && v.Kind == pkgdb.Match {
		e.Flags |= tree.FlagPackageVerified
	}
}

// verdict is the verdict of the file at p, in the state e, from the sums the walk
// took of it: ok is false when none were taken of it in that state.
func (d *Digests) verdict(db *pkgdb.DB, p string, e *tree.Entry) (pkgdb.Verdict, bool) {
	if d == nil || e == nil || e.Type != tree.TypeFile {
		return pkgdb.Verdict{}, false
	}
	d.mu.Lock()
	t, found := d.taken[p]
	d.mu.Unlock()
	if !found || !sameState(&t.state, e) || t.state.Mode != e.Mode || t.state.UID != e.UID || t.state.GID != e.GID {
		return pkgdb.Verdict{}, false
	}
	return db.VerdictOf(p, t.sums)
}
