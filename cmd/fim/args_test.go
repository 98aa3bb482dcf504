package main

import (
	"bufio"
	"context"
	"errors"
	"fim/internal/cmdline"
	"fim/internal/fstest"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// TestFlagsAnywhere runs each command that takes positional arguments with its flags
// before them and again after them: the results are the same. With the default
// database ($FIM_DB) and the per-user state directories pointed into the test's own
// directory, it checks that none of them is ever written, as it was when a --db after a
// PATH was taken for one more PATH.
func TestFlagsAnywhere(t *testing.T) {
	tmp := t.TempDir()
	defaultDB := filepath.Join(tmp, "default", "baseline.db")
	home, state := filepath.Join(tmp, "home"), filepath.Join(tmp, "state")
	env := []string{"FIM_DB=" + defaultDB, "HOME=" + home, "XDG_STATE_HOME=" + state}
	fstest.Tree{"t/a": fstest.File("a"), "t/.hidden": fstest.File("h"), "t/x/skip": fstest.File("s"), "t/y/skip": fstest.File("s"),
		"--weird-dir-name/c": fstest.File("c")}.Build(t, tmp)
	abs := func(p string) string { return filepath.Join(tmp, p) }
	fim := func(t *testing.T, want int, args ...string) (string, string) {
		t.Helper()
		stdout, stderr, code := runIn(t, nil, tmp, env, args...)
		if code != want {
			t.Fatalf("fim %s: exit %d, want %d\nstderr:\n%s", strings.Join(args, " "), code, want, stderr)
		}
		return stdout, stderr
	}
	fim(t, 0, "baseline", "--db", "old.db", "-q", "t")
	must(t, os.WriteFile(abs("t/b"), []byte("b"), 0o644))
	fim(t, 0, "baseline", "--db", "new.db", "-q", "t")

	// A "{db}" in a case's words is a database of its own for each of the two runs,
	// named "-db.N" in the working directory: a flag value that starts with '-'.
	tests := []struct {
		name  string
		flags []string
		pos   []string
		watch bool // runs until ready, then is stopped
	}{
		{name: "baseline", pos: []string{"t"},
			flags: []string{"--db", "{db}", "--exclude", abs("t/x"), "--exclude=" + abs("t/y"), "-q", "--no-hidden=false", "--max-depth", "3"}},
		{name: "baseline of two paths", pos: []string{"t/a", "t/b"}, flags: []string{"--db={db}", "--no-hidden", "-q"}},
		{name: "diff", pos: []string{"old.db", "new.db"}, flags: []string{"--format", "json", "--output", "-", "--ignore", "mtime"}},
		{name: "list", pos: []string{abs("t/*")}, flags: []string{"--db", "new.db", "--format=json"}},
		{name: "explain", pos: []string{abs("t/a")}, flags: []string{"--db", "new.db"}},
		{name: "completion", pos: []string{"bash"}, flags: []string{"--help"}},
		{name: "watch", pos: []string{"t"}, watch: true,
			flags: []string{"--update", "--db", "{db}", "--backend", "periodic", "--interval", "1h", "--format=json"}},
	}
	times := regexp.MustCompile(`"(time|created)":"[^"]*"`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var results []string
			for i, order := range [][][]string{{tt.flags, tt.pos}, {tt.pos, tt.flags}} {
				db := fmt.Sprint("-db.", i)
				args := []string{strings.Fields(tt.name)[0]}
				for _, words := range order {
					for _, w := range words {
						args = append(args, strings.ReplaceAll(w, "{db}", db))
					}
				}
				var stdout, stderr string
				var code int
				if tt.watch {
					stderr, code = watchUntilReady(t, tmp, env, args...)
				} else {
					stdout, stderr, code = runIn(t, nil, tmp, env, args...)
				}
				result := []string{fmt.Sprint("exit ", code), stdout, stderr}
				if _, err := os.Stat(abs(db)); err == nil {
					list, _ := fim(t, 0, "list", "--db", db, "--format", "json")
					result = append(result, list)
				}
				results = append(results, times.ReplaceAllString(strings.Join(result, "\n--\n"), "$1"))
				results[i] = strings.ReplaceAll(results[i], db, "{db}")
			}
			if results[0] != results[1] {
				t.Errorf("flags after the positional arguments change the result:\nbefore:\n%s\nafter:\n%s", results[0], results[1])
			}
			if tt.name == "baseline" && (!strings.Contains(results[0], abs("t/.hidden")) || strings.Contains(results[0], abs("t/x"))) {
				t.Errorf("the flags were not applied:\n%s", results[0])
			}
		})
	}

	t.Run("--", func(t *testing.T) {
		fim(t, 0, "baseline", "--db", "dashes.db", "-q", "--", "--weird-dir-name")
		list, _ := fim(t, 0, "list", "--db", "dashes.db")
		if !strings.Contains(list, abs("--weird-dir-name/c")) {
			t.Errorf("fim baseline -- --weird-dir-name: recorded\n%s", list)
		}
		// What comes after -- is positional even where it reads as a flag.
		fim(t, 16, "list", "--db", "dashes.db", "--", "--format", "json")
	})

	for _, args := range [][]string{
		{"baseline", "t", "--bogus", "--db", "bogus.db"},
		{"baseline", "t", "--db", "bogus.db", "--bogus"},
		{"baseline", "t", "--db"},
		{"watch", "t", "--bogus", "--update"},
		{"diff", "old.db", "new.db", "--bogus"},
		{"list", abs("t/*"), "--db", "new.db", "--bogus"},
		{"explain", abs("t/a"), "--db", "new.db", "--bogus"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, stderr := fim(t, 16, args...)
			if !strings.Contains(stderr, "flag") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q: want one line about the flag", stderr)
			}
		})
	}

	for _, p := range []string{defaultDB, filepath.Dir(defaultDB), home, state, abs("bogus.db")} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v; want it never written", p, err)
		}
	}
}

// watchUntilReady runs `fim args` (a watch) in dir with env added, stops it with SIGTERM
// once it says it is ready, and returns its stderr and exit code.
func watchUntilReady(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, fimBin, args...)
	cmd.Dir = dir
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "FIM_DB=") }), env...)
	pipe, err := cmd.StderrPipe()
	must(t, err)
	must(t, cmd.Start())
	var lines []string
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.HasPrefix(sc.Text(), "fim: watch: ready: ") {
			must(t, cmd.Process.Signal(syscall.SIGTERM))
		}
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("fim %s: never ready; stderr:\n%s", strings.Join(args, " "), strings.Join(lines, "\n"))
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return strings.Join(lines, "\n"), exit.ExitCode()
	}
	must(t, err)
	return strings.Join(lines, "\n"), 0
}

// TestFlagTable checks, for every flag of every command, that flagsAnywhere's view of
// whether it takes a value is the parser's: the flag package consumes the next word
// unless the flag's value says it is a bool.
func TestFlagTable(t *testing.T) {
	app := newApp()
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, cmd := range cmds {
			flags := append(slices.Clone(cmd.Flags), cli.HelpFlag)
			set := flag.NewFlagSet(cmd.Name, flag.ContinueOnError)
			for _, f := range flags {
				must(t, f.Apply(set))
			}
			set.VisitAll(func(f *flag.Flag) {
				b, ok := f.Value.(interface{ IsBoolFlag() bool })
				parser := !ok || !b.IsBoolFlag()
				if got := cmdline.TakesValue(flags, "--"+f.Name); got != parser {
					t.Errorf("fim%s %s --%s: takes a value %v, the parser says %v", path, cmd.Name, f.Name, got, parser)
				}
			})
			walk(path+" "+cmd.Name, cmd.Subcommands)
		}
	}
	walk("", app.Commands)
}

// TestFlagsAnywhereWords checks the reordering itself on words that reach no command.
func TestFlagsAnywhereWords(t *testing.T) {
	app := newApp()
	for _, tt := range []struct{ in, want string }{
		{"baseline /etc --db x.db", "baseline --db x.db -- /etc"},
		{"baseline /etc --db=x.db -q /usr", "baseline --db=x.db -q -- /etc /usr"},
		{"baseline /etc --exclude a --exclude b --max-depth -1", "baseline --exclude a --exclude b --max-depth -1 -- /etc"},
		{"baseline -- --db /etc", "baseline -- --db /etc"},
		{"baseline /etc --db -- --x", "baseline --db -- --x -- /etc"}, // the value of --db is "--", as for the parser; --x is a flag
		{"baseline /etc --db", "baseline --db"},                       // no value: the parser says so
		{"baseline /etc --bogus x", "baseline --bogus -- /etc x"},     // the parser rejects --bogus
		{"baseline /etc --help", "baseline --help"},
		{"check --fast --update=false", "check --fast --update=false"},
		{"--help baseline /etc -q", "--help baseline -q -- /etc"},
		{"bogus /etc --db x", "bogus /etc --db x"}, // an unknown command, reported as such
		{"baseline /etc - --db x", "baseline --db x -- /etc -"},
	} {
		got := strings.Join(cmdline.FlagsAnywhere(app, append([]string{"fim"}, strings.Fields(tt.in)...))[1:], " ")
		if got != tt.want {
			t.Errorf("fim %s: %q, want %q", tt.in, got, tt.want)
		}
	}
}
