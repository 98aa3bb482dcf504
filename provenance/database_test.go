package provenance

import (
	"testing"

	"fim/tree"
)

func TestDpkgOwn(t *testing.T) {
	for _, c := range []struct {
		path string
		pkg  string
		typ  tree.Type
		ok   bool
	}{
		{"/var/lib/dpkg", "", tree.TypeDir, true},
		{"/var/lib/dpkg/status", "", tree.TypeFile, true},
		{"/var/lib/dpkg/lock-frontend", "", tree.TypeFile, true},
		{"/var/lib/dpkg/triggers/Lock", "", tree.TypeFile, true},
		{"/var/lib/dpkg/updates", "", tree.TypeDir, true},
		{"/var/lib/dpkg/updates/0001", "", tree.TypeFile, true},
		{"/var/lib/dpkg/info/hello.list", "hello", tree.TypeFile, true},
		{"/var/lib/dpkg/info/libc6:amd64.md5sums", "libc6", tree.TypeFile, true},
		{"/var/lib/dpkg/info/python3.11.postinst", "python3.11", tree.TypeFile, true},
		{"/var/lib/dpkg/info/format", "", 0, false},
		{"/var/lib/dpkg/info/.list", "", 0, false},
		{"/var/lib/dpkg/info/hello.", "", 0, false},
		{"/var/lib/dpkg/info/sub/hello.list", "", 0, false},
		{"/var/lib/dpkg/triggers/sub/x", "", 0, false},
		{"/var/lib/dpkg/alternatives/editor", "", 0, false},
		{"/var/lib/dpkgx/status", "", 0, false},
		{"/var/lib/dpkg/statusx", "", 0, false},
		{"/etc/passwd", "", 0, false},
	} {
		pkg, typ, ok := dpkgOwn(c.path)
		if pkg != c.pkg || typ != c.typ || ok != c.ok {
			t.Errorf("dpkgOwn(%q) = %q, %v, %v; want %q, %v, %v", c.path, pkg, typ, ok, c.pkg, c.typ, c.ok)
		}
	}
}
