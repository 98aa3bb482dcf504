package main

import (
	"fim/internal/fstest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestExplain asks about paths of every fate under a configuration, and checks each
// answer against the baseline that configuration records: a path said to be monitored
// that exists is recorded, and one said not to be is not.
func TestExplain(t *testing.T) {
	tmp := t.TempDir()
	root := filepath.Join(tmp, "t")
	fstest.Tree{
		"small":      fstest.File("1234"),
		"big":        fstest.File("12345"),
		"x.swp":      fstest.File(""),
		"a.tmp":      fstest.File(""),
		"d1/d2/f":    fstest.File(""),
		"d1/d3/f":    fstest.File(""),
		".hid/f":     fstest.File(""),
		"ln":         fstest.Link("d1"),
		"var/fim.db": fstest.File(""),
	}.Build(t, root)
	cfg := root + ".yaml"
	must(t, os.WriteFile(cfg, []byte(strings.ReplaceAll(`db: $T/var/fim.db
exclude:
  - "**/*.tmp"
paths:
  - path: $T
    max_depth: 2
    max_file_size: 4
    include_hidden: false
    exclude: ["**/*.swp"]
    ignore: [mtime]
  - path: $T/d1/d2
    events: [create, remove]
    growing: true
`, "$T", root)), 0o644))
	db := filepath.Join(root, "var/fim.db")
	mustRun(t, 0, "baseline", "--config", cfg)

	const rule = "rule:     $T ($T.yaml:5)" // the configuration is t.yaml beside the tree
	tests := []struct {
		path string
		code int
		want []string // lines or parts of lines of the answer, "$T" for the tree
	}{
		{"$T/small", 0, []string{"$T/small: monitored", rule, "depth:    1 below $T (max_depth: 2)",
			"content:  4 bytes, within max_file_size 4: recorded with its hash", "reports:  all; ignores: mtime"}},
		{"$T/big", 0, []string{"$T/big: monitored", rule, "content:  5 bytes, more than max_file_size 4: recorded without its hash"}},
		{"$T/x.swp", 1, []string{"$T/x.swp: not monitored", rule, "why:      $T/x.swp matches exclude pattern '**/*.swp' (the rule's)"}},
		{"$T/a.tmp", 1, []string{"$T/a.tmp: not monitored", "why:      $T/a.tmp matches exclude pattern '**/*.tmp' (the exclude of every path)"}},
		{"$T/d1/d3/f", 1, []string{"$T/d1/d3/f: not monitored", "why:      $T/d1/d3/f is 3 levels below $T, deeper than max_depth 2"}},
		{"$T/d1/d3", 0, []string{"$T/d1/d3: monitored", "entered:  no: at max_depth 2; recorded itself"}},
		{"$T/d1/d2/f", 0, []string{"$T/d1/d2/f: monitored", "rule:     $T/d1/d2 ($T.yaml:11)", "reports:  create, remove; ignores: (none)",
			"growing:  a log: not reported when it only grew"}},
		{"$T/.hid/f", 1, []string{"$T/.hid/f: not monitored", "why:      $T/.hid is hidden (include_hidden: no)"}},
		{"$T/.hid", 1, []string{"why:      $T/.hid is hidden"}},
		{"$T/ln", 0, []string{"$T/ln: monitored", "symlink:  to d1: recorded as the link itself (follow_symlinks: no)"}},
		{"$T/ln/d2", 1, []string{"$T/ln/d2: not monitored", "why:      $T/ln is a symlink (follow_symlinks: no)"}},
		{"$T/missing", 0, []string{"$T/missing: monitored", "now:      does not exist; its creation would be reported"}},
		{"$T/var/fim.db", 1, []string{"$T/var/fim.db: not monitored", "why:      fim's own file"}},
		{tmp, 1, []string{tmp + ": not monitored", "why:      below no configured path"}},
		{"/", 1, []string{"/: not monitored", "why:      below no configured path"}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "$T/"), func(t *testing.T) {
			p := strings.ReplaceAll(tt.path, "$T", root)
			out := mustOut(t, tt.code, "explain", "--config", cfg, "--db", db, p)
			for _, w := range tt.want {
				if w = strings.ReplaceAll(w, "$T", root); !strings.Contains(out, w) {
					t.Errorf("no %q in:\n%s", w, out)
				}
			}
			// The walk agrees: what is monitored and exists is recorded, nothing else.
			_, err := os.Lstat(p)
			recorded := strings.Contains(out, "\n  recorded: ") && !strings.Contains(out, "recorded: nothing")
			if want := tt.code == 0 && err == nil; recorded != want {
				t.Errorf("recorded in the baseline: %v, want %v:\n%s", recorded, want, out)
			}
			if recorded && !strings.HasSuffix(out, "  "+p+"\n") && !strings.Contains(out, "  "+p+" -> ") {
				t.Errorf("the record shown is not that of %s:\n%s", p, out)
			}
		})
	}

	// Without --config, the options are the baseline's, and so is the decision.
	out := mustOut(t, 1, "explain", "--db", db, filepath.Join(root, "x.swp"))
	if !strings.Contains(out, "rule:     "+root+" (the baseline's options)") || !strings.Contains(out, "exclude pattern '**/*.swp'") {
		t.Errorf("from the baseline:\n%s", out)
	}
	// Only --config: no record.
	out = mustOut(t, 0, "explain", "--config", cfg, filepath.Join(root, "small"))
	if strings.Contains(out, "recorded:") {
		t.Errorf("--config alone shows a record:\n%s", out)
	}

	for _, args := range [][]string{{}, {"a", "b"}, {"a", "--bogus", "--db", db}, {"--config", cfg + ".missing", "a"}} {
		_, stderr := mustRun(t, 16, append([]string{"explain"}, args...)...)
		if strings.Count(stderr, "\n") != 1 {
			t.Errorf("explain %q: stderr %q", args, stderr)
		}
	}
	mustRun(t, 17, "explain", "--db", db+".missing", "a")
}

// TestExplainRoot asks about a path recorded under --root: PATH is the recorded path.
func TestExplainRoot(t *testing.T) {
	tmp := t.TempDir()
	image, db := filepath.Join(tmp, "rootfs"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"etc/passwd": fstest.File("root:x:0:0::/root:/bin/sh\n"), "etc/.pwd.lock": fstest.File("")}.Build(t, image)
	mustRun(t, 0, "baseline", "--db", db, "--root", image, "--no-hidden", "/etc")
	out := mustOut(t, 0, "explain", "--db", db, "/etc/passwd")
	if !strings.HasPrefix(out, "/etc/passwd: monitored\n") || !strings.Contains(out, "recorded: -rw-r--r--") {
		t.Errorf("under a root:\n%s", out)
	}
	mustRun(t, 1, "explain", "--db", db, "etc/.pwd.lock")
}

// TestExplainMount asks about a mount point and what is below it: the walk records the
// one and does not enter it.
func TestExplainMount(t *testing.T) {
	fstest.RequireRoot(t)
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"a": fstest.File("a")}.Build(t, root)
	mnt := filepath.Join(root, "mnt")
	must(t, os.Mkdir(mnt, 0o755))
	if err := unix.Mount("fim-test", mnt, "tmpfs", 0, "size=1m,mode=0755"); err != nil {
		fstest.Skipf(t, "mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	must(t, os.WriteFile(filepath.Join(mnt, "f"), []byte("x"), 0o644))
	mustRun(t, 0, "baseline", "--db", db, root)

	out := mustOut(t, 0, "explain", "--db", db, mnt)
	if !strings.Contains(out, "entered:  no: another filesystem is mounted here (cross_mounts: no)") ||
		!strings.Contains(out, "recorded: drwxr-xr-x") {
		t.Errorf("mount point:\n%s", out)
	}
	out = mustOut(t, 1, "explain", "--db", db, filepath.Join(mnt, "f"))
	if !strings.Contains(out, "why:      on another filesystem than "+root+", below the mount point "+mnt+" (cross_mounts: no)") ||
		!strings.Contains(out, "recorded: nothing") {
		t.Errorf("below the mount point:\n%s", out)
	}
}

// TestExplainTransit: a directory at max_depth on the way to a path configured below
// it is entered, because the walk enters it: explain says what the walk does.
func TestExplainTransit(t *testing.T) {
	root := filepath.Join(t.TempDir(), "t")
	fstest.Tree{"a/b/f": fstest.File(""), "c/f": fstest.File("")}.Build(t, root)
	cfg := root + ".yaml"
	must(t, os.WriteFile(cfg, []byte(strings.ReplaceAll("paths:\n  - path: $T\n    max_depth: 1\n  - path: $T/a/b\n", "$T", root)), 0o644))
	for p, want := range map[string]string{
		"a": "entered:  yes",
		"c": "entered:  no: at max_depth 1; recorded itself",
	} {
		if out := mustOut(t, 0, "explain", "--config", cfg, filepath.Join(root, p)); !strings.Contains(out, want) {
			t.Errorf("%s: no %q in:\n%s", p, want, out)
		}
	}
}
