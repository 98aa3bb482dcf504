package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"fim/baseline"
	"fim/diff"
	"fim/internal/fstest"
)

// priorBaseline writes the fixture's baseline as an older fim did: without a key base,
// of generation 5, with one acceptance in its history.
func (f *fixture) priorBaseline(t *testing.T) baseline.Meta {
	t.Helper()
	w, err := baseline.Create(f.db)
	must(t, err)
	for _, e := range fstest.Collect(t, Walker(f.comp, WalkerOptions{Own: w.Files()}).Walk(context.Background())) {
		must(t, w.Add(e))
	}
	raw, err := json.Marshal(f.pol)
	must(t, err)
	meta := baseline.Meta{Created: time.Now().UTC(), Generation: 5, Policy: raw,
		Accepted: []baseline.Acceptance{{Time: time.Now().UTC(), User: "earlier", Accepted: 1}}}
	must(t, w.Commit(meta))
	return meta
}

// TestCommit: the baseline that replaces another, whether the walk (check --update) or
// an overlay of accepted differences (accept), carries on its accept history and
// generation count, is stamped anew, and has the key base of the policy the check
// walked with, not the one the old baseline was written with.
func TestCommit(t *testing.T) {
	for _, c := range []struct {
		name    string
		replace func(t *testing.T, f *fixture, b *Baseline) baseline.Meta
		history int // entries of the accept history after
	}{
		{"check --update", func(t *testing.T, f *fixture, b *Baseline) baseline.Meta {
			_, meta, err := Check(context.Background(), b, Options{DB: f.db}, Stamp{Version: "v9", Host: "h"},
				func([]diff.Event) error { return nil })
			must(t, err)
			return meta
		}, 1},
		{"accept", func(t *testing.T, f *fixture, b *Baseline) baseline.Meta {
			res, err := Accept(context.Background(), b, AcceptOptions{Options: Options{DB: f.db}, Select: &Selector{AnyKind: true},
				Stamp: Stamp{Version: "v9", Host: "h"}, Selectors: []string{"--path=**"},
				Report: func([]diff.Event) error { return nil }})
			must(t, err)
			if len(res.Accepted) != 1 {
				t.Errorf("accepted %d differences, want the create", len(res.Accepted))
			}
			return res.Meta
		}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"a": "a", "d/b": "b"})
			prior := f.priorBaseline(t)
			write(t, f.tree+"/d/c", "c")
			b, err := Open(f.db, OpenOptions{Replace: true})
			must(t, err)
			committed := c.replace(t, f, b)
			b.Close()
			r, err := baseline.Open(f.db)
			must(t, err)
			meta := r.Meta()
			r.Close()
			if meta.Generation != prior.Generation+1 || committed.Generation != meta.Generation {
				t.Errorf("generation %d (said %d), want %d", meta.Generation, committed.Generation, prior.Generation+1)
			}
			if len(meta.Accepted) != c.history || meta.Accepted[0].User != "earlier" {
				t.Errorf("accept history %+v, want the earlier acceptance and %d in all", meta.Accepted, c.history)
			}
			if last := meta.Accepted[len(meta.Accepted)-1]; c.history == 2 && (last.UID != os.Getuid() || last.Selectors[0] != "--path=**" || last.Accepted != 1 || last.Remaining != 0) {
				t.Errorf("acceptance %+v, want by uid %d with --path=**: 1 accepted, 0 remaining", last, os.Getuid())
			}
			if want := baseline.KeyBaseFor([]string{f.tree}); meta.KeyBase != want || want == "" {
				t.Errorf("key base %q, want the policy's %q", meta.KeyBase, want)
			}
			if meta.FimVersion != "v9" || meta.Host != "h" || !meta.Created.After(prior.Created) {
				t.Errorf("stamped %q on %q at %v, want v9 on h after %v", meta.FimVersion, meta.Host, meta.Created, prior.Created)
			}
			if got := f.compare(t, Options{}); len(got) != 0 {
				t.Errorf("after the commit a check reports %v", got)
			}
		})
	}
}

// TestReportsFirst: the differences a check --update finds, or the accepted ones, are
// reported before the new baseline is committed; when the report fails, or without a
// successor (a check without --update, a dry run of accept), the baseline is left byte
// for byte as it was.
func TestReportsFirst(t *testing.T) {
	errDown := errors.New("collector down")
	accept := func(b *Baseline, o Options, report func([]diff.Event) error) (baseline.Meta, error) {
		res, err := Accept(context.Background(), b, AcceptOptions{Options: o, Select: &Selector{AnyKind: true}, Report: report})
		if err != nil {
			return baseline.Meta{}, err
		}
		return res.Meta, nil
	}
	update := func(b *Baseline, o Options, report func([]diff.Event) error) (baseline.Meta, error) {
		_, meta, err := Check(context.Background(), b, o, Stamp{}, report)
		return meta, err
	}
	for _, c := range []struct {
		name      string
		run       func(b *Baseline, o Options, report func([]diff.Event) error) (baseline.Meta, error)
		replace   bool // false: no successor
		fail      error
		committed bool
	}{
		{"accept, delivered", accept, true, nil, true},
		{"accept, not delivered", accept, true, errDown, false},
		{"accept, dry run", accept, false, nil, false},
		{"check --update, delivered", update, true, nil, true},
		{"check --update, not delivered", update, true, errDown, false},
		{"check, delivered", update, false, nil, false},
		{"check, not delivered", update, false, errDown, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"a": "a"})
			f.baseline(t)
			before, err := os.ReadFile(f.db)
			must(t, err)
			write(t, f.tree+"/new", "n")
			b, err := Open(f.db, OpenOptions{Replace: c.replace})
			must(t, err)
			defer b.Close()
			reports := 0
			meta, err := c.run(b, Options{DB: f.db}, func(events []diff.Event) error {
				reports++
				if now, err := os.ReadFile(f.db); err != nil || !bytes.Equal(now, before) {
					t.Errorf("the baseline changed before the report (%v)", err)
				}
				if len(events) != 1 || events[0].Kind != diff.Create {
					t.Errorf("reported %v, want the create of /new", events)
				}
				return c.fail
			})
			if !errors.Is(err, c.fail) {
				t.Fatalf("error %v, want %v", err, c.fail)
			}
			if reports != 1 {
				t.Errorf("reported %d times, want once", reports)
			}
			b.Close()
			after, err := os.ReadFile(f.db)
			must(t, err)
			if changed := !bytes.Equal(after, before); changed != c.committed {
				t.Errorf("baseline replaced: %v, want %v", changed, c.committed)
			}
			if (meta.Generation != 0) != c.committed {
				t.Errorf("committed meta %+v, committed: %v", meta, c.committed)
			}
		})
	}
}
