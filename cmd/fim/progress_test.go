package main

import (
	"bytes"
	"errors"
	"fim/internal/fstest"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		fstest.Skipf(t, "no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestProgressTerminal runs fim with stderr on a terminal, on a pipe, and with --quiet:
// only the terminal gets the progress line (cleared before the summary), and --quiet
// leaves stderr empty.
func TestProgressTerminal(t *testing.T) {
	tmp := t.TempDir()
	root, db := filepath.Join(tmp, "t"), filepath.Join(tmp, "fim.db")
	fstest.Tree{"a": fstest.File("a"), "d/b": fstest.File("b")}.Build(t, root)

	master, slave := openPTY(t)
	cmd := exec.Command(fimBin, "baseline", "--db", db, root)
	cmd.Stderr = slave
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var tty bytes.Buffer
	if _, err := io.Copy(&tty, master); err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatal(err)
	}
	if s := tty.String(); !strings.HasPrefix(s, "\r\x1b[K") || !strings.Contains(s, "fim: baseline of 4 entries") {
		t.Errorf("terminal got %q: want the progress line cleared, then the summary", s)
	}

	_, stderr := mustRun(t, 0, "baseline", "--db", db, root)
	if strings.ContainsAny(stderr, "\r\x1b") || !strings.HasPrefix(stderr, "fim: baseline of 4 entries") {
		t.Errorf("pipe got %q: want only the summary", stderr)
	}
	for _, args := range [][]string{{"baseline", "--quiet", "--db", db, root}, {"check", "-q", "--db", db}} {
		if _, stderr := mustRun(t, 0, args...); stderr != "" {
			t.Errorf("fim %s: stderr %q, want nothing", strings.Join(args, " "), stderr)
		}
	}
}
