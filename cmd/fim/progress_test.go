package main

import (
	"bytes"
	"errors"
	"fim/internal/fstest"
	"fim/tree"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestProgressLine(t *testing.T) {
	p := &progress{verb: "check", total: 400}
	for i := range 100 {
		p.add(&tree.Entry{Size: 1e6, Flags: tree.FlagHashed})
		if i%2 == 0 {
			p.add(&tree.Entry{Size: 5e9}) // not hashed: not counted as bytes
		}
	}
	got := p.line(3 * time.Second)
	want := "fim: check: 150/400 entries, 100.0 MB hashed, 33.3 MB/s, about 5s left"
	if got != want {
		t.Errorf("line:\n got %q\nwant %q", got, want)
	}
	unknown := &progress{verb: "baseline"}
	unknown.add(&tree.Entry{Size: 512, Flags: tree.FlagHashed})
	if got, want := unknown.line(time.Second), "fim: baseline: 1 entries, 512 B hashed, 512 B/s"; got != want {
		t.Errorf("line without a total:\n got %q\nwant %q", got, want)
	}
}

func TestProgressRedraws(t *testing.T) {
	var out fstest.SyncBuffer
	p := &progress{w: &out, verb: "baseline", start: time.Now(), stop: make(chan struct{})}
	p.done.Add(1)
	go p.run(time.Millisecond)
	p.add(&tree.Entry{Size: 10, Flags: tree.FlagHashed})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "1 entries") {
		if time.Now().After(deadline) {
			t.Fatalf("no redraw after an entry was added: %q", out.String())
		}
		time.Sleep(time.Millisecond)
	}
	p.finish()
	s := out.String()
	if !strings.HasPrefix(s, "\r\x1b[K") || !strings.HasSuffix(s, "\r\x1b[K") || strings.Contains(s, "\n") {
		t.Errorf("output %q: want redraws of one line, ending cleared", s)
	}
}

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
