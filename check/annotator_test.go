package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fim/config"
	"fim/diff"
	"fim/internal/debtest"
	"fim/provenance"
)

// TestBaselineAnnotator asks the package databases of a real dpkg root about the
// events of a comparison with its baseline: the package log since the baseline, and
// the package snapshot beside it, read only as the baseline's meta seals it.
func TestBaselineAnnotator(t *testing.T) {
	if a := (&Baseline{}).Annotator("/", nil); a != nil {
		t.Errorf("no provenance asked for: %v", a)
	}
	root := debtest.DpkgRoot(t, "hello")
	db := filepath.Join(t.TempDir(), "b.db")
	pol := &config.Policy{Root: root, Rules: []config.Rule{{Path: "/usr/bin", IncludeHidden: true}}}
	comp, err := pol.Compile()
	must(t, err)
	time.Sleep(20 * time.Millisecond) // a tick after the databases' last change, as a real baseline is
	rec, err := Create(db, nil)
	must(t, err)
	rec.Snapshot = &provenance.Options{}
	_, err = rec.Record(context.Background(), pol, Walker(comp, WalkerOptions{Root: root, Own: rec.Own()}).Walk(context.Background()), Stamp{}, nil)
	rec.Close()
	must(t, err)

	debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "--remove", "hello")...)

	// compare compares the tree with the baseline, annotated as fim check does, and
	// returns the verdict of the removed program and the warnings.
	compare := func(t *testing.T) (diff.Verdict, []string) {
		t.Helper()
		b, err := Open(db, OpenOptions{})
		must(t, err)
		defer b.Close()
		var warned []string
		prov := b.Annotator(root, &provenance.Options{Logf: func(format string, args ...any) {
			warned = append(warned, fmt.Sprintf(format, args...))
		}})
		defer prov.Close()
		events, err := Compare(context.Background(), Options{Baseline: b.Reader, Compiled: b.Compiled, DB: db,
			Walker: WalkerOptions{Root: root}, Provenance: prov})
		must(t, err)
		for _, ev := range events {
			if ev.Path == "/usr/bin/hello" && ev.Kind == diff.Remove {
				return ev.Verdict, warned
			}
		}
		t.Fatalf("no remove of /usr/bin/hello in %v", events)
		return "", nil
	}
	if v, warned := compare(t); v != diff.VerdictRemoved || len(warned) > 0 {
		t.Errorf("sealed snapshot: %s, warnings %q; want removed, none", v, warned)
	}
	// A snapshot rewritten since the baseline sealed it is refused, with a warning,
	// and explains no remove.
	snap := provenance.SnapshotPath(db)
	data, err := os.ReadFile(snap)
	must(t, err)
	must(t, os.WriteFile(snap, append(data, 0), 0o600))
	if v, warned := compare(t); v == diff.VerdictRemoved || len(warned) != 1 || !strings.Contains(warned[0], snap) {
		t.Errorf("rewritten snapshot: %s, warnings %q; want no remove explained, one warning naming %s", v, warned, snap)
	}
}
