package provenance

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"fim/diff"
	"fim/internal/debtest"
	"fim/tree"
	"fim/walk"
)

// walkUsr walks /usr under root with side (if set) and the prior entries prior (if
// set), and returns the entries by recorded path.
func walkUsr(t *testing.T, root string, side walk.SideDigest, prior map[string]*tree.Entry) map[string]*tree.Entry {
	t.Helper()
	w := &walk.Walker{Roots: []walk.Root{{Path: "/usr"}}, Prefix: root}
	if side != nil {
		w.Side = side
	}
	if prior != nil {
		w.Prior = func() func(string) *tree.Entry { return func(p string) *tree.Entry { return prior[p] } }
	}
	got := map[string]*tree.Entry{}
	for e, err := range w.Walk(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		got[e.Path] = e
	}
	return got
}

// TestDigestsBaseline: the walk of fim baseline --package-digests marks the files it
// reads that have their package's digest, and only those: not a file rewritten, not
// one whose .md5sums entry was changed, not a file no package lists.
func TestDigestsBaseline(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello")
	at := func(p string) string { return filepath.Join(root, p) }
	sums := at("var/lib/dpkg/info/hello.md5sums")
	data, err := os.ReadFile(sums)
	if err != nil {
		t.Fatal(err)
	}
	man := regexp.MustCompile(`(?m)^[0-9a-f]{32}(  usr/share/man/man1/hello.1.gz)$`)
	if err := os.WriteFile(sums, man.ReplaceAll(data, []byte(strings.Repeat("0", 32)+"$1")), 0o644); err != nil {
		t.Fatal(err)
	}
	for p, data := range map[string]string{"usr/share/doc/hello/copyright": "not hello's\n", "usr/bin/planted": "#!/bin/sh\n"} {
		if err := os.WriteFile(at(p), []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	d := NewDigests(root, t.Logf)
	defer d.Close()
	got := walkUsr(t, root, d, nil)
	for p, want := range map[string]bool{
		"/usr/bin/hello": true,
		"/usr/share/doc/hello/changelog.Debian.gz": true,
		"/usr/share/doc/hello/copyright":           false,
		"/usr/share/man/man1/hello.1.gz":           false,
		"/usr/bin/planted":                         false,
	} {
		e := got[p]
		if e == nil {
			t.Fatalf("%s not walked", p)
		}
		if v := e.Flags&tree.FlagPackageVerified != 0; v != want {
			t.Errorf("%s: verified %v, want %v", p, v, want)
		}
	}
}

// TestDigestsCheck: a check's verdict of a file the walk found changed is drawn from
// the walk's own read of it, so it speaks of the content the event reports even when
// the file changes again before the verdict is asked (here: back to the package's);
// a file the walk found as recorded was not digested, and its verdict reads it.
func TestDigestsCheck(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello")
	at := func(p string) string { return filepath.Join(root, p) }
	prior := walkUsr(t, root, nil, nil)
	bin, err := os.ReadFile(at("usr/bin/hello"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(at("usr/bin/hello"), []byte("trojan\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	a := New(Options{Root: root})
	defer a.Close()
	now := walkUsr(t, root, a.Digests(), prior)
	if err := os.WriteFile(at("usr/bin/hello"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(at("usr/share/doc/hello/copyright"), []byte("not hello's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	events := []diff.Event{
		{Kind: diff.Change, Path: "/usr/bin/hello", After: now["/usr/bin/hello"]},
		{Kind: diff.Change, Path: "/usr/share/doc/hello/copyright", After: now["/usr/share/doc/hello/copyright"]},
	}
	if err := a.Annotate(events); err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if ev.Verdict != diff.VerdictMismatch {
			t.Errorf("%s: %s (%s), want mismatch", ev.Path, ev.Verdict, ev.Reason)
		}
	}
	if n := len(a.digests.taken); n != 1 {
		t.Errorf("%d files digested in the walk, want 1 (the changed one)", n)
	}
}

// TestDigestsLinks: a file with several names is read once, under one of them, and the
// verdict of every name a package lists is drawn from that read: two of hello's files
// replaced by one trojan with both names are both mismatch, though each is back to
// its package's content when the verdicts are asked.
func TestDigestsLinks(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello")
	at := func(p string) string { return filepath.Join(root, p) }
	names := []string{"/usr/bin/hello", "/usr/share/doc/hello/copyright"}
	prior := walkUsr(t, root, nil, nil)
	shipped := map[string][]byte{}
	for _, p := range names {
		data, err := os.ReadFile(at(p))
		if err != nil {
			t.Fatal(err)
		}
		shipped[p] = data
	}
	if err := os.WriteFile(at(names[0]), []byte("trojan\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(at(names[1])); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(at(names[0]), at(names[1])); err != nil {
		t.Fatal(err)
	}
	a := New(Options{Root: root})
	defer a.Close()
	now := walkUsr(t, root, a.Digests(), prior)
	var events []diff.Event
	for _, p := range names {
		if now[p].Nlink != 2 {
			t.Fatalf("%s has %d names, want 2", p, now[p].Nlink)
		}
		events = append(events, diff.Event{Kind: diff.Change, Path: p, After: now[p]})
		if err := os.Remove(at(p)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(at(p), shipped[p], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Annotate(events); err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if ev.Verdict != diff.VerdictMismatch {
			t.Errorf("%s: %s (%s), want mismatch from the walk's read", ev.Path, ev.Verdict, ev.Reason)
		}
	}
}

// TestDigestsChangedSince: a check's walk neither looks up nor digests a file whose
// ctime is before the baseline's time, and the verdict of such a file with an event
// all the same (here: the trojan written before an accept made the baseline's time
// later) reads it again: still mismatch. Without a time, every file with one name is
// looked up.
func TestDigestsChangedSince(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello")
	at := func(p string) string { return filepath.Join(root, p) }
	prior := walkUsr(t, root, nil, nil)
	if err := os.WriteFile(at("usr/bin/hello"), []byte("trojan\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		since       time.Time
		lookups     bool
		digestsTook int
	}{
		{"no time", time.Time{}, true, 1},
		{"baseline after the change", time.Now().Add(time.Hour), false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := New(Options{Root: root})
			defer a.Close()
			var mu sync.Mutex
			looked := 0
			w := &walk.Walker{Roots: []walk.Root{{Path: "/usr"}}, Prefix: root, Side: a.Digests().ChangedSince(tc.since)}
			w.Prior = func() func(string) *tree.Entry {
				return func(p string) *tree.Entry {
					mu.Lock()
					looked++
					mu.Unlock()
					return prior[p]
				}
			}
			var trojan *tree.Entry
			for e, err := range w.Walk(context.Background()) {
				if err != nil {
					t.Fatal(err)
				}
				if e.Path == "/usr/bin/hello" {
					trojan = e
				}
			}
			if (looked > 0) != tc.lookups {
				t.Errorf("%d lookups", looked)
			}
			if n := len(a.digests.taken); n != tc.digestsTook {
				t.Errorf("%d files digested in the walk, want %d", n, tc.digestsTook)
			}
			events := []diff.Event{{Kind: diff.Change, Path: "/usr/bin/hello", After: trojan}}
			if err := a.Annotate(events); err != nil {
				t.Fatal(err)
			}
			if ev := events[0]; ev.Verdict != diff.VerdictMismatch {
				t.Errorf("%s: %s (%s), want mismatch", ev.Path, ev.Verdict, ev.Reason)
			}
		})
	}
}

// TestListedSymlinkReplaced: a link a package lists, pointing to another package's path,
// replaced in that package's transaction since the baseline by one to the same target
// (dpkg's upgrade of openssl's /usr/lib/ssl/cert.pem, of another mtime) is explained;
// pointed elsewhere, or created anew pointing out of its package, it is not.
func TestListedSymlinkReplaced(t *testing.T) {
	root := debtest.DpkgRoot(t, "libmagic-mgc", "libmagic1")
	const p = "/usr/share/misc/magic" // libmagic1's, to libmagic-mgc's ../file/magic
	link := func(target string, mtime int64) *tree.Entry {
		return &tree.Entry{Path: p, Type: tree.TypeSymlink, Mode: 0o777, LinkTarget: target, Mtime: mtime}
	}
	for _, c := range []struct {
		name string
		ev   diff.Event
		want diff.Verdict
	}{
		{"replaced", diff.Event{Kind: diff.Change, Path: p, Changed: diff.AttrSet(0).With(diff.AttrMtime).With(diff.AttrCtime).With(diff.AttrInode),
			Before: link("../file/magic", 1e18), After: link("../file/magic", 2e18)}, diff.VerdictListed},
		{"pointed elsewhere", diff.Event{Kind: diff.Change, Path: p, Changed: diff.AttrSet(0).With(diff.AttrMtime).With(diff.AttrLinkTarget),
			Before: link("../file/magic", 1e18), After: link("/tmp/evil", 2e18)}, diff.VerdictUnknown},
		{"created", diff.Event{Kind: diff.Create, Path: p, After: link("../file/magic", 2e18)}, diff.VerdictUnknown},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := New(Options{Root: root, Since: time.Unix(1, 0)})
			defer a.Close()
			events := []diff.Event{c.ev}
			if err := a.Annotate(events); err != nil {
				t.Fatal(err)
			}
			if got := events[0].Verdict; got != c.want {
				t.Errorf("verdict %q (%s), want %q", got, events[0].Reason, c.want)
			}
		})
	}
}
