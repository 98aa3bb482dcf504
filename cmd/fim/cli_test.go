package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fim/internal/fstest"
	"fim/report"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// These tests run the fim binary, built once by TestMain, on real trees in temporary
// directories. Tests that need root (chown, mknod, mount, running as another user)
// skip without it, unless FIM_REQUIRE_ROOT=1 makes every skip a failure.

// fimBin is the binary under test.
var fimBin string

func TestMain(m *testing.M) {
	flag.Parse()
	syscall.Umask(0o022) // modes in the trees and the golden files
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" || os.Getenv("FIM_TEST_PANIC") == "1" {
		// A fuzzing worker runs only fuzz targets, which call fim in process, and is
		// killed when fuzzing ends; TestPanicExitCode's child exits from its panic:
		// neither builds what it could not remove.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "fim-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The binary must be reachable by the unprivileged user of TestUnreadable.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fimBin = filepath.Join(dir, "fim")
	build := exec.Command("go", "build", "-buildvcs=false", "-o", fimBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build fim:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs fim with args and returns its output and exit code.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runAs(t, nil, args...)
}

// runAs runs fim as the user of cred (nil: as the test).
func runAs(t *testing.T, cred *syscall.Credential, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runIn(t, cred, os.TempDir(), nil, args...)
}

// runIn runs fim as the user of cred (nil: as the test) in the directory dir, with env
// added to the environment.
func runIn(t *testing.T, cred *syscall.Credential, dir string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, fimBin, args...)
	cmd.Dir = dir
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "FIM_DB=") || strings.HasPrefix(kv, "NO_COLOR=")
	}), "NO_COLOR=1")
	cmd.Env = append(cmd.Env, env...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("fim %s: timed out (blocked?); stderr:\n%s", strings.Join(args, " "), errOut.String())
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("fim %s: %v", strings.Join(args, " "), err)
	}
	for _, line := range strings.Split(errOut.String(), "\n") {
		if w := stutter(line); w != "" {
			t.Errorf("fim %s: %q says %q twice in a row", strings.Join(args, " "), line, w)
		}
	}
	return out.String(), errOut.String(), code
}

// stutter returns the word that two consecutive prefixes of a message begin with, as
// "output" in "fim: output: output: POST …" or "--output: output \"x\": …", or "".
func stutter(line string) string {
	parts := strings.Split(line, ": ")
	first := func(s string) string {
		s = strings.TrimLeft(s, "-")
		if i := strings.IndexAny(s, " ="); i >= 0 {
			s = s[:i]
		}
		return strings.ToLower(s)
	}
	for i := 1; i < len(parts)-1; i++ {
		if w := first(parts[i]); w != "" && w == first(parts[i-1]) {
			return w
		}
	}
	return ""
}

// mustRun runs fim and fails the test unless it exits with want.
func mustRun(t *testing.T, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, code := run(t, args...)
	if code != want {
		t.Fatalf("fim %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout, stderr)
	}
	return stdout, stderr
}

// jsonEvent is what the tests read of one line of `fim check --format json`.
type jsonEvent struct {
	Type       string   `json:"type"`
	Path       string   `json:"path"`
	PathB64    string   `json:"path_b64"`
	OldPath    string   `json:"old_path"`
	OldPathB64 string   `json:"old_path_b64"`
	Changed    []string `json:"changed"`
	Severity   string   `json:"severity"`
	Reasons    []string `json:"reasons"`
}

// exactPath returns the exact bytes of a path field, from its _b64 twin when present.
func exactPath(t *testing.T, s, b64 string) string {
	t.Helper()
	if b64 == "" {
		return s
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("bad base64 %q: %v", b64, err)
	}
	return string(raw)
}

// parseJSON decodes the lines of --format json output, each checked against the
// format's schema.
func parseJSON(t *testing.T, out string) []jsonEvent {
	t.Helper()
	validLines(t, "json", out)
	var events []jsonEvent
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var ev jsonEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("bad json line %q: %v", sc.Text(), err)
		}
		if ev.Changed == nil {
			t.Errorf("event without a changed list: %s", sc.Text())
		}
		events = append(events, ev)
	}
	return events
}

// validLines checks every line of a line format's output against the format's schema.
func validLines(t *testing.T, format, out string) {
	t.Helper()
	schema, err := report.Schema(format)
	must(t, err)
	if err := fstest.NewSchema(t, schema).Lines([]byte(out)); err != nil {
		t.Errorf("not valid against fim's %s schema: %v", format, err)
	}
}

// summarize renders events as "type path [<- old_path] [changed,...]" with the tree
// root replaced by "T", for comparison with the wanted events.
func summarize(t *testing.T, events []jsonEvent, root string) []string {
	t.Helper()
	rel := func(p string) string {
		if p == root {
			return "T"
		}
		if r, ok := strings.CutPrefix(p, root+"/"); ok {
			return "T/" + r
		}
		return p
	}
	out := make([]string, 0, len(events))
	for _, ev := range events {
		s := ev.Type + " " + rel(exactPath(t, ev.Path, ev.PathB64))
		if ev.OldPath != "" {
			s += " <- " + rel(exactPath(t, ev.OldPath, ev.OldPathB64))
		}
		if len(ev.Changed) > 0 {
			s += " [" + strings.Join(ev.Changed, ",") + "]"
		}
		out = append(out, s)
	}
	return out
}

func wantEvents(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("events:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// checkJSON runs `fim check --format json` and returns its events, summarized.
func checkJSON(t *testing.T, root string, wantCode int, args ...string) []string {
	t.Helper()
	stdout, _ := mustRun(t, wantCode, append([]string{"check", "--format", "json"}, args...)...)
	return summarize(t, parseJSON(t, stdout), root)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// manyFiles is a tree of n small files in dir.
func manyFiles(dir string, n int) fstest.Tree {
	tr := fstest.Tree{}
	for i := range n {
		tr[fmt.Sprintf("%s/f%04d", dir, i)] = fstest.File(fmt.Sprint(i))
	}
	return tr
}

// rewriteKeepTimes rewrites a file with content of the same size and puts its mtime back.
func rewriteKeepTimes(t *testing.T, path, content string) {
	t.Helper()
	st, err := os.Stat(path)
	must(t, err)
	if int64(len(content)) != st.Size() {
		t.Fatalf("%s: %d bytes, rewritten with %d", path, st.Size(), len(content))
	}
	must(t, os.WriteFile(path, []byte(content), 0))
	must(t, os.Chtimes(path, time.Time{}, st.ModTime()))
}

// replaceWith makes an entry with mk in a scratch directory and renames it over path,
// so that it is sure to get another inode number.
func replaceWith(t *testing.T, path string, mk fstest.Item) {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), "new")
	mk.Create(t, tmp)
	if st, err := os.Lstat(tmp); err == nil && st.IsDir() {
		must(t, os.Remove(path)) // a directory cannot replace a file by rename
	}
	must(t, os.Rename(tmp, path))
}

// cliCase is one scenario: a tree, a baseline, a change, a check.
type cliCase struct {
	name  string
	tree  fstest.Tree
	root  bool                     // needs root
	setup func(*testing.T, string) // after the tree is built, before the baseline
	// baseline is the flags of fim baseline, before the tree's path; "$T" stands for
	// the tree's root.
	baseline []string
	// config, if set, is a configuration file ("$T" for the root) given to fim
	// baseline instead of the tree's path.
	config string
	check  []string // flags of fim check
	mutate func(t *testing.T, root string)
	want   []string // events, as summarize renders them
	code   int
}

func expand(args []string, root string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "$T", root)
	}
	return out
}

func (c *cliCase) run(t *testing.T) {
	if c.root {
		fstest.RequireRoot(t)
	}
	tmp := t.TempDir()
	root := filepath.Join(tmp, "t")
	db := filepath.Join(tmp, "fim.db")
	c.tree.Build(t, root)
	if c.setup != nil {
		c.setup(t, root)
	}
	args := append([]string{"baseline", "--db", db}, expand(c.baseline, root)...)
	if c.config != "" {
		cfg := filepath.Join(tmp, "fim.yaml")
		must(t, os.WriteFile(cfg, []byte(strings.ReplaceAll(c.config, "$T", root)), 0o644))
		args = append(args, "--config", cfg)
	} else {
		args = append(args, root)
	}
	mustRun(t, 0, args...)
	if c.mutate != nil {
		c.mutate(t, root)
	}
	got := checkJSON(t, root, c.code, append([]string{"--db", db}, expand(c.check, root)...)...)
	wantEvents(t, got, c.want...)
}

func TestCheck(t *testing.T) {
	basic := fstest.Tree{"a": fstest.File("hello\n"), "b": fstest.File("bravo\n"), "sub/c": fstest.File("charlie\n"), "l": fstest.Link("a")}
	mount := func(t *testing.T, root string) {
		p := filepath.Join(root, "mnt")
		must(t, os.Mkdir(p, 0o755))
		if err := unix.Mount("fim-test", p, "tmpfs", 0, "size=1m,mode=0755"); err != nil {
			fstest.Skipf(t, "mount tmpfs: %v", err)
		}
		t.Cleanup(func() {
			if err := unix.Unmount(p, unix.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", p, err)
			}
		})
		must(t, os.WriteFile(filepath.Join(p, "f"), []byte("x"), 0o644))
	}
	cases := []cliCase{
		{
			name: "no change",
			tree: basic,
		},
		{
			name:   "create file",
			tree:   basic,
			mutate: func(t *testing.T, root string) { must(t, os.WriteFile(root+"/sub/new", []byte("new"), 0o644)) },
			want:   []string{"create T/sub/new"},
			code:   1,
		},
		{
			name:   "remove file",
			tree:   basic,
			mutate: func(t *testing.T, root string) { must(t, os.Remove(root+"/sub/c")) },
			want:   []string{"remove T/sub/c"},
			code:   2,
		},
		{
			name:   "content change",
			tree:   basic,
			mutate: func(t *testing.T, root string) { must(t, os.WriteFile(root+"/a", []byte("hello, world\n"), 0)) },
			want:   []string{"change T/a [content,size,mtime,ctime]"},
			code:   4,
		},
		{
			name:   "content changed with size and mtime restored",
			tree:   basic,
			mutate: func(t *testing.T, root string) { rewriteKeepTimes(t, root+"/a", "HELLO\n") },
			want:   []string{"change T/a [content,ctime]"},
			code:   4,
		},
		{
			name:   "setuid added",
			tree:   basic,
			mutate: func(t *testing.T, root string) { must(t, os.Chmod(root+"/a", 0o755|os.ModeSetuid)) },
			want:   []string{"chmod T/a [mode,ctime]"},
			code:   4,
		},
		{
			name:   "owner changed",
			tree:   basic,
			root:   true,
			mutate: func(t *testing.T, root string) { must(t, os.Lchown(root+"/a", 1234, -1)) },
			want:   []string{"chmod T/a [uid,ctime]"},
			code:   4,
		},
		{
			name: "xattr added",
			tree: basic,
			mutate: func(t *testing.T, root string) {
				if err := unix.Setxattr(root+"/a", "user.x", []byte("1"), 0); err != nil {
					fstest.Skipf(t, "user xattrs: %v", err)
				}
			},
			want: []string{"chmod T/a [xattrs,ctime]"},
			code: 4,
		},
		{
			name: "file capability added",
			tree: basic,
			root: true,
			mutate: func(t *testing.T, root string) {
				setcap, err := exec.LookPath("setcap")
				if err != nil {
					fstest.Skipf(t, "no setcap (apt-get install libcap2-bin)")
				}
				if out, err := exec.Command(setcap, "cap_net_raw+ep", root+"/a").CombinedOutput(); err != nil {
					t.Fatalf("setcap: %v: %s", err, out)
				}
			},
			want: []string{"chmod T/a [xattrs,ctime]"},
			code: 4,
		},
		{
			name:   "file replaced by a symlink",
			tree:   basic,
			mutate: func(t *testing.T, root string) { replaceWith(t, root+"/a", fstest.Link("b")) },
			want:   []string{"change T/a [type,size,link_target,mtime,mode,ctime,inode]"},
			code:   4,
		},
		{
			name:   "file replaced by a directory",
			tree:   basic,
			mutate: func(t *testing.T, root string) { replaceWith(t, root+"/a", fstest.Dir()) },
			want:   []string{"change T/a [type,size,mtime,mode,ctime,inode,nlink]"},
			code:   4,
		},
		{
			name:   "symlink target changed",
			tree:   basic,
			mutate: func(t *testing.T, root string) { replaceWith(t, root+"/l", fstest.Link("sub/c")) },
			want:   []string{"change T/l [size,link_target,mtime,ctime,inode]"},
			code:   4,
		},
		{
			name:   "rename in the same directory",
			tree:   basic,
			mutate: func(t *testing.T, root string) { must(t, os.Rename(root+"/a", root+"/z")) },
			want:   []string{"rename T/z <- T/a"},
			code:   4,
		},
		{
			name:   "move to another directory",
			tree:   basic,
			mutate: func(t *testing.T, root string) { must(t, os.Rename(root+"/a", root+"/sub/a")) },
			want:   []string{"move T/sub/a <- T/a"},
			code:   4,
		},
		{
			name:   "directory of 1000 files renamed",
			tree:   manyFiles("big", 1000),
			mutate: func(t *testing.T, root string) { must(t, os.Rename(root+"/big", root+"/big2")) },
			want:   []string{"rename T/big2 <- T/big"},
			code:   4,
		},
		{
			name: "directory of 1000 files moved",
			tree: func() fstest.Tree { tr := manyFiles("big", 1000); tr["other"] = fstest.Dir(); return tr }(),
			mutate: func(t *testing.T, root string) {
				must(t, os.Rename(root+"/big", root+"/other/big"))
			},
			want: []string{"move T/other/big <- T/big"},
			code: 4,
		},
		{
			name:   "hard link added",
			tree:   basic,
			mutate: func(t *testing.T, root string) { must(t, os.Link(root+"/a", root+"/sub/a2")) },
			want:   []string{"chmod T/a [ctime,nlink]", "create T/sub/a2"},
			code:   5,
		},
		{
			// Opening a fifo without a writer, or /dev/zero, would block or never end.
			name: "fifo and socket",
			tree: fstest.Tree{"p": fstest.FIFO(), "s": fstest.Socket(), "a": fstest.File("a")},
		},
		{
			name: "character device",
			tree: fstest.Tree{"zero": fstest.CharDev(1, 5), "a": fstest.File("a")},
			root: true,
		},
		{
			name: "fifo and socket removed, character device replaced",
			tree: fstest.Tree{"p": fstest.FIFO(), "s": fstest.Socket(), "zero": fstest.CharDev(1, 5)},
			root: true,
			mutate: func(t *testing.T, root string) {
				replaceWith(t, root+"/zero", fstest.CharDev(1, 3))
				must(t, os.Remove(root+"/p"))
				must(t, os.Remove(root+"/s"))
			},
			want: []string{"remove T/p", "remove T/s", "change T/zero [rdev,mtime,ctime,inode]"},
			code: 6,
		},
		{
			name: "create and remove",
			tree: basic,
			mutate: func(t *testing.T, root string) {
				must(t, os.Remove(root+"/b"))
				must(t, os.WriteFile(root+"/n", nil, 0o644))
			},
			want: []string{"remove T/b", "create T/n"},
			code: 3,
		},
		{
			name: "create, remove and change",
			tree: basic,
			mutate: func(t *testing.T, root string) {
				must(t, os.Remove(root+"/b"))
				must(t, os.WriteFile(root+"/n", nil, 0o644))
				must(t, os.Chmod(root+"/sub/c", 0o600))
			},
			check: []string{"--ignore", "ctime"},
			want:  []string{"remove T/b", "create T/n", "chmod T/sub/c [mode]"},
			code:  7,
		},
		{
			name: "ignore drops attributes",
			tree: basic,
			mutate: func(t *testing.T, root string) {
				must(t, os.WriteFile(root+"/a", []byte("hello, world\n"), 0))
			},
			check: []string{"--ignore", "mtime,ctime"},
			want:  []string{"change T/a [content,size]"},
			code:  4,
		},
		{
			name:   "ignore every difference",
			tree:   basic,
			mutate: func(t *testing.T, root string) { must(t, os.Chmod(root+"/a", 0o600)) },
			check:  []string{"--ignore", "mode", "--ignore", "ctime"},
		},
		{
			name:   "per-path events from a config file",
			tree:   basic,
			config: "paths:\n  - path: $T\n    events: [create]\n",
			mutate: func(t *testing.T, root string) {
				must(t, os.WriteFile(root+"/new", nil, 0o644))
				must(t, os.Remove(root+"/b"))
				must(t, os.WriteFile(root+"/a", []byte("changed"), 0))
				must(t, os.Rename(root+"/sub/c", root+"/sub/d"))
			},
			want: []string{"create T/new"},
			code: 1,
		},
		{
			name:     "exclude",
			tree:     fstest.Tree{"a": fstest.File("a"), "skip/x": fstest.File("x"), "keep.tmp": fstest.File("t"), "d/e.tmp": fstest.File("e")},
			baseline: []string{"--exclude", "$T/skip", "--exclude", "**/*.tmp"},
			mutate: func(t *testing.T, root string) {
				must(t, os.WriteFile(root+"/skip/x", []byte("changed"), 0))
				must(t, os.WriteFile(root+"/skip/new", nil, 0o644))
				must(t, os.WriteFile(root+"/keep.tmp", []byte("changed"), 0))
				must(t, os.Remove(root+"/d/e.tmp"))
				must(t, os.WriteFile(root+"/d/new", nil, 0o644))
			},
			want: []string{"create T/d/new"},
			code: 1,
		},
		{
			name:     "max depth",
			tree:     fstest.Tree{"top": fstest.File("t"), "a/b/c/f": fstest.File("f"), "a/x": fstest.File("x")},
			baseline: []string{"--max-depth", "2"},
			mutate: func(t *testing.T, root string) {
				must(t, os.WriteFile(root+"/a/b/c/f", []byte("changed"), 0))
				must(t, os.WriteFile(root+"/a/b/c/new", nil, 0o644))
				must(t, os.WriteFile(root+"/a/x", []byte("changed"), 0))
			},
			want: []string{"change T/a/x [content,size,mtime,ctime]"},
			code: 4,
		},
		{
			name:     "max file size: same size and mtime not detected",
			tree:     fstest.Tree{"big": fstest.File(strings.Repeat("x", 2000)), "small": fstest.File("small")},
			baseline: []string{"--max-file-size", "1KiB"},
			mutate: func(t *testing.T, root string) {
				rewriteKeepTimes(t, root+"/big", strings.Repeat("y", 2000))
				rewriteKeepTimes(t, root+"/small", "SMALL")
			},
			want: []string{"chmod T/big [ctime]", "change T/small [content,ctime]"},
			code: 4,
		},
		{
			name:     "max file size: size change detected",
			tree:     fstest.Tree{"big": fstest.File(strings.Repeat("x", 2000))},
			baseline: []string{"--max-file-size", "1KiB"},
			mutate: func(t *testing.T, root string) {
				must(t, os.WriteFile(root+"/big", []byte(strings.Repeat("y", 2001)), 0))
			},
			want: []string{"change T/big [size,mtime,ctime]"},
			code: 4,
		},
		{
			name:     "no hidden",
			tree:     fstest.Tree{".h": fstest.File("h"), ".hd/x": fstest.File("x"), "a": fstest.File("a")},
			baseline: []string{"--no-hidden"},
			mutate: func(t *testing.T, root string) {
				must(t, os.WriteFile(root+"/.h", []byte("changed"), 0))
				must(t, os.WriteFile(root+"/.hd/x", []byte("changed"), 0))
				must(t, os.WriteFile(root+"/.hd/new", nil, 0o644))
			},
		},
		{
			name: "hidden recorded by default",
			tree: fstest.Tree{".h": fstest.File("h"), ".hd/x": fstest.File("x"), "a": fstest.File("a")},
			mutate: func(t *testing.T, root string) {
				must(t, os.WriteFile(root+"/.h", []byte("changed"), 0))
				must(t, os.WriteFile(root+"/.hd/new", nil, 0o644))
			},
			want: []string{"change T/.h [content,size,mtime,ctime]", "create T/.hd/new"},
			code: 5,
		},
		{
			name: "symlinks not followed",
			tree: fstest.Tree{"ld": fstest.Link("../outside"), "lf": fstest.Link("../outside/f")},
			setup: func(t *testing.T, root string) {
				fstest.Tree{"f": fstest.File("f")}.Build(t, filepath.Join(root, "../outside"))
			},
			mutate: func(t *testing.T, root string) {
				must(t, os.WriteFile(root+"/../outside/f", []byte("changed"), 0))
				must(t, os.WriteFile(root+"/../outside/new", nil, 0o644))
			},
		},
		{
			name:  "other filesystems not entered",
			tree:  fstest.Tree{"a": fstest.File("a")},
			root:  true,
			setup: mount,
			mutate: func(t *testing.T, root string) {
				must(t, os.WriteFile(root+"/mnt/f", []byte("changed"), 0))
			},
		},
		{
			name:     "cross mounts",
			tree:     fstest.Tree{"a": fstest.File("a")},
			root:     true,
			setup:    mount,
			baseline: []string{"--cross-mounts"},
			mutate: func(t *testing.T, root string) {
				must(t, os.WriteFile(root+"/mnt/f", []byte("changed"), 0))
			},
			want: []string{"change T/mnt/f [content,size,mtime,ctime]"},
			code: 4,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}

func TestNoChangeText(t *testing.T) {
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"a": fstest.File("a"), "d/b": fstest.File("b")}.Build(t, root)
	mustRun(t, 0, "baseline", "--db", db, root)
	if stdout, _ := mustRun(t, 0, "check", "--db", db); summaryOf(t, stdout, 1) != "fim: no changes\n" {
		t.Errorf("stdout %q, want %q", stdout, "fim: no changes\n")
	}
	if stdout, _ := mustRun(t, 0, "check", "--db", db, "--format", "json"); stdout != "" {
		t.Errorf("json stdout %q, want nothing", stdout)
	}
}

// TestUnreadable runs fim on a tree with a file it cannot read, then a directory it
// cannot list: as nobody when the test runs as root (root reads everything), else as
// the test's own user.
func TestUnreadable(t *testing.T) {
	var cred *syscall.Credential
	tmp := t.TempDir()
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		// t.TempDir's directories are private to the test's user; nobody must reach
		// the tree and write the database beside it.
		must(t, os.Chmod(filepath.Dir(tmp), 0o755))
		must(t, os.Chmod(tmp, 0o777))
	}
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"a": fstest.File("a"), "secret": fstest.File("s").Mode(0), "d/x": fstest.File("x")}.Build(t, root)
	secret := filepath.Join(root, "secret")

	wantWarning := func(stderr, path string) {
		t.Helper()
		if !strings.Contains(stderr, "fim: warning: "+path+": permission denied") {
			t.Errorf("stderr does not warn about %s:\n%s", path, stderr)
		}
	}
	runUser := func(want int, args ...string) (string, string) {
		t.Helper()
		stdout, stderr, code := runAs(t, cred, args...)
		if code != want {
			t.Fatalf("fim %s (as %v): exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), cred, code, want, stdout, stderr)
		}
		return stdout, stderr
	}

	_, stderr := runUser(0, "baseline", "--db", db, root)
	wantWarning(stderr, secret)
	if !strings.Contains(stderr, ", 1 warning") {
		t.Errorf("baseline summary does not count the warning:\n%s", stderr)
	}

	stdout, stderr := runUser(0, "check", "--db", db)
	wantWarning(stderr, secret)
	if summaryOf(t, stdout, 1) != "fim: no changes, 1 warning\n" {
		t.Errorf("stdout %q", stdout)
	}
	// --redact redacts the warning too.
	_, stderr = runUser(0, "check", "--db", db, "--redact")
	wantWarning(stderr, root+"/[redacted]")
	if strings.Contains(stderr, "secret") {
		t.Errorf("--redact: stderr names the file:\n%s", stderr)
	}

	// A directory that cannot be listed now: what it held is not reported removed.
	d := filepath.Join(root, "d")
	must(t, os.Chmod(d, 0o300))
	t.Cleanup(func() { os.Chmod(d, 0o755) }) // for t.TempDir's removal
	stdout, stderr = runUser(4, "check", "--db", db, "--format", "json")
	wantWarning(stderr, d)
	wantEvents(t, summarize(t, parseJSON(t, stdout), root), "chmod T/d [mode,ctime]")
}

func TestNonUTF8Name(t *testing.T) {
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"a": fstest.File("a")}.Build(t, root)
	mustRun(t, 0, "baseline", "--db", db, root)
	bad := filepath.Join(root, "bad\xffname")
	forged := filepath.Join(root, "x\nfim: no changes")
	must(t, os.WriteFile(bad, []byte("x"), 0o644))
	must(t, os.WriteFile(forged, []byte("y"), 0o644))

	stdout, _ := mustRun(t, 1, "check", "--db", db, "--format", "json")
	events := parseJSON(t, stdout)
	if len(events) != 2 {
		t.Fatalf("%d events, want 2:\n%s", len(events), stdout)
	}
	ev := events[0]
	if got := exactPath(t, ev.Path, ev.PathB64); ev.Type != "create" || ev.PathB64 == "" || got != bad {
		t.Errorf("event %+v: path_b64 decodes to %q, want create of %q", ev, got, bad)
	}
	if ev := events[1]; ev.Path != forged || ev.PathB64 != "" {
		t.Errorf("event %+v, want create of %q without path_b64", ev, forged)
	}

	stdout, _ = mustRun(t, 1, "check", "--db", db)
	if strings.IndexByte(stdout, 0xff) >= 0 {
		t.Errorf("text report has a raw 0xff byte:\n%q", stdout)
	}
	if !strings.Contains(stdout, `bad\xffname`) || !strings.Contains(stdout, `x\nfim: no changes`) {
		t.Errorf("text report does not escape the names:\n%s", stdout)
	}
	if lines := strings.Count(stdout, "\n"); lines != 3 {
		t.Errorf("text report has %d lines, want 3:\n%s", lines, stdout)
	}
}

// TestRoot records an image unpacked under a directory as if it were /, then checks a
// copy of it elsewhere.
func TestRoot(t *testing.T) {
	tmp := t.TempDir()
	a, b := filepath.Join(tmp, "a", "rootfs"), filepath.Join(tmp, "b", "rootfs")
	db := filepath.Join(tmp, "fim.db")
	fstest.Tree{
		"etc/passwd":          fstest.File("root:x:0:0:root:/root:/bin/sh\n"),
		"etc/hosts":           fstest.File("127.0.0.1 localhost\n"),
		"etc/ssh/sshd_config": fstest.File("PermitRootLogin no\n"),
		"etc/alternatives/sh": fstest.Link("/bin/dash"),
		"usr/bin/dash":        fstest.File("ELF"),
	}.Build(t, a)
	mustRun(t, 0, "baseline", "--db", db, "--root", a, "/etc")
	must(t, os.MkdirAll(filepath.Dir(b), 0o755))
	if out, err := exec.Command("cp", "-a", a, b).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v: %s", err, out)
	}
	volatile := []string{"--ignore", "mtime,ctime,inode,device,nlink"}

	stdout, _ := mustRun(t, 0, append([]string{"check", "--db", db, "--root", b}, volatile...)...)
	if summaryOf(t, stdout, 1) != "fim: no changes\n" {
		t.Errorf("copy: stdout %q", stdout)
	}

	must(t, os.WriteFile(filepath.Join(b, "etc/hosts"), []byte("127.0.0.1 evil.example\n"), 0))
	got := checkJSON(t, b, 4, append([]string{"--db", db, "--root", b}, volatile...)...)
	wantEvents(t, got, "change /etc/hosts [content,size]")

	// Without --root, check reads the root the baseline was made with.
	must(t, os.WriteFile(filepath.Join(a, "etc/new"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(a, "usr/bin/new"), nil, 0o644)) // not below /etc
	got = checkJSON(t, a, 1, "--db", db)
	wantEvents(t, got, "create /etc/new")
}

func TestUpdate(t *testing.T) {
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"a": fstest.File("a"), "b": fstest.File("b")}.Build(t, root)
	mustRun(t, 0, "baseline", "--db", db, root)
	must(t, os.WriteFile(filepath.Join(root, "a"), []byte("changed"), 0))
	must(t, os.WriteFile(filepath.Join(root, "c"), nil, 0o644))
	must(t, os.Remove(filepath.Join(root, "b")))

	got := checkJSON(t, root, 7, "--db", db, "--update")
	wantEvents(t, got, "change T/a [content,size,mtime,ctime]", "remove T/b", "create T/c")
	stdout, _ := mustRun(t, 0, "check", "--db", db)
	if summaryOf(t, stdout, 2) != "fim: no changes\n" {
		t.Errorf("after --update: stdout %q", stdout)
	}
	// Without --update, the baseline stays as it is.
	must(t, os.WriteFile(filepath.Join(root, "d"), nil, 0o644))
	checkJSON(t, root, 1, "--db", db)
	checkJSON(t, root, 1, "--db", db)
}

// TestTextGolden compares the text report of a fixed scenario with
// testdata/check.golden. The temporary root and the owner, which vary from run to
// run, are replaced; times are left out with --ignore.
func TestTextGolden(t *testing.T) {
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{
		"alpha":    fstest.File("alpha\n"),
		"bravo":    fstest.File("bravo\n"),
		"charlie":  fstest.File("charlie\n"),
		"delta":    fstest.File("delta\n").Mode(0o644),
		"sub/echo": fstest.File("echo\n"),
		"lima":     fstest.Link("alpha"),
	}.Build(t, root)
	mustRun(t, 0, "baseline", "--db", db, root)

	must(t, os.WriteFile(filepath.Join(root, "new"), []byte("new\n"), 0o644))
	must(t, os.Remove(filepath.Join(root, "bravo")))
	must(t, os.WriteFile(filepath.Join(root, "charlie"), []byte("CHARLIE!\n"), 0))
	must(t, os.Chmod(filepath.Join(root, "delta"), os.ModeSetuid|0o755))
	must(t, os.Rename(filepath.Join(root, "sub/echo"), filepath.Join(root, "sub/foxtrot")))
	must(t, os.Rename(filepath.Join(root, "alpha"), filepath.Join(root, "sub/alpha")))
	must(t, os.Symlink("sub/alpha", filepath.Join(root, "mike")))

	stdout, _ := mustRun(t, 7, "check", "--db", db, "--ignore", "mtime,ctime")
	got := summaryOf(t, strings.ReplaceAll(stdout, root, "$T"), 1)
	got = regexp.MustCompile(`owner: \d+:\d+`).ReplaceAllString(got, "owner: U:G")
	fstest.Golden(t, filepath.Join("testdata", "check.golden"), []byte(got))
}

// baselineSuffix is what the text summary line says of the baseline it compares with.
var baselineSuffix = regexp.MustCompile(`; baseline generation (\d+), made (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\n`)

// summaryOf returns a text report with the baseline part of its summary line left out,
// after checking that the line names generation gen and a creation time of the last
// hour.
func summaryOf(t *testing.T, report string, gen int) string {
	t.Helper()
	m := baselineSuffix.FindStringSubmatchIndex(report)
	if m == nil || strings.Count(report[:m[0]], "\n") != 0 {
		t.Fatalf("summary line names no baseline: %q", report)
	}
	if got := report[m[2]:m[3]]; got != strconv.Itoa(gen) {
		t.Errorf("summary line: baseline generation %s, want %d", got, gen)
	}
	if made, err := time.Parse(time.RFC3339, report[m[4]:m[5]]); err != nil || time.Since(made) > time.Hour || time.Until(made) > time.Minute {
		t.Errorf("summary line: baseline made %s (%v)", report[m[4]:m[5]], err)
	}
	return report[:m[0]] + "\n" + report[m[1]:]
}

func TestUsageErrors(t *testing.T) {
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"a": fstest.File("a")}.Build(t, root)
	mustRun(t, 0, "baseline", "--db", db, root)
	cfg := filepath.Join(tmp, "fim.yaml")
	must(t, os.WriteFile(cfg, []byte("paths:\n  - path: "+root+"\n"), 0o644))
	tests := []struct {
		name string
		args []string
		code int
		msg  string // in stderr
	}{
		{"unknown check flag", []string{"check", "--db", db, "--bogus"}, 16, "-bogus"},
		{"unknown baseline flag", []string{"baseline", "--db", db, "--bogus", root}, 16, "-bogus"},
		{"unknown global flag", []string{"--bogus"}, 16, "-bogus"},
		{"unknown command", []string{"bogus"}, 16, `unknown command "bogus"`},
		{"bad format", []string{"check", "--db", db, "--format", "xml"}, 16, `unknown format "xml"`},
		{"bad ignore", []string{"check", "--db", db, "--ignore", "atime"}, 16, `unknown attribute "atime"`},
		{"check with a path", []string{"check", "--db", db, root}, 16, "check takes no PATH"},
		{"bad size", []string{"baseline", "--db", db, "--max-file-size", "12QB", root}, 16, `invalid size "12QB"`},
		{"paths and config", []string{"baseline", "--db", db, "--config", cfg, root}, 16, "not both"},
		{"bad rate", []string{"check", "--db", db, "--max-read-rate", "50MB/h"}, 16, `invalid value "50MB/h" for flag -max-read-rate: want bytes per second, e.g. 50MB/s`},
		{"bad io class", []string{"baseline", "--db", db, "--io-class", "realtime", root}, 16, `invalid I/O class "realtime"`},
		{"bad nice", []string{"check", "--db", db, "--nice", "20"}, 16, "--nice 20: want -20 to 19"},
		{"missing config", []string{"baseline", "--db", db, "--config", cfg + ".missing"}, 16, "no such file"},
		{"no baseline", []string{"check", "--db", db + ".missing"}, 17, "no baseline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := run(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.msg) {
				t.Errorf("fim %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tt.args, " "), code, stderr, tt.code, tt.msg)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
	// The baseline was not touched by the failed commands.
	mustRun(t, 0, "check", "--db", db)
}

// TestDatabaseInTree keeps the database inside the tree it records, as `fim baseline /`
// with the default /var/lib/fim/baseline.db does: what fim itself writes there, the
// database and the directory holding it, is not reported.
func TestDatabaseInTree(t *testing.T) {
	for _, withRoot := range []bool{false, true} {
		t.Run(fmt.Sprint("root=", withRoot), func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "t")
			fstest.Tree{"a": fstest.File("a"), "var/lib/fim": fstest.Dir()}.Build(t, root)
			db := filepath.Join(root, "var/lib/fim/baseline.db")
			args := []string{"--db", db}
			path, recorded := root, "T" // what baseline is given; how the root reads in events
			if withRoot {
				args = append(args, "--root", root)
				path, recorded = "/", ""
			}
			mustRun(t, 0, slices.Concat([]string{"baseline"}, args, []string{path})...)
			wantEvents(t, checkJSON(t, root, 0, args...))
			must(t, os.WriteFile(filepath.Join(root, "b"), nil, 0o644))
			wantEvents(t, checkJSON(t, root, 1, slices.Concat(args, []string{"--update"})...), "create "+recorded+"/b")
			wantEvents(t, checkJSON(t, root, 0, args...))
			// A change to the directory other than fim's own is reported.
			must(t, os.Chmod(filepath.Dir(db), 0o700))
			wantEvents(t, checkJSON(t, root, 4, args...), "chmod "+recorded+"/var/lib/fim [mode]")
			mustRun(t, 0, slices.Concat([]string{"baseline"}, args, []string{path})...)

			// fim's own names are no hiding place: what fim does not hold open is
			// reported, with --update too, and is not removed as a stale file.
			lib := filepath.Dir(db)
			fstest.Tree{
				".baseline.db.tmp-123": fstest.File("setuid").Mode(0o4755),
				".baseline.db.tmp-9/x": fstest.File("in a directory"),
				"baseline.db.lockx":    fstest.File("near the lock"),
			}.Build(t, lib)
			rel := recorded + "/var/lib/fim/"
			want := []string{"create " + rel + ".baseline.db.tmp-123", "create " + rel + ".baseline.db.tmp-9",
				"create " + rel + ".baseline.db.tmp-9/x", "create " + rel + "baseline.db.lockx"}
			wantEvents(t, checkJSON(t, root, 1, args...), want...)
			wantEvents(t, checkJSON(t, root, 1, slices.Concat(args, []string{"--update", "--fast"})...), want...)
			if _, err := os.Stat(filepath.Join(lib, ".baseline.db.tmp-123")); err != nil {
				t.Errorf("a file under fim's temporary name was removed: %v", err)
			}
			// The lock swapped for another file is reported too.
			must(t, os.Remove(db+".lock"))
			must(t, os.WriteFile(db+".lock", []byte("#!/bin/sh\n"), 0o755))
			wantEvents(t, checkJSON(t, root, 1, args...), "create "+rel+"baseline.db.lock")
		})
	}
}
