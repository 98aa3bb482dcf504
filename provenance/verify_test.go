package provenance

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fim/diff"
	"fim/internal/debtest"
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
