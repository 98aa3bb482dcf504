package walk

import (
	"bytes"
	"context"
	"errors"
	"fim/tree"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/gobwas/glob"
	"golang.org/x/sys/unix"
)

// walkTimeout bounds every walk of a test: a walk that opens a FIFO or reads a device
// hangs, and must fail the test rather than the test binary's deadline.
const walkTimeout = 20 * time.Second

// result is what one walk produced.
type result struct {
	base    string // real directory that relative paths are taken from
	entries []*tree.Entry
	warns   []warning
	err     error
}

type warning struct {
	path string
	err  error
}

// run walks w with a deadline and collects its entries (as the pointers fn was given:
// fn may keep them) and warnings. It fails the test if the walk hangs, or if entries
// or warnings are not strictly in key order.
func run(t testing.TB, w *Walker) *result {
	t.Helper()
	r := &result{}
	if w.Warn == nil {
		w.Warn = func(p string, err error) { r.warns = append(r.warns, warning{p, err}) }
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		for e, err := range w.Walk(ctx) {
			if err != nil {
				done <- err
				return
			}
			r.entries = append(r.entries, e)
		}
		done <- nil
	}()
	select {
	case r.err = <-done:
	case <-time.After(walkTimeout):
		cancel()
		t.Fatalf("walk did not finish within %v", walkTimeout)
	}
	for i := 1; i < len(r.entries); i++ {
		a, b := r.entries[i-1].Path, r.entries[i].Path
		if tree.ComparePaths(a, b) >= 0 || bytes.Compare(tree.Key(a), tree.Key(b)) >= 0 {
			t.Errorf("entries out of order or repeated: %q then %q", a, b)
		}
	}
	for i := 1; i < len(r.warns); i++ {
		if a, b := r.warns[i-1].path, r.warns[i].path; tree.ComparePaths(a, b) > 0 {
			t.Errorf("warnings out of order: %q then %q", a, b)
		}
	}
	return r
}

// walkDir walks the single root dir with options o; relative paths are taken from dir.
func walkDir(t testing.TB, dir string, o Options) *result {
	t.Helper()
	r := run(t, &Walker{Roots: []Root{{Path: dir, Options: o}}})
	r.base = dir
	if r.err != nil {
		t.Fatalf("walk %s: %v", dir, r.err)
	}
	return r
}

// rel turns a recorded path into one relative to r.base: "." for the base itself.
func (r *result) rel(path string) string {
	if r.base == "" {
		return path
	}
	if path == r.base {
		return "."
	}
	if p, ok := strings.CutPrefix(path, r.base+"/"); ok {
		return p
	}
	return path
}

// paths lists the recorded paths relative to r.base, in walk order.
func (r *result) paths() []string {
	ps := make([]string, len(r.entries))
	for i, e := range r.entries {
		ps[i] = r.rel(e.Path)
	}
	return ps
}

// get returns the entry recorded for rel, or fails the test.
func (r *result) get(t testing.TB, rel string) *tree.Entry {
	t.Helper()
	for _, e := range r.entries {
		if r.rel(e.Path) == rel {
			return e
		}
	}
	t.Fatalf("%q not recorded; recorded: %q", rel, r.paths())
	return nil
}

// warned returns the warnings for rel.
func (r *result) warned(rel string) []error {
	var errs []error
	for _, w := range r.warns {
		if r.rel(w.path) == rel {
			errs = append(errs, w.err)
		}
	}
	return errs
}

// sortedPaths sorts relative paths in walk order ("." first), for expectations.
func sortedPaths(ps ...string) []string {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == ".":
			return -1
		case b == ".":
			return 1
		}
		return tree.ComparePaths(a, b)
	})
	return ps
}

func diffPaths(t testing.TB, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	var missing, extra []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	t.Errorf("recorded paths differ\n got: %q\nwant: %q\nmissing: %q\nextra: %q", got, want, missing, extra)
}

// globs compiles patterns with '/' as the separator, "/ROOT" replaced by root.
func globs(t testing.TB, root string, patterns ...string) []Matcher {
	t.Helper()
	var ms []Matcher
	for _, p := range patterns {
		g, err := glob.Compile(strings.ReplaceAll(p, "/ROOT", glob.QuoteMeta(root)), '/')
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, g)
	}
	return ms
}

// openWatch counts, with inotify, the opens of files by name. It watches the files'
// directories: a watch on the file itself would see the opens through all its hard
// links as one, and inotify merges identical events queued in a row.
type openWatch struct {
	fd   int
	dirs map[int32]string
}

func watchOpens(t testing.TB, paths ...string) *openWatch {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	w := &openWatch{fd: fd, dirs: map[int32]string{}}
	for _, p := range paths {
		// IN_CLOSE_NOWRITE interleaves with IN_OPEN, so that opens in a row stay apart.
		wd, err := unix.InotifyAddWatch(fd, filepath.Dir(p), unix.IN_OPEN|unix.IN_CLOSE_NOWRITE|unix.IN_ONLYDIR)
		if err != nil {
			t.Fatalf("inotify %s: %v", p, err)
		}
		w.dirs[int32(wd)] = filepath.Dir(p)
	}
	return w
}

// opens returns how many times each file in the watched directories was opened since
// the last call, by path.
func (w *openWatch) opens(t testing.TB) map[string]int {
	t.Helper()
	n := map[string]int{}
	buf := make([]byte, 64<<10)
	for {
		k, err := unix.Read(w.fd, buf)
		if errors.Is(err, unix.EAGAIN) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= k; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			if ev.Mask&unix.IN_OPEN != 0 && ev.Mask&unix.IN_ISDIR == 0 {
				n[w.dirs[ev.Wd]+"/"+string(bytes.TrimRight(name, "\x00"))]++
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
}
