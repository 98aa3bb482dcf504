package main

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"fim/internal/debtest"
	"fim/internal/fstest"
)

// scriptWriter runs shell -c script in its own process group and waits for the line
// the script says once it has written; the processes are left running (the writer's
// /proc is what fim reads) until the test ends.
func scriptWriter(t *testing.T, shell, script string, args ...string) {
	t.Helper()
	cmd := exec.Command(shell, append([]string{"-c", script, "sh"}, args...)...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "written\n" {
		t.Fatalf("%s -c %q: %q, %v", shell, script, line, err)
	}
}

// TestScriptVerdict runs fim watch while real processes write: a shell run by a
// process named dpkg with DPKG_MAINTSCRIPT_PACKAGE=hello in its environment, as dpkg
// runs a maintainer script, and plain shells. The watch gives the maintainer script's
// writes the script verdict, naming the package and the script, and the others none
// that explains them; fim check against the baseline taken before, reading the writer
// journal the watch kept, does the same, except for a script's file edited afterwards
// (seen by the watch or not).
func TestScriptVerdict(t *testing.T) {
	mnt := tmpfs(t)
	root := filepath.Join(mnt, "w")
	db := filepath.Join(mnt, "db", "fim.db")
	fstest.Tree{"w/" + syncDir: fstest.Dir(), "db": fstest.Dir()}.Build(t, mnt)
	dpkg := fstest.CopyShell(t, "dpkg") // not on the tmpfs, which is noexec
	mustRun(t, 0, "baseline", "--quiet", "--db", db, root)
	r := startWatch(t, fanotifyBackend, root, "--db", db)
	in := func(p string) string { return filepath.Join(root, p) }

	// The maintainer script writes, then waits; "; wait" keeps each shell from exec'ing
	// its last command.
	const postinst = `DPKG_MAINTSCRIPT_PACKAGE=hello DPKG_MAINTSCRIPT_NAME=postinst sh -c 'for f; do echo conf > "$f"; done; echo written; exec sleep 600' sh "$@"; wait`
	scriptWriter(t, dpkg, postinst, in("kept.conf"), in("edited.conf"), in("watched.conf"))
	scriptWriter(t, "/bin/sh", `echo plain > "$1"; echo written; exec sleep 600`, in("plain.conf"))
	verdicts := func(evs []watchEvent) map[string]provEvent {
		out := map[string]provEvent{}
		for _, ev := range evs {
			if ev.Type != "remove" {
				p := parseProv(t, ev.raw)[0]
				out[strings.TrimPrefix(ev.Path, root+"/")] = p
			}
		}
		return out
	}
	got := verdicts(r.await("the four writes", func(evs []watchEvent) bool { return len(verdicts(evs)) >= 4 }))
	for _, p := range []string{"kept.conf", "edited.conf", "watched.conf"} {
		if ev := got[p]; ev.Verdict != "script" || !strings.Contains(ev.Reason, "hello's postinst under dpkg") {
			t.Errorf("watch: %s: %+v, want script by hello's postinst", p, ev)
		}
	}
	if ev := got["plain.conf"]; explained(ev.Verdict) {
		t.Errorf("watch: plain.conf: %+v, want unexplained", ev)
	}
	if !strings.Contains(strings.Join(r.seen, "\n"), `"lineage":{"manager":"dpkg"`) {
		t.Errorf("no lineage in the report:\n%s", strings.Join(r.seen, "\n"))
	}

	// An edit the watch sees, by a plain process, is not the script's.
	scriptWriter(t, "/bin/sh", `echo intruder >> "$1"; echo written; exec sleep 600`, in("watched.conf"))
	after := verdicts(r.sync())
	if ev := after["watched.conf"]; ev.Path == "" || explained(ev.Verdict) {
		t.Errorf("watch: watched.conf edited: %+v, want unexplained", ev)
	}
	r.stop(syscall.SIGTERM)
	// One it does not see, neither.
	appendTo(t, in("edited.conf"), "intruder\n")

	out, _, _ := run(t, "check", "--db", db, "--format", "json")
	checked := map[string]provEvent{}
	for _, ev := range parseProv(t, out) {
		checked[strings.TrimPrefix(ev.Path, root+"/")] = ev
	}
	if ev := checked["kept.conf"]; ev.Verdict != "script" || !strings.Contains(ev.Reason, "hello's postinst under dpkg") || !strings.Contains(ev.Reason, "journal") {
		t.Errorf("check: kept.conf: %+v, want script by hello's postinst, from the journal", ev)
	}
	for _, p := range []string{"plain.conf", "edited.conf", "watched.conf"} {
		if ev := checked[p]; ev.Path == "" || explained(ev.Verdict) || ev.Verdict == "script" {
			t.Errorf("check: %s: %+v, want unexplained", p, ev)
		}
	}
	// Without the journal, digests alone: nothing here is a package's.
	must(t, os.Remove(db+".journal"))
	out, _, _ = run(t, "check", "--db", db, "--format", "json")
	for _, ev := range parseProv(t, out) {
		if ev.Verdict == "script" {
			t.Errorf("check without a journal: %+v", ev)
		}
	}
}

// TestScriptVerdictDpkg installs, with the real dpkg, a package whose real postinst
// writes a file no package lists (testdata/fim-script-test), while fim watch watches
// the root's /etc: dpkg runs the script with DPKG_MAINTSCRIPT_PACKAGE and
// DPKG_MAINTSCRIPT_NAME, and the write is script, in the watch and in a check after it.
func TestScriptVerdictDpkg(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello")
	deb := filepath.Join(t.TempDir(), "fim-script-test.deb")
	debtest.Run(t, "dpkg-deb", "--root-owner-group", "--build", "testdata/fim-script-test", deb)
	db := filepath.Join(t.TempDir(), "b.db")
	must(t, os.MkdirAll(filepath.Join(root, "etc", syncDir), 0o755))
	mustRun(t, 0, "baseline", "--quiet", "--db", db, "--root", root, "/etc")
	r := startWatch(t, fanotifyBackend, filepath.Join(root, "etc"), "--db", db)
	debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "-i", deb)...)
	const conf = "/etc/fim-script-test.conf"
	var got provEvent
	r.await(conf, func(evs []watchEvent) bool {
		for _, ev := range evs {
			if ev.Path == conf && ev.File != nil && ev.File.Size > 0 {
				got = parseProv(t, ev.raw)[0]
				return true
			}
		}
		return false
	})
	if got.Verdict != "script" || !strings.Contains(got.Reason, "fim-script-test's postinst under dpkg") {
		t.Errorf("watch: %+v, want script by fim-script-test's postinst", got)
	}
	r.stop(syscall.SIGTERM)
	out, _, _ := run(t, "check", "--db", db, "--format", "json")
	for _, ev := range parseProv(t, out) {
		if ev.Path == conf && (ev.Verdict != "script" || !strings.Contains(ev.Reason, "journal")) {
			t.Errorf("check: %+v, want script from the journal", ev)
		}
	}
	if !strings.Contains(out, conf) {
		t.Errorf("check did not report %s:\n%s", conf, out)
	}
}

// TestWatchUpdateExplained installs a package with the real dpkg under a watched /usr
// while a file no package lists is planted there, with fim watch --update=explained
// keeping the baseline: the baseline takes in what the package manager did, and the
// next check reports the planted file only, still unexplained. A plain --update takes
// in both.
func TestWatchUpdateExplained(t *testing.T) {
	for _, c := range []struct {
		update string
		want   []string
	}{
		{"--update=explained", []string{"create /usr/bin/planted unowned"}},
		{"--update", nil},
	} {
		t.Run(c.update, func(t *testing.T) {
			root := debtest.DpkgRoot(t, "hello")
			deb := debtest.DebCache(t, "hostname")["hostname"]
			db := filepath.Join(t.TempDir(), "b.db")
			must(t, os.MkdirAll(filepath.Join(root, "usr", syncDir), 0o755)) // startWatch's
			time.Sleep(1100 * time.Millisecond)                              // the package log's times are in seconds
			mustRun(t, 0, "baseline", "--quiet", "--db", db, "--root", root, "/usr")
			r := startWatch(t, fanotifyBackend, filepath.Join(root, "usr"), "--db", db, c.update, "--update-every", "100ms")
			debtest.Run(t, "dpkg", debtest.DpkgArgs(root, "--force-depends", "-i", deb)...)
			must(t, os.WriteFile(filepath.Join(root, "usr/bin/planted"), []byte("#!/bin/sh\n"), 0o755))
			seen := map[string]bool{}
			r.await("the planted file and hostname's man page", func(evs []watchEvent) bool {
				for _, ev := range evs {
					seen[ev.Path] = true
				}
				return seen["/usr/bin/planted"] && seen["/usr/share/man/man1/hostname.1.gz"]
			})
			r.stop(syscall.SIGTERM)
			out, _, _ := run(t, "check", "--db", db, "--format", "json")
			var got []string
			for _, ev := range parseProv(t, out) {
				got = append(got, ev.Type+" "+ev.Path+" "+ev.Verdict)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("check after watch %s: %q, want %q", c.update, got, c.want)
			}
		})
	}
}

// TestWatchUpdateExplainedLaundered plants a trojan over a package's binary under fim
// watch --update=explained and then edits the package database to claim the trojan's
// digest, as an intruder would to launder it: the baseline the watch keeps holds the
// trojan out, and the package snapshot sealed with it keeps what the database said
// before, so the next check still finds the binary tampered.
func TestWatchUpdateExplainedLaundered(t *testing.T) {
	for _, c := range []struct {
		name    string
		bin     string   // the binary replaced
		db      string   // the database file edited
		paths   []string // the baseline's
		setup   func(t *testing.T) string
		launder func(t *testing.T, root string, shipped, forged []byte)
	}{
		{
			name: "rpm", bin: "/usr/bin/fimtest", db: "/usr/lib/sysimage/rpm/rpmdb.sqlite", paths: []string{"/usr"},
			setup: func(t *testing.T) string {
				root, _ := debtest.RPMRoot(t, "../../pkgdb/testdata/rpm/fimtest.spec", "/usr/lib/sysimage/rpm")
				return root
			},
			launder: func(t *testing.T, root string, shipped, forged []byte) {
				debtest.ForgeRPMDigest(t, root, "/usr/lib/sysimage/rpm", shipped, forged)
			},
		},
		{
			name: "dpkg", bin: "/usr/bin/hello", db: "/var/lib/dpkg/info/hello.md5sums", paths: []string{"/usr", "/var/lib/dpkg"},
			setup: func(t *testing.T) string {
				root := debtest.DpkgRoot(t, "hello")
				time.Sleep(1100 * time.Millisecond) // the package log's times are in seconds
				return root
			},
			launder: func(t *testing.T, root string, shipped, forged []byte) {
				file := filepath.Join(root, "var/lib/dpkg/info/hello.md5sums")
				sums, err := os.ReadFile(file)
				must(t, err)
				old, sum := md5.Sum(shipped), md5.Sum(forged)
				edited := bytes.Replace(sums, []byte(hex.EncodeToString(old[:])), []byte(hex.EncodeToString(sum[:])), 1)
				if bytes.Equal(edited, sums) {
					t.Fatalf("%s records no MD5 %x", file, old)
				}
				must(t, os.WriteFile(file, edited, 0o644))
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := c.setup(t)
			db := filepath.Join(t.TempDir(), "b.db")
			must(t, os.MkdirAll(filepath.Join(root, "usr", syncDir), 0o755)) // startWatch's
			mustRun(t, 0, append([]string{"baseline", "--quiet", "--db", db, "--root", root}, c.paths...)...)
			r := startWatch(t, fanotifyBackend, filepath.Join(root, "usr"), "--db", db, "--update=explained", "--update-every", "100ms")
			bin := filepath.Join(root, c.bin)
			shipped, err := os.ReadFile(bin)
			must(t, err)
			forged := append(bytes.Clone(shipped), "# trojan\n"...)
			must(t, os.WriteFile(bin, forged, 0o755))
			r.await("the trojan", func(evs []watchEvent) bool {
				return slices.ContainsFunc(evs, func(ev watchEvent) bool { return ev.Path == c.bin })
			})
			time.Sleep(300 * time.Millisecond) // a baseline written with the trojan held out
			c.launder(t, root, shipped, forged)
			r.await("the database edit", func(evs []watchEvent) bool {
				return slices.ContainsFunc(evs, func(ev watchEvent) bool { return ev.Path == c.db })
			})
			time.Sleep(300 * time.Millisecond) // and one written after the edit
			r.stop(syscall.SIGTERM)
			out, _, _ := run(t, "check", "--db", db, "--format", "json")
			got := verdictsOf(t, out)
			if v := got["change "+c.bin]; v != "tampered" {
				t.Errorf("check after the watch: %s is %q, want tampered; all: %v", c.bin, v, got)
			}
		})
	}
}

// TestScriptVerdictGoneWriters runs fim watch while a maintainer script under a
// process named dpkg writes ten files, each by a shell of its own that exits at once,
// as update-alternatives or ldconfig do; then a script that itself exits after its
// writer, under a dpkg that stays. fim reads each event after its writer exited (most
// of the time): the proc connector's tracker places the writer under its parent all
// the same, and every write is script.
func TestScriptVerdictGoneWriters(t *testing.T) {
	mnt := tmpfs(t)
	root := filepath.Join(mnt, "w")
	db := filepath.Join(mnt, "db", "fim.db")
	fstest.Tree{"w/" + syncDir: fstest.Dir(), "db": fstest.Dir()}.Build(t, mnt)
	dpkg := fstest.CopyShell(t, "dpkg") // not on the tmpfs, which is noexec
	mustRun(t, 0, "baseline", "--quiet", "--db", db, root)
	r := startWatch(t, fanotifyBackend, root, "--db", db)
	if !strings.Contains(strings.Join(r.notices(), "\n"), "(fanotify, proc connector)") {
		fstest.Skipf(t, "no proc connector: %q", r.notices())
	}
	in := func(p string) string { return filepath.Join(root, p) }
	const n = 10
	var files, orphans []string
	for i := range n {
		files = append(files, in(fmt.Sprintf("f%d.conf", i)))
		orphans = append(orphans, in(fmt.Sprintf("o%d.conf", i)))
	}
	// Each file by a shell that writes and exits; "; wait" keeps each shell from
	// exec'ing its last command.
	const postinst = `DPKG_MAINTSCRIPT_PACKAGE=hello DPKG_MAINTSCRIPT_NAME=postinst sh -c 'for f; do sh -c "echo conf > \"\$1\"" sh "$f"; wait; done; echo written; exec sleep 600' sh "$@"; wait`
	scriptWriter(t, dpkg, postinst, files...)
	// The script exits with its writer; dpkg stays.
	const orphan = `for f; do sh -c 'sh -c "echo conf > \"\$1\"" sh "$1"; wait' sh "$f"; wait; done; echo written; sleep 600; wait`
	scriptWriter(t, dpkg, orphan, orphans...)
	got := map[string]watchEvent{}
	r.await("the writes", func(evs []watchEvent) bool {
		for _, ev := range evs {
			if ev.Type != "remove" {
				got[ev.Path] = ev
			}
		}
		return len(got) >= 2*n
	})
	gone := 0
	for _, f := range append(files, orphans...) {
		ev, ok := got[f]
		if !ok {
			t.Errorf("%s: no event", f)
			continue
		}
		if ev.Process != nil && ev.Process.Gone {
			gone++
		}
		p := parseProv(t, ev.raw)[0]
		want := []string{"written by hello's postinst under dpkg"}
		if strings.HasPrefix(filepath.Base(f), "o") {
			// The script's environment died with it, and its name is known only when
			// the tracker read it at the exec, before the script exited.
			want = []string{"written by sh under dpkg", "written by dpkg"}
		}
		if p.Verdict != "script" || !slices.Contains(want, p.Reason) {
			t.Errorf("%s: %s %q, want script %q: %s", f, p.Verdict, p.Reason, want, ev.raw)
		}
	}
	t.Logf("%d of %d writers had exited when fim read their event", gone, 2*n)
}
