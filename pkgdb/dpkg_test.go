package pkgdb

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDpkgReal installs real packages into a root with the real dpkg, changes files,
// diverts two (one for a package, one locally), removes and purges packages, and
// checks the verdict of every kind of path.
func TestDpkgReal(t *testing.T) {
	root := dpkgRoot(t, testDebs...)
	at := func(p string) string { return filepath.Join(root, p) }

	// A package binary rewritten in place, its size and mtime restored.
	st, err := os.Stat(at("usr/bin/hello"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(at("usr/bin/hello"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("EVIL"), 4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(at("usr/bin/hello"), st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	writeFile(t, at("etc/sensors3.conf"), "# edited by the administrator\n")
	writeFile(t, at("usr/bin/evil"), "#!/bin/sh\n")
	if err := os.Remove(at("usr/share/doc/hello/NEWS.gz")); err != nil {
		t.Fatal(err)
	}
	// A packaged file replaced by a symlink to a file of the same content.
	man := at("usr/share/man/man1/hostname.1.gz")
	if err := os.Rename(man, at("usr/share/man/man1/copy.gz")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("copy.gz", man); err != nil {
		t.Fatal(err)
	}

	// A diversion by a package, and a local one, both moving the file aside, and
	// another file put where each was.
	run(t, "dpkg-divert", "--root="+root, "--package", "hostname", "--rename",
		"--divert", "/usr/share/doc/hello/copyright.distrib", "--add", "/usr/share/doc/hello/copyright")
	run(t, "dpkg-divert", "--root="+root, "--local", "--rename",
		"--divert", "/usr/share/info/hello.info.gz.orig", "--add", "/usr/share/info/hello.info.gz")
	writeFile(t, at("usr/share/doc/hello/copyright"), "not hello's\n")
	writeFile(t, at("usr/share/info/hello.info.gz"), "not hello's either\n")

	// A removed package keeps its conffiles; a purged one leaves nothing.
	run(t, "dpkg", dpkgArgs(root, "-r", "libsensors-config")...)
	run(t, "dpkg", dpkgArgs(root, "-P", "libtirpc-common")...)
	writeFile(t, at("etc/netconfig"), "left behind\n")

	db := openDB(t, root)
	if w := db.Warnings(); len(w) > 0 {
		t.Fatalf("warnings: %v", w)
	}
	for _, c := range []struct {
		path     string
		kind     Kind
		pkg      string // owner
		recorded string // the owner's path, when it is not path
		config   bool
	}{
		{"/usr/bin/hello", Mismatch, "hello", "", false},
		{"/usr/share/doc/hello/changelog.Debian.gz", Match, "hello", "", false},
		{"/usr/share/doc/hello/NEWS.gz", Missing, "hello", "", false},
		{"/usr/bin/evil", Unowned, "", "", false},
		// merged /usr: dpkg recorded /bin/hostname
		{"/usr/bin/hostname", Match, "hostname", "/bin/hostname", false},
		{"/bin/hostname", Match, "hostname", "", false},
		{"/bin/domainname", Unknown, "hostname", "", false}, // a symlink: no digest
		{"/usr/bin/domainname", Unknown, "hostname", "/bin/domainname", false},
		{"/usr/share/man/man1/hostname.1.gz", Mismatch, "hostname", "", false},
		{"/usr/share/doc/hostname", Unknown, "hostname", "", false}, // a directory
		// diversions
		{"/usr/share/doc/hello/copyright", Unowned, "", "", false},
		{"/usr/share/doc/hello/copyright.distrib", Match, "hello", "/usr/share/doc/hello/copyright", false},
		{"/usr/share/info/hello.info.gz", Unowned, "", "", false},
		{"/usr/share/info/hello.info.gz.orig", Match, "hello", "/usr/share/info/hello.info.gz", false},
		// conffiles of a removed package, its other files gone
		{"/etc/sensors3.conf", Conffile, "libsensors-config", "", true},
		{"/etc/sensors.d/.placeholder", Match, "libsensors-config", "", true},
		{"/usr/share/doc/libsensors-config/copyright", Unowned, "", "", false},
		// a purged package
		{"/etc/netconfig", Unowned, "", "", false},
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
		if v.File == nil {
			continue
		}
		want := c.recorded
		if want == "" {
			want = c.path
		}
		if v.File.Path != want || v.File.IsConfig() != c.config {
			t.Errorf("%s: recorded as %s (config %v), want %s (config %v)", c.path, v.File.Path, v.File.IsConfig(), want, c.config)
		}
	}

	var pkgs []string
	for _, p := range db.Packages() {
		pkgs = append(pkgs, p.Name+" "+p.Version+" "+p.Arch+" "+strings.Fields(p.Status)[2])
	}
	ver := debVersions(t, testDebs...)
	arch := strings.TrimSpace(run(t, "dpkg", "--print-architecture"))
	if got, want := strings.Join(pkgs, ", "), "hello "+ver["hello"]+" "+arch+" installed, hostname "+ver["hostname"]+
		" "+arch+" installed, libsensors-config "+ver["libsensors-config"]+" all config-files"; got != want {
		t.Errorf("packages: %s, want %s", got, want)
	}

	var log []string
	for _, tr := range db.Log() {
		if tr.Time.IsZero() || time.Since(tr.Time) > time.Hour {
			t.Errorf("transaction %v: time not read", tr)
		}
		log = append(log, tr.Action+" "+tr.Package+" "+tr.Old+"→"+tr.New)
	}
	want := []string{
		"install hello →" + ver["hello"], "install hostname →" + ver["hostname"],
		"install libsensors-config →" + ver["libsensors-config"], "install libtirpc-common →" + ver["libtirpc-common"],
		"remove libsensors-config " + ver["libsensors-config"] + "→", "remove libtirpc-common " + ver["libtirpc-common"] + "→",
		"purge libtirpc-common " + ver["libtirpc-common"] + "→",
	}
	if strings.Join(log, "\n") != strings.Join(want, "\n") {
		t.Errorf("log:\n%s\nwant:\n%s", strings.Join(log, "\n"), strings.Join(want, "\n"))
	}
}

// TestDpkgSumsWhenNeeded: a package's .md5sums is parsed only when one of its paths is
// asked for, and then gives every listed file that is not a conffile the digest it
// records; a conffile keeps the status file's.
func TestDpkgSumsWhenNeeded(t *testing.T) {
	root := dpkgRoot(t, testDebs...)
	db := openDB(t, root)
	parsed := func(name string) bool {
		for pk, s := range db.pending {
			if pk.Name == name {
				return s.parsed.Load()
			}
		}
		t.Fatalf("no .md5sums pending for %s", name)
		return false
	}
	for _, name := range []string{"hello", "hostname", "libtirpc-common"} {
		if parsed(name) {
			t.Errorf("%s: .md5sums parsed by Open", name)
		}
	}
	if v := db.Verdict("/usr/bin/hello", db.Opener("/usr/bin/hello")); v.Kind != Match {
		t.Fatalf("/usr/bin/hello: %s (%s), want match", v.Kind, v.Reason)
	}
	if !parsed("hello") || parsed("hostname") || parsed("libtirpc-common") {
		t.Errorf("after /usr/bin/hello: hello parsed %v, hostname %v, libtirpc-common %v, want only hello",
			parsed("hello"), parsed("hostname"), parsed("libtirpc-common"))
	}
	// A directory every package lists has a digest in none of their .md5sums: asking
	// for it parses none.
	if fs := db.Owners("/usr/share/doc"); len(fs) != len(testDebs) {
		t.Fatalf("/usr/share/doc: %d owners, want %d", len(fs), len(testDebs))
	}
	if parsed("hostname") || parsed("libtirpc-common") {
		t.Errorf("after /usr/share/doc: hostname parsed %v, libtirpc-common %v, want neither", parsed("hostname"), parsed("libtirpc-common"))
	}
	for _, name := range []string{"hello", "libtirpc-common"} {
		data, err := os.ReadFile(filepath.Join(root, dpkgInfo, name+".md5sums"))
		if err != nil {
			t.Fatal(err)
		}
		sums, err := parseMD5sums(data)
		if err != nil {
			t.Fatal(err)
		}
		var pkg *Package
		for _, pk := range db.Packages() {
			if pk.Name == name {
				pkg = pk
			}
		}
		got := map[string]*File{}
		for _, f := range db.Files(pkg) {
			got[f.Path] = f
		}
		for _, s := range sums {
			f := got[s.Path]
			switch {
			case f == nil:
				t.Errorf("%s: %s summed but not in Files", name, s.Path)
			case f.IsConfig(): // its digest is the status file's, compared below
			case !f.IsConfig() && (f.Algorithm != MD5 || !bytes.Equal(f.Digest, s.Digest)):
				t.Errorf("%s: %s has %s %x, its .md5sums %x", name, s.Path, f.Algorithm, f.Digest, s.Digest)
			}
		}
	}
	if fs := db.Owners("/etc/netconfig"); len(fs) != 1 || !fs[0].IsConfig() || fs[0].Algorithm != MD5 ||
		hex.EncodeToString(fs[0].Digest) != statusDigest(t, root, "/etc/netconfig") {
		t.Errorf("/etc/netconfig: %v, want the conffile digest of the status file", fs)
	}
}

// TestDpkgSumsNames: a file's digest is found in its package's .md5sums whatever the
// form of the name there (md5sum's binary marker, a name that is not clean, the last
// line without a newline), when its path is the first of the package asked for.
func TestDpkgSumsNames(t *testing.T) {
	root := dpkgRoot(t, "hello")
	sumsFile := filepath.Join(root, dpkgInfo, "hello.md5sums")
	data, err := os.ReadFile(sumsFile)
	if err != nil {
		t.Fatal(err)
	}
	digest := ""
	for _, line := range strings.Split(string(data), "\n") {
		if d, ok := strings.CutSuffix(line, "  usr/bin/hello"); ok {
			digest = d
		}
	}
	if digest == "" {
		t.Fatalf("%s names no usr/bin/hello:\n%s", sumsFile, data)
	}
	for _, line := range []string{
		digest + "  usr/bin/hello\n",
		digest + " *usr/bin/hello\n",
		digest + "  usr/bin/hello",
		digest + "  usr//bin/hello\n",
		digest + "  ./usr/bin/hello\n",
		digest + "  usr/bin/../bin/hello\n",
	} {
		writeFile(t, sumsFile, "00000000000000000000000000000000  usr/share/doc/hello/x\n"+line)
		db := openDB(t, root)
		if v := db.Verdict("/usr/bin/hello", db.Opener("/usr/bin/hello")); v.Kind != Match {
			t.Errorf("%q: /usr/bin/hello %s (%s), want match", line, v.Kind, v.Reason)
		}
	}
}

// statusDigest is the MD5 the status file under root records for conffile p.
func statusDigest(t *testing.T, root, p string) string {
	data, err := os.ReadFile(filepath.Join(root, dpkgStatus))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == p {
			return f[1]
		}
	}
	t.Fatalf("%s is no conffile in the status file", p)
	return ""
}

// TestDpkgUpdates reads a dpkg database in the middle of a transaction, as fim watch
// does: dpkg has noted status changes in updates/ and not yet in the status file. The
// records there are what the database says, as dpkg itself reads it: hello upgraded to
// the version being unpacked, a package new to the host half-installed before dpkg
// wrote its list (no files, no damage), and a record being written (updates/tmp.i)
// left out.
func TestDpkgUpdates(t *testing.T) {
	root := dpkgRoot(t, "hello", "hostname")
	at := func(p string) string { return filepath.Join(root, p) }
	status, err := os.ReadFile(at(dpkgStatus))
	if err != nil {
		t.Fatal(err)
	}
	var hello string
	for para := range strings.SplitSeq(string(status), "\n\n") {
		if strings.HasPrefix(para, "Package: hello\n") {
			hello = para
		}
	}
	old := regexp.MustCompile(`(?m)^Version: (.*)$`).FindStringSubmatch(hello)
	if old == nil {
		t.Fatalf("no hello in the status file:\n%s", status)
	}
	if err := os.MkdirAll(at(dpkgUpdates), 0o755); err != nil {
		t.Fatal(err)
	}
	upgraded := strings.Replace(hello, "Version: "+old[1], "Version: "+old[1]+"+fim1", 1)
	upgraded = regexp.MustCompile(`(?m)^Status: .*$`).ReplaceAllString(upgraded, "Status: install reinstreq unpacked")
	writeFile(t, at(dpkgUpdates+"/0000"), upgraded+"\n")
	writeFile(t, at(dpkgUpdates+"/0001"), "Package: newpkg\nStatus: install reinstreq half-installed\nArchitecture: amd64\n\n")
	writeFile(t, at(dpkgUpdates+"/tmp.i"), "Package: hello\nVersion: 9\nStatus: install ok installed\n")

	db := openDB(t, root)
	if w := db.Warnings(); len(w) != 0 {
		t.Fatalf("warnings %q", w)
	}
	got := map[string]string{}
	for _, pk := range db.Packages() {
		got[pk.Name] = pk.Version + " " + pk.Status
	}
	for name, want := range map[string]string{
		"hello":  old[1] + "+fim1 install reinstreq unpacked",
		"newpkg": " install reinstreq half-installed",
	} {
		if got[name] != want {
			t.Errorf("%s: %q, want %q (all: %q)", name, got[name], want, got)
		}
	}
	if _, ok := got["hostname"]; !ok {
		t.Errorf("hostname, in the status file alone, is gone: %q", got)
	}
	if o := db.Owners("/usr/bin/hello"); len(o) != 1 || o[0].Package.Name != "hello" {
		t.Errorf("/usr/bin/hello owned by %v", o)
	}
}
