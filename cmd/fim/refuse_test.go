package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fim/baseline"
	"fim/internal/fstest"
	"fim/tree"
)

// TestNoEmptyBaseline: every way of writing a baseline that would record nothing is
// refused with one line and fim's exit code, and leaves the baseline it would have
// replaced byte for byte as it was, with no temporary file beside it.
func TestNoEmptyBaseline(t *testing.T) {
	for _, c := range []struct {
		name  string
		args  func(t *testing.T, tmp, root string) []string // after removing nothing, or what the case removes
		code  int
		wants []string
	}{
		{"an empty mtree spec", func(t *testing.T, tmp, root string) []string {
			spec := filepath.Join(tmp, "spec")
			f, err := os.Create(spec)
			must(t, err)
			defer f.Close()
			if _, err := exec.LookPath("mtree"); err == nil {
				cmd := exec.Command("mtree", "-c", "-p", filepath.Join(tmp, "nonexistent")) // fails: mtree -c > spec
				cmd.Stdout = f
				if cmd.Run() == nil {
					t.Fatal("mtree -c of a missing directory succeeded")
				}
			}
			return []string{"baseline", "--from-mtree", spec}
		}, 18, []string{"spec: no entries: an empty specification"}},
		{"a path that does not exist", func(t *testing.T, tmp, root string) []string {
			return []string{"baseline", filepath.Join(tmp, "nonexistent")}
		}, 17, []string{"baseline not written", "unchanged", "no entries"}},
		{"an empty tar", func(t *testing.T, tmp, root string) []string {
			img := filepath.Join(tmp, "empty.tar")
			if out, err := exec.Command("tar", "-cf", img, "-T", "/dev/null").CombinedOutput(); err != nil {
				t.Fatalf("tar: %v\n%s", err, out)
			}
			return []string{"baseline", "--from-tar", img}
		}, 18, []string{"empty.tar: empty archive: no member to record"}},
		{"a tar of hostile members only", func(t *testing.T, tmp, root string) []string {
			img := filepath.Join(tmp, "evil.tar")
			must(t, os.WriteFile(img, makeTar(t, []tarMember{
				{name: "../escape", typ: tar.TypeReg, mode: 0o644, body: "x"},
				{name: "hard", typ: tar.TypeLink, link: "../../etc/shadow"},
			}, false), 0o644))
			return []string{"baseline", "--from-tar", img}
		}, 18, []string{"evil.tar: no member to record: every member of the archive (2) was skipped"}},
		{"a tar without the path asked for", func(t *testing.T, tmp, root string) []string {
			img := filepath.Join(tmp, "img.tar")
			must(t, os.WriteFile(img, makeTar(t, []tarMember{{name: "usr/f", typ: tar.TypeReg, mode: 0o644, body: "x"}}, false), 0o644))
			return []string{"baseline", "--from-tar", img, "/etc"}
		}, 17, []string{"no entries"}},
		{"check --update of a removed tree", func(t *testing.T, tmp, root string) []string {
			must(t, os.RemoveAll(root))
			return []string{"check", "--update"}
		}, 17, []string{"baseline not updated", "no entries"}},
		{"accept of a removed tree", func(t *testing.T, tmp, root string) []string {
			must(t, os.RemoveAll(root))
			return []string{"accept", "--path", "**"}
		}, 17, []string{"baseline not updated", "no entries"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
			fstest.Tree{"a": fstest.File("a"), "d/b": fstest.File("b")}.Build(t, root)
			mustRun(t, 0, "baseline", "--db", db, root)
			before, err := os.ReadFile(db)
			must(t, err)
			args := c.args(t, tmp, root)
			args = append([]string{args[0], "--db", db}, args[1:]...)
			_, stderr, code := run(t, args...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			last := lines[len(lines)-1]
			if code != c.code {
				t.Errorf("fim %s: exit %d, want %d\n%s", strings.Join(args, " "), code, c.code, stderr)
			}
			for _, w := range c.wants {
				if !strings.Contains(last, w) {
					t.Errorf("error %q does not say %q", last, w)
				}
			}
			after, err := os.ReadFile(db)
			must(t, err)
			if !bytes.Equal(after, before) {
				t.Errorf("%s changed", db)
			}
			if _, prefix := baseline.TempPattern(db); true {
				if left, _ := filepath.Glob(prefix + "*"); len(left) > 0 {
					t.Errorf("temporary files left: %v", left)
				}
			}
		})
	}
}

// TestFromTarCut: an image cut short, plain or gzipped, is refused with one line naming
// the file, and the baseline stays as it was.
func TestFromTarCut(t *testing.T) {
	tmp := t.TempDir()
	db := filepath.Join(tmp, "fim.db")
	whole := makeTar(t, []tarMember{
		{name: "./", typ: tar.TypeDir, mode: 0o755},
		{name: "etc/passwd", typ: tar.TypeReg, mode: 0o644, body: "root:x:0:0::/:/bin/sh\n"},
		{name: "zeros", typ: tar.TypeReg, mode: 0o644, body: string(make([]byte, 2048))},
	}, false)
	img := filepath.Join(tmp, "image.tar")
	must(t, os.WriteFile(img, whole, 0o644))
	mustRun(t, 0, "baseline", "--from-tar", img, "--db", db)
	before, err := os.ReadFile(db)
	must(t, err)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(whole[:len(whole)-1024])
	zw.Close()
	for name, data := range map[string][]byte{
		"at the end-of-archive marker": whole[:len(whole)-1024],
		"inside the marker":            whole[:len(whole)-512],
		"after a member of zeros":      whole[:len(whole)-1024-512],
		"gzipped, without the marker":  gz.Bytes(),
	} {
		cut := filepath.Join(tmp, "cut.tar")
		must(t, os.WriteFile(cut, data, 0o644))
		_, stderr, code := run(t, "baseline", "--from-tar", cut, "--db", db)
		if code != 18 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, cut+": ") ||
			!strings.Contains(stderr, "truncated") {
			t.Errorf("%s: exit %d, %q; want 18 and one line naming %s, saying it is truncated", name, code, stderr, cut)
		}
		if after, _ := os.ReadFile(db); !bytes.Equal(after, before) {
			t.Errorf("%s: %s changed", name, db)
		}
	}
}

// TestFromTarExabyte: a gzipped image of a few hundred bytes holding a sparse member of
// 2^60 bytes is recorded in bounded time, the member too large to hash: with a warning
// once the holes it would hash go over the budget, silently when --max-file-size says so.
func TestFromTarExabyte(t *testing.T) {
	img, err := filepath.Abs(filepath.Join("..", "..", "tarball", "testdata", "exabyte.tar.gz")) // tarball's tests write it
	must(t, err)
	for _, c := range []struct {
		args []string
		warn bool
	}{
		{nil, true},
		{[]string{"--max-file-size", "1G"}, false},
	} {
		db := filepath.Join(t.TempDir(), "fim.db")
		_, stderr := mustRun(t, 0, append([]string{"baseline", "--from-tar", img, "--db", db}, c.args...)...)
		if got := strings.Contains(stderr, "/big: sparse member of 1152921504606846976 bytes with holes over the budget"); got != c.warn {
			t.Errorf("%q: warning %v, want %v:\n%s", c.args, got, c.warn, stderr)
		}
		r, err := baseline.Open(db)
		must(t, err)
		e, err := r.Get("/big")
		r.Close()
		if err != nil || e == nil || e.Flags&tree.FlagTooLarge == 0 || e.Hashed() || e.Size != 1<<60 {
			t.Errorf("%q: /big recorded as %+v (%v), want 2^60 bytes, too large, not hashed", c.args, e, err)
		}
	}
}
