package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCompletionBash loads `fim completion bash` into a real bash and completes words
// the way bash does on a tab.
func TestCompletionBash(t *testing.T) {
	script, _ := mustRun(t, 0, "completion", "bash")
	cases := []struct {
		words []string
		want  []string
	}{
		{[]string{"fim", "ch"}, []string{"check"}},
		{[]string{"fim", "check", "--ver"}, []string{"--verify"}},
		{[]string{"fim", "baseline", "--max-"}, []string{"--max-depth", "--max-file-size", "--max-entries"}},
	}
	for _, c := range cases {
		cword := len(c.words) - 1
		prog := script + "\nCOMP_WORDS=(" + strings.Join(c.words, " ") + ")\nCOMP_CWORD=" +
			strconv.Itoa(cword) + "\n_fim_complete\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		cmd := exec.Command("bash", "--norc", "-c", prog)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(fimBin)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", c.words, err, out)
		}
		got := strings.Fields(string(out))
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("completing %v: got %v, want %s among them", c.words, got, w)
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("completing %v: got %v, want %v", c.words, got, c.want)
		}
	}
}

func TestCompletionOthers(t *testing.T) {
	zsh, _ := mustRun(t, 0, "completion", "zsh")
	fish, _ := mustRun(t, 0, "completion", "fish")
	if !strings.HasPrefix(zsh, "#compdef fim") {
		t.Errorf("zsh script does not start with #compdef: %.40q", zsh)
	}
	if !strings.Contains(fish, "complete -c fim") || !strings.Contains(fish, "'check'") {
		t.Errorf("fish script lacks fim's commands:\n%.300s", fish)
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
		skipf(t, "man is not installed")
	}
	cmd := exec.Command("man", "-l", src)
	cmd.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=100", "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l: %v", err)
	}
	text := string(out)
	for _, want := range []string{"NAME", "fim - file integrity monitor", "baseline", "check", "watch", "--max-depth", "--verify", "--quiet"} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered man page lacks %q", want)
		}
	}
}
