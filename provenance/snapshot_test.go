package provenance

import (
	"bytes"
	"compress/gzip"
	"fmt"
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
	digest, warns, err := WriteSnapshot(file, root, []string{"/usr/bin", "/usr/share/doc/hello"})
	if err != nil || len(warns) > 0 {
		t.Fatalf("write: %v, warnings %v", err, warns)
	}
	s, err := ReadSnapshot(file, digest)
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
	if digest, _, err := WriteSnapshot(file, t.TempDir(), []string{"/"}); err != nil || digest != "" {
		t.Fatalf("digest %q, %v", digest, err)
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
		data := gzipped(t, c.text)
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := ReadSnapshot(file, SnapshotDigest(data))
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
	digest, _, err := WriteSnapshot(file, root, []string{"/srv"})
	if err != nil {
		t.Fatal(err)
	}
	events := func() []diff.Event {
		return []diff.Event{{Kind: diff.Create, Path: "/srv/x"}, {Kind: diff.Create, Path: "/usr/bin/hello"}}
	}
	a := New(Options{Root: root, Snapshot: file, SnapshotDigest: digest})
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

// TestSnapshotSealed shows that a snapshot is read only with the digest its baseline
// sealed: one rewritten since, one where the baseline sealed none, and one gone that the
// baseline sealed are refused, with a warning naming the file, and then explain no
// remove; a snapshot kept by PrepareSnapshot keeps what the old one listed.
func TestSnapshotSealed(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello")
	file := filepath.Join(t.TempDir(), "b.db.packages")
	digest, _, err := WriteSnapshot(file, root, []string{"/usr"})
	if err != nil || digest == "" {
		t.Fatalf("digest %q, %v", digest, err)
	}
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	forged := gzipped(t, "fim-packages 1 0\npackage dpkg hello 1 amd64\n/usr/bin/planted\n")
	for _, c := range []struct {
		name   string
		data   []byte // nil: no file
		digest string
		want   string
	}{
		{"sealed", good, digest, ""},
		{"rewritten", forged, digest, "not the package snapshot the baseline sealed: its digest is"},
		{"none sealed", good, "", "the baseline seals none"},
		{"gone", nil, digest, "gone, and the baseline seals one"},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(file)
			if c.data != nil {
				if err := os.WriteFile(file, c.data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var warns []string
			a := New(Options{Root: root, Snapshot: file, SnapshotDigest: c.digest, Since: time.Unix(0, 0),
				Logf: func(format string, args ...any) { warns = append(warns, fmt.Sprintf(format, args...)) }})
			defer a.Close()
			evs := []diff.Event{{Kind: diff.Remove, Path: "/usr/bin/planted"}}
			if err := a.Annotate(evs); err != nil {
				t.Fatal(err)
			}
			if c.want == "" {
				if len(warns) > 0 || a.Snapshot() == nil {
					t.Fatalf("refused: %v", warns)
				}
				return
			}
			if len(warns) != 1 || !strings.Contains(warns[0], "package snapshot "+file+": ") || !strings.Contains(warns[0], c.want) {
				t.Errorf("warnings %q, want one naming %s: %s", warns, file, c.want)
			}
			if a.Snapshot() != nil || evs[0].Verdict != diff.VerdictUnknown || !strings.Contains(evs[0].Reason, "refused") {
				t.Errorf("remove: %s (%s), want unknown: the snapshot is refused", evs[0].Verdict, evs[0].Reason)
			}
		})
	}

	// Kept: the new snapshot lists what the old one did, with its time, and what the
	// databases list now.
	os.WriteFile(file, forged, 0o600)
	old, err := ReadSnapshot(file, SnapshotDigest(forged))
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := PrepareSnapshot(file, root, []string{"/usr"}, old)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	kept, err := ReadSnapshot(file, p.Digest())
	if err != nil {
		t.Fatal(err)
	}
	if !kept.Time.Equal(old.Time) || kept.Owner("/usr/bin/planted") == nil || kept.Owner("/usr/bin/hello") == nil {
		t.Errorf("kept snapshot: time %v (want %v), planted %v, hello %v", kept.Time, old.Time,
			kept.Owner("/usr/bin/planted"), kept.Owner("/usr/bin/hello"))
	}
}

func gzipped(t *testing.T, text string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(text))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDBEntries shows whose database entries each dpkg database file holds.
func TestDBEntries(t *testing.T) {
	for _, c := range []struct {
		path, pkg string
		ok        bool
	}{
		{"/var/lib/dpkg/info/hello.md5sums", "hello", true},
		{"/var/lib/dpkg/info/libc6:amd64.list", "libc6", true},
		{"/var/lib/dpkg/info/base-files.conffiles", "base-files", true},
		{"/var/lib/dpkg/status", allDpkg, true},
		{"/var/lib/dpkg/info/hello.postinst", "", false},
		{"/var/lib/dpkg/info/.md5sums", "", false},
		{"/var/lib/dpkg/info/x/hello.md5sums", "", false},
		{"/var/lib/dpkg/status-old", "", false},
		{"/usr/bin/hello", "", false},
	} {
		if pkg, ok := dbEntries(c.path); pkg != c.pkg || ok != c.ok {
			t.Errorf("%s: %q %v, want %q %v", c.path, pkg, ok, c.pkg, c.ok)
		}
	}
}
