package baseline

import (
	"context"
	"encoding/json"
	"errors"
	"fim/internal/fstest"
	"fim/tree"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestOverlay(t *testing.T) {
	// Entries are named by path; an overlaid entry's size tells it from the base's.
	base := func(paths ...string) []*tree.Entry {
		var es []*tree.Entry
		for _, p := range paths {
			es = append(es, &tree.Entry{Path: p})
		}
		return es
	}
	tests := []struct {
		name string
		base []*tree.Entry
		over map[string]*tree.Entry // nil value: removed
		want []string               // paths, "+" for an overlaid entry
	}{
		{"empty", nil, nil, nil},
		{"base only", base("/a", "/a/b", "/c"), nil, []string{"/a", "/a/b", "/c"}},
		{"overlay only", nil, map[string]*tree.Entry{"/b": {Path: "/b", Size: 1}, "/a": {Path: "/a", Size: 1}, "/z": nil},
			[]string{"+/a", "+/b"}},
		{"replace, add, remove", base("/a", "/a/b", "/a-b", "/c"), map[string]*tree.Entry{
			"/a/b": {Path: "/a/b", Size: 1}, // replaced
			"/a/c": {Path: "/a/c", Size: 1}, // added between /a/b and /a-b: '/' sorts first
			"/c":   nil,                     // removed
			"/d":   {Path: "/d", Size: 1},   // added at the end
			"/0":   nil,                     // removing what is not there
		}, []string{"/a", "+/a/b", "+/a/c", "/a-b", "+/d"}},
		{"remove everything", base("/a", "/b"), map[string]*tree.Entry{"/a": nil, "/b": nil}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range fstest.Collect(t, Overlay(tree.Entries(tt.base), tt.over)) {
				s := e.Path
				if e.Size == 1 {
					s = "+" + s
				}
				got = append(got, s)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	// An error of the base is passed on.
	boom := errors.New("boom")
	failing := func(yield func(*tree.Entry, error) bool) { yield(nil, boom) }
	var got []error
	for e, err := range Overlay(failing, map[string]*tree.Entry{"/a": {Path: "/a"}}) {
		if e != nil {
			t.Errorf("entry %v before the error", e)
		}
		got = append(got, err)
	}
	if len(got) != 1 || got[0] != boom {
		t.Errorf("errors %v, want just %v", got, boom)
	}
}

// TestOverlayBaseline rewrites a baseline through an overlay, as fim accept does, and
// reads back what was laid over it.
func TestOverlayBaseline(t *testing.T) {
	dir := t.TempDir()
	old, rewritten := filepath.Join(dir, "old.db"), filepath.Join(dir, "new.db")
	es := testEntries(300)
	writeBaseline(t, old, es)
	r, err := Open(old)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	added := &tree.Entry{Path: "/t/d00001/f00", Type: tree.TypeFile, Size: 7}
	changed := *es[5]
	changed.Size = 12345
	over := map[string]*tree.Entry{es[1].Path: nil, es[5].Path: &changed, added.Path: added}
	w, err := Create(rewritten)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range fstest.Collect(t, Overlay(r.Entries(context.Background()), over)) {
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(testMeta()); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(rewritten)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if n := r2.Meta().Entries; n != 300 {
		t.Errorf("%d entries, want 300 (one removed, one added)", n)
	}
	for p, want := range over {
		got, err := r2.Get(p)
		if err != nil {
			t.Fatal(err)
		}
		if (got == nil) != (want == nil) || got != nil && (got.Size != want.Size || got.Type != want.Type) {
			t.Errorf("%s: %+v, want %+v", p, got, want)
		}
	}
	if got, _ := r2.Get(es[6].Path); got == nil || !equalEntries(got, es[6]) {
		t.Errorf("%s not kept: %+v", es[6].Path, got)
	}
}

func TestAcceptHistory(t *testing.T) {
	var m Meta
	for i := range MaxAccepted + 20 {
		m.AddAcceptance(Acceptance{UID: i, Selectors: []string{"--path=/" + strconv.Itoa(i)}})
	}
	if len(m.Accepted) != MaxAccepted || m.Accepted[0].UID != 20 || m.Accepted[MaxAccepted-1].UID != MaxAccepted+19 {
		t.Fatalf("history of %d, from uid %d: want the last %d", len(m.Accepted), m.Accepted[0].UID, MaxAccepted)
	}
	// A copy of a meta that gets an acceptance leaves the original's history alone.
	orig := Meta{Accepted: []Acceptance{{UID: 1}, {UID: 2}}[:1:2]}
	cp := orig
	cp.AddAcceptance(Acceptance{UID: 3})
	if orig.Accepted[:2][1].UID != 2 {
		t.Error("AddAcceptance wrote into the original's array")
	}

	// The history is stored with the meta, read back whole, and signed with it.
	path := filepath.Join(t.TempDir(), "b.db")
	when := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	meta := testMeta()
	meta.AddAcceptance(Acceptance{Time: when, User: "alice", UID: 1000, Selectors: []string{"--type=create"}, Accepted: 3, Remaining: 2})
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(testEntries(1)[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(meta); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.Meta().Accepted; !reflect.DeepEqual(got, meta.Accepted) {
		t.Errorf("read back %+v, want %+v", got, meta.Accepted)
	}
	// A fim that predates the history reads the meta as before: the key is extra.
	var older struct {
		Format  int    `json:"format"`
		Digest  string `json:"digest"`
		Entries uint64 `json:"entries"`
	}
	dec := json.NewDecoder(strings.NewReader(string(r.info)))
	if err := dec.Decode(&older); err != nil || older.Format != FormatVersion || older.Digest != r.Meta().Digest {
		t.Errorf("older reader: %+v, %v", older, err)
	}
	if !strings.Contains(string(r.info), `"accepted":[{"time":"2025-01-02T03:04:05.000000006Z","user":"alice","uid":1000,`) {
		t.Errorf("stored meta: %s", r.info)
	}
	if _, err := decodeMeta([]byte(magic), []byte(strconv.Itoa(FormatVersion)), r.info, nil); err != nil {
		t.Errorf("decodeMeta: %v", err)
	}
}
