package check

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"fim/baseline"
	"fim/config"
	"fim/diff"
	"fim/provenance"
	"fim/tree"
)

// Recording is a new baseline being written at a path (fim baseline): it holds the lock
// and knows what it replaces.
type Recording struct {
	db     string
	w      *baseline.Writer
	old    *baseline.Reader // the baseline it replaces, if one is there
	held   *os.File         // what else is there, held until replaced
	snap   *os.File         // the package snapshot of what it replaces, held likewise
	pend   *provenance.PendingSnapshot
	Expect uint64 // entries of the baseline it replaces: what to expect
	gen    uint64
	// Verified, if set, says which files matched their packages, and in what state:
	// their entries are recorded with tree.FlagPackageVerified.
	Verified *provenance.Verification
}

// Create starts the baseline that replaces whatever is at db, signed with signer if
// set. It continues the generation count of the baseline it replaces, so that a
// --generation-file that saw the old one accepts it.
func Create(db string, signer ed25519.PrivateKey) (*Recording, error) {
	rec := &Recording{db: db, gen: 1}
	if old, err := baseline.Open(db); err == nil {
		rec.old, rec.Expect, rec.gen = old, old.Meta().Entries, old.Meta().Generation+1
	} else if f, err := os.OpenFile(db, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0); err == nil {
		rec.held = f // a file the new baseline replaces, if it could be fim's
	}
	rec.snap = provenance.OpenSnapshot(db)
	w, err := baseline.Create(db)
	if err != nil {
		rec.Close()
		return nil, err
	}
	w.Signer = signer
	rec.w = w
	return rec, nil
}

// Own are fim's own files while it records: the new baseline's and, until they are
// replaced, what it replaces and its package snapshot. A walk of this host leaves them
// out (WalkerOptions.Own); the paths of an image are not this host's, and nothing here
// selects anything there.
func (rec *Recording) Own() []*os.File {
	own := rec.w.Files()
	if rec.old != nil {
		own = append(own, rec.old.Files()...)
	}
	for _, f := range []*os.File{rec.held, rec.snap, rec.pend.File()} {
		if f != nil {
			own = append(own, f)
		}
	}
	return own
}

// Recorded is what a recording wrote.
type Recorded struct {
	Entries      uint64
	Files, Bytes int64 // files hashed, and their bytes
}

// Record writes every entry src delivers, under the policy comp was compiled from, and
// commits the baseline with meta, whose Generation it sets, and the package snapshot
// SnapshotPackages wrote, sealed in meta. progress, if set, sees every entry. On an
// error nothing is committed and db is unchanged.
func (rec *Recording) Record(ctx context.Context, comp *config.Compiled, src diff.Source, meta baseline.Meta, progress func(*tree.Entry)) (Recorded, error) {
	var st Recorded
	rec.w.KeyBase = baseline.KeyBaseFor(RootPaths(comp))
	meta.Generation = rec.gen
	meta.Packages = rec.pend.Digest()
	err := src(ctx, func(e *tree.Entry) error {
		if progress != nil {
			progress(e)
		}
		rec.Verified.Mark(e)
		if e.Hashed() {
			st.Files++
			st.Bytes += e.Size
		}
		return rec.w.Add(e)
	})
	if err == nil {
		err = rec.w.Commit(meta)
	}
	if err != nil {
		return st, fmt.Errorf("baseline not written, %s unchanged: %w", rec.db, err)
	}
	st.Entries = rec.w.Count()
	if rec.pend != nil {
		return st, rec.pend.Commit()
	}
	return st, nil
}

// Close gives up what Record did not commit and lets go of what it held.
func (rec *Recording) Close() {
	if rec.w != nil {
		rec.w.Abort() // no-op after a commit
	}
	if rec.old != nil {
		rec.old.Close()
	}
	for _, f := range []*os.File{rec.held, rec.snap} {
		if f != nil {
			f.Close()
		}
	}
	rec.pend.Abort()
}

// SnapshotPackages reads which package of the databases under root lists each path
// below the roots of comp, the evidence that explains a later remove, to be committed
// beside the baseline, and sealed in its meta, by Record. It returns the databases'
// warnings.
func (rec *Recording) SnapshotPackages(root string, comp *config.Compiled) ([]error, error) {
	p, warns, err := PackageSnapshot(rec.db, root, comp, nil)
	rec.pend = p
	return warns, err
}

// PackageSnapshot writes the package snapshot (provenance.PrepareSnapshot) of a
// baseline at db, about to be committed, of the packages under root that list paths
// below the roots of comp (keeping what keep lists, if set). Its Digest goes into the
// new baseline's meta (baseline.Meta.Packages); once that is committed, Commit puts it
// in place.
func PackageSnapshot(db, root string, comp *config.Compiled, keep *provenance.Snapshot) (*provenance.PendingSnapshot, []error, error) {
	return provenance.PrepareSnapshot(provenance.SnapshotPath(db), root, RootPaths(comp), keep)
}

// RootPaths returns the recorded paths of the configured roots.
func RootPaths(comp *config.Compiled) []string {
	var roots []string
	for _, r := range comp.Roots() {
		roots = append(roots, r.Path)
	}
	return roots
}
