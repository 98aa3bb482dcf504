package provenance

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"fim/diff"
	"fim/internal/debtest"
	"fim/tree"
)

// TestVerifyLikeDpkg installs real packages with the real dpkg, changes what an
// administrator and an intruder would (a package file rewritten, one removed, a
// listed directory removed with its files, a conffile edited, a file diverted aside
// by another package), and checks that Verify finds what dpkg --verify finds of the
// same root, each with its verdict; and, given paths, only what is below them.
func TestVerifyLikeDpkg(t *testing.T) {
	root := debtest.DpkgRoot(t, "hello", "hostname", "libsensors-config")
	at := func(p string) string { return filepath.Join(root, p) }
	if err := os.WriteFile(at("usr/share/doc/hello/copyright"), []byte("not hello's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"usr/share/man/man1/hello.1.gz", "usr/share/doc/libsensors-config"} {
		if err := os.RemoveAll(at(p)); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.OpenFile(at("etc/sensors3.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("# edited\n")
	f.Close()
	debtest.Run(t, "dpkg-divert", "--root="+root, "--package", "hello", "--rename",
		"--divert", "/usr/share/doc/hostname/copyright.distrib", "--add", "/usr/share/doc/hostname/copyright")

	events, err := Verify(context.Background(), VerifyOptions{Root: root, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	verdicts := map[string]diff.Verdict{}
	for _, ev := range events {
		got = append(got, ev.Kind.String()+" "+ev.Path)
		verdicts[ev.Path] = ev.Verdict
		if ev.Package == nil {
			t.Errorf("%s: no package", ev.Path)
		}
	}
	// dpkg --verify: "missing   [c] PATH" or "??5??????  [c] PATH".
	var want []string
	out := debtest.Run(t, "dpkg", "--root="+root, "--verify")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		fields := strings.Fields(line)
		kind := "change"
		if fields[0] == "missing" {
			kind = "remove"
		}
		want = append(want, kind+" "+fields[len(fields)-1])
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || len(want) < 5 {
		t.Errorf("Verify found\n%s\ndpkg --verify\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for p, v := range map[string]diff.Verdict{
		"/usr/share/doc/hello/copyright":             diff.VerdictMismatch,
		"/usr/share/man/man1/hello.1.gz":             diff.VerdictMissing,
		"/etc/sensors3.conf":                         diff.VerdictConffile,
		"/usr/share/doc/libsensors-config":           diff.VerdictMissing,
		"/usr/share/doc/libsensors-config/copyright": diff.VerdictMissing,
	} {
		if verdicts[p] != v {
			t.Errorf("%s: %q, want %q", p, verdicts[p], v)
		}
	}

	below, err := Verify(context.Background(), VerifyOptions{Root: root, Paths: []string{"/usr/share/man", "/etc"}})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, ev := range below {
		paths = append(paths, ev.Path)
	}
	if want := []string{"/etc/sensors3.conf", "/usr/share/man/man1/hello.1.gz"}; !slices.Equal(paths, want) {
		t.Errorf("below /usr/share/man and /etc: %v, want %v", paths, want)
	}
}

// TestVerifyRPMSignature installs a package signed with a throwaway key, with the real
// gpg, rpmsign and rpm, into a root that imports the key, edits a file digest in its
// header, and checks that Verify reports every file of the package tampered, without
// a baseline and with one whose entries say the files matched.
func TestVerifyRPMSignature(t *testing.T) {
	const dbpath = "/usr/lib/sysimage/rpm"
	key := debtest.NewGPGKey(t, "ed25519")
	signed := debtest.RPMSign(t, debtest.RPMBuild(t, "../pkgdb/testdata/rpm/fimtest.spec"), key)
	root := t.TempDir()
	debtest.Run(t, "rpm", debtest.RPMArgs(root, dbpath, "--initdb")...)
	debtest.Run(t, "rpm", debtest.RPMArgs(root, dbpath, "--import", key.Public)...)
	debtest.Run(t, "rpm", debtest.RPMArgs(root, dbpath, "-i", "--nodeps", "--noscripts", signed)...)

	var mu sync.Mutex
	verified := map[string]*tree.Entry{}
	events, err := Verify(context.Background(), VerifyOptions{Root: root, Matched: func(p string, e *tree.Entry) {
		mu.Lock()
		defer mu.Unlock()
		e.Flags |= tree.FlagPackageVerified
		verified[p] = e
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if ev.Verdict == diff.VerdictTampered {
			t.Errorf("untouched: %s %s (%s)", ev.Path, ev.Verdict, ev.Reason)
		}
	}
	if verified["/usr/bin/fimtest"] == nil {
		t.Fatalf("/usr/bin/fimtest did not match: %v", events)
	}

	debtest.ForgeRPMDigest(t, root, dbpath, []byte("#!/bin/sh\necho fimtest\n"), []byte("#!/bin/sh\necho trojan\n"))
	prior := func() func(string) *tree.Entry { return func(p string) *tree.Entry { return verified[p] } }
	for _, o := range []VerifyOptions{{Root: root}, {Root: root, Prior: prior}} {
		events, err := Verify(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]diff.Event{}
		for _, ev := range events {
			got[ev.Path] = ev
		}
		for _, p := range []string{"/usr/bin/fimtest", "/etc/fimtest/main.conf", "/usr/bin/fimtest-link", "/etc/fimtest"} {
			ev := got[p]
			if ev.Verdict != diff.VerdictTampered || !strings.HasPrefix(ev.Reason, "rpm header signature does not verify: key ID "+key.ID) ||
				ev.Package == nil || ev.Package.Name != "fimtest" {
				t.Errorf("baseline %v: %s: %s (%s) %+v, want tampered", o.Prior != nil, p, ev.Verdict, ev.Reason, ev.Package)
			}
		}
	}
}
