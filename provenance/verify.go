package provenance

import (
	"context"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"fim/diff"
	"fim/pkgdb"
	"fim/tree"
)

// VerifyOptions say which packages' files Verify checks, and where.
type VerifyOptions struct {
	Root string // the directory the packages are installed under ("": the host's /)
	// Paths, if set, limits the check to the files at or below them (recorded paths,
	// under any of their /usr-merge names).
	Paths   []string
	Workers int // files read at once (0: four per CPU, as a walk's workers)
	// Logf, if set, is told of a damaged database, one warning a line.
	Logf func(format string, args ...any)
	// Prior, if set, makes lookups (one per worker) of the entries of a baseline of
	// the same tree: a file whose entry has tree.FlagPackageVerified and the device,
	// inode, size, mtime and ctime it has now matches without being read again.
	Prior func() func(path string) *tree.Entry
	// Matched, if set, is called (from any worker) with each path whose file was read
	// and matched its package, under each of its /usr-merge names, and with the state
	// it had when it was opened (Type, Size, Mtime, Ctime, Inode and Device).
	Matched func(path string, state *tree.Entry)
}

// Verify checks every path an installed package lists against that package, without a
// baseline (as dpkg --verify and rpm -Va do; debsums -c checks the files of md5sums
// only): each is looked at where it lives (after dpkg's diversions); a file with a
// recorded digest is read and digested in its package's own algorithm, Workers at a
// time, and a path with none (a directory, a symlink) is only checked to be there. It returns an event for each file that is not what its
// package shipped, in path order: a change whose verdict is mismatch (rpm: also a mode
// or owner that differs), conffile (a config file edited), unknown (it could not be
// read), or tampered (its rpm header's signature does not verify: every path of the
// package, read or not, and whatever a baseline says of it), or a remove whose verdict
// is missing. Files a package allows to be missing
// (rpm %ghost, %config(missingok)) are not checked. It fails only when the root cannot
// be opened or ctx is done.
func Verify(ctx context.Context, o VerifyOptions) ([]diff.Event, error) {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Workers <= 0 {
		o.Workers = 4 * runtime.GOMAXPROCS(0) // a file waited for holds no CPU
	}
	db, err := pkgdb.Open(o.Root)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	for _, w := range db.Warnings() {
		if o.Logf != nil {
			o.Logf("warning: %v", w)
		}
	}
	within := func(string) bool { return true }
	if o.Paths != nil {
		within = db.Within(o.Paths)
	}
	var paths []string
	seen := map[string]bool{}
	for _, p := range db.Packages() {
		for _, f := range db.Files(p) {
			if f.Flags&(pkgdb.FlagGhost|pkgdb.FlagMissingOK) != 0 {
				continue
			}
			if at := db.Where(f); within(at) && !seen[at] {
				seen[at] = true
				paths = append(paths, at)
			}
		}
	}
	slices.SortFunc(paths, tree.ComparePaths)

	events := make([]diff.Event, len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(o.Workers, len(paths)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lookup func(string) *tree.Entry
			if o.Prior != nil {
				lookup = o.Prior()
			}
			for i := range next {
				events[i] = verifyEvent(db, paths[i], lookup, o.Matched)
			}
		}()
	}
feed:
	for i := range paths {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(events, func(ev diff.Event) bool { return ev.Verdict == "" }), nil
}

// verifyEvent is the event of the package file at p, with no verdict when it is what
// its package shipped: verified when its baseline entry (lookup) says so and it has not
// changed since, otherwise read.
func verifyEvent(db *pkgdb.DB, p string, lookup func(string) *tree.Entry, matched func(string, *tree.Entry)) diff.Event {
	if lookup != nil && verifiedBefore(db, p, lookup) {
		return diff.Event{}
	}
	open := db.Opener(p)
	var state *tree.Entry
	if matched != nil {
		read := open
		open = func() (io.ReadCloser, error) {
			rc, err := read()
			var st unix.Stat_t
			if f, ok := rc.(*os.File); ok && err == nil && unix.Fstat(int(f.Fd()), &st) == nil {
				state = stateOf(&st)
			}
			return rc, err
		}
	}
	v := db.Verdict(p, open)
	ev := diff.Event{Kind: diff.Change, Path: p, Verdict: diff.Verdict(v.Kind), Reason: v.Reason}
	if v.File != nil {
		ev.Package = newPackage(v.File.Package)
	}
	switch {
	case v.Kind == pkgdb.Match:
		if state != nil {
			for _, n := range db.Names(p) {
				matched(n, state)
			}
		}
		return diff.Event{}
	case v.Kind == pkgdb.Unknown && v.File != nil && v.File.Digest == nil:
		return diff.Event{} // there, and nothing to compare (a directory)
	case v.Kind == pkgdb.Missing:
		ev.Kind = diff.Remove
	}
	return ev
}

// verifiedBefore says whether the baseline entry of p, under one of its names, says
// its content matched its package, and p is still the file it was then.
func verifiedBefore(db *pkgdb.DB, p string, lookup func(string) *tree.Entry) bool {
	for _, f := range db.Owners(p) {
		if db.Signature(f.Package).State == pkgdb.SigBad {
			return false // its record is not what it was when verified
		}
	}
	for _, n := range db.Names(p) {
		e := lookup(n)
		if e == nil {
			continue
		}
		if e.Type != tree.TypeFile || e.Flags&tree.FlagPackageVerified == 0 {
			return false
		}
		st, err := db.Root().Lstat(p)
		return err == nil && sameState(stateOf(&st), e)
	}
	return false
}

// stateOf is the state of a file as Matched reports it.
func stateOf(st *unix.Stat_t) *tree.Entry {
	return &tree.Entry{Type: tree.TypeFromMode(st.Mode), Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(),
		Inode: st.Ino, Device: st.Dev}
}

// sameState says whether two entries are of the same file, unchanged.
func sameState(a, b *tree.Entry) bool {
	return a.Type == b.Type && a.Device == b.Device && a.Inode == b.Inode && a.Size == b.Size &&
		a.Mtime == b.Mtime && a.Ctime == b.Ctime
}
