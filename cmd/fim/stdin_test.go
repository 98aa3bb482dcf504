package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fim/internal/fstest"
)

// TestConfigStdin: `--config -` reads the configuration from standard input, as agents
// hand their modules theirs; its errors name <stdin> and the line; it cannot share
// standard input with an image, and a watch's SIGHUP has nothing more to read from it.
func TestConfigStdin(t *testing.T) {
	tmp := t.TempDir()
	fstest.Tree{"t/a": fstest.File("a"), "t/skip/b": fstest.File("b")}.Build(t, tmp)
	db := filepath.Join(tmp, "b.db")
	fim := func(stdin string, want int, args ...string) (string, string) {
		t.Helper()
		cmd := exec.Command(fimBin, args...)
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != want {
			t.Fatalf("fim %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	cfg := "db: " + db + "\npaths:\n  - path: " + filepath.Join(tmp, "t") + "\n    exclude: [" + filepath.Join(tmp, "t/skip") + "]\n"
	fim(cfg, 0, "baseline", "--quiet", "--config", "-")
	out, _ := fim("", 0, "list", "--db", db)
	if !strings.Contains(out, filepath.Join(tmp, "t/a")) || strings.Contains(out, "skip") {
		t.Errorf("the baseline made with the configuration on stdin lists:\n%s", out)
	}
	must(t, os.WriteFile(filepath.Join(tmp, "t/c"), []byte("c"), 0o644))
	out, _ = fim(cfg, exitCreated, "check", "--config", "-")
	if !strings.Contains(out, filepath.Join(tmp, "t/c")) {
		t.Errorf("check with the configuration on stdin:\n%s", out)
	}

	_, stderr := fim("paths:\n  - path: /x\n    max_file_size: 12QB\n", exitUsage, "baseline", "--config", "-", "--db", filepath.Join(tmp, "x.db"))
	if !strings.HasPrefix(stderr, "fim: <stdin>:3: paths[0].max_file_size:") {
		t.Errorf("an error in the configuration on stdin: %q", stderr)
	}
	_, stderr = fim(strings.Repeat("#", 4<<20+1), exitUsage, "baseline", "--config", "-", "--db", filepath.Join(tmp, "x.db"))
	if !strings.Contains(stderr, "<stdin>: larger than 4 MiB") {
		t.Errorf("a configuration past the bound: %q", stderr)
	}
	_, stderr = fim(cfg, exitUsage, "baseline", "--config", "-", "--from-tar", "-", "--db", filepath.Join(tmp, "x.db"))
	if !strings.Contains(stderr, "only one can come on standard input") {
		t.Errorf("config and image both on stdin: %q", stderr)
	}
	if _, err := os.Stat(filepath.Join(tmp, "x.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused baseline was written: %v", err)
	}
}
