package check

import (
	"context"
	"slices"
	"strings"
	"testing"

	"fim/config"
	"fim/internal/fstest"
)

// TestRecordingSource: a new baseline records a walk of the policy that leaves out the
// baseline being written beside the tree, or an image instead, under the policy
// adjusted to it.
func TestRecordingSource(t *testing.T) {
	f := newFixture(t, map[string]string{"etc/motd": "hello\n"})
	rec, err := Create(f.db, nil)
	must(t, err)
	defer rec.Close()
	pol, src, done, err := rec.Source(context.Background(), f.pol, f.comp, Sources{})
	must(t, err)
	got := paths(fstest.Collect(t, src))
	done()
	if pol != f.pol || !slices.Contains(got, f.tree+"/etc/motd") || !slices.Contains(got, f.tree+"/var") {
		t.Errorf("walk: %q under %+v, want the tree under the policy given", got, pol)
	}
	for _, p := range got {
		if strings.Contains(p, "fim.db") {
			t.Errorf("walk records %s, the baseline being written", p)
		}
	}

	img := &Image{Name: "img.tar", In: tarOf(t, "etc/", "etc/passwd")}
	root := &config.Policy{Rules: []config.Rule{{Path: "/", IncludeHidden: true}}}
	comp, err := root.Compile()
	must(t, err)
	pol, src, done, err = rec.Source(context.Background(), root, comp, Sources{Image: img, PackageDigests: true})
	must(t, err)
	got = paths(fstest.Collect(t, src))
	done()
	if want := []string{"/", "/etc", "/etc/passwd"}; !slices.Equal(got, want) || pol.Source != "tar:img.tar" || root.Source != "" {
		t.Errorf("image: %q, source %q (given policy's %q); want %q, tar:img.tar (and none)", got, pol.Source, root.Source, want)
	}
}
