package pkgdb

import (
	"slices"
	"strings"
	"testing"
)

// TestOpenLists reads a real dpkg root (merged /usr, so dpkg's /bin/hostname is
// /usr/bin/hostname too) with OpenLists and with Open, and checks that OpenLists
// records every package, and of each exactly the paths Open records that are, under
// one of their Names, one of the roots or below one; and that Within says the same of
// every path.
func TestOpenLists(t *testing.T) {
	root := dpkgRoot(t, testDebs...)
	full := openDB(t, root)
	below := func(p string, roots []string) bool {
		for _, n := range full.Names(p) {
			for _, r := range roots {
				if r == "/" || n == r || strings.HasPrefix(n, r+"/") {
					return true
				}
			}
		}
		return false
	}
	for _, roots := range [][]string{
		{"/"}, {"/usr"}, {"/usr/bin"}, {"/bin"}, {"/bin/hostname"}, {"/usr/bin/hostname"},
		{"/usr/share/doc/hello", "/etc"}, {"/us"}, {"/nothing"},
	} {
		t.Run(strings.Join(roots, ","), func(t *testing.T) {
			db, err := OpenLists(root, roots)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if len(db.Packages()) != len(full.Packages()) {
				t.Fatalf("%d packages, Open has %d", len(db.Packages()), len(full.Packages()))
			}
			within := db.Within(roots)
			kept := 0
			for i, p := range full.Packages() {
				var want, got []string
				for _, f := range full.Files(p) {
					if below(f.Path, roots) {
						want = append(want, f.Path)
					}
					if within(f.Path) != below(f.Path, roots) {
						t.Errorf("Within(%s) = %v", f.Path, within(f.Path))
					}
				}
				for _, f := range db.Files(db.Packages()[i]) {
					got = append(got, f.Path)
					if f.Digest != nil {
						t.Errorf("%s: a digest", f.Path)
					}
				}
				slices.Sort(want)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s: %q, want %q", p.Name, got, want)
				}
				kept += len(got)
			}
			if roots[0] == "/nothing" || roots[0] == "/us" {
				if kept != 0 {
					t.Errorf("%d paths kept", kept)
				}
			} else if kept == 0 {
				t.Errorf("no path kept")
			}
		})
	}
}
