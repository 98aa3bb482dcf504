package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestInputNotAFile gives every file fim reads by a name from the command line (a
// configuration, a key, a baseline, an image, a specification) as something that is no
// such file: a FIFO no one writes to, /dev/zero, a directory, a socket, and a sparse
// file of a terabyte. Each command must fail at once (run fails the test after 30s)
// with the documented code and one line naming the input, instead of waiting for a
// writer forever or reading until memory runs out.
func TestInputNotAFile(t *testing.T) {
	dir := t.TempDir()
	top := filepath.Join(dir, "tree")
	if err := os.MkdirAll(top, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(top, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "base.db")
	mustRun(t, 0, "baseline", "--db", db, top)
	db2 := filepath.Join(dir, "base2.db")
	mustRun(t, 0, "baseline", "--db", db2, top)

	inputs := map[string]string{}
	inputs["FIFO"] = filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(inputs["FIFO"], 0o600); err != nil {
		t.Fatal(err)
	}
	inputs["device"] = "/dev/zero"
	inputs["directory"] = top
	inputs["socket"] = filepath.Join(dir, "sock")
	l, err := net.Listen("unix", inputs["socket"])
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	inputs["sparse"] = filepath.Join(dir, "sparse")
	if err := os.WriteFile(inputs["sparse"], nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(inputs["sparse"], 1<<40); err != nil {
		t.Fatal(err)
	}

	newDB := filepath.Join(dir, "new.db")
	commands := []struct {
		name   string
		args   []string // X stands for the input
		code   int
		stream bool // takes a pipe and has no size limit
		limit  string
	}{
		{"baseline --config", []string{"baseline", "--db", newDB, "--config", "X"}, exitUsage, false, "4 MiB"},
		{"baseline --sign", []string{"baseline", "--db", newDB, "--sign", "X", top}, exitUsage, false, "64 KiB"},
		{"baseline --from-tar", []string{"baseline", "--db", newDB, "--from-tar", "X"}, exitUsage, true, ""},
		{"baseline --from-mtree", []string{"baseline", "--db", newDB, "--from-mtree", "X"}, exitUsage, true, ""},
		{"check --config", []string{"check", "--db", db, "--config", "X"}, exitUsage, false, "4 MiB"},
		{"check --verify", []string{"check", "--db", db, "--verify", "X"}, exitUsage, false, "64 KiB"},
		{"check --sign", []string{"check", "--db", db, "--update", "--sign", "X"}, exitUsage, false, "64 KiB"},
		{"check --db", []string{"check", "--db", "X"}, exitBaseline, false, ""},
		{"watch --config", []string{"watch", "--db", db, "--config", "X"}, exitUsage, false, "4 MiB"},
		{"verify --key", []string{"verify", "--db", db, "--key", "X"}, exitUsage, false, "64 KiB"},
		{"info --verify", []string{"info", "--db", db, "--verify", "X"}, exitUsage, false, "64 KiB"},
		{"export --verify", []string{"export", "--db", db, "--verify", "X"}, exitUsage, false, "64 KiB"},
		{"diff --verify", []string{"diff", "--verify", "X", db, db2}, exitUsage, false, "64 KiB"},
		{"accept --verify", []string{"accept", "--db", db, "--verify", "X", "--path", "/**"}, exitUsage, false, "64 KiB"},
		{"accept --sign", []string{"accept", "--db", db, "--sign", "X", "--path", "/**"}, exitUsage, false, "64 KiB"},
		{"explain --config", []string{"explain", "--config", "X", filepath.Join(top, "f")}, exitUsage, false, "4 MiB"},
	}
	for _, cmd := range commands {
		for kind, input := range inputs {
			if cmd.stream && (kind == "FIFO" || kind == "sparse") {
				continue // a pipe is a stream's to read, and a stream has no size limit
			}
			if cmd.limit == "" && kind == "sparse" {
				continue // a baseline is as large as it is
			}
			args := make([]string, len(cmd.args))
			for i, a := range cmd.args {
				args[i] = strings.ReplaceAll(a, "X", input)
			}
			t.Run(cmd.name+" "+kind, func(t *testing.T) {
				_, stderr, code := run(t, args...)
				want := "not a regular file"
				if kind == "sparse" {
					want = "too large: more than " + cmd.limit
				}
				if code != cmd.code || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, input) ||
					!strings.Contains(stderr, want) {
					t.Errorf("fim %s: exit %d, stderr %q; want exit %d and one line naming %s and saying %q",
						strings.Join(args, " "), code, stderr, cmd.code, input, want)
				}
			})
		}
	}
	// keygen never reads what it is given, and never writes through an existing name.
	for kind, input := range inputs {
		if _, stderr, code := run(t, "keygen", "--out", input); code != exitUsage || !strings.Contains(stderr, "file exists") {
			t.Errorf("fim keygen --out %s (%s): exit %d, %q; want exit 16, file exists", input, kind, code, stderr)
		}
	}
}

// TestInputPipe: --from-tar still reads a FIFO whose writer comes after fim opened it,
// as the pipe of a shell's <(docker export …) or a named pipe is read.
func TestInputPipe(t *testing.T) {
	dir := t.TempDir()
	var img bytes.Buffer
	tw := tar.NewWriter(&img)
	if err := tw.WriteHeader(&tar.Header{Name: "etc/passwd", Mode: 0o644, Size: 4, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte("root"))
	tw.Close()
	fifo := filepath.Join(dir, "image.tar")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "image.db")
	cmd := exec.Command(fimBin, "baseline", "--quiet", "--from-tar", fifo, "--db", db)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for fim to open the FIFO
	if err != nil {
		t.Fatal(err)
	}
	w.Write(img.Bytes())
	w.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("fim baseline --from-tar FIFO: %v\n%s", err, stderr.Bytes())
	}
	out, _ := mustRun(t, 0, "list", "--db", db)
	if !strings.Contains(out, "/etc/passwd") {
		t.Errorf("fim list: %q, want /etc/passwd", out)
	}
}

// TestPanicExitCode: a panic of a command exits ExitRuntime with one line, not with
// the runtime's 2 ("entries removed" to a cron script). The test runs itself again,
// panicking where main would.
func TestPanicExitCode(t *testing.T) {
	if os.Getenv("FIM_TEST_PANIC") == "1" {
		defer exitOnPanic()
		panic("a bug\nover two lines")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPanicExitCode$")
	cmd.Env = append(os.Environ(), "FIM_TEST_PANIC=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitRuntime {
		t.Fatalf("exit %v, want %d; stderr:\n%s", err, exitRuntime, stderr.Bytes())
	}
	if got := stderr.String(); got != "fim: internal error: a bug over two lines\n" {
		t.Errorf("stderr %q, want one line", got)
	}
}
