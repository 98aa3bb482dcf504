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
