package check

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"time"

	"fim/baseline"
	"fim/config"
	"fim/diff"
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
// accept history outlives the rewrite, and the generation count goes on from prior's
// (the writer adds one as it commits).
func carry(prior, meta baseline.Meta) baseline.Meta {
	meta.Accepted = prior.Accepted
	meta.Generation = prior.Generation
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
// set) and one generation after b's. It returns the meta committed. On an error
// nothing is committed and the baseline is as it was.
func (b *Baseline) Commit(s Stamp, acc *baseline.Acceptance) (baseline.Meta, error) {
	meta, err := NewMeta(b.Policy, s)
	if err != nil {
		return meta, err
	}
	meta = carry(b.Meta(), meta)
	meta.Generation++
	if acc != nil {
		meta.AddAcceptance(*acc)
	}
	if err := b.next.Commit(meta); err != nil {
		return meta, fmt.Errorf("baseline not updated: %w", err)
	}
	return meta, nil
}

// Check compares the tree with b (Compare; Options.Baseline and Compiled are b's) and
// hands the events to report. With b's successor (OpenOptions.Replace) the walk is the
// new baseline, stamped s, committed once report has delivered the events: a
// difference that could not be reported stays a difference. It returns the events and
// the meta committed (zero: none).
func Check(ctx context.Context, b *Baseline, o Options, s Stamp, report func([]diff.Event) error) ([]diff.Event, baseline.Meta, error) {
	o.Baseline, o.Compiled, o.Update = b.Reader, b.Compiled, b.next
	events, err := Compare(ctx, o)
	if err != nil {
		return nil, baseline.Meta{}, err
	}
	if err := report(events); err != nil {
		if b.next != nil {
			err = fmt.Errorf("baseline not updated: %w", err)
		}
		return events, baseline.Meta{}, err
	}
	if b.next == nil {
		return events, baseline.Meta{}, nil
	}
	meta, err := b.Commit(s, nil)
	return events, meta, err
}

// AcceptOptions say what fim accept compares and takes.
type AcceptOptions struct {
	Options           // the comparison: Accept sets its Baseline, Compiled and Seen
	Select  *Selector // the differences to accept
	Stamp   Stamp     // of the new baseline
	// Selectors are the flags that made Select, for the accept history, whose entry
	// also says when, by which user fim runs as, and how much was accepted and remains.
	Selectors []string
	// Report delivers the accepted differences. It is called before anything is
	// committed: when it fails, the baseline is left as it was.
	Report func(accepted []diff.Event) error
}

// Accepted is what an Accept found and took.
type Accepted struct {
	Events   []diff.Event  // every difference found
	Accepted []diff.Event  // those selected, reported
	Meta     baseline.Meta // the meta committed (zero: nothing was)
}

// Accept compares the tree with b and accepts the selected differences into the
// baseline that replaces it (Changes.Overlay): it writes the new baseline, reports the
// accepted differences, then commits it. A b opened without Replace makes a dry run,
// which reports and writes nothing; when nothing is selected nothing is reported or
// written.
func Accept(ctx context.Context, b *Baseline, o AcceptOptions) (*Accepted, error) {
	ch := NewChanges(o.Ignore)
	co := o.Options
	co.Baseline, co.Compiled, co.Seen = b.Reader, b.Compiled, ch.Seen
	co.Walker.Own = append(slices.Clone(co.Walker.Own), updateFiles(b.next)...)
	var err error
	if ch.Events, err = Compare(ctx, co); err != nil {
		return nil, err
	}
	accepted, take := ch.Select(o.Select)
	res := &Accepted{Events: ch.Events, Accepted: accepted}
	if len(accepted) == 0 {
		return res, nil
	}
	if b.next == nil {
		return res, o.Report(accepted)
	}
	if err := ch.Write(b.next, b.Reader, take); err != nil {
		return nil, fmt.Errorf("baseline not updated: %w", err)
	}
	acc := baseline.Acceptance{Time: time.Now().UTC(), Selectors: o.Selectors,
		Accepted: len(accepted), Remaining: len(ch.Events) - len(accepted)}
	acc.User, acc.UID = currentUser()
	// A difference whose acceptance could not be reported stays a difference.
	if err := o.Report(accepted); err != nil {
		return nil, fmt.Errorf("baseline not updated: %w", err)
	}
	if res.Meta, err = b.Commit(o.Stamp, &acc); err != nil {
		return nil, err
	}
	return res, nil
}

// currentUser names the user fim runs as.
func currentUser() (string, int) {
	uid := os.Getuid()
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username, uid
	}
	return "", uid
}
