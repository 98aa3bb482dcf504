package check

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"fim/baseline"
	"fim/config"
	"fim/provenance"
	"fim/textcopy"
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
	jrnl   *os.File         // the writer journal beside it, held likewise
	Expect uint64           // entries of the baseline it replaces: what to expect
	gen    uint64
	// Snapshot, if set, is how the package databases under the policy's root (its Root)
	// are read for the package snapshot kept beside the baseline, the evidence that
	// explains a later remove: Record writes it after the walk and seals it in the meta.
	// It is not written for a tree read from an image (config.Policy.Source): its
	// packages are not this host's.
	Snapshot *provenance.Options
	// CopyKey, made anew for each recording, keys the digests of the secrets redacted in
	// the copies it keeps: its walker's (config.Compiled.SetCopyKey), sealed in the meta.
	CopyKey textcopy.Key
}

// Create starts the baseline that replaces whatever is at db, signed with signer if
// set. It continues the generation count of the baseline it replaces, so that a
// --generation-file that saw the old one accepts it.
func Create(db string, signer ed25519.PrivateKey) (*Recording, error) {
	rec := &Recording{db: db, gen: 1, CopyKey: textcopy.NewKey()}
	if old, err := baseline.Open(db); err == nil {
		rec.old, rec.Expect, rec.gen = old, old.Meta().Entries, old.Meta().Generation+1
	} else if f, err := os.OpenFile(db, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0); err == nil {
		rec.held = f // a file the new baseline replaces, if it could be fim's
	}
	rec.snap, rec.jrnl = provenance.OpenSnapshot(db), provenance.OpenJournalFile(db)
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
// replaced, what it replaces, its package snapshot and writer journal. A walk of this host leaves them
// out (WalkerOptions.Own); the paths of an image are not this host's, and nothing here
// selects anything there.
func (rec *Recording) Own() []*os.File {
	own := rec.w.Files()
	if rec.old != nil {
		own = append(own, rec.old.Files()...)
	}
	for _, f := range []*os.File{rec.held, rec.snap, rec.jrnl} {
		if f != nil {
			own = append(own, f)
		}
	}
	return own
}

// Sources say where the entries of a new baseline come from (Recording.Source).
type Sources struct {
	// Walker is the walk of the policy; the recording's own files are added to what
	// it leaves out.
	Walker WalkerOptions
	// PackageDigests reads the files of packages against their packages' digests in
	// the read that hashes them (provenance.NewDigests), logging to Logf; not for an
	// image, whose packages are not this host's.
	PackageDigests bool
	Logf           func(format string, args ...any)
	// Image, if set, is read instead of walking (ReadImage).
	Image *Image
}

// Source returns the policy to record the tree with and its entries: those of the
// image, or of a walk of comp (pol compiled, given the recording's copy key) under
// pol's root. done lets go of what the walk holds, once it is recorded.
func (rec *Recording) Source(ctx context.Context, pol *config.Policy, comp *config.Compiled, s Sources) (_ *config.Policy, _ tree.Seq, done func(), err error) {
	done = func() {}
	if s.Image != nil {
		pol, src, err := ReadImage(ctx, pol, *s.Image)
		return pol, src, done, err
	}
	comp.SetCopyKey(rec.CopyKey)
	s.Walker.Own = append(s.Walker.Own, rec.Own()...)
	wk := Walker(comp, s.Walker)
	if s.PackageDigests {
		d := provenance.NewDigests(pol.Root, s.Logf)
		wk.Side, done = d, func() { d.Close() }
	}
	return pol, wk.Walk(ctx), done, nil
}

// Recorded is what a recording wrote.
type Recorded struct {
	Entries      uint64
	Files, Bytes int64 // files hashed, and their bytes
}

// Summary says what a baseline written to db in took recorded, with the number of
// warnings of its walk.
func (r Recorded) Summary(db string, took time.Duration, warnings int) string {
	s := fmt.Sprintf("baseline of %d entries (%d files, %.1f MB hashed) written to %s in %.2fs",
		r.Entries, r.Files, float64(r.Bytes)/1e6, db, took.Seconds())
	switch {
	case warnings == 1:
		s += ", 1 warning"
	case warnings > 1:
		s += fmt.Sprintf(", %d warnings", warnings)
	}
	return s
}

// Record writes every entry of src, recorded with pol, and commits the baseline
// with the meta of a baseline made now with pol (NewMeta), stamped s, one generation
// after the one it replaces, and with Snapshot the package snapshot sealed in it.
// progress, if set, sees every entry. On an error nothing is committed and db is
// unchanged.
func (rec *Recording) Record(ctx context.Context, pol *config.Policy, src tree.Seq, s Stamp, progress func(*tree.Entry)) (Recorded, error) {
	var st Recorded
	comp, err := pol.Compile()
	if err != nil {
		return st, &OptionError{err.Error()}
	}
	meta, err := NewMeta(pol, s)
	if err != nil {
		return st, err
	}
	rec.w.KeyBase = KeyBase(comp)
	meta.Generation = rec.gen
	if comp.KeepsCopies() {
		meta.CopyKey = rec.CopyKey.Encode()
	}
	host := pol.Source == "" // a walk of this host, whose packages these are
	for e, serr := range src {
		if err = serr; err == nil {
			err = ctx.Err() // stops an image read into memory as a walk stops
		}
		if err != nil {
			break
		}
		if progress != nil {
			progress(e)
		}
		if e.Hashed() {
			st.Files++
			st.Bytes += e.Size
		}
		if err = rec.w.Add(e); err != nil {
			break
		}
	}
	var snap *provenance.PendingSnapshot
	if err == nil && rec.Snapshot != nil && host {
		po := *rec.Snapshot
		po.Root = pol.Root
		snap = provenance.New(po).NextSnapshot(provenance.SnapshotPath(rec.db), RootPaths(comp), false)
		defer snap.Abort()
		meta.Packages = snap.Digest()
	}
	if err == nil {
		err = rec.w.Commit(meta)
	}
	if err != nil {
		return st, fmt.Errorf("baseline not written, %s unchanged: %w", rec.db, err)
	}
	st.Entries = rec.w.Count()
	return st, snap.Commit()
}

// Close gives up what Record did not commit and lets go of what it held.
func (rec *Recording) Close() {
	if rec.w != nil {
		rec.w.Abort() // no-op after a commit
	}
	if rec.old != nil {
		rec.old.Close()
	}
	for _, f := range []*os.File{rec.held, rec.snap, rec.jrnl} {
		if f != nil {
			f.Close()
		}
	}
}

// RootPaths returns the recorded paths of the configured roots.
func RootPaths(comp *config.Compiled) []string {
	var roots []string
	for _, r := range comp.Roots() {
		roots = append(roots, r.Path)
	}
	return roots
}
