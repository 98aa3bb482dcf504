package check

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fim/baseline"
	"fim/internal/fstest"
)

// signedBaseline writes the fixture's baseline signed with key, of generation gen, made
// at created.
func (f *fixture) signedBaseline(t *testing.T, key ed25519.PrivateKey, gen uint64, created time.Time) {
	t.Helper()
	w, err := baseline.Create(f.db)
	must(t, err)
	w.Signer = key
	w.KeyBase = baseline.KeyBaseFor([]string{f.tree})
	for _, e := range fstest.Collect(t, Walker(f.comp, WalkerOptions{Own: w.Files()}).Walk(context.Background())) {
		must(t, w.Add(e))
	}
	raw, err := json.Marshal(f.pol)
	must(t, err)
	must(t, w.Commit(baseline.Meta{Created: created, Generation: gen, Policy: raw}))
}

// TestOpen: a baseline is compared with only once its signature (with the key to
// verify and the key to sign its successor), its freshness and its policy hold.
func TestOpen(t *testing.T) {
	_, key, err := ed25519.GenerateKey(nil)
	must(t, err)
	_, other, err := ed25519.GenerateKey(nil)
	must(t, err)
	pub := key.Public().(ed25519.PublicKey)
	now := time.Now().UTC()
	for _, c := range []struct {
		name    string
		key     ed25519.PrivateKey // nil: unsigned
		gen     uint64
		created time.Time
		opts    OpenOptions
		refused string // "": opened
	}{
		{"unsigned, nothing demanded", nil, 1, now, OpenOptions{}, ""},
		{"signed, verified", key, 1, now, OpenOptions{Verify: pub}, ""},
		{"unsigned, verify demanded", nil, 1, now, OpenOptions{Verify: pub}, "not signed"},
		{"signed by another key", other, 1, now, OpenOptions{Verify: pub}, "does not verify"},
		{"re-signed with the key it was signed with", key, 1, now, OpenOptions{Signer: key}, ""},
		{"re-signed with another key", other, 1, now, OpenOptions{Signer: key}, "does not verify"},
		{"unsigned, re-signed", nil, 1, now, OpenOptions{Signer: key}, ""},
		{"too old", nil, 1, now.Add(-48 * time.Hour), OpenOptions{Fresh: baseline.Freshness{MaxAge: 24 * time.Hour}}, "older than"},
		{"generation too low", nil, 3, now, OpenOptions{Fresh: baseline.Freshness{MinGeneration: 4}}, "generation 3"},
		{"generation enough", nil, 4, now, OpenOptions{Fresh: baseline.Freshness{MinGeneration: 4}}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"a": "a"})
			f.signedBaseline(t, c.key, c.gen, c.created)
			b, err := Open(f.db, c.opts)
			if c.refused == "" {
				must(t, err)
				defer b.Close()
				if b.Policy == nil || b.Compiled == nil || b.Policy.Rules[0].Path != f.tree {
					t.Errorf("policy %+v", b.Policy)
				}
				return
			}
			if err == nil {
				b.Close()
				t.Fatalf("opened, want refused: %s", c.refused)
			}
			if !errors.Is(err, baseline.ErrBadBaseline) || !strings.Contains(err.Error(), c.refused) {
				t.Errorf("error %v, want ErrBadBaseline saying %q", err, c.refused)
			}
		})
	}
}

// TestCompareAgainst: a second baseline in place of the walk gives the events a check
// of the tree it recorded gives (fim diff).
func TestCompareAgainst(t *testing.T) {
	f := newFixture(t, map[string]string{"a": "a", "gone": "g", "etc/passwd": "root:x:0:0", "bin/sh": "#!"})
	f.baseline(t)
	write(t, f.tree+"/new", "n")
	must(t, os.Remove(f.tree+"/gone"))
	write(t, f.tree+"/etc/passwd", "root:x:0:0:changed")
	must(t, os.Rename(f.tree+"/a", f.tree+"/b"))
	walked := f.compare(t, Options{})

	newDB := filepath.Join(f.dir, "new.db")
	old := f.db
	f.db = newDB
	f.baseline(t)
	f.db = old
	cur, err := baseline.Open(newDB)
	must(t, err)
	defer cur.Close()
	got := f.compare(t, Options{Against: cur})
	// The second baseline, written outside the tree, recorded the first one and its
	// lock, which a walk leaves out as fim's own files.
	want := append(slices.Clone(walked), "create /var/fim.db", "create /var/fim.db.lock")
	if len(walked) != 4 || !slices.Equal(got, want) {
		t.Errorf("against the second baseline:\n\t%s\nthe walk:\n\t%s", strings.Join(got, "\n\t"), strings.Join(walked, "\n\t"))
	}
}
