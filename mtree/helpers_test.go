package mtree

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fim/diff"
	"fim/internal/fstest"
	"fim/tree"
	"fim/walk"
)

// walkTree records the tree under root as fim does, "/" standing for root.
func walkTree(t testing.TB, root string) []*tree.Entry {
	t.Helper()
	w := &walk.Walker{Prefix: root, Roots: []walk.Root{{Path: "/"}},
		Warn: func(p string, err error) { t.Errorf("walk %s: %v", p, err) }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return fstest.Collect(t, w.Walk(ctx))
}

// write renders entries as a spec.
func write(t testing.TB, entries []*tree.Entry, opt WriteOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, tree.Entries(entries), opt); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b.String()
}

// parse parses a spec held in a string, named "spec".
func parse(t testing.TB, text string) *Spec {
	t.Helper()
	s, err := Parse(strings.NewReader(text), "spec")
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, text)
	}
	return s
}

// sameCarried fails unless got and want hold the same paths, in the same order, equal
// in every attribute not in uncarried; where content is carried, both sides hash the
// same files.
func sameCarried(t testing.TB, got, want []*tree.Entry, uncarried []string) {
	t.Helper()
	ignore, err := diff.ParseAttrs(uncarried)
	if err != nil {
		t.Fatal(err)
	}
	paths := func(es []*tree.Entry) []string {
		var ps []string
		for _, e := range es {
			ps = append(ps, e.Path)
		}
		return ps
	}
	if !slices.Equal(paths(got), paths(want)) {
		t.Fatalf("paths differ\n got: %q\nwant: %q", paths(got), paths(want))
	}
	for i, g := range got {
		w := want[i]
		if d := diff.Compare(w, g, ignore); d != 0 {
			t.Errorf("%q differs in %v\n got: %+v\nwant: %+v", g.Path, d.Strings(), *g, *w)
		}
		if !ignore.Has(diff.AttrContent) && g.Hashed() != w.Hashed() {
			t.Errorf("%q: hashed %v, walked hashed %v", g.Path, g.Hashed(), w.Hashed())
		}
	}
}

// canMknod reports whether the test may make device nodes (it runs as root); without
// root the test goes on without them, unless FIM_REQUIRE_ROOT=1 makes that a failure.
func canMknod(t testing.TB) bool {
	t.Helper()
	if os.Geteuid() == 0 {
		return true
	}
	if fstest.Required() {
		t.Fatal("device nodes need root, and FIM_REQUIRE_ROOT=1")
	}
	t.Log("not root: the tree has no device nodes")
	return false
}

// command runs a program and returns its output and exit status.
func command(t testing.TB, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatalf("%s %q: %v", name, args, err)
	return "", 0
}

// writeFile writes a file under dir and returns its path.
func writeFile(t testing.TB, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
