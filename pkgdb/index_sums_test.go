package pkgdb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenIndexedSumsRead: a package whose .list is as the index recorded it but whose
// .md5sums is not (read again at Open) gives every path asked for its digest, as Open
// does, not only the paths asked for before the first of them.
func TestOpenIndexedSumsRead(t *testing.T) {
	root := dpkgRoot(t, "sensible-utils")
	roots := []string{"/usr/bin"}
	idx := newListsIndex(t, root, roots)
	sums := filepath.Join(root, "var/lib/dpkg/info/sensible-utils.md5sums")
	data, err := os.ReadFile(sums)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, sums+".new", string(data))
	if err := os.Rename(sums+".new", sums); err != nil { // the same text, another file
		t.Fatal(err)
	}
	full := openDB(t, root)
	db, err := OpenIndexed(root, idx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.indexed["sensible-utils"] == nil {
		t.Fatal("sensible-utils not indexed")
	}
	n := 0
	for _, f := range full.Files(full.Packages()[0]) {
		if !full.Within(roots)(f.Path) {
			continue
		}
		n++
		if got, want := describe(db.Owners(f.Path)), describe(full.Owners(f.Path)); got != want {
			t.Errorf("%s: owners %s, want %s", f.Path, got, want)
		}
	}
	if n < 2 {
		t.Fatalf("%d paths under %q", n, roots)
	}
}

// TestOpenIndexedSharedBase: two installed packages of dpkg's status whose info files
// are the same (a paragraph twice, or a Package field naming another's info base) both
// own the paths of that .list, as with Open.
func TestOpenIndexedSharedBase(t *testing.T) {
	root := dpkgRoot(t, "hello")
	roots := []string{"/usr/bin"}
	idx := newListsIndex(t, root, roots)
	status := filepath.Join(root, "var/lib/dpkg/status")
	data, err := os.ReadFile(status)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, status, string(data)+"\n"+string(data))
	full := openDB(t, root)
	db, err := OpenIndexed(root, idx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := describe(full.Owners("/usr/bin/hello"))
	if strings.Count(want, "hello /usr/bin/hello") != 2 {
		t.Fatalf("Open: owners %s, want hello twice", want)
	}
	if got := describe(db.Owners("/usr/bin/hello")); got != want {
		t.Errorf("owners %s, want %s", got, want)
	}
	for i, p := range full.Packages() {
		if got, want := describe(db.Files(db.Packages()[i])), describe(full.Files(p)); got != want {
			t.Errorf("%s: files %s, want %s", p.Name, got, want)
		}
	}
}

// TestOwnersEveryPath: asking for every path of a package one after another (as
// verify-packages does, or a check after its upgrade) gives each the owners and digest
// a fully parsed database gives, in a plain and an indexed open, past the few looks for
// which sumsFor searches the .md5sums as written before parsing it.
func TestOwnersEveryPath(t *testing.T) {
	root := dpkgRoot(t, "hello")
	roots := []string{"/"}
	idx := newListsIndex(t, root, roots)
	full := openDB(t, root)
	var paths []string
	for _, p := range full.Packages() {
		for _, f := range full.Files(p) { // parses every .md5sums
			paths = append(paths, f.Path)
		}
	}
	withDigest := 0
	for _, p := range paths {
		for _, f := range full.Owners(p) {
			if f.Digest != nil {
				withDigest++
			}
		}
	}
	if withDigest <= lookupsBeforeParse || len(paths) <= 2*lookupsBeforeParse {
		t.Fatalf("%d paths, %d with a digest: too few to pass the looks before parsing", len(paths), withDigest)
	}
	for _, indexed := range []bool{false, true} {
		db := openDB(t, root)
		if indexed {
			var err error
			if db, err = OpenIndexed(root, idx); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
		}
		for _, p := range paths {
			if got, want := describe(db.Owners(p)), describe(full.Owners(p)); got != want {
				t.Errorf("indexed %v: %s: owners %s, want %s", indexed, p, got, want)
			}
		}
	}
}

// TestDirNoDigest: a .md5sums line naming a directory its package lists paths below
// gives it no digest (dpkg's .md5sums records none), alike in a plain open, an indexed
// one, and an indexed one that read every .list (a path outside the index's roots): its
// verdict is unknown, as every package directory's is.
func TestDirNoDigest(t *testing.T) {
	root := dpkgRoot(t, "hello")
	idx := newListsIndex(t, root, []string{"/usr/share"})
	sums := filepath.Join(root, "var/lib/dpkg/info/hello.md5sums")
	data, err := os.ReadFile(sums)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, sums+".new", "0123456789abcdef0123456789abcdef  usr/share/doc/hello\n"+string(data))
	if err := os.Rename(sums+".new", sums); err != nil { // read at Open, in every open
		t.Fatal(err)
	}
	const dir = "/usr/share/doc/hello"
	for _, how := range []string{"plain", "indexed", "indexed, every .list read"} {
		db := openDB(t, root)
		if how != "plain" {
			if db, err = OpenIndexed(root, idx); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
		}
		if how != "indexed" {
			db.Owners("/usr/share/doc/hello/copyright") // parses hello's .md5sums
			db.Owners("/usr/bin/hello")                 // outside the roots
		}
		owners := db.Owners(dir)
		if len(owners) != 1 || owners[0].Digest != nil {
			t.Errorf("%s: owners of %s: %s, want hello's without a digest", how, dir, describe(owners))
		}
		if v := db.Verdict(dir, db.Opener(dir)); v.Kind != Unknown {
			t.Errorf("%s: %s: %s (%s), want unknown", how, dir, v.Kind, v.Reason)
		}
		if got := describe(db.Owners("/usr/bin/hello")); !strings.Contains(got, "hello /usr/bin/hello 0 md5 ") {
			t.Errorf("%s: /usr/bin/hello: %s, want its digest", how, got)
		}
	}
}
