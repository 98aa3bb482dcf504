package check

import (
	"encoding/json"
	"fmt"
	"time"

	"fim/baseline"
	"fim/config"
	"fim/provenance"
)

// Stamp is what a new baseline records of where it was made: fim's version and the
// host.
type Stamp struct {
	Version      string
	Host, HostID string
}

// NewMeta returns the meta of a baseline made now with pol, stamped s.
func NewMeta(pol *config.Policy, s Stamp) (baseline.Meta, error) {
	raw, err := json.Marshal(pol)
	return baseline.Meta{FimVersion: s.Version, Created: time.Now().UTC(), Host: s.Host, HostID: s.HostID, Policy: raw}, err
}

// KeyBase is the key base (baseline.Meta.KeyBase) of every baseline made with comp: the
// one its walk and every record of a check of it lie below, whatever the baseline it
// replaces was written with.
func KeyBase(comp *config.Compiled) string {
	return baseline.KeyBaseFor(RootPaths(comp))
}

// carry returns meta carrying on from prior, the meta of the baseline it replaces: the
// accept history outlives the rewrite, the generation count goes on from prior's (the
// writer adds one as it commits), and prior's package snapshot is kept, sealed, until
// a new one is sealed in its place (provenance.Annotator.NextSnapshot), and so is
// prior's copy key (baseline.Meta.CopyKey), so that the digests of redacted secrets stay
// comparable.
func carry(prior, meta baseline.Meta) baseline.Meta {
	meta.Accepted = prior.Accepted
	meta.Generation = prior.Generation
	meta.Packages = prior.Packages
	if prior.CopyKey != "" {
		meta.CopyKey = prior.CopyKey // what the copies carried over were redacted with
	}
	return meta
}

// Continue returns meta carrying on from the baseline at db, if one is there, for a
// writer that replaces it again and again (fim watch --update): its accept history, and
// its generation, to which each rewrite adds one. signed says that baseline is signed,
// so that its successors must be too. A baseline that does not open leaves meta as it
// is: the rewrite starts afresh.
func Continue(db string, meta baseline.Meta) (next baseline.Meta, signed bool) {
	r, err := baseline.Open(db)
	if err != nil {
		return meta, false
	}
	defer r.Close()
	return carry(r.Meta(), meta), r.Signed()
}

// Commit commits b's successor (OpenOptions.Replace) with the meta of a baseline made
// now with b's policy, stamped s, carrying on b's accept history with acc added (if
// set) and one generation after b's. With prov, the package provenance of the check
// (nil: none), it writes the package snapshot of the successor beside it, of the
// packages under prov's root that list paths below the policy's roots (an accept, acc,
// keeps what b's snapshot lists too: its successor keeps records of b), seals it in the
// meta and puts it in place once the successor is committed; a snapshot that cannot
// be written is logged, and the successor keeps b's. It returns the meta committed. On
// an error of the baseline nothing is committed and the baseline is as it was.
func (b *Baseline) Commit(s Stamp, acc *baseline.Acceptance, prov *provenance.Annotator) (baseline.Meta, error) {
	meta, err := NewMeta(b.Policy, s)
	if err != nil {
		return meta, err
	}
	meta = carry(b.Meta(), meta)
	meta.Generation++
	if acc != nil {
		meta.AddAcceptance(*acc)
	}
	snap := prov.NextSnapshot(provenance.SnapshotPath(b.Path()), RootPaths(b.Compiled), acc != nil)
	defer snap.Abort()
	if snap != nil {
		meta.Packages = snap.Digest()
	}
	if err := b.next.Commit(meta); err != nil {
		return meta, fmt.Errorf("baseline not updated: %w", err)
	}
	return meta, snap.Commit()
}
