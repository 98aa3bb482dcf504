// Package dist holds what fim ships besides its binary: the systemd units of
// dist/systemd, installed by `make install`, and the Kubernetes DaemonSet of
// dist/kubernetes. Its tests install fim as a package would and check the result with
// the tools that read it: systemd-analyze verify for the units.
package dist

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fim/internal/fstest"
)

// install runs `make install` with PREFIX (and the build directory) in a temporary
// directory and returns PREFIX.
func install(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		fstest.Skipf(t, "no make: %v", err)
	}
	tmp := t.TempDir()
	prefix := filepath.Join(tmp, "usr")
	cmd := exec.Command("make", "--no-print-directory", "install", "PREFIX="+prefix, "BIN="+filepath.Join(tmp, "build"))
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	return prefix
}

// TestInstall installs fim under a temporary PREFIX and checks what is there: the
// binary, the manual page, the completions of each shell and the units, each with its
// mode, the units running the installed binary.
func TestInstall(t *testing.T) {
	prefix := install(t)
	for _, f := range []struct {
		path string
		mode os.FileMode
		want string // a part of its contents
	}{
		{"bin/fim", 0o755, ""},
		{"share/man/man1/fim.1", 0o644, ".TH FIM 1 "},
		{"share/bash-completion/completions/fim", 0o644, "complete "},
		{"share/zsh/site-functions/_fim", 0o644, "#compdef fim"},
		{"share/fish/vendor_completions.d/fim.fish", 0o644, "complete -c fim"},
		{"lib/systemd/system/fim-watch.service", 0o644, "\nExecStart=" + prefix + "/bin/fim watch "},
		{"lib/systemd/system/fim-check.service", 0o644, "\nExecStart=" + prefix + "/bin/fim check "},
		{"lib/systemd/system/fim-check.timer", 0o644, "\nOnCalendar="},
	} {
		p := filepath.Join(prefix, f.path)
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("make install: %v", err)
			continue
		}
		if st.Mode() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.path, st.Mode(), f.mode)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(f.want)) || len(b) == 0 {
			t.Errorf("%s does not hold %q", f.path, f.want)
		}
	}
	out, err := exec.Command(filepath.Join(prefix, "bin/fim"), "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "fim ") {
		t.Errorf("installed fim --version: %v: %s", err, out)
	}
}

// TestUnits has systemd-analyze verify the installed units: every directive known and
// well formed, the command and the manual page they name there. It prints what it
// finds wrong and exits 0 for most of it, so any output fails the test.
func TestUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		fstest.Skipf(t, "no systemd-analyze (Debian's systemd package): %v", err)
	}
	prefix := install(t)
	units, err := filepath.Glob(filepath.Join(prefix, "lib/systemd/system/fim-*"))
	if err != nil || len(units) != 3 {
		t.Fatalf("installed units: %q, %v", units, err)
	}
	cmd := exec.Command(analyze, append([]string{"verify"}, units...)...)
	// Documentation=man:fim(1) is looked up with man, in the installed tree.
	cmd.Env = append(os.Environ(), "MANPATH="+filepath.Join(prefix, "share/man"), "SYSTEMD_LOG_COLOR=0")
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
