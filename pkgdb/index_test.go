package pkgdb

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// listsIndex is the ListIndex of what OpenLists read under some roots: what a package
// snapshot records (package provenance writes and reads it; this is its content).
type listsIndex struct {
	roots   []string
	aliases map[string]string
	info    map[string][2]FileID
	listed  map[string][]string
	below   map[string]map[string]bool // the bases that list a path directly below a path
}

func newListsIndex(t *testing.T, root string, roots []string) *listsIndex {
	t.Helper()
	db, err := OpenLists(root, roots)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	x := &listsIndex{roots: roots, aliases: db.Aliases(), info: map[string][2]FileID{}, listed: map[string][]string{},
		below: map[string]map[string]bool{}}
	for _, p := range db.Packages() {
		base, list, sums, ok := db.Info(p)
		if !ok {
			continue
		}
		x.info[base] = [2]FileID{list, sums}
		for _, f := range db.Files(p) {
			x.listed[f.Path] = append(x.listed[f.Path], base)
			if parent := path.Dir(f.Path); parent != f.Path {
				if x.below[parent] == nil {
					x.below[parent] = map[string]bool{}
				}
				x.below[parent][base] = true
			}
		}
	}
	return x
}

func (x *listsIndex) Roots() []string            { return x.roots }
func (x *listsIndex) Aliases() map[string]string { return x.aliases }
func (x *listsIndex) Info(base string) (list, sums FileID, ok bool) {
	in, ok := x.info[base]
	return in[0], in[1], ok
}
func (x *listsIndex) Listed(p string, yield func(string, bool)) {
	for _, b := range x.listed[p] {
		yield(b, x.below[p][b])
	}
}

// describe says what the records of a path are: each owner's package, flags and
// digest, in order.
func describe(files []*File) string {
	var b strings.Builder
	for _, f := range files {
		fmt.Fprintf(&b, "%s %s %d %s %x; ", f.Package.Name, f.Path, f.Flags, f.Algorithm, f.Digest)
	}
	return b.String()
}

// TestOpenIndexed takes an index of a real dpkg root under /usr/bin and /etc, then
// changes the root with the real dpkg (packages installed, reinstalled and removed, a
// local diversion) and by hand (a .list rewritten in place to the same size with its
// mtime put back, a .md5sums edited), and checks that OpenIndexed reads only the .list
// files of the packages not changed since from the index, and answers every path (at
// and below the roots first, then outside them, which reads the rest) and every
// verdict as Open does.
func TestOpenIndexed(t *testing.T) {
	root := dpkgRoot(t, "hello", "hostname", "sensible-utils", "libmd0", "libbsd0", "libsensors-config")
	roots := []string{"/usr/bin", "/etc"}
	idx := newListsIndex(t, root, roots)
	debs := debCache(t, "tree", "pv", "hostname")
	run(t, "dpkg", dpkgArgs(root, "--force-depends", "-i", debs["tree"], debs["pv"], debs["hostname"])...)
	run(t, "dpkg", dpkgArgs(root, "--force-depends", "-r", "sensible-utils")...)
	run(t, "dpkg-divert", "--root="+root, "--local", "--rename",
		"--divert", "/usr/bin/hello.real", "--add", "/usr/bin/hello")
	info := filepath.Join(root, "var/lib/dpkg/info")
	list := filepath.Join(info, "hello.list")
	st, err := os.Stat(list)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), "/usr/share/doc/hello\n", "/usr/bin/hellp/hello\n", 1) // same size
	if len(edited) != len(data) || edited == string(data) {
		t.Fatalf("hello.list not edited: %q", data)
	}
	writeFile(t, list, edited)
	if err := os.Chtimes(list, time.Time{}, st.ModTime()); err != nil {
		t.Fatal(err)
	}
	sums := filepath.Join(info, "libbsd0:amd64.md5sums")
	data, err = os.ReadFile(sums)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, sums, "00000000000000000000000000000000"+string(data[32:]))

	full := openDB(t, root)
	var paths []string
	for _, p := range full.Packages() {
		for _, f := range full.Files(p) {
			for _, n := range full.Names(f.Path) {
				paths = append(paths, n, n+".real")
			}
		}
	}
	paths = append(paths, "/usr/bin/hellp", "/usr/bin/nothing", "/etc/nothing")
	slices.Sort(paths)
	paths = slices.Compact(paths)
	inside, outside := slices.Clone(paths), slices.Clone(paths)
	within := full.Within(roots)
	inside = slices.DeleteFunc(inside, func(p string) bool { return !within(p) })
	outside = slices.DeleteFunc(outside, within)
	if len(inside) < 20 || len(outside) < 20 {
		t.Fatalf("%d paths inside the roots, %d outside", len(inside), len(outside))
	}

	same := func(t *testing.T, db *DB, paths []string) {
		t.Helper()
		for _, p := range paths {
			if got, want := describe(db.Owners(p)), describe(full.Owners(p)); got != want {
				t.Errorf("%s: owners %s, want %s", p, got, want)
			}
			got, want := db.Verdict(p, db.Opener(p)), full.Verdict(p, full.Opener(p))
			if got.Kind != want.Kind || got.Reason != want.Reason {
				t.Errorf("%s: verdict %s %q, want %s %q", p, got.Kind, got.Reason, want.Kind, want.Reason)
			}
		}
	}
	for _, order := range []string{"inside first", "outside first"} {
		t.Run(order, func(t *testing.T) {
			db, err := OpenIndexed(root, idx)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var indexed []string
			for base := range db.indexed {
				indexed = append(indexed, base)
			}
			slices.Sort(indexed)
			// hello's .list was edited, hostname reinstalled, tree and pv are new,
			// sensible-utils is gone; libbsd0's .md5sums is read again, not its .list.
			if want := []string{"libbsd0:amd64", "libmd0:amd64", "libsensors-config"}; !slices.Equal(indexed, want) {
				t.Fatalf("indexed %q, want %q", indexed, want)
			}
			if got, want := len(db.Packages()), len(full.Packages()); got != want {
				t.Fatalf("%d packages, want %d", got, want)
			}
			if order == "inside first" {
				same(t, db, inside)
				if db.index == nil {
					t.Fatal("paths inside the roots read the .list files")
				}
			}
			same(t, db, outside)
			if db.index != nil {
				t.Fatal("a path outside the roots did not read the .list files")
			}
			same(t, db, inside)
			for i, p := range full.Packages() {
				if got, want := describe(db.Files(db.Packages()[i])), describe(full.Files(p)); got != want {
					t.Errorf("%s: files %s, want %s", p.Name, got, want)
				}
			}
			if len(db.Warnings()) != 0 {
				t.Errorf("warnings: %v", db.Warnings())
			}
		})
	}

	// A .list damaged since the index was made is read, and is a warning of one line
	// naming it and the line, as with Open.
	damaged := filepath.Join(info, "libmd0:amd64.list")
	data, err = os.ReadFile(damaged)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, damaged, string(data)+"not/absolute\n")
	db, err := OpenIndexed(root, idx)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("dpkg database damaged: %s:%d: not an absolute path", damaged, strings.Count(string(data), "\n")+1)
	if w := db.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0].Error(), want) {
		t.Errorf("warnings %v, want one: %s", w, want)
	}
	if v := db.Verdict("/usr/bin/pv", db.Opener("/usr/bin/pv")); v.Kind != Unknown {
		t.Errorf("verdict of /usr/bin/pv with dpkg damaged: %s", v.Kind)
	}
	db.Close()
	writeFile(t, damaged, string(data))

	// A .md5sums as the index recorded it is read when asked for: damaged by then, it
	// gives no digest (unknown, never match) and a warning naming it and the line.
	db, err = OpenIndexed(root, idx)
	if err != nil {
		t.Fatal(err)
	}
	sums = filepath.Join(info, "libsensors-config.md5sums") // indexed (libmd0.list was rewritten above)
	data, err = os.ReadFile(sums)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, sums, "damaged\n"+string(data))
	lib := ""
	for _, f := range full.Files(full.Packages()[slices.IndexFunc(full.Packages(), func(p *Package) bool { return p.Name == "libsensors-config" })]) {
		if f.Digest != nil {
			lib = f.Path
		}
	}
	if v := db.Verdict(lib, db.Opener(lib)); v.Kind != Unknown {
		t.Errorf("%s with its .md5sums damaged since Open: %s", lib, v.Kind)
	}
	want = fmt.Sprintf("dpkg database damaged: %s:1: not \"MD5  PATH\"", sums)
	if w := db.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0].Error(), want) {
		t.Errorf("warnings %v, want one: %s", w, want)
	}
	db.Close()
	writeFile(t, sums, string(data))

	// An index of other /usr-merge aliases is not used.
	other := *idx
	other.aliases = map[string]string{}
	db, err = OpenIndexed(root, &other)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.indexing {
		t.Error("an index of other aliases used")
	}
}
