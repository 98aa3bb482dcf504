package main

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"fim/diff"
	"fim/internal/debtest"

	"github.com/klauspost/compress/zstd"
)

// provEvent is what the provenance tests read of a json event.
type provEvent struct {
	Type    string `json:"type"`
	Path    string `json:"path"`
	Verdict string `json:"verdict"`
	Reason  string `json:"verdict_reason"`
	Package *struct {
		Manager, Name, Version, Arch string
	} `json:"package"`
	Severity    string   `json:"severity"`
	Reasons     []string `json:"reasons"`
	Transaction *struct {
		Action     string `json:"action"`
		OldVersion string `json:"old_version"`
		NewVersion string `json:"new_version"`
	} `json:"transaction"`
}

func parseProv(t *testing.T, out string) []provEvent {
	t.Helper()
	var events []provEvent
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev provEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("bad json line %q: %v", sc.Text(), err)
		}
		events = append(events, ev)
	}
	return events
}

// verdictsOf returns the verdict of each json event of out, by "type path".
func verdictsOf(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, ev := range parseProv(t, out) {
		got[ev.Type+" "+ev.Path] = ev.Verdict
	}
	return got
}

func explained(v string) bool { return diff.Verdict(v).Explained() }

// unexplainedOf returns "type path" of the events before the first explained one, and
// fails if an unexplained one comes after it.
func unexplainedOf(t *testing.T, events []provEvent) []string {
	t.Helper()
	var out []string
	seen := false
	for _, ev := range events {
		if explained(ev.Verdict) {
			seen = true
			continue
		}
		if seen {
			t.Errorf("unexplained %s %s (%s) after an explained event", ev.Type, ev.Path, ev.Verdict)
		}
		out = append(out, ev.Type+" "+ev.Path)
	}
	return out
}

// upgradedDeb builds the next version of the cached package name with the real
// dpkg-deb: one file changed, one dropped.
func upgradedDeb(t *testing.T, name, version, change, drop string) string {
	t.Helper()
	dir := t.TempDir()
	x := filepath.Join(dir, "x")
	debtest.Run(t, "dpkg-deb", "-R", debtest.DebCache(t, name)[name], x)
	control := filepath.Join(x, "DEBIAN/control")
	data, err := os.ReadFile(control)
	must(t, err)
	data = regexp.MustCompile(`(?m)^Version: .*$`).ReplaceAll(data, []byte("Version: "+version))
	must(t, os.WriteFile(control, data, 0o644))
	f, err := os.OpenFile(filepath.Join(x, change), os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteString("\nchanged in " + version + "\n")
	must(t, err)
	must(t, f.Close())
	must(t, os.Remove(filepath.Join(x, drop)))
	must(t, os.Remove(filepath.Join(x, "DEBIAN/md5sums"))) // dpkg computes them when missing
	deb := filepath.Join(dir, name+"_"+version+".deb")
	debtest.Run(t, "dpkg-deb", "-b", x, deb)
	return deb
}

// TestProvenanceAfterUpgrade installs real packages with the real dpkg into a merged-/usr
// root, takes a baseline, upgrades one package (a file changed, one dropped), removes
// one and purges another, and plants what an intruder would: a package binary
// rewritten with its size and mtime restored (reached as /usr/bin/hostname, recorded
// by dpkg as /bin/hostname), a setuid copy of a shell under /usr/local, a new
// /etc/ld.so.preload, and the upgraded binary made setuid. check must list exactly the
// planted changes, first, as unexplained, and fold the packages' changes per package;
// --explained-ok must leave their exit bits to the planted ones; accept --explained
// must leave only them.
func TestProvenanceAfterUpgrade(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello", "hostname", "libsensors-config", "libtirpc-common")
	at := func(p string) string { return filepath.Join(root, p) }
	must(t, os.MkdirAll(at("usr/local/bin"), 0o755))
	// The package log counts whole seconds, and one logged in the second the baseline
	// was taken counts as after it: the installs go a second before.
	time.Sleep(1100 * time.Millisecond)
	db := filepath.Join(t.TempDir(), "b.db")
	mustRun(t, 0, "baseline", "--quiet", "--db", db, "--root", root, "/usr", "/etc")
	if _, err := os.Stat(db + ".packages"); err != nil {
		t.Fatalf("no package snapshot beside the baseline: %v", err)
	}

	deb := upgradedDeb(t, "hello", "2.10-3+fim1", "usr/share/doc/hello/changelog.Debian.gz", "usr/share/doc/hello/NEWS.gz")
	debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "--force-depends", "-i", deb)...)
	debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "-r", "libsensors-config")...)
	debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "-P", "libtirpc-common")...)

	// The planted changes.
	st, err := os.Stat(at("usr/bin/hostname"))
	must(t, err)
	f, err := os.OpenFile(at("usr/bin/hostname"), os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt([]byte("EVIL"), 4096)
	must(t, err)
	must(t, f.Close())
	must(t, os.Chtimes(at("usr/bin/hostname"), st.ModTime(), st.ModTime()))
	sh, err := os.ReadFile("/bin/sh")
	must(t, err)
	must(t, os.WriteFile(at("usr/local/bin/sh"), sh, 0o755))
	must(t, syscall.Chmod(at("usr/local/bin/sh"), 0o4755))
	must(t, os.WriteFile(at("etc/ld.so.preload"), []byte("/tmp/evil.so\n"), 0o644))
	must(t, syscall.Chmod(at("usr/bin/hello"), 0o4755))
	// The most severe first: three critical (ld.so.preload, two new setuid files), then
	// the package binary that is not the package's (high).
	planted := []string{"create /etc/ld.so.preload", "chmod /usr/bin/hello", "create /usr/local/bin/sh", "change /usr/bin/hostname"}

	out, _ := mustRun(t, 7, "check", "--db", db, "--format", "json")
	events := parseProv(t, out)
	if got := unexplainedOf(t, events); !slices.Equal(got, planted) {
		t.Errorf("unexplained:\n\t%s\nwant the planted:\n\t%s", strings.Join(got, "\n\t"), strings.Join(planted, "\n\t"))
	}
	byPath := map[string]provEvent{}
	for _, ev := range events {
		byPath[ev.Path] = ev
	}
	for _, c := range []struct {
		path, verdict, pkg, action, severity string
	}{
		{"/usr/bin/hostname", "mismatch", "hostname", "", "high"},     // merged /usr: dpkg listed /bin/hostname
		{"/usr/bin/hello", "unknown", "hello", "upgrade", "critical"}, // the content is the package's, the mode is not recorded
		{"/usr/local/bin/sh", "unowned", "", "", "critical"},
		{"/etc/ld.so.preload", "unowned", "", "", "critical"},
		{"/usr/share/doc/hello/changelog.Debian.gz", "match", "hello", "upgrade", "info"},
		{"/usr/share/doc/hello/NEWS.gz", "removed", "hello", "upgrade", "info"}, // dropped by the upgrade
		{"/usr/share/doc/libtirpc-common/copyright", "removed", "libtirpc-common", "purge", "info"},
		{"/etc/netconfig", "removed", "libtirpc-common", "purge", "info"}, // a purged conffile
		{"/usr/share/doc/libsensors-config/copyright", "removed", "libsensors-config", "remove", "info"},
	} {
		ev, ok := byPath[c.path]
		switch {
		case !ok:
			t.Errorf("%s: no event", c.path)
		case ev.Verdict != c.verdict:
			t.Errorf("%s: verdict %q (%s), want %q", c.path, ev.Verdict, ev.Reason, c.verdict)
		case (ev.Package == nil) != (c.pkg == ""), ev.Package != nil && ev.Package.Name != c.pkg:
			t.Errorf("%s: package %+v, want %q", c.path, ev.Package, c.pkg)
		case c.action == "" && ev.Transaction != nil, c.action != "" && (ev.Transaction == nil || ev.Transaction.Action != c.action):
			t.Errorf("%s: transaction %+v, want %q", c.path, ev.Transaction, c.action)
		case ev.Severity != c.severity:
			t.Errorf("%s: severity %s %v, want %s", c.path, ev.Severity, ev.Reasons, c.severity)
		}
	}
	if tr := byPath["/usr/share/doc/hello/changelog.Debian.gz"].Transaction; tr != nil && (tr.OldVersion != "2.10-3" || tr.NewVersion != "2.10-3+fim1") {
		t.Errorf("upgrade %+v, want 2.10-3 → 2.10-3+fim1", tr)
	}

	// The text report: the summary counts, the planted changes first, then one line
	// per package.
	text, _ := mustRun(t, 7, "check", "--db", db)
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	summary := regexp.MustCompile(`^fim: \d+ changes: 4 unexplained, \d+ explained by their packages \(3 packages changed [-0-9]+ [0-9:]+(–[0-9:]+)? UTC\); `)
	if !summary.MatchString(lines[0]) {
		t.Errorf("summary %q does not match %s", lines[0], summary)
	}
	var pkgLines []string
	for i, l := range lines[1:] {
		if i < len(planted) {
			if !strings.Contains(l, strings.Fields(planted[i])[1]+" ") && !strings.HasSuffix(l, strings.Fields(planted[i])[1]) {
				t.Errorf("line %d %q: want %s", i+1, l, planted[i])
			}
			continue
		}
		pkgLines = append(pkgLines, regexp.MustCompile(`^package  dpkg (\S+) .*; (\w+) .*$`).ReplaceAllString(l, "$1 $2"))
	}
	if want := []string{"hello upgrade", "libsensors-config remove", "libtirpc-common purge"}; !slices.Equal(pkgLines, want) {
		t.Errorf("folded lines:\n\t%s\nwant\n\t%s\nreport:\n%s", strings.Join(pkgLines, "\n\t"), strings.Join(want, "\n\t"), text)
	}
	all, _ := mustRun(t, 7, "check", "--db", db, "--show-explained")
	if n := strings.Count(all, "\n"); n != len(events)+1 {
		t.Errorf("--show-explained: %d lines, want %d", n, len(events)+1)
	}
	mustRun(t, 5, "check", "--db", db, "--explained-ok") // planted creates and changes, no remove
	noProv, _ := mustRun(t, 7, "check", "--db", db, "--no-provenance", "--format", "json")
	for _, ev := range parseProv(t, noProv) {
		if ev.Verdict != "" || ev.Package != nil {
			t.Fatalf("--no-provenance: %s has verdict %q", ev.Path, ev.Verdict)
		}
	}

	// accept --explained takes the package manager's work and nothing else.
	mustRun(t, 0, "accept", "--db", db, "--explained")
	out, _ = mustRun(t, 5, "check", "--db", db, "--format", "json")
	var left []string
	for _, ev := range parseProv(t, out) {
		left = append(left, ev.Type+" "+ev.Path)
	}
	if !slices.Equal(left, planted) {
		t.Errorf("after accept --explained:\n\t%s\nwant the planted:\n\t%s", strings.Join(left, "\n\t"), strings.Join(planted, "\n\t"))
	}
}

// TestProvenanceDamaged shows a damaged dpkg database: a one-line warning naming the
// file and the line, and no change explained by it.
func TestProvenanceDamaged(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello")
	db := filepath.Join(t.TempDir(), "b.db")
	mustRun(t, 0, "baseline", "--quiet", "--db", db, "--root", root, "/usr")
	time.Sleep(10 * time.Millisecond)
	must(t, os.WriteFile(filepath.Join(root, "usr/share/doc/hello/copyright"), []byte("changed\n"), 0o644))
	status := filepath.Join(root, "var/lib/dpkg/status")
	data, err := os.ReadFile(status)
	must(t, err)
	must(t, os.WriteFile(status, append([]byte("no colon here\n"), data...), 0o644))
	out, stderr := mustRun(t, 4, "check", "--db", db, "--format", "json", "--explained-ok")
	if !regexp.MustCompile(`(?m)^fim: warning: dpkg database damaged: ` + regexp.QuoteMeta(status) + `:1: .*$`).MatchString(stderr) {
		t.Errorf("stderr %q: want a warning naming %s:1", stderr, status)
	}
	for _, ev := range parseProv(t, out) {
		if ev.Verdict != "unknown" {
			t.Errorf("%s: verdict %q with a damaged database, want unknown", ev.Path, ev.Verdict)
		}
	}
}

// TestProvenanceWatch shows that fim watch annotates the events it delivers: a package
// file rewritten is a mismatch, and its content put back matches its package again.
func TestProvenanceWatch(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello")
	db := filepath.Join(t.TempDir(), "b.db")
	mustRun(t, 0, "baseline", "--quiet", "--db", db, "--root", root, "/usr/share/doc")
	r := startWatch(t, fsnotifyBackend, filepath.Join(root, "usr/share/doc"), "--db", db)
	copyright := filepath.Join(root, "usr/share/doc/hello/copyright")
	orig, err := os.ReadFile(copyright)
	must(t, err)
	// The event of a write of content, not of the truncation before it. A verdict is
	// of the content when the batch is delivered.
	verdictOf := func(what string, content []byte) provEvent {
		t.Helper()
		var got provEvent
		r.await(what, func(evs []watchEvent) bool {
			if len(evs) == 0 {
				return false
			}
			last := evs[len(evs)-1]
			if last.Path != "/usr/share/doc/hello/copyright" || last.File == nil || last.File.Size != int64(len(content)) {
				return false
			}
			got = parseProv(t, last.raw)[0]
			return true
		})
		return got
	}
	rewritten := []byte("not hello's\n")
	must(t, os.WriteFile(copyright, rewritten, 0o644))
	if ev := verdictOf("the rewrite", rewritten); ev.Verdict != "mismatch" || ev.Package == nil || ev.Package.Name != "hello" {
		t.Errorf("rewritten: %+v, want a mismatch of hello", ev)
	}
	must(t, os.WriteFile(copyright, orig, 0o644))
	if ev := verdictOf("the content put back", orig); ev.Verdict != "match" {
		t.Errorf("put back: %+v, want a match", ev)
	}
}

// TestProvenanceDiff shows fim diff --root: the changes between two baselines of a
// root, annotated from the package databases under it, with a package's diverted file
// (dpkg-divert --rename) found under the name it was moved to.
func TestProvenanceDiff(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello", "hostname")
	dir := t.TempDir()
	old, cur := filepath.Join(dir, "old.db"), filepath.Join(dir, "new.db")
	mustRun(t, 0, "baseline", "--quiet", "--db", old, "--root", root, "/usr")
	debtest.Run(t, "dpkg-divert", "--root="+root, "--package", "hello", "--rename",
		"--divert", "/usr/share/doc/hostname/copyright.distrib", "--add", "/usr/share/doc/hostname/copyright")
	must(t, os.WriteFile(filepath.Join(root, "usr/share/doc/hello/copyright"), []byte("not hello's\n"), 0o644))
	mustRun(t, 0, "baseline", "--quiet", "--db", cur, "--root", root, "/usr")
	out, _ := mustRun(t, 4, "diff", "--root", root, "--format", "json", old, cur)
	got := verdictsOf(t, out)
	want := map[string]string{
		"change /usr/share/doc/hello/copyright":            "mismatch",
		"rename /usr/share/doc/hostname/copyright.distrib": "match",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: verdict %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	mustRun(t, 4, "diff", "--root", root, "--explained-ok", old, cur)
	plain, _ := mustRun(t, 4, "diff", "--format", "json", old, cur)
	if strings.Contains(plain, `"verdict"`) {
		t.Errorf("diff without --root: verdicts in %s", plain)
	}
}

// TestProvenanceInstall installs a real package after the baseline: its files match,
// its directories and symlinks are listed by it, and one of its symlinks pointed
// elsewhere afterwards is not explained.
func TestProvenanceInstall(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello")
	time.Sleep(1100 * time.Millisecond) // see TestProvenanceAfterUpgrade
	db := filepath.Join(t.TempDir(), "b.db")
	mustRun(t, 0, "baseline", "--quiet", "--db", db, "--root", root, "/usr")
	deb := debtest.DebCache(t, "bzip2")["bzip2"]
	debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "--force-depends", "-i", deb)...)
	link := filepath.Join(root, "usr/bin/bzcmp")
	must(t, os.Remove(link))
	must(t, os.Symlink("/tmp/evil", link))
	out, _ := mustRun(t, 1, "check", "--db", db, "--format", "json")
	events := parseProv(t, out)
	if got, want := unexplainedOf(t, events), []string{"create /usr/bin/bzcmp"}; !slices.Equal(got, want) {
		t.Errorf("unexplained %q, want %q", got, want)
	}
	kinds := map[string]int{}
	for _, ev := range events {
		kinds[ev.Verdict]++
	}
	if kinds["match"] == 0 || kinds["listed"] == 0 || kinds["match"]+kinds["listed"] != len(events)-1 {
		t.Errorf("verdicts %v of %d events: want matches and listed directories and symlinks", kinds, len(events))
	}
	mustRun(t, 1, "check", "--db", db, "--explained-ok")
}

// TestProvenanceSharedDirectory reinstalls a package after the baseline: dpkg unpacks
// its unchanged conffile beside the old one and removes it again, which changes /etc
// although no entry of it changed. Another package, installed after it and with no
// transaction since (the owner pkgdb names first), lists /etc too: the change is explained by the reinstalled
// package's transaction, not left unknown because the other package had none.
func TestProvenanceSharedDirectory(t *testing.T) {
	root := debtest.DpkgRoot(t, "libsensors-config", "libtirpc-common")
	time.Sleep(1100 * time.Millisecond) // see TestProvenanceAfterUpgrade
	db := filepath.Join(t.TempDir(), "b.db")
	mustRun(t, 0, "baseline", "--quiet", "--db", db, "--root", root, "/etc", "/usr")
	deb := debtest.DebCache(t, "libsensors-config")["libsensors-config"]
	debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "--force-depends", "-i", deb)...)
	out, _ := mustRun(t, 4, "check", "--db", db, "--format", "json")
	events := parseProv(t, out)
	if got := unexplainedOf(t, events); len(got) > 0 {
		t.Errorf("unexplained %q, want none", got)
	}
	var dirs int
	for _, ev := range events {
		if ev.Path == "/etc" {
			dirs++
			if ev.Verdict != "listed" || ev.Package == nil || ev.Package.Name != "libsensors-config" {
				t.Errorf("%s %s: verdict %q of %+v, want listed by libsensors-config", ev.Type, ev.Path, ev.Verdict, ev.Package)
			}
		}
	}
	if dirs != 1 {
		t.Errorf("/etc: %d changes, want 1: %s", dirs, out)
	}
}

// snapshotText returns the text of the package snapshot in file (one zstd frame).
func snapshotText(t *testing.T, file string) []byte {
	t.Helper()
	raw, err := os.ReadFile(file)
	must(t, err)
	zr, err := zstd.NewReader(nil)
	must(t, err)
	defer zr.Close()
	data, err := zr.DecodeAll(raw, nil)
	if err != nil {
		t.Fatalf("package snapshot %s: %v", file, err)
	}
	return data
}

// snapshotLists reports whether the package snapshot beside db lists path.
func snapshotLists(t *testing.T, db, path string) bool {
	t.Helper()
	data := snapshotText(t, db+".packages")
	return slices.ContainsFunc(strings.Split(string(data), "\n"), func(l string) bool {
		return strings.HasPrefix(l, path+" ") // PATH IDS
	})
}

// TestProvenanceSnapshotSealed shows that the package snapshot beside a baseline is
// sealed by it: one rewritten to explain an intruder's remove is refused with a warning
// naming it, and the remove stays unexplained; the snapshot as written is taken. check
// --update, accept and watch --update write a current snapshot and seal it in the
// baseline they write.
func TestProvenanceSnapshotSealed(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello", "libsensors-config")
	at := func(p string) string { return filepath.Join(root, p) }
	must(t, os.WriteFile(at("etc/planted"), []byte("x\n"), 0o644))
	db := filepath.Join(t.TempDir(), "b.db")
	snap := db + ".packages"
	mustRun(t, 0, "baseline", "--quiet", "--db", db, "--root", root, "/usr", "/etc")
	debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "-r", "libsensors-config")...)
	must(t, os.Remove(at("etc/planted")))

	// The intruder adds the file to the removed package's paths in the snapshot, in
	// its sorted place, numbered as the package's line is.
	written, err := os.ReadFile(snap)
	must(t, err)
	real := snapshotText(t, snap)
	var forged strings.Builder
	pkgs, id := 0, -1
	for _, l := range strings.SplitAfter(string(real), "\n") {
		if strings.HasPrefix(l, "package dpkg libsensors-config ") {
			id = pkgs
		}
		if strings.HasPrefix(l, "package ") {
			pkgs++
		}
		if id >= 0 && strings.HasPrefix(l, "/") && l > "/etc/planted" {
			fmt.Fprintf(&forged, "/etc/planted %d\n", id)
			id = -1
		}
		forged.WriteString(l)
	}
	if !strings.Contains(forged.String(), "/etc/planted ") {
		t.Fatalf("no place for /etc/planted in %s", real)
	}
	must(t, os.WriteFile(snap, []byte(forged.String()), 0o644))
	verdicts := func(stderr *string) map[string]string {
		t.Helper()
		out, e := mustRun(t, 2, "check", "--db", db, "--format", "json")
		*stderr = e
		return verdictsOf(t, out)
	}
	var stderr string
	got := verdicts(&stderr)
	if !regexp.MustCompile(`(?m)^fim: warning: package snapshot ` + regexp.QuoteMeta(snap) + `: not the package snapshot the baseline sealed: .*$`).MatchString(stderr) {
		t.Errorf("stderr %q: want a warning naming %s", stderr, snap)
	}
	if v := got["remove /etc/planted"]; v != "unknown" {
		t.Errorf("remove /etc/planted with a forged snapshot: %q, want unknown (all: %v)", v, got)
	}
	must(t, os.WriteFile(snap, written, 0o644))
	got = verdicts(&stderr)
	if strings.Contains(stderr, "package snapshot") || got["remove /etc/planted"] == "removed" ||
		got["remove /usr/share/doc/libsensors-config/copyright"] != "removed" {
		t.Errorf("the snapshot as written: %v, stderr %q", got, stderr)
	}

	// Each rewrite of the baseline seals a current snapshot: a check after it finds it
	// as sealed.
	sealed := func(what string) {
		t.Helper()
		_, stderr := mustRun(t, 0, "check", "--db", db)
		if strings.Contains(stderr, "package snapshot") {
			t.Errorf("after %s: %s", what, stderr)
		}
	}
	mustRun(t, 2, "check", "--quiet", "--db", db, "--update")
	sealed("check --update")
	if snapshotLists(t, db, "/usr/share/doc/libsensors-config/copyright") {
		t.Error("check --update kept the snapshot of the removed package")
	}
	debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "--force-depends", "-i", debtest.DebCache(t, "bzip2")["bzip2"])...)
	mustRun(t, 0, "accept", "--db", db, "--path", "**")
	sealed("accept")
	if !snapshotLists(t, db, "/bin/bzip2") {
		t.Error("accept did not add the installed package to the snapshot")
	}

	st, err := os.Stat(snap)
	must(t, err)
	r := startWatch(t, fsnotifyBackend, at("usr/share/doc"), "--update", "--update-every", "50ms", "--db", db)
	must(t, os.WriteFile(at("usr/share/doc/hello/copyright"), []byte("not hello's\n"), 0o644))
	r.await("the change", func(evs []watchEvent) bool {
		return slices.ContainsFunc(evs, func(ev watchEvent) bool { return ev.Path == "/usr/share/doc/hello/copyright" })
	})
	for deadline := time.Now().Add(eventTimeout); ; time.Sleep(10 * time.Millisecond) {
		if now, err := os.Stat(snap); err == nil && !os.SameFile(st, now) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("watch --update wrote no package snapshot")
		}
	}
	must(t, r.cmd.Process.Signal(syscall.SIGTERM))
	<-r.exited
	sealed("watch --update")
}

// TestProvenanceTampered rewrites a package's binary and its line in the package's
// .md5sums to match, with no package transaction: the binary's verdict, drawn from the
// edited database, is tampered, and so is the edit of the .md5sums, first in the report
// and counted in its summary. A real upgrade by dpkg, which rewrites the .md5sums and
// logs the transaction, stays explained.
func TestProvenanceTampered(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	_, at := dpkgBaseline(t, db, "hello", "hostname")

	trojan := []byte("#!/bin/sh\necho not hello\n")
	must(t, os.WriteFile(at("usr/bin/hello"), trojan, 0o755))
	sums := at("var/lib/dpkg/info/hello.md5sums")
	data, err := os.ReadFile(sums)
	must(t, err)
	line := regexp.MustCompile(`(?m)^[0-9a-f]{32}  usr/bin/hello$`)
	if !line.Match(data) {
		t.Fatalf("%s lists no usr/bin/hello:\n%s", sums, data)
	}
	data = line.ReplaceAll(data, []byte(fmt.Sprintf("%x  usr/bin/hello", md5.Sum(trojan))))
	must(t, os.WriteFile(sums, data, 0o644))

	out, _ := mustRun(t, 4, "check", "--db", db, "--format", "json")
	got := verdictsOf(t, out)
	want := map[string]string{
		"change /usr/bin/hello":                   "tampered",
		"change /var/lib/dpkg/info/hello.md5sums": "tampered",
	}
	if !maps.Equal(got, want) {
		t.Errorf("verdicts %v, want %v", got, want)
	}
	text, _ := mustRun(t, 4, "check", "--db", db)
	if !strings.Contains(text, "2 unexplained (2 tampered: the package database changed outside any transaction)") ||
		!strings.Contains(text, "tampered, /var/lib/dpkg/info/hello.md5sums changed since the baseline, and the package log shows no transaction of hello since") {
		t.Errorf("the text report does not say what was tampered:\n%s", text)
	}

	// The real upgrade of another root: dpkg rewrites the .md5sums and logs it.
	root, _ := dpkgBaseline(t, db, "hello")
	deb := upgradedDeb(t, "hello", "2.10-3+fim1", "usr/share/doc/hello/changelog.Debian.gz", "usr/share/doc/hello/NEWS.gz")
	debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "--force-depends", "-i", deb)...)
	out, _ = mustRun(t, 6, "check", "--db", db, "--format", "json")
	got = verdictsOf(t, out)
	for k, v := range got {
		if v == "tampered" {
			t.Errorf("%s: tampered after a real upgrade", k)
		}
	}
	for _, k := range []string{"chmod /usr/bin/hello", "change /usr/share/doc/hello/changelog.Debian.gz"} {
		if got[k] != "match" {
			t.Errorf("%s: %q after a real upgrade, want match (all: %v)", k, got[k], got)
		}
	}
}

// TestProvenanceLogForged: an intruder who edits a package's .md5sums also appends a
// transaction of that package to dpkg.log. A line that names a version dpkg's status
// does not hold explains nothing: still tampered. One that names the version status
// holds, and the baseline's snapshot recorded (a reinstall), cannot be told from a real
// one, but a reinstall writes the digests the baseline's .md5sums held: still tampered.
func TestProvenanceLogForged(t *testing.T) {
	for _, c := range []struct {
		line string
		want string
	}{
		{"upgrade hello:amd64 2.10-3 2.10-3+fim9", "tampered"},
		{"install hello:amd64 <none> 2.10-3+fim9", "tampered"},
		{"remove hello:amd64 2.10-3 <none>", "tampered"},
		{"upgrade hello:amd64 2.10-3 2.10-3", "tampered"}, // a reinstall, as apt reinstall logs it
	} {
		db := filepath.Join(t.TempDir(), "b.db")
		_, at := dpkgBaseline(t, db, "hello")
		trojan := []byte("#!/bin/sh\necho not hello\n")
		must(t, os.WriteFile(at("usr/bin/hello"), trojan, 0o755))
		sums := at("var/lib/dpkg/info/hello.md5sums")
		data, err := os.ReadFile(sums)
		must(t, err)
		data = regexp.MustCompile(`(?m)^[0-9a-f]{32}  usr/bin/hello$`).ReplaceAll(data, []byte(fmt.Sprintf("%x  usr/bin/hello", md5.Sum(trojan))))
		must(t, os.WriteFile(sums, data, 0o644))
		log, err := os.OpenFile(at("var/log/dpkg.log"), os.O_APPEND|os.O_WRONLY, 0)
		must(t, err)
		fmt.Fprintf(log, "%s %s\n", time.Now().Format("2006-01-02 15:04:05"), c.line)
		log.Close()
		out, _, _ := run(t, "check", "--db", db, "--format", "json")
		if got := verdictsOf(t, out)["change /usr/bin/hello"]; got != c.want {
			t.Errorf("dpkg.log forged with %q: /usr/bin/hello %s, want %s", c.line, got, c.want)
		}
	}
}

// TestProvenanceReinstall: a real reinstall of a package at the version the baseline
// recorded (dpkg -i of the same .deb) rewrites its files and database entries with the
// same content: nothing of it is tampered.
func TestProvenanceReinstall(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	root, _ := dpkgBaseline(t, db, "hello")
	debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "--force-depends", "-i", debtest.DebCache(t, "hello")["hello"])...)
	out, _, _ := run(t, "check", "--db", db, "--format", "json")
	got := verdictsOf(t, out)
	if len(got) == 0 {
		t.Fatal("the reinstall changed nothing")
	}
	for ev, v := range got {
		if v == "tampered" || strings.HasSuffix(ev, "/usr/bin/hello") && v != "match" {
			t.Errorf("after a reinstall of the same version: %s %s", ev, v)
		}
	}
}

// TestProvenanceConffileTampered: dpkg keeps conffile digests in its status file,
// which every transaction rewrites. A real upgrade of one package must not let an
// edited digest in status explain the edit of another package's conffile: that stays
// tampered, while the upgraded package's own changes match.
func TestProvenanceConffileTampered(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello", "libtirpc-common")
	at := func(p string) string { return filepath.Join(root, p) }
	time.Sleep(1100 * time.Millisecond) // see TestProvenanceAfterUpgrade
	db := filepath.Join(t.TempDir(), "b.db")
	mustRun(t, 0, "baseline", "--quiet", "--db", db, "--root", root, "/usr", "/etc", "/var/lib/dpkg")

	deb := upgradedDeb(t, "hello", "2.10-3+fim1", "usr/share/doc/hello/changelog.Debian.gz", "usr/share/doc/hello/NEWS.gz")
	debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "--force-depends", "-i", deb)...)
	forged := []byte("tcp tpi_cots_ord v inet tcp - - # and a backdoor\n")
	old, err := os.ReadFile(at("etc/netconfig"))
	must(t, err)
	must(t, os.WriteFile(at("etc/netconfig"), forged, 0o644))
	status, err := os.ReadFile(at("var/lib/dpkg/status"))
	must(t, err)
	oldSum, newSum := fmt.Sprintf("/etc/netconfig %x", md5.Sum(old)), fmt.Sprintf("/etc/netconfig %x", md5.Sum(forged))
	if !bytes.Contains(status, []byte(oldSum)) {
		t.Fatalf("status holds no %q", oldSum)
	}
	must(t, os.WriteFile(at("var/lib/dpkg/status"), bytes.Replace(status, []byte(oldSum), []byte(newSum), 1), 0o644))

	out, _ := mustRun(t, 6, "check", "--db", db, "--format", "json")
	got := verdictsOf(t, out)
	if got["change /etc/netconfig"] != "tampered" {
		t.Errorf("the edited conffile: %q, want tampered (all: %v)", got["change /etc/netconfig"], got)
	}
	if got["change /usr/share/doc/hello/changelog.Debian.gz"] != "match" {
		t.Errorf("the upgraded package's file: %q, want match (all: %v)", got["change /usr/share/doc/hello/changelog.Debian.gz"], got)
	}
}

// TestVerifyPackages checks a root's packages without a baseline: nothing to report
// as installed, then a rewritten and a removed package file with their verdicts and
// exit bits, and only what is below the PATHs given.
func TestVerifyPackages(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello")
	mustRun(t, 0, "verify-packages", "--root", root)
	must(t, os.WriteFile(filepath.Join(root, "usr/share/doc/hello/copyright"), []byte("not hello's\n"), 0o644))
	must(t, os.Remove(filepath.Join(root, "usr/share/man/man1/hello.1.gz")))
	out, _ := mustRun(t, 6, "verify-packages", "--root", root, "--format", "json", "--workers", "2")
	want := map[string]string{
		"change /usr/share/doc/hello/copyright": "mismatch",
		"remove /usr/share/man/man1/hello.1.gz": "missing",
	}
	if got := verdictsOf(t, out); !maps.Equal(got, want) {
		t.Errorf("verdicts %v, want %v", got, want)
	}
	text, _ := mustRun(t, 2, "verify-packages", "--root", root, "/usr/share/man")
	if !strings.Contains(text, "remove  /usr/share/man/man1/hello.1.gz  [dpkg hello 2.10-3 amd64: missing]") ||
		strings.Contains(text, "copyright") {
		t.Errorf("verify-packages /usr/share/man:\n%s", text)
	}
}

// TestVerifyPackagesReuse shows verify-packages --db trusting a baseline made with
// --package-digests: after the package's .md5sums is made to claim another digest for
// its man page, a check that reads the file finds a mismatch, while one that trusts
// the baseline's verdict of the unchanged file does not read it; a file rewritten since
// the baseline is read again, and a baseline without --package-digests is not trusted.
func TestVerifyPackagesReuse(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello")
	dir := t.TempDir()
	digests, plain := filepath.Join(dir, "digests.db"), filepath.Join(dir, "plain.db")
	mustRun(t, 0, "baseline", "--quiet", "--package-digests", "--db", digests, "--root", root, "/usr")
	mustRun(t, 0, "baseline", "--quiet", "--db", plain, "--root", root, "/usr")
	sums := filepath.Join(root, "var/lib/dpkg/info/hello.md5sums")
	data, err := os.ReadFile(sums)
	must(t, err)
	man := regexp.MustCompile(`(?m)^[0-9a-f]{32}  usr/share/man/man1/hello.1.gz$`)
	if !man.Match(data) {
		t.Fatalf("%s lists no man page:\n%s", sums, data)
	}
	must(t, os.WriteFile(sums, man.ReplaceAll(data, []byte(strings.Repeat("0", 32)+"  usr/share/man/man1/hello.1.gz")), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "usr/share/doc/hello/copyright"), []byte("not hello's\n"), 0o644))
	both := map[string]string{
		"change /usr/share/doc/hello/copyright": "mismatch",
		"change /usr/share/man/man1/hello.1.gz": "mismatch",
	}
	for _, c := range []struct {
		args []string
		want map[string]string
	}{
		{nil, both},
		{[]string{"--db", plain}, both},
		{[]string{"--db", digests}, map[string]string{"change /usr/share/doc/hello/copyright": "mismatch"}},
	} {
		out, _ := mustRun(t, 4, append([]string{"verify-packages", "--root", root, "--format", "json"}, c.args...)...)
		if got := verdictsOf(t, out); !maps.Equal(got, c.want) {
			t.Errorf("verify-packages %v: %v, want %v", c.args, got, c.want)
		}
	}
}

// TestProvenanceDpkgDatabase: dpkg's own database files (status, status-old, the lock
// files, triggers/ and updates/, info/PKG.*) change with every transaction. After a real
// upgrade of one package and a real purge of another, every event under /var/lib/dpkg
// is database (the package manager's work) and only the planted changes are
// unexplained (a new file, and a database file made world-writable); with no
// transaction since the baseline, a status edited by hand is tampered and a
// maintainer script written by hand unowned, as before.
func TestProvenanceDpkgDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	root, at := dpkgBaseline(t, db, "hello", "libtirpc-common")

	deb := upgradedDeb(t, "hello", "2.10-3+fim1", "usr/share/doc/hello/changelog.Debian.gz", "usr/share/doc/hello/NEWS.gz")
	debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "--force-depends", "-i", deb)...)
	debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "-P", "libtirpc-common")...)
	must(t, os.WriteFile(at("usr/bin/planted"), []byte("#!/bin/sh\n"), 0o755))
	must(t, os.Chmod(at("var/lib/dpkg/status-old"), 0o666)) // a mode no transaction gives it

	out, _ := mustRun(t, 7, "check", "--db", db, "--format", "json")
	events := parseProv(t, out)
	var dbEvents int
	for _, ev := range events {
		if strings.HasPrefix(ev.Path, "/var/lib/dpkg/") && ev.Path != "/var/lib/dpkg/status-old" {
			dbEvents++
			if ev.Verdict != "database" {
				t.Errorf("%s %s: %q after a real upgrade and purge, want database", ev.Type, ev.Path, ev.Verdict)
			}
		}
	}
	if dbEvents < 5 {
		t.Errorf("only %d events under /var/lib/dpkg after a real upgrade and purge", dbEvents)
	}
	if got, want := unexplainedOf(t, events), []string{"create /usr/bin/planted", "change /var/lib/dpkg/status-old"}; !slices.Equal(got, want) {
		t.Errorf("unexplained %v, want %v", got, want)
	}
	t.Logf("%d events, %d under /var/lib/dpkg, %d unexplained", len(events), dbEvents, len(unexplainedOf(t, events)))
	// In the text report, the files every transaction writes are tagged one by one; a
	// package's info/ files fold into its line (hello: .list, .md5sums and the
	// changelog changed; libtirpc-common: 7 files and directories, 3 info files).
	text, _ := mustRun(t, 7, "check", "--db", db)
	if !regexp.MustCompile(`(?m)^change  /var/lib/dpkg/status  .*  \[database\]  \(info: default, package-explained\)$`).MatchString(text) ||
		!strings.Contains(text, "package  dpkg hello 2.10-3+fim1 amd64: 51 changes explained (3 change, 1 remove, 47 chmod)") ||
		!strings.Contains(text, "package  dpkg libtirpc-common 1.3.3+ds-1 all: 10 changes explained (10 remove)") {
		t.Errorf("the text report does not fold or tag dpkg's database:\n%s", text)
	}

	// No transaction since the baseline: nothing under /var/lib/dpkg is explained.
	_, at = dpkgBaseline(t, db, "hello")
	f, err := os.OpenFile(at("var/lib/dpkg/status"), os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteString("\n")
	must(t, err)
	must(t, f.Close())
	must(t, os.WriteFile(at("var/lib/dpkg/info/hello.postinst"), []byte("#!/bin/sh\n"), 0o755))
	out, _ = mustRun(t, 5, "check", "--db", db, "--format", "json")
	want := map[string]string{
		"change /var/lib/dpkg/status":              "tampered",
		"create /var/lib/dpkg/info/hello.postinst": "unowned",
	}
	if got := verdictsOf(t, out); !maps.Equal(got, want) {
		t.Errorf("with no transaction: verdicts %v, want %v", got, want)
	}
}

// dpkgBaseline installs the packages named into a new root with the real dpkg and
// takes a baseline of its /usr and /var/lib/dpkg into db, a second after the installs
// (see TestProvenanceAfterUpgrade); it returns the root and a function that places a
// path under it.
func dpkgBaseline(t *testing.T, db string, names ...string) (string, func(string) string) {
	t.Helper()
	root := debtest.DpkgRoot(t, names...)
	time.Sleep(1100 * time.Millisecond)
	mustRun(t, 0, "baseline", "--quiet", "--db", db, "--root", root, "/usr", "/var/lib/dpkg")
	return root, func(p string) string { return filepath.Join(root, p) }
}
