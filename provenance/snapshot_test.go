package provenance

import (
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"github.com/klauspost/compress/zstd"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fim/diff"
	"fim/internal/debtest"
	"fim/pkgdb"
	"fim/tree"
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
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, zstdMagic) {
		t.Errorf("the snapshot is not one zstd frame: it begins %q", raw[:min(len(raw), 16)])
	}
	s, err := ReadSnapshot(file, digest)
	if err != nil {
		t.Fatal(err)
	}
	// The frame records the text's size, so that a reader makes one buffer of it.
	zr, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	text, err := zr.DecodeAll(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	var hdr zstd.Header
	if err := hdr.Decode(raw); err != nil || !hdr.HasFCS || hdr.FrameContentSize != uint64(len(text)) {
		t.Errorf("frame header %+v (%v): want the text's size %d", hdr, err, len(text))
	}
	// A frame that does not (as written before) reads the same.
	var stream bytes.Buffer
	zw, err := zstd.NewWriter(&stream)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(text[:len(text)/2])
	zw.Flush() // a block written before the end is known, as a stream of a large text is
	zw.Write(text[len(text)/2:])
	zw.Close()
	if hdr.Decode(stream.Bytes()) == nil && hdr.HasFCS {
		t.Fatalf("a streamed frame records its size: the case is not tested")
	}
	old := filepath.Join(t.TempDir(), "old.packages")
	if err := os.WriteFile(old, stream.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if o, err := ReadSnapshot(old, SnapshotDigest(stream.Bytes())); err != nil || !bytes.Equal(o.block, s.block) || len(o.lines) != len(s.lines) {
		t.Errorf("a snapshot of a streamed frame: %v, or not the same text", err)
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

// TestSnapshotDamage shows that a damaged snapshot, of either version, is an error
// naming the file and the line.
func TestSnapshotDamage(t *testing.T) {
	const id = "2049:7:120:1700000000000000000:1700000000000000001"
	for _, c := range []struct{ text, want string }{
		{"fim-packages 1 12\npackage dpkg a 1 all\n/a\n", ""},
		{"fim-packages 2 12\nroot /usr\nalias /bin /usr/bin\npackage dpkg a 1 all\ninfo a " + id + "\n/a 0\n/b 0\n", ""},
		{"fim-packages 2 12\npackage dpkg a 1 all\npackage dpkg b 1 all\n/a b 0,1\n", ""},
		{"", "empty"},
		{"fim-packages 3 12\n", "line 1: not a package snapshot"},
		{"fim-packages 1 12\n/a\n", "line 2: want a package line"},
		{"fim-packages 1 12\npackage dpkg a 1\n", "line 2: want package MANAGER NAME VERSION ARCH"},
		{"fim-packages 1 12\npackage dpkg a 1 all\nrel/a\n", "line 3: want a package line"},
		{"fim-packages 1 12\npackage dpkg a 1 all\n/a", "line 3: cut short"},
		{"fim-packages 2 12\n/a 0\n", "line 2: want PATH IDS after the packages"},
		{"fim-packages 2 12\npackage dpkg a 1 all\n/b 0\n/a 0\n", `line 4: "/a" not after "/b"`},
		{"fim-packages 2 12\npackage dpkg a 1 all\n/a 0\n/a 0\n", `line 4: "/a" not after "/a"`},
		{"fim-packages 2 12\npackage dpkg a 1 all\n/a 1\n", "line 3: \"1\": want numbers"},
		{"fim-packages 2 12\npackage dpkg a 1 all\npackage dpkg b 1 all\n/a 1,0\n", "line 4: \"1,0\": want numbers"},
		{"fim-packages 2 12\npackage dpkg a 1 all\n/a 00\n", "line 3: \"00\": want numbers"},
		{"fim-packages 2 12\npackage dpkg a 1 all\n/a 0,\n", "line 3: \"0,\": want numbers"},
		{"fim-packages 2 12\npackage dpkg a 1 all\n/a 0\npackage dpkg b 1 all\n", "line 4: want a path line"},
		{"fim-packages 2 12\npackage rpm a 1 all\ninfo a " + id + "\n", "line 3: want info BASE LISTID [SUMSID] after a dpkg package line"},
		{"fim-packages 2 12\npackage dpkg a 1 all\ninfo a " + id + "\ninfo a " + id + "\n", "line 4: want info BASE"},
		{"fim-packages 2 12\npackage dpkg a 1 all\ninfo a 1:2\n", `line 3: "1:2" is not DEV:INO:SIZE:MTIME:CTIME`},
		{"fim-packages 2 12\npackage dpkg a 1 all\ninfo a " + id + " 01:2:3:4:5\n", `line 3: "01:2:3:4:5" is not`},
		{"fim-packages 2 12\npackage dpkg a 1 all\nroot /usr\n", "line 3: want a root, alias, package or info line"},
		{"fim-packages 2 12\nroot usr\n", "line 2: want a root, alias, package or info line"},
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
// accepts has a header, and every path it lists is found, absolute, with an owner.
func FuzzSnapshot(f *testing.F) {
	f.Add([]byte("fim-packages 1 1796207901108593836\npackage dpkg hello 2.10-3 amd64\n/usr/bin/hello\n/usr/share/doc/hello\npackage rpm bash 5.2-1 x86_64\n/usr/bin/bash\n"))
	f.Add([]byte("fim-packages 1 0\n"))
	f.Add([]byte("fim-packages 1 -1\npackage a b c d\n/\n"))
	f.Add([]byte("fim-packages 1 5\npackage rpm bash 5.2-1 x86_64 0a1b2c@1700000000\n/usr/bin/bash\npackage apk hello 1.0-r0 x86_64 ff\n/usr/bin/hello\n"))
	f.Add([]byte("fim-packages 1 5\npackage rpm bash 5.2-1 x86_64 0a1b@01\n"))
	f.Add([]byte("fim-packages 2 5\nroot /usr\nroot /etc\nalias /bin /usr/bin\npackage dpkg hello 2.10-3 amd64\ninfo hello 2049:7:120:17:18 2049:8:90:17:18\npackage rpm bash 5.2-1 x86_64 0a1b2c@1700000000\n/usr/bin/bash 1\n/usr/bin/hello 0\n/usr/bin x 0,1\n"))
	f.Add([]byte("fim-packages 2 5\npackage dpkg a:amd64 1 amd64\ninfo a:amd64 1:2:3:4:5\n/ 0\n"))
	f.Add([]byte("fim-packages 2 5\nroot /\npackage dpkg a 1 amd64\ninfo a 1:2:3:4:5\npackage dpkg b 1 amd64\ninfo b 1:2:3:4:6\n" +
		"/ 0,1\n/etc 0,1\n/etc-x 0\n/etc.d 1\n/etc.d/y 1\n/etc/a 0\n/etc/a/b 1\n/etc/c 1\n/etc0 0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseSnapshot(data)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(data, []byte(snapshotHeader)) && !bytes.HasPrefix(data, []byte(snapshotHeaderV1)) {
			t.Fatal("accepted without the header")
		}
		idx := s.Index()
		below := map[string]map[int]bool{} // the packages that list a path directly below a path
		s.eachPath(func(p string, ids []int) {
			if i := strings.LastIndexByte(p, '/'); i != 1 && i < len(p)-1 { // not //NAME, nor NAME/
				parent := p[:max(i, 1)]
				if below[parent] == nil {
					below[parent] = map[int]bool{}
				}
				for _, id := range ids {
					below[parent][id] = true
				}
			}
		})
		s.eachPath(func(p string, ids []int) {
			o := s.Owner(p)
			if !strings.HasPrefix(p, "/") || len(ids) == 0 || o == nil || o.Name == "" || o.Manager == "" || o != s.pkgs[ids[0]] {
				t.Fatalf("accepted %q listed by %v, owned by %+v", p, ids, o)
			}
			if idx != nil {
				var bases []string
				dirs := map[string]bool{}
				for _, id := range ids {
					if s.bases[id] != "" {
						bases = append(bases, s.bases[id])
						dirs[s.bases[id]] = dirs[s.bases[id]] || below[p][id]
					}
				}
				var got []string
				idx.Listed(p, func(base string, dir bool) {
					if _, _, ok := idx.Info(base); !ok {
						t.Fatalf("%q listed by %q, which has no info", p, base)
					}
					if dir != dirs[base] && !slices.Contains(got, base) {
						t.Fatalf("%q listed by %q: dir %v, want %v", p, base, dir, dirs[base])
					}
					got = append(got, base)
				})
				if !slices.Equal(got, bases) {
					t.Fatalf("%q listed by %q, want %q", p, got, bases)
				}
			}
		})
		for base, in := range s.infos {
			if back, ok := pkgdb.ParseFileID(in.list.String()); !ok || back != in.list || base == "" {
				t.Fatalf("info %q %+v", base, in)
			}
		}
		for k, r := range s.records {
			// a record is written back as it was read
			if back, ok := parseRecord(r.version, strings.TrimPrefix(r.String(), " ")); !ok || back != r {
				t.Fatalf("record of %v %+v written as %q", k, r, r.String())
			}
		}
	})
}

// FuzzSnapshotIDs: a path line's package numbers are accepted as strconv writes
// them, ascending, each of a package there is, and nothing else.
func FuzzSnapshotIDs(f *testing.F) {
	for _, ids := range []string{"0", "0,1,7", "1,0", "01", "0,,1", "7,", "+1", "-0", "12", "9999999999999999999999"} {
		f.Add(ids, 13)
	}
	f.Fuzz(func(t *testing.T, b string, n int) {
		s := &Snapshot{pkgs: make([]*diff.Package, min(max(n, 0), 1000))}
		var want []int
		wantOK := true
		for num := range strings.SplitSeq(b, ",") {
			id, err := strconv.Atoi(num)
			if err != nil || strconv.Itoa(id) != num || id >= len(s.pkgs) || len(want) > 0 && id <= want[len(want)-1] || id < 0 {
				wantOK = false
				break
			}
			want = append(want, id)
		}
		got, ok := s.ids([]byte(b), nil)
		if ok != wantOK || ok && !slices.Equal(got, want) {
			t.Fatalf("%q of %d packages: %v %v, want %v %v", b, len(s.pkgs), got, ok, want, wantOK)
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
	p, _, err := PrepareSnapshot(file, root, []string{"/usr"}, old, true)
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
		{"/var/lib/dpkg/updates/0003", allDpkg, true},
		{"/var/lib/dpkg/updates/tmp.i", "", false},
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

// annotateOne annotates a change of the file at p under root against the snapshot
// file (sealed with digest), and returns its verdict and reason.
func annotateOne(t *testing.T, root, file, digest, p string) (diff.Verdict, string) {
	t.Helper()
	a := New(Options{Root: root, Snapshot: file, SnapshotDigest: digest, Since: time.Unix(0, 0), Logf: t.Logf})
	defer a.Close()
	events := []diff.Event{{Kind: diff.Change, Path: p, Changed: 1 << diff.AttrContent, After: &tree.Entry{Path: p, Type: tree.TypeFile}}}
	if err := a.Annotate(events); err != nil {
		t.Fatal(err)
	}
	return events[0].Verdict, events[0].Reason
}

// TestRecordTamperedRPM installs a package built from a spec with the real rpm, takes
// the snapshot a baseline seals, then replaces a binary and edits the package's header
// in the sqlite rpmdb to claim the new binary's digest, as an intruder would: the
// binary reads match without the snapshot's record, tampered with it. A real upgrade
// afterwards (other digests, a later install time) is a transaction: match again.
func TestRecordTamperedRPM(t *testing.T) {
	const dbpath = "/usr/lib/sysimage/rpm"
	root, _ := debtest.RPMRoot(t, "../pkgdb/testdata/rpm/fimtest.spec", dbpath)
	at := func(p string) string { return filepath.Join(root, p) }
	file := filepath.Join(t.TempDir(), "b.db.packages")
	digest, _, err := WriteSnapshot(file, root, []string{"/usr"})
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(at("usr/bin/fimtest"))
	if err != nil {
		t.Fatal(err)
	}
	trojan := append(bytes.Clone(bin), "# trojan\n"...)
	if err := os.WriteFile(at("usr/bin/fimtest"), trojan, 0o755); err != nil {
		t.Fatal(err)
	}
	restore := debtest.ForgeRPMDigest(t, root, dbpath, bin, trojan)

	if v, why := annotateOne(t, root, "", "", "/usr/bin/fimtest"); v != diff.VerdictMatch {
		t.Errorf("without the snapshot: %s (%s), want match (the edit deceives the database)", v, why)
	}
	if v, why := annotateOne(t, root, file, digest, "/usr/bin/fimtest"); v != diff.VerdictTampered || !strings.Contains(why, "install time") {
		t.Errorf("with the snapshot: %s (%s), want tampered", v, why)
	}
	// The snapshot of a baseline that replaces this one (a watch's update, an accept of
	// other paths) holds the record from before the edit.
	next := nextSnapshot(t, root, file, digest)
	if v, why := annotateOne(t, root, next.file, next.digest, "/usr/bin/fimtest"); v != diff.VerdictTampered {
		t.Errorf("with the next baseline's snapshot: %s (%s), want tampered", v, why)
	}
	// An upgrade (release 2, another binary) over the database as rpm wrote it: a
	// record of other digests, with a later install time.
	restore()
	spec, err := os.ReadFile("../pkgdb/testdata/rpm/fimtest.spec")
	if err != nil {
		t.Fatal(err)
	}
	spec = bytes.Replace(spec, []byte("Release:   1"), []byte("Release:   2"), 1)
	spec = bytes.Replace(spec, []byte(`echo fimtest\n`), []byte(`echo fimtest 2\n`), 1)
	spec2 := filepath.Join(t.TempDir(), "fimtest.spec")
	if err := os.WriteFile(spec2, spec, 0o644); err != nil {
		t.Fatal(err)
	}
	pkg2 := debtest.RPMBuild(t, spec2)
	time.Sleep(1100 * time.Millisecond) // install times are in seconds
	debtest.Run(t, "rpm", debtest.RPMArgs(root, dbpath, "-U", "--nodeps", "--noscripts", pkg2)...)
	if v, why := annotateOne(t, root, file, digest, "/usr/bin/fimtest"); v != diff.VerdictMatch {
		t.Errorf("after an upgrade: %s (%s), want match", v, why)
	}
	// and the next snapshot takes in the upgrade's record: a forged edit of it is
	// tampered again.
	next = nextSnapshot(t, root, next.file, next.digest)
	shipped, err := os.ReadFile(at("usr/bin/fimtest"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(at("usr/bin/fimtest"), trojan, 0o755); err != nil {
		t.Fatal(err)
	}
	debtest.ForgeRPMDigest(t, root, dbpath, shipped, trojan)
	if v, why := annotateOne(t, root, next.file, next.digest, "/usr/bin/fimtest"); v != diff.VerdictTampered {
		t.Errorf("the upgrade's record forged: %s (%s), want tampered", v, why)
	}
}

// nextSnapshot writes, in place, the snapshot of a baseline replacing the one that seals
// the snapshot file (with digest), of the packages under root that list paths under /usr.
func nextSnapshot(t *testing.T, root, file, digest string) *PendingSnapshot {
	t.Helper()
	prior, err := ReadSnapshot(file, digest)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := PrepareSnapshot(filepath.Join(t.TempDir(), "b.db.packages"), root, []string{"/usr"}, prior, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRecordTamperedAPK: an apk database entry whose file digest was edited to match
// a replaced binary, the package's version unchanged, is tampered; the same edit with
// a new version (what an upgrade writes) is not.
func TestRecordTamperedAPK(t *testing.T) {
	root := t.TempDir()
	debtest.Run(t, "cp", "-a", "../pkgdb/testdata/apk/root/.", root)
	at := func(p string) string { return filepath.Join(root, p) }
	file := filepath.Join(t.TempDir(), "b.db.packages")
	digest, _, err := WriteSnapshot(file, root, []string{"/usr"})
	if err != nil {
		t.Fatal(err)
	}
	trojan := []byte("#!/bin/sh\necho trojan\n")
	if err := os.WriteFile(at("usr/bin/hello"), trojan, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(trojan)
	installed, err := os.ReadFile(at("lib/apk/db/installed"))
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(installed, []byte("Z:Q1dXP6+xjdlvFZt3uombwEWss1Sc8="), []byte("Z:Q1"+base64.StdEncoding.EncodeToString(sum[:])), 1)
	for _, c := range []struct {
		name string
		db   []byte
		want diff.Verdict
	}{
		{"same version", edited, diff.VerdictTampered},
		{"new version", bytes.Replace(edited, []byte("P:hello\nV:1.0-r0\n"), []byte("P:hello\nV:1.0-r1\n"), 1), diff.VerdictMatch},
	} {
		if err := os.WriteFile(at("lib/apk/db/installed"), c.db, 0o644); err != nil {
			t.Fatal(err)
		}
		if v, why := annotateOne(t, root, file, digest, "/usr/bin/hello"); v != c.want {
			t.Errorf("%s: %s (%s), want %s", c.name, v, why, c.want)
		}
	}
}

// TestSnapshotIndexed checks a real dpkg root after a real install, reinstall and
// removal against the snapshot taken before, as fim check does (the verdicts drawn in
// part from the digests its walk takes): with the snapshot fim writes, whose index
// stands in for the .list files not changed since, every event gets the verdict it
// gets with the same snapshot written as version 1, which indexes nothing (so the
// whole database is read); every one is explained: the new and reinstalled packages'
// files match, their directories are listed, the removed package's files removed.
func TestSnapshotIndexed(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello", "hostname", "libsensors-config", "sensible-utils")
	prior := walkUsr(t, root, nil, nil)
	dir := t.TempDir()
	v2 := filepath.Join(dir, "v2.packages")
	digest2, _, err := WriteSnapshot(v2, root, []string{"/usr"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ReadSnapshot(v2, digest2)
	if err != nil {
		t.Fatal(err)
	}
	if s.Index() == nil {
		t.Fatal("no index")
	}
	var text strings.Builder // the same snapshot, as version 1 wrote it
	fmt.Fprintf(&text, "%s%d\n", snapshotHeaderV1, s.Time.UnixNano())
	for i, pk := range s.pkgs {
		fmt.Fprintf(&text, "package %s %s %s %s\n", pk.Manager, pk.Name, pk.Version, pk.Arch)
		s.eachPath(func(p string, ids []int) {
			if slices.Contains(ids, i) {
				text.WriteString(p + "\n")
			}
		})
	}
	v1 := filepath.Join(dir, "v1.packages")
	data := gzipped(t, text.String())
	if err := os.WriteFile(v1, data, 0o600); err != nil {
		t.Fatal(err)
	}

	debs := debtest.DebCache(t, "tree", "pv", "hostname")
	debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "--force-depends", "-i", debs["tree"], debs["pv"], debs["hostname"])...)
	debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "--force-depends", "-r", "sensible-utils")...)

	check := func(file, digest string) []diff.Event {
		var warns []string
		a := New(Options{Root: root, Snapshot: file, SnapshotDigest: digest, Since: s.Time,
			Logf: func(format string, args ...any) { warns = append(warns, fmt.Sprintf(format, args...)) }})
		defer a.Close()
		now := walkUsr(t, root, a.Digests(), prior)
		var evs []diff.Event
		for _, p := range slices.Sorted(maps.Keys(now)) {
			if was := prior[p]; was == nil {
				evs = append(evs, diff.Event{Kind: diff.Create, Path: p, After: now[p]})
			} else if !sameState(was, now[p]) {
				evs = append(evs, diff.Event{Kind: diff.Change, Path: p, Before: was, After: now[p], Changed: 1 << diff.AttrContent})
			}
		}
		for _, p := range slices.Sorted(maps.Keys(prior)) {
			if now[p] == nil {
				evs = append(evs, diff.Event{Kind: diff.Remove, Path: p, Before: prior[p]})
			}
		}
		if err := a.Annotate(evs); err != nil {
			t.Fatal(err)
		}
		if len(warns) > 0 {
			t.Errorf("warnings: %q", warns)
		}
		return evs
	}
	got, want := check(v2, digest2), check(v1, SnapshotDigest(data))
	if len(got) != len(want) || len(got) < 20 {
		t.Fatalf("%d events, and %d with version 1", len(got), len(want))
	}
	kinds := map[diff.Verdict]int{}
	for i := range got {
		g, w := got[i], want[i]
		if g.Path != w.Path || g.Verdict != w.Verdict || g.Reason != w.Reason || fmt.Sprint(g.Package) != fmt.Sprint(w.Package) {
			t.Errorf("%s %s: %s %q %v; with version 1: %s %s %q %v", g.Kind, g.Path, g.Verdict, g.Reason, g.Package, w.Path, w.Verdict, w.Reason, w.Package)
		}
		if !g.Verdict.Explained() {
			t.Errorf("%s %s: %s (%s)", g.Kind, g.Path, g.Verdict, g.Reason)
		}
		kinds[g.Verdict]++
	}
	if kinds[diff.VerdictMatch] == 0 || kinds[diff.VerdictListed] == 0 || kinds[diff.VerdictRemoved] == 0 {
		t.Errorf("verdicts %v: want match, listed and removed", kinds)
	}
}

// TestSnapshotIndexedLateDamage: a .md5sums the snapshot's index vouches for is read
// only when one of its package's paths has an event; damaged by then, that file's
// verdict is unknown, and the damage is a warning naming the file and the line.
func TestSnapshotIndexedLateDamage(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello", "libsensors-config")
	file := filepath.Join(t.TempDir(), "b.db.packages")
	digest, _, err := WriteSnapshot(file, root, []string{"/usr"})
	if err != nil {
		t.Fatal(err)
	}
	var warns []string
	a := New(Options{Root: root, Snapshot: file, SnapshotDigest: digest, Since: time.Now(),
		Logf: func(format string, args ...any) { warns = append(warns, fmt.Sprintf(format, args...)) }})
	defer a.Close()
	annotate := func(p string) diff.Event {
		evs := []diff.Event{{Kind: diff.Change, Path: p, Changed: 1 << diff.AttrContent,
			After: &tree.Entry{Path: p, Type: tree.TypeFile, Mode: 0o644}}}
		if err := a.Annotate(evs); err != nil {
			t.Fatal(err)
		}
		return evs[0]
	}
	if ev := annotate("/usr/share/doc/hello/copyright"); ev.Verdict != diff.VerdictMatch || len(warns) > 0 {
		t.Fatalf("hello's copyright: %s (%s), warnings %q", ev.Verdict, ev.Reason, warns)
	}
	sums := filepath.Join(root, "var/lib/dpkg/info/libsensors-config.md5sums")
	data, err := os.ReadFile(sums)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sums, append([]byte("damaged\n"), data...), 0o644); err != nil {
		t.Fatal(err)
	}
	if ev := annotate("/usr/share/doc/libsensors-config/copyright"); ev.Verdict != diff.VerdictUnknown {
		t.Errorf("with its .md5sums damaged: %s (%s), want unknown", ev.Verdict, ev.Reason)
	}
	want := "warning: dpkg database damaged: " + sums + ":1: not \"MD5  PATH\""
	if len(warns) != 1 || !strings.HasPrefix(warns[0], want) {
		t.Errorf("warnings %q, want one: %s", warns, want)
	}
}

// TestIndexedDirsNoSums: in an open indexed by a real snapshot, asking for a directory
// that its owners list paths below (/usr/bin, /etc, /usr/share/doc) reads none of their
// .md5sums: every .md5sums is damaged after the open, and no warning comes of it. A
// directory a package lists with nothing below it (libmagic-mgc's /usr/share/file/magic)
// is looked for in its .md5sums, as before. Every path's owners and verdict are the
// plain Open's, also for a file an intruder replaced by a directory holding a file.
func TestIndexedDirsNoSums(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello", "hostname", "libsensors-config", "sensible-utils", "libmagic-mgc", "tree")
	file := filepath.Join(t.TempDir(), "b.db.packages")
	digest, _, err := WriteSnapshot(file, root, []string{"/usr", "/etc"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ReadSnapshot(file, digest)
	if err != nil {
		t.Fatal(err)
	}
	intruded := filepath.Join(root, "usr/bin/hello")
	if err := os.Remove(intruded); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(intruded, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(intruded, "x"), []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	open := func(indexed bool) *pkgdb.DB {
		t.Helper()
		var idx pkgdb.ListIndex
		if indexed {
			idx = s.Index()
		}
		db, err := pkgdb.OpenIndexed(root, idx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	full, indexed, untouched := open(false), open(true), open(true)

	var paths, dirs []string
	for _, p := range full.Packages() {
		for _, f := range full.Files(p) {
			paths = append(paths, full.Names(f.Path)...)
			if parent := path.Dir(f.Path); parent != f.Path && slices.ContainsFunc(full.Files(p), func(o *pkgdb.File) bool { return o.Path == parent }) {
				dirs = append(dirs, parent)
			}
		}
	}
	paths = append(paths, "/usr/bin/hello/x", "/usr/bin/nothing")
	slices.Sort(paths)
	paths, dirs = slices.Compact(paths), slices.Compact(slices.Sorted(slices.Values(dirs)))
	for _, want := range []string{"/etc", "/usr/bin", "/usr/share/doc", "/usr/share/file"} {
		if !slices.Contains(dirs, want) {
			t.Fatalf("no package lists %s with a path below it: %q", want, dirs)
		}
	}
	describe := func(db *pkgdb.DB, p string) string {
		v := db.Verdict(p, db.Opener(p))
		var b strings.Builder
		fmt.Fprintf(&b, "%s (%s)", v.Kind, v.Reason)
		for _, f := range db.Owners(p) {
			fmt.Fprintf(&b, "; %s %s %x", f.Package.Name, f.Path, f.Digest)
		}
		return b.String()
	}
	for _, p := range paths {
		if got, want := describe(untouched, p), describe(full, p); got != want {
			t.Errorf("%s: indexed %s, want %s", p, got, want)
		}
	}
	if v := full.Verdict("/usr/bin/hello", full.Opener("/usr/bin/hello")); v.Kind != pkgdb.Mismatch {
		t.Errorf("/usr/bin/hello, a directory: %s (%s), want mismatch", v.Kind, v.Reason)
	}
	if w := untouched.Warnings(); len(w) > 0 {
		t.Fatalf("warnings %q", w)
	}

	sums, err := filepath.Glob(filepath.Join(root, "var/lib/dpkg/info/*.md5sums"))
	if err != nil || len(sums) < 6 {
		t.Fatalf("%d .md5sums (%v)", len(sums), err)
	}
	for _, name := range sums {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, append([]byte("damaged\n"), data...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range dirs {
		if v := indexed.Verdict(p, indexed.Opener(p)); v.Kind != pkgdb.Unknown || v.Reason != "no digest recorded" {
			t.Errorf("%s: %s (%s), want unknown (no digest recorded)", p, v.Kind, v.Reason)
		}
	}
	if w := indexed.Warnings(); len(w) > 0 {
		t.Errorf("asking for %d directories read .md5sums files: %q", len(dirs), w)
	}
	indexed.Owners("/usr/share/file/magic") // listed alone: its .md5sums is searched
	want := root + "/var/lib/dpkg/info/libmagic-mgc.md5sums:1:"
	if w := indexed.Warnings(); len(w) != 1 || !strings.Contains(w[0].Error(), want) {
		t.Errorf("warnings %q, want one naming %s", w, want)
	}
}
