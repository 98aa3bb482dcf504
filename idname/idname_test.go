package idname

import (
	"fim/diff"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseIDFile(t *testing.T) {
	got := parseIDFile([]byte("root:x:0:0:root:/root:/bin/bash\n# c:x:5:\n+nis::7:\nnobody:x:65534:65534::/:/bin/false\ntoor:x:0:0::/:\nbad:x:q:\n"))
	want := map[int]string{0: "root", 65534: "nobody"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
}

func FuzzParseIDFile(f *testing.F) {
	f.Add([]byte("root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for id, name := range parseIDFile(data) {
			if id < 0 || name == "" || strings.ContainsAny(name, ":\n") {
				t.Errorf("%q: %d %q", data, id, name)
			}
		}
	})
}

// TestNamesRoot resolves names with the passwd and group files of a monitored root:
// what the root says, read again when it changes, and never the host's files through
// a symbolic link that leads out of the root.
func TestNamesRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	passwd := filepath.Join(root, "etc", "passwd")
	if err := os.WriteFile(passwd, []byte("ann:x:1000:1000::/home/ann:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/group", filepath.Join(root, "etc", "group")); err != nil {
		t.Fatal(err)
	}
	n := New(root)
	p := &diff.Process{UID: 1000, EUID: 0, GID: 0, EGID: -1}
	n.Resolve(p)
	if p.User != "ann" || p.EUser != "" || p.Group != "" || p.EGroup != "" {
		t.Errorf("names %q %q %q %q, want ann and nothing else", p.User, p.EUser, p.Group, p.EGroup)
	}
	if err := os.WriteFile(passwd, []byte("anna:x:1000:1000::/home/ann:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.passwd.checked = time.Time{} // as if checkEvery had passed
	n.Resolve(p)
	if p.User != "anna" || n.User(1000) != "anna" || n.User(0) != "" || n.Group(1000) != "" {
		t.Errorf("after the change: %q, %q %q %q; want anna, anna and nothing else", p.User, n.User(1000), n.User(0), n.Group(1000))
	}
}
