package main

import (
	"encoding/json"
	"fim/internal/fstest"
	"fim/report"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestCompletionBash loads `fim completion bash` into a real bash and completes words
// as bash does on a tab: COMP_WORDS as bash splits the line (at '=' too), COMP_CWORD the
// word under the cursor. Where no fim word fits, file names are offered.
func TestCompletionBash(t *testing.T) {
	script, _ := mustRun(t, 0, "completion", "bash")
	dir := t.TempDir()
	fstest.Tree{"conf/fim.yaml": fstest.File("paths: [/etc]"), "conf/fim.db": fstest.File(""), "conf/other": fstest.File("")}.Build(t, dir)
	conf := filepath.Join(dir, "conf")
	cases := []struct {
		words []string
		want  []string
	}{
		{[]string{"fim", "ch"}, []string{"check"}},
		{[]string{"fim", "h"}, []string{"help"}},
		{[]string{"fim", "check", "--ver"}, []string{"--verify"}},
		{[]string{"fim", "baseline", "--max-"}, []string{"--max-depth", "--max-file-size", "--max-entries", "--max-read-rate"}},
		{[]string{"fim", "keygen", "--"}, []string{"--out", "--help"}},
		{[]string{"fim", "--"}, []string{"--help", "--version"}},
		{[]string{"fim", "check", "--format", "j"}, []string{"json", "junit"}},
		{[]string{"fim", "check", "--format", "="}, []string{"ecs", "github", "json", "junit", "sarif", "text"}},
		{[]string{"fim", "check", "--format", "=", "s"}, []string{"sarif"}},
		{[]string{"fim", "--version", "check", "--db", "x", "--format", "t"}, []string{"text"}},
		{[]string{"fim", "export", "--format", ""}, []string{"mtree"}},
		{[]string{"fim", "watch", "--backend", "f"}, []string{"fanotify", "fsnotify"}},
		{[]string{"fim", "check", "--color", ""}, []string{"auto", "always", "never"}},
		{[]string{"fim", "watch", "--io-class", ""}, []string{"idle", "best-effort"}},
		{[]string{"fim", "completion", ""}, []string{"bash", "zsh", "fish"}},
		{[]string{"fim", "schema", ""}, []string{"json", "ecs"}},
		{[]string{"fim", "help", "ex"}, []string{"explain", "export"}},
		// File names: positional arguments, flags that take a file, after "--".
		{[]string{"fim", "baseline", conf + "/fim."}, []string{conf + "/fim.db", conf + "/fim.yaml"}},
		{[]string{"fim", "explain", "--config", conf + "/fim.yaml", conf + "/o"}, []string{conf + "/other"}},
		{[]string{"fim", "check", "--db", conf + "/fim.d"}, []string{conf + "/fim.db"}},
		{[]string{"fim", "baseline", "--", conf + "/fim.y"}, []string{conf + "/fim.yaml"}},
	}
	for _, c := range cases {
		var quoted []string
		for _, w := range c.words {
			quoted = append(quoted, shellQuote(w))
		}
		prog := script + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(c.words)-1) + "\n_fim_complete\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		cmd := exec.Command("bash", "--norc", "--noprofile", "-c", prog)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(fimBin)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", c.words, err, out)
		}
		got := strings.Fields(string(out))
		slices.Sort(got)
		want := slices.Sorted(slices.Values(c.want))
		if !slices.Equal(got, want) {
			t.Errorf("completing %q: got %q, want %q", c.words, got, want)
		}
	}
}

// TestCompletionFish loads `fim completion fish` into a real fish and completes lines
// with complete -C.
func TestCompletionFish(t *testing.T) {
	if _, err := exec.LookPath("fish"); err != nil {
		fstest.Skipf(t, "fish is not installed (Debian package fish)")
	}
	script, _ := mustRun(t, 0, "completion", "fish")
	dir := t.TempDir()
	fstest.Tree{"conf/fim.yaml": fstest.File("paths: [/etc]"), "conf/fim.db": fstest.File("")}.Build(t, dir)
	src := filepath.Join(dir, "fim.fish")
	must(t, os.WriteFile(src, []byte(script), 0o644))
	for _, c := range []struct {
		line string
		want []string
	}{
		{"fim ch", []string{"check"}},
		{"fim check --form", []string{"--format"}},
		{"fim check --format ", []string{"ecs", "github", "json", "junit", "sarif", "text"}},
		{"fim check --format=j", []string{"--format=json", "--format=junit"}},
		{"fim baseline " + dir + "/conf/fim.", []string{dir + "/conf/fim.db", dir + "/conf/fim.yaml"}},
	} {
		cmd := exec.Command("fish", "--no-config", "-c", "source "+shellQuote(src)+"; complete -C"+shellQuote(c.line))
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(fimBin)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", c.line, err, out)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			got = append(got, strings.SplitN(l, "\t", 2)[0]) // without a description
		}
		slices.Sort(got)
		if want := slices.Sorted(slices.Values(c.want)); !slices.Equal(got, want) {
			t.Errorf("completing %q: got %q, want %q", c.line, got, want)
		}
	}
}

// TestCompletionZsh loads `fim completion zsh` into a real zsh with compinit, which
// must define the completion function without an error.
func TestCompletionZsh(t *testing.T) {
	if _, err := exec.LookPath("zsh"); err != nil {
		fstest.Skipf(t, "zsh is not installed (Debian package zsh)")
	}
	script, _ := mustRun(t, 0, "completion", "zsh")
	if !strings.HasPrefix(script, "#compdef fim") {
		t.Errorf("zsh script does not start with #compdef: %.40q", script)
	}
	src := filepath.Join(t.TempDir(), "_fim")
	must(t, os.WriteFile(src, []byte(script), 0o644))
	cmd := exec.Command("zsh", "-f", "-c", "autoload -U compinit && compinit -u -D && source "+shellQuote(src)+" && whence -w _fim && print -r -- $_comps[fim]")
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "_fim: function\n_fim\n" {
		t.Errorf("zsh: %v\n%s", err, out)
	}
	if _, stderr, code := run(t, "completion", "tcsh"); code != 16 || !strings.Contains(stderr, "want bash, zsh or fish") {
		t.Errorf("completion tcsh: exit %d, %q", code, stderr)
	}
}

// TestManPage renders `fim man` with man(1) and finds every command and a flag of each.
func TestManPage(t *testing.T) {
	page, _ := mustRun(t, 0, "man")
	src := filepath.Join(t.TempDir(), "fim.1")
	must(t, os.WriteFile(src, []byte(page), 0o644))
	if _, err := exec.LookPath("man"); err != nil {
		fstest.Skipf(t, "man is not installed")
	}
	cmd := exec.Command("man", "-l", src)
	cmd.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=100", "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l: %v", err)
	}
	text := string(out)
	for _, want := range []string{"NAME", "fim - file integrity monitor", "baseline", "check", "watch", "schema", "--max-depth", "--verify", "--quiet",
		"EXIT STATUS", "ENVIRONMENT", "FIM_DB", "FILES", "/etc/fim/fim.yaml", "EXAMPLES", "SEE ALSO", "mtree(8)"} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered man page lacks %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^\.TH FIM 1 \d{4}-\d\d-\d\d "fim [^"]+" "User Commands"$`).MatchString(page) {
		t.Errorf("no dated title line in\n%.200s", page)
	}
	// Every exit code fim defines is explained.
	for _, code := range []int{exitOK, exitCreated, exitRemoved, exitChanged, exitUsage, exitBaseline, exitRuntime} {
		if !regexp.MustCompile(`(?m)^\.B [0-9, ]*\b` + strconv.Itoa(code) + `\b`).MatchString(page) {
			t.Errorf("EXIT STATUS does not explain %d", code)
		}
	}
	if _, err := exec.LookPath("mandoc"); err != nil {
		fstest.Skipf(t, "mandoc is not installed (Debian package mandoc)")
	}
	if out, err := exec.Command("mandoc", "-Tlint", "-W", "warning", src).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("mandoc -Tlint: %v\n%s", err, out)
	}
}

// TestSchemaCommand checks that fim schema prints the schema of each line format, and
// refuses a format without one.
func TestSchemaCommand(t *testing.T) {
	for _, format := range report.SchemaFormats {
		want, err := report.Schema(format)
		must(t, err)
		if got, _ := mustRun(t, 0, "schema", format); got != string(want) || !json.Valid(want) {
			t.Errorf("fim schema %s printed %.80q, want the %d bytes of report.Schema", format, got, len(want))
		}
	}
	for _, args := range [][]string{{"schema"}, {"schema", "text"}, {"schema", "json", "ecs"}} {
		if stdout, stderr, code := run(t, args...); code != exitUsage || stdout != "" || !strings.Contains(stderr, "json or ecs") {
			t.Errorf("fim %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, stdout, stderr)
		}
	}
}
