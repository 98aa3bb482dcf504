package pkgdb

import (
	"fim/internal/fstest"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestAPK reads the Alpine fixture (see testdata/README.md) under a root and checks
// each verdict, with the modes and owners apk records.
func TestAPK(t *testing.T) {
	if os.Geteuid() != 0 {
		fstest.Skipf(t, "the fixture's files are owned by root as the database says only when root copies them")
	}
	root := t.TempDir()
	run(t, "cp", "-a", "testdata/apk/root/.", root)
	writeFile(t, filepath.Join(root, "etc/hostname"), "intruder\n")
	writeFile(t, filepath.Join(root, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n")
	if err := os.Chmod(filepath.Join(root, "usr/bin/hello"), os.ModeSetuid|0o755); err != nil {
		t.Fatal(err)
	}

	db := openDB(t, root)
	if w := db.Warnings(); len(w) > 0 {
		t.Fatal(w)
	}
	if m := db.Managers(); len(m) != 1 || m[0] != APK {
		t.Fatalf("managers %v, want apk", m)
	}
	for _, c := range []struct {
		path string
		kind Kind
		pkg  string
		mode uint32
	}{
		{"/lib/ld-musl-x86_64.so.1", Match, "musl", 0o100755},
		{"/etc/os-release", Match, "alpine-release", 0},
		{"/etc/hostname", Mismatch, "alpine-release", 0o100644},
		{"/etc/issue", Missing, "alpine-release", 0},
		{"/usr/bin/hello", Mismatch, "hello", 0o100755}, // setuid added
		{"/usr/bin", Unknown, "hello", 0o40755},
		{"/usr/bin/hello-link", Unknown, "hello", 0}, // a symlink
		{"/etc/passwd", Unowned, "", 0},
	} {
		v := db.Verdict(c.path, db.Opener(c.path))
		got := ""
		if v.File != nil {
			got = v.File.Package.Name
		}
		if v.Kind != c.kind || got != c.pkg {
			t.Errorf("%s: %s of %q (%s), want %s of %q", c.path, v.Kind, got, v.Reason, c.kind, c.pkg)
			continue
		}
		if v.File != nil && c.mode != 0 {
			if m := v.File.Meta; m == nil || m.Mode != c.mode || m.Owner != "0" || m.Group != "0" {
				t.Errorf("%s: recorded %+v, want mode %o owner 0:0", c.path, m, c.mode)
			}
		}
		if v.File != nil && v.File.Algorithm != SHA1 && v.File.Digest != nil {
			t.Errorf("%s: algorithm %s, want sha1", c.path, v.File.Algorithm)
		}
	}
	p := db.Packages()[0]
	if p.Name != "musl" || p.Version != "1.2.4_git20230717-r4" || p.Arch != "x86_64" {
		t.Errorf("first package %v", p)
	}

	// A damaged line is a warning naming it; the verdicts are then unknown.
	b, err := os.ReadFile(filepath.Join(root, apkInstalled))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, apkInstalled), string(b)+"P:broken\nZ:Q1notbase64\n")
	db = openDB(t, root)
	if w := db.Warnings(); len(w) != 1 || w[0].Error() != "apk database damaged: "+filepath.Join(root, apkInstalled)+":66: Z: before any R:" {
		t.Errorf("warnings %v", w)
	}
	if v := db.Verdict("/usr/bin/hello", db.Opener("/usr/bin/hello")); v.Kind != Unknown {
		t.Errorf("damaged: /usr/bin/hello is %s", v.Kind)
	}
}

// TestVerdictConcurrent: a DB answers from several goroutines at once (run with -race).
func TestVerdictConcurrent(t *testing.T) {
	db := openDB(t, "testdata/apk/root")
	paths := []string{"/lib/ld-musl-x86_64.so.1", "/etc/os-release", "/usr/bin/hello", "/etc/issue", "/nothing"}
	want := make([]Kind, len(paths))
	for i, p := range paths {
		want[i] = db.Verdict(p, db.Opener(p)).Kind
	}
	done := make(chan error)
	for range 4 {
		go func() {
			var err error
			for range 50 {
				for i, p := range paths {
					if k := db.Verdict(p, db.Opener(p)).Kind; k != want[i] && err == nil {
						err = fmt.Errorf("%s: %s, then %s", p, want[i], k)
					}
				}
			}
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
