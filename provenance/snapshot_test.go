package provenance

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fim/diff"
	"fim/internal/debtest"
)

// TestSnapshotReal writes the snapshot of a root with real packages installed by the
// real dpkg, limited to the baseline's roots, and reads it back: a path is found under
// the name dpkg recorded and under its /usr-merge alias.
func TestSnapshotReal(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello", "hostname")
	file := filepath.Join(t.TempDir(), "b.db.packages")
	warns, err := WriteSnapshot(file, root, []string{"/usr/bin", "/usr/share/doc/hello"})
	if err != nil || len(warns) > 0 {
		t.Fatalf("write: %v, warnings %v", err, warns)
	}
	s, err := ReadSnapshot(file)
	if err != nil {
		t.Fatal(err)
	}
	a := New(Options{Root: root, Snapshot: file})
	defer a.Close()
	if err := a.open(); err != nil {
		t.Fatal(err)
	}
	s.names = a.db.Names
	for _, c := range []struct{ path, pkg string }{
		{"/usr/bin/hello", "hello"},
		{"/usr/share/doc/hello/copyright", "hello"},
		{"/usr/bin/hostname", "hostname"}, // recorded as /bin/hostname
		{"/bin/hostname", "hostname"},
		{"/usr/share/doc/hostname/copyright", ""}, // not under the roots
		{"/usr/bin/nothing", ""},
	} {
		got := ""
		if p := s.Owner(c.path); p != nil {
			got = p.Name
		}
		if got != c.pkg {
			t.Errorf("%s: owner %q, want %q", c.path, got, c.pkg)
		}
	}

	// No package database: no snapshot, and an older one goes.
	if _, err := WriteSnapshot(file, t.TempDir(), []string{"/"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("a snapshot without a package database: %v", err)
	}
}

// TestSnapshotDamage shows that a damaged snapshot is an error naming the file and
// the line.
func TestSnapshotDamage(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"fim-packages 1 12\npackage dpkg a 1 all\n/a\n", ""},
		{"", "empty"},
		{"fim-packages 2 12\n", "line 1: not a package snapshot"},
		{"fim-packages 1 12\n/a\n", "line 2: want a package line"},
		{"fim-packages 1 12\npackage dpkg a 1\n", "line 2: want package MANAGER NAME VERSION ARCH"},
		{"fim-packages 1 12\npackage dpkg a 1 all\nrel/a\n", "line 3: want a package line"},
		{"fim-packages 1 12\npackage dpkg a 1 all\n/a", "line 3: cut short"},
	} {
		file := filepath.Join(t.TempDir(), "s")
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(c.text))
		zw.Close()
		if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := ReadSnapshot(file)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.text, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), file+": "+c.want)):
			t.Errorf("%q: error %v, want %q naming %s", c.text, err, c.want, file)
		}
	}
}

// FuzzSnapshot feeds the snapshot parser anything: it never panics, and what it
// accepts has the header and absolute paths with an owner.
func FuzzSnapshot(f *testing.F) {
	f.Add([]byte("fim-packages 1 1796207901108593836\npackage dpkg hello 2.10-3 amd64\n/usr/bin/hello\n/usr/share/doc/hello\npackage rpm bash 5.2-1 x86_64\n/usr/bin/bash\n"))
	f.Add([]byte("fim-packages 1 0\n"))
	f.Add([]byte("fim-packages 1 -1\npackage a b c d\n/\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseSnapshot(data)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(data, []byte(snapshotHeader)) {
			t.Fatal("accepted without the header")
		}
		for p, o := range s.owners {
			if !strings.HasPrefix(p, "/") || o == nil || o.Name == "" || o.Manager == "" {
				t.Fatalf("accepted %q owned by %+v", p, o)
			}
		}
	})
}

// TestSnapshotNothingOwned shows that a check of roots no package lists reads no
// package database while none changed since the snapshot, and reads it once one did.
func TestSnapshotNothingOwned(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello")
	if err := os.MkdirAll(filepath.Join(root, "srv"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "b.db.packages")
	// A snapshot taken in the same clock tick as the databases' last change counts
	// them as changed since (file times have a tick's granularity): take it a tick
	// (at most 10 ms) later, as any real snapshot is.
	time.Sleep(20 * time.Millisecond)
	if _, err := WriteSnapshot(file, root, []string{"/srv"}); err != nil {
		t.Fatal(err)
	}
	events := func() []diff.Event {
		return []diff.Event{{Kind: diff.Create, Path: "/srv/x"}, {Kind: diff.Create, Path: "/usr/bin/hello"}}
	}
	a := New(Options{Root: root, Snapshot: file})
	defer a.Close()
	evs := events()
	if err := a.Annotate(evs); err != nil {
		t.Fatal(err)
	}
	if a.db != nil || evs[0].Verdict != "" {
		t.Fatalf("read the databases for roots no package lists: %+v", evs[0])
	}
	status := filepath.Join(root, "var/lib/dpkg/status")
	data, err := os.ReadFile(status)
	if err != nil {
		t.Fatal(err)
	}
	// A transaction since, as dpkg makes one: a new status file renamed into place
	// (rewriting it in place within one clock tick would leave its times as they were).
	if err := os.WriteFile(status+"-new", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(status+"-new", status); err != nil {
		t.Fatal(err)
	}
	evs = events()
	if err := a.Annotate(evs); err != nil {
		t.Fatal(err)
	}
	if evs[0].Verdict != diff.VerdictUnowned || evs[1].Verdict != diff.VerdictMatch {
		t.Errorf("after a database change: %s %s, want unowned and match", evs[0].Verdict, evs[1].Verdict)
	}
}
