package provenance

import (
	"context"
	"runtime"
	"slices"
	"sync"

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
	Workers int         // files read at once (0: one per CPU)
	Warn    func(error) // a damaged database, one line each
}

// Verify checks every path an installed package lists against that package, without a
// baseline (as dpkg --verify and rpm -Va do; debsums -c checks the files of md5sums
// only): each is looked at where it lives (after dpkg's diversions); a file with a
// recorded digest is read and digested in its package's own algorithm, Workers at a
// time, and a path with none (a directory, a symlink) is only checked to be there. It returns an event for each file that is not what its
// package shipped, in path order: a change whose verdict is mismatch (rpm: also a mode
// or owner that differs), conffile (a config file edited), or unknown (it could not be
// read), or a remove whose verdict is missing. Files a package allows to be missing
// (rpm %ghost, %config(missingok)) are not checked. It fails only when the root cannot
// be opened or ctx is done.
func Verify(ctx context.Context, o VerifyOptions) ([]diff.Event, error) {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	db, err := pkgdb.Open(o.Root)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	for _, w := range db.Warnings() {
		if o.Warn != nil {
			o.Warn(w)
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
			for i := range next {
				events[i] = verifyEvent(db, paths[i])
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
// its package shipped.
func verifyEvent(db *pkgdb.DB, p string) diff.Event {
	v := db.Verdict(p, db.Opener(p))
	ev := diff.Event{Kind: diff.Change, Path: p, Verdict: diff.Verdict(v.Kind), Reason: v.Reason}
	if v.File != nil {
		ev.Package = newPackage(v.File.Package)
	}
	switch {
	case v.Kind == pkgdb.Match, v.Kind == pkgdb.Unknown && v.File != nil && v.File.Digest == nil:
		return diff.Event{} // what it shipped, or there and nothing to compare (a directory)
	case v.Kind == pkgdb.Missing:
		ev.Kind = diff.Remove
	}
	return ev
}
