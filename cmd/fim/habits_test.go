package main

import (
	"fim/internal/fstest"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestVersion: fim --version names the version and the commit, from -ldflags when
// they are set (as make build sets them), else from what Go embeds.
func TestVersion(t *testing.T) {
	stdout, _ := mustRun(t, 0, "--version")
	if want := "fim version devel (commit unknown, " + runtime.Version() + ")\n"; stdout != want {
		t.Errorf("--version of a build without VCS information: %q, want %q", stdout, want)
	}
	bin := filepath.Join(t.TempDir(), "fim")
	build := exec.Command("go", "build", "-buildvcs=false", "-o", bin,
		"-ldflags", "-X main.buildVersion=1.4.2 -X main.buildCommit=0123456789ab -X main.buildDate=2026-01-31", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"--version"}, {"-v"}} {
		out, err := exec.Command(bin, args...).Output()
		if want := "fim version 1.4.2 (commit 0123456789ab, " + runtime.Version() + ")\n"; err != nil || string(out) != want {
			t.Errorf("fim %s: %q, %v; want %q", args[0], out, err, want)
		}
	}
	page, err := exec.Command(bin, "man").Output()
	if err != nil || !strings.Contains(string(page), "\n.TH FIM 1 2026-01-31 \"fim 1.4.2\" \"User Commands\"\n") {
		t.Errorf("man page title of the build: %v\n%.120s", err, page)
	}
}

// TestHelpCommand: fim help CMD shows what fim CMD --help shows; an unknown command
// is a usage error.
func TestHelpCommand(t *testing.T) {
	for _, cmd := range []string{"check", "watch", "completion", "keygen"} {
		help, _ := mustRun(t, 0, "help", cmd)
		flag, _ := mustRun(t, 0, cmd, "--help")
		if help != flag || !strings.Contains(help, "fim "+cmd+" - ") {
			t.Errorf("fim help %s:\n%s\nfim %s --help:\n%s", cmd, help, cmd, flag)
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		if out, _ := mustRun(t, 0, args...); !strings.Contains(out, "COMMANDS:") || !strings.Contains(out, "   help ") ||
			!strings.Contains(out, "--help, -h") {
			t.Errorf("fim %s:\n%s", args[0], out)
		}
	}
	for _, args := range [][]string{{"help", "nosuch"}, {"help", "check", "watch"}} {
		_, stderr, code := run(t, args...)
		if code != exitUsage || !strings.HasPrefix(stderr, "fim: help: ") {
			t.Errorf("fim %s: exit %d, %q; want %d", strings.Join(args, " "), code, stderr, exitUsage)
		}
	}
}

// TestRequiredFlags: a missing required flag is a usage error (16), not a runtime one.
func TestRequiredFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"keygen"}, "fim: keygen: --out is required\n"},
		{[]string{"verify", "--db", filepath.Join(t.TempDir(), "none.db")}, "fim: verify: --key is required\n"},
	} {
		if _, stderr, code := run(t, c.args...); code != exitUsage || stderr != c.want {
			t.Errorf("fim %s: exit %d, %q; want %d, %q", strings.Join(c.args, " "), code, stderr, exitUsage, c.want)
		}
	}
}

// TestColorFlag: --color=always colours the text report on a pipe, never and auto
// (on a pipe) do not, and auto colours it on a terminal.
func TestColorFlag(t *testing.T) {
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"a": fstest.File("a")}.Build(t, root)
	mustRun(t, 0, "baseline", "--db", db, root)
	fstest.Tree{"b": fstest.File("b")}.Build(t, root)
	for _, c := range []struct {
		args  []string
		color bool
	}{
		{[]string{"--color=always"}, true},
		{[]string{"--color", "always", "--format", "json"}, false}, // only the text format has colour
		{[]string{"--color=never"}, false},
		{[]string{"--color=auto"}, false},
		{nil, false},
	} {
		stdout, _ := mustRun(t, exitCreated, append([]string{"check", "--db", db}, c.args...)...)
		if got := strings.Contains(stdout, "\x1b[32mcreate\x1b[0m"); got != c.color {
			t.Errorf("check %q: coloured %v, want %v:\n%q", c.args, got, c.color, stdout)
		}
	}
	if _, stderr, code := run(t, "check", "--db", db, "--color=sometimes"); code != exitUsage ||
		stderr != "fim: --color: want auto, always or never, not \"sometimes\"\n" {
		t.Errorf("--color=sometimes: exit %d, %q", code, stderr)
	}

	master, slave := openPTY(t)
	cmd := exec.Command(fimBin, "check", "--db", db)
	cmd.Stdout = slave
	cmd.Env = []string{"TERM=xterm"}
	if err := cmd.Run(); err == nil || cmd.ProcessState.ExitCode() != exitCreated {
		t.Fatalf("check on a terminal: %v", err)
	}
	slave.Close()
	buf := make([]byte, 64<<10)
	n, _ := master.Read(buf)
	if !strings.Contains(string(buf[:n]), "\x1b[32mcreate\x1b[0m") {
		t.Errorf("check on a terminal, --color=auto: %q, want colour", buf[:n])
	}
}

// TestStutter: the check every run of fim in these tests gets.
func TestStutter(t *testing.T) {
	for line, want := range map[string]string{
		"fim: output: output: POST http://x: 503":           "output",
		`fim: --output: output "ftp://x": unknown scheme`:   "output",
		"fim: write report: write /x: no space left":        "write",
		"fim: report not delivered: write /x: no space":     "",
		"fim: output: POST http://x: attempt 1 of 6: 503":   "",
		"fim: spool /s: delivery failing for 1s: output: x": "",
	} {
		if got := stutter(line); got != want {
			t.Errorf("stutter(%q) = %q, want %q", line, got, want)
		}
	}
}
