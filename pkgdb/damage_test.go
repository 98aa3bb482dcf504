package pkgdb

import (
	"compress/gzip"
	"errors"
	"fim/internal/fstest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDamagedDatabase damages a real dpkg database in one way per case: each is one
// warning naming the file (and the line where there is one), and every verdict is
// then unknown: never a crash, never a path silently owned or unowned.
func TestDamagedDatabase(t *testing.T) {
	clean := dpkgRoot(t, "hello", "hostname")
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, root string)
		want   string // in the warning
	}{
		{"status line", func(t *testing.T, root string) {
			p := filepath.Join(root, dpkgStatus)
			b, _ := os.ReadFile(p)
			writeFile(t, p, strings.Replace(string(b), "\nVersion:", "\ngarbage\nVersion:", 1))
		}, dpkgStatus + ":"},
		{"status cut", func(t *testing.T, root string) {
			p := filepath.Join(root, dpkgStatus)
			b, _ := os.ReadFile(p)
			writeFile(t, p, " "+string(b))
		}, dpkgStatus + ":1: continuation line"},
		{"status a FIFO", func(t *testing.T, root string) {
			p := filepath.Join(root, dpkgStatus)
			os.Remove(p)
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, dpkgStatus + ": not a regular file"},
		{"md5sums line", func(t *testing.T, root string) {
			p := filepath.Join(root, dpkgInfo, "hello.md5sums")
			b, _ := os.ReadFile(p)
			writeFile(t, p, string(b)+"0123  usr/bin/hello\n")
		}, dpkgInfo + "/hello.md5sums:"},
		{"list missing", func(t *testing.T, root string) {
			os.Remove(filepath.Join(root, dpkgInfo, "hello.list"))
		}, dpkgInfo + "/hello.list: missing"},
		{"list relative", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, dpkgInfo, "hostname.list"), "/.\nbin/hostname\n")
		}, dpkgInfo + "/hostname.list:2: not an absolute path"},
		{"diversions", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, dpkgDiversions), "/usr/bin/hello\n/usr/bin/hello.distrib\n")
		}, dpkgDiversions + ":2:"},
		{"info a file", func(t *testing.T, root string) {
			p := filepath.Join(root, dpkgInfo)
			os.RemoveAll(p)
			writeFile(t, p, "")
		}, dpkgInfo + ": not a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			run(t, "cp", "-a", clean+"/.", root)
			c.damage(t, root)
			db := openDB(t, root)
			w := db.Warnings()
			if len(w) != 1 || !strings.Contains(w[0].Error(), c.want) || strings.Contains(w[0].Error(), "\n") {
				t.Fatalf("warnings %q, want one line with %q", w, c.want)
			}
			var d *Damage
			if !errors.As(w[0], &d) || db.Damaged(Dpkg) != d {
				t.Errorf("warning %v is not dpkg's damage", w[0])
			}
			for _, p := range []string{"/usr/bin/hostname", "/usr/bin/hello", "/usr/bin/evil"} {
				if v := db.Verdict(p, db.Opener(p)); v.Kind != Unknown || v.Reason != w[0].Error() {
					t.Errorf("%s: %s (%s), want unknown for the damage", p, v.Kind, v.Reason)
				}
			}
		})
	}
}

// TestRootConfined: a root whose var is an absolute symlink to /var must not read
// this host's database: it is resolved inside the root (here, to itself).
func TestRootConfined(t *testing.T) {
	if _, err := os.Stat("/" + dpkgStatus); err != nil {
		fstest.Skipf(t, "this host has no dpkg database to be led to")
	}
	for _, target := range []string{"/var", "../../../../../../../../var"} {
		root := t.TempDir()
		if err := os.Symlink(target, filepath.Join(root, "var")); err != nil {
			t.Fatal(err)
		}
		db := openDB(t, root)
		if n := len(db.Packages()); n != 0 {
			t.Errorf("var → %s: read %d packages from outside the root", target, n)
		}
		if v := db.Verdict("/usr/bin/ls", db.Opener("/usr/bin/ls")); v.Kind != Unknown {
			t.Errorf("var → %s: /usr/bin/ls is %s (%s), want unknown", target, v.Kind, v.Reason)
		}
	}
}

// TestNoDatabase: a root without any database answers unknown, naming the root.
func TestNoDatabase(t *testing.T) {
	root := t.TempDir()
	db := openDB(t, root)
	if v := db.Verdict("/etc/passwd", db.Opener("/etc/passwd")); v.Kind != Unknown || !strings.Contains(v.Reason, root) {
		t.Errorf("got %s (%s), want unknown naming %s", v.Kind, v.Reason, root)
	}
}

// TestDpkgLogRotated reads a rotated, compressed log before the current one, and a
// damaged log is a warning of its own that leaves the database usable.
func TestDpkgLogRotated(t *testing.T) {
	root := dpkgRoot(t, "hello", "hostname")
	logp := filepath.Join(root, "var/log/dpkg.log")
	b, err := os.ReadFile(logp)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(logp + ".2.gz")
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.Remove(logp)
	run(t, "dpkg", dpkgArgs(root, "-r", "hello")...)
	writeFile(t, logp+".1", "") // rotated, then nothing happened

	db := openDB(t, root)
	if w := db.Warnings(); len(w) > 0 {
		t.Fatalf("warnings: %v", w)
	}
	var got []string
	for _, tr := range db.Log() {
		got = append(got, tr.Action+" "+tr.Package)
	}
	if want := "install hello, install hostname, remove hello"; strings.Join(got, ", ") != want {
		t.Errorf("log %q, want %q", strings.Join(got, ", "), want)
	}

	// A line cut short at the end is dpkg stopped mid-write, not damage.
	writeFile(t, logp+".1", time.Now().Format("2006-01-02 15:04:05")+" upgrade hostn")
	if db := openDB(t, root); len(db.Warnings()) != 0 || len(db.Log()) != 3 {
		t.Errorf("cut last line: warnings %v, %d transactions", db.Warnings(), len(db.Log()))
	}
	writeFile(t, logp+".1", "2026-12-02 03:12:00 upgrade hostname:amd64 1\nnot a log line\n")
	db = openDB(t, root)
	if w := db.Warnings(); len(w) != 1 || !strings.Contains(w[0].Error(), "var/log/dpkg.log.1:1:") {
		t.Errorf("warnings %v, want one for var/log/dpkg.log.1:1", w)
	}
	if v := db.Verdict("/usr/bin/hostname", db.Opener("/usr/bin/hostname")); v.Kind != Match {
		t.Errorf("with a damaged log, /usr/bin/hostname is %s (%s), want match", v.Kind, v.Reason)
	}
}
