package pkgdb

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"fim/internal/debtest"
)

// The shared helpers that install real packages (see package debtest).
var (
	run      = debtest.Run
	debCache = debtest.DebCache
	dpkgRoot = debtest.DpkgRoot
	dpkgArgs = debtest.DpkgArgs
)

// testDebs are the real Debian packages the dpkg tests install: small, without
// maintainer scripts (dpkg --root would run them outside the root), one with files
// under /bin (hostname, for the /usr-merge aliases), two with conffiles.
var testDebs = []string{"hello", "hostname", "libsensors-config", "libtirpc-common"}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func openDB(t testing.TB, root string) *DB {
	t.Helper()
	db, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// debVersions returns the versions of the cached packages names, as dpkg-deb reads
// them from the .deb files.
func debVersions(t testing.TB, names ...string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	for n, deb := range debCache(t, names...) {
		out[n] = strings.TrimSpace(run(t, "dpkg-deb", "-f", deb, "Version"))
	}
	return out
}

// md5sum is one line of an info/PKG.md5sums file.
type md5sum struct {
	Path   string // absolute
	Digest []byte
}

// parseMD5sums returns the lines of an info/PKG.md5sums file as eachMD5sum reads them.
func parseMD5sums(data []byte) ([]md5sum, error) {
	var out []md5sum
	_, err := eachMD5sum(data, func(p []byte, d *[16]byte) {
		out = append(out, md5sum{Path: string(p), Digest: bytes.Clone(d[:])})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
