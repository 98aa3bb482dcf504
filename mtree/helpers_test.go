package mtree

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"fim/diff"
	"fim/tree"
	"fim/walk"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// tree describes a directory tree to build: slash-separated paths relative to its root,
// a key ending in "/" a directory. Parents are made 0755; modes are set after
// everything exists, and every time is set to mtime so that specs are stable.
type layout map[string]item

type item struct {
	typ    tree.Type
	data   string // content, or symlink target, or the tree path a hard link names
	hard   bool
	rdev   uint64
	perm   uint32
	chmod  bool
	mtime  time.Time
	chtime bool
}

func file(data string) item   { return item{typ: tree.TypeFile, data: data} }
func dir() item               { return item{typ: tree.TypeDir} }
func link(target string) item { return item{typ: tree.TypeSymlink, data: target} }
func hardlink(to string) item { return item{typ: tree.TypeFile, data: to, hard: true} }
func fifo() item              { return item{typ: tree.TypeFIFO} }
func chardev(major, minor uint32) item {
	return item{typ: tree.TypeCharDev, rdev: unix.Mkdev(major, minor)}
}
func blockdev(major, minor uint32) item {
	return item{typ: tree.TypeBlockDev, rdev: unix.Mkdev(major, minor)}
}
func (it item) mode(perm uint32) item { it.perm, it.chmod = perm, true; return it }
func (it item) at(t time.Time) item   { it.mtime, it.chtime = t, true; return it }

// makeTree builds tr in a new temporary directory and returns its path.
func makeTree(t testing.TB, tr layout) string {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(tr))
	for k := range tr {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, tree.ComparePaths)
	real := func(k string) string { return filepath.Join(root, strings.TrimSuffix(k, "/")) }
	for _, hard := range []bool{false, true} {
		for _, k := range keys {
			it, p := tr[k], real(k)
			if it.hard != hard {
				continue
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			var err error
			switch {
			case it.hard:
				err = os.Link(real(it.data), p)
			case it.typ == tree.TypeFile:
				err = os.WriteFile(p, []byte(it.data), 0o644)
			case it.typ == tree.TypeDir:
				err = os.MkdirAll(p, 0o755)
			case it.typ == tree.TypeSymlink:
				err = os.Symlink(it.data, p)
			case it.typ == tree.TypeFIFO:
				err = unix.Mkfifo(p, 0o644)
			case it.typ == tree.TypeCharDev:
				err = unix.Mknod(p, unix.S_IFCHR|0o644, int(it.rdev))
			case it.typ == tree.TypeBlockDev:
				err = unix.Mknod(p, unix.S_IFBLK|0o644, int(it.rdev))
			}
			if err != nil {
				t.Fatalf("tree %q: %v", k, err)
			}
		}
	}
	for _, k := range slices.Backward(keys) {
		it, p := tr[k], real(k)
		if it.chmod {
			if err := unix.Chmod(p, it.perm); err != nil {
				t.Fatalf("tree %q: %v", k, err)
			}
		}
		if it.chtime {
			ts := []unix.Timespec{unix.NsecToTimespec(it.mtime.UnixNano()), unix.NsecToTimespec(it.mtime.UnixNano())}
			if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				t.Fatalf("tree %q: %v", k, err)
			}
		}
	}
	return root
}

// walkTree records the tree under root as fim does, "/" standing for root.
func walkTree(t testing.TB, root string) []*tree.Entry {
	t.Helper()
	var out []*tree.Entry
	w := &walk.Walker{Prefix: root, Roots: []walk.Root{{Path: "/"}},
		Warn: func(p string, err error) { t.Errorf("walk %s: %v", p, err) }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Walk(ctx, func(e *tree.Entry) error { out = append(out, e); return nil }); err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return out
}

// iter hands entries out one at a time, as baseline.Reader.Iter().Next does.
func iter(entries []*tree.Entry) func() (*tree.Entry, error) {
	return func() (*tree.Entry, error) {
		if len(entries) == 0 {
			return nil, nil
		}
		e := entries[0]
		entries = entries[1:]
		return e, nil
	}
}

// write renders entries as a spec.
func write(t testing.TB, entries []*tree.Entry, opt WriteOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, iter(entries), opt); err != nil {
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

// requireTool returns the path of a program the test runs, or skips the test (fails it
// when FIM_REQUIRE_ROOT=1, as CI sets); install says where the program comes from.
func requireTool(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		skipUnlessRequired(t, name+" not installed ("+install+")")
	}
	return p
}

// canMknod reports whether the test may make device nodes (it runs as root); without
// root the test goes on without them, unless FIM_REQUIRE_ROOT=1 makes that a failure.
func canMknod(t testing.TB) bool {
	t.Helper()
	if os.Geteuid() == 0 {
		return true
	}
	if os.Getenv("FIM_REQUIRE_ROOT") == "1" {
		t.Fatal("device nodes need root, and FIM_REQUIRE_ROOT=1")
	}
	t.Log("not root: the tree has no device nodes")
	return false
}

func skipUnlessRequired(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("FIM_REQUIRE_ROOT") == "1" {
		t.Fatalf("%s, and FIM_REQUIRE_ROOT=1", why)
	}
	t.Skip(why)
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
